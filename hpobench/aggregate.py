"""Comparisons of methods, and the one import the figure scripts need.

The pieces live in their own modules; this one re-exports them, so ``from hpobench
import aggregate as ag`` gives the whole path from run directories to comparisons:

* loading (:mod:`hpobench.loading`): :func:`load_results` (= :func:`hpobench.load`)
  reads every run under a folder with its resolved settings from ``run.json``
  (``benchmark.width``, ``method.eta``, ...; digested into ``context_key`` and
  ``method_key``, which is how runs are grouped) and the override labels ``context``
  and ``method_variant``;
* incumbent curves (:mod:`hpobench.incumbents`): :func:`incumbent_curve`,
  :func:`curves`, and the seed aggregates :func:`aggregate` on :func:`make_grid` grids;
* comparisons (here): :func:`ranks` of the seed-mean curves over resource per context,
  :func:`resource_to_target`, :func:`final_values` and the speed-up table
  :func:`summary` against random search; :func:`contexts`, :func:`select` and
  :func:`describe_context` to walk the comparison contexts.

Everything reads the ``evaluations.parquet`` and ``run.json`` files alone (plain pandas),
so results can be aggregated on a machine without the code that wrote them.

Example::

    >>> df = load_results("results")                                 # doctest: +SKIP
    >>> agg = aggregate(curves(df), grid="log", points=100)          # doctest: +SKIP
    >>> agg[agg.method == "hyperband"][["x", "mean", "sem", "n"]]    # doctest: +SKIP
"""
from __future__ import annotations

import math
from typing import Iterable, Optional, Sequence

import numpy as np
import pandas as pd

from hpobench.incumbents import (  # noqa: F401 - re-exported for the figure scripts
    GRIDS, INCUMBENTS, STATS, _group_span, _matrix, aggregate, curves, incumbent_curve,
    make_grid, step_values)
from hpobench.loading import (  # noqa: F401 - re-exported for the figure scripts
    CONTEXT_KEYS, GROUP_KEYS, METHOD_KEYS, RUN_KEYS, context_digest, find_runs, load,
    method_option, settings_of, split_settings, split_variant, without_options)

load_results = load  # the name the figure scripts use


# -- comparisons ---------------------------------------------------------------------------
def ranks(agg: pd.DataFrame, grid: Optional[Sequence[float]] = None,
          points: int = 50) -> pd.DataFrame:
    """Rank of each group's ``center`` among the methods of its context (1 = lowest error,
    ties share the average rank) on a common log grid per context.

    Only x where every method of the context has a value is ranked.
    """
    out = []
    for keys, ctx in agg.groupby(list(CONTEXT_KEYS), sort=True, dropna=False):
        members = list(ctx.groupby(list(METHOD_KEYS), sort=True, dropna=False))
        if len(members) < 2:
            continue
        lo = max(m["x"].min() for _, m in members)
        hi = min(m["x"].max() for _, m in members)
        if not lo < hi:
            continue
        xs = np.asarray(grid, float) if grid is not None else make_grid(lo, hi, points, "log")
        vals = np.vstack([step_values(m["x"].to_numpy(), m["center"].to_numpy(), xs)
                          for _, m in members])
        keep = ~np.isnan(vals).any(axis=0)
        r = pd.DataFrame(vals[:, keep]).rank(axis=0, method="average").to_numpy()
        for (mk, _), rr in zip(members, r):
            part = pd.DataFrame({"x": xs[keep], "rank": rr})
            for k, v in zip(CONTEXT_KEYS, keys):
                part[k] = v
            for k, v in zip(METHOD_KEYS, mk):
                part[k] = v
            out.append(part)
    if not out:
        return pd.DataFrame(columns=[*CONTEXT_KEYS, *METHOD_KEYS, "x", "rank"])
    return pd.concat(out, ignore_index=True)


def resource_to_target(group_curves: pd.DataFrame, target: float) -> float:
    """Least x (multiples of R) from which the seed-mean incumbent test loss of one group
    stays at or below ``target`` until the group's shortest run ends; NaN if it ends above.

    The mean of incumbent *test* losses is not monotone (the incumbent is chosen on
    validation loss), so the first crossing of ``target`` can come long before the curve
    settles below it; the resource from which it stays below cannot invert the ordering
    of where the curves end.  Exact on the step functions: the mean is evaluated at every
    run's evaluation points inside the span where all runs have an incumbent.
    """
    xs, m = _mean_curve(group_curves)
    return _settled_below(xs, m.mean(axis=0) if m.size else m, target)


