"""The figure scripts and ``python -m paper_figures`` on small real results; the missing-sweep
message on an empty root; the experiment presets compose and sweep."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from hpobench import aggregate as ag
from hpobench.experiment import build
from hpobench.run import run
from paper_figures import (brackets, envelope, grid_vs_random, method_comparison, summary,
                           table1)
from paper_figures.__main__ import main
from paper_figures._common import Results
from tests.conftest import CONF, ROOT, compose_cfg
from tests.test_aggregate import build_results

PNG, PDF = b"\x89PNG", b"%PDF"
PRESETS = sorted(p.stem for p in (CONF / "experiment").glob("*.yaml"))


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    root = tmp_path_factory.mktemp("results")
    build_results(root, brackets=(0, 1, 2))
    return root


def _check_pairs(paths: list[Path]) -> None:
    """Every figure was written as a non-empty PNG and PDF."""
    stems = {p.with_suffix("") for p in paths if p.suffix in (".png", ".pdf")}
    assert stems
    for s in stems:
        assert s.with_suffix(".png").read_bytes()[:4] == PNG
        assert s.with_suffix(".pdf").read_bytes()[:4] == PDF


def test_empty_root_exits_nonzero_naming_the_sweep(tmp_path):
    p = subprocess.run([sys.executable, "-m", "paper_figures", "--results", str(tmp_path / "none"),
                        "--out", str(tmp_path / "out")], cwd=ROOT, capture_output=True, text=True,
                       timeout=120)
    assert p.returncode != 0
    assert "no runs" in p.stderr
    assert "python -m runners.sweep -m +experiment=paper_envelope" in p.stderr
    assert not list((tmp_path / "out").glob("*.png")) if (tmp_path / "out").exists() else True


def test_figure_scripts_write_png_and_pdf(results, tmp_path):
    res = Results(results)
    out = tmp_path / "figs"
    o = method_comparison.make(res, out)
    assert not o.missing
    _check_pairs(o.written)
    assert any(p.name.startswith("method_comparison_envelope_R9") for p in o.written)

    o = brackets.make(res, out)
    _check_pairs(o.written)
    assert [p.name for p in o.written if p.suffix == ".png"] == ["brackets_envelope_R9_budget_4.png"]
    # no LeNet runs here: said, with the sweep that makes them
    assert any(m.figure == "LeNet bracket figure"
               and "+experiment=table_brackets " in m.commands[0]
               and any("+experiment=lenet_cpu " in c for c in m.commands) for m in o.missing)

    _check_pairs(envelope.make(None, out).written)
    (md,) = table1.make(None, out).written
    text = md.read_text()
    assert "34/3, 11/9, 3/27, 1/81" in text and "27/3, 9/9, 3/27, 1/81" in text
    assert "| all | | 143 | 1581 / 1902 | | 128 | 1404 / 1701 |" in text

    o = summary.make(res, out)
    table = (out / "summary.csv").read_text()
    assert "hyperband" in table and "random" in table
    assert "random search" in (out / "summary.md").read_text()
    assert "rank" in (out / "ranks.csv").read_text().splitlines()[0]

    # grid_vs_random has no grid runs here: it says so instead of drawing
    o = grid_vs_random.make(res, out)
    assert not o.written and "+experiment=grid_vs_random" in o.missing[0].commands[0]


def test_comparison_needs_two_methods(results, tmp_path):
    res = Results(results)
    res.curves = res.curves[res.curves["method"] == "hyperband"]
    o = method_comparison.make(res, tmp_path)
    assert not o.written and "+experiment=paper_envelope" in o.missing[0].commands[0]


def test_main_on_real_results(results, tmp_path, capsys):
    rc = main(["--results", str(results), "--out", str(tmp_path / "out")])
    text = capsys.readouterr().out
    assert rc == 0
    assert "read 15 runs" in text
    assert "missing: LeNet bracket figure" in text
    written = [Path(line.split(" ", 1)[1]) for line in text.splitlines() if line.startswith("wrote /")]
    assert {p.name for p in written} >= {"envelope.png", "table1.md", "summary.md"}
    assert all(p.exists() for p in written)


def test_grid_vs_random_from_real_runs(tmp_path):
    if not (CONF / "method" / "grid.yaml").exists():
        pytest.skip("conf/method/grid.yaml is not there yet")
    for method in ("grid", "random"):
        for seed in (0, 1):
            cfg = compose_cfg(["+experiment=grid_vs_random", f"method={method}", f"seed={seed}",
                               "budget=9"])
            b, opt, ex = build(cfg)
            run(b, opt, budget=9, seed=seed, method_name=method, executor=ex,
                run_dir=tmp_path / b.name / method / "budget=9" / f"seed={seed}",
                variant="budget=9", meta={"config": OmegaConf.to_container(cfg, resolve=True)})
    res = Results(tmp_path)
    distinct = res.df.groupby(["method", "seed"])["config.x"].nunique()
    assert set(distinct["grid"]) == {3} and set(distinct["random"]) == {9}
    o = grid_vs_random.make(res, tmp_path / "figs")
    assert not o.missing
    _check_pairs(o.written)


@pytest.mark.parametrize("name", PRESETS)
def test_presets_compose_into_a_sweep(name):
    raw = OmegaConf.load(CONF / "experiment" / f"{name}.yaml")
    bench = next((d["override /benchmark"] for d in raw.get("defaults", [])
                  if "override /benchmark" in d), "envelope")
    if not (CONF / "benchmark" / f"{bench}.yaml").exists():
        pytest.skip(f"conf/benchmark/{bench}.yaml is not there yet")
    from hydra import compose, initialize_config_dir

    import hpobench.configs  # noqa: F401  (registers the resolvers the config uses)

    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(config_name="config", overrides=[f"+experiment={name}"],
                      return_hydra_config=True)
    params = cfg.hydra.sweeper.params
    assert "method" in params and "seed" in params and "budget" in params
    methods = str(params["method"])
    if not methods.startswith("glob("):
        for m in methods.split(","):
            assert (CONF / "method" / f"{m}.yaml").exists(), m
    assert cfg.benchmark.name.startswith(bench.split("_")[0])


def test_bracket_preset_sweeps_through_hydra(tmp_path):
    r = tmp_path / "r"
    p = subprocess.run(
        [sys.executable, "-m", "runners.sweep", "-m", "+experiment=envelope_brackets", "seed=0",
         "budget=2", "benchmark.max_resource=9", "method.bracket=0,2", f"results_dir={r}"],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr[-2000:]
    df = ag.load_results(r)
    assert set(df["method"]) == {"successive_halving"}
    assert set(df["method_variant"]) == {"method.bracket=0", "method.bracket=2"}
    assert set(df["context"]) == {"benchmark.max_resource=9,budget=2"}
