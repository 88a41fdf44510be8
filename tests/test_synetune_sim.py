"""The table handed to syne-tune's simulator (``runners.bench`` part 10,
``benchmarking/synetune_sim.py``) holds our table's values, and syne-tune's simulator
replays them.  Expected values are read from the Parquet files with pandas or computed by
hand, never by the converter.  Skipped, with the reason, without syne-tune's simulator
(the optional peers extra; see hpobench/docs/performance.md for what it needs)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from benchmarking import synetune_sim
from hpobench.benchmarks.table import TableBenchmark, resolve_path
from tests.test_tables import _frame, _write

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"),
              pytest.mark.filterwarnings("ignore::FutureWarning")]

_why = synetune_sim.missing()
needs_synetune = pytest.mark.skipif(_why is not None, reason=_why or "")


@pytest.fixture(scope="module")
def envelope():
    if _why:
        pytest.skip(_why)
    bench = TableBenchmark(path="envelope", name="envelope")
    return bench, synetune_sim.blackbox_from_table(bench.table, "envelope")


@pytest.fixture(scope="module")
def recorded() -> pd.DataFrame:
    """The shipped envelope table as pandas reads the file (one block of 5 rows per
    configuration, in table order)."""
    return pd.read_parquet(resolve_path("envelope"))


@needs_synetune
@pytest.mark.parametrize("i", [1, 700])
def test_blackbox_holds_the_recorded_rows(envelope, recorded, i):
    _, bb = envelope
    rows = recorded.iloc[5 * i:5 * i + 5]
    assert rows["resource"].tolist() == [1.0, 3.0, 9.0, 27.0, 81.0]
    got = bb.objective_function({"table_config": i, "table": "envelope"}, seed=0)
    assert got.shape == (5, 3)
    assert got[:, 0].tolist() == rows["val_loss"].tolist()
    assert got[:, 1].tolist() == rows["test_loss"].tolist()
    # 1 simulated second per unit: 1, 2, 6, 18, 54 s per step, cumulative since the start
    assert got[:, 2].tolist() == [1.0, 3.0, 9.0, 27.0, 81.0]
    assert list(bb.fidelity_values) == [1, 3, 9, 27, 81]


@needs_synetune
def test_config_1_by_hand(envelope):
    """Configuration 1 of the file, copied from it by hand (pandas prints 0.552747 ...)."""
    _, bb = envelope
    got = bb.objective_function({"table_config": 1, "table": "envelope"},
                                fidelity={"resource": 27}, seed=0)
    assert got["val_loss"] == pytest.approx(0.206087, abs=1e-6)
    assert got["test_loss"] == pytest.approx(0.192647, abs=1e-6)
    assert got["elapsed_time"] == 27.0


@needs_synetune
def test_replicates_become_syne_tunes_seeds(tmp_path):
    df = _frame()
    df = df[df["config.x"] == 0.1]  # (0.1, 1): replicates 0 and 1, no failure
    bench = TableBenchmark(path=str(_write(df, tmp_path / "two.parquet")))
    bb = synetune_sim.blackbox_from_table(bench.table, "two")
    rep1 = bb.objective_function({"table_config": 0, "table": "two"}, seed=1)
    assert rep1[:, 0].tolist() == [0.8, 0.6, 0.3]
    assert rep1[:, 2].tolist() == [1.5, 4.0, 8.5]  # 1.5, 1.5 + 2.5, 4.0 + 4.5


@needs_synetune
@pytest.mark.parametrize("change, message", [
    (lambda df: df, "same number of replicates"),
    (lambda df: df[df["replicate"] == 0], "NaN"),
    (lambda df: df[df["replicate"] == 0].assign(
        resource=lambda d: d["resource"].replace(1, 1.5), val_loss=0.5), "whole-number"),
])
def test_tables_syne_tune_cannot_hold_are_refused(tmp_path, change, message):
    bench = TableBenchmark(path=str(_write(change(_frame()), tmp_path / "t.parquet")))
    with pytest.raises(ValueError, match=message):
        synetune_sim.blackbox_from_table(bench.table)


@needs_synetune
def test_syne_tunes_simulator_replays_the_table_on_one_worker(envelope, recorded, tmp_path):
    """Every result syne-tune's ASHA saw is the file's row; with one worker its trials run
    back to back at 1 s per unit, so the simulated end is the resource spent (to within
    one tuner poll of 1 s and the real time its loop adds to the clock)."""
    bench, bb = envelope
    res = synetune_sim.synetune_asha(bb, "envelope", 1, 400.0, 0, 1.0, tmp_path / "st")
    assert res["trial_id"].nunique() >= 10
    val = recorded["val_loss"].to_numpy().reshape(-1, 5)
    grid = [1, 3, 9, 27, 81]
    for cfg, r, v in zip(res["config_table_config"], res["resource"], res["val_loss"]):
        assert v == val[int(cfg), grid.index(int(r))]
    spent = res.groupby("trial_id")["resource"].max().sum()
    end = res["st_tuner_time"].max()
    assert 400 <= end and abs(end - spent) <= 1.5, (end, spent)


def test_part_10_says_why_it_is_not_available(monkeypatch):
    monkeypatch.setattr(synetune_sim, "missing", lambda: "syne-tune is not installed (x)")
    lines = synetune_sim.synetune_sim(repeats=1, budget=1)
    assert [l.name for l in lines] == [*synetune_sim.CASES, *synetune_sim.TRACE]
    assert all(l.note == "not available: syne-tune is not installed (x)" and l.met is None
               for l in lines)
