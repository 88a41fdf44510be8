"""Table 1: Hyperband's brackets for R=81, eta=3 under both schedule variants, side by
side (n_i / r_i per bracket, configurations, resource with and without checkpoint
reuse), then each variant's full table.  Pure bracket arithmetic: no results needed.

    python -m paper_figures.table1 --out paper_figures/out     # writes table1.md
"""
from __future__ import annotations

import sys
from pathlib import Path

from hpobench import schedule as sched
from paper_figures._common import Outcome, cli

NAME = "table1"
VARIANT_TITLES = {"algorithm1": "Algorithm 1 (`n = ceil(B/R eta^s/(s+1))`)",
                  "paper_table": "printed Table 1 (`n = ceil(floor(B/R/(s+1)) eta^s)`)"}


def _fmt(x) -> str:
    return str(x) if isinstance(x, int) else f"{float(x):.4g}"


def side_by_side(R: int = 81, eta: int = 3) -> str:
    """One row per bracket s: the rungs ``n_i/r_i`` and costs of both variants."""
    a = {b.s: b for b in sched.brackets(R, eta, "algorithm1")}
    p = {b.s: b for b in sched.brackets(R, eta, "paper_table")}
    head = ("| s | Algorithm 1: n_i/r_i | configs | units (reuse / scratch) "
            "| printed Table 1: n_i/r_i | configs | units (reuse / scratch) | rungs |")
    lines = [head, "|---|---|---|---|---|---|---|---|"]

    def cells(b):
        rungs = ", ".join(f"{g.n}/{_fmt(g.r)}" for g in b.rungs)
        return [rungs, str(b.n_configs), f"{_fmt(b.resource(True))} / {_fmt(b.resource(False))}"]

    for s in sorted(a, reverse=True):
        same = a[s].rungs == p[s].rungs
        lines.append(f"| {s} | " + " | ".join(cells(a[s]) + cells(p[s]))
                     + f" | {'same' if same else 'differ'} |")
    tot = {v: (sum(b.n_configs for b in sched.brackets(R, eta, v)),
               sched.iteration_resource(R, eta, v, True), sched.iteration_resource(R, eta, v, False))
           for v in sched.SCHEDULES}
    lines.append("| all | | {} | {} / {} | | {} | {} / {} | |".format(
        tot["algorithm1"][0], _fmt(tot["algorithm1"][1]), _fmt(tot["algorithm1"][2]),
        tot["paper_table"][0], _fmt(tot["paper_table"][1]), _fmt(tot["paper_table"][2])))
    return "\n".join(lines)


def markdown(R: int = 81, eta: int = 3) -> str:
    parts = [f"# Table 1: Hyperband brackets for R={R}, eta={eta}", "",
             "Both schedule variants (`method.schedule=algorithm1`, the default, and "
             "`method.schedule=paper_table`); `n_i/r_i` = configurations / resource per rung "
             "(resource is cumulative: with checkpoint reuse a promoted configuration pays "
             "only `r_i - r_(i-1)`).", "", side_by_side(R, eta), ""]
    for v in sched.SCHEDULES:
        parts += [f"## {VARIANT_TITLES[v]}", "", sched.table_markdown(R, eta, v), ""]
    return "\n".join(parts)


def make(_res, out: Path, R: int = 81, eta: int = 3) -> Outcome:
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{NAME}.md"
    path.write_text(markdown(R, eta))
    return Outcome(written=[path])


if __name__ == "__main__":
    sys.exit(cli(NAME, make, needs_results=False))
