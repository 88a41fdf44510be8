"""Hyperband (Li et al., 2018, Algorithm 1), written from scratch.

Each iteration runs successive halving (:class:`SHBracket`) for ``s = s_max, ..., 0``
with the schedule of :mod:`hpobench.schedule`; iterations repeat with fresh
configurations until the run's budget stops them.  Configurations come from a
sampler object (random by default, a model for BOHB), never from code in here.

Example::

    >>> import numpy as np
    >>> from hpobench.benchmarks.spaces import lenet_space
    >>> hb = Hyperband(lenet_space(), 81, rng=np.random.default_rng(0))
    >>> [b.n_configs for b in hb.plan]
    [81, 34, 15, 8, 5]
"""
from __future__ import annotations

from typing import Iterator

from hpobench import schedule as sched
from hpobench.optimizers.successive_halving import SuccessiveHalving


class Hyperband(SuccessiveHalving):
    """Algorithm 1: all brackets ``s_max..0`` per iteration, repeated.

    Settings: ``eta`` (default 3), ``schedule`` (``algorithm1`` | ``paper_table``),
    ``sampler`` (a factory ``(space=, rng=) -> Sampler``).
    """

    def __init__(self, space, max_resource, rng, eta: int = 3, schedule: str = "algorithm1",
                 sampler=None):
        super().__init__(space, max_resource, rng, eta=eta, schedule=schedule, sampler=sampler)
        self.plan = sched.brackets(max_resource, self.eta, self.schedule)

    @property
    def min_resource(self):
        return float(sched.min_rung_resource(self.max_resource, self.eta))

    def _brackets(self) -> Iterator[tuple[int, sched.Bracket]]:
        k = 0
        while True:
            for spec in sched.brackets(self.max_resource, self.eta, self.schedule):
                yield k, spec
            k += 1
