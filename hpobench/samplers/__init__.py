"""Samplers decide which configurations to try; schedules decide how much resource."""
from hpobench.samplers.base import Sampler
from hpobench.samplers.random import RandomSampler

__all__ = ["Sampler", "RandomSampler"]
