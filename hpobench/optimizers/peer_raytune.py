"""Ray Tune's ``HyperBandScheduler`` and ``ASHAScheduler`` (ray 2.60) as ask/tell methods:
``raytune_hyperband`` and ``raytune_asha``.

Tune's own loop (``Tuner.fit``) inverts control: its ``TuneController`` drives the
trainables, asks the scheduler what to do after every reported result and which
trial to run next.  A Tune scheduler is a plain object with that interface
(``on_trial_add``, ``on_trial_result``, ``on_trial_complete``, ``on_trial_error``,
``on_trial_remove``, ``choose_trial_to_run``); it reads a trial's ``trial_id``,
``status`` and ``is_saving`` and calls back only ``controller.stop_trial`` and
``controller.get_trials``.  This adapter *is* that controller, written after
``ray.tune.execution.tune_controller.TuneController`` for a function trainable that
trains the benchmark one unit at a time, reports ``{"loss": val_loss,
"training_iteration": units}`` and saves a checkpoint:

* ask: a trial the scheduler told to CONTINUE trains on; otherwise the trial the
  scheduler's own ``choose_trial_to_run`` picks (a new PENDING one, or a PAUSED one it
  unpaused).  Like Tune with its random search (``BasicVariantGenerator``), the adapter
  keeps ``max_pending_trials`` (Tune's default: 200) new trials queued, each sampled from
  Ray Tune's own search-space domains and handed to ``on_trial_add`` when created;
* the job trains the trial to its next decision point: HyperBand's bracket milestone,
  ASHA's next rung (R at most), resuming from its checkpoint;
* tell: ``on_trial_result`` with that result, and the decision executed as the
  controller does: CONTINUE (at R: the function returns and the trial completes),
  PAUSE, or STOP (``stop_trial``: ``on_trial_complete`` for a running trial,
  ``on_trial_remove`` for a paused one); a failed evaluation is ``on_trial_error``.

What differs from ``Tuner.fit`` (recorded in run.json's ``method_notes``): no Ray
cluster, no Tuner, no actors; results are reported at decision points only, not after
every unit.  Both schedulers decide nothing between those points (HyperBand: CONTINUE
below its milestone; ASHA: CONTINUE between rungs), so served one trial at a time the
decisions are Tune's; with several workers Tune would interleave per-unit results of
running trials, which moves HyperBand's bracket ordering (``completion_percentage``).
Checked against ``Tuner.fit`` on a local Ray (tests/test_peers_raytune.py, slow): every
trial stops at the same unit; ASHA trains unit for unit in the same order; Tune's
HyperBand runs its queued trials in creation order (Ray grants the actors its
controller requests ahead in that order), where the adapter follows the scheduler's
own ``choose_trial_to_run``.
The budget is hpobench's (a job that does not fit is not started) and a killed run
resumes by replay, the scheduler's state included: both are exact here, which a
``Tuner`` on a Ray cluster could not give (its trainables run on until stopped).

Ray Tune's HyperBand, as it is (``python -m runners.schedule --peers``): brackets of
Algorithm 1's size (``ceil(s_max1/(s+1) * eta^s)``, ``s_max1`` from a *rounded* float
log), filled least aggressive first (s = 0, the random-search bracket, first), served by
completion fraction; each halving keeps ``ceil(n/eta)`` (34/12/4/2 at R=81 where
Algorithm 1 keeps 34/11/3/1); milestones ``int(R eta^-s) eta^i`` capped at R.  ASHA
draws each trial's bracket from numpy's global random state: the adapter runs that on
its own ``RandomState`` and restores the caller's.

Example::

    >>> import numpy as np                                    # doctest: +SKIP
    >>> from hpobench.benchmarks.spaces import lenet_space
    >>> opt = RayTune(lenet_space(), 81, np.random.default_rng(0), scheduler="hyperband")
    >>> opt.ask().resource                                    # s = 0 is filled first
    81
"""
from __future__ import annotations

import logging
from collections import deque
from contextlib import nullcontext
from typing import Optional

import numpy as np

