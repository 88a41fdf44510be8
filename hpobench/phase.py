"""Phase-diagram statistics: over a grid of envelope width and terminal-loss spread, which
method ends with the lowest mean incumbent test error, and by how much.

The drawing lives in ``paper_figures/phase_diagram.py``; the numbers live here.  A run
belongs to a diagram when its overrides name both axes (``benchmark.width=...,
benchmark.spread=...``: the runs the user swept); its axis values and everything that
separates one diagram from another are read from its resolved settings (run.json, via
:func:`hpobench.loading.load`), never parsed back from the directory name.

Example (the numbers of one cell)::

    >>> t = pd.DataFrame({"method": ["a", "a", "b", "b"], "seed": [0, 1, 0, 1],
    ...                   "test_loss": [0.1, 0.2, 0.3, 0.3]})
    >>> c = cell_result(t)
    >>> c["winner"], round(c["margin"], 3), round(c["margin_se"], 3)
    ('a', 0.15, 0.05)
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from hpobench import aggregate as ag
from hpobench.loading import context_digest, split_variant
from hpobench.stats import mean_se, paired_test

AXES = ("width", "spread")  # benchmark.<axis> settings that span the diagram
FINALS = ("sweep", "benchmark", "rest", "rest_key", "max_resource", *AXES, "method",
          "bracket", "seed", "x_end", "test_loss")


def method_id(method: str, method_variant: str) -> str:
    """One name per method row: ``hyperband``, ``successive_halving[method.bracket=2]``."""
    return f"{method}[{method_variant}]" if method_variant else method


def _axes_and_rest(context: str) -> tuple[set, str]:
    """(the axes the overrides name, the other overrides as a label; R is named apart)."""
    named, rest = set(), []
    for item in split_variant(context):
        key = item.partition("=")[0].lstrip("+~")
        name = key.removeprefix("benchmark.")
        if key.startswith("benchmark.") and name in AXES:
            named.add(name)
        elif name != "max_resource":
            rest.append(item)
    return named, ",".join(rest)


def final_errors(curves: pd.DataFrame) -> pd.DataFrame:
    """One row per run of a phase sweep: its diagram (``sweep``, ``benchmark``, ``rest``
    label and ``rest_key`` (the resolved settings other than the axes), ``max_resource``),
    ``width``, ``spread``, ``method`` (a :func:`method_id`), ``bracket`` (successive
    halving's, else NaN), ``seed``, ``x_end`` and ``test_loss`` (the incumbent's test error
    where the run ends).  Two method settings under one label get distinct ids."""
    rows, keys_of = [], {}
    cols = list(ag.RUN_KEYS) + ["run_dir"]
    for keys, run in ([] if curves.empty else curves.groupby(cols, sort=True, dropna=False)):
        k = dict(zip(cols, keys))
        named, rest = _axes_and_rest(k["context"])
        first = run.iloc[0]
        if named != set(AXES) or any(pd.isna(first.get(f"benchmark.{a}")) for a in AXES):
            continue  # not swept over the axes, or written before run.json had settings
        axes = {a: float(first[f"benchmark.{a}"]) for a in AXES}
        last = run.sort_values("x", kind="stable").iloc[-1]
        mid = method_id(k["method"], k["method_variant"])
        keys_of.setdefault(mid, set()).add(k["method_key"])
        bracket = first.get("method.bracket", math.nan) if k["method"] == "successive_halving" \
            else math.nan
        rows.append({"sweep": k["sweep"], "benchmark": k["benchmark"], "rest": rest,
                     "rest_key": context_digest(run.iloc[:1], AXES).iloc[0],
                     "max_resource": k["max_resource"], **axes, "method": mid,
                     "method_key": k["method_key"], "bracket": bracket,
                     "seed": k["seed"], "x_end": float(last["x"]),
                     "test_loss": float(last["incumbent_test"])})
    out = pd.DataFrame(rows, columns=[*FINALS, "method_key"])
    clash = {m for m, ks in keys_of.items() if len(ks) > 1}
    if clash:  # one label, several method settings: never pooled into one method row
        hit = out["method"].isin(clash)
        out.loc[hit, "method"] = out.loc[hit, "method"] + "#" + out.loc[hit, "method_key"].str[:6]
    return out[list(FINALS)]


def cell_result(cell: pd.DataFrame) -> dict:
    """Winner of one cell (columns ``method``, ``seed``, ``test_loss``): ``winner``,
    ``runner_up``, their means, ``margin`` (runner-up minus winner; paired on shared seeds),
    ``margin_se``, ``paired_n`` (0: unpaired difference of means), ``p_value`` (one-sided
    Wilcoxon, winner lower) and ``methods`` (method -> (mean, s.e., seeds)).  Only methods
    with at least 2 seeds in the cell can win or be runner-up."""
    stats = {}
    for m, g in cell.groupby("method", sort=True):
        mean, se = mean_se(g["test_loss"])
        stats[m] = (mean, se, int(np.isfinite(g["test_loss"].to_numpy(float)).sum()))
    # a method with fewer than 2 seeds in the cell has no s.e.: listed, never the winner
    ranked = sorted((v[0], m) for m, v in stats.items() if math.isfinite(v[0]) and v[2] >= 2)
    out = {"methods": stats, "winner": None, "runner_up": None, "margin": math.nan,
           "margin_se": math.nan, "paired_n": 0, "p_value": math.nan}
    if not ranked:
        return out
    out["winner"] = w = ranked[0][1]
    if len(ranked) < 2:
        return out
    out["runner_up"] = r = ranked[1][1]
    t = paired_test(cell, w, r)
    if t["n"] >= 2:
        out.update(margin=-t["mean_diff"], margin_se=t["se"], paired_n=t["n"],
                   p_value=t["p_value"])
    else:  # no shared seeds: the difference of the means, its s.e. from both groups
        out.update(margin=stats[r][0] - stats[w][0],
                   margin_se=math.hypot(stats[w][1], stats[r][1]))
    return out


def bracket_gap(finals: pd.DataFrame) -> pd.DataFrame:
    """The Figure 2 takeaway per cell: bracket s=0 (every configuration at R) minus the most
    aggressive bracket present, paired over seeds (mean ± s.e.; > 0: the aggressive bracket
    is better).  Empty without at least two bracket rows."""
    rows = []
    for (width, spread), cell in finals.groupby(list(AXES), sort=True):
        sh = cell.dropna(subset=["bracket"])
        br = dict(zip(sh["bracket"].astype(int), sh["method"]))
        if 0 not in br or len(br) < 2:
            continue
        top = max(br)
        t = paired_test(cell, br[0], br[top], alternative="greater")
        rows.append({"width": width, "spread": spread, "s_max": top, "gap": t["mean_diff"],
                     "gap_se": t["se"], "paired_n": t["n"], "p_value": t["p_value"]})
    return pd.DataFrame(rows, columns=["width", "spread", "s_max", "gap", "gap_se", "paired_n",
                                       "p_value"])
