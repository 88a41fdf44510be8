"""One run: check the settings, open the run directory, resume by replay, run the loop.

The pieces live in their own rooms: :mod:`hpobench.rundir` (identity, lock, rows and
run.json), :mod:`hpobench.replay` (resume), :mod:`hpobench.loop` (ask, evaluate, tell,
record), :func:`hpobench.tables.evaluation_row` (the row schema, next to ``COLUMNS``),
:class:`hpobench.executors.Executor` (the executor contract).

One resource currency: each job is charged its planned cost before it starts
(``r_i - r_(i-1)`` when it resumes from a checkpoint, ``r_i`` otherwise), and a job whose
cost does not fit in what is left of ``budget x R`` is not started: the run stops there,
so no method ever spends more than its budget.  Each row records the resource asked, the
resource the benchmark reports it actually spent, and the running total of the latter.

Results are committed (told to the method and recorded) in the order the method asked
for them, whatever order a parallel executor finishes them in, so for methods whose job
sequence does not depend on result timing (Hyperband, successive halving, random, grid)
a parallel run writes the same rows as a serial one.

An interrupted run resumes: rows already recorded are told to a fresh method in order
(rebuilding its state exactly, bracket and rung positions included) and only the rest is
evaluated.

Example::

    >>> import numpy as np
    >>> from hpobench.benchmarks.envelope import EnvelopeBenchmark
    >>> from hpobench.optimizers import Hyperband
    >>> from hpobench.seeding import optimizer_rng
    >>> b = EnvelopeBenchmark()
    >>> res = run(b, Hyperband(b.space, 81, optimizer_rng(0)), budget=1581 / 81, seed=0,
    ...           method_name="hyperband")
    >>> len(res.rows), res.total_resource
    (206, 1581.0)
"""
from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from hpobench import progress as progress_report
from hpobench import results as res
from hpobench import rundir
from hpobench import validate
from hpobench.benchmarks.base import Benchmark
from hpobench.checkpoints import CheckpointStore
from hpobench.errors import ConfigError
from hpobench.executors import Executor, SerialExecutor
from hpobench.loop import Loop
from hpobench.optimizers.base import Optimizer
from hpobench.replay import replay


@dataclass(repr=False)
class RunResult:
    rows: list[dict]
    status: str
    total_resource: float
    incumbent: Optional[dict]
    run_dir: Optional[Path] = None
    info: dict = field(default_factory=dict)

    def frame(self):
        return res.rows_to_frame(self.rows)

    def __repr__(self) -> str:  # a summary: the rows are in .rows / .frame()
        inc = self.incumbent
        best = (f"incumbent test_loss={inc['test_loss']:.6g} val_loss={inc['val_loss']:.6g} "
                f"config={inc['config']}" if inc else "no successful evaluation")
        where = f", run_dir={str(self.run_dir)!r}" if self.run_dir is not None else ""
        return (f"RunResult(status={self.status!r}, {len(self.rows)} evaluations, "
                f"total_resource={self.total_resource:g}, {best}{where})")


def check_budget(budget: float, benchmark: Benchmark, min_resource: float) -> float:
    """Budget in units of resource; a budget below the smallest rung is an error."""
    validate.number("budget", budget, note="(multiples of R)")
    limit = float(budget) * benchmark.max_resource
    if limit < min_resource:
        raise ConfigError(
            f"budget: {budget} x R = {limit:g} {benchmark.resource_unit}s is smaller than the "
            f"smallest rung this method runs ({float(min_resource):g}); allowed: budget >= "
            f"{float(min_resource) / benchmark.max_resource:g}")
    return limit


def check_max_resource(optimizer: Optimizer, benchmark: Benchmark) -> None:
    """The method must plan with the benchmark's R (else it asks for resources the
    benchmark's budget and figures do not mean)."""
    r = getattr(optimizer, "max_resource", None)
    if r is not None and not math.isclose(float(r), float(benchmark.max_resource)):
        raise ConfigError(
            f"max_resource: the method was built for R={r:g} but benchmark "
            f"{benchmark.name!r} has R={benchmark.max_resource:g}; build it with "
            "max_resource=benchmark.max_resource")


