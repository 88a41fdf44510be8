"""Figure 1: test error of the incumbent against total resource, every method, one panel
per benchmark (and per setting context), log-x, seed band (the paper's comparison plots).

Successive-halving runs of single brackets (``method.bracket=s``) are left to the bracket
figure; every other method present is drawn.  Writes ``method_comparison.{png,pdf}`` (all
panels) and ``method_comparison_<benchmark>.{png,pdf}`` per benchmark.

    python -m paper_figures.method_comparison --results results --out paper_figures/out
"""
from __future__ import annotations

import math
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from hpobench import aggregate as ag
from hpobench.plotting.curves import band_note, draw_groups
from paper_figures._common import (SWEEPS, XLABEL, Outcome, Results, cli,
                                   context_name, legend_beside, save, ylabel,
                                   with_zoom, zoom_panel)

NAME = "method_comparison"


def comparison_curves(res: Results):
    """Curves that belong in the comparison: all but single-bracket successive halving."""
    c = res.curves
    single = c["method_variant"].map(lambda mv: ag.method_option(mv, "bracket") is not None)
    return c[~single]


def panels(res: Results) -> list[tuple[tuple, object]]:
    """(context key, aggregate) per panel: contexts with at least two methods."""
    agg = res.aggregate(comparison_curves(res))
    out = []
    for key in ag.contexts(agg):
        sub = ag.select(agg, key)
        if sub.groupby(["method", "method_variant", "budget_scale"]).ngroups >= 2:
            out.append((key, sub))
    return out


def draw(ax, key, sub, stat: str) -> None:
    draw_groups(ax, sub, logx=True)
    ax.set_title(ag.describe_context(key), fontsize=10)
    ax.set_xlabel(XLABEL)
    ax.set_ylabel(ylabel(stat))
    lo, hi = sub["lower"].min(), sub["center"].quantile(0.98)
    if math.isfinite(lo) and math.isfinite(hi) and hi > lo:
        pad = 0.05 * (hi - lo)
        ax.set_ylim(lo - pad, hi + pad)


def make(res: Results, out: Path) -> Outcome:
    ps = panels(res)
    if not ps:
        return Outcome.nothing("method comparison", "no benchmark has runs of two or more "
                               "methods with the same settings", SWEEPS["paper_envelope"])
    outcome = Outcome()
    note = band_note(pd.concat([sub for _, sub in ps]), res.stat)
    for key, sub in ps:  # one file per panel
        fig, ax, zoom = with_zoom()
        draw(ax, key, sub, res.stat)
        zoom_panel(zoom, sub, res.stat)
        legend_beside(ax, zoom, band_note(sub, res.stat))
        outcome.written += save(fig, out, f"{NAME}_{context_name(key)}")
    if len(ps) > 1:  # and all panels together
        cols = min(3, len(ps))
        rows = -(-len(ps) // cols)
        fig, axes = plt.subplots(rows, cols, figsize=(5.4 * cols, 6.0 * rows), squeeze=False)
        for ax, (key, sub) in zip(axes.flat, ps):
            draw(ax, key, sub, res.stat)
            # below the panel: a legend inside would hide the curves it names
            ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2,
                      frameon=False)
        for ax in list(axes.flat)[len(ps):]:
            ax.set_visible(False)
        fig.suptitle(f"Incumbent test error vs resource ({note})", fontsize=11)
        fig.tight_layout()
        outcome.written += save(fig, out, NAME)
    return outcome


if __name__ == "__main__":
    sys.exit(cli(NAME, make))
