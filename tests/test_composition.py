"""The sweeper's composition cache (hpobench/composition.py): every job's config equals
Hydra's own composition of it, field for field, with Hydra's loader as the oracle."""
from __future__ import annotations

import json

import pandas as pd
import pytest
from hydra import initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.types import RunMode
from omegaconf import OmegaConf

from hpobench import composition
from hpobench.composition import CachingConfigLoader
from tests.conftest import CONF
from tests.test_sweep import sweep

#: (the sweep's own command-line overrides, the jobs' overrides)
CASES = [
    (["+experiment=table_brackets"],
     [["method=successive_halving", "method.bracket=2", "method.schedule=paper_table",
       f"seed={s}", "budget=50", "+experiment=table_brackets"] for s in (0, 1, 69)]),
    ([], [["method=asha", "method.eta=2", "seed=3"], ["seed=4", "method.eta=4", "method=asha"],
          ["method=hyperband", "seed=3", "benchmark.max_resource=27"]]),
    (["hydra.job.chdir=false"],
     [["method=tpe", "seed=1", "budget=7", "+note=hello"], ["benchmark=table", "seed=2",
                                                            "benchmark.path=envelope_iid1"]]),
    ([], [["~executor", "seed=1"], ["seed=5", "progress=false", "reuse=false"]]),
]


@pytest.fixture
def hydra_loader():
    GlobalHydra.instance().clear()
    with initialize_config_dir(str(CONF), version_base="1.3"):
        yield GlobalHydra.instance().config_loader()
    GlobalHydra.instance().clear()


def _master(loader, overrides):
    return loader.load_configuration("config", overrides, RunMode.MULTIRUN)


def _plain(cfg) -> dict:
    return OmegaConf.to_container(cfg, resolve=False)


@pytest.mark.parametrize("case", range(len(CASES)))
def test_every_job_config_equals_hydras_own(hydra_loader, case):
    command, jobs = CASES[case]
    composition._BASES.clear()
    master = _master(hydra_loader, command)
    cached = CachingConfigLoader(hydra_loader)
    for job in jobs * 2:  # the second round comes from the cache
        want = hydra_loader.load_sweep_config(master, list(job))
        got = cached.load_sweep_config(master, list(job))
        assert _plain(got) == _plain(want), job
        assert OmegaConf.to_container(got.hydra.job, resolve=True) == \
            OmegaConf.to_container(want.hydra.job, resolve=True)


class Counting:
    """Hydra's loader, counting the compositions it does for the cache."""

    def __init__(self, inner):
        self.inner, self.calls = inner, []

    def load_sweep_config(self, master, overrides):
        self.calls.append(list(overrides))
        return self.inner.load_sweep_config(master, overrides)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def test_one_composition_per_structure(hydra_loader):
    composition._BASES.clear()
    master = _master(hydra_loader, ["+experiment=table_brackets"])
    counting = Counting(hydra_loader)
    cached = CachingConfigLoader(counting)
    for bracket in (0, 1):
        for seed in range(5):
            cfg = cached.load_sweep_config(master, [
                "method=successive_halving", f"method.bracket={bracket}", f"seed={seed}",
                "+experiment=table_brackets"])
            assert cfg.seed == seed and cfg.method.bracket == bracket
            assert cfg.hydra.overrides.task[1] == f"method.bracket={bracket}"
            assert cfg.hydra.job.override_dirname == f"method.bracket={bracket}"
    # ten jobs, one structure (method=successive_halving with the experiment): composed once
    assert counting.calls == [["method=successive_halving", "+experiment=table_brackets"]]


@pytest.mark.parametrize("job", [
    ["method.etaa=2", "seed=1"],          # no such key: Hydra's own error
    ["seed=1", "seed=2"],                 # the same key twice: Hydra's order decides
    ["+method.foo=1", "method.foo=2"],    # added and changed: Hydra's order decides
    ["method=[hyperband,tpe]"],           # not a plain value
])
def test_anything_unusual_is_hydras(hydra_loader, job):
    composition._BASES.clear()
    master = _master(hydra_loader, [])
    counting = Counting(hydra_loader)
    cached = CachingConfigLoader(counting)
    try:
        want = _plain(hydra_loader.load_sweep_config(master, list(job)))
    except Exception as e:  # noqa: BLE001
        with pytest.raises(type(e), match=str(e)[:40].replace("[", r"\[").replace("(", r"\(")):
            cached.load_sweep_config(master, list(job))
        return
    assert _plain(cached.load_sweep_config(master, list(job))) == want
    if job[0] != "method.etaa=2":
        assert counting.calls == [job]  # handed to Hydra whole


def test_a_sweep_writes_what_the_basic_sweeper_writes(tmp_path):
    """The default sweeper against ``hydra/sweeper=basic``: the same run directories,
    rows and settings (wall-clock columns aside)."""
    args = ["-m", "method=successive_halving", "method.bracket=0,1", "seed=0,1",
            "budget=2", "progress=false"]
    sweep(*args, f"results_dir={tmp_path / 'ours'}")
    sweep(*args, "hydra/sweeper=basic", f"results_dir={tmp_path / 'hydra'}")
    ours = sorted(p.relative_to(tmp_path / "ours") for p in (tmp_path / "ours").rglob("run.json"))
    theirs = sorted(p.relative_to(tmp_path / "hydra") for p in (tmp_path / "hydra").rglob("run.json"))
    assert ours == theirs and len(ours) == 4
    clock = ["wall_time", "optimizer_time", "elapsed"]
    for rel in ours:
        a = pd.read_parquet(tmp_path / "ours" / rel.parent / "evaluations.parquet").drop(columns=clock)
        b = pd.read_parquet(tmp_path / "hydra" / rel.parent / "evaluations.parquet").drop(columns=clock)
        pd.testing.assert_frame_equal(a, b)
        ja = json.loads((tmp_path / "ours" / rel).read_text())
        jb = json.loads((tmp_path / "hydra" / rel).read_text())
        assert {k: v for k, v in ja["config"].items() if k != "results_dir"} == \
            {k: v for k, v in jb["config"].items() if k != "results_dir"}
