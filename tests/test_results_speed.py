"""The fast run recorder writes what the pandas-based one wrote (issue #7).

* journal lines: one shared JSON encoder, byte-identical to ``json.dumps(row, default=...)``;
* ``Recorder.append_many``: one write for a batch; the crash-test hook still tears a line;
* ``rows_to_table``: the Arrow table ``pa.Table.from_pandas(rows_to_frame(rows))`` gives,
  built column by column, so ``pd.read_parquet`` reads back the same frame.
"""
from __future__ import annotations

import io
import json
import math
import os
import random
import signal
import subprocess
import sys

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hpobench import results as res
from hpobench import tables
from hpobench.benchmarks.envelope import EnvelopeBenchmark
from hpobench.optimizers import Hyperband, RandomSearch
from hpobench.run import run
from hpobench.seeding import optimizer_rng

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def old_line(row: dict) -> bytes:
    """The journal line as the recorder wrote it before issue #7."""
    return (json.dumps(row, default=res.json_default, allow_nan=True) + "\n").encode()


def parquet_bytes(table) -> bytes:
    buf = pa.BufferOutputStream()
    pq.write_table(table, buf)
    return buf.getvalue().to_pybytes()


def assert_same_table(rows: list[dict]) -> None:
    """The fast table equals the pandas one: schema, pandas metadata, values, file bytes,
    and the frame ``pd.read_parquet`` gives (dtypes included)."""
    fast, ref = tables.rows_to_table(rows), tables._frame_table(rows)
    assert fast.schema.equals(ref.schema, check_metadata=True), (fast.schema, ref.schema)
    assert fast.equals(ref, check_metadata=True)
    fast_file, ref_file = parquet_bytes(fast), parquet_bytes(ref)
    assert fast_file == ref_file
    pd.testing.assert_frame_equal(pd.read_parquet(io.BytesIO(fast_file)),
                                  pd.read_parquet(io.BytesIO(ref_file)))


def pandas_can_write(rows: list[dict]) -> bool:
    """Whether the pandas path writes ``rows``; where it cannot, neither does the fast one."""
    try:
        tables._frame_table(rows)
    except (TypeError, ValueError, OverflowError, pa.ArrowException) as e:
        with pytest.raises(type(e)):
            tables.rows_to_table(rows)
        return False
    return True


# -- rows from real runs ------------------------------------------------------------------
@pytest.fixture(scope="module")
def hyperband_rows() -> list[dict]:
    b = EnvelopeBenchmark()
    rows = run(b, Hyperband(b.space, 81, optimizer_rng(0)), budget=1581 / 81, seed=0,
               method_name="hyperband").rows
    assert len(rows) == 206 and all(r["bracket"] is not None for r in rows)
    return rows


@pytest.fixture(scope="module")
def random_rows() -> list[dict]:
    b = EnvelopeBenchmark(failure_rate=0.3)
    rows = run(b, RandomSearch(b.space, 81, optimizer_rng(1)), budget=10, seed=1,
               method_name="random").rows
    assert all(r[c] is None for r in rows for c in ("iteration", "bracket", "rung"))
    assert any(r["error"] for r in rows) and any(r["error"] is None for r in rows)
    assert any(math.isnan(r["val_loss"]) for r in rows)
    return rows


def with_info(rows: list[dict]) -> list[dict]:
    """Extra ``info.*`` columns, some in every row, some in a few only."""
    out = []
    for i, r in enumerate(rows):
        r = dict(r, **{"info.batch_size_used": 32 + i % 3, "info.train_loss": 1.0 / (i + 1)})
        if i % 5 == 0:
            r["info.note"] = f"row {i} \u00e9\u4e2d"
        if i % 7 == 3:
            r["info.rare_int"] = i
        out.append(r)
    return out


def failed(rows: list[dict]) -> list[dict]:
    return [dict(r, val_loss=float("nan"), test_loss=float("nan"), status="failed",
                 error=f"ValueError: boom {i}") if i % 4 == 1 else r
            for i, r in enumerate(rows)]


