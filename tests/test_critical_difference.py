"""The critical-difference diagram across tasks: the matrix handed to autorank by hand,
on a results folder of real (tiny) table runs, and the skips (no autorank, too few tasks)."""
from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

from hpobench import crosstask
from hpobench.experiment import run_from_config
from paper_figures import critical_difference as cd
from paper_figures._common import Results
from tests.conftest import compose_cfg
from tests.test_tables import _write

#: test loss at resource 1 of each task's only configuration; at R = 9 it is 0.2
T1 = {"t0": 0.3, "t1": 0.5, "t2": 0.25, "t3": 0.9, "t4": 0.6}


def _task(t1: float) -> pd.DataFrame:
    """One configuration, grid 1, 3, 9: validation loss 0.05 at resource 1 (the smallest it
    ever has), 0.9 at 3, 0.5 at 9; test loss t1 at 1, 0.2 at 9."""
    return pd.DataFrame({"config.x": 0.5, "config.n": 2, "resource": [1, 3, 9],
                         "val_loss": [0.05, 0.9, 0.5], "test_loss": [t1, 0.5, 0.2],
                         "runtime": [1.0, 2.0, 6.0]})


def _results(root, tasks=T1, methods=("asha", "hyperband", "random"), seeds=(0, 1)):
    for name, t1 in tasks.items():
        (root / "tables").mkdir(parents=True, exist_ok=True)
        path = _write(_task(t1), root / "tables" / f"{name}.parquet")
        for method in methods:
            for seed in seeds:
                cfg = compose_cfg(["+experiment=table_tasks", f"benchmark.path={path}",
                                   f"benchmark.name={name}", f"method={method}",
                                   f"seed={seed}", "budget=3"])
                run_from_config(cfg, run_dir=root / "runs" / name / method / f"seed={seed}")
    return Results(root / "runs")


@pytest.fixture(scope="module")
def five(tmp_path_factory):
    return _results(tmp_path_factory.mktemp("cd"))


def _by_hand() -> pd.DataFrame:
    # Each table has one configuration and one replicate, so best = worst = 0.2 at R and
    # the regret is loss - 0.2 (no scale).  Hyperband's first rung (resource 1) sees
    # validation loss 0.05, the smallest there is: its incumbent's test loss stays t1.
    # ASHA's bottom rung is resource 1 too.  Random search evaluates at R only:
    # validation 0.5, test 0.2, regret 0.  Both seeds give the same, so the mean over seeds
    # is that value.
    return pd.DataFrame({"asha": [T1[t] - 0.2 for t in sorted(T1)],
                         "hyperband": [T1[t] - 0.2 for t in sorted(T1)],
                         "random": [0.0] * len(T1)}, index=sorted(T1))


def test_final_regret_averages_seeds_and_normalizes_by_hand():
    # task a (best 0.2, worst 0.6): m's seeds end at 0.3 and 0.5 -> regrets 0.25, 0.75
    # (mean 0.5); n at 0.6 -> 1.  Task b (best 1, worst 5): n at 4 -> 0.75; m not run.
    # x = 2: a run's step curve holds its value from its point on (a2: 0.7 from 0.5, 0.5 from 2).
    c = pd.DataFrame({"task": ["a", "a", "a", "a", "b"], "method": ["m", "m", "m", "n", "n"],
                      "run_dir": ["a1", "a2", "a2", "a3", "b1"],
                      "x": [2.0, 0.5, 2.0, 2.0, 2.0],
                      "incumbent_test": [0.3, 0.7, 0.5, 0.6, 4.0]})
    got = crosstask.final_regret(c, {"a": (0.2, 0.6), "b": (1.0, 5.0)}, 2.0)
    assert list(got.index) == ["a", "b"] and list(got.columns) == ["m", "n"]
    assert got.loc["a", "m"] == pytest.approx(0.5)
    assert got.loc["a", "n"] == pytest.approx(1.0)
    assert got.loc["b", "n"] == pytest.approx(0.75)
    assert np.isnan(got.loc["b", "m"])
    # at x = 0.75 run a1 has no incumbent yet: no mean over a subset of the seeds
    assert np.isnan(crosstask.final_regret(c, {"a": (0.2, 0.6), "b": (1.0, 5.0)}, 0.75).loc["a", "m"])


def test_a_finished_run_holds_its_final_incumbent_only_when_asked():
    # run a1 ends at x = 1 with 0.5; a2 runs to x = 3 (0.7 from 1): on the grid 1, 2, 3
    c = pd.DataFrame({"task": "a", "method": "m", "run_dir": ["a1", "a2"], "x": [1.0, 1.0],
                      "incumbent_test": [0.5, 0.7]})
    c = pd.concat([c, c.iloc[[1]].assign(x=3.0)], ignore_index=True)
    held = crosstask.summarise(c, {"a": (0.0, 1.0)}, [1.0, 2.0, 3.0], hold=True)
    assert held["x"].tolist() == [1.0, 2.0, 3.0] and held["regret"].tolist() == pytest.approx([0.6] * 3)
    strict = crosstask.summarise(c, {"a": (0.0, 1.0)}, [1.0, 2.0, 3.0])
    assert strict["x"].tolist() == [1.0]  # past x = 1 not every run has a value


def test_regret_matrix_of_a_results_folder_by_hand(five):
    matrix, seeds = cd.regret_matrix(five)
    pd.testing.assert_frame_equal(matrix, _by_hand(), check_names=False,
                                  check_index_type=False, atol=1e-12, rtol=0)
    assert seeds == (2, 2)


def test_autorank_gets_that_matrix_and_the_diagram_is_saved(five, tmp_path, monkeypatch):
    autorank = pytest.importorskip("autorank")
    seen = []
    real = autorank.autorank

    def spy(data, **kw):
        seen.append((data.copy(), kw))
        return real(data, **kw)

    monkeypatch.setattr(autorank, "autorank", spy)
    out = cd.make(five, tmp_path)
    assert [p.name for p in out.written] == ["critical_difference.png", "critical_difference.pdf"]
    expected = _by_hand().rename(columns={"asha": "ASHA", "hyperband": "Hyperband",
                                          "random": "random search"})
    assert len(seen) == 2  # autorank's own choice, then Friedman + Nemenyi
    for data, kw in seen:
        pd.testing.assert_frame_equal(data, expected.astype(float), check_names=False,
                                      check_index_type=False, atol=1e-12, rtol=0)
        assert kw["order"] == "ascending"  # smaller regret is better
    assert seen[1][1]["force_mode"] == "nonparametric"


def test_skipped_with_one_line_reason_without_autorank(five, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "autorank", None)  # import autorank -> ImportError
    out = cd.make(five, tmp_path)
    assert not out.written and not list(tmp_path.iterdir())
    (m,) = out.missing
    assert "autorank" in m.need and "\n" not in m.need
    assert m.commands == ['pip install -c constraints.txt -e ".[stats]"']


def test_fewer_than_five_tasks_are_named_not_drawn(tmp_path):
    res = _results(tmp_path, tasks={k: T1[k] for k in ("t0", "t1", "t2")}, seeds=(0,))
    out = cd.make(res, tmp_path / "figs")
    assert not out.written
    assert "at least 5 tasks" in out.missing[0].need and "have 3" in out.missing[0].need
    assert any("lcdb_tasks" in c for c in out.missing[0].commands)
