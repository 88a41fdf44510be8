"""Incumbent curves and their seed aggregates.

* :func:`incumbent_curve` is the curve of one run: after each evaluation, the *test* loss
  of the evaluation with the smallest *validation* loss so far (failed rows never become
  incumbents), against ``x = total_resource / (max_resource * budget_scale)``: multiples
  of R per search (``random_2x`` runs two searches, so its curve at ``x`` used ``2x R``).
  ``incumbent="any"`` (default) lets every evaluation compete, at any resource, as
  Algorithm 1 (line 11) of the Hyperband paper says; ``incumbent="full"`` only the
  evaluations at the full resource R, as many libraries report (the incumbent is then
  undefined until the first evaluation at R).
* :func:`aggregate` puts the runs of each group on a common grid (:func:`make_grid`) and
  reduces across seeds: mean with standard error (default) or median with the
  interquartile band.  A group is one set of resolved settings
  (:data:`hpobench.loading.GROUP_KEYS`), so runs with different settings are never
  averaged together, even under one label.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import pandas as pd

from hpobench import validate
from hpobench.errors import ConfigError
from hpobench.loading import GROUP_KEYS, RUN_KEYS

GRIDS = ("log", "linear", "both")
STATS = ("mean", "median")
#: Which evaluations may become the incumbent: any resource, or the full resource R only.
INCUMBENTS = ("any", "full")


# -- one run -------------------------------------------------------------------------------
def _check_incumbent(incumbent: str) -> None:
    validate.choice("incumbent", incumbent, INCUMBENTS)


def incumbent_curve(run: pd.DataFrame, incumbent: str = "any") -> pd.DataFrame:
    """The incumbent after each evaluation of one run, in recorded order.

    Columns: ``x`` (``total_resource / (max_resource * budget_scale)``), ``total_resource``,
    ``incumbent_val`` and ``incumbent_test`` (NaN until the first eligible successful
    evaluation), ``incumbent_row`` (index, in ``run``, of the row that holds the incumbent)
    and ``incumbent_trial``.  The incumbent changes only on a strictly smaller validation
    loss, so ties keep the earlier configuration.  ``incumbent``: ``"any"`` (every
    evaluation is eligible) or ``"full"`` (only rows with ``resource >= max_resource``;
    needs the ``resource`` column).  ``x`` still counts every evaluation's resource.

    >>> rows = pd.DataFrame({"total_resource": [1.0, 4.0, 13.0], "resource": [1.0, 3.0, 9.0],
    ...                      "val_loss": [0.2, 0.5, 0.4], "test_loss": [0.6, 0.5, 0.45],
    ...                      "status": ["ok"] * 3, "max_resource": [9] * 3,
    ...                      "budget_scale": [1.0] * 3})
    >>> incumbent_curve(rows, "full")["incumbent_test"].tolist()
    [nan, nan, 0.45]
    """
    _check_incumbent(incumbent)
    if "row" in run.columns:
        run = run.sort_values("row", kind="stable")
    val = run["val_loss"].to_numpy(float)
    ok = (run["status"].to_numpy() == "ok") & np.isfinite(val)
    if incumbent == "full":
        if "resource" not in run.columns:
            raise ConfigError("incumbent='full' needs the rows' 'resource' column, which this "
                              "table lacks; use incumbent='any'")
        res = run["resource"].to_numpy(float)
        ok &= res >= run["max_resource"].to_numpy(float) * (1 - 1e-9)
    best = math.inf
    best_i = -1
    idx = np.full(len(run), -1)
    for i in range(len(run)):
        if ok[i] and val[i] < best:
            best, best_i = val[i], i
        idx[i] = best_i
    have = idx >= 0
    take = np.where(have, idx, 0)
    test = run["test_loss"].to_numpy(float)
    scale = run["max_resource"].to_numpy(float) * run["budget_scale"].to_numpy(float)
    total = run["total_resource"].to_numpy(float)
    trial = run["trial_id"].to_numpy() if "trial_id" in run.columns else np.arange(len(run))
    return pd.DataFrame({
        "x": total / scale,
        "total_resource": total,
        "incumbent_val": np.where(have, val[take], np.nan),
        "incumbent_test": np.where(have, test[take], np.nan),
        "incumbent_row": np.where(have, run.index.to_numpy()[take], -1),
        "incumbent_trial": np.where(have, trial[take], -1),
    })


def curves(df: pd.DataFrame, incumbent: str = "any") -> pd.DataFrame:
    """Incumbent curves of every run in a :func:`load_results` frame, with the run keys
    and settings columns; ``incumbent`` as in :func:`incumbent_curve`."""
    _check_incumbent(incumbent)
    parts = []
    settings = [c for c in df.columns if c.startswith(("benchmark.", "method."))
                or c in ("budget", "reuse")]
    for keys, run in df.groupby(list(RUN_KEYS) + ["run_dir"], sort=True, dropna=False):
        c = incumbent_curve(run, incumbent)
        for k, v in zip(list(RUN_KEYS) + ["run_dir"], keys):
            c[k] = v
        for k in settings:  # the run's resolved settings (one value per run)
            c[k] = run[k].iloc[0]
        parts.append(c)
    if not parts:
        return pd.DataFrame(columns=["x", "total_resource", "incumbent_val", "incumbent_test",
                                     "incumbent_row", "incumbent_trial", *RUN_KEYS, "run_dir"])
    return pd.concat(parts, ignore_index=True)


def step_values(x: np.ndarray, y: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Right-continuous step function through ``(x, y)`` at ``grid``; NaN outside
    ``[x[0], x[-1]]`` (before the first evaluation, and past where the run ended)."""
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    grid = np.asarray(grid, float)
    pos = np.searchsorted(x, grid, side="right") - 1
    out = np.where(pos >= 0, y[np.clip(pos, 0, len(y) - 1)], np.nan)
    out[grid > x[-1] * (1 + 1e-12)] = np.nan
    return out


