"""The run loop: ask, evaluate, tell, record, until the budget is spent.

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
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional

from hpobench import results as res
from hpobench import rundir
from hpobench.benchmarks.base import Benchmark
from hpobench.checkpoints import CheckpointStore
from hpobench import validate
from hpobench.errors import ConfigError
from hpobench.executors import Finished, SerialExecutor
from hpobench.optimizers.base import Optimizer
from hpobench.seeding import trial_seed, trial_seeds
from hpobench.trial import Evaluation, Job


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


class _Incumbent:
    """Smallest validation loss so far; intermediate losses count (Algorithm 1, line 11)."""

    def __init__(self) -> None:
        self.best: Optional[dict] = None

    def update(self, row: dict) -> None:
        v, t = row["val_loss"], row["test_loss"]
        # a reported error that is not a number never makes an incumbent (rows recorded
        # before evaluations with a NaN test_loss were failed may still hold one)
        if row["status"] == "ok" and v is not None and math.isfinite(v) and t is not None \
                and math.isfinite(t) and (
                self.best is None or v < self.best["val_loss"]):
            self.best = row


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
        executor=None, meta: Optional[dict] = None, progress: Optional[bool] = None,
        variant: str = "", min_resource: Optional[float] = None,
        compact_every: int = 2000) -> RunResult:
    """Run ``optimizer`` on ``benchmark`` until ``budget`` x R units are spent.

    ``run_dir``: where ``evaluations.parquet`` and ``run.json`` go (``None``: in memory
    only).  A directory that already holds rows of this run is resumed; one whose
    ``run.json`` says ``complete`` is left alone.  ``variant`` names the settings that
    distinguish this run beyond benchmark, method and seed (recorded in every row).
    """
    # a method may run several searches side by side (random_2x): it gets budget_scale times
    # the budget, and its rows say so, so curves can be drawn against resource per search
    check_max_resource(optimizer, benchmark)
    progress = validate.optional(validate.boolean, "progress", progress)
    scale = float(getattr(optimizer, "budget_scale", 1))
    limit = scale * check_budget(
        budget, benchmark, min_resource if min_resource is not None else _min_resource(optimizer))
    check = getattr(benchmark, "check_method", None)
    if check is not None:  # before any work, e.g. a table's grid holds every rung asked for
        check(optimizer)
    run_dir = Path(run_dir).resolve() if run_dir is not None else None
    meta = dict(meta or {})
    settings = rundir.identity(benchmark, optimizer, method_name=method_name, seed=seed,
                               budget=budget, reuse=reuse, config=meta.get("config"))

    previous = rundir.read(run_dir) if run_dir is not None else {}
    if run_dir is not None:
        rundir.check_same_run(run_dir, previous, settings)  # before anything is written
        done = previous if previous.get("status") in ("complete", "finished") else None
        if done is not None:
            rows = res.Recorder(run_dir).load_existing()
            if len(rows) != done.get("n_evaluations"):  # never "complete: 0 evaluations"
                raise ConfigError(
                    f"{run_dir}: run.json says the run is complete with "
                    f"{done.get('n_evaluations')} evaluations but {res.TABLE} holds "
                    f"{len(rows) if (run_dir / res.TABLE).exists() else 'none (missing)'}; "
                    "restore it, or remove the directory to run again")
            print(f"hpobench: {run_dir} is complete ({len(rows)} evaluations); nothing to do",
                  file=sys.stderr)
            return RunResult(rows, "complete", done.get("total_resource", 0.0),
                             done.get("incumbent"), run_dir, {"skipped": True})
        run_dir.mkdir(parents=True, exist_ok=True)
    lock = res.Lock(run_dir).acquire() if run_dir is not None else None
    executor = executor or SerialExecutor()
    recorder = res.Recorder(run_dir, compact_every=compact_every)
    store = CheckpointStore.for_benchmark(benchmark, run_dir)
    loop = _Loop(benchmark, optimizer, limit, seed, method_name, variant, reuse, store, recorder)
    loop.budget_scale = scale
    started = datetime.now(timezone.utc).isoformat()
    run_meta = {
        "method": method_name, "benchmark": benchmark.name, "seed": seed, "budget": budget,
        "max_resource": benchmark.max_resource, "resource_unit": benchmark.resource_unit,
        "reuse": reuse, "variant": variant, "settings": settings,
        "benchmark_settings": settings["benchmark_settings"],
        "executor": type(executor).__name__, "workers": getattr(executor, "workers", 1),
        **rundir.host(), "versions": res.versions(), **meta,
    }
    if getattr(optimizer, "notes", None):  # a peer library's adapter says what it does differently
        run_meta["method_notes"] = optimizer.notes  # the same dict: counts kept up to the end
    status = "failed"
    opened = False

    def budget_spent() -> None:  # persisted, so a resumed run asks for nothing new either
        run_meta["budget_exhausted"] = True
        # the jobs asked before the budget stopped asking still run: a resumed run must
        # ask them again even when none of their rows was recorded
        run_meta["submitted_at_budget_end"] = loop.submitted
        _write_run_json(run_dir, run_meta, started, None, "running", loop, durable=False)

    loop.on_budget_spent = budget_spent
    try:
        existing = recorder.load_existing()
        recorder.open(existing)
        opened = True
        if existing:
            previous = rundir.read(run_dir)  # again, now that we hold the lock
            rundir.check_same_run(run_dir, previous, settings)
            exhausted = bool(previous.get("budget_exhausted"))
            asked = previous.get("submitted_at_budget_end")
            asked = asked if exhausted and isinstance(asked, int) else None
            loop.replay(existing, asked)
            loop.exhausted = run_meta["budget_exhausted"] = exhausted
            if asked is not None:
                run_meta["submitted_at_budget_end"] = asked
            run_meta["resumed_from_rows"] = len(existing)
            print(f"hpobench: resuming {run_dir} from {len(existing)} recorded evaluations"
                  + (f" ({len(loop.pending)} interrupted jobs to run again)" if loop.pending
                     else ""), file=sys.stderr)
        _write_run_json(run_dir, run_meta, started, None, "running", loop, durable=False)
        executor.start(benchmark)
        run_meta["batched"] = bool(getattr(executor, "batches", False))
        try:
            status = loop.execute(executor, progress)
        finally:
            executor.shutdown()
    except KeyboardInterrupt:
        status = "interrupted"
        raise
    finally:
        if opened:  # never overwrite the table with rows we failed to read
            recorder.compact()
        complete = status in ("complete", "finished")
        _write_run_json(run_dir, run_meta, started, datetime.now(timezone.utc).isoformat(),
                        status, loop)
        recorder.close(remove_journal=complete)
        if complete:
            store.clear()
        if lock is not None:
            lock.release()
    info = {"utilisation": loop.utilisation()}
    if loop.retrained:
        info["retrained_from_scratch"] = list(loop.retrained)
    return RunResult(recorder.rows, status, loop.total, _incumbent_summary(loop), run_dir, info)


class _Loop:
    def __init__(self, benchmark, optimizer, limit, seed, method_name, variant, reuse, store,
                 recorder):
        self.b, self.opt, self.limit, self.seed = benchmark, optimizer, limit, seed
        self.method, self.variant, self.reuse = method_name, variant, reuse
        self.store, self.recorder = store, recorder
        self.total = 0.0        # resource actually spent (sum of resource_spent)
        self.committed = 0.0    # planned cost of every job started (the budget check)
        self.ckpt_at: dict[int, float] = {}  # trial id -> resource of its checkpoint
        self.incumbent = _Incumbent()
        self.t0 = time.perf_counter()
        self.busy = 0.0
        self.n_rows = 0
        self.submitted = 0      # jobs handed to the executor so far (replayed ones included)
        # (job, planned cost) asked and submitted before a crash, never recorded
        self.pending: list[tuple[Job, float]] = []
        self.exhausted = False  # the budget stopped asking (persisted in run.json)
        self.on_budget_spent = lambda: None
        self.budget_scale = 1.0
        self._config_cols: dict[str, str] = {n: f"config.{n}" for n in benchmark.space.names}
        self._seeds: dict[int, int] = {}  # trial id -> its benchmark seed
        #: trials whose checkpoint was missing or unreadable: retrained from scratch
        self.retrained: list[int] = []

    def trial_seed(self, trial_id: int) -> int:
        """The benchmark's seed for ``trial_id``, derived once per trial (a promoted trial
        is asked for again at every rung)."""
        s = self._seeds.get(trial_id)
        if s is None:
            s = self._seeds[trial_id] = trial_seed(self.seed, trial_id)
        return s

    def _derive_seeds(self, trial_ids) -> None:
        """Derive the seeds of a batch of new trials in one vectorised call."""
        new = [t for t in trial_ids if t not in self._seeds]
        if len(new) > 1:
            self._seeds.update(zip(new, trial_seeds(self.seed, new)))

    # -- cost planning -----------------------------------------------------------------
    def planned(self, job: Job) -> float:
        if self.reuse and job.trial_id in self.ckpt_at:
            return float(job.resource) - self.ckpt_at[job.trial_id]
        return float(job.resource)

    def _after_tell(self, job: Job, ev: Evaluation) -> None:
        discarded = self.opt.drain_discarded()
        if self.reuse and ev.ok and self.b.supports_resume and job.trial_id not in discarded:
            self.ckpt_at[job.trial_id] = float(job.resource)
            if ev.checkpoint is not None:
                self.store.put(job.trial_id, ev.checkpoint)
        for tid in discarded:
            self.ckpt_at.pop(tid, None)
            self._seeds.pop(tid, None)
            self.store.delete(tid)

    # -- resume ------------------------------------------------------------------------
    def replay(self, rows: list[dict], asked_before_budget_end: Optional[int] = None) -> None:
        """Tell recorded rows to the method again, rebuilding its state exactly.

        Each row records how many jobs had been submitted when it was committed
        (``submitted``), so asks and tells are replayed in the order they first happened:
        a method whose next job depends on which results it has seen (TPE, GP, ASHA run
        in parallel) asks exactly the jobs it asked before.  Every asked job must match
        the record (trial, resource and configuration), else the run cannot be resumed.
        Jobs that were submitted but never recorded (in flight at the crash) are left in
        :attr:`pending`, to run again first; so are the jobs asked after the last
        recorded row up to ``asked_before_budget_end`` (run.json's count of jobs asked
        when the budget stopped asking), which no row's ``submitted`` covers.
        """
        asked: dict[int, tuple[Job, float]] = {}  # job id -> (job, planned cost)

        def ask_until(target: int, row: Optional[dict]) -> None:
            while self.submitted < target:
                job = self.opt.ask()
                if job is None:
                    raise _cannot_resume("nothing", row)
                cost = self.planned(job)
                self.committed += cost
                self.submitted += 1
                asked[job.job_id] = (job, cost)

        for row in rows:
            target = row.get("submitted")
            ask_until(int(target) if target is not None and target == target
                      else row["job_id"] + 1, row)
            job, cost = asked.pop(row["job_id"], (None, 0.0))
            if job is None or job.trial_id != row["trial_id"] or not math.isclose(
                    float(job.resource), float(row["resource"])) or not _same_config(job, row):
                raise _cannot_resume(
                    "nothing" if job is None else
                    f"trial {job.trial_id} at {job.resource} with {job.config}", row)
            ev = Evaluation(row["val_loss"], row["test_loss"], row["resource_spent"],
                            None, row["status"], row.get("error"))
            if float(row["resource_spent"]) > cost:  # retrained from scratch (lost checkpoint)
                self.committed += float(row["resource_spent"]) - cost
            self.opt.tell(job, ev)
            self._after_tell(job, ev)
            self.total = float(row["total_resource"])
            self.incumbent.update(row)
            self.n_rows += 1
        if asked_before_budget_end is not None:
            ask_until(asked_before_budget_end, None)
        self.pending = [asked[j] for j in sorted(asked)]

    # -- the loop ----------------------------------------------------------------------
    def execute(self, executor, progress: Optional[bool]) -> str:
        self.t_exec = [time.perf_counter(), None]  # utilisation counts this window only
        bar = _progress(progress, self.limit, self.b, self.method)
        inflight: dict[int, tuple[Job, Any, float, float]] = {}  # job_id -> (job, future, ask_t, planned)
        done: dict[int, tuple] = {}
        order: list[int] = []  # job ids in ask order, not yet committed
        exhausted = self.exhausted
        status = "complete"
        ordered = self.opt.order_independent
        # a batching executor evaluates everything asked so far in one call, so it may run
        # ahead only where the job sequence does not depend on results (a whole rung)
        capacity = (executor.max_batch if ordered and getattr(executor, "batches", False)
                    else max(1, int(getattr(executor, "workers", 1))))

        def submit(job: Job, ask_t: float, cost: float) -> None:
            resume = self._resume_from(job)
            if resume is None and self.reuse and job.trial_id in self.ckpt_at:
                # its checkpoint is gone: it trains from scratch, which costs the whole
                # resource; charged now, so the budget check still holds
                extra = float(job.resource) - cost
                if self.committed + extra > self.limit + 1e-9:
                    fut = Finished((Evaluation.failed(
                        "checkpoint missing or unreadable, and retraining from scratch does "
                        "not fit in the budget left", 0.0), 0.0))
                else:
                    self.committed += extra
                    cost = float(job.resource)
                    fut = None
            else:
                fut = None
            if fut is None:
                fut = executor.submit(job.config, job.resource, self.trial_seed(job.trial_id),
                                      resume, cost)
            inflight[job.job_id] = (job, fut, ask_t, cost)
            order.append(job.job_id)
            res.fault_point("submit")

        # jobs that were in flight when an earlier process died: their cost is already
        # committed and the method waits for them, so they run again first
        for job, cost in self.pending:
            submit(job, 0.0, cost)
        self.pending = []
        try:
            while True:
                # every result told so far is recorded by now (append_many below), so a
                # resumed run that replays the record asks exactly these jobs again
                asked: list[tuple[Job, float, float]] = []  # (job, ask time, planned cost)
                while not exhausted and len(inflight) + len(asked) < capacity:
                    t = time.perf_counter()
                    job = self.opt.ask()
                    ask_t = time.perf_counter() - t
                    if job is None:
                        if self.opt.finished and not inflight and not asked:
                            exhausted, status = True, "finished"
                        break
                    cost = self.planned(job)
                    if self.committed + cost > self.limit + 1e-9:
                        exhausted = True  # the budget stops the run here
                        self.on_budget_spent()
                        break
                    self.committed += cost
                    self.submitted += 1
                    asked.append((job, ask_t, cost))
                self._derive_seeds(job.trial_id for job, _, _ in asked)
                for job, ask_t, cost in asked:
                    submit(job, ask_t, cost)
                if not inflight:
                    break
                self._collect(inflight, done)
                # commit finished results: in ask order when that makes runs reproducible
                ready = [order[0]] if ordered else [j for j in order if j in done]
                rows: list[dict] = []
                try:
                    while ready and ready[0] in done:
                        jid = ready.pop(0)
                        order.remove(jid)
                        rows.append(self._commit(*done.pop(jid)))
                        if ordered:
                            ready = [order[0]] if order else []
                finally:  # what was told is recorded, in one journal write per batch
                    self.recorder.append_many(rows)
                if bar is not None and rows:
                    _bar_update(bar, self)
        finally:
            self.t_exec[1] = time.perf_counter()
            if bar is not None:
                bar.close()
        return status

    def _resume_from(self, job: Job):
        if not (self.reuse and job.trial_id in self.ckpt_at):
            return None
        ck = self.store.get(job.trial_id)
        if isinstance(ck, dict) and "resource" in ck and not math.isclose(
                float(ck["resource"]), self.ckpt_at[job.trial_id]):
            # a kill between saving this checkpoint and recording its row leaves a newer
            # checkpoint than the record knows: resuming from it would skip training
            ck = None
        if ck is None:
            ck = self.b.rebuild_checkpoint(job.config, self.ckpt_at[job.trial_id],
                                           self.trial_seed(job.trial_id))
        if ck is None:
            self.retrained.append(job.trial_id)
            print(f"hpobench: warning: checkpoint of trial {job.trial_id} is missing or "
                  "unreadable; retraining it from scratch", file=sys.stderr)
        return ck

    def _collect(self, inflight: dict, done: dict) -> None:
        from concurrent.futures import FIRST_COMPLETED, wait

        futs = {v[1]: k for k, v in inflight.items()}
        finished = [f for f in futs if f.done()]
        if not finished:
            finished, _ = wait(list(futs), return_when=FIRST_COMPLETED)
        for f in finished:
            jid = futs[f]
            job, _, ask_t, cost = inflight.pop(jid)
            try:
                ev, wall = f.result()
            except Exception as e:  # the executor itself failed (worker died, ...)
                ev, wall = Evaluation.failed(f"executor: {type(e).__name__}: {e}", cost), 0.0
            self.busy += wall
            done[jid] = (job, ev, wall, ask_t)

    def _commit(self, job: Job, ev: Evaluation, wall: float, ask_t: float) -> dict:
        """Tell the result to the method; returns its row (the caller records it)."""
        t = time.perf_counter()
        self.opt.tell(job, ev)
        self._after_tell(job, ev)
        tell_t = time.perf_counter() - t
        res.fault_point("commit")
        spent = float(ev.resource_spent)
        self.total += spent
        row = {
            "method": self.method, "benchmark": self.b.name, "seed": self.seed,
            "trial_id": job.trial_id, "iteration": job.iteration, "bracket": job.bracket,
            "rung": job.rung, "resource": float(job.resource), "resource_spent": spent,
            "total_resource": self.total, "val_loss": float(ev.val_loss),
            "test_loss": float(ev.test_loss), "status": ev.status, "wall_time": wall,
            "optimizer_time": ask_t + tell_t, "elapsed": time.perf_counter() - self.t0,
            "job_id": job.job_id, "submitted": self.submitted, "error": ev.error,
            "max_resource": self.b.max_resource,
            "variant": self.variant, "budget_scale": self.budget_scale,
        }
        cols = self._config_cols
        for k, v in job.config.items():
            row[cols.get(k) or f"config.{k}"] = v
        for k, v in ev.info.items():
            row[f"info.{k}"] = v
        self.incumbent.update(row)
        self.n_rows += 1
        return row

    def utilisation(self) -> float:
        """Busy worker-seconds per second of the evaluation loop (imports, replay and the
        final writes are outside the window): ~N when N workers never idle."""
        start, end = getattr(self, "t_exec", (self.t0, None))
        wall = (end or time.perf_counter()) - start
        return self.busy / wall if wall > 0 else 0.0


def _same_config(job: Job, row: dict) -> bool:
    def same(a, b) -> bool:
        missing = lambda v: v is None or (isinstance(v, float) and math.isnan(v))
        return (missing(a) and missing(b)) or a == b
    return all(same(v, row.get(f"config.{k}")) for k, v in job.config.items())


def _cannot_resume(asked: str, row: Optional[dict]) -> ConfigError:
    if row is None:
        return ConfigError(
            f"cannot resume: the method now asks for {asked} where run.json says jobs were "
            "asked before the budget ran out; did the settings or the code change? use a "
            "new run directory")
    config = {k[7:]: v for k, v in row.items() if k.startswith("config.")}
    return ConfigError(
        f"cannot resume: the method now asks for {asked} where the record has trial "
        f"{row['trial_id']} at {row['resource']} with {config} (job {row['job_id']}); did the "
        "settings or the code change? use a new run directory")


def _min_resource(optimizer: Optimizer) -> float:
    """Smallest resource the method asks for (the budget must cover one such job)."""
    return float(getattr(optimizer, "min_resource", optimizer.max_resource))


def _incumbent_summary(loop: _Loop) -> Optional[dict]:
    b = loop.incumbent.best
    if b is None:
        return None
    return {k: b[k] for k in ("trial_id", "val_loss", "test_loss", "resource", "total_resource")} | {
        "config": {k[7:]: v for k, v in b.items() if k.startswith("config.")}}


def _write_run_json(run_dir, meta, started, ended, status, loop: _Loop,
                    durable: bool = True) -> None:
    """``durable=False`` for the "running" record: the final one replaces it (fsynced)."""
    rundir.write(run_dir, {
        **meta, "status": status, "started": started, "ended": ended,
        "n_evaluations": loop.n_rows, "total_resource": loop.total,
        "budget_resource": loop.limit, "incumbent": _incumbent_summary(loop),
        "utilisation": loop.utilisation(),
        **({"retrained_from_scratch": loop.retrained} if loop.retrained else {}),
    }, durable=durable)


def _progress(progress: Optional[bool], limit: float, b: Benchmark, method: str):
    if progress is None:
        progress = sys.stderr.isatty()
    if not progress:
        return None
    from tqdm import tqdm

    return tqdm(total=limit, desc=f"{b.name}/{method}", unit=b.resource_unit,
                dynamic_ncols=True, leave=True)


def _bar_update(bar, loop: _Loop) -> None:
    bar.update(loop.total - bar.n)
    best = loop.incumbent.best
    bar.set_postfix(evals=loop.n_rows,
                    incumbent=f"{best['test_loss']:.4f}" if best else "-", refresh=False)
