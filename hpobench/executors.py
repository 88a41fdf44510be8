"""Where evaluations run: ``concurrent.futures``-style executors.

The run loop only calls ``submit(job_args) -> Future`` and waits on futures, so any
engine with that shape fits: :class:`SerialExecutor` (in this process, the default),
:class:`ProcessExecutor` (a local process pool) and :class:`DaskExecutor` (a Dask
cluster's ``Client``; dask is imported only when chosen).

The benchmark is handed to each worker once (pool initializer / scattered once), not
pickled with every job.
"""
from __future__ import annotations

import math
import time
import traceback
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, Optional

from hpobench import validate
from hpobench.errors import ConfigError
from hpobench.results import fault_point
from hpobench.trial import Evaluation

_WORKER_BENCHMARK = None


def evaluate_safely(benchmark, config: dict, resource: float, seed: int,
                    resume_from: Any, planned: float) -> tuple[Evaluation, float]:
    """Run one evaluation; an exception or a NaN loss becomes ``status=failed``.

    Returns the evaluation and its wall time in seconds.  A failure whose benchmark could
    not say how much it trained is charged the planned resource (an upper bound).
    """
    t0 = time.perf_counter()
    try:
        ev = benchmark.evaluate(config, resource, seed, resume_from)
        if not isinstance(ev, Evaluation):
            raise TypeError(f"{type(benchmark).__name__}.evaluate returned {type(ev).__name__}, "
                            "expected Evaluation")
    except Exception as e:  # noqa: BLE001 - any failure of one evaluation is recorded
        last = traceback.extract_tb(e.__traceback__)[-1:]
        where = f" at {last[0].filename}:{last[0].lineno}" if last else ""
        ev = Evaluation.failed(f"{type(e).__name__}: {e}{where}", planned)
    _settle(ev, planned)
    return ev, time.perf_counter() - t0


def _settle(ev: Evaluation, planned: float) -> None:
    """A loss set to NaN after the Evaluation was built still fails it; a resource the
    benchmark could not report is charged as planned (an upper bound)."""
    if ev.ok:
        ev.__post_init__()
    if ev.resource_spent is None or not math.isfinite(ev.resource_spent):
        ev.resource_spent = planned


def _init_worker(benchmark, parent: int) -> None:
    global _WORKER_BENCHMARK
    _WORKER_BENCHMARK = benchmark
    _exit_with_parent(parent)


def _exit_with_parent(parent: int, every_s: float = 0.5) -> None:
    """Exit this worker soon after the run's process dies (even by ``kill -9``), instead of
    training on as an orphan for a result nobody will record."""
    import os
    import threading

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every_s)
        os._exit(1)

    threading.Thread(target=watch, name="hpobench-parent-watch", daemon=True).start()


def _evaluate_in_worker(config, resource, seed, resume_from, planned):
    return evaluate_safely(_WORKER_BENCHMARK, config, resource, seed, resume_from, planned)


class SerialExecutor:
    """Evaluates in the calling process.

    ``batch``: ``"auto"`` (default) evaluates a whole batch of submitted jobs in one
    ``benchmark.evaluate_many`` call where the benchmark is ``vectorised`` (the envelope
    benchmark is, unless it sleeps to mimic training: a rung is one call), else each
    job at submit time; ``True`` forces
    batches (looping over ``evaluate`` when there is no ``evaluate_many``); ``False``
    never batches.  Batching changes no value: the run loop lets it run ahead only for
    methods whose jobs do not depend on result order (Hyperband, successive halving,
    random, grid), and commits results in the order they were asked.

    Example::

        >>> from hpobench.benchmarks.envelope import EnvelopeBenchmark
        >>> ex = SerialExecutor(); ex.start(EnvelopeBenchmark()); ex.batches
        True
    """

    workers = 1
    #: most jobs one batch holds (how far the run loop may ask ahead)
    max_batch = 4096

    def __init__(self, batch: Any = "auto"):
        self.batch = validate.choice("executor.batch", batch, ("auto", True, False))
        self.batches = False
        self._queue: list[tuple[tuple, "Lazy"]] = []

    def start(self, benchmark) -> None:
        self.benchmark = benchmark
        self.batches = self.batch is True or (
            self.batch == "auto" and getattr(benchmark, "vectorised", False))

    def submit(self, config, resource, seed, resume_from, planned):
        if not self.batches:
            f = Finished(evaluate_safely(self.benchmark, config, resource, seed, resume_from,
                                         planned))
            fault_point("evaluate")
            return f
        fut = Lazy(self)
        self._queue.append(((config, resource, seed, resume_from, planned), fut))
        return fut

    def flush(self) -> None:
        """Evaluate every queued job (one ``evaluate_many`` call) and settle its future."""
        queue, self._queue = self._queue, []
        if not queue:
            return
        results = evaluate_batch_safely(self.benchmark, [args for args, _ in queue])
        for (_, fut), result in zip(queue, results):
            fut._value = result
            fault_point("evaluate")

    def shutdown(self) -> None:
        self._queue = []


