"""Resume by replay: tell a fresh method the recorded rows again, in the order it first
saw them, so its state (Hyperband's brackets and rungs, a model's history) is rebuilt
exactly and nothing is evaluated twice.

Every job the method asks for again must match the record (trial, resource,
configuration); otherwise the settings or the code changed, and the run directory cannot
be resumed (a one-line :class:`~hpobench.errors.ConfigError`).
"""
from __future__ import annotations

import math
from typing import Optional

from hpobench.errors import ConfigError
from hpobench.loop import Asked, Loop
from hpobench.trial import Evaluation, Job


def replay(loop: Loop, rows: list[dict], asked_before_budget_end: Optional[int] = None) -> None:
    """Tell recorded rows to the method again, rebuilding its state exactly.

    Each row records how many jobs had been submitted when it was committed
    (``submitted``), so asks and tells are replayed in the order they first happened:
    a method whose next job depends on which results it has seen (TPE, GP, ASHA run
    in parallel) asks exactly the jobs it asked before.  Every asked job must match
    the record (trial, resource and configuration), else the run cannot be resumed.
    Jobs that were submitted but never recorded (in flight at the crash) are left in
    ``loop.pending``, to run again first; so are the jobs asked after the last
    recorded row up to ``asked_before_budget_end`` (run.json's count of jobs asked
    when the budget stopped asking), which no row's ``submitted`` covers.
    """
    asked: dict[int, Asked] = {}  # by job id

    def ask_until(target: int, row: Optional[dict]) -> None:
        while loop.submitted < target:
            job = loop.opt.ask()
            if job is None:
                raise _cannot_resume("nothing", row)
            cost = loop.planned(job)
            loop.committed += cost
            loop.submitted += 1
            asked[job.job_id] = Asked(job, cost)

    for row in rows:
        target = row.get("submitted")
        ask_until(int(target) if target is not None and target == target
                  else row["job_id"] + 1, row)
        a = asked.pop(row["job_id"], None)
        job, cost = (a.job, a.cost) if a is not None else (None, 0.0)
        if job is None or job.trial_id != row["trial_id"] or not math.isclose(
                float(job.resource), float(row["resource"])) or not _same_config(job, row):
            raise _cannot_resume(
                "nothing" if job is None else
                f"trial {job.trial_id} at {job.resource} with {job.config}", row)
        ev = Evaluation(row["val_loss"], row["test_loss"], row["resource_spent"],
                        None, row["status"], row.get("error"))
        if float(row["resource_spent"]) > cost:  # retrained from scratch (lost checkpoint)
            loop.committed += float(row["resource_spent"]) - cost
        loop.opt.tell(job, ev)
        loop.after_tell(job, ev)
        loop.total = float(row["total_resource"])
        loop.incumbent.update(row)
        loop.n_rows += 1
    if asked_before_budget_end is not None:
        ask_until(asked_before_budget_end, None)
    loop.pending = [asked[j] for j in sorted(asked)]


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
