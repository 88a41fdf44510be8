"""Learning-curve tables: the format, benchmark=table, the recorder (issue #14).

Expected values are computed by hand from the small tables written out here, or come
from the live envelope benchmark (which the table must replay exactly)."""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hpobench.benchmarks.envelope import EnvelopeBenchmark
from hpobench.benchmarks.table import TableBenchmark
from hpobench.errors import ConfigError
from hpobench.experiment import build
from hpobench.recording import table_from_runs
from hpobench.run import run
from hpobench.space import Float, Int, SearchSpace
from tests.conftest import ROOT, compose_cfg, method_params

SPACE = SearchSpace([Float("x", 0.0, 1.0), Int("n", 1, 4)])


def _frame() -> pd.DataFrame:
    """Two configurations; (0.1, 1) has two replicates; grid 1, 3, 9."""
    rows = []
    for x, n, rep, vals, rts in [
        (0.1, 1, 0, (0.9, 0.5, 0.2), (1.0, 2.0, 4.0)),
        (0.1, 1, 1, (0.8, 0.6, 0.3), (1.5, 2.5, 4.5)),
        (0.7, 3, 0, (0.7, 0.4, float("nan")), (1.0, 1.0, 1.0)),
    ]:
        for r, v, t in zip((1, 3, 9), vals, rts):
            rows.append({"config.x": x, "config.n": n, "replicate": rep, "resource": r,
                         "val_loss": v, "test_loss": v + 0.01, "runtime": t})
    return pd.DataFrame(rows)


def _write(df: pd.DataFrame, path: Path, meta=None, sidecar=False) -> Path:
    """What the doc tells a user with a converted frame to do (pyarrow + JSON)."""
    meta = {"space": SPACE.to_list(), "resource_unit": "epoch"} if meta is None else meta
    table = pa.Table.from_pandas(df, preserve_index=False)
    if sidecar:
        path.with_suffix(".json").write_text(json.dumps(meta))
    else:
        table = table.replace_schema_metadata(
            {**(table.schema.metadata or {}), b"hpobench.table": json.dumps(meta).encode()})
    pq.write_table(table, path)
    return path


@pytest.fixture
def small(tmp_path) -> TableBenchmark:
    return TableBenchmark(path=str(_write(_frame(), tmp_path / "small.parquet")))


# -- the benchmark, by hand -------------------------------------------------------------
def test_space_R_grid_and_unit_come_from_the_table(small):
    assert small.space.names == ("x", "n") and small.max_resource == 9
    assert small.grid.tolist() == [1.0, 3.0, 9.0] and small.resource_unit == "epoch"


def test_nearest_configuration_by_hand(small):
    # unit cube: x -> x; n in 1..4 -> (n - 1 + 0.5) / 4: n=1 -> 0.125, n=3 -> 0.625
    exact = small.evaluate({"x": 0.7, "n": 3}, 3, seed=0)
    assert exact.info["table_config"] == 1 and exact.info["table_distance"] == 0.0
    assert exact.val_loss == 0.4 and exact.test_loss == pytest.approx(0.41)
    # (0.35, n=2 -> 0.375): to config 0 sqrt(0.25^2 + 0.25^2) = 0.3536, to config 1
    # sqrt(0.35^2 + 0.25^2) = 0.4301: config 0
    near = small.evaluate({"x": 0.35, "n": 2}, 1, seed=0)
    assert near.info["table_config"] == 0
    assert near.info["table_distance"] == pytest.approx(math.sqrt(2 * 0.25 ** 2))
    assert near.val_loss == 0.9
    # (0.5, n=4 -> 0.875): to 0: sqrt(0.16 + 0.5625) = 0.85, to 1: sqrt(0.04 + 0.0625)
    assert small.evaluate({"x": 0.5, "n": 4}, 1, seed=0).info["table_config"] == 1