def _mean_curve(group_curves: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(x, per-run values: runs x points) at every evaluation point of the group's span."""
    lo, hi = _group_span(group_curves)
    if not math.isfinite(lo) or lo > hi:
        return np.array([]), np.empty((0, 0))
    xs = np.unique(group_curves["x"].to_numpy(float))
    xs = xs[(xs >= lo) & (xs <= hi)]
    return xs, _matrix(group_curves, xs)


def _settled_below(xs: np.ndarray, mean: np.ndarray, target: float) -> float:
    if not len(xs) or not math.isfinite(target):
        return math.nan
    above = np.nonzero(mean > target + 1e-12)[0]
    if not len(above):
        return float(xs[0])
    return float(xs[above[-1] + 1]) if above[-1] + 1 < len(xs) else math.nan


def final_values(group_curves: pd.DataFrame) -> tuple[float, float, float, int]:
    """``(x_end, mean, sem, n)`` of the incumbent test loss where the group's shortest run
    ends."""
    lo, hi = _group_span(group_curves)
    if not math.isfinite(lo) or lo > hi:
        return math.nan, math.nan, math.nan, 0
    v = _matrix(group_curves, np.array([hi]))[:, 0]
    n = len(v)
    sem = float(v.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan
    return float(hi), float(v.mean()), sem, n


def seed_finals(group_curves: pd.DataFrame, x: float) -> pd.Series:
    """Each run's incumbent test loss at resource ``x``, indexed by seed (NaN where the
    run has no incumbent yet or ended before ``x``)."""
    return pd.Series({int(r["seed"].iloc[0]): float(step_values(
        r["x"].to_numpy(), r["incumbent_test"].to_numpy(), np.array([x]))[0])
        for _, r in group_curves.groupby("run_dir")}, dtype=float)


def _against(groups: list, reference: str) -> list[dict]:
    """For each ``(method keys, curves)`` group of one context, in order: the two-sided
    paired Wilcoxon test of its final incumbent test loss against ``reference`` (no
    options) on the seeds both have, at the smaller of the two groups' ends, and the
    average rank of the final values among all groups of the context (ranked within
    each seed, at the context's earliest end)."""
    from hpobench import stats

    ends = [final_values(g)[0] for _, g in groups]
    out = [{"vs": reference, "vs_n": 0, "vs_wins": 0, "vs_p": math.nan,
            "final_rank": math.nan} for _ in groups]
    ref = next((i for i, (k, _) in enumerate(groups) if k[0] == reference and k[1] == ""), None)
    for i, (_, g) in enumerate(groups):
        if ref is None or i == ref or not (math.isfinite(ends[i]) and math.isfinite(ends[ref])):
            continue
        x = min(ends[i], ends[ref])
        pair = pd.concat([seed_finals(g, x).rename("a"),
                          seed_finals(groups[ref][1], x).rename("b")], axis=1).dropna()
        if len(pair) < 2:
            continue
        long = pd.DataFrame({"seed": [*pair.index, *pair.index],
                             "method": ["a"] * len(pair) + ["b"] * len(pair),
                             "test_loss": [*pair["a"], *pair["b"]]})
        t = stats.paired_test(long, "a", "b", alternative="two-sided")
        out[i].update(vs_n=t["n"], vs_wins=t["wins"], vs_p=t["p_value"])
    finite = [e for e in ends if math.isfinite(e)]
    if len(groups) >= 2 and finite:
        x = min(finite)
        rows = [{"seed": s, "method": i, "test_loss": v}
                for i, (_, g) in enumerate(groups) for s, v in seed_finals(g, x).items()]
        rk = stats.average_ranks(pd.DataFrame(rows).assign(benchmark=0))
        for i, rank in zip(rk["method"], rk["mean_rank"]):
            out[int(i)]["final_rank"] = float(rank)
    return out


def summary(curves_df: pd.DataFrame, baseline: str = "random", boot: int = 1000,
            seed: int = 0, reference: str = "hyperband") -> pd.DataFrame:
    """Per group: final mean test loss +- s.e., and the speed-up over the ``baseline``
    method (same context, no method options).

    ``vs_p``, ``vs_wins``, ``vs_n``: the two-sided paired Wilcoxon test of the group's
    final values against ``reference`` (``vs``) on the seeds both have
    (:func:`hpobench.stats.paired_test`; wins = seeds where the group is lower);
    ``final_rank``: its average rank among the context's groups, ranked within each seed
    at the context's earliest end (1 = lowest loss).

    Target = the baseline's final mean; the baseline spent its whole run (``x_end``) to
    get there.  ``x_to_target`` = the resource from which the group's mean stays at or
    below the target (:func:`resource_to_target`), and ``speedup`` = baseline ``x_end`` /
    ``x_to_target``: > 1 exactly when the group ends below the target with less resource,
    NaN when it ends above (never reached); the baseline's own is 1.  So a method that
    ends lower than the baseline never gets a speed-up below 1.  ``speedup_lo`` /
    ``speedup_hi``: a 95% bootstrap interval (``boot`` resamples of the seeds of the group
    and of the baseline; a resample that never reaches its target counts as 0).
    """
    rng = np.random.default_rng(seed)
    rows = []
    for ckeys, ctx in curves_df.groupby(list(CONTEXT_KEYS), sort=True, dropna=False):
        base = ctx[(ctx["method"] == baseline) & (ctx["method_variant"] == "")]
        target = base_end = math.nan
        base_final = np.array([])
        if len(base):
            base_end, target, _, _ = final_values(base)
            if math.isfinite(base_end):
                base_final = _matrix(base, np.array([base_end]))[:, 0]
        groups = list(ctx.groupby(list(METHOD_KEYS), sort=True, dropna=False))
        for (mkeys, g), paired in zip(groups, _against(groups, reference)):
            x_end, mean, sem, n = final_values(g)
            is_base = mkeys[0] == baseline and mkeys[1] == "" and len(base) == len(g)
            if is_base:
                x_t, sp, lo, hi = base_end, 1.0, 1.0, 1.0
            else:
                x_t = resource_to_target(g, target)
                sp = base_end / x_t if math.isfinite(x_t) and x_t > 0 else math.nan
                lo, hi = _speedup_interval(g, base_final, base_end, boot, rng)
            rows.append({**dict(zip(CONTEXT_KEYS, ckeys)),
                         **dict(zip(METHOD_KEYS, mkeys)), "seeds": n, "x_end": x_end,
                         "final_mean": mean, "final_sem": sem, "target": target,
                         "x_to_target": x_t, "speedup": sp, "speedup_lo": lo,
                         "speedup_hi": hi, **paired})
    return pd.DataFrame(rows)


def _speedup_interval(group: pd.DataFrame, base_final: np.ndarray, base_end: float,
                      boot: int, rng: np.random.Generator) -> tuple[float, float]:
    """95% percentile bootstrap interval of the speed-up: seeds of the group and of the
    baseline resampled independently (NaN, NaN with fewer than 2 of either)."""
    xs, m = _mean_curve(group)
    if m.shape[0] < 2 or len(base_final) < 2 or not math.isfinite(base_end) or boot < 1:
        return math.nan, math.nan
    out = np.empty(boot)
    for b in range(boot):
        target = base_final[rng.integers(0, len(base_final), len(base_final))].mean()
        mean = m[rng.integers(0, m.shape[0], m.shape[0])].mean(axis=0)
        x_t = _settled_below(xs, mean, target)
        out[b] = base_end / x_t if math.isfinite(x_t) and x_t > 0 else 0.0
    lo, hi = np.percentile(out, [2.5, 97.5])
    return float(lo), float(hi)


def contexts(df: pd.DataFrame) -> list[tuple]:
    """The distinct comparison contexts (:data:`CONTEXT_KEYS` values) in a frame."""
    if df.empty:
        return []
    return [tuple(k) for k in df[list(CONTEXT_KEYS)].drop_duplicates().itertuples(index=False)]


def select(df: pd.DataFrame, key: Iterable) -> pd.DataFrame:
    """The rows of ``df`` in one context (a :data:`CONTEXT_KEYS` tuple)."""
    mask = np.ones(len(df), bool)
    for k, v in zip(CONTEXT_KEYS, key):
        mask &= (df[k] == v).to_numpy()
    return df[mask]


def describe_context(key: Iterable) -> str:
    """A short human label of a context: ``envelope (R=81, budget=50)``."""
    sweep, bench, ctx, R = label_parts(key)
    bits = [f"R={R}"] + ([ctx] if ctx else [])
    lead = f"{sweep}: " if sweep else ""
    return f"{lead}{bench} ({', '.join(bits)})"


def label_parts(key: Iterable) -> tuple:
    """(sweep, benchmark, context label, R) of a :data:`CONTEXT_KEYS` tuple (the labels
    are unique per ``context_key``: :func:`hpobench.loading.load` makes them so)."""
    k = dict(zip(CONTEXT_KEYS, key))
    return k["sweep"], k["benchmark"], k["context"], k["max_resource"]