# -- grids and aggregation -----------------------------------------------------------------
def make_grid(lo: float, hi: float, points: int = 200, kind: str = "log") -> np.ndarray:
    """A sorted grid on ``[lo, hi]``: log-spaced, linear, or the union of both.

    >>> make_grid(1, 100, 3, "log").tolist()
    [1.0, 10.0, 100.0]
    """
    validate.choice("grid", kind, GRIDS)
    validate.integer("points", points, low=2)
    if not (lo > 0 and hi >= lo):
        raise ConfigError(f"grid range: need 0 < lo <= hi, got [{lo}, {hi}]")
    parts = []
    if kind in ("log", "both"):
        parts.append(np.geomspace(lo, hi, points))
    if kind in ("linear", "both"):
        parts.append(np.linspace(lo, hi, points))
    g = np.unique(np.concatenate(parts))
    g[0], g[-1] = lo, hi
    return g


def _group_span(group: pd.DataFrame) -> tuple[float, float]:
    """Where every run of the group has an incumbent: from the latest first incumbent to
    the earliest end."""
    starts, ends = [], []
    for _, run in group.groupby("run_dir"):
        ok = run["incumbent_test"].notna().to_numpy()
        if not ok.any():
            return math.nan, math.nan
        starts.append(run["x"].to_numpy()[ok][0])
        ends.append(run["x"].iloc[-1])
    return max(starts), min(ends)


def _matrix(group: pd.DataFrame, grid: np.ndarray) -> np.ndarray:
    return np.vstack([step_values(r["x"].to_numpy(), r["incumbent_test"].to_numpy(), grid)
                      for _, r in group.groupby("run_dir")])


def aggregate(curves_df: pd.DataFrame, grid: str | Sequence[float] = "log",
              points: int = 200, stat: str = "mean") -> pd.DataFrame:
    """Seed aggregates of incumbent test loss per group on a common grid.

    ``grid``: ``"log"``, ``"linear"`` or ``"both"`` (each group's grid spans the resource
    where all its runs have an incumbent), or explicit x values (shared by every group;
    points where a run has no value are dropped).  Returns one row per (group, x) with
    ``n`` (runs), ``mean``, ``sem`` (standard error, NaN for one run), ``median``,
    ``q25``, ``q75`` and ``center``/``lower``/``upper`` for the chosen ``stat``
    (mean +- s.e., or median with the interquartile band).
    """
    validate.choice("stat", stat, STATS)
    rows = []
    for keys, g in curves_df.groupby(list(GROUP_KEYS), sort=True, dropna=False):
        if isinstance(grid, str):
            lo, hi = _group_span(g)
            if not math.isfinite(lo) or lo > hi:
                continue
            xs = make_grid(lo, hi, points, grid) if hi > lo else np.array([lo])
        else:
            xs = np.asarray(grid, float)
        m = _matrix(g, xs)
        full = ~np.isnan(m).any(axis=0)  # never average over a subset of the seeds
        if not full.any():
            continue
        m, xs = m[:, full], xs[full]
        n = m.shape[0]
        mean = m.mean(axis=0)
        sem = m.std(axis=0, ddof=1) / math.sqrt(n) if n > 1 else np.full(len(xs), np.nan)
        q25, med, q75 = np.percentile(m, [25, 50, 75], axis=0)
        part = pd.DataFrame({"x": xs, "n": n, "mean": mean, "sem": sem, "median": med,
                             "q25": q25, "q75": q75})
        for k, v in zip(GROUP_KEYS, keys):
            part[k] = v
        rows.append(part)
    if not rows:
        return pd.DataFrame(columns=[*GROUP_KEYS, "x", "n", "mean", "sem", "median", "q25",
                                     "q75", "center", "lower", "upper"])
    out = pd.concat(rows, ignore_index=True)
    if stat == "mean":
        band = out["sem"].fillna(0.0)
        out["center"], out["lower"], out["upper"] = out["mean"], out["mean"] - band, out["mean"] + band
    else:
        out["center"], out["lower"], out["upper"] = out["median"], out["q25"], out["q75"]
    return out[[*GROUP_KEYS, "x", "n", "mean", "sem", "median", "q25", "q75", "center",
                "lower", "upper"]]
