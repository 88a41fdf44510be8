"""Uniform random sampling in the unit cube (the paper's ``get_hyperparameter_configuration``)."""
from __future__ import annotations

from hpobench.samplers.base import Sampler


class RandomSampler(Sampler):
    """i.i.d. uniform configurations from an explicit numpy Generator.

    >>> import numpy as np
    >>> from hpobench.benchmarks.spaces import lenet_space
    >>> s = RandomSampler(lenet_space(), np.random.default_rng(0))
    >>> len(s.sample(3))
    3
    """

    def sample(self, n: int) -> list[dict]:
        return [self.space.decode(u) for u in self.rng.random((n, len(self.space))).tolist()]
