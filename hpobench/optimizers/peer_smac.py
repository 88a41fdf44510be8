"""SMAC3's facades as ask/tell methods: ``smac`` (random-forest BO at R, the paper's SMAC
baseline), ``smac_hyperband`` (its ``HyperbandFacade``) and ``smac_bohb`` (its
``MultiFidelityFacade``: Hyperband whose configurations come from the random forest).

SMAC3's own ``ask()`` / ``tell()``: the adapter maps the space onto ConfigSpace
(:mod:`hpobench.optimizers._configspace`), turns each ``TrialInfo`` into a job (one trial
per configuration, so a configuration SMAC promotes to a larger budget resumes from its
checkpoint) and tells the validation loss as the cost; a failed evaluation is told as
SMAC's ``StatusType.CRASHED`` with its crash cost (infinity), as SMAC's own runner does.
SMAC's seed is drawn from the run's generator, so one run seed fixes everything.
SMAC writes nothing: its output directory is a temporary one, removed with the method.

Reproducible across processes (and so resumable): ConfigSpace hashes a configuration by
``hash(repr(config))``, a string hash that Python salts per process (PYTHONHASHSEED), and
SMAC's local search takes its start points from ``list(set(configurations))``, so the
same seed proposes different configurations in another process and a resumed run could
not replay its record.  While SMAC runs inside the adapter (:func:`stable_hashing`), a
configuration hashes by a CRC32 of the same ``repr``: same sets, same equality, an order
that no longer depends on the process (also recorded in ``method_notes``).

Where SMAC3's schedule differs from hpobench's Hyperband (recorded in run.json's
``method_notes``): it computes ``s_max = floor(np.log(R/r_min)/np.log(eta))`` in floating
point, which on numpy 2 is one short for R=243, eta=3 (and R=1000, eta=10), so the
bracket that starts at the smallest resource never runs.  Otherwise its
``HyperbandFacade`` issues exactly Algorithm 1's jobs (tests/test_peers_oracle.py).

Example::

    >>> import numpy as np                                    # doctest: +SKIP
    >>> from hpobench.benchmarks.spaces import lenet_space
    >>> opt = SMAC(lenet_space(), 81, np.random.default_rng(0), facade="hyperband")
    >>> opt.ask().resource
    1
"""
from __future__ import annotations

import contextlib
import logging
import tempfile
import zlib
from typing import Optional
from unittest import mock

import numpy as np

from hpobench import schedule as sched
from hpobench import validate
from hpobench.optimizers import _configspace as cspace
from hpobench.optimizers.base import Optimizer
from hpobench.optimizers._peers import as_resource, require
from hpobench.optimizers._peers import version as _version
from hpobench.optimizers.successive_halving import _check_eta
from hpobench.space import SearchSpace
from hpobench.trial import Evaluation, Job

#: what this adapter imports (tests skip its methods, with the reason, when one is missing)
REQUIRES = ("smac",)
FACADES = {"hpo": "HyperparameterOptimizationFacade", "hyperband": "HyperbandFacade",
           "multi_fidelity": "MultiFidelityFacade"}
_METHOD = {"hpo": "smac", "hyperband": "smac_hyperband", "multi_fidelity": "smac_bohb"}


