"""Figure 3 of Li et al. (2018): each Hyperband bracket s run alone (successive halving
with ``method.bracket=s``) and Hyperband, test error of the incumbent vs total resource
(the paper's LeNet figure, Section 3.3: "Figure 3 shows an empirical comparison of the
average test error across 70 trials of the individual brackets of Hyperband run
separately as well as standard Hyperband"); drawn for every benchmark with bracket runs,
so the envelope benchmark shows the same picture next to LeNet.  The title says the
number of seeds (each line's legend entry its own n) and the budget.

Writes ``brackets_<benchmark>_...{png,pdf}``.  The LeNet figure is the one the paper
shows: without LeNet bracket runs this script says which sweep produces them.

    python -m paper_figures.brackets --results results
"""
from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from hpobench import aggregate as ag
from hpobench.plotting.curves import band_note, draw_groups
from paper_figures._common import (SWEEPS, XLABEL, MissingRuns, Outcome, Results, cli,
                                   context_name, legend_beside, save, ylabel,
                                   with_zoom, zoom_panel)

NAME = "brackets"


def _rest(mv: str) -> str:
    """A method variant without its bracket: the options all brackets must share."""
    return ",".join(i for i in ag.split_variant(mv)
                    if i.split("=", 1)[0].lstrip("+~") != "method.bracket")


def bracket_sets(res: Results):
    """(context key, other method options, curves of the brackets and matching Hyperband)."""
    c = res.curves
    is_sh = (c["method"] == "successive_halving") & c["method_variant"].map(
        lambda mv: ag.method_option(mv, "bracket") not in (None, "null"))
    sh = c[is_sh]
    out = []
    for key in ag.contexts(sh):
        sel = ag.select(sh, key)
        hb = ag.select(c[c["method"] == "hyperband"], key)
        for rest, part in sel.groupby(sel["method_variant"].map(_rest)):
            # Hyperband with the same non-bracket options (eta, schedule) belongs beside it
            hb_match = hb[hb["method_variant"] == rest]
            out.append((key, rest, part, hb_match))
    return out


def make(res: Results, out: Path) -> Outcome:
    outcome = Outcome()
    sets = bracket_sets(res)
    for key, rest, part, hb in sets:
        agg = res.aggregate(pd.concat([part, hb]))
        if agg.empty:
            continue
        fig, ax, zoom = with_zoom()
        draw_groups(ax, agg, logx=True)
        zoom_panel(zoom, agg, res.stat)
        title = ag.describe_context(key) + (f", {rest}" if rest else "")
        both = pd.concat([part, hb])
        n = both.groupby(["method", "method_variant"])["seed"].nunique()
        seeds = f"{n.min()}" if n.min() == n.max() else f"{n.min()} to {n.max()}"
        lead = "Figure 3 (LeNet): brackets" if "lenet" in key[1] else "Brackets"
        ax.set_title(f"{lead} s alone and Hyperband, {seeds} seed{'s' if n.max() != 1 else ''} "
                     f"per line:\n{title}", fontsize=10)
        ax.set_xlabel(XLABEL)
        ax.set_ylabel(ylabel(res.stat))
        legend_beside(ax, zoom, band_note(agg, res.stat))
        name = f"{NAME}_{context_name(key)}" + (f"_{rest}" if rest else "")
        outcome.written += save(fig, out, name.replace("method.", "").replace("=", "")
                                .replace(",", "_"))
        if hb.empty:
            bench = key[1]
            cmd = (SWEEPS["table_brackets_hyperband"] if bench.startswith("table") else
                   SWEEPS["paper_envelope"] if not bench.startswith("lenet") else
                   SWEEPS["lenet_cpu_hyperband"] if "cpu" in bench else
                   SWEEPS["lenet_paper_hyperband"])
            outcome.missing.append(MissingRuns(
                f"bracket figure ({ag.describe_context(key)})",
                "drawn without Hyperband: no hyperband runs with the same settings", [cmd]))
    if not any("lenet" in k[1] for k, *_ in sets):
        outcome.missing.append(MissingRuns(
            "LeNet bracket figure", "no successive_halving runs with method.bracket=s on a "
            "lenet benchmark or table", [SWEEPS["table_brackets"] + "  (70 trials, replayed)",
                                         SWEEPS["table_brackets_hyperband"],
                                         SWEEPS["lenet_cpu"] + "  (real training; or "
                                         "lenet_paper on a GPU)"]))
    if not sets:
        outcome.missing.append(MissingRuns(
            "envelope bracket figure", "no successive_halving runs with method.bracket=s",
            [SWEEPS["envelope_brackets"], SWEEPS["paper_envelope"] + "  (its hyperband runs)"]))
    return outcome


if __name__ == "__main__":
    sys.exit(cli(NAME, make))
