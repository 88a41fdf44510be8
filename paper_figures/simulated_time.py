"""Methods against simulated wall-clock time with 1, 4, 16 workers, from a table.

Runs with ``executor=simulated`` carry ``info.sim_time`` (each job's finish on the
virtual clock, hpobench/docs/tables.md).  Per run, the rows are put in order of simulated
completion and the incumbent (smallest validation loss so far, any resource) is followed
over simulated time; per worker count (one panel each) and method, the mean ± s.e. of its
test loss over seeds, drawn where every seed has an incumbent and has not ended (n in
the legend).  Every method gets the same budget of total resource, so a method that
keeps its workers busy spends it in less simulated time.

    python -m runners.sweep -m +experiment=table_simulated
    python -m paper_figures.simulated_time --results results
"""
from __future__ import annotations

import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from hpobench import aggregate as ag
from hpobench.plotting.curves import band_note, draw_groups
from paper_figures._common import SWEEPS, Outcome, Results, cli, save, slug

NAME = "simulated_time"
COMMAND = SWEEPS["table_simulated"]
SIM = "info.sim_time"


def time_curves(res: Results) -> pd.DataFrame:
    """Incumbent curves with ``x`` = simulated time, one per simulated run, and
    ``workers`` (from run.json) and ``table`` (the benchmark without the worker suffix)."""
    df = res.df
    if df.empty or SIM not in df.columns:
        return pd.DataFrame()
    df = df[df[SIM].notna()]
    parts = []
    for keys, run in df.groupby(list(ag.RUN_KEYS) + ["run_dir"], sort=True, dropna=False):
        run = run.sort_values([SIM, "row"], kind="stable").assign(row=np.arange(len(run)))
        c = ag.incumbent_curve(run, res.incumbent)
        c["x"] = run[SIM].to_numpy(float)
        for k, v in zip(list(ag.RUN_KEYS) + ["run_dir"], keys):
            c[k] = v
        meta = res.run_json(keys[-1])
        c["workers"] = int(meta.get("workers", 1))
        parts.append(c)
    if not parts:
        return pd.DataFrame()
    out = pd.concat(parts, ignore_index=True)
    # the worker count is part of the benchmark's name in the sweep: one table per figure
    out["table"] = out["benchmark"].str.replace(r"_w\d+$", "", regex=True)
    return out


def make(res: Results, out: Path) -> Outcome:
    curves = time_curves(res)
    if curves.empty:
        return Outcome.nothing("simulated time", "no runs with executor=simulated "
                               "(rows with info.sim_time)", COMMAND)
    outcome = Outcome()
    for table, tc in curves.groupby("table"):
        workers = sorted(tc["workers"].unique())
        fig, axes = plt.subplots(1, len(workers), figsize=(4.2 * len(workers), 3.8),
                                 sharey=True, squeeze=False)
        aggs = []
        for ax, w in zip(axes[0], workers):
            sub = tc[tc["workers"] == w].drop(columns=["workers", "table"])
            agg = res.aggregate(sub, grid="log")
            aggs.append(agg)
            draw_groups(ax, agg)
            ax.set_title(f"{w} worker{'s' if w > 1 else ''}", fontsize=10)
            ax.set_xlabel("simulated wall-clock time (s)")
            ax.legend(fontsize=7)
        axes[0][0].set_ylabel(f"{'mean' if res.stat == 'mean' else 'median'} test loss "
                              "of the incumbent")
        budget = res.run_json(tc["run_dir"].iloc[0]).get("budget")
        fig.suptitle(f"{table}: methods against simulated time ({band_note(pd.concat(aggs), res.stat)}; "
                     f"every run gets {budget} x R of resource)", fontsize=10)
        outcome.written += save(fig, out, f"{NAME}_{slug(table)}")
    return outcome


if __name__ == "__main__":
    sys.exit(cli(NAME, make))
