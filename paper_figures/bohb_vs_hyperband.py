"""BOHB against Hyperband on the structured and the i.i.d. envelope benchmarks: incumbent
test error vs total resource (mean ± s.e. over seeds), one column per terminal-loss mode;
below each, the paired difference BOHB − Hyperband over resource (mean ± s.e. of the
per-seed differences: the two curves overlap, so the difference is what can be read), and
in each title that difference where the runs end with its Wilcoxon p.

Reads the runs of ``python -m runners.bohb_vs_hyperband`` (both methods, contexts that set
``benchmark.terminal``); runs that differ in other settings (a ``benchmark.width=0.1``
variant, another budget) get a figure of their own.  Writes
``bohb_vs_hyperband_<settings>.{png,pdf}``.

    python -m runners.bohb_vs_hyperband --results /tmp/bvh --seeds 40 --budget 50
    python -m paper_figures.bohb_vs_hyperband --results /tmp/bvh --out /tmp/bvh_figs
"""
from __future__ import annotations

import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from hpobench import aggregate as ag
from hpobench.plotting.curves import band_note, draw_groups
from hpobench.plotting.guard import band
from hpobench.plotting.styles import style
from hpobench.stats import paired_test
from paper_figures._common import XLABEL, Outcome, Results, cli, save, slug, ylabel

NAME = "bohb_vs_hyperband"
METHODS = ("bohb", "hyperband")
TERMINALS = ("structured", "iid")
COMMAND = "python -m runners.bohb_vs_hyperband --results DIR --seeds 40 --budget 50"


def _rest(context: str) -> str:
    """The label of a run's other overrides (terminal and R are named apart)."""
    return ",".join(i for i in ag.split_variant(context) if i.partition("=")[0].lstrip("+~")
                    not in ("benchmark.terminal", "benchmark.max_resource"))


def final_difference(curves: pd.DataFrame) -> dict:
    """Paired BOHB − Hyperband test error of the incumbent where each run ends."""
    last = (curves.sort_values("x", kind="stable").groupby(["method", "seed"], sort=True)
            .tail(1).rename(columns={"incumbent_test": "test_loss"}))
    return paired_test(last, "bohb", "hyperband")


def paired_curve(curves: pd.DataFrame, points: int = 200) -> pd.DataFrame:
    """BOHB − Hyperband incumbent test error per seed on a common log grid of resource
    (where both runs of a seed have an incumbent): columns ``x``, ``mean``, ``se``, ``n``."""
    per = {}
    for (method, seed), run in curves.groupby(["method", "seed"], sort=True):
        run = run.sort_values("x", kind="stable")
        per[(method, seed)] = run[run["incumbent_test"].notna()]
    seeds = sorted({s for m, s in per if m == "bohb"} & {s for m, s in per if m == "hyperband"})
    if not seeds:
        return pd.DataFrame(columns=["x", "mean", "se", "n"])
    lo = max(float(per[(m, s)]["x"].iloc[0]) for m in METHODS for s in seeds)
    hi = min(float(per[(m, s)]["x"].iloc[-1]) for m in METHODS for s in seeds)
    grid = ag.make_grid(lo, hi, points)
    d = np.vstack([ag.step_values(per[("bohb", s)]["x"], per[("bohb", s)]["incumbent_test"], grid)
                   - ag.step_values(per[("hyperband", s)]["x"],
                                    per[("hyperband", s)]["incumbent_test"], grid)
                   for s in seeds])
    se = d.std(axis=0, ddof=1) / np.sqrt(len(seeds)) if len(seeds) > 1 else np.nan * grid
    return pd.DataFrame({"x": grid, "mean": d.mean(axis=0), "se": se, "n": len(seeds)})


