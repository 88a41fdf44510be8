"""syne-tune 0.16's asynchronous multi-fidelity schedulers as ask/tell methods:
``synetune_asha`` (ASHA, one bracket), ``synetune_hyperband`` (ASHA with ``s_max + 1``
brackets: syne-tune's asynchronous Hyperband) and ``synetune_bohb`` (its BOHB: ASHA
with a KDE searcher, the model-based one; 0.16 no longer ships MOBSTER or Hyper-Tune).

syne-tune's ASHA is the *stopping* kind (as in Ray Tune): a trial keeps training and
reports results; at each rung level the scheduler answers CONTINUE or STOP.  The adapter
runs it as syne-tune's own loop would with hpobench's executors as its backend:

* ask: a trial the scheduler told to CONTINUE is trained on to its bracket's next rung
  level (resuming from its checkpoint) before any new trial starts; otherwise
  ``scheduler.suggest()`` gives a new trial (``on_trial_add`` draws its bracket);
* tell: ``on_trial_result(trial, {loss, epoch})`` at a rung level,
  ``on_trial_complete`` at R, ``on_trial_error`` on failure (the trial stops).

What differs from running syne-tune with a per-epoch training loop (in run.json's
``method_notes``): results are reported at rung levels only (hpobench's jobs), not after
every unit.  ASHA decides only at rung levels, so its decisions are the same; the
searcher (BOHB's KDE) sees fewer intermediate points.  syne-tune draws brackets and
new trial's configuration (``suggest``) and bracket (``on_trial_add``) partly from
numpy's global random state: the adapter runs those two calls on its own ``RandomState``
(seeded from the run's seed), so runs are reproducible and a killed run resumes by
replay.  Its rung count is
``int(np.log(max_t/min_t)/np.log(eta) - s + 1)``, a floating-point log again (R=243,
eta=3: the top rung below R is 81, as it should be, by luck of the ``+ 1``).

Example::

    >>> import numpy as np                                    # doctest: +SKIP
    >>> from hpobench.benchmarks.spaces import lenet_space
    >>> opt = SyneTune(lenet_space(), 81, np.random.default_rng(0), scheduler="asha")
    >>> opt.ask().resource
    1
"""
from __future__ import annotations

from collections import deque
from datetime import datetime, timezone
from typing import Optional

import numpy as np

from hpobench import schedule as sched
from hpobench import validate
from hpobench.errors import ConfigError
from hpobench.optimizers import _configspace as cspace
from hpobench.optimizers._optuna_space import UNIT, dependent
from hpobench.optimizers.base import Optimizer
from hpobench.optimizers._peers import as_resource, require
from hpobench.optimizers._peers import version as _version
from hpobench.optimizers.successive_halving import _check_eta
from hpobench.space import Categorical, Int, SearchSpace
from hpobench.trial import Evaluation, Job

#: what this adapter imports (tests skip its methods, with the reason, when one is missing)
REQUIRES = ("syne_tune",)
#: how to install it: its xgboost requirement (~700 MB with NCCL) is never imported here
INSTALL = "pip install --no-deps -c constraints.txt syne-tune dill"
SCHEDULERS = ("asha", "hyperband", "bohb")
_METRIC, _TIME = "loss", "epoch"


def synetune_space(space: SearchSpace) -> dict:
    """syne-tune's config space for ``space`` (dependent bounds as unit fractions)."""
    from syne_tune import config_space as st

    out = {}
    for p in space.params:
        if isinstance(p, Categorical):
            out[p.name] = st.choice([str(i) for i in range(len(p.choices))])
        elif dependent(p):
            out[p.name + UNIT] = st.uniform(0.0, 1.0)
        elif isinstance(p, Int):
            out[p.name] = (st.lograndint if p.log else st.randint)(int(p.low), int(p.high))
        else:
            out[p.name] = (st.loguniform if p.log else st.uniform)(float(p.low), float(p.high))
    return out


