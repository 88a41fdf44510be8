"""Bayesian optimization with scikit-optimize's ``Optimizer`` (ask/tell), every
configuration at R: a Gaussian-process surrogate (:class:`GPBO`, the Spearmint-like
baseline of the paper) or a random-forest / extra-trees surrogate (:class:`ForestBO`, the
SMAC-like baseline).

The adapter is thin: the space maps onto skopt dimensions in
:mod:`hpobench.optimizers._skopt_space`, skopt's numpy scalars come back as plain
Python values, and skopt's seed is drawn from the optimizer's generator.

Failed evaluations: skopt has no notion of a failed point, and *skipping* one is not an
option (skopt would propose the same point again, and a deterministic failure would
then repeat until the budget ran out).  A failure is told as the worst validation loss
seen so far, so the surrogate learns to avoid the region without a made-up scale; before
the first success it is told as ``failure_loss`` (default 1.0, the largest error rate).

Parallel runs: when jobs are outstanding, the next point comes from skopt's own
constant-liar batch (``ask(n_points=k+1, strategy=liar)``), so parallel workers do not all
get the same point.  Serial runs never take that path.

Example::

    >>> import numpy as np
    >>> from hpobench.benchmarks.spaces import lenet_space
    >>> gp = GPBO(lenet_space(), 81, rng=np.random.default_rng(0), n_initial_points=3)
    >>> job = gp.ask(); job.resource, type(job.config["k2"]).__name__
    (81, 'int')
"""
from __future__ import annotations

import functools
import warnings
from typing import Optional

import numpy as np

from hpobench import validate
from hpobench.optimizers import _skopt_space as kspace
from hpobench.optimizers.base import Optimizer
from hpobench.space import SearchSpace
from hpobench.trial import Evaluation, Job

ACQ_FUNCS = ("gp_hedge", "EI", "PI", "LCB")
INITIAL_POINT_GENERATORS = ("random", "sobol", "halton", "hammersly", "lhs", "grid")
LIARS = ("cl_min", "cl_mean", "cl_max")


class SkoptBO(Optimizer):
    """skopt ``Optimizer`` ask/tell with a given surrogate; see :class:`GPBO`, :class:`ForestBO`."""

    def __init__(self, space: SearchSpace, max_resource: int, rng: np.random.Generator, *,
                 base_estimator: str, acq_func: str, acq_optimizer: str,
                 n_initial_points: int, initial_point_generator: str, n_points: int,
                 n_restarts_optimizer: int, xi: float, kappa: float, liar: str,
                 failure_loss: float):
        super().__init__(space, max_resource)
        validate.choice("method.acq_func", acq_func, ACQ_FUNCS)
        validate.choice("method.initial_point_generator", initial_point_generator,
                        INITIAL_POINT_GENERATORS)
        self.liar = validate.choice("method.liar", liar, LIARS)
        for field, v in (("n_initial_points", n_initial_points), ("n_points", n_points),
                         ("n_restarts_optimizer", n_restarts_optimizer)):
            validate.integer(f"method.{field}", v, low=1)
        for field, v in (("xi", xi), ("kappa", kappa), ("failure_loss", failure_loss)):
            validate.number(f"method.{field}", v)
        self.failure_loss = float(failure_loss)
        from skopt import Optimizer as SkOptimizer

        kwargs = {"n_points": n_points, "n_restarts_optimizer": n_restarts_optimizer}
        self._opt = SkOptimizer(
            kspace.dimensions(space), base_estimator=base_estimator,
            n_initial_points=n_initial_points, initial_point_generator=initial_point_generator,
            acq_func=acq_func, acq_optimizer=acq_optimizer,
            acq_func_kwargs={"xi": float(xi), "kappa": float(kappa)},
            acq_optimizer_kwargs=kwargs, random_state=int(rng.integers(2**31 - 1)))
        self._worst: Optional[float] = None  # worst successful validation loss so far
        self._points: dict[int, list] = {}   # our trial id -> the point skopt suggested

    def _next(self) -> Optional[Job]:
        with _quiet():
            if self._points:  # jobs outstanding: a constant-liar batch, take its last point
                x = self._opt.ask(n_points=len(self._points) + 1, strategy=self.liar)[-1]
            else:
                x = self._opt.ask()
        tid = self._new_trial_id()
        self._points[tid] = list(x)
        return self._job(tid, kspace.decode(self.space, x), self.max_resource)

    def _observe(self, job: Job, evaluation: Evaluation) -> None:
        x = self._points.pop(job.trial_id)
        if evaluation.ok:
            y = float(evaluation.val_loss)
            self._worst = y if self._worst is None else max(self._worst, y)
        else:
            y = self._worst if self._worst is not None else self.failure_loss
        with _quiet():
            self._opt.tell(x, y)
        self._discarded.append(job.trial_id)


