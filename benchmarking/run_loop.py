"""Part 2: the run loop's cost per evaluation, random search on the envelope."""
from __future__ import annotations

import time
from typing import Callable

from benchmarking.common import R, FreshRunDirs, Line, interleaved_medians
from benchmarking.hyperband_overhead import bare_batches, bare_jobs
from hpobench.benchmarks.envelope import EnvelopeBenchmark
from hpobench.run import run
from hpobench.seeding import optimizer_rng


def random_search_loop(n_evals: int = 500, repeats: int = 5,
                       clock: Callable[[], float] = time.perf_counter) -> list[Line]:
    """Part 2: random search through ``run`` with a run directory; the loop's and the
    recording's cost per evaluation (total minus the bare objective) against the bare
    objective's cost per evaluation."""
    from hpobench.optimizers import RandomSearch

    b = EnvelopeBenchmark(max_resource=R)

    def go(run_dir):
        return run(b, RandomSearch(b.space, R, optimizer_rng(0)), budget=n_evals, seed=0,
                   method_name="random", run_dir=run_dir, progress=False)

    rows = go(None).rows
    with FreshRunDirs() as dirs:
        t = interleaved_medians({
            # the loop hands all n_evals jobs to evaluate_many in one batch: subtract that
            "bare": bare_batches(b, bare_jobs(rows, b, 0), rows),
            "with_dir": lambda: go(dirs.next()), "in_mem": lambda: go(None)}, repeats,
            clock=clock)
    bare, with_dir, in_mem = (t[k] / n_evals for k in ("bare", "with_dir", "in_mem"))
    us = 1e6
    return [
        Line("random_loop_overhead_per_eval", (with_dir - bare) * us, bare * us, "us", "-",
             None, f"{n_evals} evaluations at R, run_dir written; measured = loop + "
             "recording per evaluation (total minus the bare objective, evaluated in one "
             "evaluate_many batch as the loop does)"),
        Line("random_loop_overhead_per_eval_in_memory", (in_mem - bare) * us, bare * us, "us",
             "-", None, "as above without a run_dir"),
    ]