def test_replicate_picked_by_trial_seed(small):
    # configuration 0 has 2 replicates: seed % 2; configuration 1 has one
    assert small.evaluate({"x": 0.1, "n": 1}, 3, seed=4).val_loss == 0.5
    assert small.evaluate({"x": 0.1, "n": 1}, 3, seed=7).val_loss == 0.6
    assert small.evaluate({"x": 0.7, "n": 3}, 3, seed=7).val_loss == 0.4


def test_resume_costs_the_runtime_between_the_two_resources(small):
    cfg = {"x": 0.1, "n": 1}
    fresh = small.evaluate(cfg, 9, seed=1)
    assert fresh.resource_spent == 9 and fresh.info["runtime"] == 1.5 + 2.5 + 4.5
    resumed = small.evaluate(cfg, 9, seed=1, resume_from={"resource": 1.0})
    assert resumed.resource_spent == 8 and resumed.info["runtime"] == 2.5 + 4.5
    assert resumed.val_loss == fresh.val_loss == 0.3


def test_a_failed_recording_replays_as_failed(small):
    ev = small.evaluate({"x": 0.7, "n": 3}, 9, seed=0)
    assert ev.status == "failed" and "recorded as failed" in ev.error
    assert ev.info["runtime"] == 3.0


def test_off_grid_resource_is_a_config_error_naming_the_grid(small, tmp_path):
    with pytest.raises(ConfigError, match=r"resource 2 is not on the table's grid \[1.0, 3.0, 9.0\]"):
        small.evaluate({"x": 0.1, "n": 1}, 2, seed=0)
    path = _write(_frame(), tmp_path / "t.parquet")
    cfg = compose_cfg(["benchmark=table", f"benchmark.path={path}", "method=hyperband",
                       "method.eta=2", "budget=3"])
    b, opt, ex = build(cfg)
    run_dir = tmp_path / "run"
    with pytest.raises(ConfigError, match=r"resource\(s\) \[1.125, 2.25, 4.5\] that are not "
                                          r"on the table's grid \[1.0, 3.0, 9.0\]"):
        run(b, opt, budget=3, seed=0, method_name="hyperband", run_dir=run_dir, executor=ex)
    assert not run_dir.exists()  # before any work, before any file


def test_sidecar_metadata_and_max_resource_cut(tmp_path):
    path = _write(_frame(), tmp_path / "side.parquet", sidecar=True)
    b = TableBenchmark(path=str(path), max_resource=3)
    assert b.max_resource == 3 and b.grid.tolist() == [1.0, 3.0]
    with pytest.raises(ConfigError, match="benchmark.max_resource"):
        TableBenchmark(path=str(path), max_resource=5)


def test_a_table_is_read_once_per_process_until_its_file_changes(tmp_path):
    """A sweep of many runs on one table validates it once; a rewritten file (or
    sidecar) is read anew, never served stale."""
    path = _write(_frame(), tmp_path / "c.parquet")
    first = TableBenchmark(path=str(path)).table
    assert TableBenchmark(path=str(path)).table is first
    assert not first.val.flags.writeable  # shared between runs: read-only
    changed = _frame()
    changed.loc[0, "val_loss"] = 0.123
    _write(changed, path)  # same path, same size
    again = TableBenchmark(path=str(path)).table
    assert again is not first and again.val[0, 0, 0] == 0.123 and first.val[0, 0, 0] == 0.9
    side = _write(_frame(), tmp_path / "s.parquet", sidecar=True)
    a = TableBenchmark(path=str(side)).table
    side.with_suffix(".json").write_text(json.dumps(
        {"space": SPACE.to_list(), "resource_unit": "minibatch"}))
    assert TableBenchmark(path=str(side)).resource_unit == "minibatch" and a.meta[
        "resource_unit"] == "epoch"


