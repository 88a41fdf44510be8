"""hyperopt's TPE (Bergstra et al., 2011: the implementation the Hyperband paper used for
its TPE baseline) as an ask/tell method: every configuration at R.

hyperopt has no ask/tell call; its ``fmin`` loop does, per trial, what this adapter
does: ``trials.new_trial_ids`` -> ``tpe.suggest(new_ids, domain, trials, seed)`` ->
``trials.insert_trial_docs`` (ask), then the trial document's ``result`` and ``state``
set to done and ``trials.refresh()`` (tell).  A failed evaluation is told as
``STATUS_FAIL``, which TPE leaves out of its densities.  Each suggestion's seed is drawn
from the run's generator, so one run seed fixes everything, and a resumed run that
replays its record asks the same configurations.

Space mapping: ``Float`` -> ``hp.uniform`` / ``hp.loguniform`` over the bounds;
``Int`` -> ``hp.quniform`` / ``hp.qloguniform`` with ``q=1`` (rounded, clipped to the
bounds: hyperopt's quantized log-uniform can round past them); ``Categorical`` ->
``hp.randint`` over the choice indices (decoded by :func:`hpobench.optimizers._configspace.decode`, which reads hyperopt's values as ConfigSpace's); a parameter whose bound names an earlier one
(``k1`` in ``[5, k2]``) -> its unit fraction ``"<name>.unit"``, as for Optuna.

Example::

    >>> import numpy as np                                    # doctest: +SKIP
    >>> from hpobench.benchmarks.spaces import lenet_space
    >>> opt = HyperoptTPE(lenet_space(), 81, np.random.default_rng(0))
    >>> opt.ask().resource
    81
"""
from __future__ import annotations

import math
from typing import Optional

import numpy as np

from hpobench import validate
from hpobench.optimizers import _configspace as cspace
from hpobench.optimizers._optuna_space import UNIT, dependent
from hpobench.optimizers.base import Optimizer
from hpobench.optimizers._peers import require
from hpobench.optimizers._peers import version as _version
from hpobench.space import Categorical, Int, SearchSpace
from hpobench.trial import Evaluation, Job

#: what this adapter imports (tests skip its method, with the reason, when it is missing)
REQUIRES = ("hyperopt",)


def hyperopt_space(space: SearchSpace) -> dict:
    """hyperopt's space for ``space`` (a dict of ``hp.*`` expressions)."""
    from hyperopt import hp

    out = {}
    for p in space.params:
        if isinstance(p, Categorical):
            out[p.name] = hp.randint(p.name, len(p.choices))
        elif dependent(p):
            out[p.name + UNIT] = hp.uniform(p.name + UNIT, 0.0, 1.0)
        elif isinstance(p, Int):
            lo, hi = int(p.low), int(p.high)
            out[p.name] = (hp.qloguniform(p.name, math.log(lo), math.log(hi), 1) if p.log
                           else hp.quniform(p.name, lo, hi, 1))
        elif p.log:
            out[p.name] = hp.loguniform(p.name, math.log(float(p.low)), math.log(float(p.high)))
        else:
            out[p.name] = hp.uniform(p.name, float(p.low), float(p.high))
    return out


class HyperoptTPE(Optimizer):
    """hyperopt's ``tpe.suggest``, every configuration at R.

    Settings (hyperopt's own, same defaults): ``n_startup_jobs`` (random trials before
    the model), ``n_ei_candidates``, ``gamma`` (quantile of good trials), ``prior_weight``.
    """

    def __init__(self, space: SearchSpace, max_resource: int, rng: np.random.Generator,
                 n_startup_jobs: int = 20, n_ei_candidates: int = 24, gamma: float = 0.25,
                 prior_weight: float = 1.0):
        super().__init__(space, max_resource)
        validate.integer("method.n_startup_jobs", n_startup_jobs, low=0)
        validate.integer("method.n_ei_candidates", n_ei_candidates, low=1)
        validate.number("method.gamma", gamma, low=0, high=1, low_open=True, high_open=True)
        validate.number("method.prior_weight", prior_weight, low=0, low_open=True)
        hyperopt = require("hyperopt", "hyperopt_tpe")
        self.rng = rng
        # public, so Optimizer.settings() records them in run.json
        self.n_startup_jobs, self.n_ei_candidates = n_startup_jobs, n_ei_candidates
        self.gamma, self.prior_weight = float(gamma), float(prior_weight)
        self.domain = hyperopt.Domain(_never_called, hyperopt_space(space))
        self.trials = hyperopt.Trials()
        self._docs: dict[int, dict] = {}  # trial id -> hyperopt trial document
        self.notes = {"peer": f"hyperopt {_version('hyperopt')} tpe.suggest"}

    def _next(self) -> Optional[Job]:
        from hyperopt import tpe

        new_ids = self.trials.new_trial_ids(1)
        self.trials.refresh()
        seed = int(self.rng.integers(2**31 - 1))
        docs = tpe.suggest(new_ids, self.domain, self.trials, seed, verbose=False,
                           n_startup_jobs=self.n_startup_jobs, n_EI_candidates=self.n_ei_candidates,
                           gamma=self.gamma, prior_weight=self.prior_weight)
        self.trials.insert_trial_docs(docs)
        self.trials.refresh()
        doc = self._find(new_ids[0])
        vals = {k: v[0] for k, v in doc["misc"]["vals"].items() if v}
        tid = self._new_trial_id()
        self._docs[tid] = doc
        return self._job(tid, cspace.decode(self.space, vals), self.max_resource)

    def _find(self, hyperopt_id: int) -> dict:
        for doc in reversed(self.trials._dynamic_trials):
            if doc["tid"] == hyperopt_id:
                return doc
        raise RuntimeError(f"hyperopt lost trial {hyperopt_id}")  # pragma: no cover

    def _observe(self, job: Job, evaluation: Evaluation) -> None:
        from hyperopt import JOB_STATE_DONE, STATUS_FAIL, STATUS_OK

        doc = self._docs.pop(job.trial_id)
        doc["state"] = JOB_STATE_DONE
        doc["result"] = ({"loss": float(evaluation.val_loss), "status": STATUS_OK}
                         if evaluation.ok else {"status": STATUS_FAIL})
        self.trials.refresh()
        self._discarded.append(job.trial_id)


def _never_called(config):  # hyperopt's Domain wants an objective; the run loop evaluates
    raise RuntimeError("hpobench evaluates jobs itself; hyperopt's objective is not called")
