"""Figure 4: grid vs random search with nine trials on a function of low effective
dimension, f(x, y) = g(x) + h(y) ~ g(x) (Bergstra and Bengio 2012; the talk's figure),
drawn from real runs of ``method=grid`` and ``method=random``.

For each method: the trials of one seed in the (x, y) square, g(x) above it and h(y) to
its left (the benchmark's terminal loss along each axis with the other parameters at the
optimum, rebuilt from the run's ``run.json``), each trial projected onto them, and the
mean +- s.e. over seeds of the best test error and of the number of distinct x values.
Drawn for benchmarks with a two-parameter space (the first is x, the second y).

    python -m runners.sweep -m +experiment=grid_vs_random
    python -m paper_figures.grid_vs_random --results results
"""
from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import matplotlib.pyplot as plt

from hpobench import aggregate as ag
from hpobench.plotting.styles import style
from paper_figures._common import (SWEEPS, Outcome, Results, cli,
                                   context_name, save)

NAME = "grid_vs_random"
METHODS = ("grid", "random")
G_COLOR, H_COLOR = "#2ca02c", "#e6b800"


def _params(rows) -> list[str]:
    return [c.removeprefix("config.") for c in rows.columns
            if c.startswith("config.") and rows[c].notna().any()]


def pairs(res: Results) -> list[tuple[tuple, dict]]:
    """Two-parameter contexts holding runs of both grid and random (no method options):
    (key, {method: rows}).  Bergstra and Bengio's picture is two-dimensional; grid and
    random runs on larger spaces belong to the method comparison."""
    df = res.df
    out = []
    for key in ag.contexts(df):
        sub = ag.select(df, key)
        got = {m: sub[(sub["method"] == m) & (sub["method_variant"] == "")] for m in METHODS}
        if all(len(g) for g in got.values()) and len(_params(sub)) == 2:
            out.append((key, got))
    return out


def _benchmark(res: Results, run_dir: str):
    """The benchmark a run used, rebuilt from its run.json (None if that is not possible)."""
    from hpobench.experiment import instantiate

    cfg = (res.run_json(run_dir).get("config") or {}).get("benchmark")
    if not cfg:
        return None
    try:
        return instantiate("benchmark", cfg)
    except Exception as e:  # noqa: BLE001  (a benchmark whose code is absent here)
        print(f"note: cannot rebuild the benchmark of {run_dir} ({e}); drawing without g, h",
              file=sys.stderr)
        return None