class SyneTune(Optimizer):
    """syne-tune's ``ASHA`` (``scheduler: asha`` or ``hyperband``) or ``BOHB``.

    Settings: ``eta`` (its ``reduction_factor``); ``brackets`` (null: 1 for ``asha``,
    ``s_max + 1`` for ``hyperband`` and ``bohb``).  ``grace_period`` is ``R / eta^s_max``.
    """

    def __init__(self, space: SearchSpace, max_resource: int, rng: np.random.Generator,
                 scheduler: str = "asha", eta: int = 3, brackets: Optional[int] = None):
        super().__init__(space, max_resource)
        if scheduler not in SCHEDULERS:
            raise ConfigError(f"method.scheduler: {scheduler!r} is not one of {list(SCHEDULERS)}")
        self.eta = _check_eta(eta)
        s_max = sched.s_max(max_resource, self.eta)
        if brackets is None:
            brackets = 1 if scheduler == "asha" else s_max + 1
        validate.integer("method.brackets", brackets, low=1, high=s_max + 1, note="(or null)")
        self.scheduler_name, self.brackets = scheduler, brackets  # recorded by settings()
        require("syne_tune", f"synetune_{scheduler}", INSTALL)
        import logging

        logging.getLogger("syne_tune").setLevel(logging.ERROR)  # per-trial chatter
        from syne_tune.optimizer import baselines

        from hpobench.optimizers._hpbandster import numpy_global_state

        self._state = numpy_global_state
        self._np_state = np.random.RandomState(int(rng.integers(2**31 - 1)))
        grace = as_resource(max_resource / self.eta ** s_max)
        cls = baselines.BOHB if scheduler == "bohb" else baselines.ASHA
        with self._state(self._np_state):
            self.scheduler = cls(synetune_space(space), metric=_METRIC, time_attr=_TIME,
                                 max_t=max_resource, do_minimize=True,
                                 random_seed=int(rng.integers(2**31 - 1)), grace_period=grace,
                                 reduction_factor=self.eta, brackets=brackets)
        self._min = float(grace)
        self.notes = {
            "peer": f"syne-tune {_version('syne-tune')} {cls.__name__}, {brackets} bracket(s)",
            "reporting": "results reported at rung levels only (one hpobench job per rung), "
                         "not after every unit; ASHA's stop decisions are made there anyway",
            "rungs_peer": [[float(m) for m, _ in reversed(b.rungs)]
                           for b in self.scheduler.brackets],
        }
        self._trials: dict[int, object] = {}      # trial id -> syne-tune Trial
        self._continue: deque = deque()           # (trial id, next resource) told CONTINUE
        self._level: dict[int, float] = {}        # trial id -> resource of its asked job

    @property
    def min_resource(self) -> float:
        return self._min

    def _next(self) -> Optional[Job]:
        from syne_tune.backend.trial_status import Trial

        if self._continue:
            tid, level = self._continue.popleft()
            trial = self._trials[tid]
        else:
            with self._state(self._np_state):  # sampling draws from np.random too
                suggestion = self.scheduler.suggest()
            if suggestion is None:
                return None
            tid = self._new_trial_id()
            trial = Trial(trial_id=tid, config=suggestion.config,
                          creation_time=datetime.now(timezone.utc))
            self._trials[tid] = trial
            with self._state(self._np_state):  # the bracket draw: np.random.choice
                self.scheduler.on_trial_add(trial)
            level = self._next_level(tid, 0.0)
        self._level[tid] = level
        return self._job(tid, cspace.decode(self.space, trial.config), as_resource(level))

    def _next_level(self, tid: int, done: float) -> float:
        """The first rung level of the trial's bracket above ``done`` (R when none)."""
        bracket = self.scheduler.trial_info[tid]
        above = sorted(float(m) for m, _ in bracket.rungs if float(m) > done + 1e-9)
        return min(above[0], float(self.max_resource)) if above else float(self.max_resource)

    def _observe(self, job: Job, evaluation: Evaluation) -> None:
        from syne_tune.optimizer.scheduler import SchedulerDecision

        trial, level = self._trials[job.trial_id], self._level.pop(job.trial_id)
        with self._state(None):
            if not evaluation.ok:
                self.scheduler.on_trial_error(trial)
                decision = SchedulerDecision.STOP
            else:
                result = {_METRIC: float(evaluation.val_loss), _TIME: as_resource(level)}
                if level >= self.max_resource:
                    self.scheduler.on_trial_complete(trial, result)
                    decision = SchedulerDecision.STOP
                else:
                    decision = self.scheduler.on_trial_result(trial, result)
        if decision == SchedulerDecision.CONTINUE:
            self._continue.append((job.trial_id, self._next_level(job.trial_id, level)))
        else:
            self._trials.pop(job.trial_id)
            self._discarded.append(job.trial_id)
