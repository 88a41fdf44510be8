"""Where evaluations run: ``concurrent.futures``-style executors.

:class:`Executor` is the contract the run loop relies on, and all it relies on; any
engine with that shape fits: :class:`SerialExecutor` (in this process, the default),
:class:`ProcessExecutor` (a local process pool), :class:`DaskExecutor` (a Dask
cluster's ``Client``; dask is imported only when chosen) and
:class:`hpobench.simulated.SimulatedExecutor` (a virtual clock over recorded runtimes).

The benchmark is handed to each worker once (pool initializer / scattered once), not
pickled with every job.
"""
from __future__ import annotations

import math
import numbers
import threading
import time
import traceback
from abc import ABC, abstractmethod
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, Optional

from hpobench import validate
from hpobench.errors import ConfigError
from hpobench.results import fault_point
from hpobench.trial import Evaluation

_WORKER_BENCHMARK = None


class Executor(ABC):
    """How evaluations run.  The contract, which is all the run loop relies on:

    * :attr:`workers`: how many evaluations may be in flight at once; the loop never
      has more submitted and uncollected.
    * :attr:`batches` (read after :meth:`start`): True when the executor evaluates the
      submitted jobs together, at the first ``done()`` poll of any of their futures.
      Then the loop may submit up to :attr:`max_batch` jobs ahead, but only for methods
      whose job sequence does not depend on results (``Optimizer.order_independent``).
    * :meth:`start` is called once, with the benchmark, before any :meth:`submit`;
      :meth:`shutdown` once at the end, also after an error or an interrupt.
    * :meth:`submit` takes one evaluation, by field (``config``, ``resource``, ``seed``,
      ``resume_from``: a checkpoint this benchmark returned earlier, or None;
      ``planned``: the resource the loop charged for it), and returns a future whose
      ``done()`` says whether it finished and whose ``result()`` is ``(Evaluation, wall
      seconds)``.  A failing evaluation is a result (:func:`evaluate_safely` records it
      as failed), never an exception; ``result()`` raises only when the executor itself
      failed (a worker died), and the loop then records the job as failed.
    * Futures may finish in any order: the loop commits results in ask order where that
      makes runs reproducible, so an executor need not preserve order.
    """

    #: evaluations that may run at once
    workers: int = 1
    #: True (after :meth:`start`) when submitted jobs are evaluated together
    batches: bool = False
    #: most jobs one batch holds (how far the loop may ask ahead when batching)
    max_batch: int = 1

    @abstractmethod
    def start(self, benchmark) -> None:
        """Get ready to evaluate ``benchmark`` (hand it to workers once)."""

    @abstractmethod
    def submit(self, config: dict, resource: float, seed: int, resume_from: Any,
               planned: float):
        """Start one evaluation; returns its future (see the class docstring)."""

    @abstractmethod
    def shutdown(self) -> None:
        """Release workers; pending futures may be abandoned."""


def evaluate_safely(benchmark, config: dict, resource: float, seed: int,
                    resume_from: Any, planned: float) -> tuple[Evaluation, float]:
    """Run one evaluation; whatever goes wrong becomes ``status=failed`` (see :func:`_settle`).

    Returns the evaluation and its wall time in seconds.  An exception, and also a
    ``SystemExit`` or any other ``BaseException`` the benchmark raises, fails this
    evaluation only (a benchmark's ``sys.exit`` is not the run's); ``KeyboardInterrupt``
    (Ctrl-C) still stops the run.  A failure whose benchmark could not say how much it
    trained is charged the planned resource (an upper bound).
    """
    t0 = time.perf_counter()
    try:
        ev = benchmark.evaluate(config, resource, seed, resume_from)
        if not isinstance(ev, Evaluation):
            raise TypeError(f"{type(benchmark).__name__}.evaluate returned {type(ev).__name__}, "
                            "expected Evaluation")
    except KeyboardInterrupt:
        raise
    except BaseException as e:  # noqa: BLE001 - any failure of one evaluation is recorded
        last = traceback.extract_tb(e.__traceback__)[-1:]
        where = f" at {last[0].filename}:{last[0].lineno}" if last else ""
        ev = Evaluation.failed(f"{type(e).__name__}: {e}{where}", planned)
    _settle(ev, planned)
    return ev, time.perf_counter() - t0


