"""Contract tests, parametrised over every method in conf/method/: reproducible under a
seed, budget respected, a second tell rejected, failures never promoted or fatal."""
from __future__ import annotations

import math

import numpy as np
import pytest

from hpobench.benchmarks.envelope import EnvelopeBenchmark
from hpobench.experiment import build
from hpobench.results import TIMING_COLUMNS
from hpobench.run import run
from hpobench.trial import Evaluation
from tests.conftest import compose_cfg, method_params

METHODS = method_params()
# small but real: R=27 (s_max=3), a few R of budget
SMALL = ["benchmark.max_resource=27", "budget=6"]


def _run(method: str, seed: int = 0, extra=(), benchmark=None):
    cfg = compose_cfg([f"method={method}", f"seed={seed}", *SMALL, *extra])
    b, opt, ex = build(cfg)
    b = benchmark or b
    return run(b, opt, budget=cfg.budget, seed=seed, method_name=method, executor=ex), cfg


def _strip(rows):
    return [{k: v for k, v in r.items() if k not in TIMING_COLUMNS} for r in rows]


@pytest.mark.parametrize("method", METHODS)
def test_same_seed_same_rows(method):
    a, _ = _run(method, seed=3)
    b, _ = _run(method, seed=3)
    assert len(a.rows) > 0
    assert _strip(a.rows) == _strip(b.rows)


@pytest.mark.parametrize("method", METHODS)
def test_different_seed_different_rows(method):
    a, _ = _run(method, seed=1)
    b, _ = _run(method, seed=2)
    cfgs = lambda r: [tuple(v for k, v in row.items() if k.startswith("config.")) for row in r.rows]
    assert cfgs(a) != cfgs(b)


@pytest.mark.parametrize("method", METHODS)
def test_budget_respected_and_accounted(method):
    res, cfg = _run(method)
    scale = res.rows[0].get("budget_scale", 1.0)
    limit = cfg.budget * cfg.benchmark.max_resource * scale
    spent = [r["resource_spent"] for r in res.rows]
    assert res.total_resource <= limit + 1e-9
    assert math.isclose(res.rows[-1]["total_resource"], sum(spent))
    totals = [r["total_resource"] for r in res.rows]
    assert totals == sorted(totals)
    for r in res.rows:
        assert 0 < r["resource"] <= cfg.benchmark.max_resource
        assert 0 <= r["resource_spent"] <= r["resource"] + 1e-9


@pytest.mark.parametrize("method", METHODS)
def test_second_tell_rejected(method):
    cfg = compose_cfg([f"method={method}", *SMALL])
    b, opt, _ = build(cfg)
    job = opt.ask()
    ev = b.evaluate(job.config, job.resource, 0)
    opt.tell(job, ev)
    with pytest.raises(ValueError):
        opt.tell(job, ev)


@pytest.mark.parametrize("method", METHODS)
def test_asked_configs_lie_in_the_space(method):
    res, _ = _run(method)
    space = EnvelopeBenchmark().space
    for r in res.rows:
        cfg = {n: r[f"config.{n}"] for n in space.names}
        assert space.contains(cfg), cfg


class _Flaky(EnvelopeBenchmark):
    """Every third trial raises, every fifth returns NaN: the run must go on."""

    def evaluate(self, config, resource, seed, resume_from=None):
        h = (config["k2"] * 7 + config["batch_size"]) % 15
        if h % 3 == 0:
            raise RuntimeError("boom")
        ev = super().evaluate(config, resource, seed, resume_from)
        if h % 5 == 0:
            return Evaluation(float("nan"), ev.test_loss, ev.resource_spent, ev.checkpoint)
        return ev


@pytest.mark.parametrize("method", METHODS)
def test_failures_recorded_never_promoted_and_run_goes_on(method):
    # 12 R: methods that train every configuration to R see 12 of them (6 can all fail)
    res, _ = _run(method, extra=("budget=12",), benchmark=_Flaky(max_resource=27))
    rows = res.rows
    failed = [r for r in rows if r["status"] == "failed"]
    assert failed, "the flaky benchmark should have produced failures"
    assert any(r["status"] == "ok" for r in rows)
    assert all(r["error"] for r in failed)
    failed_trials = {(r["trial_id"], r.get("iteration")) for r in failed}
    # a failed trial is never evaluated again at a larger resource
    for r in rows:
        for f in failed:
            if r["trial_id"] == f["trial_id"] and r["job_id"] > f["job_id"] and r["resource"] > f["resource"]:
                pytest.fail(f"failed trial {f['trial_id']} was promoted")
    assert failed_trials
    inc = res.incumbent
    assert inc is not None and np.isfinite(inc["val_loss"])