def marginal(bench, j: int, n: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """Terminal loss along unit coordinate ``j`` with the other coordinates at the optimum."""
    u0 = np.asarray(getattr(bench, "optimum", np.full(len(bench.space), 0.5)), float)
    us = np.linspace(0, 1, n)
    vals, xs = [], []
    for u in us:
        v = u0.copy()
        v[j] = u
        cfg = bench.space.decode(v)
        xs.append(cfg[bench.space.names[j]])
        vals.append(bench.terminal_loss(cfg))
    return np.asarray(xs, float), np.asarray(vals, float)


def _best_per_seed(rows) -> np.ndarray:
    c = ag.curves(rows)
    return c.groupby("run_dir")["incumbent_test"].last().to_numpy(float)


def _mean_sem(v, fmt: str = ".3f") -> str:
    v = np.asarray(v, float)
    v = v[np.isfinite(v)]
    if not len(v):
        return "n/a"
    sem = v.std(ddof=1) / math.sqrt(len(v)) if len(v) > 1 else float("nan")
    return (f"{v.mean():{fmt}} ± {sem:{fmt}}" if math.isfinite(sem) else f"{v.mean():{fmt}}")


def draw_method(fig, cell, rows, bench, xname: str, yname: str, method: str) -> None:
    seed = int(rows["seed"].min())
    one = rows[rows["seed"] == seed]
    sub = cell.subgridspec(2, 2, width_ratios=[1, 4], height_ratios=[1, 4], wspace=0.05,
                           hspace=0.05)
    ax = fig.add_subplot(sub[1, 1])
    axg = fig.add_subplot(sub[0, 1], sharex=ax)
    axh = fig.add_subplot(sub[1, 0], sharey=ax)
    px, py = one[f"config.{xname}"].to_numpy(float), one[f"config.{yname}"].to_numpy(float)
    st = style(method)
    ax.scatter(px, py, s=40, color=st.color, marker=st.marker, zorder=3)
    if bench is not None:
        gx, g = marginal(bench, 0)
        hy, h = marginal(bench, 1)
        axg.plot(gx, g, color=G_COLOR)
        axh.plot(h, hy, color=H_COLOR)
        gi = np.interp(px, gx, g) if np.all(np.diff(gx) > 0) else np.full(len(px), np.nan)
        hi = np.interp(py, hy, h) if np.all(np.diff(hy) > 0) else np.full(len(py), np.nan)
        axg.scatter(px, gi, color=G_COLOR, s=18, zorder=3)
        axh.scatter(hi, py, color=H_COLOR, s=18, zorder=3)
        # one loss scale for g and h, so how little y matters is seen, not told
        lo, hi = min(g.min(), h.min()), max(g.max(), h.max())
        pad = 0.08 * (hi - lo) if hi > lo else 0.01
        axg.set_ylim(lo - pad, hi + pad)
        axh.set_xlim(hi + pad, lo - pad)  # h grows to the left, as in the original figure
        sp = bench.space.params
        if getattr(sp[0], "log", False):
            ax.set_xscale("log")
        if getattr(sp[1], "log", False):
            ax.set_yscale("log")
    for axis in (axg.xaxis, axh.yaxis):
        axis.set_visible(False)
    axg.set_ylabel("g(x)", fontsize=8, color=G_COLOR)
    axh.set_xlabel("h(y)", fontsize=8, color=H_COLOR)
    axg.tick_params(labelsize=6)
    axh.tick_params(labelsize=6)
    ax.set_xlabel(f"{xname} (important)" if xname == "x" else f"x = {xname} (important)")
    ax.set_ylabel(f"{yname} (unimportant)" if yname == "y" else f"y = {yname} (unimportant)")
    ax.yaxis.set_label_position("right")
    ax.yaxis.tick_right()
    best = _best_per_seed(rows)
    distinct = rows.groupby("seed")[f"config.{xname}"].nunique().to_numpy()
    n_trials = rows.groupby("seed").size().to_numpy()
    trials = (f"{int(n_trials.min())}" if n_trials.min() == n_trials.max()
              else f"{int(n_trials.min())}-{int(n_trials.max())}")
    axg.set_title(f"{st.label}: {trials} trials, "
                  f"{len(np.unique(px))} distinct x (seed {seed})\nover {len(best)} seeds: best "
                  f"test error {_mean_sem(best)}, distinct x {_mean_sem(distinct, '.1f')}", fontsize=8)


def make(res: Results, out: Path) -> Outcome:
    ps = pairs(res)
    if not ps:
        return Outcome.nothing("grid vs random", "no two-parameter benchmark has runs of "
                               "both method=grid and method=random with the same settings",
                               SWEEPS["grid_vs_random"])
    outcome = Outcome()
    for key, got in ps:
        names = _params(got["grid"])
        bench = _benchmark(res, got["random"]["run_dir"].iloc[0])
        fig = plt.figure(figsize=(10, 5.2))
        outer = fig.add_gridspec(1, 2, wspace=0.3)
        for cell, m in zip(outer, METHODS):
            draw_method(fig, cell, got[m], bench, names[0], names[1], m)
        fig.suptitle(f"Grid vs random search on a function of low effective dimension: "
                     f"{ag.describe_context(key)}", fontsize=10)
        outcome.written += save(fig, out, f"{NAME}_{context_name(key)}")
    return outcome


if __name__ == "__main__":
    sys.exit(cli(NAME, make))
