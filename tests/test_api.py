"""The Python front door (``hpobench.run``) and the how-to page, whose code blocks run here.

``hpobench/docs/howto_benchmark.md`` and the README's Python example are executed as
written: a block whose first line is ``# file: PATH`` is written to PATH, other Python
blocks run in order in one namespace, and each ``python -m runners.sweep`` line of a bash
block runs as a subprocess (the how-to's; the README's bash blocks are its long sweeps),
all inside a temporary directory.
"""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import hpobench
from hpobench.errors import ConfigError
from hpobench.space import Float, SearchSpace

ROOT = Path(__file__).resolve().parents[1]
HOWTO = ROOT / "hpobench" / "docs" / "howto_benchmark.md"


def blocks(path: Path) -> list[tuple[str, str]]:
    """(language, code) of every fenced block of a Markdown file, in order."""
    return re.findall(r"^```(\w+)\n(.*?)^```", path.read_text(), flags=re.S | re.M)


def run_blocks(path: Path, where: Path, monkeypatch,
               shell: bool = True) -> list[subprocess.CompletedProcess]:
    monkeypatch.chdir(where)
    monkeypatch.syspath_prepend(str(where))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(where), str(ROOT)])}
    namespace: dict = {"__name__": "__howto__"}
    done = []
    for lang, code in blocks(path):
        first = code.splitlines()[0]
        if first.startswith("# file: "):
            target = where / first[len("# file: "):].strip()
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(code)
        elif lang == "python":
            exec(compile(code, f"{path.name}:block", "exec"), namespace)
        elif lang == "bash" and shell:
            for line in code.splitlines():
                if line.startswith("python -m runners.sweep"):
                    args = shlex.split(line.split("#")[0])
                    p = subprocess.run([sys.executable, *args[1:]], cwd=where, env=env,
                                       capture_output=True, text=True, timeout=300)
                    assert p.returncode == 0, (line, p.stderr[-2000:])
                    done.append(p)
    return done


def test_howto_examples_run(tmp_path, monkeypatch, capsys):
    procs = run_blocks(HOWTO, tmp_path, monkeypatch)
    out = capsys.readouterr().out
    assert "max_resource: the method was built for R=81 but benchmark 'quad' has R=27" in out
    # the Hydra route wrote its runs where the page says
    assert len(procs) == 2
    for method, seeds in (("hyperband", [0]), ("random", [0, 1]), ("tpe", [0, 1])):
        for k in seeds:
            d = tmp_path / "results" / "quad" / method / "budget=5" / f"seed={k}"
            df = pd.read_parquet(d / "evaluations.parquet")
            assert set(df["benchmark"]) == {"quad"} and df["total_resource"].max() <= 5 * 27
            assert not (d / "sweep.log").exists()


def test_readme_python_example_runs(tmp_path, monkeypatch):
    readme = ROOT / "README.md"
    assert any(lang == "python" and "hpobench.run(" in code for lang, code in blocks(readme))
    run_blocks(readme, tmp_path, monkeypatch, shell=False)  # its sweeps take minutes


def quad(config, resource, seed):
    return (config["x"] - 0.3) ** 2 + 1.0 / resource


SPACE = SearchSpace([Float("x", 0.0, 1.0)])


def test_function_objective_hyperband_rows_follow_algorithm_1():
    # R=9, eta=3: s_max=2, B=27; one iteration = brackets s=2,1,0 with
    # n = ceil(27/9 * 9/3) = 9 at r=1 -> 3 at 3 -> 1 at 9 (9+9+9 = 27 units),
    # n = ceil(3 * 3/2) = 5 at 3 -> 1 at 9 (15+9 = 24), n = 3 at 9 (27): 78 units, 22 rows
    res = hpobench.run(quad, "hyperband", space=SPACE, max_resource=9, budget=78 / 9, seed=0)
    assert res.status == "complete"
    assert len(res.rows) == 22 and res.total_resource == 78.0
    assert [r["resource"] for r in res.rows[:13]] == [1.0] * 9 + [3.0] * 3 + [9.0]
    best = min((r for r in res.rows), key=lambda r: r["val_loss"])
    assert res.incumbent["val_loss"] == best["val_loss"]


