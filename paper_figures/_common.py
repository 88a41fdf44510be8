"""What every figure script shares: reading results once, saving PNG + PDF, the sweep
command that produces each figure's runs, and the "runs are missing" report."""
from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import matplotlib

matplotlib.use("Agg")  # files only, never a window

import pandas as pd  # noqa: E402

from hpobench import aggregate as ag  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_RESULTS = Path("results")
DEFAULT_OUT = ROOT / "paper_figures" / "out"

SWEEP = "python -m runners.sweep -m +experiment="
#: The sweep that produces the runs each figure reads (conf/experiment/<name>.yaml).
SWEEPS = {
    "paper_envelope": SWEEP + "paper_envelope",
    "envelope_brackets": SWEEP + "envelope_brackets",
    "grid_vs_random": SWEEP + "grid_vs_random",
    "lenet_cpu": SWEEP + "lenet_cpu",
    "lenet_cpu_hyperband": SWEEP + "lenet_cpu_hyperband",
    "lenet_paper": SWEEP + "lenet_paper",
    "lenet_paper_hyperband": SWEEP + "lenet_paper_hyperband",
    "envelope_phase": SWEEP + "envelope_phase",
    "envelope_phase_brackets": SWEEP + "envelope_phase_brackets",
    "table_simulated": SWEEP + "table_simulated",
    "table_tasks": SWEEP + "table_tasks",
    # the paper's Figure 3 and the method comparison replayed from the LeNet CPU table
    "table_brackets": SWEEP + "table_brackets",
    "table_brackets_hyperband": SWEEP + "table_brackets_hyperband",
    "table_methods": SWEEP + "table_methods",
    # LCDB's doubling grid: Hyperband and ASHA at eta = 2; random search and TPE have no eta
    "lcdb_tasks": SWEEP + "lcdb_tasks",
    "lcdb_tasks_full": SWEEP + "lcdb_tasks_full",
}


class MissingRuns(Exception):
    """A figure cannot be drawn: the runs it needs are not under the results root."""

    def __init__(self, figure: str, need: str, commands: list[str]):
        self.figure, self.need, self.commands = figure, need, commands
        super().__init__(f"{figure}: {need}; produce them with: " + " ; ".join(commands))


@dataclass
class Results:
    """The results root, read once: rows, incumbent curves (``incumbent``: ``"any"`` or
    ``"full"``, see :func:`hpobench.aggregate.incumbent_curve`), and cached aggregates."""

    root: Path
    stat: str = "mean"
    grid: str = "log"
    points: int = 200
    methods: Optional[list[str]] = None
    incumbent: str = "any"
    df: pd.DataFrame = field(init=False)
    curves: pd.DataFrame = field(init=False)

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        self.df = ag.load_results(self.root)
        if self.methods:
            self.df = self.df[self.df["method"].isin(self.methods)]
        self.curves = ag.curves(self.df, incumbent=self.incumbent)

    @property
    def empty(self) -> bool:
        return self.df.empty

    def aggregate(self, curves: Optional[pd.DataFrame] = None, grid: Optional[str] = None):
        return ag.aggregate(self.curves if curves is None else curves,
                            grid=grid or self.grid, points=self.points, stat=self.stat)

    def run_json(self, run_dir: str) -> dict:
        import json

        try:
            return json.loads((self.root / run_dir / "run.json").read_text())
        except (OSError, ValueError):
            return {}


@dataclass
class Outcome:
    """What a figure script wrote, and what it could not draw (with the command to fix it)."""

    written: list[Path] = field(default_factory=list)
    missing: list[MissingRuns] = field(default_factory=list)

    @classmethod
    def nothing(cls, figure: str, need: str, *commands: str) -> "Outcome":
        """Nothing drawn: the runs ``figure`` needs are missing; ``commands`` produce them."""
        return cls(missing=[MissingRuns(figure, need, list(commands))])


def save(fig, out: Path, name: str) -> list[Path]:
    """Write ``fig`` as ``<out>/<name>.png`` (150 dpi) and ``.pdf``; close it.

    The figure is checked first (:func:`hpobench.plotting.guard.check_figure`): a series
    hidden under others or a band drawn for fewer than 2 seeds raises, nothing is written.
    """
    import matplotlib.pyplot as plt

    from hpobench.plotting.guard import check_figure

    try:
        check_figure(fig)
    except Exception:
        plt.close(fig)
        raise
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"{name}.png", out / f"{name}.pdf"]
    fig.savefig(paths[0], dpi=150, bbox_inches="tight")
    fig.savefig(paths[1], bbox_inches="tight")
    plt.close(fig)
    return paths


def slug(text: str) -> str:
    """A file-name-safe form of a context label."""
    keep = "".join(c if c.isalnum() or c in "-_." else "_" for c in text)
    return "_".join(p for p in keep.split("_") if p)


