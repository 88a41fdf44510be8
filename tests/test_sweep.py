"""The command line, as a user runs it: python -m runners.sweep ..."""
from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from hpobench.results import COLUMNS
from tests.test_schedule import TABLE1_81

ROOT = Path(__file__).resolve().parents[1]


def sweep(*args, cwd=None, check=True):
    p = subprocess.run([sys.executable, "-m", "runners.sweep", *args], cwd=cwd or ROOT,
                       capture_output=True, text=True, timeout=300)
    if check and p.returncode != 0:
        raise AssertionError(f"rc={p.returncode}\n{p.stdout}\n{p.stderr}")
    return p


def test_default_run_writes_both_files(tmp_path):
    p = sweep("method=hyperband", f"results_dir={tmp_path}")
    d = tmp_path / "envelope" / "hyperband" / "seed=0"
    df = pd.read_parquet(d / "evaluations.parquet")
    meta = json.loads((d / "run.json").read_text())
    assert list(df.columns[: len(COLUMNS)]) == list(COLUMNS)
    assert {f"config.{n}" for n in ("learning_rate", "batch_size", "k2", "k1")} <= set(df.columns)
    assert meta["status"] == "complete" and meta["seed"] == 0 and meta["n_evaluations"] == len(df)
    assert meta["config"]["method"]["eta"] == 3 and "numpy" in meta["versions"]
    assert meta["incumbent"]["val_loss"] == df.loc[df.status == "ok", "val_loss"].min()
    assert df.total_resource.iloc[-1] <= 50 * 81
    assert "complete" in p.stdout
    assert not (d / "evaluations.jsonl").exists()  # compacted, journal removed


def test_paper_table_rows_via_cli(tmp_path):
    sweep("method=hyperband", "method.schedule=paper_table", "budget=17.333333333333334",
          f"results_dir={tmp_path}")
    [f] = list(tmp_path.rglob("evaluations.parquet"))
    assert "method.schedule=paper_table" in str(f)
    df = pd.read_parquet(f)
    got = {}
    for (s, i, r), n in sorted(Counter(zip(df.bracket, df.rung, df.resource)).items(),
                               key=lambda kv: (-kv[0][0], kv[0][1])):
        got.setdefault(int(s), []).append((n, int(r)))
    assert got == TABLE1_81
    assert df.total_resource.iloc[-1] == 1404


def test_multirun_makes_six_run_directories(tmp_path):
    sweep("-m", "method=hyperband,successive_halving,random", "seed=0,1", "budget=3",
          f"results_dir={tmp_path}")
    runs = sorted(p.parent.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("run.json"))
    assert runs == [f"envelope/{m}/budget=3/seed={s}"
                    for m in ("hyperband", "random", "successive_halving") for s in (0, 1)]
    cols = {tuple(pd.read_parquet(tmp_path / r / "evaluations.parquet").columns) for r in runs}
    assert len(cols) == 1


def test_rerun_of_a_complete_run_does_nothing(tmp_path):
    sweep("method=random", "budget=2", f"results_dir={tmp_path}")
    p = sweep("method=random", "budget=2", f"results_dir={tmp_path}")
    assert "nothing to do" in p.stderr


def test_hydra_run_dir_is_honoured_and_cwd_does_not_matter(tmp_path):
    target = tmp_path / "here"
    sweep("method=random", "budget=2", f"hydra.run.dir={target}", cwd=tmp_path)
    assert (target / "evaluations.parquet").exists()
    sweep("method=random", "budget=2", cwd=tmp_path)  # default results/ under the launch dir
    assert (tmp_path / "results" / "envelope" / "random" / "budget=2" / "seed=0" / "run.json").exists()


@pytest.mark.parametrize("override,needle", [
    ("method=nope", "Could not find 'method/nope'"),
    ("benchmark=nope", "Could not find 'benchmark/nope'"),
    ("benchmark.max_resource=0", "benchmark.max_resource: must be an integer in 1..1000000"),
    ("method.eta=1", "method.eta: must be an integer >= 2"),
    ("method.eta=2.5", "method.eta: must be an integer >= 2"),
    ("benchmark.max_resource=8.5", "benchmark.max_resource"),
    ("budget=0.001", "budget: "),
    ("method.schedule=table", "method.schedule: must be one of ['algorithm1', 'paper_table'], got 'table'"),
    ("+method.foo=1", "method.foo: not an option"),
    ("seed=-1", "seed: must be an integer >= 0"),
    ("+method.max_resource=9", "method.max_resource: set by the run"),
])
def test_bad_input_fails_early_with_one_clear_line(tmp_path, override, needle):
    p = sweep(override, f"results_dir={tmp_path}", check=False)
    assert p.returncode != 0
    assert needle in p.stderr
    assert "Traceback" not in p.stderr
    assert not list(tmp_path.rglob("run.json"))
    assert not list(tmp_path.rglob("*.parquet"))
