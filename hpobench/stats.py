"""Honest comparison statistics over seeds: IQM with bootstrap intervals, ranks, paired tests.

Pure functions on numpy arrays, or on a tidy ``pandas.DataFrame`` with one row per
(benchmark, method, seed[, budget]) and a value column (by default ``test_loss``, the final
incumbent's test error).  Nothing here reads result files; build the frame any way.

* :func:`iqm` is the interquartile mean (the mean of the middle half, ``scipy.stats.
  trim_mean(x, 0.25)``: ``floor(n/4)`` values cut from each end), robust to a few
  runaway seeds yet less noisy than the median (Agarwal et al., 2021).
* :func:`bootstrap_ci` resamples seeds with replacement (explicit ``rng``) and takes
  percentile intervals.
* :func:`average_ranks` ranks methods within each (benchmark, seed[, budget]) cell,
  ties averaged, then averages over seeds; :func:`seed_statistics` gives per group the
  mean +- s.e. and the IQM with its interval.  (:mod:`hpobench.aggregate` has the
  curve-level ``ranks`` over resource and the speed-up ``summary``: other names.)
* :func:`paired_test` compares two methods on the seeds they share: mean of the
  differences ``a - b`` with its standard error, and the Wilcoxon signed-rank test.

Example::

    >>> iqm([1, 2, 3, 4, 5, 6, 7, 8])
    4.5
    >>> float(rank_values([0.3, 0.1, 0.3])[0])
    2.5
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

from hpobench import validate
from hpobench.errors import ConfigError

KEYS = ("benchmark", "method", "seed")


def _values(x) -> np.ndarray:
    a = np.asarray(x, dtype=float).ravel()
    return a[np.isfinite(a)]


def iqm(x) -> float:
    """Interquartile mean of the finite values of ``x`` (NaN when there are none)."""
    a = _values(x)
    return float(sps.trim_mean(a, 0.25)) if a.size else math.nan


def mean_se(x) -> tuple[float, float]:
    """Mean and its standard error (sample std / sqrt(n); NaN s.e. for one value)."""
    a = _values(x)
    if a.size == 0:
        return math.nan, math.nan
    se = float(a.std(ddof=1) / math.sqrt(a.size)) if a.size > 1 else math.nan
    return float(a.mean()), se


def bootstrap_ci(x, rng: np.random.Generator, statistic: Callable = iqm, n_boot: int = 2000,
                 confidence: float = 0.95) -> tuple[float, float, float]:
    """(statistic, low, high): percentile bootstrap interval over resampled values."""
    if not isinstance(rng, np.random.Generator):
        raise ConfigError("bootstrap_ci.rng: pass an explicit numpy Generator "
                          "(np.random.default_rng(seed))")
    validate.number("bootstrap_ci.confidence", confidence, low=0, high=1, low_open=True,
                    high_open=True)
    validate.integer("bootstrap_ci.n_boot", n_boot, low=1)
    a = _values(x)
    if a.size == 0:
        return math.nan, math.nan, math.nan
    samples = a[rng.integers(a.size, size=(n_boot, a.size))]
    if statistic is iqm:  # vectorised: one sort of all resamples
        boots = sps.trim_mean(samples, 0.25, axis=1)
    else:
        boots = np.array([statistic(row) for row in samples])
    tail = (1 - confidence) / 2
    lo, hi = np.quantile(boots, [tail, 1 - tail])
    return float(statistic(a)), float(lo), float(hi)


def _need(frame: pd.DataFrame, cols: Sequence[str]) -> None:
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise ConfigError(f"stats: the frame lacks column(s) {missing} "
                          f"(has: {list(frame.columns)})")


def seed_statistics(frame: pd.DataFrame, rng: np.random.Generator, value: str = "test_loss",
                    by: Sequence[str] = ("benchmark", "method"), n_boot: int = 2000,
                    confidence: float = 0.95) -> pd.DataFrame:
    """Per group: n seeds, mean and s.e., IQM with its bootstrap interval.  (Not
    :func:`hpobench.aggregate.summary`, the speed-up table of incumbent curves.)"""
    by = list(by)
    _need(frame, [*by, value])
    out = []
    for key, g in frame.groupby(by, sort=True, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        m, se = mean_se(g[value])
        q, lo, hi = bootstrap_ci(g[value], rng, iqm, n_boot, confidence)
        out.append({**dict(zip(by, key)), "n": int(np.isfinite(g[value].to_numpy(float)).sum()),
                    "mean": m, "se": se, "iqm": q, "iqm_low": lo, "iqm_high": hi})
    return pd.DataFrame(out)


def rank_values(x) -> np.ndarray:
    """Ranks (1 = smallest loss), ties averaged; NaN (a failed run) ranks last."""
    a = np.asarray(x, dtype=float)
    return sps.rankdata(np.where(np.isnan(a), np.inf, a), method="average")


def average_ranks(frame: pd.DataFrame, value: str = "test_loss", seed: str = "seed",
                  by: Sequence[str] = ("benchmark",), method: str = "method") -> pd.DataFrame:
    """Average rank of each method per ``by`` group (e.g. benchmark, or benchmark and
    budget): methods are ranked within each seed, ties averaged, then the ranks are
    averaged over seeds.  Columns: ``*by, method, mean_rank, se, n``.  (Not
    :func:`hpobench.aggregate.ranks`, the ranks of seed-mean curves over resource.)"""
    by = list(by)
    _need(frame, [*by, seed, method, value])
    cells = []
    for _, g in frame.groupby([*by, seed], sort=True, dropna=False):
        g = g.assign(rank=rank_values(g[value].to_numpy(float)))
        cells.append(g[[*by, method, "rank"]])
    if not cells:
        return pd.DataFrame(columns=[*by, method, "mean_rank", "se", "n"])
    r = pd.concat(cells)
    out = (r.groupby([*by, method], sort=True)["rank"]
           .agg(mean_rank="mean", se=lambda s: mean_se(s)[1], n="count").reset_index())
    return out


def paired_test(frame: pd.DataFrame, a: str, b: str, value: str = "test_loss",
                seed: str = "seed", method: str = "method",
                alternative: str = "less") -> dict:
    """Does method ``a`` beat ``b`` (smaller ``value``) on the seeds both have?

    ``frame`` holds one benchmark and one budget (filter it first).  Returns ``n`` (paired
    seeds), ``mean_diff`` (mean of ``a - b``), ``se``, ``wins``/``losses``/``ties`` (seeds
    where ``a`` is below/above/equal to ``b``), and the Wilcoxon signed-rank ``statistic``
    and ``p_value`` (``alternative="less"``: ``a`` smaller; ``"two-sided"`` or
    ``"greater"`` also allowed; zero differences are dropped, all-zero gives p = 1).
    """
    validate.choice("paired_test.alternative", alternative, ("less", "greater", "two-sided"))
    _need(frame, [seed, method, value])
    wide = {}
    for name in (a, b):
        g = frame[frame[method] == name]
        if g.empty:
            raise ConfigError(f"paired_test: no rows for method {name!r} "
                              f"(has: {sorted(frame[method].unique())})")
        if g[seed].duplicated().any():
            raise ConfigError(f"paired_test: method {name!r} has several rows per seed; "
                              "filter the frame to one benchmark and one budget first")
        wide[name] = g.set_index(seed)[value].astype(float)
    both = pd.concat(wide, axis=1).dropna()
    d = (both[a] - both[b]).to_numpy()
    mean, se = mean_se(d)
    out = {"a": a, "b": b, "n": int(d.size), "mean_diff": mean, "se": se,
           "wins": int((d < 0).sum()), "losses": int((d > 0).sum()), "ties": int((d == 0).sum()),
           "statistic": math.nan, "p_value": math.nan, "alternative": alternative}
    if d.size and np.all(d == 0):
        out["p_value"] = 1.0
    elif d.size:
        res = sps.wilcoxon(d, alternative=alternative)
        out["statistic"], out["p_value"] = float(res.statistic), float(res.pvalue)
    return out
