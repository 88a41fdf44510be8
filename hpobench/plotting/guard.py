"""Figures that cannot mislead: no hidden series, no band without seeds to make it.

Every figure is checked when it is saved (``paper_figures._common.save`` calls
:func:`check_figure`), so a figure that would hide a line or draw a band from one seed
is never written:

* **hidden series**: each series (the lines and markers drawn for one label, grouped by
  their ``gid``; lines without a gid count alone) is hidden and the figure rendered
  again; if that changes fewer than :data:`MIN_VISIBLE` of the pixels the series paints
  when drawn alone, it is (all but) entirely covered by others: :class:`HiddenSeries`.
* **a band for n < 2**: bands are drawn with :func:`band`, which refuses ``n < 2`` and
  marks the band with its ``n``; :func:`check_figure` fails on a marked band with
  ``n < 2`` (:class:`BandWithoutSeeds`), however it got there.

Example::

    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> _ = ax.plot([0, 1], [0, 1], gid="a"); _ = ax.plot([0, 1], [0, 1], gid="b")
    >>> try:
    ...     check_figure(fig)
    ... except HiddenSeries as e:
    ...     print(e)
    series 'a' is hidden under others (0% of its pixels visible)
"""
from __future__ import annotations

from typing import Optional

import numpy as np

#: a series must stay visible on at least this fraction of the pixels it paints alone
#: (its markers alone, above a covered line, give 10-20%)
MIN_VISIBLE = 0.03
#: resolution of the check's renders (dots per inch)
CHECK_DPI = 100
#: a pixel counts as changed when a colour channel moves by more than this (of 255):
#: anti-aliased edges of a covered line shift by less
PIXEL_TOLERANCE = 64
_BAND = "band:"


class FigureError(ValueError):
    """A figure would mislead its reader."""


class HiddenSeries(FigureError):
    pass


class BandWithoutSeeds(FigureError):
    pass


def band(ax, x, lower, upper, n: int, label: str, **kwargs):
    """``fill_between`` for a band over ``n`` seeds (standard error, IQR): refused for
    ``n < 2``, where it would be drawn from nothing (and marked for :func:`check_figure`)."""
    if n < 2:
        raise BandWithoutSeeds(f"band of {label!r}: needs n >= 2 seeds, got n={n}")
    poly = ax.fill_between(x, lower, upper, **kwargs)
    poly.set_gid(f"{_BAND}{int(n)}:{label}")
    return poly


def band_n(artist) -> Optional[int]:
    """The ``n`` a :func:`band` was drawn for (None for other artists)."""
    gid = artist.get_gid() or ""
    if not gid.startswith(_BAND):
        return None
    return int(gid[len(_BAND):].split(":", 1)[0])


def _series(fig) -> dict[str, list]:
    """Lines with data, grouped by gid (a series' line and its markers share one)."""
    groups: dict[str, list] = {}
    for ax in fig.axes:
        for i, line in enumerate(ax.get_lines()):
            x = np.asarray(line.get_xdata(), dtype=object)
            if not line.get_visible() or x.size == 0:
                continue
            key = line.get_gid() or f"{ax.get_title() or 'axes'}: line {i} ({line.get_label()})"
            groups.setdefault(key, []).append(line)
    return groups


def _render(fig) -> np.ndarray:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    dpi = fig.dpi
    fig.set_dpi(CHECK_DPI)
    try:
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        return np.asarray(canvas.buffer_rgba()).copy()
    finally:
        fig.set_dpi(dpi)


def _with_hidden(fig, artists, hide: bool = True) -> np.ndarray:
    before = [a.get_visible() for a in artists]
    for a in artists:
        a.set_visible(not hide)
    try:
        return _render(fig)
    finally:
        for a, v in zip(artists, before):
            a.set_visible(v)


