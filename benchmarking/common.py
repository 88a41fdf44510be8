"""What every measurement shares: a result line, "not available", and round-robin timing.

Every figure is a ratio against a baseline measured in the same process run, the timing
the median of ``repeats`` rounds (see :func:`interleaved_medians`).  A measurement that
cannot run here (an optional method or benchmark that is missing) returns a line saying
"not available" and why, never a made-up number.  Timings are *warm*: one untimed call
first, so one-off imports (pyarrow, optuna) are not counted; the cold first call is
reported on its own line where it matters.

Example::

    >>> Line("loop", measured=2.0, baseline=8.0, unit="ms", goal="ratio <= 0.5", met=True).ratio
    0.25
"""
from __future__ import annotations

import statistics
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Optional

#: One Hyperband iteration at R=81, eta=3 (Algorithm 1): 143 configurations, 206
#: evaluations, 1581 units when promoted configurations resume from checkpoints.
R, ETA, HB_UNITS, HB_EVALS = 81, 3, 1581, 206

#: The clocks parts 1 and 2 may time with: wall time, or this process's CPU time, which
#: other processes on a busy machine disturb far less (but which leaves out waiting on
#: the disk, e.g. fsync).
CLOCKS: dict[str, Callable[[], float]] = {"wall": time.perf_counter, "cpu": time.process_time}


@dataclass
class Line:
    """One row of the table.  ``ratio = measured / baseline``; ``met`` is ``None`` where
    the issue sets no goal or the measurement is not available."""

    name: str
    measured: Optional[float]
    baseline: Optional[float]
    unit: str
    goal: str = "-"
    met: Optional[bool] = None
    note: str = ""
    ratio: Optional[float] = None  # set from measured / baseline

    def __post_init__(self) -> None:
        if self.measured is not None and self.baseline:
            self.ratio = self.measured / self.baseline

    def as_dict(self) -> dict:
        return asdict(self)


def not_available(name: str, why: str) -> Line:
    return Line(name, None, None, "", "-", None, f"not available: {why}")



def interleaved_medians(fns: dict[str, Callable[[], object]], repeats: int,
                        fewer: Optional[dict[str, int]] = None,
                        clock: Callable[[], float] = time.perf_counter) -> dict[str, float]:
    """Median time of each of ``fns`` over ``repeats`` rounds, each round timing every
    function once (in turn), after one untimed warm-up round.  Round-robin, so a machine
    that speeds up or slows down during the measurement (these do, by up to 2x) moves
    every side alike and the ratios hold; ``fewer``: names timed in only that many rounds
    (an expensive baseline); ``clock``: one of :data:`CLOCKS`.

    >>> sorted(interleaved_medians({"a": lambda: None, "b": lambda: None}, 3))
    ['a', 'b']
    """
    fewer = fewer or {}
    for fn in fns.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for r in range(repeats):
        for name, fn in fns.items():
            if r < fewer.get(name, repeats):
                t = clock()
                fn()
                times[name].append(clock() - t)
    return {name: statistics.median(ts) for name, ts in times.items()}


class FreshRunDirs:
    """``next()`` gives a new, not yet existing run directory under one temporary folder,
    so creating and deleting folders stays outside the timed calls."""

    def __enter__(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="hpobench-bench-")
        self._n = 0
        return self

    def next(self) -> Path:
        self._n += 1
        return Path(self._tmp.name) / f"run-{self._n}"

    def __exit__(self, *exc):
        self._tmp.cleanup()