def evaluate_batch_safely(benchmark, jobs: list[tuple]) -> list[tuple[Evaluation, float]]:
    """:func:`evaluate_safely` for ``(config, resource, seed, resume_from, planned)`` jobs,
    through ``benchmark.evaluate_many`` when it has one; each job is charged an equal
    share of the batch's wall time.  If the batch call raises, the jobs are evaluated one
    by one, so one bad job is recorded as failed and the others still run."""
    many = getattr(benchmark, "evaluate_many", None)
    if many is None or len(jobs) == 1:
        return [evaluate_safely(benchmark, *job) for job in jobs]
    t0 = time.perf_counter()
    try:
        evs = many([job[:4] for job in jobs])
        if len(evs) != len(jobs) or not all(isinstance(ev, Evaluation) for ev in evs):
            raise TypeError(f"{type(benchmark).__name__}.evaluate_many must return one "
                            "Evaluation per job")
    except Exception:  # noqa: BLE001 - find the failing job(s) one at a time
        return [evaluate_safely(benchmark, *job) for job in jobs]
    wall = (time.perf_counter() - t0) / len(jobs)
    for ev, job in zip(evs, jobs):
        _settle(ev, job[4])
    return [(ev, wall) for ev in evs]


class Lazy:
    """The future of a job queued in a batching :class:`SerialExecutor`: asking whether
    it is done evaluates the whole queue (so the run loop's ``done()`` poll runs a batch)."""

    __slots__ = ("_executor", "_value")

    def __init__(self, executor: SerialExecutor) -> None:
        self._executor = executor
        self._value = None

    def done(self) -> bool:
        if self._value is None:
            self._executor.flush()
        return True

    def result(self, timeout=None):
        self.done()
        return self._value


class Finished:
    """The future of an evaluation that already ran: ``done()`` is true and ``result()``
    returns it.  (A ``concurrent.futures.Future`` costs a condition variable and three
    lock round trips per evaluation; the run loop calls ``wait`` only when no future is
    done, so it never sees one of these.)"""

    __slots__ = ("_value",)

    def __init__(self, value) -> None:
        self._value = value

    def done(self) -> bool:
        return True

    def result(self, timeout=None):
        return self._value


class ProcessExecutor:
    """A local pool of ``workers`` processes (``concurrent.futures.ProcessPoolExecutor``)."""

    def __init__(self, workers: int = 2, start_method: Optional[str] = None):
        self.workers = validate.integer("executor.workers", workers, low=1)
        self.start_method = start_method
        self._pool: Optional[ProcessPoolExecutor] = None

    def start(self, benchmark) -> None:
        import multiprocessing as mp
        import os

        self._benchmark = benchmark
        ctx = mp.get_context(self.start_method) if self.start_method else None
        self._pool = ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=_init_worker,
                                         initargs=(benchmark, os.getpid()))

    def submit(self, config, resource, seed, resume_from, planned) -> Future:
        from concurrent.futures.process import BrokenProcessPool

        try:
            return self._pool.submit(_evaluate_in_worker, config, resource, seed, resume_from,
                                     planned)
        except BrokenProcessPool:
            # a worker died (its jobs were recorded as failed): carry on with a fresh pool
            self._pool.shutdown(wait=False, cancel_futures=True)
            self.start(self._benchmark)
            return self._pool.submit(_evaluate_in_worker, config, resource, seed, resume_from,
                                     planned)

    def shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


class DaskExecutor:
    """Futures on a Dask cluster: ``address`` of a running scheduler, or ``None`` for a
    local cluster of ``workers`` processes.  Needs ``pip install -e .[dask]``."""

    def __init__(self, address: Optional[str] = None, workers: int = 2):
        try:
            import distributed  # noqa: F401
        except ImportError:
            raise ConfigError("executor=dask needs dask.distributed: pip install -e '.[dask]'") from None
        self.address, self.workers = address, workers
        self._client = None

    def start(self, benchmark) -> None:
        from distributed import Client, LocalCluster

        if self.address:
            self._client = Client(self.address)
        else:
            self._cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1,
                                         processes=True, dashboard_address=None)
            self._client = Client(self._cluster)
        self.workers = max(1, len(self._client.scheduler_info().get("workers", {})) or self.workers)
        [self._bench] = self._client.scatter([benchmark], broadcast=True)

    def submit(self, config, resource, seed, resume_from, planned) -> Future:
        fut = self._client.submit(evaluate_safely, self._bench, config, resource, seed,
                                  resume_from, planned, pure=False)
        return _as_concurrent(fut)

    def shutdown(self) -> None:
        if self._client is not None:
            self._client.close()
            if getattr(self, "_cluster", None) is not None:
                self._cluster.close()
            self._client = None


def _as_concurrent(dask_future) -> Future:
    """A ``concurrent.futures.Future`` that follows a Dask future, so the run loop can wait
    on any executor's futures with ``concurrent.futures.wait``."""
    out: Future = Future()

    def settle(f) -> None:
        try:
            out.set_result(f.result())
        except BaseException as e:  # noqa: BLE001 - the worker's failure, handed on
            out.set_exception(e)

    dask_future.add_done_callback(settle)
    return out
