"""Part 9: the paper's Figure 3 sweep replayed from a table, with hpobench's sweeper
against Hydra's basic sweeper on the same jobs.

The figure is six lines (each Table 1 bracket alone, and Hyperband) x ``seeds`` trials,
two Hydra multiruns (``+experiment=table_brackets`` and ``table_brackets_hyperband``).
A run replays a table in a few milliseconds, so the sweep's cost is Hydra's: the basic
sweeper composes every job's config twice, hpobench's (the default,
hpobench/composition.py) once per structure.  Both write the same rows
(tests/test_composition.py); this part times them in turn, in fresh processes.
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarking.common import Line
from hpobench.benchmarks.table import SHIPPED_DIR

ROOT = Path(__file__).resolve().parents[1]  # the checkout: runners.sweep runs from it
PRESETS = ("table_brackets", "table_brackets_hyperband")


def _table() -> list[str]:
    """The presets' own table (the LeNet CPU table) when it is shipped, else the
    envelope table (same grid 1..81, same schedule)."""
    if (SHIPPED_DIR / "lenet_mnist_cpu.parquet").is_file():
        return []
    return ["benchmark.path=envelope", "benchmark.name=table_envelope"]


def _figure(seeds: int, extra: list[str]) -> tuple[float, int]:
    """Wall seconds of the whole figure's two multiruns, and the number of runs made."""
    with tempfile.TemporaryDirectory(prefix="hpobench-fig3-") as d:
        t = time.perf_counter()
        for preset in PRESETS:
            cmd = [sys.executable, "-m", "runners.sweep", "-m", f"+experiment={preset}",
                   f"seed=range(0,{seeds})", f"results_dir={d}", "progress=false",
                   *_table(), *extra]
            proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
            if proc.returncode != 0:
                raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-2000:]}")
        wall = time.perf_counter() - t
        return wall, sum(1 for _ in Path(d).rglob("run.json"))


def figure3_sweep(seeds: int = 70, repeats: int = 1, parallel: bool = True) -> list[Line]:
    """Time the figure with each sweeper (``repeats`` rounds, in turn, best of each), and
    with hpobench's sweeper on the joblib launcher's 2 workers when ``parallel``."""
    ours, basic, joblib = [], [], []
    runs = 0
    for _ in range(repeats):
        w, runs = _figure(seeds, [])
        ours.append(w)
        basic.append(_figure(seeds, ["hydra/sweeper=basic"])[0])
        if parallel:
            joblib.append(_figure(seeds, ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"])[0])
    table = "the LeNet CPU table" if not _table() else "the envelope table"
    note = (f"{runs} runs ({seeds} trials x 6 lines) on {table}, 50 R each; best of "
            f"{repeats}, each figure in fresh processes")
    lines = [Line("figure3_sweep_vs_basic_sweeper", min(ours), min(basic), "s",
                  "ratio < 1", min(ours) < min(basic), note)]
    best = min(joblib) if joblib else min(ours)
    how = "joblib launcher, 2 workers" if joblib else "default launcher"
    goal = seeds >= 70
    lines.append(Line("figure3_sweep_wall", best, min(basic), "s",
                      "< 60 s at 70 trials" if goal else "-",
                      (best < 60) if goal else None,
                      f"hpobench's sweeper, {how}; baseline: Hydra's basic sweeper, "
                      f"default launcher; {note}"))
    return lines