def check_figure(fig) -> None:
    """Raise :class:`BandWithoutSeeds` or :class:`HiddenSeries` (see the module text)."""
    for ax in fig.axes:
        for coll in ax.collections:
            n = band_n(coll)
            if n is not None and n < 2:
                raise BandWithoutSeeds(f"band {coll.get_gid()[len(_BAND):]!r} drawn for n={n} "
                                       "(a band needs n >= 2)")
    groups = _series(fig)
    if len(groups) < 2:
        return
    everything = [a for ax in fig.axes for a in ax.get_children()
                  if a.get_visible() and not _is_frame(a)]
    full = blank = None  # rendered only when some series may be covered
    for key, lines in groups.items():
        if not _may_be_covered(lines, [ln for k, g in groups.items() if k != key for ln in g]):
            continue  # some point of it lies off every other line: visible, no render needed
        if full is None:
            full, blank = _render(fig), _with_hidden(fig, everything)  # blank: frames alone
        changed = _differ(full, _with_hidden(fig, lines))
        # the pixels the series paints on its own (everything else hidden)
        painted = _differ(_with_hidden(fig, [a for a in everything if a not in lines]), blank)
        if painted and changed < MIN_VISIBLE * painted:
            raise HiddenSeries(f"series {key!r} is hidden under others "
                               f"({100 * changed / painted:.0f}% of its pixels visible)")


def _may_be_covered(lines, others, px: float = 3.0) -> bool:
    """Cheap pre-check: True unless some point of the series lies more than ``px`` pixels
    (vertically, at its x) off every other line of its axes drawn with a line style.
    Conservative: a True only sends the series to the pixel check."""
    for line in lines:
        ax = line.axes
        covers = [o for o in others if o.axes is ax and o.get_linestyle() not in ("None", "")]
        xy = _display(line)
        if not len(xy):
            continue
        covered = np.zeros(len(xy), bool)
        for o in covers:
            oxy = _display(o)
            if len(oxy) < 2:
                continue
            order = np.argsort(oxy[:, 0], kind="stable")
            ox, oy = oxy[order, 0], oxy[order, 1]
            inside = (xy[:, 0] >= ox[0] - px) & (xy[:, 0] <= ox[-1] + px)
            if o.get_drawstyle() in ("steps-post", "steps"):
                i = np.clip(np.searchsorted(ox, xy[:, 0], side="right") - 1, 0, len(ox) - 1)
                # a step line also covers its vertical risers: between the two levels
                j = np.clip(i + 1, 0, len(ox) - 1)
                at_riser = np.abs(ox[j] - xy[:, 0]) <= px
                lo = np.where(at_riser, np.minimum(oy[i], oy[j]), oy[i])
                hi = np.where(at_riser, np.maximum(oy[i], oy[j]), oy[i])
                near = (xy[:, 1] >= lo - px) & (xy[:, 1] <= hi + px)
            else:  # drawn point to point (other step styles: treated the same, loosely)
                near = np.abs(np.interp(xy[:, 0], ox, oy) - xy[:, 1]) <= px
            covered |= inside & near
        if not covered.all():
            return False
    return True


def _display(line) -> np.ndarray:
    """The line's data points in display (pixel) coordinates, finite ones only."""
    xy = np.asarray(line.get_xydata(), float)
    if not len(xy):
        return xy.reshape(0, 2)
    d = line.get_transform().transform(xy)
    return d[np.isfinite(d).all(axis=1)]


def _differ(a: np.ndarray, b: np.ndarray) -> int:
    """Pixels whose colour differs by more than :data:`PIXEL_TOLERANCE` in some channel."""
    return int((np.abs(a.astype(np.int16) - b.astype(np.int16)).max(axis=-1)
                > PIXEL_TOLERANCE).sum())


def _is_frame(artist) -> bool:
    """Axes furniture kept in the renders: spines, axis lines, ticks, background."""
    from matplotlib.axis import Axis
    from matplotlib.patches import Rectangle
    from matplotlib.spines import Spine

    return isinstance(artist, (Spine, Axis)) or (
        isinstance(artist, Rectangle) and artist is getattr(artist.axes, "patch", None))