def test_hyperband_rows(hyperband_rows):
    assert_same_table(hyperband_rows)
    assert_same_table(failed(with_info(hyperband_rows)))


def test_random_search_rows_with_failures(random_rows):
    assert_same_table(random_rows)
    assert_same_table(with_info(random_rows))


def test_mixed_runs_and_columns_only_some_rows_have(hyperband_rows, random_rows):
    assert_same_table(hyperband_rows[:50] + random_rows[:50])
    assert_same_table(with_info(random_rows)[:10] + hyperband_rows[:10])
    assert_same_table([hyperband_rows[0], {"method": "x", "val_loss": None}])


def test_rows_read_back_from_parquet_and_resumed(tmp_path, hyperband_rows, random_rows):
    """``load_existing`` reads rows back from the table (a str column then holds NaN)."""
    rows = failed(with_info(random_rows))
    rec = res.Recorder(tmp_path)
    rec.rows = rows
    rec.compact()
    back = res.Recorder(tmp_path).load_existing()
    assert any(isinstance(r["error"], float) for r in back)  # NaN where there was None
    assert_same_table(back)
    assert_same_table(back + hyperband_rows[:20])


@pytest.mark.parametrize("column", [
    [1, 2, 3], [1, None, 3], [None, None, None], [1.5, None, 2], [float("nan")] * 3,
    [float("inf"), -0.0, 2], ["a", None, "\u00fc"], ["a", float("nan"), None], ["", "b", "c"],
    [True, False, True], [2**62, -5, 0],
    # left to pandas: numpy scalars, bool with None, mixed kinds, containers, huge ints
    [np.float64(1.5), 2.0, None], [np.int64(3), 1, 2], [True, None, False], [1, "a", 2],
    [[1, 2], None, [3]], [2**64, 1, 2], [2**60 + 1, None, 1], [True, 1, 2.5],
])
@pytest.mark.parametrize("name", ["x", "iteration", "val_loss", "error"])
def test_one_column_of_each_kind(name, column):
    rows = [{"method": "m", name: v} for v in column]
    if name == "iteration" and any(isinstance(v, float) and v % 1 for v in column):
        pytest.skip("pandas itself refuses to make nullable ints of these")
    if not pandas_can_write(rows):
        pytest.skip("the pandas path cannot write these either")
    assert_same_table(rows)
    assert_same_table(rows[:1] + [{"method": "m"}] + rows[1:])  # and where a row lacks it


def test_random_row_sets():
    """Columns drawn from every kind, present or absent row by row, in random order."""
    pools = [[1, 7, -3], [0.5, float("nan"), 2, float("inf")], ["a", "b\u00e9", ""],
             [None], [True, False], [1, None], ["x", None], [0.25, None]]
    rng = random.Random(7)
    for _ in range(200):
        cols = {f"c{j}": rng.choice(pools) for j in range(rng.randint(1, 6))}
        names = [*rng.sample(["iteration", "bracket", "resource", "error"], 2), *cols]
        cols |= {"iteration": [1, None, 4], "bracket": [0, 2], "resource": [1, 3.0, None],
                 "error": [None, "boom"]}
        p_absent = rng.choice([0.0, 0.2])
        rows = [{n: rng.choice(cols[n]) for n in rng.sample(names, len(names))
                 if rng.random() >= p_absent} or {"method": "m"}
                for _ in range(rng.randint(1, 12))]
        if pandas_can_write(rows):
            assert_same_table(rows)


def test_empty_and_in_memory_frames():
    assert_same_table([])
    assert list(tables.rows_to_frame([]).columns) == list(res.COLUMNS)


# -- journal lines ------------------------------------------------------------------------
def test_journal_lines_are_byte_identical():
    rows = [
        {"a": float("nan"), "b": float("inf"), "c": -float("inf"), "d": None, "e": -0.0},
        {"f": np.float64(0.1), "g": np.int64(7), "h": np.float32(0.5), "i": np.bool_(True),
         "j": np.array([2.5]), "k": np.float64("nan"), "m": np.float64("-inf")},
        {"s": "caf\u00e9 \u4e2d\u6587 \U0001F600 \"quoted\" \\ \n\t", "u": "\u2028",
         "l": [1, None, "x"], "o": {"nested": float("nan")}, "t": True, "z": 10**30},
        {"obj": object.__name__, "path": res.Path("/tmp/x")},
    ]
    for r in rows:
        assert res._line(r) == old_line(r)


