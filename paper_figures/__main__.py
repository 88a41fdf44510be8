"""Regenerate every paper figure and table from a results root with one command.

    python -m paper_figures                               # results/ -> paper_figures/out/
    python -m paper_figures --results /tmp/r --out /tmp/figs --stat median
    python -m paper_figures --results /tmp/r --out /tmp/figs_R --incumbent full

``--incumbent full`` takes each run's incumbent only among its evaluations at the full
resource R (as many libraries report); the default ``any`` follows Algorithm 1, line 11.

Prints the runs it read and every file it wrote.  A figure whose runs are missing is not
drawn empty: the command says which sweep produces them.  Exit status: 2 when the results
root holds no runs, 1 when none of the figures that read results could be drawn, else 0
(missing figures are still listed).
"""
from __future__ import annotations

import sys
from pathlib import Path

from paper_figures import (bohb_vs_hyperband, brackets, envelope, grid_vs_random,
                           method_comparison, phase_diagram, simulated_time, summary, table1,
                           cross_task, critical_difference)
from paper_figures._common import SWEEPS, Outcome, load, parser, report

#: (name, module, needs results)
FIGURES = (
    ("method comparison", method_comparison, True),
    ("brackets", brackets, True),
    ("envelope", envelope, False),
    ("grid vs random", grid_vs_random, True),
    ("table 1", table1, False),
    ("summary", summary, True),
    ("phase diagram", phase_diagram, True),
    ("BOHB vs Hyperband", bohb_vs_hyperband, True),
    ("simulated time", simulated_time, True),
    ("cross task", cross_task, True),
    ("critical difference", critical_difference, True),
)


def main(argv=None) -> int:
    ap = parser("python -m paper_figures")
    a = ap.parse_args(argv)
    res = load(a)
    out = Path(a.out)
    if res.empty:
        print(f"error: no runs under {Path(a.results).resolve()} (no evaluations.parquet "
              "found). Produce them with a sweep, e.g.:", file=sys.stderr)
        for name in ("paper_envelope", "envelope_brackets", "grid_vs_random", "envelope_phase",
                     "lenet_cpu"):
            print(f"    {SWEEPS[name]}", file=sys.stderr)
        print("then rerun: python -m paper_figures --results <the sweep's results_dir>",
              file=sys.stderr)
        return 2
    total = Outcome()
    from_results = 0
    for name, mod, needs in FIGURES:
        print(f"[{name}]")
        o = mod.make(res, out)
        report(o, name)
        total.written += o.written
        total.missing += o.missing
        from_results += len(o.written) if needs else 0
    print(f"wrote {len(total.written)} files to {out.resolve()}; "
          f"{len(total.missing)} figure(s) missing or incomplete (listed above)")
    return 0 if from_results else 1


if __name__ == "__main__":
    sys.exit(main())
