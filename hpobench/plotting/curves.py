"""Draw seed-aggregated incumbent curves (from :func:`hpobench.aggregate.aggregate`).

One line per group with its band (standard error or interquartile range; only for
n >= 2 seeds), drawn as a step function (the incumbent changes only at evaluations).
Markers are thinned so lines stay readable, staggered between groups and drawn above
every line, so a line that coincides with another (Hyperband and its most aggressive
bracket until that bracket ends; BOHB before its model is fitted) still shows through
its markers.  Styles from :mod:`hpobench.plotting.styles`; every line, its markers and
its band share the group's label as ``gid``, which :mod:`hpobench.plotting.guard` checks.

Example::

    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> labels = draw_groups(ax, agg_of_one_context)                 # doctest: +SKIP
    >>> ax.legend(title=band_note(agg_of_one_context, "mean"))       # doctest: +SKIP
"""
from __future__ import annotations

import pandas as pd

from hpobench.plotting.guard import band
from hpobench.plotting.styles import order_key, style

BAND_LABEL = {"mean": "mean ± standard error over seeds",
              "median": "median and interquartile range over seeds"}
#: markers sit above every line (lines use the styles' zorders, at most 5)
MARKER_ZORDER = 20


def band_note(agg: pd.DataFrame, stat: str) -> str:
    """The legend title for the bands actually drawn: no "± standard error" for one seed."""
    what = "mean" if stat == "mean" else "median"
    keys = [k for k in ("method", "method_variant", "method_key", "budget_scale")
            if k in agg.columns]
    n = agg.groupby(keys)["n"].min() if len(agg) else []
    if len(n) and (n >= 2).all():
        return BAND_LABEL[stat]
    if len(n) and (n < 2).all():
        return "one seed per line (n=1): no band"
    return f"{BAND_LABEL[stat]} (no band where n=1)"


def draw_groups(ax, agg: pd.DataFrame, logx: bool = True, markers: int = 8) -> list[str]:
    """Draw every (method, method_variant, method_key, budget_scale) group of ``agg`` on ``ax``;
    return the labels drawn, in legend order."""
    labels = []
    # method_key (resolved settings) where the frame has it; labels are unique per key
    keys = [k for k in ("method", "method_variant", "method_key", "budget_scale")
            if k in agg.columns]
    groups = sorted(agg.groupby(keys, sort=False), key=lambda kv: order_key(kv[0][0], kv[0][1]))
    for k, ((method, mvar, *_), g) in enumerate(groups):
        g = g.sort_values("x")
        st = style(method, mvar)
        n = int(g["n"].iloc[0])
        label = f"{st.label} (n={n})"
        x = g["x"].to_numpy()
        if n >= 2:
            band(ax, x, g["lower"].to_numpy(), g["upper"].to_numpy(), n, label, step="post",
                 color=st.color, alpha=0.2, linewidth=0, zorder=st.zorder - 1)
        ax.step(x, g["center"].to_numpy(), where="post", color=st.color,
                linestyle=st.linestyle, linewidth=1.6, zorder=st.zorder, gid=label)
        # markers at points evenly spaced on the axis's scale, for print in grey; each group
        # shifted by its share of a spacing, so coinciding lines show each other's markers
        idx = _even_indices(x, markers, logx, phase=k / max(len(groups), 1))
        ax.plot(x[idx], g["center"].to_numpy()[idx], linestyle="none", marker=st.marker,
                color=st.color, markersize=5, markeredgecolor="white", markeredgewidth=0.5,
                zorder=MARKER_ZORDER + st.zorder, gid=label)
        # a proxy artist carries line, marker and label into the legend
        ax.plot([], [], color=st.color, linestyle=st.linestyle, marker=st.marker,
                markersize=5, label=label)
        labels.append(label)
    if logx:
        ax.set_xscale("log")
    ax.grid(True, which="major", alpha=0.3)
    return labels


def _even_indices(x, k: int, logx: bool, phase: float = 0.0):
    """Indices of ``k`` points evenly spaced on the axis's scale, the first ``phase`` (a
    fraction of the spacing, in [0, 1)) after the first point."""
    import numpy as np

    if len(x) <= 1:
        return np.arange(len(x))
    t = np.log(x) if logx else np.asarray(x, float)
    step = (t[-1] - t[0]) / max(k - 1, 1)
    targets = t[0] + step * (np.arange(k) + phase)
    targets = targets[targets <= t[-1] + 1e-12]
    return np.unique(np.clip(np.searchsorted(t, targets), 0, len(x) - 1))
