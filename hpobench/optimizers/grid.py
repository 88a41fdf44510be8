"""Grid search: a full factorial grid over the space, every configuration at R, visited
in a seeded random order (the talk's grid-versus-random illustration).

The grid lives in the unit cube, the space's own coordinate system, and every point is
decoded by :meth:`SearchSpace.decode`; so log scales, integers and dependent bounds
(``k1`` in ``[5, k2]``: its grid is over the fraction of ``[5, k2]``) need no special
case.  Numeric parameters get ``points`` values from ``low`` to ``high`` (one point:
the middle); an integer range with at most ``points`` values is enumerated whole;
categorical parameters always enumerate every choice.  Grid points that decode to the
same configuration (a small integer range, a dependent range that collapses) are
visited once.  The grid is finite: when every point has been asked, the method is
:attr:`finished` and the run ends with status ``finished``.

Example::

    >>> import numpy as np
    >>> from hpobench.space import SearchSpace, Float, Int
    >>> g = GridSearch(SearchSpace([Float("x", 0, 1), Int("n", 1, 2)]), 9,
    ...                rng=np.random.default_rng(0), points=3)
    >>> g.size
    6
    >>> sorted((j.config["x"], j.config["n"]) for j in iter(g.ask, None))[:2]
    [(0.0, 1), (0.0, 2)]
"""
from __future__ import annotations

from typing import Optional, Union

import numpy as np

from hpobench import validate
from hpobench.errors import ConfigError
from hpobench.optimizers.base import Optimizer
from hpobench.space import Categorical, Int, SearchSpace
from hpobench.trial import Evaluation, Job

#: largest grid enumerated (a permutation of its indices is drawn up front)
MAX_POINTS = 10_000_000


class GridSearch(Optimizer):
    """Factorial grid in a seeded random order; finite.

    ``points``: grid values per numeric parameter, an integer >= 1 or a mapping
    ``{parameter: points}`` (parameters not named get 3).
    """

    order_independent = True

    def __init__(self, space: SearchSpace, max_resource: int, rng: np.random.Generator,
                 points: Union[int, dict] = 3):
        super().__init__(space, max_resource)
        self.axes = [np.asarray(a, float) for a in _axes(space, points)]
        self.shape = tuple(len(a) for a in self.axes)
        n = int(np.prod(self.shape, dtype=object))
        if n > MAX_POINTS:
            raise ConfigError(f"method.points: the grid has {n} points ({' x '.join(map(str, self.shape))}"
                              f"), more than {MAX_POINTS}; use fewer points per parameter")
        self._order = rng.permutation(n)
        self._cursor = 0
        self._seen: set[str] = set()

    @property
    def size(self) -> int:
        """Number of distinct configurations on the grid."""
        return len({repr(self._config(i)) for i in range(len(self._order))})

    @property
    def finished(self) -> bool:
        return self._cursor >= len(self._order)

    def _config(self, flat: int) -> dict:
        idx = np.unravel_index(int(flat), self.shape)
        return self.space.decode([a[i] for a, i in zip(self.axes, idx)])

    def _next(self) -> Optional[Job]:
        while self._cursor < len(self._order):
            cfg = self._config(self._order[self._cursor])
            self._cursor += 1
            key = repr(cfg)
            if key not in self._seen:
                self._seen.add(key)
                return self._job(self._new_trial_id(), cfg, self.max_resource)
        return None

    def _observe(self, job: Job, evaluation: Evaluation) -> None:
        self._discarded.append(job.trial_id)


def _axes(space: SearchSpace, points) -> list[list[float]]:
    """Unit-cube grid coordinates per parameter."""
    if isinstance(points, dict):
        unknown = sorted(set(points) - set(space.names))
        if unknown:
            raise ConfigError(f"method.points: {unknown[0]!r} is not a parameter "
                              f"(allowed: {list(space.names)})")
        for p in space.params:
            if isinstance(p, Categorical) and p.name in points:
                raise ConfigError(f"method.points.{p.name}: a categorical parameter always "
                                  "enumerates every choice; remove it from method.points")
        per = {n: _check(f"method.points.{n}", v) for n, v in points.items()}
        default = 3
    else:
        per, default = {}, _check("method.points", points)
    axes = []
    for p in space.params:
        k = per.get(p.name, default)
        if isinstance(p, Categorical):
            m = len(p.choices)
            axes.append([(i + 0.5) / m for i in range(m)])
        elif isinstance(p, Int) and not isinstance(p.low, str) and not isinstance(p.high, str) \
                and int(p.high) - int(p.low) + 1 <= k:
            m = int(p.high) - int(p.low) + 1  # small range: every integer, one cell each
            axes.append([(i + 0.5) / m for i in range(m)])
        else:
            axes.append([0.5] if k == 1 else list(np.linspace(0.0, 1.0, k)))
    return axes


def _check(field: str, v) -> int:
    return validate.integer(field, v, low=1)
