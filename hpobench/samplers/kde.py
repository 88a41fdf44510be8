"""BOHB's sampler (Falkner et al., 2018): a TPE-style density ratio over the unit cube.

Evaluations are kept per resource.  The model uses the largest resource ``b`` at which a
good and a bad density can both be fitted: sort the observations at ``b`` by loss
(failures count as ``+inf``), ``n_good = max(min_points_in_model, top_n_percent % of
them)`` go to the good set ``l``, the next ``max(min_points_in_model, the rest)`` to
the bad set ``g``, and each set needs more points than there are parameters.  Each
density is a product-kernel KDE with the normal-reference bandwidth
``1.06 * std * n^(-1/(4+d))`` (floored at ``min_bandwidth``): Gaussian for numeric
parameters (float and int, in unit coordinates), Aitchison-Aitken for categorical ones.

A new configuration is uniform at random with probability ``random_fraction`` (or while
there is no model).  Otherwise ``num_samples`` candidates are drawn around random points
of the good set (truncated normal in ``[0, 1]`` with the good bandwidth times
``bandwidth_factor``; a categorical keeps its value with probability ``1 - bandwidth``)
and the one with the smallest ``g(x) / l(x)`` is returned.  These are the rules and
defaults of the authors' HpBandSter ``CG_BOHB``, written with numpy/scipy.

Example::

    >>> import numpy as np
    >>> from hpobench.benchmarks.spaces import lenet_space
    >>> s = KDESampler(lenet_space(), np.random.default_rng(0))
    >>> rng = np.random.default_rng(1)
    >>> for _ in range(12):
    ...     cfg = lenet_space().sample(rng)
    ...     s.observe(cfg, 81, cfg["learning_rate"], True)
    >>> s.model_resource
    81
    >>> len(s.sample(3))
    3
"""
from __future__ import annotations

import math
from typing import Optional

import numpy as np
from scipy.stats import truncnorm

from hpobench import validate
from hpobench.samplers.base import Sampler
from hpobench.space import Categorical, SearchSpace


class _KDE:
    """Product-kernel density on KDE coordinates (unit values; category indices)."""

    def __init__(self, data: np.ndarray, n_choices: np.ndarray, min_bandwidth: float):
        self.data = data
        self.n_choices = n_choices          # 0 for numeric parameters
        n, d = data.shape
        bw = 1.06 * data.std(axis=0) * n ** (-1.0 / (4 + d))
        bw = np.maximum(bw, min_bandwidth)
        cat = n_choices > 0
        # an Aitchison-Aitken weight above (c-1)/c would favour the other categories
        bw[cat] = np.minimum(bw[cat], (n_choices[cat] - 1) / np.maximum(n_choices[cat], 1))
        self.bw = bw

    def pdf(self, x: np.ndarray) -> np.ndarray:
        """Density at each row of ``x`` (m x d)."""
        diff = x[:, None, :] - self.data[None, :, :]                       # m x n x d
        num = self.n_choices == 0
        k = np.empty_like(diff)
        z = diff[..., num] / self.bw[num]
        k[..., num] = np.exp(-0.5 * z * z) / (math.sqrt(2 * math.pi) * self.bw[num])
        cat = ~num
        if cat.any():
            lam, c = self.bw[cat], self.n_choices[cat]
            k[..., cat] = np.where(diff[..., cat] == 0, 1 - lam, lam / np.maximum(c - 1, 1))
        return k.prod(axis=2).mean(axis=1)


def check_settings(prefix: str, *, top_n_percent, min_points_in_model, random_fraction,
                   num_samples, bandwidth_factor, min_bandwidth) -> dict:
    """BOHB's KDE settings, validated (``prefix`` + name in messages); shared with the
    HpBandSter peer, whose BOHB takes the same ones."""
    return {
        "top_n_percent": validate.number(prefix + "top_n_percent", top_n_percent, low=1,
                                         high=99),
        "min_points_in_model": validate.optional(
            validate.integer, prefix + "min_points_in_model", min_points_in_model, low=1,
            high=10**9, whole_floats=True),
        "random_fraction": validate.number(prefix + "random_fraction", random_fraction, low=0,
                                           high=1),
        "num_samples": validate.integer(prefix + "num_samples", num_samples, low=1,
                                        high=10**6, whole_floats=True),
        "bandwidth_factor": validate.number(prefix + "bandwidth_factor", bandwidth_factor,
                                            low=1e-9, high=1e9),
        "min_bandwidth": validate.number(prefix + "min_bandwidth", min_bandwidth, low=1e-12,
                                         high=1.0),
    }


