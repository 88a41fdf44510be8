"""The recorder: train sampled configurations to R once, reporting at every grid resource.

Not a search method but the way a learning-curve table is made through the ordinary run
loop (so it resumes after a kill, runs on process pools, Dask or a SLURM array like any
run): configuration ``j`` (each of ``replicates`` times, as separate trials with their own
seeds) is asked at every resource of ``grid`` in turn, each job resuming from the
checkpoint of the previous one, so each row is one point of its learning curve and
``wall_time`` is the training from the previous resource to this one.
``python -m runners.record RUN_DIR -o TABLE.parquet`` turns the rows into a table
(hpobench/docs/tables.md).

The job sequence is fixed: trials come in chunks of ``chunk``; within a chunk every trial
is asked at the first resource, then every trial at the second, and so on, so up to
``chunk`` jobs can run side by side and at most ``chunk`` checkpoints are held.  A job
waits (``ask`` returns ``None``) until its trial's previous resource is told; a failed
trial is not trained further.

Example::

    >>> import numpy as np
    >>> from hpobench.benchmarks.spaces import lenet_space
    >>> rec = Recorder(lenet_space(), 9, np.random.default_rng(0), configs=2, chunk=2)
    >>> rec.grid_resources
    (1.0, 3.0, 9.0)
    >>> [(j.trial_id, j.resource) for j in (rec.ask(), rec.ask())]
    [(0, 1.0), (1, 1.0)]
    >>> rec.ask() is None  # trial 0 at 3 waits until trial 0 at 1 is told
    True
"""
from __future__ import annotations

from fractions import Fraction
from typing import Callable, Optional, Sequence

import numpy as np

from hpobench import schedule as sched
from hpobench.errors import ConfigError
from hpobench.optimizers.base import Optimizer
from hpobench.samplers import RandomSampler, Sampler
from hpobench.space import SearchSpace
from hpobench.trial import Evaluation, Job


def default_grid(R: int, eta: int) -> tuple[float, ...]:
    """``R eta^-k`` for ``k = s_max..0``: every rung Hyperband with this eta asks for."""
    s = sched.s_max(R, eta)
    return tuple(float(Fraction(R, eta ** k)) for k in range(s, -1, -1))


class Recorder(Optimizer):
    """Records learning curves (see the module docstring).

    Settings: ``configs`` (number of configurations; ``None``: until the budget runs out),
    ``replicates`` (trials per configuration), ``eta`` (grid ``R eta^-k``) or ``grid``
    (an increasing list of resources ending at R), ``chunk`` (trials side by side).
    """

    order_independent = True

    def __init__(self, space: SearchSpace, max_resource: int, rng: np.random.Generator,
                 configs: Optional[int] = None, replicates: int = 1, eta: int = 3,
                 grid: Optional[Sequence[float]] = None, chunk: int = 16,
                 sampler: Optional[Callable[..., Sampler]] = None):
        super().__init__(space, max_resource)
        if configs is not None:
            configs = sched.check_int("method.configs", configs, 1)
        self.configs = configs
        self.replicates = sched.check_int("method.replicates", replicates, 1)
        self.chunk = sched.check_int("method.chunk", chunk, 1)
        if grid is None:
            grid = default_grid(max_resource, sched.check_int("method.eta", eta, 2))
        else:
            ok = (isinstance(grid, (list, tuple)) and grid and all(
                isinstance(r, (int, float)) and not isinstance(r, bool) and r > 0 for r in grid)
                and all(a < b for a, b in zip(grid, grid[1:])) and grid[-1] == max_resource)
            if not ok:
                raise ConfigError(f"method.grid: must be an increasing list of resources > 0 "
                                  f"ending at R={max_resource}, got {grid!r}")
        self.grid_resources = tuple(float(r) for r in grid)
        self.sampler = (sampler or RandomSampler)(space=space, rng=rng)
        self._chunk: list[tuple[int, dict]] = []  # (trial id, config) of the current chunk
        self._pos = (0, 0)                         # (grid index, index in chunk) of the next job
        self._state: dict[int, dict] = {}          # trial id -> {grid index: ok?}
        self._started = 0                          # configurations started

    @property
    def min_resource(self) -> float:
        return self.grid_resources[0]

    @property
    def finished(self) -> bool:
        return (self.configs is not None and self._started >= self.configs
                and self._pos[0] >= len(self.grid_resources) and not self.pending)

    def _new_chunk(self) -> bool:
        n = max(1, self.chunk // self.replicates)  # configurations in this chunk
        if self.configs is not None:
            n = min(n, self.configs - self._started)
        if n <= 0:
            return False
        self._chunk = [(self._new_trial_id(), c) for c in self.sampler.sample(n)
                       for _ in range(self.replicates)]
        self._started += n
        self._pos = (0, 0)
        return True

    def _next(self) -> Optional[Job]:
        G = len(self.grid_resources)
        while True:
            g, i = self._pos
            if g >= G or not self._chunk:
                if not self._new_chunk():
                    return None
                continue
            tid, config = self._chunk[i]
            if g > 0:
                prev = self._state.get(tid, {}).get(g - 1)
                if prev is None:
                    return None  # wait until the previous resource is told
            nxt = (g, i + 1) if i + 1 < len(self._chunk) else (g + 1, 0)
            if g > 0 and prev is False:  # failed: not trained further
                self._pos = nxt
                continue
            self._pos = nxt
            return self._job(tid, config, self.grid_resources[g], rung=g)

    def _observe(self, job: Job, evaluation: Evaluation) -> None:
        last = job.rung == len(self.grid_resources) - 1
        if last:
            self._state.pop(job.trial_id, None)
        else:
            self._state.setdefault(job.trial_id, {})[job.rung] = evaluation.ok
        if last or not evaluation.ok:
            self._discarded.append(job.trial_id)