def _real(x: Any) -> bool:
    """A real number: int/float/NumPy scalar, not a bool, string, None, array or object."""
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def _settle(ev: Evaluation, planned: float) -> None:
    """Make an evaluation that lies safe to record; the rules (hpobench/docs/guarantees.md):

    * a loss that is not a finite real number (NaN, inf, a string, None, a NumPy object)
      fails the evaluation; non-numbers are recorded as NaN.  ``test_loss`` counts too: a
      configuration whose reported error is not a number never becomes the incumbent;
    * ``resource_spent`` that is not a finite real number >= 0 fails the evaluation,
      charged its planned cost (never a decrease of ``total_resource``);
    * ``resource_spent`` larger than planned fails the evaluation, charged its planned
      cost: the run charges no job more than the budget check allowed it, so
      ``total_resource <= budget x R`` always holds;
    * a status other than ``ok``/``failed`` fails it; ``info`` that is not a dict is dropped.
    """
    problems = []
    if ev.status not in ("ok", "failed"):
        problems.append(f"status is {ev.status!r}")
    for name in ("val_loss", "test_loss"):
        v = getattr(ev, name)
        if not _real(v):
            problems.append(f"{name} is {_show(v)}, not a real number")
            setattr(ev, name, math.nan)
        else:
            v = float(v)
            setattr(ev, name, v)
            if not math.isfinite(v):
                problems.append(f"{name} is {v!r}")
    spent = ev.resource_spent
    if not _real(spent) or not math.isfinite(spent) or spent < 0:
        if spent is not None:  # None: the benchmark could not say; charged as planned
            problems.append(f"resource_spent is {_show(spent)}")
        ev.resource_spent = float(planned)
    elif spent > planned * (1 + 1e-9) + 1e-9:
        problems.append(f"resource_spent {float(spent):g} exceeds the {float(planned):g} "
                        "planned for this job")
        ev.resource_spent = float(planned)
    else:
        ev.resource_spent = float(spent)
    if not isinstance(ev.info, dict):
        ev.info = {}
    if ev.error is not None and not isinstance(ev.error, str):
        ev.error = _show(ev.error)
    if problems and ev.status != "failed":
        ev.status = "failed"
        ev.error = "; ".join(problems)


def _show(x: Any) -> str:
    """A short repr of a value a benchmark returned (never huge, never raising)."""
    try:
        r = repr(x)
    except Exception:  # noqa: BLE001
        r = f"<{type(x).__name__}>"
    return r if len(r) <= 80 else r[:77] + "..."


def _init_worker(benchmark, parent: int) -> None:
    import signal

    global _WORKER_BENCHMARK
    _WORKER_BENCHMARK = benchmark
    # Ctrl-C reaches the whole process group: the run's process handles it (one line,
    # run.json written), workers just end with it instead of printing tracebacks
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    exit_with_parent(parent)


def exit_with_parent(parent: int, every_s: float = 0.5) -> None:
    """Exit this worker soon after the run's process dies (even by ``kill -9``), instead of
    training on as an orphan for a result nobody will record (also used by runners.sweep
    in the worker processes of a joblib multirun)."""
    import os
    import threading

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every_s)
        os._exit(1)

    threading.Thread(target=watch, name="hpobench-parent-watch", daemon=True).start()


def _evaluate_in_worker(config, resource, seed, resume_from, planned):
    return evaluate_safely(_WORKER_BENCHMARK, config, resource, seed, resume_from, planned)


class SerialExecutor(Executor):
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


