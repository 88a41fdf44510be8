"""The envelope phase diagram on a tiny real sweep of its preset (2 x 2 grid, two cheap
methods, three seeds, R=9, 4R): winners and paired margins match a hand computation made
straight from the evaluation tables; missing runs name the sweep commands; the BOHB vs
Hyperband figure on a tiny real run of its runner."""
from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from paper_figures import bohb_vs_hyperband, phase_diagram
from paper_figures._common import Results, cli
from tests.conftest import ROOT

METHODS = ("random", "hyperband")
WIDTHS, SPREADS, SEEDS = (0.1, 2.0), (0.05, 1.0), (0, 1, 2)


@pytest.fixture(scope="module")
def phase_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("phase")
    cmd = [sys.executable, "-m", "runners.sweep", "-m", "+experiment=envelope_phase",
           f"method={','.join(METHODS)}", f"benchmark.width={','.join(map(str, WIDTHS))}",
           f"benchmark.spread={','.join(map(str, SPREADS))}", "benchmark.max_resource=9",
           f"seed={','.join(map(str, SEEDS))}", "budget=4", f"results_dir={root}",
           "progress=false"]
    subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, timeout=300)
    return root


def _by_hand(root) -> pd.DataFrame:
    """(width, spread, method, seed) -> test error of the lowest validation loss a run saw
    (the first one on ties), read from the Parquet files and the directory names only."""
    rows = []
    for table in root.rglob("evaluations.parquet"):
        df = pd.read_parquet(table)
        ok = df[(df["status"] == "ok") & np.isfinite(df["val_loss"])]
        best = ok.iloc[int(np.argmin(ok["val_loss"].to_numpy()))]
        settings = dict(i.split("=") for i in table.parent.parent.name.split(","))
        rows.append({"width": float(settings["benchmark.width"]),
                     "spread": float(settings["benchmark.spread"]),
                     "method": table.parent.parent.parent.name,
                     "seed": int(table.parent.name.split("=")[1]),
                     "test_loss": float(best["test_loss"])})
    return pd.DataFrame(rows)


def test_winners_and_margins_match_a_hand_computation(phase_root):
    hand = _by_hand(phase_root)
    assert len(hand) == len(WIDTHS) * len(SPREADS) * len(METHODS) * len(SEEDS)
    cells, per = phase_diagram.diagram_table(phase_diagram.final_errors(Results(phase_root).curves))
    assert len(cells) == 4 and len(per) == 4 * len(METHODS)
    for (w, s), cell in hand.groupby(["width", "spread"]):
        wide = cell.pivot(index="seed", columns="method", values="test_loss")
        means = wide.mean().sort_values()
        winner, runner = means.index[0], means.index[1]
        d = (wide[runner] - wide[winner]).to_numpy()
        got = cells[(cells["width"] == w) & (cells["spread"] == s)].iloc[0]
        assert got["winner"] == winner and got["runner_up"] == runner
        assert got["winner_mean"] == pytest.approx(means[winner], abs=1e-12)
        assert got["margin"] == pytest.approx(d.mean(), abs=1e-12)
        assert got["margin_se"] == pytest.approx(d.std(ddof=1) / math.sqrt(len(d)), abs=1e-12)
        assert got["paired_n"] == len(SEEDS)
        mine = per[(per["width"] == w) & (per["spread"] == s)].set_index("method")
        for m in METHODS:
            assert mine.loc[m, "se"] == pytest.approx(
                wide[m].std(ddof=1) / math.sqrt(len(SEEDS)), abs=1e-12)


def test_cli_writes_figure_and_tables_and_names_the_bracket_sweep(phase_root, tmp_path,
                                                                  capsys):
    out = tmp_path / "figs"
    assert cli(phase_diagram.NAME, phase_diagram.make,
               argv=["--results", str(phase_root), "--out", str(out)]) == 0
    stdout = capsys.readouterr().out
    png = list(out.glob("phase_diagram_*.png"))
    assert len(png) == 1 and png[0].read_bytes()[:4] == b"\x89PNG"
    assert png[0].with_suffix(".pdf").read_bytes()[:4] == b"%PDF"
    md = png[0].with_suffix(".md").read_text()
    assert "| 0.1 | 0.05 |" in md and "| 2 | 1 |" in md
    # the preset's bracket rows were not run: the output says which sweep makes them
    assert "+experiment=envelope_phase_brackets" in stdout


def test_no_phase_runs_names_both_presets(tmp_path):
    o = phase_diagram.make(Results(tmp_path), tmp_path / "out")
    assert not o.written
    assert [c.split("=")[-1] for c in o.missing[0].commands] == ["envelope_phase",
                                                                 "envelope_phase_brackets"]


def test_bohb_vs_hyperband_figure_and_paired_difference(tmp_path):
    """A tiny real run of the BOHB-vs-Hyperband runner; the final paired difference in the
    figure matches one computed by hand from the evaluation tables."""
    root = tmp_path / "bvh"
    subprocess.run([sys.executable, "-m", "runners.bohb_vs_hyperband", "--results", str(root),
                    "--seeds", "2", "--budget", "2", "--max-resource", "9"], cwd=ROOT,
                   check=True, capture_output=True, timeout=300)
    res = Results(root)
    o = bohb_vs_hyperband.make(res, tmp_path / "figs")
    assert not o.missing and [p.suffix for p in o.written] == [".png", ".pdf"]
    hand = {}
    for table in root.rglob("evaluations.parquet"):
        df = pd.read_parquet(table)
        ok = df[df["status"] == "ok"]
        term = "iid" if "terminal=iid" in table.parent.parent.name else "structured"
        hand[(term, table.parent.parent.parent.name, table.parent.name)] = float(
            ok["test_loss"].iloc[int(np.argmin(ok["val_loss"].to_numpy()))])
    c = res.curves
    for term in ("structured", "iid"):
        d = [hand[(term, "bohb", s)] - hand[(term, "hyperband", s)] for s in ("seed=0", "seed=1")]
        got = bohb_vs_hyperband.final_difference(c[c["context"].str.contains(f"terminal={term}")])
        assert got["n"] == 2 and got["mean_diff"] == pytest.approx(np.mean(d), abs=1e-12)
