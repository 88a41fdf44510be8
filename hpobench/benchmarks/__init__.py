"""Benchmarks: functions of (config, resource, seed[, checkpoint]) with a declared space."""
from hpobench.benchmarks.base import Benchmark

__all__ = ["Benchmark"]