def test_function_objective_return_shapes_and_failures():
    def both(config, resource, seed):
        if config["x"] > 0.8:
            raise RuntimeError("diverged")
        return {"val_loss": config["x"], "test_loss": 1 - config["x"]}

    res = hpobench.run(both, "random", space=SPACE, max_resource=1, budget=30, seed=3)
    df = res.frame()
    assert len(df) == 30
    ok = df[df["status"] == "ok"]
    assert np.allclose(ok["test_loss"], 1 - ok["val_loss"])
    failed = df[df["status"] == "failed"]
    assert len(failed) > 0 and (failed["config.x"] > 0.8).all()
    assert failed["error"].str.contains("diverged").all()
    assert res.incumbent["val_loss"] == ok["val_loss"].min()


def test_method_options_reach_the_method():
    # eta=2 on R=4: s_max=2, first bracket n=ceil(12/4 * 4/3)=4 configurations at r=1
    res = hpobench.run(quad, "hyperband", space=SPACE, max_resource=4, budget=1, seed=0,
                       eta=2)
    assert [r["resource"] for r in res.rows[:4]] == [1.0] * 4


def test_same_seed_same_rows():
    a = hpobench.run(quad, "tpe", space=SPACE, max_resource=3, budget=12, seed=5)
    b = hpobench.run(quad, "tpe", space=SPACE, max_resource=3, budget=12, seed=5)
    assert [r["config.x"] for r in a.rows] == [r["config.x"] for r in b.rows]


def test_run_dir_writes_and_resumes(tmp_path):
    d = tmp_path / "run"
    a = hpobench.run(quad, "hyperband", space=SPACE, max_resource=9, budget=3, seed=0, run_dir=d)
    assert (d / "evaluations.parquet").is_file() and (d / "run.json").is_file()
    b = hpobench.run(quad, "hyperband", space=SPACE, max_resource=9, budget=3, seed=0, run_dir=d)
    assert b.status == "complete" and len(b.rows) == len(a.rows)


@pytest.mark.parametrize("kwargs, field", [
    (dict(space=SPACE), "space, max_resource"),
    (dict(space=SPACE, max_resource=0), "max_resource"),
    (dict(space="x", max_resource=9), "space"),
    (dict(space=SPACE, max_resource=9, method="nope"), "method"),
    (dict(space=SPACE, max_resource=9, method="../conf/config"), "method"),
    (dict(space=SPACE, max_resource=9, seed=-1), "seed"),
    (dict(space=SPACE, max_resource=9, budget=0.01), "budget"),
    (dict(space=SPACE, max_resource=9, flavour=2), "method.flavour"),
])
def test_bad_input_is_one_line_config_error(kwargs, field):
    kwargs = {"method": "hyperband", **kwargs}
    with pytest.raises(ConfigError) as e:
        hpobench.run(quad, **kwargs)
    msg = str(e.value)
    assert msg.startswith(field) and "\n" not in msg


def test_optimizer_built_for_another_R_is_refused():
    from hpobench.optimizers import Hyperband
    from hpobench.run import run

    from hpobench.benchmarks.envelope import EnvelopeBenchmark

    b = EnvelopeBenchmark(max_resource=27)
    with pytest.raises(ConfigError, match=r"^max_resource: .*R=81.*R=27"):
        run(b, Hyperband(b.space, 81, np.random.default_rng(0)), budget=5, seed=0,
            method_name="hyperband")


def test_print_result_is_a_summary():
    res = hpobench.run(quad, "random", space=SPACE, max_resource=1, budget=500, seed=0)
    text = repr(res)
    assert len(res.rows) == 500 and "\n" not in text and len(text) < 400
    assert text.startswith("RunResult(status='complete', 500 evaluations")


def test_module_and_function_names_coexist():
    import importlib

    loop = importlib.import_module("hpobench.run")
    assert callable(hpobench.run) and hpobench.run is not loop.run
    assert hasattr(loop, "RunResult")
