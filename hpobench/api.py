"""Run any method on your own objective from Python, in one call.

``hpobench.run(objective, method, ...)`` is the library's front door, as
``study.optimize`` is Optuna's: ``objective`` is either a :class:`~hpobench.benchmarks.Benchmark`
or a plain function of ``(config, resource, seed)`` returning a validation loss (or
``(val_loss, test_loss)``, a dict with those keys, or an :class:`~hpobench.trial.Evaluation`);
``method`` is a name from ``conf/method/`` (``"hyperband"``, ``"tpe"``, ...) with its
options as keyword arguments, or an :class:`~hpobench.optimizers.Optimizer` you built.

Example::

    >>> import hpobench
    >>> from hpobench.space import SearchSpace, Float
    >>> def loss(config, resource, seed):  # resource: 1..R units of training
    ...     return (config["x"] - 0.3) ** 2 + 1.0 / resource
    >>> result = hpobench.run(loss, "hyperband", space=SearchSpace([Float("x", 0, 1)]),
    ...                       max_resource=27, budget=5, seed=0)
    >>> result.status, len(result.rows) > 0, result.incumbent["resource"] <= 27
    ('complete', True, True)

The run is the same loop the command line uses (one resource currency, failures recorded
as ``failed``, the budget never exceeded); pass ``run_dir=`` to write
``evaluations.parquet`` and ``run.json`` there (and resume an interrupted run).
"""
from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, Optional, Union

from hpobench.benchmarks.base import Benchmark
from hpobench import validate
from hpobench.errors import ConfigError
from hpobench.optimizers.base import Optimizer
from hpobench.run import RunResult
from hpobench.run import run as run_loop  # loads the module before hpobench/__init__ rebinds the name
from hpobench.seeding import optimizer_rng
from hpobench.space import SearchSpace
from hpobench.trial import Evaluation

Objective = Callable[[dict, float, int], Any]


class FunctionBenchmark(Benchmark):
    """A benchmark made of a function ``fn(config, resource, seed)``.

    The function trains (or computes) ``config`` with ``resource`` units and returns its
    validation loss; it may also return ``(val_loss, test_loss)``, a dict with keys
    ``val_loss`` (and ``test_loss``), or an :class:`~hpobench.trial.Evaluation`.  Without a
    test loss the validation loss is reported as the test loss too.  Each call starts
    from scratch, so the whole ``resource`` is charged (no checkpoint reuse).  An exception
    or a non-finite loss is recorded as a failed evaluation.
    """

    def __init__(self, fn: Objective, space: SearchSpace, max_resource: int,
                 name: Optional[str] = None, resource_unit: str = "unit"):
        if not callable(fn):
            raise ConfigError(f"objective: must be a function of (config, resource, seed) or "
                              f"a Benchmark, got {type(fn).__name__}")
        self.fn = fn
        self.space = _space(space)
        self.max_resource = _max_resource(max_resource)
        self.name = name or getattr(fn, "__name__", "objective")
        self.resource_unit = resource_unit

    def evaluate(self, config: dict, resource: float, seed: int,
                 resume_from: Optional[Any] = None) -> Evaluation:
        out = self.fn(config, resource, seed)
        if isinstance(out, Evaluation):
            return out
        if isinstance(out, dict):
            val = out["val_loss"]
            return Evaluation(float(val), float(out.get("test_loss", val)), resource)
        if isinstance(out, (tuple, list)) and len(out) == 2:
            return Evaluation(float(out[0]), float(out[1]), resource)
        return Evaluation(float(out), float(out), resource)