def run(benchmark: Benchmark, optimizer: Optimizer, *, budget: float, seed: int,
        method_name: str, run_dir: Optional[str | Path] = None, reuse: bool = True,
        executor: Optional[Executor] = None, meta: Optional[dict] = None,
        progress: Optional[bool | float] = None, variant: str = "",
        min_resource: Optional[float] = None, budget_scale: float = 1,
        compact_every: int = 2000) -> RunResult:
    """Run ``optimizer`` on ``benchmark`` until ``budget`` x R units are spent.

    ``run_dir``: where ``evaluations.parquet`` and ``run.json`` go (``None``: in memory
    only).  A directory that already holds rows of this run is resumed; one whose
    ``run.json`` says ``complete`` is left alone; one holding a run with other settings is
    refused (:mod:`hpobench.rundir`).  ``variant`` labels the settings that distinguish
    this run beyond benchmark, method and seed (recorded in every row).
    ``budget_scale``: a method run as that many searches side by side (random_2x: 2)
    gets that many times the budget; its rows say so, so curves can be drawn against
    resource per search.
    """
    check_max_resource(optimizer, benchmark)
    progress_report.check(progress)  # None, a bool, or seconds between log lines
    scale = validate.number("budget_scale", budget_scale, low=1)
    limit = scale * check_budget(
        budget, benchmark, min_resource if min_resource is not None else _min_resource(optimizer))
    check = getattr(benchmark, "check_method", None)
    if check is not None:  # before any work, e.g. a table's grid holds every rung asked for
        check(optimizer)
    meta = dict(meta or {})
    settings = rundir.identity(benchmark, optimizer, method_name=method_name, seed=seed,
                               budget=budget, reuse=reuse, config=meta.get("config"),
                               budget_scale=scale)
    executor = executor or SerialExecutor()
    if getattr(executor, "changes_rows", False):  # a simulated clock: its workers shape the rows
        settings["executor_settings"] = executor.settings()
    directory = rundir.RunDirectory(run_dir, settings, {
        "method": method_name, "benchmark": benchmark.name, "seed": seed, "budget": budget,
        "max_resource": benchmark.max_resource, "resource_unit": benchmark.resource_unit,
        "reuse": reuse, "variant": variant, "settings": settings,
        "benchmark_settings": settings["benchmark_settings"],
        "executor": type(executor).__name__, "workers": executor.workers,
        **rundir.host(), "versions": res.versions(), **meta}, compact_every)
    if getattr(optimizer, "notes", None):  # a peer library's adapter says what it does differently
        directory.meta["method_notes"] = optimizer.notes  # the same dict: counts kept up to the end
    finished = directory.finished()  # refuses other settings before anything is written
    if finished is not None:
        rows, done = finished
        return RunResult(rows, "complete", done.get("total_resource", 0.0),
                         done.get("incumbent"), directory.path, {"skipped": True})

    def budget_spent() -> None:  # persisted, so a resumed run asks for nothing new either
        # the jobs asked before the budget stopped asking still run: a resumed run must
        # ask them again even when none of their rows was recorded
        directory.meta.update(budget_exhausted=True, submitted_at_budget_end=loop.submitted)
        directory.record("running", loop.summary(), durable=False)

    store = CheckpointStore.for_benchmark(benchmark, directory.path)
    loop = Loop(benchmark, optimizer, limit, seed, method_name, variant, reuse, store,
                directory.recorder, budget_scale=scale, on_budget_spent=budget_spent)
    status = "failed"
    directory.lock()
    try:
        rows, previous = directory.open()
        if rows:
            _resume(loop, directory, rows, previous)
        directory.record("running", loop.summary(), durable=False)
        executor.start(benchmark)
        directory.meta["batched"] = bool(executor.batches)
        try:
            status = loop.execute(executor, progress)
        finally:
            executor.shutdown()
    except KeyboardInterrupt:
        status = "interrupted"
        raise
    finally:
        directory.close(status, loop.summary(), on_complete=store.clear)
    info = {"utilisation": loop.utilisation()}
    if loop.retrained:
        info["retrained_from_scratch"] = list(loop.retrained)
    return RunResult(directory.recorder.rows, status, loop.total, loop.incumbent.summary(),
                     directory.path, info)


def _resume(loop: Loop, directory: rundir.RunDirectory, rows: list[dict],
            previous: dict) -> None:
    """Replay the recorded ``rows``, carrying over what run.json says about the budget."""
    exhausted = bool(previous.get("budget_exhausted"))
    asked = previous.get("submitted_at_budget_end")
    asked = asked if exhausted and isinstance(asked, int) else None
    replay(loop, rows, asked)
    loop.exhausted = directory.meta["budget_exhausted"] = exhausted
    if asked is not None:
        directory.meta["submitted_at_budget_end"] = asked
    directory.meta["resumed_from_rows"] = len(rows)
    print(f"hpobench: resuming {directory.path} from {len(rows)} recorded evaluations"
          + (f" ({len(loop.pending)} interrupted jobs to run again)" if loop.pending else ""),
          file=sys.stderr)


def _min_resource(optimizer: Optimizer) -> float:
    """Smallest resource the method asks for (the budget must cover one such job)."""
    return float(getattr(optimizer, "min_resource", optimizer.max_resource))