from hpobench import schedule as sched
from hpobench import validate
from hpobench.errors import ConfigError
from hpobench.optimizers import _configspace as cspace
from hpobench.optimizers._optuna_space import UNIT, dependent
from hpobench.optimizers._peers import as_resource, require
from hpobench.optimizers._peers import version as _version
from hpobench.optimizers.base import Optimizer
from hpobench.optimizers.successive_halving import _check_eta
from hpobench.space import Categorical, Int, SearchSpace
from hpobench.trial import Evaluation, Job

#: what this adapter imports (tests skip its methods, with the reason, when it is missing)
REQUIRES = ("ray",)
#: how to install it: its own extra (a 79 MB wheel, 240 MB installed; hpobench/docs/peers.md)
INSTALL = "pip install -c constraints.txt -e '.[ray]'"
SCHEDULERS = ("hyperband", "asha")
_METRIC, _TIME = "loss", "training_iteration"
#: Tune's default for its random search (``_get_max_pending_trials``, fewer than 182 CPUs)
MAX_PENDING = 200


def raytune_space(space: SearchSpace) -> dict:
    """Ray Tune's search-space domains for ``space`` (dependent bounds as unit fractions;
    Tune's integer domains exclude their upper bound, hpobench's include it)."""
    from ray import tune

    out = {}
    for p in space.params:
        if isinstance(p, Categorical):
            out[p.name] = tune.choice([str(i) for i in range(len(p.choices))])
        elif dependent(p):
            out[p.name + UNIT] = tune.uniform(0.0, 1.0)
        elif isinstance(p, Int):
            out[p.name] = (tune.lograndint if p.log else tune.randint)(int(p.low), int(p.high) + 1)
        else:
            out[p.name] = (tune.loguniform if p.log else tune.uniform)(float(p.low), float(p.high))
    return out


def make_scheduler(kind: str, max_resource: int, eta: int, brackets: int = 1):
    """Ray Tune's scheduler as ``Tuner`` would get it for minimising ``loss`` over
    ``training_iteration`` (ASHA's grace period: ``R / eta^s_max``, the smallest rung)."""
    from ray.tune.schedulers import ASHAScheduler, HyperBandScheduler

    if kind == "hyperband":
        return HyperBandScheduler(time_attr=_TIME, metric=_METRIC, mode="min",
                                  max_t=int(max_resource), reduction_factor=eta,
                                  stop_last_trials=True)
    grace = as_resource(max_resource / eta ** sched.s_max(max_resource, eta))
    return ASHAScheduler(time_attr=_TIME, metric=_METRIC, mode="min", max_t=max_resource,
                         grace_period=grace, reduction_factor=eta, brackets=brackets,
                         stop_last_trials=True)


def hyperband_brackets(scheduler) -> list[list[tuple[int, int]]]:
    """One band of a ``HyperBandScheduler`` as ``[(n_i, milestone_i), ...]`` per bracket, in
    the order it creates them (s = 0 first), by its own ``_create_bracket`` and
    ``successive_halving`` (brackets whose first milestone is 0 are skipped, as it does)."""
    out = []
    for s in range(scheduler._s_max_1):
        if scheduler._get_r0(s) == 0:
            continue
        b = scheduler._create_bracket(s)
        rungs = [(int(b._n), int(b._cumul_r))]
        while b._halves > 0:
            b.successive_halving(_METRIC, -1.0)
            rungs.append((int(b._n), int(b._cumul_r)))
        out.append(rungs)
    return out


class _Trial:
    """What Tune's schedulers read of a ``ray.tune.experiment.Trial``."""

    __slots__ = ("trial_id", "config", "status", "is_saving", "last_result", "units")

    def __init__(self, trial_id: str, config: dict):
        self.trial_id, self.config = trial_id, config
        self.status, self.is_saving, self.last_result, self.units = "PENDING", False, {}, 0

    def __repr__(self) -> str:
        return f"_Trial({self.trial_id}, {self.status}, units={self.units})"


class _Controller:
    """The two ``TuneController`` calls Tune's schedulers make, as the controller does them."""

    def __init__(self, adapter: "RayTune"):
        self._a = adapter

    def get_trials(self) -> list[_Trial]:
        # Tune returns every trial; the finished ones are never chosen, so only live ones
        return list(self._a._live.values())

    def stop_trial(self, trial: _Trial) -> None:
        a = self._a
        if trial.status in ("ERROR", "TERMINATED"):
            return
        if trial.status in ("PENDING", "PAUSED"):
            a.scheduler.on_trial_remove(self, trial)
        else:  # RUNNING
            a.scheduler.on_trial_complete(self, trial, dict(trial.last_result))
        a._end(trial, "TERMINATED")


