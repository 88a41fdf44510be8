"""The scheduling loop: ask, submit, collect, tell, record, until the budget is committed.

One resource currency: each job is charged its planned cost before it starts
(``r_i - r_(i-1)`` when it resumes from a checkpoint, ``r_i`` otherwise), and a job whose
cost does not fit in what is left of the limit is not started: the loop stops asking
there, so no method ever spends more than its budget.

Results are committed (told to the method and recorded) in the order the method asked
for them when the method is ``order_independent`` (whatever order a parallel executor
finishes them in), so a parallel run writes the same rows as a serial one; other methods
commit each result as it arrives.  The executor is used through the contract of
:class:`hpobench.executors.Executor` alone.
"""
from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable, Optional

from hpobench import progress as progress_report
from hpobench import results as res
from hpobench.executors import Finished
from hpobench.seeding import trial_seed, trial_seeds
from hpobench.tables import evaluation_row
from hpobench.trial import Evaluation, Job


@dataclass
class Asked:
    """A job the method asked for, with its planned cost (and how long asking took)."""

    job: Job
    cost: float
    ask_time: float = 0.0


@dataclass
class InFlight:
    """A job handed to the executor, not yet finished."""

    job: Job
    future: Any
    ask_time: float
    cost: float


@dataclass
class Done:
    """A finished job's evaluation, waiting to be committed in its turn."""

    job: Job
    evaluation: Evaluation
    wall: float
    ask_time: float


class Incumbent:
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

    def summary(self) -> Optional[dict]:
        b = self.best
        if b is None:
            return None
        return {k: b[k] for k in ("trial_id", "val_loss", "test_loss", "resource",
                                  "total_resource")} | {
            "config": {k[7:]: v for k, v in b.items() if k.startswith("config.")}}


