"""TPE (Bergstra et al., 2011): Optuna's ``TPESampler`` through ``study.ask()/study.tell()``.

Every configuration is trained to the full resource R, as in the paper's TPE baseline.
The adapter is thin: it maps the space onto Optuna distributions
(:mod:`hpobench.optimizers._optuna_space`), asks one trial per job and tells its
validation loss; a failed evaluation is told as ``TrialState.FAIL`` (TPE then ignores
it).  Optuna 5 defaults to *multivariate* TPE for single-objective studies; the setting
is explicit here (``multivariate``) so a run says which one it used.  The sampler's
seed is drawn from the optimizer's generator, so one run seed fixes everything.

Example::

    >>> import numpy as np
    >>> from hpobench.benchmarks.spaces import lenet_space
    >>> tpe = TPE(lenet_space(), 81, rng=np.random.default_rng(0))
    >>> job = tpe.ask(); job.resource
    81
"""
from __future__ import annotations

import warnings
from typing import Optional

import numpy as np

from hpobench import validate
from hpobench.errors import ConfigError
from hpobench.optimizers import _optuna_space as ospace
from hpobench.optimizers.base import Optimizer
from hpobench.space import SearchSpace
from hpobench.trial import Evaluation, Job


def tpe_sampler(rng: np.random.Generator, group: str = "method", *, n_startup_trials: int = 10,
                n_ei_candidates: int = 24, multivariate: bool = True, group_params: bool = False,
                constant_liar: bool = True):
    """An Optuna ``TPESampler`` with validated settings, seeded from ``rng``.

    ``group`` prefixes error messages (``method.n_startup_trials: ...``).
    """
    for name, v, lo in (("n_startup_trials", n_startup_trials, 0),
                        ("n_ei_candidates", n_ei_candidates, 1)):
        validate.integer(f"{group}.{name}", v, low=lo)
    for name, v in (("multivariate", multivariate), ("group", group_params),
                    ("constant_liar", constant_liar)):
        validate.boolean(f"{group}.{name}", v)
    if group_params and not multivariate:
        raise ConfigError(f"{group}.group: true needs {group}.multivariate: true")
    optuna = ospace.load_optuna()
    with warnings.catch_warnings():  # "experimental" notes on some settings
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(
            n_startup_trials=n_startup_trials, n_ei_candidates=n_ei_candidates,
            multivariate=multivariate, group=group_params, constant_liar=constant_liar,
            seed=int(rng.integers(2**31 - 1)))


def study_name(rng: np.random.Generator) -> str:
    """A study name drawn from ``rng``: reproducible per seed, different across seeds
    (Optuna's HyperbandPruner hashes it with the trial number to pick a bracket)."""
    return f"hpobench-{int(rng.integers(2**31 - 1)):010d}"


class TPE(Optimizer):
    """Optuna TPE, every configuration at R.

    Settings (``conf/method/tpe.yaml``): ``n_startup_trials`` (random trials before the
    model is used), ``n_ei_candidates``, ``multivariate`` (joint vs independent
    per-parameter densities), ``group``, ``constant_liar`` (how running trials are
    treated when several run in parallel).
    """

    def __init__(self, space: SearchSpace, max_resource: int, rng: np.random.Generator,
                 n_startup_trials: int = 10, n_ei_candidates: int = 24,
                 multivariate: bool = True, group: bool = False, constant_liar: bool = True):
        super().__init__(space, max_resource)
        self._dists = ospace.distributions(space)
        sampler = tpe_sampler(rng, n_startup_trials=n_startup_trials,
                              n_ei_candidates=n_ei_candidates, multivariate=multivariate,
                              group_params=group, constant_liar=constant_liar)
        optuna = ospace.load_optuna()
        self.study = optuna.create_study(direction="minimize", sampler=sampler,
                                         study_name=study_name(rng))
        self._trials: dict[int, object] = {}  # our trial id -> Optuna trial

    def _next(self) -> Optional[Job]:
        trial = self.study.ask(self._dists)
        tid = self._new_trial_id()
        self._trials[tid] = trial
        return self._job(tid, ospace.decode(self.space, trial.params), self.max_resource)

    def _observe(self, job: Job, evaluation: Evaluation) -> None:
        trial = self._trials.pop(job.trial_id)
        tell_result(self.study, trial, evaluation)
        self._discarded.append(job.trial_id)


def tell_result(study, trial, evaluation: Evaluation) -> None:
    """Finish an Optuna trial: its validation loss, or ``TrialState.FAIL`` on failure."""
    from optuna.trial import TrialState

    if evaluation.ok:
        study.tell(trial, float(evaluation.val_loss))
    else:
        study.tell(trial, state=TrialState.FAIL)
