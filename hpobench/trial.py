"""What passes between an optimizer, a benchmark and the run loop: a Job and its Evaluation."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Optional


@dataclass(frozen=True)
class Job:
    """One request of an optimizer: train configuration ``config`` (trial ``trial_id``)
    up to ``resource`` units in total.

    ``job_id`` is unique within a run (the order the optimizer issued jobs);
    ``iteration``, ``bracket`` and ``rung`` are set by schedules that have them
    (Hyperband, successive halving) and are ``None`` otherwise.
    """

    job_id: int
    trial_id: int
    config: dict
    resource: float
    iteration: Optional[int] = None
    bracket: Optional[int] = None
    rung: Optional[int] = None


@dataclass
class Evaluation:
    """What a benchmark returns for one job.

    ``val_loss`` guides the search, ``test_loss`` is only reported.  ``resource_spent``
    is what the benchmark actually trained (``r_i - r_(i-1)`` when it resumed from a
    checkpoint), never re-derived by the run loop.  ``checkpoint`` is whatever the
    benchmark needs to resume (``None`` if it cannot).
    """

    val_loss: float
    test_loss: float
    resource_spent: float
    checkpoint: Any = None
    status: str = "ok"
    error: Optional[str] = None
    info: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.status == "ok" and not _finite(self.val_loss):
            self.status = "failed"
            self.error = self.error or f"val_loss is {self.val_loss!r}"

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @classmethod
    def failed(cls, error: str, resource_spent: float) -> "Evaluation":
        return cls(math.nan, math.nan, resource_spent, None, "failed", error)


def _finite(x: Any) -> bool:
    try:
        return math.isfinite(float(x))
    except (TypeError, ValueError):
        return False