class Loop:
    """Ask, evaluate, tell, record until the budget ``limit`` (units) is committed.

    Its state (what was spent, committed and submitted, checkpoints, the incumbent) is
    its own: :func:`hpobench.replay.replay` rebuilds it from recorded rows, and
    :meth:`summary` is what run.json says about it.
    """

    def __init__(self, benchmark, optimizer, limit: float, seed: int, method_name: str,
                 variant: str, reuse: bool, store, recorder, budget_scale: float = 1.0,
                 on_budget_spent: Callable[[], None] = lambda: None):
        self.b, self.opt, self.limit, self.seed = benchmark, optimizer, limit, seed
        self.method, self.variant, self.reuse = method_name, variant, reuse
        self.store, self.recorder = store, recorder
        self.total = 0.0        # resource actually spent (sum of resource_spent)
        self.committed = 0.0    # planned cost of every job started (the budget check)
        self.ckpt_at: dict[int, float] = {}  # trial id -> resource of its checkpoint
        self.incumbent = Incumbent()
        self.t0 = time.perf_counter()
        self.t_exec: list = [self.t0, None]  # the evaluation window (execute sets it)
        self.busy = 0.0
        self.n_rows = 0
        self.submitted = 0      # jobs handed to the executor so far (replayed ones included)
        # jobs asked and submitted before a crash, never recorded (set by replay)
        self.pending: list[Asked] = []
        self.exhausted = False  # the budget stopped asking (persisted in run.json)
        self.on_budget_spent = on_budget_spent
        self.budget_scale = budget_scale
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

    def after_tell(self, job: Job, ev: Evaluation) -> None:
        """Keep the checkpoint of a trial the method may promote; drop discarded ones."""
        discarded = self.opt.drain_discarded()
        if self.reuse and ev.ok and self.b.supports_resume and job.trial_id not in discarded:
            self.ckpt_at[job.trial_id] = float(job.resource)
            if ev.checkpoint is not None:
                self.store.put(job.trial_id, ev.checkpoint)
        for tid in discarded:
            self.ckpt_at.pop(tid, None)
            self._seeds.pop(tid, None)
            self.store.delete(tid)

    # -- the loop ----------------------------------------------------------------------
    def execute(self, executor, progress: Optional[bool | float]) -> str:
        self.t_exec = [time.perf_counter(), None]  # utilisation counts this window only
        bar = progress_report.reporter(progress, self.limit, self.b.max_resource,
                                       f"{self.b.name}/{self.method} seed={self.seed}",
                                       start=self.total)
        inflight: dict[int, InFlight] = {}  # by job id
        done: dict[int, Done] = {}
        order: list[int] = []  # job ids in ask order, not yet committed
        exhausted = self.exhausted
        status = "complete"  # the budget stopped the run; "finished": the method ran out first
        ordered = self.opt.order_independent
        # a batching executor evaluates everything asked so far in one call, so it may run
        # ahead only where the job sequence does not depend on results (a whole rung)
        capacity = (executor.max_batch if ordered and executor.batches
                    else max(1, int(executor.workers)))

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
            inflight[job.job_id] = InFlight(job, fut, ask_t, cost)
            order.append(job.job_id)
            res.fault_point("submit")

        # jobs that were in flight when an earlier process died: their cost is already
        # committed and the method waits for them, so they run again first
        for p in self.pending:
            submit(p.job, 0.0, p.cost)
        self.pending = []
        try:
            while True:
                # every result told so far is recorded by now (append_many below), so a
                # resumed run that replays the record asks exactly these jobs again
                asked: list[Asked] = []
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
                    asked.append(Asked(job, cost, ask_t))
                self._derive_seeds(a.job.trial_id for a in asked)
                for a in asked:
                    submit(a.job, a.ask_time, a.cost)
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
                        rows.append(self._commit(done.pop(jid)))
                        if ordered:
                            ready = [order[0]] if order else []
                finally:  # what was told is recorded, in one journal write per batch
                    self.recorder.append_many(rows)
                if bar is not None and rows:
                    bar.update(self.n_rows, self.total, self.incumbent.best)
        finally:
            self.t_exec[1] = time.perf_counter()
            if bar is not None:
                bar.close()
        return status

    def _resume_from(self, job: Job):
        if not (self.reuse and job.trial_id in self.ckpt_at):
            return None
        ck = self.store.get(job.trial_id)
        at = self.b.checkpoint_resource(ck) if ck is not None else None
        if at is not None and not math.isclose(float(at), self.ckpt_at[job.trial_id]):
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

        futs = {v.future: k for k, v in inflight.items()}
        finished = [f for f in futs if f.done()]
        if not finished:
            finished, _ = wait(list(futs), return_when=FIRST_COMPLETED)
        for f in finished:
            jid = futs[f]
            fl = inflight.pop(jid)
            try:
                ev, wall = f.result()
            except Exception as e:  # the executor itself failed (worker died, ...)
                ev, wall = Evaluation.failed(f"executor: {type(e).__name__}: {e}", fl.cost), 0.0
            self.busy += wall
            done[jid] = Done(fl.job, ev, wall, fl.ask_time)

    def _commit(self, d: "Done") -> dict:
        """Tell the result to the method; returns its row (the caller records it)."""
        job, ev = d.job, d.evaluation
        t = time.perf_counter()
        self.opt.tell(job, ev)
        self.after_tell(job, ev)
        tell_t = time.perf_counter() - t
        res.fault_point("commit")
        self.total += float(ev.resource_spent)
        row = evaluation_row(
            job, ev, method=self.method, benchmark=self.b.name, seed=self.seed,
            total_resource=self.total, wall_time=d.wall, optimizer_time=d.ask_time + tell_t,
            elapsed=time.perf_counter() - self.t0, submitted=self.submitted,
            max_resource=self.b.max_resource, variant=self.variant,
            budget_scale=self.budget_scale, config_columns=self._config_cols)
        self.incumbent.update(row)
        self.n_rows += 1
        return row

    def utilisation(self) -> float:
        """Busy worker-seconds per second of the evaluation loop (imports, replay and the
        final writes are outside the window): ~N when N workers never idle."""
        start, end = self.t_exec
        wall = (end or time.perf_counter()) - start
        return self.busy / wall if wall > 0 else 0.0

    def summary(self) -> dict:
        """What run.json says about the loop's progress."""
        return {"n_evaluations": self.n_rows, "total_resource": self.total,
                "budget_resource": self.limit, "incumbent": self.incumbent.summary(),
                "utilisation": self.utilisation(),
                **({"retrained_from_scratch": self.retrained} if self.retrained else {})}
