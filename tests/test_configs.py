"""Every config group composes and instantiates (the lightning-hydra-template's
test_configs): each conf/<group>/*.yaml, chosen alone on top of the defaults, builds its
benchmark, method and executor; each experiment preset and launcher composes."""
from __future__ import annotations

import pytest

from hpobench.benchmarks.base import Benchmark
from hpobench.configs import compose
from hpobench.executors import Executor
from hpobench.experiment import build
from hpobench.optimizers.base import Optimizer
from tests.conftest import CONF, missing_requirement


def _names(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF / group).glob("*.yaml"))


CHOICES = [(g, n) for g in ("method", "benchmark", "executor") for n in _names(g)]


def test_every_group_is_covered():
    assert {g for g, _ in CHOICES} == {"method", "benchmark", "executor"}
    assert len(_names("method")) >= 10 and "hyperband" in _names("method")


@pytest.mark.parametrize("group,name", CHOICES, ids=[f"{g}={n}" for g, n in CHOICES])
def test_group_composes_and_instantiates(group, name):
    if group == "benchmark" and name.startswith("lenet"):
        pytest.importorskip("torch")
    need = missing_requirement(name) if group == "method" else None
    if need:  # a peer library (the optional `peers` extra)
        pytest.skip(f"method={name} needs {need!r}")
    cfg = compose([f"{group}={name}"], directory=str(CONF))
    benchmark, optimizer, executor = build(cfg)
    assert isinstance(benchmark, Benchmark) and isinstance(optimizer, Optimizer)
    assert isinstance(executor, Executor)
    assert optimizer.max_resource == benchmark.max_resource
    if group == "method":
        assert cfg.method.name == name


@pytest.mark.parametrize("name", _names("experiment"))
def test_experiment_preset_composes_and_instantiates(name):
    cfg = compose([f"+experiment={name}"], directory=str(CONF))
    if str(cfg.benchmark.get("name", "")).startswith("lenet"):
        pytest.importorskip("torch")
    path = cfg.benchmark.get("path")
    if cfg.benchmark.get("_target_", "").endswith("TableBenchmark") and path and not (
            CONF.parent / "hpobench" / "benchmarks" / "recorded" / f"{path}.parquet").exists():
        pytest.skip(f"+experiment={name} replays the table {path!r}, recorded on demand")
    benchmark, optimizer, _ = build(cfg)
    assert benchmark.max_resource == optimizer.max_resource


@pytest.mark.parametrize("launcher", _names("hydra/launcher"))
def test_launcher_composes(launcher):
    pytest.importorskip("hydra_plugins")
    cfg = compose([f"hydra/launcher={launcher}"], directory=str(CONF))
    assert cfg.method.name and cfg.benchmark.name
