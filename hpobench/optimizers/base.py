"""The Optimizer interface: an ask/tell state machine that knows nothing about execution."""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Optional

from hpobench.space import SearchSpace
from hpobench.trial import Evaluation, Job


class Optimizer(ABC):
    """``ask() -> Job | None`` and ``tell(job, evaluation)``.

    ``ask`` returns ``None`` when nothing can be issued until outstanding jobs are told
    (or when the method is :attr:`finished`).  Each job may be told exactly once; a second
    tell, or a tell of a job this optimizer never issued, raises ``ValueError``.

    Subclasses implement :meth:`_next` (the next job or ``None``) and :meth:`_observe`.
    They call :meth:`_job` to make jobs, so ids and bookkeeping live here.
    """

    #: True when the job sequence does not depend on the order results come back, so a
    #: parallel run gives the same rows as a serial one (Hyperband, random, grid).
    order_independent: bool = False

    def __init__(self, space: SearchSpace, max_resource: int):
        self.space = space
        self.max_resource = max_resource
        self._pending: dict[int, Job] = {}
        self._next_job_id = 0
        self._next_trial_id = 0
        self._discarded: list[int] = []

    # -- public API ------------------------------------------------------------------
    def ask(self) -> Optional[Job]:
        job = self._next()
        if job is not None:
            self._pending[job.job_id] = job
        return job

    def tell(self, job: Job, evaluation: Evaluation) -> None:
        if self._pending.pop(job.job_id, None) is None:
            raise ValueError(f"job {job.job_id} (trial {job.trial_id}) was already told "
                             "or was never issued by this optimizer")
        self._observe(job, evaluation)

    @property
    def pending(self) -> int:
        """Number of jobs asked and not yet told."""
        return len(self._pending)

    @property
    def finished(self) -> bool:
        """True when the method will never issue another job (finite methods only)."""
        return False

    def settings(self) -> dict:
        """What identifies this method's search, recorded in run.json (a run directory
        that holds other settings is refused): the class, the space, and every public
        attribute that is a number, string, bool or None (or a list of them), its
        sampler's likewise.  Called on a fresh optimizer, before the first ask.
        Override where a setting lives elsewhere."""
        return {"class": type(self).__name__, "space": self.space.to_dict(),
                **_plain_attributes(self)}

    def drain_discarded(self) -> list[int]:
        """Trial ids that will never be asked again since the last call (their
        checkpoints can be deleted)."""
        out, self._discarded = self._discarded, []
        return out

    # -- for subclasses ----------------------------------------------------------------
    def _new_trial_id(self) -> int:
        t = self._next_trial_id
        self._next_trial_id += 1
        return t

    def _job(self, trial_id: int, config: dict, resource, iteration: Optional[int] = None,
             bracket: Optional[int] = None, rung: Optional[int] = None) -> Job:
        job = Job(self._next_job_id, trial_id, config, resource, iteration, bracket, rung)
        self._next_job_id += 1
        return job

    @abstractmethod
    def _next(self) -> Optional[Job]:
        ...

    @abstractmethod
    def _observe(self, job: Job, evaluation: Evaluation) -> None:
        ...


_SCALARS = (int, float, str, bool, type(None))


def _plain_attributes(obj) -> dict:
    """Public attributes of ``obj`` that are plain values; its ``sampler`` as the
    sampler's class name and plain attributes."""
    out: dict = {}
    for k, v in vars(obj).items():
        if k.startswith("_") or k == "space":
            continue
        if isinstance(v, _SCALARS):
            out[k] = v
        elif isinstance(v, (list, tuple)) and all(isinstance(x, _SCALARS) for x in v):
            out[k] = list(v)
        elif k == "sampler" and hasattr(v, "__dict__"):
            out[k] = {"class": type(v).__name__, **{
                a: b for a, b in vars(v).items() if not a.startswith("_")
                and isinstance(b, _SCALARS)}}
    return out