def run(objective: Union[Benchmark, Objective], method: Union[str, Optimizer] = "hyperband", *,
        space: Optional[SearchSpace] = None, max_resource: Optional[int] = None,
        budget: float = 50, seed: int = 0, run_dir: Optional[Union[str, Path]] = None,
        executor=None, progress: Optional[bool] = None, reuse: bool = True,
        **method_options: Any) -> RunResult:
    """Run ``method`` on ``objective`` until ``budget`` x R units are spent.

    ``objective``: a :class:`~hpobench.benchmarks.Benchmark`, or a function of
    ``(config, resource, seed)`` (then ``space`` and ``max_resource``, the R, are required).
    ``method``: a name from ``conf/method/`` (its YAML's defaults, overridden by
    ``method_options``, e.g. ``eta=4``) or an Optimizer built for this benchmark's space and R.
    ``budget``: total resource in multiples of R (the paper uses 50).
    ``run_dir``: write ``evaluations.parquet`` and ``run.json`` there; ``None`` keeps the
    rows in memory.  ``executor``: e.g. ``hpobench.executors.ProcessExecutor(workers=4)``.

    Returns a :class:`~hpobench.run.RunResult` (``.incumbent``, ``.frame()``, ``.rows``).
    Bad input raises :class:`~hpobench.errors.ConfigError` before anything runs.
    """
    validate.integer("seed", seed, low=0)
    if isinstance(objective, Benchmark):
        for k, v in (("space", space), ("max_resource", max_resource)):
            if v is not None:
                raise ConfigError(f"{k}: given by the benchmark {objective.name!r}; pass it only "
                                  "with a function objective")
        benchmark = objective
    else:
        if space is None or max_resource is None:
            raise ConfigError("space, max_resource: required with a function objective "
                              "(the search space and R, the most resource one evaluation gets)")
        benchmark = FunctionBenchmark(objective, space, max_resource)
    if isinstance(method, Optimizer):
        if method_options:
            raise ConfigError(f"{next(iter(method_options))}: method options go with a method "
                              "name; this Optimizer is already built")
        optimizer, name = method, type(method).__name__.lower()
    elif isinstance(method, str):
        from hpobench.experiment import instantiate

        cfg = {**method_config(method), **method_options}
        name = cfg.get("name", method)
        optimizer = instantiate("method", cfg, space=benchmark.space,
                                max_resource=benchmark.max_resource, rng=optimizer_rng(seed),
                                budget=budget, seed=seed)
    else:
        raise ConfigError(f"method: a method name (one of {', '.join(method_names())}) or an "
                          f"Optimizer, got {type(method).__name__}")
    return run_loop(benchmark, optimizer, budget=budget, seed=seed, method_name=name,
                    run_dir=run_dir, executor=executor, progress=progress, reuse=reuse,
                    budget_scale=_budget_scale(cfg) if isinstance(method, str) else 1)


def _conf_dirs() -> list[Path]:
    """Where the method YAMLs live: the checkout's conf/, or the copy shipped in the
    package (:func:`hpobench.configs.config_dir`)."""
    from hpobench.configs import config_dir

    return [d for d in (Path(config_dir()),) if (d / "method").is_dir()]


def method_names() -> list[str]:
    """Every method name ``hpobench.run`` (and ``method=`` on the command line) accepts."""
    return sorted({p.stem for d in _conf_dirs() for p in (d / "method").glob("*.yaml")})


def method_config(name: str) -> dict:
    """The options of method ``name`` as its ``conf/method/<name>.yaml`` sets them."""
    from omegaconf import OmegaConf

    if re.fullmatch(r"[A-Za-z0-9_]+", name):
        for d in _conf_dirs():
            path = d / "method" / f"{name}.yaml"
            if path.is_file():
                return OmegaConf.to_container(OmegaConf.load(path), resolve=True)
    raise ConfigError(f"method: unknown method {name!r} (allowed: {', '.join(method_names())})")


def _space(space) -> SearchSpace:
    if isinstance(space, SearchSpace):
        return space
    if isinstance(space, (list, tuple)):
        return SearchSpace(list(space))
    raise ConfigError(f"space: must be a SearchSpace or a list of parameters "
                      f"(Float, Int, Categorical), got {type(space).__name__}")


def _max_resource(r) -> int | float:
    validate.number("max_resource", r, low=0, low_open=True, note="(R, in units)")
    return r


def _budget_scale(method_cfg: dict) -> float:
    """A method run as several searches side by side (random_2x) gets that many budgets."""
    from hpobench import validate

    return validate.number("method.budget_scale", method_cfg.get("budget_scale", 1), low=1)
