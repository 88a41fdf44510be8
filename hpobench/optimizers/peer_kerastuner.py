"""Keras Tuner's ``HyperbandOracle`` (keras-tuner 1.4.8, Keras 3) as an ask/tell method.

The oracle's own trial API is the ask/tell: ``oracle.create_trial(tuner_id)`` (ask;
``populate_space`` decides the bracket, the round and the values), then
``oracle.update_trial(trial_id, {"loss": v}, step=epochs)`` and ``oracle.end_trial``
with status COMPLETED or FAILED (tell).  No model is built and nothing is trained by
Keras: hpobench's benchmark is the "model".  Keras 3 needs a backend to import; the
adapter sets ``KERAS_BACKEND=torch`` unless it is already set (no TensorFlow needed).

Keras Tuner's Hyperband, as it is (not Algorithm 1, recorded in run.json's
``method_notes``):

* sizes round up at every round: ``ceil(ceil(1 + log_eta R)/(b+1) * eta^(b-r))``,
  so at R=81 bracket 3 runs 34/12/4/2 where Algorithm 1 runs 34/11/3/1, and epochs are
  ``ceil(R / eta^(b-r))``;
* a round's next candidate is promoted as soon as more of the previous round have
  completed than will be thrown out, not when the whole rung is in;
* a promoted configuration is a new Keras Tuner trial whose ``tuner/trial_id`` names its
  parent; here it keeps its parent's hpobench trial id, so it resumes from the parent's
  checkpoint at ``tuner/initial_epoch`` (Keras Tuner loads the parent's weights too);
* ``hyperband_iterations`` is unbounded: the run's budget stops it; the oracle's
  consecutive-failure limit is lifted (hpobench records failures and goes on).

The oracle writes its state as JSON files after every trial: into a temporary
directory, removed with the method.

Example::

    >>> import numpy as np                                    # doctest: +SKIP
    >>> from hpobench.benchmarks.spaces import lenet_space
    >>> opt = KerasTunerHyperband(lenet_space(), 81, np.random.default_rng(0))
    >>> opt.ask().resource
    1
"""
from __future__ import annotations

import os
import tempfile
import warnings
from typing import Optional

import numpy as np

from hpobench.optimizers import _configspace as cspace
from hpobench.optimizers._optuna_space import UNIT, dependent
from hpobench.optimizers.base import Optimizer
from hpobench.optimizers._peers import require
from hpobench.optimizers._peers import version as _version
from hpobench.optimizers.successive_halving import _check_eta
from hpobench.space import Categorical, Int, SearchSpace
from hpobench.trial import Evaluation, Job

#: what this adapter imports (tests skip its method, with the reason, when it is missing)
REQUIRES = ("keras_tuner", "torch")
#: how to install them: Keras 3 imports on the torch backend here (its numpy one needs jax)
INSTALL = "pip install -c constraints.txt -e '.[peers,lenet]'"
_TUNER = "hpobench"


def kerastuner_space(space: SearchSpace):
    """Keras Tuner ``HyperParameters`` for ``space`` (dependent bounds as unit fractions)."""
    import keras_tuner as kt

    hps = kt.HyperParameters()
    for p in space.params:
        if isinstance(p, Categorical):
            hps.Choice(p.name, [str(i) for i in range(len(p.choices))])
        elif dependent(p):
            hps.Float(p.name + UNIT, 0.0, 1.0)
        elif isinstance(p, Int):
            hps.Int(p.name, int(p.low), int(p.high), sampling="log" if p.log else "linear")
        else:
            hps.Float(p.name, float(p.low), float(p.high), sampling="log" if p.log else "linear")
    return hps


class KerasTunerHyperband(Optimizer):
    """Keras Tuner's ``HyperbandOracle``; setting: ``eta`` (its ``factor``)."""

    def __init__(self, space: SearchSpace, max_resource: int, rng: np.random.Generator,
                 eta: int = 3):
        super().__init__(space, max_resource)
        self.eta = _check_eta(eta)
        os.environ.setdefault("KERAS_BACKEND", "torch")
        require("torch", "kerastuner_hyperband", INSTALL)
        kt = require("keras_tuner", "kerastuner_hyperband", INSTALL)
        self._tmp = tempfile.TemporaryDirectory(prefix="hpobench-kerastuner-")
        self.oracle = kt.oracles.HyperbandOracle(
            objective=kt.Objective("loss", "min"), max_epochs=int(max_resource),
            factor=self.eta, hyperband_iterations=None, seed=int(rng.integers(2**31 - 1)),
            hyperparameters=kerastuner_space(space), allow_new_entries=False,
            tune_new_entries=False, max_consecutive_failed_trials=2**31 - 1)
        self.oracle._set_project_dir(self._tmp.name, "oracle")
        self.oracle._display.verbose = 0
        self.notes = {
            "peer": f"keras-tuner {_version('keras-tuner')} HyperbandOracle "
                    f"(keras {_version('keras')}, backend {os.environ['KERAS_BACKEND']})",
            "schedule": "Keras Tuner's own: sizes rounded up at every round; a candidate is "
                        "promoted once more of its round completed than will be thrown out",
            "brackets_peer": [[(self.oracle._get_size(b, r), self.oracle._get_epochs(b, r))
                               for r in range(b + 1)]
                              for b in reversed(range(self.oracle._get_num_brackets()))],
        }
        self._ours: dict[str, int] = {}     # Keras Tuner trial id -> hpobench trial id
        self._kt_of_job: dict[int, object] = {}

    @property
    def min_resource(self) -> float:
        return float(min(e for b in self.notes["brackets_peer"] for _, e in b))

    def _next(self) -> Optional[Job]:
        with warnings.catch_warnings():  # threading's getName() deprecation, per call
            warnings.simplefilter("ignore", DeprecationWarning)
            trial = self.oracle.create_trial(_TUNER)
        if trial.status != "RUNNING":  # IDLE or STOPPED: nothing to run now
            return None
        values = dict(trial.hyperparameters.values)
        parent = values.get("tuner/trial_id")
        tid = self._ours[parent] if parent is not None else self._new_trial_id()
        self._ours[trial.trial_id] = tid
        job = self._job(tid, cspace.decode(self.space, values), int(values["tuner/epochs"]),
                        bracket=int(values["tuner/bracket"]), rung=int(values["tuner/round"]))
        self._kt_of_job[job.job_id] = trial
        return job

    def _observe(self, job: Job, evaluation: Evaluation) -> None:
        trial = self._kt_of_job.pop(job.job_id)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            if evaluation.ok:
                self.oracle.update_trial(trial.trial_id, {"loss": float(evaluation.val_loss)},
                                         step=int(job.resource))
                trial.status = "COMPLETED"
            else:
                trial.status = "FAILED"
                trial.message = str(evaluation.error)
            self.oracle.end_trial(trial)
