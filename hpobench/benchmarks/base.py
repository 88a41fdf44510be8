"""The Benchmark interface: a function of (config, resource, seed, checkpoint)."""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Optional

from hpobench.space import SearchSpace
from hpobench.trial import Evaluation


class Benchmark(ABC):
    """A declared search space, a maximum resource ``R`` and its unit, and ``evaluate``.

    ``evaluate(config, resource, seed, resume_from)`` trains ``config`` up to ``resource``
    units in total. ``resume_from`` is a checkpoint this benchmark returned earlier for the
    same trial (or ``None``: start from scratch); the returned ``Evaluation`` records the
    resource actually spent. All randomness comes from ``seed`` (an int the run loop derives
    per trial from the run's seed), never from global state.
    """

    name: str = "benchmark"
    space: SearchSpace
    max_resource: int
    resource_unit: str = "unit"
    #: True when ``evaluate`` returns checkpoints that ``resume_from`` accepts.
    supports_resume: bool = False
    #: True when checkpoints are worth keeping on disk (expensive training), so a killed
    #: run resumes training instead of repeating it.
    persist_checkpoints: bool = False
    #: True when ``evaluate_many(jobs)`` (a list of ``(config, resource, seed,
    #: resume_from)``, returning one Evaluation each) evaluates a batch much faster than
    #: one call per job and each evaluation is cheap (a synthetic objective): the serial
    #: executor then evaluates a whole rung in one call.  Leave it False for real
    #: training: a kill would lose every finished evaluation of the batch.
    vectorised: bool = False

    @abstractmethod
    def evaluate(self, config: dict, resource: float, seed: int,
                 resume_from: Optional[Any] = None) -> Evaluation:
        ...

    def rebuild_checkpoint(self, config: dict, resource: float, seed: int) -> Optional[Any]:
        """A checkpoint at ``resource`` rebuilt without training, where that is possible
        (used when a resumed run's in-memory checkpoints are gone); default: impossible."""
        return None

    def checkpoint_resource(self, checkpoint: Any) -> Optional[float]:
        """The resource ``checkpoint`` was trained to, or None when it does not say.

        The run loop compares it with the record: a kill between saving a checkpoint and
        recording its row leaves a newer checkpoint than the record knows, and resuming
        from it would skip training.  Default: a mapping's ``"resource"`` entry."""
        if isinstance(checkpoint, dict) and "resource" in checkpoint:
            return float(checkpoint["resource"])
        return None

    def settings(self) -> dict:
        """Settings that identify this benchmark's variant (recorded with each run)."""
        return {}