def test_pandas_alone_reads_a_written_table(small, tmp_path):
    out = small.table.write(tmp_path / "w.parquet")
    df = pd.read_parquet(out)
    assert list(df.columns) == ["config.x", "config.n", "replicate", "resource", "val_loss",
                                "test_loss", "runtime"]
    assert len(df) == 9 and df["runtime"].sum() == pytest.approx(7 + 8.5 + 3)
    meta = json.loads(pq.read_schema(out).metadata[b"hpobench.table"])
    assert meta["space"][1] == {"name": "n", "type": "int", "low": 1, "high": 4, "log": False}
    assert meta["grid"] == [1.0, 3.0, 9.0] and meta["max_resource"] == 9
    again = TableBenchmark(path=str(out))
    assert np.array_equal(again.table.val, small.table.val, equal_nan=True)


# -- malformed tables: a ConfigError that names what is wrong ---------------------------
def _broken(kind: str) -> tuple[pd.DataFrame, dict]:
    df, meta = _frame(), {"space": SPACE.to_list()}
    if kind == "missing column":
        df = df.drop(columns=["runtime"])
    elif kind == "NaN resource":
        df.loc[4, "resource"] = float("nan")
    elif kind == "unsorted":
        df.iloc[[0, 1]] = df.iloc[[1, 0]].to_numpy()
    elif kind == "duplicate":
        df.loc[1, "resource"] = 1
    elif kind == "missing resource":
        df = df.drop(index=[2])
    elif kind == "grid metadata unsorted":
        meta["grid"] = [3, 1, 9]
    elif kind == "grid metadata duplicate":
        meta["grid"] = [1, 3, 3, 9]
    elif kind == "outside the space":
        df.loc[0:2, "config.n"] = 7
    elif kind == "negative runtime":
        df.loc[3, "runtime"] = -1.0
    elif kind == "no space":
        meta = {}
    return df, meta


@pytest.mark.parametrize("kind,message", [
    ("missing column", r"missing column 'runtime'"),
    ("NaN resource", r"row 4 has resource nan"),
    ("unsorted", r"not sorted by resource \(row 1: 1 after 3\)"),
    ("duplicate", r"duplicate row 1: configuration 0 .* at resource 1"),
    ("missing resource", r"lacks resource\(s\) \[9.0\]"),
    ("grid metadata unsorted", r"grid \[3, 1, 9\] must be strictly increasing"),
    ("grid metadata duplicate", r"grid \[1, 3, 3, 9\] must be strictly increasing"),
    ("outside the space", r"row 0 has configuration \{'x': 0.1, 'n': 7\}, which is not in"),
    ("negative runtime", r"row 3 has runtime -1.0"),
    ("no space", r"metadata has no 'space'"),
])
def test_malformed_table_is_a_config_error(tmp_path, kind, message):
    df, meta = _broken(kind)
    path = _write(df, tmp_path / "bad.parquet", meta=meta)
    with pytest.raises(ConfigError, match=message):
        TableBenchmark(path=str(path))


def test_bad_paths_are_config_errors(tmp_path):
    (tmp_path / "x.pkl").write_bytes(b"\x80\x04N.")
    (tmp_path / "junk.parquet").write_bytes(b"not parquet")
    for path, message in [("nope", "not a shipped table"),
                          (str(tmp_path / "x.pkl"), "a table is a .parquet file"),
                          (str(tmp_path / "missing.parquet"), "no such file"),
                          (str(tmp_path / "junk.parquet"), "not a readable Parquet file"),
                          (None, "must be a table name")]:
        with pytest.raises(ConfigError, match=message):
            TableBenchmark(path=path)


# -- recorded through the run loop; the envelope replays exactly -----------------------
def _record(run_dir: Path, configs: int, R: int = 27, seed: int = 0):
    cfg = compose_cfg(["method=record", f"method.configs={configs}", f"budget={configs}",
                       f"benchmark.max_resource={R}", f"seed={seed}", "method.chunk=32"])
    from hpobench.experiment import run_from_config

    return run_from_config(cfg, run_dir=run_dir)


