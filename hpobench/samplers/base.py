"""The Sampler interface: *which* configurations (schedules decide *how much* resource)."""
from __future__ import annotations

from abc import ABC, abstractmethod

from hpobench.space import SearchSpace


class Sampler(ABC):
    """Draws configurations for a schedule; may learn from observed results.

    Hyperband calls ``sample(n)`` at the start of each bracket (Algorithm 1, line 3) and
    ``observe`` after every evaluation, so a model-based sampler (BOHB's KDE, TPE) plugs
    in without touching the bracket code.
    """

    def __init__(self, space: SearchSpace, rng):
        self.space = space
        self.rng = rng

    @abstractmethod
    def sample(self, n: int) -> list[dict]:
        ...

    def observe(self, config: dict, resource: float, loss: float, ok: bool) -> None:
        """Record one evaluation (default: ignore)."""
