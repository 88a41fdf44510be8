"""Part 6: what each micro-optimisation of the library saves, priced against its upkeep.

Each line times the optimised code (``measured``) against the plain library call it
replaces (``baseline``) on the work of one Hyperband iteration at R=81, eta=3 (206
evaluations of 143 trials), and its note says the saving as a share of that iteration
run through ``run`` in memory.  A saving under :data:`WORTH` of the iteration does not
pay for a reimplementation's upkeep: such code is folded back to the plain call (as
``Job``'s hand-written ``__init__`` was: it saved -0.2% of an iteration).

    python -m runners.bench --parts 6
"""
from __future__ import annotations

import time
from typing import Callable

from benchmarking.common import ETA, R, Line, interleaved_medians
from benchmarking.hyperband_overhead import _hyperband_run, bare_batches, bare_calls, bare_jobs
from hpobench.benchmarks.envelope import EnvelopeBenchmark

#: the least share of one in-memory Hyperband iteration a micro-optimisation must save
WORTH = 0.05


def upkeep(repeats: int = 5, clock: Callable[[], float] = time.perf_counter) -> list[Line]:
    """One line per micro-optimisation (see the module docstring)."""
    import numpy as np
    import pyarrow as pa

    from hpobench.seeding import trial_seed, trial_seeds
    from hpobench.tables import rows_to_frame, rows_to_table

    b = EnvelopeBenchmark(max_resource=R)
    rows = _hyperband_run(b, None).rows
    jobs = bare_jobs(rows, b, 0)
    trials = sorted({r["trial_id"] for r in rows})

    def seeds_plain():
        return [int(np.random.SeedSequence([0, 1, t]).generate_state(1, np.uint32)[0])
                for t in trials]

    assert trial_seeds(0, trials) == seeds_plain() == [trial_seed(0, t) for t in trials]
    t = interleaved_medians({
        "iteration": lambda: _hyperband_run(b, None),
        "seeds": lambda: trial_seeds(0, trials), "seeds_plain": seeds_plain,
        "table": lambda: rows_to_table(rows),
        "table_plain": lambda: pa.Table.from_pandas(rows_to_frame(rows)),
        "batched": bare_batches(b, jobs, rows), "calls": bare_calls(b, jobs),
    }, repeats, clock=clock)
    it = t["iteration"]
    ms = 1e3

    def line(name: str, fast: str, plain: str, what: str) -> Line:
        saved = t[plain] - t[fast]
        share = saved / it
        return Line(f"upkeep_{name}", t[fast] * ms, t[plain] * ms, "ms",
                    f"saves >= {WORTH:.0%} of an iteration", share >= WORTH,
                    f"{what}: saves {saved * ms:.3f} ms = {share:.1%} of one in-memory "
                    f"Hyperband iteration ({it * ms:.1f} ms; R={R} eta={ETA})")

    return [
        line("trial_seeds", "seeds", "seeds_plain",
             f"seeding.trial_seeds (SeedSequence on uint32 arrays) vs numpy's SeedSequence "
             f"per trial, {len(trials)} trials"),
        line("rows_to_table", "table", "table_plain",
             f"tables.rows_to_table (column by column) vs pa.Table.from_pandas, {len(rows)} rows"),
        line("evaluate_many", "batched", "calls",
             "EnvelopeBenchmark.evaluate_many (one call per rung) vs evaluate per job"),
    ]