class SMAC(Optimizer):
    """One of SMAC3's facades (``facade``: ``hpo`` | ``hyperband`` | ``multi_fidelity``).

    Settings: ``eta`` (the multi-fidelity facades), ``n_initial`` (configurations of the
    initial design; null = SMAC's default: 10 per parameter, at most a quarter of
    ``n_trials``, which is the run's budget in R for ``hpo`` and unbounded otherwise).  The objective is declared deterministic, so
    SMAC's intensifier never re-runs a configuration on another seed.
    """

    def __init__(self, space: SearchSpace, max_resource: int, rng: np.random.Generator,
                 facade: str = "hpo", eta: int = 3, n_initial: Optional[int] = None,
                 budget: Optional[float] = None):
        super().__init__(space, max_resource)
        validate.choice("method.facade", facade, sorted(FACADES))
        validate.optional(validate.integer, "method.n_initial", n_initial, low=1)
        smac = require("smac", _METHOD[facade])
        self.eta = _check_eta(eta)
        self.facade_name = facade
        self.n_initial = n_initial  # public: Optimizer.settings() records it
        Facade = getattr(smac, FACADES[facade])
        cs = cspace.configspace(space, seed=int(rng.integers(2**31 - 1)))
        self._tmp = tempfile.TemporaryDirectory(prefix="hpobench-smac-")
        multi = facade != "hpo"
        s_max = sched.s_max(max_resource, self.eta)
        budgets = dict(min_budget=max_resource / self.eta ** s_max,
                       max_budget=max_resource) if multi else {}
        # SMAC sizes its initial design from n_trials (at most a quarter of them): for the
        # HPO facade a trial costs R, so the run's budget in units of R is its n_trials
        n_trials = 2**31 - 1 if multi or budget is None else max(1, int(budget))
        scenario = smac.Scenario(cs, deterministic=True, n_trials=n_trials,
                                 seed=int(rng.integers(2**31 - 1)),
                                 output_directory=self._tmp.name, **budgets)
        kw = {"eta": self.eta} if multi else {}
        design = ({} if n_initial is None else
                  {"initial_design": Facade.get_initial_design(scenario, n_configs=n_initial)})
        from smac.runhistory.enumerations import StatusType

        # SMAC's model counts crashed trials at crash_cost (inf by default), which its
        # log-scaled encoder turns into NaN and its random forest rejects: fit on
        # successful trials only (as the TPE adapter does)
        encoder = type(Facade.get_runhistory_encoder(scenario))(
            scenario, considered_states=[StatusType.SUCCESS])
        with stable_hashing():
            self.smac = Facade(scenario, _never_called, overwrite=True,
                               logging_level=logging.ERROR, runhistory_encoder=encoder,
                               intensifier=Facade.get_intensifier(scenario, **kw), **design)
        self.notes = {"peer": f"smac {_version('smac')} {FACADES[facade]}",
                      "hashing": "ConfigSpace Configuration hashed by CRC32 of its repr while "
                                 "SMAC runs (Python's salted string hash made proposals differ "
                                 "per process)"}
        self._min = float(max_resource)
        if multi:
            from smac.intensifier.successive_halving import SuccessiveHalving

            peer_s_max = SuccessiveHalving._get_max_iterations(self.eta, max_resource,
                                                               budgets["min_budget"])
            self._min = max_resource / self.eta ** peer_s_max
            self.notes.update(s_max_peer=int(peer_s_max), s_max_integer=s_max)
            if peer_s_max != s_max:
                self.notes["differs"] = (
                    f"SMAC3 computes s_max = {peer_s_max} by floating point where "
                    f"floor(log_eta R) = {s_max}: budgets below {self._min:g} never run")
        self._trial_of: dict = {}         # a configuration's sorted values -> trial id
        self._infos: dict[int, object] = {}  # job id -> SMAC TrialInfo
        self._failed: set = set()          # configurations whose evaluation failed

    @property
    def min_resource(self) -> float:
        return self._min

    def _next(self) -> Optional[Job]:
        while True:
            with stable_hashing():
                info = self.smac.ask()
            key = tuple(sorted(dict(info.config).items()))
            if key not in self._failed:
                break
            # SMAC's successive halving fills its quota from the next Pareto front, so it
            # promotes a crashed configuration when too few succeeded; hpobench never runs
            # a failed configuration again: SMAC is told it crashed again, without a job
            self._tell(info, None)
            self.notes["failed_promotions_not_run"] = self.notes.get(
                "failed_promotions_not_run", 0) + 1
        tid = self._trial_of.get(key)
        if tid is None:
            tid = self._trial_of[key] = self._new_trial_id()
        resource = self.max_resource if info.budget is None else as_resource(info.budget)
        job = self._job(tid, cspace.decode(self.space, info.config), resource)
        self._infos[job.job_id] = info
        return job

    def _observe(self, job: Job, evaluation: Evaluation) -> None:
        info = self._infos.pop(job.job_id)
        self._tell(info, evaluation)
        if not evaluation.ok:
            self._failed.add(tuple(sorted(dict(info.config).items())))
        if self.facade_name == "hpo" or not evaluation.ok:
            self._discarded.append(job.trial_id)

    def _tell(self, info, evaluation: Optional[Evaluation]) -> None:
        """Tell SMAC a result; ``None`` or a failed evaluation as a crash at SMAC's crash
        cost (infinity), as SMAC's own runner reports one."""
        from smac.runhistory.dataclasses import TrialValue
        from smac.runhistory.enumerations import StatusType

        if evaluation is not None and evaluation.ok:
            value = TrialValue(cost=float(evaluation.val_loss), status=StatusType.SUCCESS)
        else:
            error = "failed earlier" if evaluation is None else str(evaluation.error)
            value = TrialValue(cost=float(np.inf), status=StatusType.CRASHED,
                               additional_info={"error": error})
        with stable_hashing():
            self.smac.tell(info, value, save=False)


def _stable_hash(config) -> int:
    return zlib.crc32(repr(config).encode())


@contextlib.contextmanager
def stable_hashing():
    """ConfigSpace configurations hash by a CRC32 of their repr (not Python's salted
    string hash) inside this block; every SMAC call of the adapter runs in one."""
    from ConfigSpace import Configuration

    with mock.patch.object(Configuration, "__hash__", _stable_hash):
        yield


def _never_called(config, seed: int = 0, budget: Optional[float] = None) -> float:
    """SMAC's facades want a target function; the run loop evaluates, never SMAC."""
    raise RuntimeError("hpobench evaluates jobs itself; SMAC's target function is not called")
