"""Promotion: the paper's ``top_k``."""
from __future__ import annotations

import math
from typing import Iterable


def top_k(results: Iterable[tuple[int, float, bool]], k: int) -> list[int]:
    """The ``k`` trial ids with the smallest loss among ``(trial_id, loss, ok)`` results.

    Failed (``ok`` false) or non-finite losses are never promoted, even when fewer than
    ``k`` remain.  Ties break by trial id, so the choice is deterministic.

    >>> top_k([(0, 0.3, True), (1, float("nan"), True), (2, 0.1, True), (3, 0.0, False)], 2)
    [2, 0]
    """
    if k <= 0:
        return []
    eligible = [(loss, tid) for tid, loss, ok in results
                if ok and loss is not None and math.isfinite(loss)]
    eligible.sort()
    return [tid for _, tid in eligible[:k]]