def test_journal_lines_of_real_rows(hyperband_rows, random_rows):
    for r in hyperband_rows + failed(with_info(random_rows)):
        assert res._line(r) == old_line(r)


# -- Recorder -----------------------------------------------------------------------------
class CountingFile:
    def __init__(self, fh):
        self.fh, self.writes, self.flushes = fh, 0, 0

    def write(self, data):
        self.writes += 1
        return self.fh.write(data)

    def flush(self):
        self.flushes += 1
        self.fh.flush()

    def close(self):
        self.fh.close()


def test_append_many_is_one_write_and_compacts(tmp_path, hyperband_rows):
    rec = res.Recorder(tmp_path, compact_every=100)
    rec.open([])
    rec._fh = fh = CountingFile(rec._fh)
    rec.append_many(hyperband_rows[:60])
    assert (fh.writes, fh.flushes) == (1, 1)
    assert not (tmp_path / res.TABLE).exists()
    rec.append(hyperband_rows[60])
    assert (fh.writes, fh.flushes) == (2, 2)
    rec.append_many(hyperband_rows[61:120])  # passes compact_every: compacted after it
    assert rec._since_compact == 0
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / res.TABLE),
                                  tables.rows_to_frame(hyperband_rows[:120]))
    rec.append_many([])
    rec.close()
    data = (tmp_path / res.JOURNAL).read_bytes()
    assert data == b"".join(old_line(r) for r in hyperband_rows[:120])
    assert res.read_journal(tmp_path / res.JOURNAL) == json.loads(
        json.dumps(hyperband_rows[:120]))
    assert rec.rows == hyperband_rows[:120]


def test_compact_writes_the_pandas_file(tmp_path, hyperband_rows, random_rows):
    rows = failed(with_info(hyperband_rows)) + random_rows
    rec = res.Recorder(tmp_path)
    rec.rows = rows
    rec.compact()
    assert (tmp_path / res.TABLE).read_bytes() == parquet_bytes(tables._frame_table(rows))
    back = pd.read_parquet(tmp_path / res.TABLE)
    pd.testing.assert_frame_equal(back, tables.rows_to_frame(rows))
    assert str(back["iteration"].dtype) == "Int64" and back["val_loss"].dtype == float


def test_memory_only_recorder_keeps_rows(hyperband_rows):
    rec = res.Recorder(None, compact_every=1)
    rec.append_many(hyperband_rows[:3])
    rec.append(hyperband_rows[3])
    rec.compact()
    assert rec.rows == hyperband_rows[:4]


TORN = """
import json, sys
from hpobench import results as res
from hpobench import tables
rec = res.Recorder(sys.argv[1])
rec.open([])
rows = [{**dict.fromkeys(res.ROW_KEYS, 0), "i": i, "s": "x" * 40} for i in range(10)]
rec.append_many(rows[:4])
rec.append(rows[4])
rec.append_many(rows[5:])
"""


@pytest.mark.parametrize("n", [1, 3, 5, 7, 10])
def test_crash_hook_tears_the_nth_row_of_a_batch(tmp_path, n):
    """``HPOBENCH_FAULT=append:n`` kills while the n-th row is half written: the rows
    before it (in earlier batches or earlier in its own) are recovered, it is not."""
    env = {**os.environ, "HPOBENCH_FAULT": f"append:{n}",
           "PYTHONPATH": os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")])}
    p = subprocess.run([sys.executable, "-c", TORN, str(tmp_path)], env=env,
                       capture_output=True, text=True)
    assert p.returncode == -signal.SIGKILL, p.stderr
    data = (tmp_path / res.JOURNAL).read_bytes()
    assert not data.endswith(b"\n")  # a torn last line
    assert [r["i"] for r in res.read_journal(tmp_path / res.JOURNAL)] == list(range(n - 1))
