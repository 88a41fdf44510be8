"""Across tasks: a critical-difference diagram of the methods' final normalized regret,
drawn by the maintained package ``autorank`` (an optional extra: ``pip install -e
".[stats]"``), not by hand.

The matrix handed to autorank is :func:`hpobench.crosstask.final_regret`: one row per
task (a table the runs replayed: the block, as data sets are in Demšar 2006), one column
per method, each cell the normalized regret at the end of the budget averaged over the
task's seeds.  Seeds are not rows of their own: they are repeated measurements of one
task, and counting them as blocks would multiply the test's apparent power by the seed
count.  Only methods run on every task are ranked (the others are named on stderr).

The test is Friedman's with the Nemenyi post-hoc test (``force_mode="nonparametric"``),
which is what a critical-difference diagram draws; autorank's own choice (it picks
repeated-measures ANOVA with Tukey's HSD when Shapiro-Wilk accepts normality of every
column, which a handful of tasks can hardly reject) is computed too and printed.  The
diagram is drawn even when Friedman's p is above alpha (the title says so: then no
difference is significant).  autorank needs at least 5 tasks.

    python -m runners.sweep -m +experiment=table_tasks
    python -m runners.sweep -m +experiment=lcdb_tasks
    python -m runners.sweep -m +experiment=lcdb_tasks_full
    python -m paper_figures.critical_difference --results results
"""
from __future__ import annotations

import contextlib
import io
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from hpobench import crosstask
from hpobench.plotting.styles import style
from paper_figures._common import SWEEPS, Outcome, Results, cli, save
from paper_figures.cross_task import task_curves

NAME = "critical_difference"
#: autorank refuses fewer rows ("requires at least five performance estimations")
MIN_TASKS = 5
ALPHA = 0.05
INSTALL = 'pip install -c constraints.txt -e ".[stats]"'


def regret_matrix(res: Results):
    """(matrix, seeds): the tasks x methods final normalized regret handed to autorank
    (methods run on every task only), and the (min, max) number of seeds per cell; None
    when fewer than two tasks have runs."""
    found = task_curves(res)
    if found is None:
        return None
    curves, _, bounds = found
    m = crosstask.final_regret(curves, bounds, crosstask.end_of_budget(curves))
    partial = [c for c in m.columns if m[c].isna().any()]
    if partial:
        print(f"note: critical difference: left out {', '.join(partial)}: not run (or no "
              "incumbent by the end of the budget) on every task", file=sys.stderr)
    m = m.drop(columns=partial)
    seeds = curves[curves["method"].isin(m.columns)].groupby(["task", "method"])["run_dir"].nunique()
    return m, (int(seeds.min()), int(seeds.max())) if len(seeds) else (0, 0)


def make(res: Results, out: Path) -> Outcome:
    sweeps = (SWEEPS["table_tasks"], SWEEPS["lcdb_tasks"], SWEEPS["lcdb_tasks_full"])
    found = regret_matrix(res)
    if found is None or found[0].shape[1] < 3:  # Friedman's test compares 3 or more
        return Outcome.nothing("critical difference", "runs of at least three methods on at "
                               f"least {MIN_TASKS} tables (benchmark=table)", *sweeps)
    matrix, (s_lo, s_hi) = found
    if len(matrix) < MIN_TASKS:
        return Outcome.nothing("critical difference", f"at least {MIN_TASKS} tasks (autorank's "
                               f"minimum); have {len(matrix)}", *sweeps)
    try:
        from autorank import autorank, plot_stats
    except ImportError:
        return Outcome.nothing("critical difference", "the optional package autorank "
                               "(not installed)", INSTALL)
    data = matrix.rename(columns=lambda m: style(m).label)
    with contextlib.redirect_stdout(io.StringIO()):  # autorank prints its test choice
        auto = autorank(data, alpha=ALPHA, order="ascending")
        result = autorank(data, alpha=ALPHA, order="ascending", force_mode="nonparametric")
    fig, ax = plt.subplots(figsize=(7, 2.2 + 0.25 * data.shape[1]))
    plot_stats(result, allow_insignificant=True, ax=ax)
    verdict = ("differences joined by a bar are not significant" if result.pvalue < ALPHA
               else "no difference is significant")
    seeds = f"{s_lo}" if s_lo == s_hi else f"{s_lo}-{s_hi}"
    ax.set_title(f"Critical difference of the final normalized regret (rank 1 = best), "
                 f"Friedman + Nemenyi, alpha = {ALPHA}\nn = {len(data)} tasks (blocks), each the "
                 f"mean over {seeds} seeds; Friedman p = {result.pvalue:.3g}, CD = "
                 f"{result.cd:.2f}: {verdict}", fontsize=8)
    ranks = result.rankdf["meanrank"].round(2).to_dict()
    print(f"critical difference: {len(data)} tasks x {data.shape[1]} methods, {seeds} seeds "
          f"per cell; Friedman p = {result.pvalue:.3g}, Nemenyi CD = {result.cd:.2f}; mean "
          f"ranks {ranks}; autorank's own choice: {auto.omnibus} + {auto.posthoc} "
          f"(p = {auto.pvalue:.3g}, all normal: {auto.all_normal})")
    return Outcome(written=save(fig, out, NAME))


if __name__ == "__main__":
    sys.exit(cli(NAME, make))
