"""Envelope phase diagram (issue 8): over a grid of envelope width and terminal-loss
spread, which method reaches the lowest mean test error of the incumbent at the runs'
fixed budget, and by how much.

Reads every run whose settings name both ``benchmark.width`` and ``benchmark.spread``
(the ``envelope_phase`` and ``envelope_phase_brackets`` presets).  Per (width, spread)
cell and method (each successive-halving bracket counts as a method of its own): the mean
± s.e. over seeds of the incumbent's test error where the run ends.  The winner is the
lowest mean; its margin over the runner-up is the mean of the per-seed differences on the
seeds both share (:func:`hpobench.stats.paired_test`) with that difference's s.e. (an
unpaired difference of means, flagged, when they share no seed).

Writes ``phase_diagram_<context>.{png,pdf}`` (cell colour = a winner ahead by > 2 s.e.,
grey = no significant winner; text = lowest mean and margin ± s.e.; axes = width and spread; beside it, with bracket rows, the talk's Figure 2
takeaway made measurable: bracket s=0 minus the most aggressive bracket per cell, paired ±
s.e.), ``phase_diagram_<context>.md`` (the winners, every method's mean ± s.e. per cell,
the bracket gap) and ``phase_diagram_<context>.csv`` (every number).

    python -m paper_figures.phase_diagram --results /tmp/phase --out /tmp/phase_figs

Example (the numbers of one cell)::

    >>> import pandas as pd
    >>> t = pd.DataFrame({"method": ["a", "a", "b", "b"], "seed": [0, 1, 0, 1],
    ...                   "test_loss": [0.1, 0.2, 0.3, 0.3]})
    >>> c = cell_result(t)
    >>> c["winner"], round(c["margin"], 3), round(c["margin_se"], 3)
    ('a', 0.15, 0.05)
"""
from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from hpobench.phase import (  # noqa: F401 - the statistics (cell_result: its doctest)
    AXES, bracket_gap, cell_result, final_errors)
from hpobench.plotting.styles import order_key, style
from paper_figures._common import SWEEP, MissingRuns, Outcome, Results, cli, save, slug

NAME = "phase_diagram"
COMMANDS = (SWEEP + "envelope_phase", SWEEP + "envelope_phase_brackets")


def _split_id(mid: str) -> tuple[str, str, str]:
    """(method, method variant, '#<settings>' suffix of a label shared by two settings)."""
    mid, _, key = mid.partition("#")
    method, _, mv = mid.partition("[")
    return method, mv.rstrip("]"), f" #{key}" if key else ""


def _label(mid: str) -> str:
    method, mv, key = _split_id(mid)
    return style(method, mv).label + key


def _style(mid: str):
    method, mv, _ = _split_id(mid)
    return style(method, mv)


def _hatch(mid) -> str:
    """Bracket cells are hatched: their palette shares hues with the methods' colours."""
    return "//" if mid and mid.startswith("successive_halving[") else ""


def _order(mid: str) -> tuple:
    method, mv, key = _split_id(mid)
    return (*order_key(method, mv), key)


