"""The conversion example of hpobench/docs/tables.md runs as written, and its table
replays (what a user with a converted LCBench frame does)."""
from __future__ import annotations

import re

from hpobench.benchmarks.table import TableBenchmark
from hpobench.optimizers import Hyperband
from hpobench.run import run
from hpobench.seeding import optimizer_rng
from tests.conftest import ROOT


def test_doc_conversion_example_runs_and_replays(tmp_path, monkeypatch):
    doc = (ROOT / "hpobench" / "docs" / "tables.md").read_text()
    code = re.search(r"```python\n(.*?)```", doc, re.S).group(1)
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "tables.md", "exec"), {})
    b = TableBenchmark(path="lcbench_like.parquet", max_resource=27)
    assert b.resource_unit == "epoch" and len(b.table.configs) == 8
    assert b.grid.tolist() == [float(e) for e in range(1, 28)]
    res = run(b, Hyperband(b.space, 27, optimizer_rng(0)), budget=3, seed=0,
              method_name="hyperband")
    assert res.rows and all(r["status"] == "ok" for r in res.rows)
    # epoch 3 after epoch 1 costs the data's seconds of epochs 2 and 3: 0.7 * (2 + 3)
    ev = b.evaluate(b.table.configs[0], 3, seed=0, resume_from={"resource": 1.0})
    assert abs(ev.info["runtime"] - 0.7 * (2 + 3)) < 1e-9
