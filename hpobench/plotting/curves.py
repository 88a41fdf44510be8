"""Draw seed-aggregated incumbent curves (from :func:`hpobench.aggregate.aggregate`).

One line per group with its band (standard error or interquartile range), drawn as a step
function (the incumbent changes only at evaluations), markers thinned so lines stay
readable, styles from :mod:`hpobench.plotting.styles`.

Example::

    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> draw_groups(ax, agg_of_one_context)                          # doctest: +SKIP
"""
from __future__ import annotations

import pandas as pd

from hpobench.plotting.styles import order_key, style

BAND_LABEL = {"mean": "mean ± standard error over seeds",
              "median": "median and interquartile range over seeds"}


def draw_groups(ax, agg: pd.DataFrame, logx: bool = True, markers: int = 8) -> list[str]:
    """Draw every (method, method_variant, method_key, budget_scale) group of ``agg`` on ``ax``;
    return the labels drawn, in legend order."""
    labels = []
    # method_key (resolved settings) where the frame has it; labels are unique per key
    keys = [k for k in ("method", "method_variant", "method_key", "budget_scale")
            if k in agg.columns]
    groups = sorted(agg.groupby(keys, sort=False), key=lambda kv: order_key(kv[0][0], kv[0][1]))
    for (method, mvar, *_), g in groups:
        g = g.sort_values("x")
        st = style(method, mvar)
        n = int(g["n"].iloc[0])
        label = f"{st.label} (n={n})"
        x = g["x"].to_numpy()
        ax.fill_between(x, g["lower"].to_numpy(), g["upper"].to_numpy(), step="post",
                        color=st.color, alpha=0.2, linewidth=0, zorder=st.zorder - 1)
        ax.step(x, g["center"].to_numpy(), where="post", color=st.color,
                linestyle=st.linestyle, linewidth=1.6, zorder=st.zorder)
        # markers at points evenly spaced on the axis's scale, for print in grey
        idx = _even_indices(x, markers, logx)
        ax.plot(x[idx], g["center"].to_numpy()[idx], linestyle="none", marker=st.marker,
                color=st.color, markersize=5, zorder=st.zorder)
        # a proxy artist carries line, marker and label into the legend
        ax.plot([], [], color=st.color, linestyle=st.linestyle, marker=st.marker,
                markersize=5, label=label)
        labels.append(label)
    if logx:
        ax.set_xscale("log")
    ax.grid(True, which="major", alpha=0.3)
    return labels


def _even_indices(x, k: int, logx: bool):
    import numpy as np

    if len(x) <= k:
        return np.arange(len(x))
    t = np.log(x) if logx else np.asarray(x, float)
    targets = np.linspace(t[0], t[-1], k)
    return np.unique(np.clip(np.searchsorted(t, targets), 0, len(x) - 1))
