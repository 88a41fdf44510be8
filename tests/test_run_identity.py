"""A run is its resolved settings (run.json): a directory holding a run with other
settings is refused with one line, before anything is written, by every route."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from hpobench.benchmarks.envelope import EnvelopeBenchmark
from hpobench.errors import ConfigError
from hpobench.optimizers import Hyperband
from hpobench.run import run
from tests.test_sweep import ROOT, sweep


def _files(d):
    """Every file under ``d`` with its bytes (what 'nothing written' compares)."""
    return {p.relative_to(d).as_posix(): p.read_bytes() for p in sorted(d.rglob("*"))
            if p.is_file()}


def _run(d, width=0.5, eta=3, budget=2, benchmark=None):
    b = benchmark or EnvelopeBenchmark(width=width)
    return run(b, Hyperband(b.space, b.max_resource, np.random.default_rng(0), eta=eta),
               budget=budget, seed=0, method_name="hyperband", run_dir=d, progress=False)


def test_run_json_records_every_setting(tmp_path):
    _run(tmp_path, width=0.1)
    meta = json.loads((tmp_path / "run.json").read_text())
    s = meta["settings"]
    assert s["benchmark_settings"]["width"] == 0.1
    for key in ("failure_rate", "sleep_per_unit", "space"):
        assert key in s["benchmark_settings"]
    assert list(s["benchmark_settings"]["space"]) == ["learning_rate", "batch_size", "k2", "k1"]
    assert s["benchmark_settings"]["space"]["k1"] == {"type": "int", "low": 5, "high": "k2",
                                                     "log": False}
    assert s["method_settings"]["eta"] == 3 and s["method_settings"]["class"] == "Hyperband"
    assert (s["seed"], s["budget"], s["reuse"]) == (0, 2, True)


@pytest.mark.parametrize("change, needle", [
    (dict(width=5.0), "benchmark_settings.width: 0.1 there, 5.0 here"),
    (dict(eta=4), "method_settings.eta: 3 there, 4 here"),
    (dict(budget=3), "budget: 2 there, 3 here"),
])
def test_api_rerun_with_other_settings_into_a_complete_run_is_refused(tmp_path, change, needle):
    first = _run(tmp_path, width=0.1)
    assert first.status == "complete"
    before = _files(tmp_path)
    kwargs = {"width": 0.1, **change}
    with pytest.raises(ConfigError, match="run_dir: .* holds a run with other settings") as e:
        _run(tmp_path, **kwargs)
    assert needle in str(e.value) and "\n" not in str(e.value)
    assert _files(tmp_path) == before  # nothing written
    again = _run(tmp_path, width=0.1)  # the same settings: still the finished run
    assert again.info.get("skipped") and len(again.rows) == len(first.rows)


class _Killed(EnvelopeBenchmark):
    """Interrupted (as by Ctrl-C) at its 30th evaluation: a partial run directory."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.calls = 0

    def evaluate(self, *a, **kw):
        self.calls += 1
        if self.calls == 30:
            raise KeyboardInterrupt
        return super().evaluate(*a, **kw)  # (overriding evaluate turns batching off)


def test_api_rerun_with_other_settings_into_a_partial_run_is_refused(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path, benchmark=_Killed(width=0.1))
    meta = json.loads((tmp_path / "run.json").read_text())
    assert meta["status"] == "interrupted" and meta["n_evaluations"] == 29
    before = _files(tmp_path)
    with pytest.raises(ConfigError, match="benchmark_settings.width: 0.1 there, 5.0 here"):
        _run(tmp_path, width=5.0)
    assert _files(tmp_path) == before
    resumed = _run(tmp_path, width=0.1)  # the same settings resume
    assert resumed.status == "complete" and resumed.rows[0]["trial_id"] == 0


def test_cli_rerun_after_a_config_edit_is_refused(tmp_path):
    conf = tmp_path / "conf"
    shutil.copytree(ROOT / "conf", conf)
    results = tmp_path / "results"
    args = ["method=hyperband", "budget=2", f"results_dir={results}"]
    sweep("-cp", str(conf), *args)
    d = results / "envelope" / "hyperband" / "budget=2" / "seed=0"
    assert json.loads((d / "run.json").read_text())["status"] == "complete"
    before = _files(d)
    yaml = conf / "benchmark" / "envelope.yaml"
    text = yaml.read_text()
    assert "\nwidth: 0.5" in text
    yaml.write_text(text.replace("\nwidth: 0.5", "\nwidth: 5.0"))
    p = sweep("-cp", str(conf), *args, check=False)
    assert p.returncode == 2, p.stderr
    [line] = [ln for ln in p.stderr.splitlines() if ln.startswith("error:")]
    assert "holds a run with other settings (benchmark_settings.width: 0.5 there, 5.0 here" in line
    assert "Traceback" not in p.stderr
    assert {k: v for k, v in _files(d).items() if k != "sweep.log"} == \
        {k: v for k, v in before.items() if k != "sweep.log"}
