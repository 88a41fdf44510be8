"""Statistics across tasks (tables): normalized regret and average rank.

What the field reports when one method is run on many recorded tasks (HPOBench, YAHPO,
syne-tune's benchmarking): per task the incumbent's test loss is put on a common scale,

    normalized regret = (loss - best) / (worst - best),

``best`` and ``worst`` the smallest and largest finite test loss at R over the task's
recorded configurations (0: the best the table holds; 1: its worst), and methods are
ranked per task (rank 1 = the smallest mean loss over seeds; ties share the average
rank), ranks then averaged over tasks.  Both as functions of an x axis every task shares:
total resource in multiples of R, or simulated time in units of the task's mean time to
train one configuration to R (what a random-search job costs on average: with a budget of
B R on N workers random search ends near B / N units on every task; a median would ignore
the few slow learners that take most of an LCDB task's time).  A point is used only where every run of every task has a
value (no averaging over a subset).  :func:`final_regret` is the tasks x methods matrix a
critical-difference diagram ranks (``paper_figures/critical_difference.py``, with the
optional package ``autorank``): each task one block, each cell the mean over the task's
runs (seeds) of the normalized regret at the end of the budget.

>>> import pandas as pd
>>> c = pd.DataFrame({"task": ["a"] * 4 + ["b"] * 4, "method": ["m", "m", "n", "n"] * 2,
...                   "run_dir": ["a1", "a1", "a2", "a2", "b1", "b1", "b2", "b2"],
...                   "x": [1.0, 2.0] * 4, "incumbent_test": [0.5, 0.3, 0.4, 0.4,
...                                                            2.0, 1.0, 3.0, 3.0]})
>>> out = summarise(c, {"a": (0.2, 0.6), "b": (1.0, 5.0)}, grid=[1.0, 2.0])
>>> out[out.method == "m"][["x", "regret", "rank"]].round(6).values.tolist()
[[1.0, 0.5, 1.5], [2.0, 0.125, 1.0]]
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from hpobench.aggregate import step_values


def bounds(table) -> tuple[float, float]:
    """(best, worst) finite test loss at R over a table's configurations and replicates."""
    at_r = table.test[:, :, -1]
    ok = at_r[np.isfinite(at_r)]
    return float(ok.min()), float(ok.max())


def time_unit(table) -> float:
    """The task's mean seconds to train one configuration to R (replicate 0)."""
    return float(np.mean(table.runtime[:, 0, :].sum(axis=1)))


def _mean_loss(curves: pd.DataFrame, grid: np.ndarray,
               hold: bool = False) -> tuple[list, list, np.ndarray]:
    """(tasks, methods, loss): ``loss[t, m, g]`` is the mean over the runs of task ``t`` and
    method ``m`` of the incumbent's test loss at ``grid[g]`` (NaN where a run has none, or
    the pair has no runs).  ``hold``: a run that has ended keeps its final incumbent."""
    means: dict[tuple, np.ndarray] = {}  # (task, method) -> mean loss per grid point

    def values(r):
        x = r["x"].to_numpy()
        return step_values(x, r["incumbent_test"].to_numpy(),
                           np.minimum(grid, x[-1]) if hold else grid)

    for (task, method), g in curves.groupby(["task", "method"], sort=True):
        m = np.vstack([values(r) for _, r in g.groupby("run_dir")])
        means[(task, method)] = m.mean(axis=0)  # NaN where a run has no value
    tasks = sorted({t for t, _ in means})
    methods = sorted({m for _, m in means})
    loss = np.array([[means.get((t, m), np.full(len(grid), np.nan)) for m in methods]
                     for t in tasks])  # (tasks, methods, grid)
    return tasks, methods, loss


def _normalize(loss: np.ndarray, tasks: list, task_bounds: dict) -> np.ndarray:
    best = np.array([task_bounds[t][0] for t in tasks])[:, None, None]
    worst = np.array([task_bounds[t][1] for t in tasks])[:, None, None]
    return (loss - best) / np.where(worst > best, worst - best, 1.0)


def final_regret(curves: pd.DataFrame, task_bounds: dict, x: float) -> pd.DataFrame:
    """Tasks x methods: the normalized regret at ``x`` (the end of the budget), per task
    the mean over its runs (seeds), one row per task, one column per method, both sorted.

    What a critical-difference diagram ranks: the task is the block (as in Demšar 2006,
    data sets are the blocks), the seeds of a task are averaged, not counted as blocks of
    their own (they are repeated measurements of one task, not independent tasks).  NaN
    where a run of the pair has no incumbent by ``x`` or the pair has no runs.

    >>> c = pd.DataFrame({"task": ["a", "a", "a", "b"], "method": ["m", "m", "n", "n"],
    ...                   "run_dir": ["a1", "a2", "a3", "b1"], "x": [2.0] * 4,
    ...                   "incumbent_test": [0.3, 0.5, 0.6, 4.0]})
    >>> final_regret(c, {"a": (0.2, 0.6), "b": (1.0, 5.0)}, 2.0).round(6)
         m     n
    a  0.5  1.00
    b  NaN  0.75
    """
    tasks, methods, loss = _mean_loss(curves, np.array([float(x)]))
    regret = _normalize(loss, tasks, task_bounds)[:, :, 0]
    return pd.DataFrame(regret, index=pd.Index(tasks), columns=pd.Index(methods))


def end_of_budget(curves: pd.DataFrame) -> float:
    """The largest ``x`` every run reaches (the smallest of the runs' last ``x``)."""
    return float(curves.groupby("run_dir")["x"].max().min())


def summarise(curves: pd.DataFrame, task_bounds: dict, grid: Sequence[float],
              hold: bool = False) -> pd.DataFrame:
    """Per method and grid point: mean normalized regret over tasks (each task: the mean
    over its runs), its standard error over tasks, and the average rank over tasks.

    ``curves``: incumbent curves with ``task``, ``method``, ``run_dir``, ``x`` and
    ``incumbent_test`` (rows of a run in increasing ``x``); ``task_bounds``: task ->
    (best, worst).  Grid points where some run has no value are left out; with ``hold`` a
    run that has ended keeps its final incumbent (for simulated time, where runs of the same
    budget end at different times: the one done sooner is done).
    """
    grid = np.asarray(grid, float)
    tasks, methods, loss = _mean_loss(curves, grid, hold)
    keep = ~np.isnan(loss).any(axis=(0, 1))
    loss, grid = loss[:, :, keep], grid[keep]
    if not len(grid):  # no point where every run has a value
        return pd.DataFrame(columns=["method", "x", "regret", "regret_sem", "rank", "n_tasks"])
    regret = _normalize(loss, tasks, task_bounds)
    ranks = np.apply_along_axis(lambda v: pd.Series(v).rank(method="average").to_numpy(), 1, loss)
    n = len(tasks)
    rows = []
    for j, method in enumerate(methods):
        sem = regret[:, j].std(axis=0, ddof=1) / np.sqrt(n) if n > 1 else np.full(len(grid), np.nan)
        rows.append(pd.DataFrame({"method": method, "x": grid, "regret": regret[:, j].mean(axis=0),
                                  "regret_sem": sem, "rank": ranks[:, j].mean(axis=0),
                                  "n_tasks": n}))
    return pd.concat(rows, ignore_index=True)
