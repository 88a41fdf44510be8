"""Figure 3: the envelope picture (the talk's Figure 2), computed from the benchmark itself.

Left: validation-loss learning curves ``l_i(t)`` of a few configurations of
:class:`~hpobench.benchmarks.envelope.EnvelopeBenchmark`, their terminal losses ``nu_i``
(dashed) and the envelopes ``nu_i +- gamma(t)`` (shaded, cut at 0: a loss is never
negative), on a log axis running to 1000R: ``nu_i`` is the limit of ``l_i(t)``, and at
``t = R`` (marked, with ``gamma(R)``) a curve may still sit up to ``gamma(R)`` above it.  Right: ``gamma(t)`` against half
of each pair's gap ``|nu_i - nu_j| / 2``: the pair is told apart once ``gamma`` falls below
it, so closer terminal losses (or a wider envelope) need more resource.  No results needed;
the benchmark settings are those of ``conf/benchmark/envelope.yaml``.

    python -m paper_figures.envelope --out paper_figures/out
"""
from __future__ import annotations

import itertools
import sys
from pathlib import Path
from typing import Optional

import numpy as np
import matplotlib.pyplot as plt

from paper_figures._common import ROOT, Outcome, cli, save

NAME = "envelope"
COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd")
#: the left panel runs to this many times R, where every curve has reached its nu_i
T_BEYOND = 1000


def benchmark_from_conf(path: Optional[Path] = None):
    """The envelope benchmark as ``conf/benchmark/envelope.yaml`` configures it."""
    from omegaconf import OmegaConf

    from hpobench.experiment import instantiate

    path = path or ROOT / "conf" / "benchmark" / "envelope.yaml"
    return instantiate("benchmark", OmegaConf.to_container(OmegaConf.load(path), resolve=True))


def pick_configs(bench, k: int = 3, seed: int = 0, pool: int = 200) -> list[dict]:
    """``k`` configurations spread evenly over the terminal losses of a random pool (from
    the best to the worst), so near and far pairs both appear."""
    rng = np.random.default_rng(seed)
    cfgs = [bench.space.sample(rng) for _ in range(pool)]
    order = sorted(cfgs, key=bench.terminal_loss)
    return [order[int(round(q * (pool - 1)))] for q in np.linspace(0, 1, k)]


def make(_res, out: Path, bench=None, seed: int = 0) -> Outcome:
    bench = bench or benchmark_from_conf()
    cfgs = pick_configs(bench, seed=seed)
    R = bench.max_resource
    # far beyond R, on a log axis: nu_i is where a curve goes as t grows (the picture's
    # meaning), and at t = R a curve may still sit up to gamma(R) above it
    t = np.unique(np.concatenate([np.arange(1, R + 1, dtype=float),
                                  np.geomspace(R, R * T_BEYOND, 120)]))
    gam = np.array([bench.gamma(x) for x in t])
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 4.3), gridspec_kw={"width_ratios": [3, 2]})
    nus = []
    for i, (cfg, col) in enumerate(zip(cfgs, COLORS)):
        nu = bench.terminal_loss(cfg)
        nus.append(nu)
        val = np.array([bench.curve(cfg, x, seed)[0] for x in t])
        # a loss is never negative: the envelope's lower edge stops at 0
        ax.fill_between(t, np.maximum(nu - gam, 0.0), nu + gam, color=col, alpha=0.12,
                        linewidth=0)
        ax.plot(t, val, color=col, linewidth=1.2, label=f"$l_{i + 1}(t)$")
        ax.axhline(nu, color=col, linestyle="--", linewidth=1.0)
        ax.annotate(f"$\\nu_{i + 1}$={nu:.3f}", (t[-1], nu), xytext=(6, 0),
                    textcoords="offset points", va="center", fontsize=8, color=col,
                    bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "alpha": 0.9,
                          "linewidth": 0})
    g_R = bench.gamma(R)
    ax.axvline(R, color="grey", linewidth=0.8)
    ax.annotate(f"t = R = {R}\n$\\gamma(R)$={g_R:.3f}", (R, 1.0), xycoords=("data", "axes fraction"),
                xytext=(3, -3), textcoords="offset points", va="top", fontsize=8, color="grey")
    ax.set_xscale("log")
    ax.set_xlabel(f"resource t ({bench.resource_unit}s; log scale, to {T_BEYOND:g}R)")
    ax.set_ylabel("validation loss")
    ax.set_title("Learning curves in their envelopes $\\nu_i \\pm \\gamma(t)$ (cut at 0): "
                 "$l_i(t) \\to \\nu_i$", fontsize=10)
    ax.set_xlim(1, t[-1] * 12)
    ax.set_ylim(0, max(nus) + gam[0])
    ax.legend(fontsize=8, loc="upper right", frameon=False)
    # gamma beyond R too, to show how much resource each pair would need
    tt = np.geomspace(1, R * 1000, 400)
    gg = np.array([bench.gamma(x) for x in tt])
    ax2.plot(tt, gg, color="black", linewidth=1.6, label="$\\gamma(t)$")
    ax2.axvline(R, color="grey", linewidth=0.8)
    ax2.annotate("R", (R, gg.max()), xytext=(3, -10), textcoords="offset points", fontsize=8)
    for (i, a), (j, b) in itertools.combinations(enumerate(nus), 2):
        half = abs(a - b) / 2
        told = tt[gg < half]
        lab = f"$|\\nu_{i + 1}-\\nu_{j + 1}|/2$={half:.3f}: " + (
            f"apart after t~{told[0]:.3g}" if len(told) else f"not apart by t={tt[-1]:g}")
        ax2.axhline(half, linestyle=":", color=COLORS[j] if i == 0 else COLORS[3], label=lab)
    ax2.set_xscale("log")
    ax2.set_yscale("log")
    ax2.set_xlabel(f"resource t ({bench.resource_unit}s)")
    ax2.set_ylabel("loss scale")
    ax2.set_title("Envelope width vs half the gaps", fontsize=10)
    ax2.legend(fontsize=7, frameon=False, loc="lower left")
    fig.suptitle(f"Envelope benchmark (width={bench.width}, decay={bench.decay}, "
                 f"R={R}); seed {seed}", fontsize=10)
    fig.tight_layout()
    return Outcome(written=save(fig, out, NAME))


if __name__ == "__main__":
    sys.exit(cli(NAME, make, needs_results=False))
