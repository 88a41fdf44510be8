"""Part 8: what replaying a learning-curve table costs (hpobench/docs/tables.md).

One Hyperband run (in memory) per table, through ``hpobench.run``, of about the same
number of evaluations (50 R on the envelope table, 200 R on the R = 9 LeNet table: ~600
each, so a run's fixed cost weighs alike); per evaluation:
the real LeNet table against the envelope table (the issue's goal: within 2x), and the
simulated-time executor (4 workers) against the serial one on the envelope table.  The
LeNet table is the shipped ``lenet_mnist_tiny`` one (8 configurations, R = 9) until the
LeNet CPU table is recorded.
"""
from __future__ import annotations

import time
from typing import Callable

from benchmarking.common import Line, interleaved_medians
from hpobench.benchmarks.table import TableBenchmark
from hpobench.optimizers import Hyperband
from hpobench.run import run
from hpobench.seeding import optimizer_rng
from hpobench.simulated import SimulatedExecutor


def table_replay(repeats: int = 5, budget: float = 50,
                 clock: Callable[[], float] = time.perf_counter) -> list[Line]:
    tables = {name: TableBenchmark(path=name) for name in ("envelope", "lenet_mnist_tiny")}
    counts: dict[str, int] = {}

    def go(name: str, executor=None) -> Callable[[], None]:
        b = tables[name]
        scaled = budget * (4 if name == "lenet_mnist_tiny" else 1)

        def once() -> None:
            res = run(b, Hyperband(b.space, b.max_resource, optimizer_rng(0)), budget=scaled,
                      seed=0, method_name="hyperband", progress=False,
                      executor=executor() if executor else None)
            counts[name] = len(res.rows)
        return once

    t = interleaved_medians({"envelope": go("envelope"), "lenet": go("lenet_mnist_tiny"),
                             "simulated": go("envelope", lambda: SimulatedExecutor(4))},
                            repeats, clock=clock)
    env, lenet = t["envelope"] / counts["envelope"], t["lenet"] / counts["lenet_mnist_tiny"]
    sim = t["simulated"] / counts["envelope"]
    us = 1e6
    ratio = lenet / env
    return [
        Line("table_replay_lenet_vs_envelope_per_eval", lenet * us, env * us, "us", "<= 2x",
             ratio <= 2, f"Hyperband in memory: {counts['lenet_mnist_tiny']} evaluations "
             f"({4 * budget:g} R) on lenet_mnist_tiny (8 configurations, R=9) against "
             f"{counts['envelope']} ({budget:g} R) on the envelope table (1024 "
             "configurations, R=81)"),
        Line("table_replay_simulated_vs_serial_per_eval", sim * us, env * us, "us", "-", None,
             "the envelope table with executor=simulated, 4 workers, against the serial executor"),
    ]