def diagram_table(finals: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(cells, methods)`` of one diagram: one row per cell (winner, runner-up, margin ±
    s.e., paired seeds, p) and one row per (cell, method) (mean, s.e., seeds, rank)."""
    cells, per = [], []
    for (width, spread), cell in finals.groupby(list(AXES), sort=True):
        c = cell_result(cell)
        ranked = sorted(c["methods"], key=lambda m: c["methods"][m][0])
        for rank, m in enumerate(ranked, 1):
            mean, se, n = c["methods"][m]
            per.append({"width": width, "spread": spread, "method": m, "label": _label(m),
                        "seeds": n, "mean": mean, "se": se, "rank": rank,
                        "winner": m == c["winner"]})
        w, r = c["winner"], c["runner_up"]
        cells.append({"width": width, "spread": spread, "winner": w,
                      "winner_label": _label(w) if w else "",
                      "winner_mean": c["methods"][w][0] if w else math.nan,
                      "winner_se": c["methods"][w][1] if w else math.nan,
                      "runner_up": r, "runner_up_label": _label(r) if r else "",
                      "runner_up_mean": c["methods"][r][0] if r else math.nan,
                      "margin": c["margin"], "margin_se": c["margin_se"],
                      "paired_n": c["paired_n"], "p_value": c["p_value"],
                      "methods": len(c["methods"])})
    return pd.DataFrame(cells), pd.DataFrame(per)


#: the colour of a cell where no method leads the runner-up by more than 2 s.e.
NO_WINNER = "#d9d9d9"


def _significant(margin: float, se: float) -> bool:
    return math.isfinite(se) and se > 0 and margin > 2 * se


def _num(x: float, fmt: str = ".4f") -> str:
    return "n/a" if x is None or not math.isfinite(x) else format(x, fmt)


def _seeds_note(per: pd.DataFrame) -> str:
    """"10 seeds" or "10 seeds (GP-BO (skopt): 5)" when some methods have fewer."""
    n = per.groupby("method")["seeds"].min()
    top = int(n.max())
    fewer = {m: int(k) for m, k in n.items() if k < top}
    extra = ", ".join(f"{_label(m)}: {k}" for m, k in sorted(fewer.items(), key=lambda i: _order(i[0])))
    return f"{top} seeds per method" + (f" ({extra})" if extra else "")


def markdown(title: str, cells: pd.DataFrame, per: pd.DataFrame, gap: pd.DataFrame) -> str:
    intro = (f"Incumbent test error where each run ends, mean ± s.e. over seeds "
             f"({_seeds_note(per)}).  Margin = runner-up minus winner: the mean of the "
             "per-seed differences on the seeds both share ± its s.e. (paired n), p = "
             "one-sided Wilcoxon signed-rank (winner lower). A winner is significant when "
             "its margin exceeds 2 s.e.; otherwise the cell has no significant winner.")
    header = ("| width | spread | lowest mean (mean ± s.e.) | runner-up (mean) | margin ± s.e. "
              "| paired n | p |")
    lines = [f"# Phase diagram: {title}", "", intro, "", header, "|---|---|---|---|---|---|---|"]
    for r in cells.itertuples(index=False):
        lead = r.winner_label if _significant(r.margin, r.margin_se) else (
            f"no significant winner: {r.winner_label}" if r.winner else "no winner")
        lines.append(f"| {r.width:g} | {r.spread:g} | {lead} "
                     f"({_num(r.winner_mean)} ± {_num(r.winner_se)}) | {r.runner_up_label} "
                     f"({_num(r.runner_up_mean)}) | {_num(r.margin)} ± {_num(r.margin_se)} "
                     f"| {r.paired_n or 'unpaired'} | {_num(r.p_value, '.3g')} |")
    keys = [(w, s) for w, s in cells[["width", "spread"]].itertuples(index=False)]
    lines += ["", "Every method, mean ± s.e. (rank in the cell):", "",
              "| method | " + " | ".join(f"w={w:g}, s={s:g}" for w, s in keys) + " |",
              "|---|" + "---|" * len(keys)]
    for m in sorted(per["method"].unique(), key=_order):
        row = []
        for w, s in keys:
            hit = per[(per["method"] == m) & (per["width"] == w) & (per["spread"] == s)]
            row.append("" if hit.empty else
                       f"{_num(hit['mean'].iloc[0])} ± {_num(hit['se'].iloc[0])} "
                       f"({hit['rank'].iloc[0]})" + (" **best**" if hit["winner"].iloc[0] else ""))
        lines.append(f"| {_label(m)} | " + " | ".join(row) + " |")
    if not gap.empty:
        note = ("Bracket s=0 minus the most aggressive bracket, paired over seeds (> 0: "
                "the aggressive bracket is better; p = one-sided Wilcoxon, s=0 higher):")
        lines += ["", note, "",
                  "| width | spread | s=0 − s=s_max (mean ± s.e.) | paired n | p |",
                  "|---|---|---|---|---|"]
        for r in gap.itertuples(index=False):
            lines.append(f"| {r.width:g} | {r.spread:g} | {_num(r.gap)} ± {_num(r.gap_se)} "
                         f"(s_max={r.s_max}) | {r.paired_n} | {_num(r.p_value, '.3g')} |")
    return "\n".join(lines) + "\n"


def draw(title: str, cells: pd.DataFrame, per: pd.DataFrame, gap: pd.DataFrame):
    """Top: the grid, x = width, y = spread, cell colour = winner when ahead by > 2 s.e.
    (grey: no significant winner), text = lowest mean, margin ± s.e.  Below (with bracket rows): bracket s=0 minus s=s_max per cell, paired ± s.e."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    widths = sorted(cells["width"].unique())
    spreads = sorted(cells["spread"].unique())
    panels = 2 if not gap.empty else 1
    fig, axes = plt.subplots(panels, 1, figsize=(2.3 * len(widths) + 3.2,
                                                  (1.35 * len(spreads) + 1.6) * panels),
                             squeeze=False)
    ax = axes[0, 0]
    for r in cells.itertuples(index=False):
        i, j = widths.index(r.width), spreads.index(r.spread)
        sig = _significant(r.margin, r.margin_se)
        # a cell is coloured by its winner only when the winner leads by > 2 s.e.
        color = _style(r.winner).color if r.winner and sig else NO_WINNER
        ax.add_patch(plt.Rectangle((i - 0.5, j - 0.5), 1, 1, facecolor=color, alpha=0.85,
                                   edgecolor="white", hatch=_hatch(r.winner) if sig else "",
                                   linewidth=0))
        if sig:
            text = (f"{r.winner_label}\nmean {_num(r.winner_mean, '.3f')}\n"
                    f"margin {_num(r.margin, '.3f')} ± {_num(r.margin_se, '.3f')}"
                    f"\nvs {r.runner_up_label}")
        else:
            text = ("no significant winner\n"
                    + (f"lowest mean: {r.winner_label} {_num(r.winner_mean, '.3f')}\n"
                       f"ahead by {_num(r.margin, '.3f')} ± {_num(r.margin_se, '.3f')} (< 2 s.e.)"
                       f"\nof {r.runner_up_label}" if r.winner else "(fewer than 2 seeds)"))
        ax.text(i, j, text, ha="center", va="center", fontsize=7.5,
                color="black" if sig else "#444444",
                bbox={"boxstyle": "round,pad=0.3", "facecolor": "white", "alpha": 0.85,
                      "linewidth": 0})
    ax.set_xlim(-0.5, len(widths) - 0.5)
    ax.set_ylim(-0.5, len(spreads) - 0.5)
    ax.set_xticks(range(len(widths)), [f"{w:g}" for w in widths])
    ax.set_yticks(range(len(spreads)), [f"{s:g}" for s in spreads])
    ax.set_xlabel("envelope width gamma(1)  (narrow → wide)")
    ax.set_ylabel("terminal-loss spread  (close → far)")
    n_sig = sum(_significant(r.margin, r.margin_se) for r in cells.itertuples(index=False))
    ax.set_title(f"Lowest mean test error: {title}, {_seeds_note(per)}\n"
                 "margin = paired mean difference to the runner-up ± s.e.; a cell is "
                 f"coloured by a winner ahead by > 2 s.e.: {n_sig} of {len(cells)} cells",
                 fontsize=9)
    present = sorted(per["method"].unique(), key=_order)
    winners = {r.winner for r in cells.itertuples(index=False)
               if r.winner and _significant(r.margin, r.margin_se)}
    handles = [Patch(facecolor=_style(m).color, edgecolor="white", hatch=_hatch(m),
                     alpha=0.85 if m in winners else 0.25,
                     label=_label(m) + ("" if m in winners else " (never wins by > 2 s.e.)"))
               for m in present]
    if n_sig < len(cells):
        handles.append(Patch(facecolor=NO_WINNER, edgecolor="white", alpha=0.85,
                             label="no winner by > 2 s.e."))
    ax.legend(handles=handles, fontsize=7.5, loc="upper left", bbox_to_anchor=(1.01, 1.0),
              frameon=False, title="methods compared", title_fontsize=8)
    if panels == 2:
        _draw_gap(axes[1, 0], gap, widths, spreads)
    fig.tight_layout()
    return fig


def _draw_gap(ax, gap: pd.DataFrame, widths: list, spreads: list) -> None:
    grid = np.full((len(spreads), len(widths)), np.nan)
    for r in gap.itertuples(index=False):
        grid[spreads.index(r.spread), widths.index(r.width)] = r.gap
    lim = float(np.nanmax(np.abs(grid))) or 1.0
    im = ax.imshow(grid, origin="lower", cmap="RdBu", vmin=-lim, vmax=lim, aspect="auto")
    for r in gap.itertuples(index=False):
        mark = "" if _significant(r.gap, r.gap_se) else "\n(<2 s.e.)"
        ax.text(widths.index(r.width), spreads.index(r.spread),
                f"{r.gap:+.3f} ± {_num(r.gap_se, '.3f')}{mark}", ha="center", va="center",
                fontsize=8, bbox={"boxstyle": "round,pad=0.3", "facecolor": "white",
                                  "alpha": 0.85, "linewidth": 0})
    ax.set_xticks(range(len(widths)), [f"{w:g}" for w in widths])
    ax.set_yticks(range(len(spreads)), [f"{s:g}" for s in spreads])
    ax.set_xlabel("envelope width gamma(1)  (narrow → wide)")
    ax.set_ylabel("terminal-loss spread  (close → far)")
    s_max = int(gap["s_max"].max())
    ax.set_title(f"Figure 2 takeaway: bracket s=0 − bracket s={s_max}\n(paired mean ± s.e.; "
                 f"> 0, blue: the aggressive bracket wins)", fontsize=9)
    ax.figure.colorbar(im, ax=ax, fraction=0.05, pad=0.02,
                       label="test error, s=0 minus s=s_max")


def make(res: Results, out: Path) -> Outcome:
    finals = final_errors(res.curves)
    if finals.empty:
        return Outcome.nothing("envelope phase diagram", "no runs setting both "
                               "benchmark.width and benchmark.spread", *COMMANDS)
    outcome = Outcome()
    out.mkdir(parents=True, exist_ok=True)
    diagrams = ["sweep", "benchmark", "rest", "max_resource"]
    shared = finals.groupby(diagrams)["rest_key"].nunique()
    for key, finals_d in finals.groupby([*diagrams, "rest_key"], sort=True):
        sweep, bench, rest, R, rest_key = key
        if shared[(sweep, bench, rest, R)] > 1:  # one label, several settings: kept apart
            rest = ",".join(p for p in (rest, f"settings {rest_key[:6]}") if p)
        title = f"{bench} (R={R}" + (f", {rest}" if rest else "") + ")"
        if sweep:
            title = f"{sweep}: {title}"
        cells, per = diagram_table(finals_d)
        gap = bracket_gap(finals_d)
        name = f"{NAME}_" + slug("_".join(p for p in (sweep, bench, f"R{R}", rest) if p)
                                 .replace("=", "").replace(",", "_"))
        outcome.written += save(draw(title, cells, per, gap), out, name)
        (out / f"{name}.md").write_text(markdown(title, cells, per, gap))
        per.merge(cells[["width", "spread", "margin", "margin_se", "paired_n", "p_value"]],
                  on=["width", "spread"]).to_csv(out / f"{name}.csv", index=False)
        outcome.written += [out / f"{name}.md", out / f"{name}.csv"]
        methods = set(per["method"])
        if not any(m.startswith("successive_halving[") for m in methods):
            outcome.missing.append(MissingRuns(f"phase diagram ({title})",
                                               "no bracket rows (successive_halving "
                                               "method.bracket=s)", [COMMANDS[1]]))
        if "hyperband" not in methods:
            outcome.missing.append(MissingRuns(f"phase diagram ({title})",
                                               "no hyperband rows", [COMMANDS[0]]))
    return outcome


if __name__ == "__main__":
    sys.exit(cli(NAME, make))
