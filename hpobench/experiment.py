"""From a composed (Hydra/OmegaConf) config to a finished run: build, validate, run.

Validation happens here, before any evaluation: unknown options, bad values and a budget
below the smallest rung all raise :class:`~hpobench.errors.ConfigError` with the field's
name and what is allowed.
"""
from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, Optional

from hpobench import validate
from hpobench.errors import ConfigError
from hpobench.run import RunResult, run
from hpobench.seeding import optimizer_rng

#: keys of a method/benchmark config that are not constructor arguments
#: (``budget_scale``: a method run as several searches side by side, e.g. random_2x,
#: gets that many times the budget; a run setting, read by :func:`run_from_config`)
_META_KEYS = ("name", "label", "description", "budget_scale")


def _plain(cfg) -> dict:
    try:
        from omegaconf import DictConfig, OmegaConf

        if isinstance(cfg, DictConfig):
            return OmegaConf.to_container(cfg, resolve=True)
    except ImportError:  # pragma: no cover - omegaconf is a dependency
        pass
    return dict(cfg)


def resolve_target(path: str, group: str):
    from hydra.utils import get_class, get_method

    try:
        return get_class(path)
    except Exception:  # noqa: BLE001
        try:
            return get_method(path)
        except Exception as e:  # noqa: BLE001
            raise ConfigError(f"{group}._target_: cannot import {path!r} ({e})") from None


def instantiate(group: str, cfg: dict, **runtime: Any):
    """Instantiate ``cfg['_target_']`` with the config's options plus ``runtime`` arguments,
    rejecting options the target does not take (named, with the allowed ones)."""
    cfg = dict(cfg)
    target = cfg.pop("_target_", None)
    if not target:
        raise ConfigError(f"{group}: no _target_ given")
    for k in _META_KEYS:
        if not (k == "name" and group == "benchmark"):  # a benchmark takes its name
            cfg.pop(k, None)
    cls = resolve_target(target, group)
    sig = inspect.signature(cls)
    params = sig.parameters
    takes_kwargs = any(p.kind is p.VAR_KEYWORD for p in params.values())
    for k in cfg:
        if k in runtime:
            raise ConfigError(f"{group}.{k}: set by the run (e.g. benchmark.max_resource, seed), "
                              f"not an option of {group}")
    if not takes_kwargs:
        allowed = [n for n in params if n not in runtime]
        for k in cfg:
            if k not in params:
                raise ConfigError(f"{group}.{k}: not an option of {target} "
                                  f"(allowed: {', '.join(allowed) or 'none'})")
        runtime = {k: v for k, v in runtime.items() if k in params}
    for k, v in list(cfg.items()):
        if isinstance(v, dict) and "_target_" in v:  # a nested factory, e.g. a sampler
            cfg[k] = _factory(f"{group}.{k}", v)
    try:
        return cls(**cfg, **runtime)
    except ConfigError:
        raise
    except TypeError as e:
        raise ConfigError(f"{group}: {e}") from None


def _factory(group: str, cfg: dict):
    """A callable that instantiates ``cfg`` later with runtime arguments (e.g. a sampler)."""
    def make(**runtime):
        return instantiate(group, cfg, **runtime)
    return make


def build(cfg) -> tuple[Any, Any, Any]:
    """(benchmark, optimizer, executor) from a composed config."""
    c = _plain(cfg)
    for key in ("method", "benchmark"):
        if not isinstance(c.get(key), dict):
            raise ConfigError(f"{key}: missing; choose one with {key}=NAME")
    seed = c.get("seed", 0)
    validate.integer("seed", seed, low=0)
    benchmark = instantiate("benchmark", c["benchmark"])
    optimizer = instantiate("method", c["method"], space=benchmark.space,
                            max_resource=benchmark.max_resource, rng=optimizer_rng(seed),
                            budget=c.get("budget"), seed=seed)
    executor = instantiate("executor", c.get("executor") or
                           {"_target_": "hpobench.executors.SerialExecutor"})
    return benchmark, optimizer, executor


def run_from_config(cfg, run_dir: Optional[str | Path] = None, variant: str = "",
                    extra_meta: Optional[dict] = None) -> RunResult:
    """Build everything from ``cfg`` and run it into ``run_dir``."""
    c = _plain(cfg)
    benchmark, optimizer, executor = build(cfg)
    reuse = validate.boolean("reuse", c.get("reuse", True))
    meta = {"config": c, **(extra_meta or {})}
    return run(benchmark, optimizer, budget=c.get("budget", 50), seed=c.get("seed", 0),
               method_name=c["method"].get("name", type(optimizer).__name__.lower()),
               run_dir=run_dir, reuse=reuse, executor=executor, meta=meta,
               progress=c.get("progress"), variant=variant,
               budget_scale=validate.number("method.budget_scale",
                                            c["method"].get("budget_scale", 1), low=1))