def _draw_difference(ax, diff: pd.DataFrame) -> None:
    x, m, se = diff["x"].to_numpy(), diff["mean"].to_numpy(), diff["se"].to_numpy()
    color = style("bohb").color
    n = int(diff["n"].iloc[0])
    if n >= 2:
        band(ax, x, m - se, m + se, n, "BOHB − Hyperband", step="post", color=color,
             alpha=0.25, linewidth=0)
    ax.step(x, m, where="post", color=color, linewidth=1.6,
            label=f"BOHB − Hyperband, paired over {n} seeds" + (" (± s.e.)" if n >= 2 else ""))
    ax.axhline(0.0, color="black", linewidth=0.8)
    ax.set_xscale("log")
    ax.grid(True, which="major", alpha=0.3)
    ax.set_ylabel("test error difference\n(< 0: BOHB better)")
    ax.legend(fontsize=8, loc="lower left")


def make(res: Results, out: Path) -> Outcome:
    c = res.curves
    c = c[c["method"].isin(METHODS) & (c["method_variant"] == "")] if not c.empty else c
    if c.empty:
        return Outcome.nothing("BOHB vs Hyperband", "no bohb or hyperband runs", COMMAND)
    # the mode from the resolved settings; runs that do not override it are not this sweep
    swept = c["context"].map(lambda ctx: "benchmark.terminal" in {
        i.partition("=")[0].lstrip("+~") for i in ag.split_variant(ctx)})
    c = c[swept & c.get("benchmark.terminal", pd.Series(index=c.index)).isin(TERMINALS)]
    c = c.assign(terminal=c.get("benchmark.terminal"), rest=c["context"].map(_rest),
                 rest_key=ag.context_digest(c, ("terminal",)))
    if c.empty:
        return Outcome.nothing("BOHB vs Hyperband", "no bohb/hyperband runs that set "
                               "benchmark.terminal", COMMAND)
    outcome = Outcome()
    diagrams = ["sweep", "benchmark", "rest", "max_resource"]
    shared = c.groupby(diagrams)["rest_key"].nunique()
    for (sweep, bench, rest, R, rest_key), part in c.groupby([*diagrams, "rest_key"]):
        if shared[(sweep, bench, rest, R)] > 1:  # one label, several settings: kept apart
            rest = ",".join(p for p in (rest, f"settings {rest_key[:6]}") if p)
        modes = [m for m in TERMINALS if m in set(part["terminal"])]
        fig, axes = plt.subplots(2, len(modes), figsize=(5.2 * len(modes), 6.2), squeeze=False,
                                 sharex="col", gridspec_kw={"height_ratios": [2.2, 1]})
        for col, mode in enumerate(modes):
            ax = axes[0, col]
            sub = part[part["terminal"] == mode]
            agg = res.aggregate(sub.drop(columns=["terminal", "rest", "rest_key"]))
            draw_groups(ax, agg, logx=True)
            head = f"terminal={mode}"
            if set(sub["method"]) == set(METHODS):
                p = final_difference(sub)
                head += (f"\nBOHB − Hyperband at the end: {p['mean_diff']:+.4f} ± {p['se']:.4f}"
                         f" (n={p['n']}, Wilcoxon p={p['p_value']:.2g})")
            ax.set_title(head, fontsize=9)
            ax.set_ylabel(ylabel(res.stat))
            ax.legend(fontsize=8, title=band_note(agg, res.stat), title_fontsize=7)
            diff = paired_curve(sub)
            if not diff.empty:
                _draw_difference(axes[1, col], diff)
            axes[1, col].set_xlabel(XLABEL)
        fig.suptitle(f"BOHB vs Hyperband: {bench} (R={R}" + (f", {rest}" if rest else "") + ")",
                     fontsize=10)
        fig.tight_layout()
        name = f"{NAME}_" + slug("_".join(p for p in (sweep, bench, f"R{R}", rest) if p)
                                 .replace("=", "").replace(",", "_"))
        outcome.written += save(fig, out, name)
        if len(modes) < len(TERMINALS) or set(part["method"]) != set(METHODS):
            outcome.missing.append(ag_missing(bench, R, rest))
    return outcome


def ag_missing(bench: str, R, rest: str):
    from paper_figures._common import MissingRuns

    return MissingRuns(f"BOHB vs Hyperband ({bench}, R={R}, {rest})",
                       "drawn without both methods on both terminal modes", [COMMAND])


if __name__ == "__main__":
    sys.exit(cli(NAME, make))