class KDESampler(Sampler):
    """BOHB's density-ratio sampler; see the module docstring for the rules.

    Settings (BOHB's defaults): ``top_n_percent=15``, ``min_points_in_model=None``
    (``d + 1``), ``random_fraction=1/3``, ``num_samples=64``, ``bandwidth_factor=3``,
    ``min_bandwidth=1e-3``.  :attr:`n_model_based` / :attr:`n_random` count the draws.
    """

    def __init__(self, space: SearchSpace, rng: np.random.Generator, top_n_percent: float = 15,
                 min_points_in_model: Optional[int] = None, random_fraction: float = 1 / 3,
                 num_samples: int = 64, bandwidth_factor: float = 3,
                 min_bandwidth: float = 1e-3):
        super().__init__(space, rng)
        d = len(space)
        s = check_settings("method.sampler.", top_n_percent=top_n_percent,
                           min_points_in_model=min_points_in_model,
                           random_fraction=random_fraction, num_samples=num_samples,
                           bandwidth_factor=bandwidth_factor, min_bandwidth=min_bandwidth)
        self.top_n_percent = s["top_n_percent"]
        self.min_points = d + 1 if min_points_in_model is None else max(
            d + 1, s["min_points_in_model"])
        self.random_fraction, self.num_samples = s["random_fraction"], s["num_samples"]
        self.bandwidth_factor, self.min_bandwidth = s["bandwidth_factor"], s["min_bandwidth"]
        self._n_choices = np.array([len(p.choices) if isinstance(p, Categorical) else 0
                                    for p in space.params])
        self._obs: dict[float, tuple[list, list]] = {}   # resource -> (points, losses)
        self._models: dict[float, Optional[tuple[_KDE, _KDE]]] = {}  # cache, reset on observe
        self.n_model_based = 0
        self.n_random = 0

    # -- observations ------------------------------------------------------------------
    def observe(self, config: dict, resource: float, loss: float, ok: bool) -> None:
        x = self._to_kde(self.space.encode(config))
        bad = not ok or loss is None or not math.isfinite(loss)
        pts, losses = self._obs.setdefault(resource, ([], []))
        pts.append(x)
        losses.append(math.inf if bad else float(loss))
        self._models.pop(resource, None)

    def _to_kde(self, u: np.ndarray) -> np.ndarray:
        cat = self._n_choices > 0
        x = np.array(u, float)
        x[cat] = np.minimum(np.floor(u[cat] * self._n_choices[cat]), self._n_choices[cat] - 1)
        return x

    def _from_kde(self, x: np.ndarray) -> np.ndarray:
        cat = self._n_choices > 0
        u = np.array(x, float)
        u[cat] = (x[cat] + 0.5) / self._n_choices[cat]
        return u

    # -- the model ---------------------------------------------------------------------
    def _fit(self, resource) -> Optional[tuple[_KDE, _KDE]]:
        if resource not in self._models:
            pts, losses = self._obs[resource]
            self._models[resource] = None
            n, d = len(pts), len(self.space)
            if n >= self.min_points:
                order = np.argsort(np.asarray(losses), kind="stable")
                X = np.asarray(pts)[order]
                n_good = max(self.min_points, int(self.top_n_percent * n // 100))
                n_bad = max(self.min_points, int((100 - self.top_n_percent) * n // 100))
                good, bad = X[:n_good], X[n_good:n_good + n_bad]
                if len(good) > d and len(bad) > d:
                    self._models[resource] = (_KDE(good, self._n_choices, self.min_bandwidth),
                                              _KDE(bad, self._n_choices, self.min_bandwidth))
        return self._models[resource]

    @property
    def model_resource(self):
        """The resource whose observations the model uses now (``None``: no model yet)."""
        for r in sorted(self._obs, reverse=True):
            if self._fit(r) is not None:
                return r
        return None

    # -- sampling ----------------------------------------------------------------------
    def sample(self, n: int) -> list[dict]:
        r = self.model_resource
        out = []
        for _ in range(n):
            if r is None or self.rng.random() < self.random_fraction:
                u = self.rng.random(len(self.space))
                self.n_random += 1
            else:
                u = self._from_kde(self._propose(*self._models[r]))
                self.n_model_based += 1
            out.append(self.space.decode(u))
        return out

    def _propose(self, good: _KDE, bad: _KDE) -> np.ndarray:
        m = self.num_samples
        centers = good.data[self.rng.integers(len(good.data), size=m)]
        cand = centers.copy()
        num = self._n_choices == 0
        scale = np.broadcast_to(good.bw[num] * self.bandwidth_factor, (m, int(num.sum())))
        mu = centers[:, num]
        cand[:, num] = truncnorm.rvs(-mu / scale, (1 - mu) / scale, loc=mu, scale=scale,
                                     random_state=self.rng)
        for j in np.flatnonzero(~num):
            redraw = self.rng.random(m) >= 1 - good.bw[j]
            cand[redraw, j] = self.rng.integers(self._n_choices[j], size=int(redraw.sum()))
        ratio = np.maximum(bad.pdf(cand), 1e-32) / np.maximum(good.pdf(cand), 1e-32)
        return cand[int(np.argmin(ratio))]
