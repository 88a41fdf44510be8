"""Optuna's ``HyperbandPruner`` + TPE: the *pruner-based* Hyperband, a library peer.

Not Algorithm 1.  Optuna assigns each trial to a bracket by hashing the study name and
trial number, and within a bracket runs *asynchronous* successive halving: at each rung
a trial continues when its loss is in the best ``1/eta`` of the losses reported at that
rung *so far* (ASHA, Li et al. 2020), instead of waiting for the rung to fill and keeping
``floor(n_i/eta)``.  TPE samples each new trial from the trials of its bracket.

How it runs here, as an ask/tell method under the common run loop:

* resource steps are Optuna's rungs, ``r_k = min_resource * eta^k`` (integers) up to R;
  a trial in Optuna bracket ``b`` starts at its bracket's first rung ``r_b`` (the
  ``r_0 = R eta^-s`` of Hyperband bracket ``s = n_brackets - 1 - b``) and is asked again
  at each later rung until it is pruned or reaches R;
* each step is one job with its resource, so the trial resumes from its checkpoint and
  pays only ``r_k - r_(k-1)``, exactly as a Hyperband promotion does: the two are
  compared on the same resource axis;
* after a step its validation loss is reported (``trial.report(loss, step)``) and
  ``trial.should_prune()`` decides: pruned trials are told ``PRUNED``, trials at R are
  told ``COMPLETE`` with their final loss, failed evaluations are told ``FAIL``;
* rows carry ``bracket`` = Hyperband's ``s`` of the trial's bracket and ``rung`` = the
  rung within it (0 at the bracket's first step); ``iteration`` is ``None``.

The bracket comes from Optuna's pruner (``_get_bracket_id``, a private method); if a
future Optuna lacks it, every trial starts at ``min_resource`` and ``bracket`` is
``None``: same decisions, more rows.  Note that Optuna computes the number of brackets
with floating-point logarithms (``floor(log(R/min_resource, eta)) + 1``), so for R=243,
eta=3 it uses 5 brackets where Algorithm 1 has 6; the method records Optuna's count in
:attr:`n_brackets` and does not correct the library.

Example::

    >>> import numpy as np
    >>> from hpobench.benchmarks.spaces import lenet_space
    >>> ohb = OptunaHyperband(lenet_space(), 81, rng=np.random.default_rng(0))
    >>> ohb.steps, ohb.n_brackets
    ([1, 3, 9, 27, 81], 5)
"""
from __future__ import annotations

from collections import deque
from typing import Optional

import numpy as np

from hpobench import schedule as sched
from hpobench import validate
from hpobench.optimizers import _optuna_space as ospace
from hpobench.optimizers.base import Optimizer
from hpobench.optimizers.tpe import study_name, tell_result, tpe_sampler
from hpobench.space import SearchSpace
from hpobench.trial import Evaluation, Job


class OptunaHyperband(Optimizer):
    """Optuna ``HyperbandPruner(min_resource, R, reduction_factor=eta)`` with TPE.

    Settings (``conf/method/optuna_hyperband.yaml``): ``eta``, ``min_resource`` (``None``:
    ``R // eta^s_max``, the smallest rung of Algorithm 1, at least 1), ``bootstrap_count``,
    and the TPE settings ``n_startup_trials``, ``n_ei_candidates``, ``multivariate``,
    ``group``, ``constant_liar``.
    """

    def __init__(self, space: SearchSpace, max_resource: int, rng: np.random.Generator,
                 eta: int = 3, min_resource: Optional[int] = None, bootstrap_count: int = 0,
                 n_startup_trials: int = 10, n_ei_candidates: int = 24,
                 multivariate: bool = True, group: bool = False, constant_liar: bool = True):
        super().__init__(space, max_resource)
        self.eta = sched.check_int("method.eta", eta, 2)
        R = int(max_resource)
        if min_resource is None:
            min_resource = max(1, R // self.eta ** sched.s_max(R, self.eta))
        validate.integer("method.min_resource", min_resource, low=1, high=R,
                         note="(R) or null")
        bootstrap_count = sched.check_int("method.bootstrap_count", bootstrap_count, 0)
        self.steps = _ladder(min_resource, R, self.eta)
        self._dists = ospace.distributions(space)
        sampler = tpe_sampler(rng, n_startup_trials=n_startup_trials,
                              n_ei_candidates=n_ei_candidates, multivariate=multivariate,
                              group_params=group, constant_liar=constant_liar)
        optuna = ospace.load_optuna()
        self.pruner = optuna.pruners.HyperbandPruner(
            min_resource=min_resource, max_resource=R, reduction_factor=self.eta,
            bootstrap_count=bootstrap_count)
        self.study = optuna.create_study(direction="minimize", sampler=sampler,
                                         pruner=self.pruner, study_name=study_name(rng))
        self.n_brackets = self._init_pruner()
        self._trials: dict[int, tuple[object, int, Optional[int]]] = {}  # id -> (trial, first step, s)
        self._ready: deque[Job] = deque()  # continuations of trials that survived a rung

    @property
    def min_resource(self) -> float:
        return float(self.steps[0])

    def _init_pruner(self) -> Optional[int]:
        """Let the pruner set up its brackets now (it does so lazily on the first
        ``prune``), so a trial's bracket is known when it is first asked."""
        try:
            self.pruner._try_initialization(self.study)
            return int(self.pruner._n_brackets)
        except AttributeError:
            return None

    def _bracket_index(self, trial) -> Optional[int]:
        """Optuna's bracket id of ``trial`` (0 = most aggressive), or None if unknown."""
        if self.n_brackets is None:
            return None
        try:
            return int(self.pruner._get_bracket_id(self.study, trial))
        except AttributeError:
            return None

    def _next(self) -> Optional[Job]:
        if self._ready:
            return self._ready.popleft()
        trial = self.study.ask(self._dists)
        b = self._bracket_index(trial)
        first = min(b, len(self.steps) - 1) if b is not None else 0
        s = self.n_brackets - 1 - b if b is not None else None
        tid = self._new_trial_id()
        self._trials[tid] = (trial, first, s)
        return self._step_job(tid, ospace.decode(self.space, trial.params), first)

    def _step_job(self, tid: int, config: dict, k: int) -> Job:
        _, first, s = self._trials[tid]
        return self._job(tid, config, self.steps[k], bracket=s, rung=k - first)

    def _observe(self, job: Job, evaluation: Evaluation) -> None:
        from optuna.trial import TrialState

        trial, first, _ = self._trials[job.trial_id]
        k = first + job.rung
        if not evaluation.ok:
            tell_result(self.study, trial, evaluation)
        elif k == len(self.steps) - 1:
            trial.report(float(evaluation.val_loss), self.steps[k])
            tell_result(self.study, trial, evaluation)
        else:
            trial.report(float(evaluation.val_loss), self.steps[k])
            if trial.should_prune():
                self.study.tell(trial, state=TrialState.PRUNED)
            else:
                self._ready.append(self._step_job(job.trial_id, job.config, k + 1))
                return
        del self._trials[job.trial_id]
        self._discarded.append(job.trial_id)


def _ladder(r_min: int, R: int, eta: int) -> list[int]:
    """Optuna's rung resources ``r_min * eta^k`` below R, then R."""
    steps, r = [], r_min
    while r < R:
        steps.append(r)
        r *= eta
    return steps + [R]
