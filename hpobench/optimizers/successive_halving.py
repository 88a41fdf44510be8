"""Successive halving: one bracket of Hyperband, and the optimizer that repeats it.

:class:`SHBracket` is the subroutine of Algorithm 1 (lines 3-9): ``n`` configurations at
``r_0``, then for each rung keep the ``floor(n_i / eta)`` best (:func:`top_k`) and train
them to ``r_(i+1)``.  Rungs are synchronous: the next rung starts when every result of
the current one is in.  :class:`SuccessiveHalving` runs bracket ``s`` again and again with
fresh configurations; :class:`~hpobench.optimizers.hyperband.Hyperband` runs the same
subroutine over all brackets.

Example::

    >>> import numpy as np
    >>> from hpobench.benchmarks.spaces import lenet_space
    >>> sh = SuccessiveHalving(lenet_space(), 81, rng=np.random.default_rng(0), eta=3, bracket=4)
    >>> job = sh.ask(); (job.bracket, job.rung, job.resource)
    (4, 0, 1)
"""
from __future__ import annotations

from collections import deque
from typing import Callable, Iterator, Optional

import numpy as np

from hpobench import schedule as sched
from hpobench import validate
from hpobench.optimizers.base import Optimizer
from hpobench.optimizers.promotion import top_k
from hpobench.samplers import RandomSampler, Sampler
from hpobench.space import SearchSpace
from hpobench.trial import Evaluation, Job


class SHBracket:
    """State of one successive-halving bracket (pure bookkeeping, no execution)."""

    def __init__(self, spec: sched.Bracket, eta: int, trials: list[tuple[int, dict]],
                 iteration: int):
        self.spec, self.eta, self.iteration = spec, eta, iteration
        self.rung = 0
        self.configs = dict(trials)
        self._queue: deque[int] = deque(tid for tid, _ in trials)
        self._results: dict[int, tuple[int, float, bool]] = {}  # id -> (id, loss, ok)
        self._outstanding = 0
        self.done = False

    @property
    def s(self) -> int:
        return self.spec.s

    def next(self) -> Optional[tuple[int, dict, object, int]]:
        """(trial_id, config, resource r_i, rung i) of the next job, or None while waiting."""
        if self.done or not self._queue:
            return None
        tid = self._queue.popleft()
        self._outstanding += 1
        return tid, self.configs[tid], self.spec.rungs[self.rung].r, self.rung

    def report(self, trial_id: int, loss: float, ok: bool) -> list[int]:
        """Record a result; returns the trial ids discarded when this closes the rung."""
        if trial_id in self._results:
            raise ValueError(f"trial {trial_id} already reported at rung {self.rung}")
        self._results[trial_id] = (trial_id, loss, ok)
        self._outstanding -= 1
        if self._queue or self._outstanding:
            return []
        return self._close_rung()

    def _close_rung(self) -> list[int]:
        ran = list(self._results)
        if self.rung == len(self.spec.rungs) - 1:
            keep: list[int] = []
        else:
            k = self.spec.rungs[self.rung].n // self.eta  # Algorithm 1, line 8
            keep = top_k(self._results.values(), k)
        self._results = {}
        if keep:
            self.rung += 1
            self._queue.extend(keep)
        else:
            self.done = True
        kept = set(keep)
        return [t for t in ran if t not in kept]


class SuccessiveHalving(Optimizer):
    """Bracket ``s`` of Hyperband (default ``s_max``, the most aggressive), repeated with
    fresh configurations from ``sampler`` until the run's budget stops it."""

    order_independent = True

    def __init__(self, space: SearchSpace, max_resource: int, rng: np.random.Generator,
                 eta: int = 3, schedule: str = "algorithm1", bracket: Optional[int] = None,
                 sampler: Optional[Callable[..., Sampler]] = None):
        super().__init__(space, max_resource)
        self.eta = _check_eta(eta)
        self.schedule = validate.choice("method.schedule", schedule, sched.SCHEDULES)
        self.s_max = sched.s_max(max_resource, self.eta)
        self.bracket = validate.integer(
            "method.bracket", self.s_max if bracket is None else bracket, low=0,
            high=self.s_max, note=f"(s_max for R={max_resource}, eta={self.eta})")
        self.sampler = (sampler or RandomSampler)(space=space, rng=rng)
        self._plan = self._brackets()
        self._current: Optional[SHBracket] = None
        self._active: dict[int, SHBracket] = {}  # trial id -> its bracket

    @property
    def min_resource(self):
        """Smallest resource a job asks for: ``r_0`` of this bracket."""
        return float(sched.bracket(self.max_resource, self.eta, self.bracket, self.schedule).rungs[0].r)

    def _brackets(self) -> Iterator[tuple[int, sched.Bracket]]:
        """(iteration, bracket) pairs in the order they run."""
        spec = sched.bracket(self.max_resource, self.eta, self.bracket, self.schedule)
        k = 0
        while True:
            yield k, spec
            k += 1

    def _start_bracket(self) -> SHBracket:
        iteration, spec = next(self._plan)
        configs = self.sampler.sample(spec.n_configs)
        trials = [(self._new_trial_id(), c) for c in configs]
        return SHBracket(spec, self.eta, trials, iteration)

    def _next(self) -> Optional[Job]:
        br = self._current
        if br is None or br.done:
            br = self._current = self._start_bracket()
        item = br.next()
        if item is None:
            return None
        tid, config, r, rung = item
        self._active[tid] = br
        return self._job(tid, config, _plain(r), br.iteration, br.spec.s, rung)

    def _observe(self, job: Job, evaluation: Evaluation) -> None:
        loss, ok = evaluation.val_loss, evaluation.ok
        self.sampler.observe(job.config, job.resource, loss, ok)
        for tid in self._active[job.trial_id].report(job.trial_id, loss, ok):
            self._active.pop(tid, None)
            self._discarded.append(tid)


def _plain(r):
    """Exact Fraction resource -> int when whole, else float (for jobs and records)."""
    return int(r) if getattr(r, "denominator", 1) == 1 else float(r)


def _check_eta(eta) -> int:
    return validate.integer("method.eta", eta, low=2, whole_floats=True)