class ProcessExecutor(Executor):
    """A local pool of ``workers`` processes (``concurrent.futures.ProcessPoolExecutor``).

    A worker process that dies (killed, out of memory, ``os._exit`` in a benchmark) breaks
    the whole pool, and every job in it with a ``BrokenProcessPool``.  Those jobs are not
    failed: they run again on a fresh pool, one at a time, so the job whose process dies
    when it runs alone is the one recorded failed ("worker process died") and the others
    get their real results.  After the last of them, the pool runs ``workers`` jobs again.
    """

    def __init__(self, workers: int = 2, start_method: Optional[str] = None):
        self.workers = validate.integer("executor.workers", workers, low=1,
                                        high=validate.MAX_WORKERS)
        self.start_method = start_method
        self._pool: Optional[ProcessPoolExecutor] = None
        self._lock = threading.Lock()
        self._suspects: list[tuple[tuple, Future]] = []  # jobs of a broken pool, to rerun
        self._isolating = False  # a thread reruns suspects one by one

    def start(self, benchmark) -> None:
        self._benchmark = benchmark
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        import multiprocessing as mp
        import os

        ctx = mp.get_context(self.start_method) if self.start_method else None
        return ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=_init_worker,
                                   initargs=(self._benchmark, os.getpid()))

    def submit(self, config, resource, seed, resume_from, planned) -> Future:
        args = (config, resource, seed, resume_from, planned)
        out: Future = Future()
        with self._lock:
            if self._isolating:  # one job at a time until the suspects are through
                self._suspects.append((args, out))
                return out
            pool = self._pool
        self._launch(pool, args, out)
        return out

    def _launch(self, pool, args, out: Future) -> None:
        from concurrent.futures.process import BrokenProcessPool

        try:
            inner = pool.submit(_evaluate_in_worker, *args)
        except (BrokenProcessPool, RuntimeError):  # broken (or shut down after a break)
            self._suspect(args, out)
            return

        def settle(f: Future) -> None:
            try:
                out.set_result(f.result())
            except BrokenProcessPool:
                self._suspect(args, out)
            except BaseException as e:  # noqa: BLE001 - handed on to the run loop
                out.set_exception(e)

        inner.add_done_callback(settle)

    def _suspect(self, args, out: Future) -> None:
        with self._lock:
            self._suspects.append((args, out))
            if self._isolating:
                return
            self._isolating = True
        threading.Thread(target=self._isolate, name="hpobench-isolate", daemon=True).start()

    def _isolate(self) -> None:
        """Rerun the jobs of a broken pool one at a time on a fresh pool."""
        from concurrent.futures.process import BrokenProcessPool

        old, self._pool = self._pool, self._new_pool()
        if old is not None:
            old.shutdown(wait=False)  # its running jobs finish or fail on their own
        while True:
            with self._lock:
                if not self._suspects or self._pool is None:
                    self._isolating = False
                    return
                args, out = self._suspects.pop(0)
                pool = self._pool
            try:
                out.set_result(pool.submit(_evaluate_in_worker, *args).result())
            except BrokenProcessPool:
                out.set_result((Evaluation.failed(
                    "worker process died while evaluating this job (alone on a fresh pool)",
                    args[4]), 0.0))
                with self._lock:
                    if self._pool is not None:
                        self._pool.shutdown(wait=False, cancel_futures=True)
                        self._pool = self._new_pool()
            except BaseException as e:  # noqa: BLE001
                if not out.done():
                    out.set_exception(e)

    def shutdown(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
            suspects, self._suspects = self._suspects, []
        for _, out in suspects:
            out.cancel()
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


class DaskExecutor(Executor):
    """Futures on a Dask cluster: ``address`` of a running scheduler, or ``None`` for a
    local cluster of ``workers`` processes.  Needs ``pip install -e .[dask]``."""

    def __init__(self, address: Optional[str] = None, workers: int = 2):
        try:
            import distributed  # noqa: F401
        except ImportError:
            raise ConfigError("executor=dask needs dask.distributed: pip install -e '.[dask]'") from None
        # workers=0 would wait for ever for a worker, holding the run's lock
        self.address = validate.optional(validate.text, "executor.address", address)
        self.workers = validate.integer("executor.workers", workers, low=1,
                                        high=validate.MAX_WORKERS)
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