def context_name(key: tuple) -> str:
    """File-name part for a context: ``<benchmark>`` plus its settings when not the only one."""
    sweep, bench, ctx, R = ag.label_parts(key)
    return slug("_".join(p for p in (sweep, bench, f"R{R}", ctx) if p))


def ylabel(stat: str) -> str:
    what = "mean" if stat == "mean" else "median"
    return f"{what} test error of the incumbent"


XLABEL = "total resource (multiples of R, per search)"


def with_zoom(figsize=(14.5, 4.6)):
    """A figure of two panels: the whole run (log resource) and :func:`zoom_panel`."""
    import matplotlib.pyplot as plt

    fig, (ax, zoom) = plt.subplots(1, 2, figsize=figsize, gridspec_kw={"width_ratios": [1.1, 1]})
    return fig, ax, zoom


def legend_beside(ax, zoom, title: str) -> None:
    """The legend right of the last visible panel (inside, it would hide curves)."""
    (zoom if zoom.get_visible() else ax).legend(
        fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False,
        title=title, title_fontsize=7)


def zoom_panel(ax, agg: pd.DataFrame, stat: str) -> None:
    """The paper's view of a figure's curves: from 1 R on, linear resource axis, the error
    axis fitted to the range from 2 R on (where methods part; on the full, log-resource
    panel they overlap at the bottom).  Hidden when no curve reaches 1 R."""
    from hpobench.plotting.curves import draw_groups

    late = agg[agg["x"] >= 1.0]
    if late.empty:
        ax.set_visible(False)
        return
    draw_groups(ax, late, logx=False)
    fit = late[late["x"] >= 2.0] if (late["x"] >= 2.0).any() else late
    lo, hi = fit["lower"].min(), fit["upper"].max()
    if pd.notna(lo) and pd.notna(hi) and hi > lo:
        pad = 0.05 * (hi - lo)
        ax.set_ylim(lo - pad, hi + pad)
    ax.set_title("from 1 R on (linear resource axis; error axis fitted from 2 R)", fontsize=10)
    ax.set_xlabel(XLABEL)
    ax.set_ylabel(ylabel(stat))


def cli(name: str, make: Callable[[Results, Path], Outcome], needs_results: bool = True,
        argv=None) -> int:
    """Command line for one figure script: ``--results``, ``--out``, ``--stat``, ``--grid``,
    ``--points``, ``--methods``, ``--incumbent``."""
    ap = parser(f"python -m paper_figures.{name}")
    a = ap.parse_args(argv)
    res = load(a) if needs_results else None
    outcome = make(res, Path(a.out))
    return report(outcome, name)


def parser(prog: str) -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog=prog)
    ap.add_argument("--results", default=str(DEFAULT_RESULTS),
                    help="results root to read (default: results)")
    ap.add_argument("--out", default=str(DEFAULT_OUT),
                    help="where figures and tables go (default: paper_figures/out)")
    ap.add_argument("--stat", choices=ag.STATS, default="mean",
                    help="mean with standard error (default) or median with IQR band")
    ap.add_argument("--grid", choices=ag.GRIDS, default="log",
                    help="common resource grid the seeds are averaged on (default: log)")
    ap.add_argument("--points", type=int, default=200, help="grid points (default 200)")
    ap.add_argument("--methods", default=None,
                    help="comma-separated methods to read (default: every method present)")
    ap.add_argument("--incumbent", choices=ag.INCUMBENTS, default="any",
                    help="which evaluations may become the incumbent: any resource "
                    "(default, Algorithm 1 line 11) or the full resource R only")
    return ap


def load(a) -> Results:
    methods = [m.strip() for m in a.methods.split(",") if m.strip()] if a.methods else None
    res = Results(Path(a.results), stat=a.stat, grid=a.grid, points=a.points, methods=methods,
                  incumbent=a.incumbent)
    n_runs = res.df["run_dir"].nunique() if not res.empty else 0
    print(f"read {n_runs} runs ({len(res.df)} evaluations) from {Path(a.results).resolve()}"
          + ("; incumbents from evaluations at the full R only" if a.incumbent == "full" else ""))
    for key in ag.contexts(res.df):
        sub = ag.select(res.df, key)
        per = sub.groupby(["method", "method_variant"])["seed"].nunique()
        desc = ", ".join(f"{m}{'[' + mv + ']' if mv else ''} x{n}" for (m, mv), n in per.items())
        print(f"  {ag.describe_context(key)}: {desc}")
    return res


def report(outcome: Outcome, name: str) -> int:
    for p in outcome.written:
        print(f"wrote {p}")
    for m in outcome.missing:  # on stdout, in order with what was written
        print(f"missing: {m.figure}: {m.need}")
        for c in m.commands:
            print(f"    run: {c}")
    return 0 if outcome.written else 1
