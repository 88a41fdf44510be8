"""Across tasks: mean normalized regret and average rank of each method over several
recorded tables, against total resource and against simulated time
(:mod:`hpobench.crosstask`).

Reads runs on ``benchmark=table`` (their run.json names the table); each table is a task.
Simulated time is measured in units of each task's mean time to train one
configuration to R, so tasks of different cost share an axis.

    python -m runners.sweep -m +experiment=table_tasks
    python -m paper_figures.cross_task --results results
"""
from __future__ import annotations

import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from hpobench import aggregate as ag
from hpobench import crosstask
from hpobench.benchmarks.table import TableBenchmark
from hpobench.plotting.guard import band
from hpobench.plotting.styles import order_key, style
from paper_figures._common import SWEEPS, Outcome, Results, cli, save
from paper_figures.simulated_time import time_curves

NAME = "cross_task"


def _tables(res: Results, run_dirs) -> dict:
    """run_dir -> its table (None when the run is not on a table)."""
    cache, out = {}, {}
    for d in run_dirs:
        cfg = (res.run_json(d).get("config") or {}).get("benchmark") or {}
        path = cfg.get("path") if str(cfg.get("_target_", "")).endswith("TableBenchmark") else None
        if path is not None and path not in cache:
            cache[path] = TableBenchmark(path=path).table
        out[d] = cache.get(path)
    return out


def task_curves(res: Results):
    """(curves, tables, bounds) of the runs on tables, each table (benchmark) a task:
    incumbent curves against resource with a ``task`` column, run_dir -> table, and task ->
    (best, worst); None when fewer than two tasks have runs."""
    if res.empty:
        return None
    tables = _tables(res, res.df["run_dir"].unique())
    by_res = res.curves[res.curves["run_dir"].map(lambda d: tables.get(d) is not None)].copy()
    if by_res.empty or by_res["benchmark"].nunique() < 2:
        return None
    by_res["task"] = by_res["benchmark"]
    bounds = {b: crosstask.bounds(tables[d]) for b, d in
              by_res.groupby("benchmark")["run_dir"].first().items()}
    return by_res, tables, bounds


def _grid(curves: pd.DataFrame, points: int = 100, hold: bool = False) -> np.ndarray:
    """From where every run has an incumbent to where the first run ends (``hold``: the
    last run ends)."""
    first = curves[curves["incumbent_test"].notna()].groupby("run_dir")["x"].min().max()
    ends = curves.groupby("run_dir")["x"].max()
    last = ends.max() if hold else ends.min()
    return ag.make_grid(first, last, points) if last > first else np.array([first])


def _panel(ax_regret, ax_rank, summary: pd.DataFrame, xlabel: str) -> None:
    for method, g in sorted(summary.groupby("method"), key=lambda kv: order_key(kv[0])):
        st = style(method)
        n = int(g["n_tasks"].iloc[0])
        x = g["x"].to_numpy()
        if n >= 2:  # a band over tasks needs two of them (the guard refuses fewer)
            band(ax_regret, x, g["regret"] - g["regret_sem"], g["regret"] + g["regret_sem"],
                 n, method, step="post", color=st.color, alpha=0.2, linewidth=0)
        ax_regret.step(x, g["regret"], where="post", color=st.color, linestyle=st.linestyle,
                       label=f"{st.label} ({n} tasks)")
        ax_rank.step(x, g["rank"], where="post", color=st.color, linestyle=st.linestyle,
                     label=f"{st.label} ({n} tasks)")
    for ax in (ax_regret, ax_rank):
        ax.set_xscale("log")
        ax.set_xlabel(xlabel)
        ax.grid(True, alpha=0.3)
    ax_regret.set_yscale("log")
    ax_regret.set_ylabel("normalized regret (mean over tasks ± s.e.)")
    ax_rank.set_ylabel("average rank over tasks (1 = best)")
    ax_regret.legend(fontsize=7)


def make(res: Results, out: Path) -> Outcome:
    missing = Outcome.nothing("cross task", "runs on at least two tables (benchmark=table)",
                              SWEEPS["table_tasks"])
    found = task_curves(res)
    if found is None:
        return missing
    by_res, tables, bounds = found
    panels = [(crosstask.summarise(by_res, bounds, _grid(by_res)),
               "total resource (multiples of R)")]
    by_time = time_curves(res)
    if not by_time.empty:
        by_time = by_time[by_time["run_dir"].map(lambda d: tables.get(d) is not None)].copy()
    if not by_time.empty and by_time["benchmark"].nunique() >= 2:
        by_time["task"] = by_time["benchmark"]
        by_time["x"] = by_time["x"] / by_time["run_dir"].map(
            lambda d: crosstask.time_unit(tables[d]))
        # runs of one budget end at different simulated times: one that is done keeps
        # its final incumbent (the resource panel needs no such rule: budgets are equal)
        panels.append((crosstask.summarise(by_time, bounds, _grid(by_time, hold=True), hold=True),
                       "simulated time (task's mean time to train a configuration to R;\n"
                       "a finished run keeps its final incumbent)"))
    for summary, xlabel in panels:
        if summary.empty:
            print(f"note: cross task: no {xlabel.split(' (')[0]} at which every run has an "
                  "incumbent and has not ended; that panel is left out", file=sys.stderr)
    panels = [p for p in panels if not p[0].empty]
    if not panels:
        return missing
    fig, axes = plt.subplots(2, len(panels), figsize=(5.5 * len(panels), 7), squeeze=False)
    for j, (summary, xlabel) in enumerate(panels):
        _panel(axes[0][j], axes[1][j], summary, xlabel)
    tasks = sorted(t.removeprefix("table_").removesuffix("_w4") for t in by_res["task"].unique())
    seeds = by_res.groupby(["task", "method"])["seed"].nunique()
    fig.suptitle(f"Across {len(tasks)} tables ({', '.join(tasks)}); seeds per task and "
                 f"method: {seeds.min()}-{seeds.max()}", fontsize=9)
    fig.tight_layout()
    return Outcome(written=save(fig, out, NAME))


if __name__ == "__main__":
    sys.exit(cli(NAME, make))
