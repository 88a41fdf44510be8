"""The search spaces of the paper's benchmarks, defined once and reused everywhere."""
from __future__ import annotations

from hpobench.space import Float, Int, SearchSpace


def lenet_space() -> SearchSpace:
    """The paper's LeNet space (Section 3.3): lr log [1e-3, 1e-1], batch size log-int
    [10, 1000], k2 int [10, 60], k1 int [5, k2]. Defined once, reused everywhere."""
    return SearchSpace([
        Float("learning_rate", 1e-3, 1e-1, log=True),
        Int("batch_size", 10, 1000, log=True),
        Int("k2", 10, 60),
        Int("k1", 5, "k2"),
    ])
