"""Measure the harness against its baselines: prints a table and writes it as JSON.

    python -m runners.bench --quick          # fewer repeats, every part but 4
    python -m runners.bench                  # everything, incl. the paper-scale sweep (part 4)
    python -m runners.bench --parts 1,2 --repeats 11 --out /tmp/bench.json

Every figure is a ratio against a baseline measured in the same process run (see the
``benchmarking/`` package, one module per part, for what each one times, and
hpobench/docs/performance.md for a table).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from benchmarking import (figure3_sweep, hyperband_overhead, lenet_throughput, paper_sweep,
                          peers, run_loop, synetune_sim, table_replay, upkeep, wrappers)
from benchmarking.common import CLOCKS, Line, not_available

PARTS = {1: "Hyperband overhead", 2: "run loop per evaluation", 3: "wrapper overhead",
         4: "paper-scale sweep", 5: "LeNet throughput", 6: "micro-optimisations' upkeep",
         7: "peer adapters' overhead", 8: "table replay", 9: "Figure 3 sweep from a table",
         10: "simulated ASHA vs syne-tune's simulator"}
DEFAULT_OUT = Path("results") / "bench" / "bench.json"  # results/ is git-ignored


def settings(quick: bool, smoke: bool, repeats: int | None) -> dict:
    """How much work each part does: full, --quick (< 1 minute) or --smoke (the test)."""
    if smoke:
        s = dict(repeats=1, optuna_repeats=1, random_evals=30, decisions=2, wrapper_repeats=1)
    elif quick:
        s = dict(repeats=3, optuna_repeats=1, random_evals=200, decisions=11, wrapper_repeats=1)
    else:
        s = dict(repeats=7, optuna_repeats=3, random_evals=1000, decisions=16, wrapper_repeats=2)
    if repeats is not None:
        s["repeats"] = repeats
    s["sweep_seeds"] = 20  # part 4: the paper's scale
    return s


def measure(parts: list[int], s: dict, quick: bool, smoke: bool) -> list[Line]:
    lines: list[Line] = []
    for part in parts:
        t = time.perf_counter()
        print(f"[{part}] {PARTS[part]} ...", file=sys.stderr, flush=True)
        clock = CLOCKS[s.get("clock", "wall")]
        if part == 1:
            lines += hyperband_overhead.hyperband_overhead(s["repeats"], s["optuna_repeats"],
                                                           clock=clock)
        elif part == 2:
            lines += run_loop.random_search_loop(s["random_evals"], s["repeats"], clock=clock)
        elif part == 3:
            lines += wrappers.wrapper_overhead(s["decisions"], s["wrapper_repeats"])
        elif part == 4:
            lines += paper_sweep.paper_sweep(seeds=s["sweep_seeds"])
        elif part == 5:
            lines += (lenet_throughput.lenet_throughput(quick=quick) if not smoke else
                      [not_available("lenet_throughput", "skipped in --smoke")])
        elif part == 6:
            lines += upkeep.upkeep(s["repeats"], clock=clock)
        elif part == 7:
            lines += peers.peer_overhead(s["decisions"] * 2, s["wrapper_repeats"])
        elif part == 8:
            lines += table_replay.table_replay(s["repeats"], budget=5 if smoke else 50,
                                               clock=clock)
        elif part == 9:
            lines += figure3_sweep.figure3_sweep(seeds=2 if smoke else (10 if quick else 70),
                                                 parallel=not quick)
        elif part == 10:
            lines += synetune_sim.synetune_sim(s["repeats"], budget=5 if smoke else 50,
                                               clock=clock)
        print(f"[{part}] {time.perf_counter() - t:.1f} s", file=sys.stderr, flush=True)
    return lines


def table(lines: list[Line]) -> str:
    def num(x):
        return "-" if x is None else f"{x:.4g}"

    head = ("name", "measured", "baseline", "unit", "ratio", "goal", "met")
    rows = [(l.name, num(l.measured), num(l.baseline), l.unit or "-", num(l.ratio), l.goal,
             "n/a" if l.met is None else ("yes" if l.met else "no")) for l in lines]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    fmt = "  ".join(f"{{:{'<' if i in (0, 3, 5) else '>'}{w}}}" for i, w in enumerate(widths))
    out = [fmt.format(*head), fmt.format(*("-" * w for w in widths))]
    out += [fmt.format(*r) for r in rows]
    out += ["", "notes:"] + [f"  {l.name}: {l.note}" for l in lines if l.note]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m runners.bench", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="fewer repeats and trials, no paper-scale sweep (part 4)")
    p.add_argument("--repeats", type=int, default=None,
                   help="timed repeats per measurement, median reported (default 7; 3 with --quick)")
    p.add_argument("--parts", default=None,
                   help="comma-separated parts to run: " +
                        ", ".join(f"{k}={v}" for k, v in PARTS.items()) +
                        " (default: all; --quick leaves out 4)")
    p.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                   help="parts 1-2: wall time (default) or this process's CPU time, which a "
                        "busy machine disturbs less but which leaves out disk waits (fsync)")
    p.add_argument("--sweep-seeds", type=int, default=20,
                   help="part 4: seeds per method (default 20, the paper's scale)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"JSON file (default {DEFAULT_OUT})")
    p.add_argument("--smoke", action="store_true", help=argparse.SUPPRESS)  # tiny: for the test
    a = p.parse_args(argv)
    if a.repeats is not None and a.repeats < 1:
        p.error(f"--repeats: must be an integer >= 1, got {a.repeats}")
    quick = a.quick or a.smoke
    if a.parts is None:
        parts = [k for k in PARTS if not (quick and k == 4)]
    else:
        try:
            parts = [int(x) for x in a.parts.split(",") if x.strip()]
        except ValueError:
            parts = [-1]
        bad = [x for x in parts if x not in PARTS]
        if bad or not parts:
            p.error(f"--parts: {a.parts!r}; allowed: comma-separated numbers from {list(PARTS)}")

    s = settings(quick, a.smoke, a.repeats)
    s["clock"] = a.clock
    if a.sweep_seeds < 1:
        p.error(f"--sweep-seeds: must be an integer >= 1, got {a.sweep_seeds}")
    s["sweep_seeds"] = a.sweep_seeds
    t0 = time.perf_counter()
    started = datetime.now(timezone.utc).isoformat()
    lines = measure(parts, s, quick, a.smoke)
    seconds = time.perf_counter() - t0
    print(table(lines))
    print(f"\n{seconds:.1f} s; written to {a.out}")
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps({
        "command": "python -m runners.bench " + " ".join(sys.argv[1:] if argv is None else argv),
        "started": started, "seconds": seconds, "parts": parts, "settings": s,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform(), "load_average": _load()},
        "lines": [l.as_dict() for l in lines],
    }, indent=2) + "\n")
    return 0


def _load():
    try:
        return list(os.getloadavg())
    except OSError:  # pragma: no cover - not on every platform
        return None


if __name__ == "__main__":
    sys.exit(main())
