"""Table 6: per benchmark (and setting context), each method's final mean test error +-
standard error, the resource from which its mean stays at or below random search's final
mean error, its speed-up over random search (random's resource / the method's, with a
95% bootstrap interval), a paired test against Hyperband on the same seeds and its average
final rank (see :func:`hpobench.aggregate.summary`).

Writes ``summary.md`` (Markdown), ``summary.csv`` (every number, unrounded) and
``ranks.csv`` (each method's rank among the methods of its benchmark and settings over
resource, 1 = lowest error).

    python -m paper_figures.summary --results results
"""
from __future__ import annotations

import math
import sys
from pathlib import Path

from hpobench import aggregate as ag
from hpobench.plotting.styles import order_key, style
from paper_figures._common import SWEEPS, MissingRuns, Outcome, Results, cli

NAME = "summary"


def _num(x: float, fmt: str) -> str:
    return "n/a" if x is None or not math.isfinite(x) else format(x, fmt)


def _speedup(r) -> str:
    text = _num(r.speedup, ".2f")
    lo, hi = getattr(r, "speedup_lo", math.nan), getattr(r, "speedup_hi", math.nan)
    if math.isfinite(lo) and math.isfinite(hi) and hi > 0 and not (lo == hi == r.speedup):
        text += f" [{lo:.2f}, {hi:.2f}]"
    return text


def _paired(r) -> str:
    p = getattr(r, "vs_p", math.nan)
    if p is None or not math.isfinite(p):
        return "-"
    return f"{p:.2g} ({int(r.vs_wins)}/{int(r.vs_n)})"


def markdown(table) -> str:
    lines = ["# Summary: final incumbent test error and speed-up over random search", "",
             "Final = mean over seeds where the group's shortest run ends (x_end, in multiples "
             "of R per search); target = random search's final mean in the same benchmark "
             "and settings, which random search reached with all its resource (x_end); "
             "resource to target = where the method's mean falls to the target and stays "
             "there (the mean of incumbent test errors is not monotone: a first crossing "
             "could come before it settles); speed-up = random's x_end / the method's "
             "resource to target [95% bootstrap interval over seeds] (> 1: faster; a method "
             "that ends below the target is never below 1; n/a: it ends above the target, or "
             "no random-search runs to compare; 0 in an interval: some resamples never "
             "reach it); vs Hyperband = two-sided paired Wilcoxon signed-rank test of the "
             "final values against Hyperband's on the seeds both have (wins = seeds where "
             "the method is lower; a difference is a finding only when p is small); final "
             "rank = average rank among the methods of the panel, ranked within each seed "
             "at the earliest end (1 = lowest error).", ""]
    for key, ctx in table.groupby(list(ag.CONTEXT_KEYS), sort=True, dropna=False):
        target = ctx["target"].iloc[0]
        lines += [f"## {ag.describe_context(key)}", "",
                  f"target (random search's final mean): {_num(target, '.4f')}", "",
                  "| method | seeds | x_end (R) | final test error (mean ± s.e.) "
                  "| resource to target (R) | speed-up vs random | vs Hyperband: p (wins/n) "
                  "| final rank |",
                  "|---|---|---|---|---|---|---|---|"]
        rows = sorted(ctx.itertuples(index=False), key=lambda r: order_key(r.method, r.method_variant))
        for r in rows:
            lines.append(f"| {style(r.method, r.method_variant).label} | {r.seeds} | "
                         f"{_num(r.x_end, '.3g')} | {_num(r.final_mean, '.4f')} ± "
                         f"{_num(r.final_sem, '.4f')} | {_num(r.x_to_target, '.3g')} | "
                         f"{_speedup(r)} | {_paired(r)} | {_num(r.final_rank, '.2f')} |")
        lines.append("")
    return "\n".join(lines)


def make(res: Results, out: Path) -> Outcome:
    table = ag.summary(res.curves) if not res.empty else None
    if table is None or table.empty:
        return Outcome.nothing("summary table", "no runs", SWEEPS["paper_envelope"])
    outcome = Outcome()
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{NAME}.md").write_text(markdown(table))
    table.to_csv(out / f"{NAME}.csv", index=False)
    ag.ranks(res.aggregate()).to_csv(out / "ranks.csv", index=False)
    outcome.written += [out / f"{NAME}.md", out / f"{NAME}.csv", out / "ranks.csv"]
    if not (table["method"] == "random").any():
        outcome.missing.append(MissingRuns(
            "summary table", "written without speed-ups: no random-search runs",
            [SWEEPS["paper_envelope"]]))
    return outcome


if __name__ == "__main__":
    sys.exit(cli(NAME, make))
