"""LCDB learning curves as tables: the converter by hand on an LCDB-shaped frame, its
command line's one-line errors, and the shipped LCDB tables replayed."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hpobench.benchmarks import lcdb_tables
from hpobench.benchmarks.table import TableBenchmark
from hpobench.errors import ConfigError
from hpobench.experiment import run_from_config
from tests.conftest import compose_cfg

SHIPPED = ("lcdb_optdigits", "lcdb_christine", "lcdb_jm1", "lcdb_wind")


def _lcdb_frame() -> pd.DataFrame:
    """LCDB's columns: learners sklearn.x.A and B, anchors 16, 23, 32, 48, 64, outer splits
    0, 1 (and 2), inner splits 0 (and 1); B lacks outer split 1 at 64."""
    rows = []
    for learner in ("sklearn.x.A", "B"):
        for outer in (0, 1, 2):
            for inner in (0, 1):
                for size in (16, 23, 32, 48, 64):
                    if learner == "B" and outer == 1 and size == 64:
                        continue
                    rows.append({"openmlid": 7, "learner": learner, "size_train": size,
                                 "size_test": 100, "outer_seed": outer, "inner_seed": inner,
                                 "traintime": size / 100 + (0.3 if size == 16 else 0.0) + outer,
                                 "score_train": 1.0, "score_valid": size / 100 + outer / 10,
                                 "score_test": size / 200 + (learner == "B") / 10})
    rows.append({**rows[0], "openmlid": 8})  # another data set
    return pd.DataFrame(rows)


def test_converter_by_hand():
    t = lcdb_tables.convert(_lcdb_frame(), 7, replicates=2)
    # the short names, sorted; one categorical parameter
    assert [c["learner"] for c in t.configs] == ["A", "B"]
    assert list(t.space.to_list()[0]["choices"]) == ["A", "B"]
    # 23 and 48 are not 16 x 2^j; 64 is cut: B lacks outer split 1 there -> grid 16, 32
    assert t.grid.tolist() == [1.0, 2.0]
    assert t.n_replicates.tolist() == [2, 2]
    assert t.seeds.tolist() == [[0, 1], [0, 1]]  # the outer split
    # 1 - accuracy: validation score size/100 + outer/10; test size/200 (+0.1 for B)
    np.testing.assert_allclose(t.val[0], [[0.84, 0.68], [0.74, 0.58]], rtol=0, atol=1e-12)
    np.testing.assert_allclose(t.test[:, 0], [[0.92, 0.84], [0.82, 0.74]], rtol=0, atol=1e-12)
    # fit times (outer 0): 0.16 + 0.3 at 16, 0.32 at 32 (below): running maximum steps
    # 0.46 and 0; outer 1: 1.46, 1.32 -> 1.46, 0
    np.testing.assert_allclose(t.runtime[0], [[0.46, 0.0], [1.46, 0.0]], rtol=0, atol=1e-12)
    assert t.meta["resource_unit"] == "16 training examples"


def test_converter_options_by_hand():
    f = _lcdb_frame()
    t = lcdb_tables.convert(f, 7, replicates=1, learners=["B"], metric="logloss", unit=32)
    # unit 32: anchors 32, 64 (= 1, 2 units); one replicate: B has outer split 0 at 64
    assert [c["learner"] for c in t.configs] == ["B"] and t.grid.tolist() == [1.0, 2.0]
    assert t.val[0, 0].tolist() == pytest.approx([0.32, 0.64])  # log loss: the score itself
    t = lcdb_tables.convert(f, 7, replicates=2, max_size=16)
    assert t.grid.tolist() == [1.0]
    with pytest.raises(ConfigError, match=r"--learners: \['C'\] not in LCDB for 7; allowed: A, B"):
        lcdb_tables.convert(f, 7, learners=["C"])
    with pytest.raises(ConfigError, match="no LCDB rows for openmlid 9"):
        lcdb_tables.convert(f, 9)


def test_command_line_errors_are_one_line_and_write_nothing(tmp_path, capsys, monkeypatch):
    csv = tmp_path / "database-accuracy.csv"
    _lcdb_frame().to_csv(csv, index=False)
    out = tmp_path / "t.parquet"
    for argv, message in (
        (["--csv", str(csv), "-o", str(tmp_path / "t.csv")], "a table is a .parquet file"),
        (["--csv", str(tmp_path / "nope.csv"), "-o", str(out)], "no such file"),
        (["--csv", str(csv), "-o", str(out), "--replicates", "6"], "--replicates: 6; allowed: 1 to 5"),
        (["--csv", str(csv), "-o", str(out), "--metric", "mse"], "--metric: 'mse'; allowed"),
    ):
        assert lcdb_tables.main(["--dataset", "7", *argv]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    assert lcdb_tables.main(["--dataset", "7", "-o", str(out)]) == 2
    assert "lcdb: not installed" in capsys.readouterr().err
    assert not out.exists()
    monkeypatch.undo()
    assert lcdb_tables.main(["--dataset", "7", "--csv", str(csv), "-o", str(out),
                             "--replicates", "2"]) == 0
    assert TableBenchmark(path=str(out)).table.grid.tolist() == [1.0, 2.0]


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_lcdb_tables(name, tmp_path):
    path = Path(lcdb_tables.__file__).parent / "recorded" / f"{name}.parquet"
    assert path.stat().st_size < 1_000_000
    t = TableBenchmark(path=name).table
    assert len(t.configs) == 20 and t.n_replicates.tolist() == [5] * 20
    assert t.grid.tolist() == [2.0 ** k for k in range(9)]  # 16 .. 4096 examples
    assert np.isfinite(t.val).all() and np.isfinite(t.test).all() and (t.runtime >= 0).all()
    # Hyperband at eta = 2 asks for recorded resources only; every answer is exact
    cfg = compose_cfg(["+experiment=lcdb_tasks", f"benchmark.path={name}", "method=hyperband",
                       "method.eta=2", "budget=2"])
    run_from_config(cfg, run_dir=tmp_path / "run")
    rows = pd.read_parquet(tmp_path / "run" / "evaluations.parquet")
    assert len(rows) > 20 and (rows["info.table_distance"] == 0).all()


@pytest.mark.skipif(importlib.util.find_spec("lcdb") is None, reason="lcdb is not installed "
                    "(pip install -c constraints.txt -e '.[lcdb]')")
def test_shipped_lcdb_table_is_the_converted_package_data(tmp_path):
    out = tmp_path / "optdigits.parquet"
    assert lcdb_tables.main(["--dataset", "980", "--max-size", "4096", "-o", str(out)]) == 0
    assert TableBenchmark(path=str(out)).table.columns() == \
        TableBenchmark(path="lcdb_optdigits").table.columns()
