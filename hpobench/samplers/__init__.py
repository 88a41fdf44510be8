"""Samplers decide which configurations to try; schedules decide how much resource."""
from hpobench.samplers.base import Sampler
from hpobench.samplers.random import RandomSampler

__all__ = ["Sampler", "RandomSampler"]


def __getattr__(name):
    """``KDESampler`` (BOHB) imports scipy, so it is loaded only when asked for."""
    if name == "KDESampler":
        from hpobench.samplers.kde import KDESampler
        return KDESampler
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ += ["KDESampler"]
