"""A simulated-time executor: recorded runtimes on a virtual clock with N workers.

``executor=simulated executor.workers=N``.  Each job is evaluated at once in this process
(a table look-up, typically), and *takes* its recorded runtime on a virtual clock: the
benchmark's ``info.runtime`` (``benchmark=table`` reports the recorded seconds between the
checkpoint's resource and the job's), else ``time_per_unit`` x the resource it spent.  A
job starts when the run loop hands it over, which it does as soon as one of the N
workers is free, i.e. at the virtual time the last job it collected finished; results
come back in order of simulated completion (ties: in the order the jobs were handed
over), so asynchronous methods (ASHA, TPE and GP with several workers) see exactly what
they would see on N real workers with those runtimes, and synchronous ones (Hyperband)
idle at the end of each rung as they would.  Every row carries ``info.sim_start`` and
``info.sim_time`` (the job's finish on the virtual clock): figures can use the latter as
their wall-clock axis.  Everything is deterministic: the same method, seed and table give
the same rows and the same clock, whatever the machine's load.

How it fits the run loop without a hook: the loop polls ``done()`` on the futures of its
running jobs and collects those that are done; here exactly the running jobs with the
earliest finish time are done, and collecting one (``result()``) advances the clock to
its finish.  The loop keeps at most ``workers`` jobs running.

A run killed and resumed restarts the jobs that were running at the kill at the clock of
the last recorded row (their start times were not recorded), so its clock can differ
from an uninterrupted run's; a simulated run costs seconds, so rerun it into a new
directory when the clock matters.

Example (two workers, jobs of 3, 1 and 2 seconds: the third starts when the second ends)::

    >>> from hpobench.benchmarks.base import Benchmark
    >>> from hpobench.trial import Evaluation
    >>> class Sleepy(Benchmark):
    ...     space, max_resource = None, 1
    ...     def evaluate(self, config, resource, seed, resume_from=None):
    ...         return Evaluation(0.5, 0.5, resource, info={"runtime": config["t"]})
    >>> ex = SimulatedExecutor(workers=2); ex.start(Sleepy())
    >>> a, b = (ex.submit({"t": t}, 1, 0, None, 1) for t in (3.0, 1.0))
    >>> a.done(), b.done()
    (False, True)
    >>> b.result()[0].info["sim_time"], ex.now
    (1.0, 1.0)
    >>> c = ex.submit({"t": 2.0}, 1, 0, None, 1)
    >>> a.done(), c.done(), a.result()[0].info["sim_time"], c.result()[0].info["sim_time"]
    (True, True, 3.0, 3.0)
"""
from __future__ import annotations

import math
from typing import Any

from hpobench import validate
from hpobench.executors import Executor, evaluate_safely


class SimulatedExecutor(Executor):
    """N workers on a virtual clock (see the module docstring).

    ``workers``: simulated workers (integer >= 1); ``time_per_unit``: simulated seconds per
    unit of resource spent, for evaluations that report no ``runtime`` (a benchmark that
    is not a table), default 1.
    """

    #: the run loop must not evaluate ahead in batches: jobs start when a worker frees
    batches = False
    #: unlike real executors, the worker count changes the rows (the clock, and the
    #: order asynchronous methods see results in): the run loop makes :meth:`settings`
    #: part of the run's identity
    changes_rows = True

    def __init__(self, workers: int = 1, time_per_unit: float = 1.0):
        validate.integer("executor.workers", workers, low=1)
        validate.number("executor.time_per_unit", time_per_unit, low=0)
        self.workers = workers
        self.time_per_unit = float(time_per_unit)
        self.now = 0.0
        self._running: dict[int, "SimulatedFuture"] = {}
        self._handed = 0
        self._first_end = math.inf  # earliest finish among running jobs (None: recompute)

    def settings(self) -> dict:
        return {"executor": "simulated", "workers": self.workers,
                "time_per_unit": self.time_per_unit}

    def start(self, benchmark) -> None:
        self.benchmark = benchmark
        self.now, self._running, self._handed, self._first_end = 0.0, {}, 0, math.inf

    def submit(self, config, resource, seed, resume_from, planned) -> "SimulatedFuture":
        if len(self._running) >= self.workers:
            raise RuntimeError(f"simulated executor: a job was handed over while all "
                               f"{self.workers} workers were busy")
        ev, wall = evaluate_safely(self.benchmark, config, resource, seed, resume_from, planned)
        took = ev.info.get("runtime")
        if not (isinstance(took, (int, float)) and math.isfinite(took) and took >= 0):
            took = self.time_per_unit * float(ev.resource_spent)
        ev.info["sim_start"], ev.info["sim_time"] = self.now, self.now + float(took)
        fut = SimulatedFuture(self, self._handed, ev.info["sim_time"], (ev, wall))
        self._running[self._handed] = fut
        self._handed += 1
        if self._first_end is not None:
            self._first_end = min(self._first_end, fut.end)
        return fut

    def _first(self) -> float:
        """The earliest finish among running jobs (cached: the loop polls every job)."""
        if self._first_end is None:
            self._first_end = min((f.end for f in self._running.values()), default=math.inf)
        return self._first_end

    def _collect(self, fut: "SimulatedFuture") -> None:
        if self._running.pop(fut.seq, None) is not None:
            self.now = max(self.now, fut.end)
            self._first_end = None

    def shutdown(self) -> None:
        self._running = {}


class SimulatedFuture:
    """Done when no running job finishes earlier on the virtual clock; ``result()``
    collects it (its worker is free from then on, at its finish time)."""

    __slots__ = ("_executor", "seq", "end", "_value")

    def __init__(self, executor: SimulatedExecutor, seq: int, end: float, value: Any):
        self._executor, self.seq, self.end, self._value = executor, seq, end, value

    def done(self) -> bool:
        ex = self._executor
        return self.seq not in ex._running or self.end <= ex._first()

    def result(self, timeout=None):
        if not self.done():
            raise RuntimeError("simulated executor: result() of a job that finishes later "
                               "than another running job")
        self._executor._collect(self)
        return self._value