@pytest.fixture(scope="module")
def envelope_table(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("rec")
    res = _record(d / "run", configs=40)
    assert res.status == "finished" and len(res.rows) == 40 * 4
    table, cost = table_from_runs([d / "run"], seconds_per_unit=1.0)
    assert cost["trials"] == 40 and cost["resource"] == 40 * 27
    return table.write(d / "envelope27.parquet")


def test_envelope_table_replays_the_live_benchmark_exactly(envelope_table):
    live = EnvelopeBenchmark(max_resource=27)
    b = TableBenchmark(path=str(envelope_table))
    t = b.table
    assert len(t.configs) == 40 and b.grid.tolist() == [1.0, 3.0, 9.0, 27.0]
    for i, cfg in enumerate(t.configs):
        seed = int(t.seeds[i, 0])
        prev = None
        for r in (1, 3, 9, 27):
            want = live.evaluate(cfg, r, seed)
            got = b.evaluate(cfg, r, seed=123, resume_from=prev)
            assert (got.val_loss, got.test_loss) == (want.val_loss, want.test_loss)
            assert got.info["table_config"] == i and got.info["table_distance"] == 0.0
            assert got.info["runtime"] == (r - (prev["resource"] if prev else 0))
            prev = got.checkpoint
    # and through a run: every row is the live benchmark's value at the configuration
    # and seed the table recorded
    hb = run(b, build(compose_cfg(["benchmark.max_resource=27", "method=hyperband"]))[1],
             budget=4, seed=5, method_name="hyperband")
    assert len(hb.rows) > 40
    for row in hb.rows:
        i = row["info.table_config"]
        want = live.evaluate(t.configs[i], row["resource"], int(t.seeds[i, 0]))
        assert (row["val_loss"], row["test_loss"]) == (want.val_loss, want.test_loss)


@pytest.mark.parametrize("method", method_params())  # peer methods skip when not installed
def test_every_method_runs_on_a_table_unchanged(envelope_table, method):
    cfg = compose_cfg(["benchmark=table", f"benchmark.path={envelope_table}",
                       f"method={method}", "budget=4", "seed=1"])
    b, opt, ex = build(cfg)
    res = run(b, opt, budget=4, seed=1, method_name=method, executor=ex)
    assert res.rows and res.total_resource <= 4 * 27 * res.rows[0]["budget_scale"] + 1e-9
    t = b.table
    assert t.n_replicates.max() == 1
    for row in res.rows:  # each row is the table's value at the nearest configuration
        i, g = row["info.table_config"], b.grid.tolist().index(row["resource"])
        assert row["val_loss"] == t.val[i, 0, g] and row["status"] == "ok"


# -- a killed recorder resumes and writes the same table -------------------------------
def _sweep(results: Path, fault: str = "") -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("HPOBENCH_FAULT", "HPOBENCH_RESULTS")}
    if fault:
        env["HPOBENCH_FAULT"] = fault
    return subprocess.run([sys.executable, "-m", "runners.sweep", "method=record",
                           "method.configs=12", "budget=12", "benchmark.max_resource=27",
                           "method.chunk=4", "executor.batch=false", f"results_dir={results}"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def _to_table(results: Path, out: Path) -> pd.DataFrame:
    [run_dir] = list(results.glob("envelope/record/*/seed=0"))
    p = subprocess.run([sys.executable, "-m", "runners.record", str(run_dir), "-o", str(out),
                        "--seconds-per-unit", "1"], cwd=ROOT, capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stderr
    assert "12 configurations x 1 replicate(s)" in p.stdout
    return pd.read_parquet(out)


def test_killed_recorder_resumes_and_writes_the_same_table(tmp_path):
    whole = _sweep(tmp_path / "a")
    assert whole.returncode == 0, whole.stderr
    killed = _sweep(tmp_path / "b", fault="evaluate:23")
    assert killed.returncode != 0  # SIGKILL in the middle of the second chunk
    resumed = _sweep(tmp_path / "b")
    assert resumed.returncode == 0 and "resuming" in resumed.stderr, resumed.stderr
    a = _to_table(tmp_path / "a", tmp_path / "a.parquet")
    b = _to_table(tmp_path / "b", tmp_path / "b.parquet")
    assert len(a) == 12 * 4
    pd.testing.assert_frame_equal(a, b)


def test_record_refuses_runs_of_other_methods(tmp_path):
    cfg = compose_cfg(["method=random", "budget=2"])
    from hpobench.experiment import run_from_config

    run_from_config(cfg, run_dir=tmp_path / "r")
    with pytest.raises(ConfigError, match="not recorded with method=record"):
        table_from_runs([tmp_path / "r"])


# -- the shipped envelope table ----------------------------------------------------------
def test_shipped_envelope_table_is_the_live_benchmark_at_its_grid():
    b = TableBenchmark(path="envelope")
    t = b.table
    assert len(t.configs) == 1024 and b.max_resource == 81
    assert b.grid.tolist() == [1.0, 3.0, 9.0, 27.0, 81.0]
    # recorded before settings() named failure_rate, sleep_per_unit and the space (all at
    # their defaults there): every setting it recorded is the live benchmark's
    recorded, now = dict(t.meta["benchmark_settings"]), EnvelopeBenchmark().settings()
    if "space" in recorded:  # the space is compared as a space, whichever form recorded it
        assert SearchSpace.from_dict(recorded.pop("space")).to_dict() == now["space"]
    assert {k: now[k] for k in recorded} == recorded
    assert (now["failure_rate"], now["sleep_per_unit"]) == (0.0, 0.0)
    assert "runners.record" in t.meta["recorded_with"]["command"]
    live = EnvelopeBenchmark()
    for i, cfg in enumerate(t.configs):
        for g, r in enumerate((1, 3, 9, 27, 81)):
            ev = live.evaluate(cfg, r, int(t.seeds[i, 0]))
            assert (t.val[i, 0, g], t.test[i, 0, g]) == (ev.val_loss, ev.test_loss)
    # a run through the shipped table: each row is the live benchmark's row at the
    # recorded configuration and its recorded seed
    opt = build(compose_cfg(["benchmark=table", "benchmark.path=envelope",
                             "method=hyperband"]))[1]
    for row in run(b, opt, budget=2, seed=0, method_name="hyperband").rows:
        i = row["info.table_config"]
        ev = live.evaluate(t.configs[i], row["resource"], int(t.seeds[i, 0]))
        assert (row["val_loss"], row["test_loss"]) == (ev.val_loss, ev.test_loss)
    assert (Path(__file__).parents[1] / "hpobench/benchmarks/recorded/envelope.parquet"
            ).stat().st_size < 1_000_000


@pytest.mark.slow
def test_shipped_lenet_tiny_table_is_real_training_replayed():
    """Retrain two recorded configurations (real LeNet, tiny preset) at the recorded
    seeds: the table holds exactly what training gives, checkpoint resume included."""
    from hpobench.experiment import instantiate

    t = TableBenchmark(path="lenet_mnist_tiny").table
    live = instantiate("benchmark", t.meta["benchmark_config"])
    for i in (0, 3):
        seed, prev = int(t.seeds[i, 0]), None
        for g, r in enumerate((1, 3)):
            ev = live.evaluate(t.configs[i], r, seed, resume_from=prev)
            assert (ev.val_loss, ev.test_loss) == (t.val[i, 0, g], t.test[i, 0, g])
            prev = ev.checkpoint


def test_runtime_is_the_measured_column_of_each_job(tmp_path):
    res = _record(tmp_path / "run", configs=3, R=9)
    table, _ = table_from_runs([tmp_path / "run"])  # default: wall_time
    by = {(r["trial_id"], r["resource"]): r["wall_time"] for r in res.rows}
    for i in range(3):  # trials 0..2 are configurations 0..2 (one replicate each)
        assert t_list(table.runtime[i, 0]) == [by[(i, r)] for r in (1.0, 3.0, 9.0)]
    with pytest.raises(ConfigError, match="runtime_from: 'info.nope' is not a column"):
        table_from_runs([tmp_path / "run"], runtime_from="info.nope")


def t_list(a) -> list:
    return [float(v) for v in a]
