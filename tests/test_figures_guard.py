"""Figures that cannot mislead: the guard every figure passes through when it is saved
(:mod:`hpobench.plotting.guard`), and the drawing code that keeps coinciding lines visible
and draws no band, and claims none, for a single seed."""
from __future__ import annotations

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402

from hpobench.plotting.curves import band_note, draw_groups  # noqa: E402
from hpobench.plotting.guard import (BandWithoutSeeds, HiddenSeries, band,  # noqa: E402
                                     check_figure)
from paper_figures._common import save  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def agg_frame(curves: dict[str, tuple[list, list]], n: int = 3) -> pd.DataFrame:
    """An aggregate (the shape :func:`hpobench.aggregate.aggregate` returns) of given mean
    curves, s.e. 0.01."""
    parts = []
    for method, (x, y) in curves.items():
        y = np.asarray(y, float)
        parts.append(pd.DataFrame({
            "method": method, "method_variant": "", "budget_scale": 1.0, "x": x, "n": n,
            "mean": y, "sem": 0.01 if n > 1 else np.nan, "center": y,
            "lower": y - (0.01 if n > 1 else 0), "upper": y + (0.01 if n > 1 else 0)}))
    return pd.concat(parts, ignore_index=True)


X = list(np.geomspace(1, 50, 60))
Y = list(0.3 / np.sqrt(np.geomspace(1, 50, 60)))


def test_an_exactly_covered_line_fails():
    fig, ax = plt.subplots()
    ax.step(X, Y, where="post", gid="bohb", zorder=2)
    ax.step(X, Y, where="post", gid="hyperband", zorder=5, linewidth=2)
    with pytest.raises(HiddenSeries, match="'bohb'"):
        check_figure(fig)
    plt.close(fig)


def test_lines_apart_pass_and_are_not_rendered_again(monkeypatch):
    import hpobench.plotting.guard as guard

    def no_render(fig):
        raise AssertionError("rendered although no line can cover another")

    monkeypatch.setattr(guard, "_render", no_render)
    fig, ax = plt.subplots()
    ax.step(X, Y, where="post", gid="a")
    ax.step(X, [y + 0.05 for y in Y], where="post", gid="b")
    check_figure(fig)
    plt.close(fig)


def test_partly_covered_line_passes():
    # Hyperband and its most aggressive bracket coincide until the bracket ends
    fig, ax = plt.subplots()
    ax.step(X, Y, where="post", gid="bracket", linewidth=1.6, zorder=2)
    ax.step(X, Y[:20] + [y - 0.02 for y in Y[20:]], where="post", gid="hyperband",
            linewidth=1.6, zorder=5)
    check_figure(fig)
    plt.close(fig)


def test_draw_groups_keeps_identical_curves_visible(tmp_path):
    """BOHB before its model is fitted is Hyperband: identical curves, both visible
    through staggered markers drawn above every line."""
    agg = agg_frame({"hyperband": (X, Y), "bohb": (X, Y), "successive_halving": (X, Y)})
    fig, ax = plt.subplots()
    draw_groups(ax, agg)
    check_figure(fig)  # no HiddenSeries
    markers = [ln for ln in ax.get_lines() if ln.get_linestyle() == "None" and len(ln.get_xdata())]
    xs = [set(np.round(ln.get_xdata(), 9)) for ln in markers]
    assert len(markers) == 3 and not (xs[0] & xs[1]) and not (xs[1] & xs[2])
    plt.close(fig)


def test_band_refused_for_one_seed_and_checked_however_drawn():
    fig, ax = plt.subplots()
    with pytest.raises(BandWithoutSeeds, match="n=1"):
        band(ax, [1, 2], [0, 0], [1, 1], 1, "hyperband")
    poly = ax.fill_between([1, 2], [0, 0], [1, 1])
    poly.set_gid("band:1:hyperband (n=1)")  # a band marked n=1, drawn around the helper
    with pytest.raises(BandWithoutSeeds):
        check_figure(fig)
    plt.close(fig)


def test_one_seed_draws_no_band_and_the_legend_says_so():
    agg = agg_frame({"hyperband": (X, Y), "random": (X, [y + 0.1 for y in Y])}, n=1)
    fig, ax = plt.subplots()
    draw_groups(ax, agg)
    assert not [c for c in ax.collections if isinstance(c, PolyCollection)]
    note = band_note(agg, "mean")
    assert "standard error" not in note and "n=1" in note
    plt.close(fig)
    assert band_note(agg_frame({"hyperband": (X, Y)}, n=5), "mean") == \
        "mean ± standard error over seeds"
    mixed = pd.concat([agg_frame({"hyperband": (X, Y)}, n=5), agg_frame({"random": (X, Y)}, n=1)])
    assert "no band where n=1" in band_note(mixed, "mean")


