"""Across tasks: normalized regret and average rank by hand, and the figure from table runs."""
from __future__ import annotations

import pandas as pd
import pytest

from hpobench import crosstask
from hpobench.benchmarks.table import TableBenchmark
from hpobench.experiment import run_from_config
from paper_figures._common import Results
from paper_figures.cross_task import make
from tests.conftest import compose_cfg
from tests.test_tables import _frame, _write


def test_bounds_and_time_unit_by_hand(tmp_path):
    t = TableBenchmark(path=str(_write(_frame(), tmp_path / "s.parquet"))).table
    # test loss at R = 9: configuration 0 replicates 0.2 + 0.01 and 0.3 + 0.01; 1 failed
    assert crosstask.bounds(t) == pytest.approx((0.21, 0.31))
    # seconds to R, replicate 0: configuration 0: 1 + 2 + 4 = 7, configuration 1: 3
    assert crosstask.time_unit(t) == 5.0
    # the mean, not the median: a third configuration taking 20 s moves it to 10 (median 7)
    three = pd.concat([_frame(), _frame().iloc[:3].assign(**{"config.x": 0.4,
                                                            "runtime": [5.0, 5.0, 10.0]})])
    t3 = TableBenchmark(path=str(_write(three, tmp_path / "three.parquet"))).table
    assert crosstask.time_unit(t3) == 10.0


def test_regret_and_ranks_by_hand():
    # task a (best 0, worst 1): m 0.2, n 0.2 (a tie: both rank 1.5), o 0.6
    # task b (best 1, worst 3): m 2.0, n 1.5, o 3.0 -> ranks 2, 1, 3
    rows = []
    for task, losses in (("a", {"m": 0.2, "n": 0.2, "o": 0.6}), ("b", {"m": 2.0, "n": 1.5, "o": 3.0})):
        for method, v in losses.items():
            for seed in (0, 1):
                rows.append({"task": task, "method": method, "run_dir": f"{task}{method}{seed}",
                             "x": 1.0, "incumbent_test": v})
    out = crosstask.summarise(pd.DataFrame(rows), {"a": (0.0, 1.0), "b": (1.0, 3.0)}, [1.0])
    got = out.set_index("method")
    # regret m: (0.2 + 0.5) / 2; n: (0.2 + 0.25) / 2; o: (0.6 + 1.0) / 2
    assert got.loc["m", "regret"] == pytest.approx(0.35)
    assert got.loc["n", "regret"] == pytest.approx(0.225)
    assert got.loc["o", "regret"] == pytest.approx(0.8)
    assert got["rank"].to_dict() == {"m": (1.5 + 2) / 2, "n": (1.5 + 1) / 2, "o": 3.0}
    assert set(got["n_tasks"]) == {2}


def test_cross_task_figure_from_table_runs(tmp_path):
    for path in ("envelope", "envelope_iid1"):
        for method in ("hyperband", "random"):
            for seed in (0, 1):
                cfg = compose_cfg(["+experiment=table_tasks", f"benchmark.path={path}",
                                   f"method={method}", f"seed={seed}", "budget=3"])
                run_from_config(cfg, run_dir=tmp_path / f"table_{path}_w4" / method /
                                f"seed={seed}")
    out = make(Results(tmp_path), tmp_path / "figs")
    assert [p.name for p in out.written] == ["cross_task.png", "cross_task.pdf"]
    one = make(Results(tmp_path / f"table_envelope_w4"), tmp_path / "figs1")
    assert not one.written and "table_tasks" in one.missing[0].commands[0]