class RayTune(Optimizer):
    """Ray Tune's ``HyperBandScheduler`` (``scheduler: hyperband``) or ``ASHAScheduler``.

    Settings: ``eta`` (its ``reduction_factor``); ``brackets`` (ASHA only; null: 1);
    ``max_pending_trials`` (new trials queued ahead, as Tune does; 200 is Tune's default).
    """

    def __init__(self, space: SearchSpace, max_resource: int, rng: np.random.Generator,
                 scheduler: str = "hyperband", eta: int = 3, brackets: Optional[int] = None,
                 max_pending_trials: int = MAX_PENDING):
        super().__init__(space, max_resource)
        if scheduler not in SCHEDULERS:
            raise ConfigError(f"method.scheduler: {scheduler!r} is not one of {list(SCHEDULERS)}")
        self.eta = _check_eta(eta)
        s_max = sched.s_max(max_resource, self.eta)
        if scheduler == "hyperband" and brackets is not None:
            raise ConfigError("method.brackets: must be null for hyperband (Ray Tune's "
                              "HyperBandScheduler sizes its own brackets)")
        brackets = 1 if brackets is None else brackets
        validate.integer("method.brackets", brackets, low=1, high=s_max + 1, note="(or null)")
        validate.integer("method.max_pending_trials", max_pending_trials, low=1)
        self.scheduler_name, self.brackets = scheduler, brackets  # recorded by settings()
        self.max_pending_trials = max_pending_trials
        require("ray.tune", f"raytune_{scheduler}", INSTALL, extra="ray")
        logging.getLogger("ray.tune").setLevel(logging.WARNING)  # "Bracket too small" chatter
        from hpobench.optimizers._hpbandster import numpy_global_state

        self._state = numpy_global_state
        self._np_state = np.random.RandomState(int(rng.integers(2**31 - 1)))  # ASHA's draw
        self._sampling = np.random.default_rng(int(rng.integers(2**63 - 1)))  # configurations
        self._domains = raytune_space(space)
        self.scheduler = make_scheduler(scheduler, max_resource, self.eta, brackets)
        self._controller = _Controller(self)
        cls = type(self.scheduler).__name__
        self.notes = {
            "peer": f"ray {_version('ray')} {cls}" + (
                f", {brackets} bracket(s)" if scheduler == "asha" else ""),
            "driven": "the scheduler's own on_trial_add/on_trial_result/on_trial_complete/"
                      "on_trial_error/choose_trial_to_run, called as Tune's TuneController "
                      "calls them; no Ray cluster, no Tuner; configurations sampled from Ray "
                      f"Tune's domains; {max_pending_trials} new trials queued ahead as Tune does",
            "reporting": "results reported at the scheduler's decision points only (HyperBand "
                         "milestones, ASHA rungs), not after every unit; it decides nothing "
                         "between them",
        }
        if scheduler == "hyperband":
            self.notes["order"] = (
                "the scheduler's choose_trial_to_run (least complete bracket first); Tune's "
                "controller also asks Ray for an actor for every queued trial ahead, and on one "
                "CPU Ray starts them in creation order: the same trials stop at the same units "
                "(tests/test_peers_raytune.py), in another order")
            self.notes["brackets_peer"] = hyperband_brackets(self.scheduler)
            self.notes["schedule"] = ("Ray Tune's own: s = 0 (random search) bracket first, "
                                      "each halving keeps ceil(n/eta), milestones capped at R")
            self._min = float(min(b[0][1] for b in self.notes["brackets_peer"]))
        else:
            self.notes["rungs_peer"] = [sorted(float(m) for m, _ in b._rungs)
                                        for b in self.scheduler._brackets]
            self._min = float(min(min(r) for r in self.notes["rungs_peer"]))
        self._live: dict[str, _Trial] = {}       # Tune trial id -> live trial, in creation order
        self._queued = 0                          # live trials never started
        self._created = 0
        self._ours: dict[str, int] = {}           # Tune trial id -> hpobench trial id
        self._continue: deque = deque()           # trials told CONTINUE below R
        self._running: dict[int, tuple[_Trial, float]] = {}  # job id -> (trial, units asked)

    @property
    def min_resource(self) -> float:
        return self._min

    # -- ask -----------------------------------------------------------------------------
    def _next(self) -> Optional[Job]:
        while True:
            if self._continue:
                trial = self._continue.popleft()
            else:
                self._fill()
                trial = self.scheduler.choose_trial_to_run(self._controller)
                if trial is None:
                    return None
                if trial.status == "PENDING":
                    self._queued -= 1
                trial.status = "RUNNING"
                self._fill()  # the controller tops its queue up while the trial starts
            units = self._target(trial)
            if units is not None:
                return self._issue(trial, units)
            # unpaused at R: Tune's function returns at once and the trial completes
            self._controller.stop_trial(trial)

    def _fill(self) -> None:
        """Queue new trials up to ``max_pending_trials``, as Tune's controller does."""
        if self._queued >= self.max_pending_trials:
            return
        # ASHA draws each trial's bracket with np.random.choice; HyperBand draws nothing
        with self._state(self._np_state) if self.scheduler_name == "asha" else nullcontext():
            while self._queued < self.max_pending_trials:
                config = {k: d.sample(random_state=self._sampling)
                          for k, d in self._domains.items()}
                trial = _Trial(f"{self._created:05d}", config)
                self._created += 1
                self._live[trial.trial_id] = trial
                self._queued += 1
                self.scheduler.on_trial_add(self._controller, trial)

    def _target(self, trial: _Trial) -> Optional[float]:
        """Units the trial trains to before the scheduler next decides (None: at R)."""
        done = trial.units
        if done >= self.max_resource:
            return None
        if self.scheduler_name == "hyperband":
            bracket, _ = self.scheduler._trial_info[trial]
            level = float(bracket._cumul_r)
            if level <= done:  # Tune trains one more unit before the next result
                level = done + 1
        else:
            bracket = self.scheduler._trial_info[trial.trial_id]
            above = [float(m) for m, _ in bracket._rungs if float(m) > done + 1e-9]
            level = min(above) if above else float(self.max_resource)
        return min(level, float(self.max_resource))

    def _issue(self, trial: _Trial, units: float) -> Job:
        tid = self._ours.get(trial.trial_id)
        if tid is None:
            tid = self._ours[trial.trial_id] = self._new_trial_id()
        if self.scheduler_name == "hyperband":
            bracket, band = self.scheduler._trial_info[trial]
            where = dict(iteration=band, bracket=self.scheduler._hyperbands[band].index(bracket))
        else:
            b = self.scheduler._trial_info[trial.trial_id]
            where = dict(bracket=self.scheduler._brackets.index(b))
        job = self._job(tid, cspace.decode(self.space, trial.config), as_resource(units), **where)
        self._running[job.job_id] = (trial, units)
        return job

    # -- tell ----------------------------------------------------------------------------
    def _observe(self, job: Job, evaluation: Evaluation) -> None:
        trial, units = self._running.pop(job.job_id)
        if not evaluation.ok:  # the trainable raised: Tune's controller reports the error
            self.scheduler.on_trial_error(self._controller, trial)
            self._end(trial, "ERROR")
            return
        trial.units = units
        trial.last_result = {_METRIC: float(evaluation.val_loss), _TIME: as_resource(units)}
        decision = self.scheduler.on_trial_result(self._controller, trial, dict(trial.last_result))
        if decision == "CONTINUE" and units < self.max_resource:
            self._continue.append(trial)
        elif decision == "PAUSE":
            trial.status = "PAUSED"
        else:  # STOP, or CONTINUE at R: the function returns, the trial completes
            self._controller.stop_trial(trial)

    def _end(self, trial: _Trial, status: str) -> None:
        if trial.status == "PENDING":
            self._queued -= 1
        trial.status = status
        self._live.pop(trial.trial_id, None)
        tid = self._ours.pop(trial.trial_id, None)
        if tid is not None:
            self._discarded.append(tid)