def test_save_refuses_a_misleading_figure(tmp_path):
    fig, ax = plt.subplots()
    ax.plot(X, Y, gid="a")
    ax.plot(X, Y, gid="b", linewidth=3)
    with pytest.raises(HiddenSeries):
        save(fig, tmp_path, "hidden")
    assert not list(tmp_path.glob("hidden.*"))


def test_every_figure_script_saves_through_the_guard():
    """``savefig`` appears only in ``paper_figures/_common.save`` (which checks first), and
    every seed band in the figure code goes through the guard's ``band``."""
    for path in sorted((ROOT / "paper_figures").glob("*.py")) + sorted(
            (ROOT / "hpobench" / "plotting").glob("*.py")):
        text = path.read_text()
        if path.name != "_common.py":
            assert ".savefig(" not in text, f"{path.name} saves a figure around the guard"
        if "plt.subplots(" in text or "plt.figure(" in text or "draw_groups(" in text:
            assert path.name in ("_common.py", "curves.py", "guard.py") or "save(" in text
    # the one fill_between without a seed band: the envelope figure's nu +- gamma(t)
    uses = {p.name for p in (ROOT / "paper_figures").glob("*.py")
            if re.search(r"\.fill_between\(", p.read_text())}
    assert uses <= {"envelope.py"}, uses


def test_phase_diagram_shows_cells_without_a_significant_winner_as_such():
    from paper_figures import phase_diagram as pd_fig

    def cell(w, s, margin, se):
        return {"width": w, "spread": s, "winner": "hyperband", "winner_label": "Hyperband",
                "winner_mean": 0.1, "winner_se": 0.01, "runner_up": "random",
                "runner_up_label": "random search", "runner_up_mean": 0.1 + margin,
                "margin": margin, "margin_se": se, "paired_n": 5, "p_value": 0.1, "methods": 2}

    # margin 0.05 > 2 x 0.01: a winner; 0.015 < 2 x 0.01: none
    cells = pd.DataFrame([cell(0.1, 0.1, 0.05, 0.01), cell(0.5, 0.1, 0.015, 0.01)])
    per = pd.DataFrame([{"width": w, "spread": 0.1, "method": m, "label": m, "seeds": 5,
                         "mean": 0.1, "se": 0.01, "rank": 1, "winner": m == "hyperband"}
                        for w in (0.1, 0.5) for m in ("hyperband", "random")])
    fig = pd_fig.draw("t", cells, per, pd.DataFrame())
    ax = fig.axes[0]
    faces = [matplotlib.colors.to_hex(p.get_facecolor()) for p in ax.patches]
    assert faces == [pd_fig._style("hyperband").color, pd_fig.NO_WINNER]
    texts = [t.get_text() for t in ax.texts]
    assert texts[0].startswith("Hyperband") and texts[1].startswith("no significant winner")
    assert "1 of 2 cells" in ax.get_title()
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "no winner by > 2 s.e." in legend
    assert "random search (never wins by > 2 s.e.)" in legend
    plt.close(fig)
    md = pd_fig.markdown("t", cells, per, pd.DataFrame())
    assert "| 0.5 | 0.1 | no significant winner: Hyperband" in md
    assert "| 0.1 | 0.1 | Hyperband (" in md


def test_envelope_figure_shows_convergence_and_no_negative_loss(monkeypatch, tmp_path):
    from paper_figures import envelope

    got = {}

    def keep(fig, out, name):
        check_figure(fig)
        got["fig"] = fig
        return []

    monkeypatch.setattr(envelope, "save", keep)
    bench = envelope.benchmark_from_conf()
    envelope.make(None, tmp_path, bench=bench)
    ax = got["fig"].axes[0]
    for poly in ax.collections:  # the envelopes nu +- gamma(t), cut at 0
        assert poly.get_paths()[0].vertices[:, 1].min() >= 0.0
    curves = [ln for ln in ax.get_lines() if ln.get_label().startswith("$l_")]
    nus = [bench.terminal_loss(c) for c in envelope.pick_configs(bench)]
    assert len(curves) == len(nus) == 3
    for line, nu in zip(curves, nus):
        t, y = line.get_xdata(), line.get_ydata()
        assert t[-1] >= 1000 * bench.max_resource  # far enough for the limit to show
        # |l(t) - nu| <= gamma(t) for the envelope benchmark; at the end gamma is small
        assert abs(y[-1] - nu) <= bench.gamma(t[-1]) + 1e-12
        assert bench.gamma(t[-1]) < 0.1 * (max(nus) - min(nus))
    assert any(np.allclose(ln.get_xdata(), bench.max_resource) for ln in ax.get_lines())
    plt.close(got["fig"])
