"""Random search: every configuration trained to the full resource R (bracket s=0 forever)."""
from __future__ import annotations

from typing import Callable, Optional

import numpy as np

from hpobench.optimizers.base import Optimizer
from hpobench.samplers import RandomSampler, Sampler
from hpobench.space import SearchSpace
from hpobench.trial import Evaluation, Job


class RandomSearch(Optimizer):
    """i.i.d. configurations at resource R, one per ask, never waiting.

    >>> from hpobench.benchmarks.spaces import lenet_space
    >>> rs = RandomSearch(lenet_space(), 81, rng=np.random.default_rng(0))
    >>> rs.ask().resource
    81
    """

    order_independent = True

    def __init__(self, space: SearchSpace, max_resource: int, rng: np.random.Generator,
                 sampler: Optional[Callable[..., Sampler]] = None):
        super().__init__(space, max_resource)
        self.sampler = (sampler or RandomSampler)(space=space, rng=rng)

    def _next(self) -> Optional[Job]:
        (config,) = self.sampler.sample(1)
        return self._job(self._new_trial_id(), config, self.max_resource)

    def _observe(self, job: Job, evaluation: Evaluation) -> None:
        self.sampler.observe(job.config, job.resource, evaluation.val_loss, evaluation.ok)
        self._discarded.append(job.trial_id)