class GPBO(SkoptBO):
    """GP-based BO (the Spearmint-like baseline): ``skopt.Optimizer(base_estimator="GP")``.

    Settings (``conf/method/gp.yaml``): ``acq_func`` (gp_hedge | EI | PI | LCB),
    ``acq_optimizer`` (auto | lbfgs | sampling), ``n_initial_points`` and
    ``initial_point_generator`` (the random design before the model is used),
    ``n_points`` (acquisition candidates), ``n_restarts_optimizer`` (lbfgs restarts),
    ``xi`` / ``kappa`` (exploration of EI/PI and LCB), ``liar``, ``failure_loss``.
    """

    def __init__(self, space: SearchSpace, max_resource: int, rng: np.random.Generator,
                 acq_func: str = "gp_hedge", acq_optimizer: str = "auto",
                 n_initial_points: int = 10, initial_point_generator: str = "random",
                 n_points: int = 10000, n_restarts_optimizer: int = 5, xi: float = 0.01,
                 kappa: float = 1.96, liar: str = "cl_min", failure_loss: float = 1.0):
        validate.choice("method.acq_optimizer", acq_optimizer, ("auto", "lbfgs", "sampling"))
        super().__init__(space, max_resource, rng, base_estimator="GP", acq_func=acq_func,
                         acq_optimizer=acq_optimizer, n_initial_points=n_initial_points,
                         initial_point_generator=initial_point_generator, n_points=n_points,
                         n_restarts_optimizer=n_restarts_optimizer, xi=xi, kappa=kappa,
                         liar=liar, failure_loss=failure_loss)


class ForestBO(SkoptBO):
    """Tree-ensemble BO (the SMAC-like baseline): ``skopt.Optimizer`` with a random
    forest (``surrogate: RF``) or extra trees (``ET``); the acquisition is optimised by
    sampling ``n_points`` candidates (trees have no gradients).

    Settings (``conf/method/rf.yaml``): ``surrogate``, ``acq_func``, ``n_initial_points``,
    ``initial_point_generator``, ``n_points``, ``xi`` / ``kappa``, ``liar``,
    ``failure_loss``.
    """

    def __init__(self, space: SearchSpace, max_resource: int, rng: np.random.Generator,
                 surrogate: str = "RF", acq_func: str = "EI", n_initial_points: int = 10,
                 initial_point_generator: str = "random", n_points: int = 10000,
                 xi: float = 0.01, kappa: float = 1.96, liar: str = "cl_min",
                 failure_loss: float = 1.0):
        validate.choice("method.surrogate", surrogate, ("RF", "ET"))
        super().__init__(space, max_resource, rng, base_estimator=surrogate,
                         acq_func=acq_func, acq_optimizer="sampling",
                         n_initial_points=n_initial_points,
                         initial_point_generator=initial_point_generator, n_points=n_points,
                         n_restarts_optimizer=1, xi=xi, kappa=kappa, liar=liar,
                         failure_loss=failure_loss)


@functools.lru_cache(maxsize=None)
def _blas():
    """One ``ThreadpoolController`` per process: building one scans the process's loaded
    libraries (~10 ms), and ``threadpool_limits(...)`` builds a new one at every call."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


class _quiet(warnings.catch_warnings):
    """Around every skopt call: silence skopt's 'evaluated at point ... before' note and
    sklearn's GP fit warnings (noise in a run's log; the rows already record every point),
    and run BLAS single-threaded: the surrogate's matrices are tiny (one row per
    evaluation), and threads only add overhead, badly so on a shared machine."""

    def __enter__(self):
        out = super().__enter__()
        warnings.filterwarnings("ignore", message="The objective has been evaluated")
        from sklearn.exceptions import ConvergenceWarning

        warnings.simplefilter("ignore", ConvergenceWarning)
        self._limits = _blas().limit(limits=1, user_api="blas")
        return out

    def __exit__(self, *exc):
        self._limits.restore_original_limits()
        return super().__exit__(*exc)
