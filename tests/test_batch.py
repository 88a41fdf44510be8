"""The batch path: a vectorised envelope evaluation gives the scalar one's values to the
last bit, and a run whose rungs are evaluated in batches writes the rows of a run that
evaluates one job at a time, for every method; failures in a batch stay per job."""
from __future__ import annotations

import math

import numpy as np
import pytest

from hpobench.benchmarks.envelope import EnvelopeBenchmark
from hpobench.errors import ConfigError
from hpobench.executors import SerialExecutor, evaluate_batch_safely
from hpobench.experiment import build
from hpobench.results import TIMING_COLUMNS
from hpobench.run import run
from hpobench.space import Categorical, Float, Int, SearchSpace
from hpobench.trial import Evaluation
from tests.conftest import compose_cfg, method_params

SETTINGS = [
    {},
    {"terminal": "iid", "instance": 3},
    {"failure_rate": 0.3},
    {"test_gap": 0.1, "noise": 0.9, "eval_noise": 0.0, "decay": 1.3, "width": 2.0},
    {"space": SearchSpace([Float("x", 0.5, 3.0), Int("n", 1, 1000, log=True),
                           Categorical("c", ("a", "b", "c")), Float("y", 1e-4, "x", log=True)])},
]


def _same(a: Evaluation, b: Evaluation) -> bool:
    def eq(x, y):
        return x == y or (math.isnan(x) and math.isnan(y))
    return (a.status == b.status and eq(a.val_loss, b.val_loss) and eq(a.test_loss, b.test_loss)
            and a.resource_spent == b.resource_spent and a.checkpoint == b.checkpoint
            and a.error == b.error)


@pytest.mark.parametrize("settings", SETTINGS, ids=["default", "iid", "failures", "wide", "space"])
@pytest.mark.parametrize("n", [1, 5, 300])
def test_evaluate_many_equals_evaluate_bit_for_bit(settings, n):
    b = EnvelopeBenchmark(**settings)
    rng = np.random.default_rng(n)
    jobs = []
    for i in range(n):
        r = float(rng.choice([1, 3, 9, 27, 81, 2.5, 1e-3]))
        ckpt = {"resource": r / 3} if i % 2 else None
        jobs.append((b.space.sample(rng), r, int(rng.integers(0, 2**32)), ckpt))
    many = b.evaluate_many(jobs)
    one = [b.evaluate(*job) for job in jobs]
    assert len(many) == n
    assert all(_same(x, y) for x, y in zip(many, one))
    if settings.get("failure_rate") and n > 100:
        assert 0 < sum(not e.ok for e in many) < n


def test_evaluate_many_rejects_training_backwards_like_evaluate():
    b = EnvelopeBenchmark()
    rng = np.random.default_rng(0)
    jobs = [(b.space.sample(rng), 3, 1, {"resource": 9.0})] * 10
    with pytest.raises(ValueError, match="cannot train to 3"):
        b.evaluate_many(jobs)


def _strip(rows):
    return [{k: v for k, v in r.items() if k not in TIMING_COLUMNS} for r in rows]


def _run(method: str, batch, extra=()):
    cfg = compose_cfg([f"method={method}", "seed=5", "benchmark.max_resource=27", "budget=8",
                       *extra])
    b, opt, _ = build(cfg)
    ex = SerialExecutor(batch=batch)
    return run(b, opt, budget=cfg.budget, seed=5, method_name=method, executor=ex), ex


@pytest.mark.parametrize("method", method_params())
def test_batched_run_writes_the_rows_of_a_one_at_a_time_run(method):
    batched, ex = _run(method, "auto")
    assert ex.batches
    plain, ex = _run(method, False)
    assert not ex.batches
    assert len(batched.rows) > 0
    assert _strip(batched.rows) == _strip(plain.rows)
    assert batched.total_resource == plain.total_resource


def test_batches_cover_whole_rungs_for_hyperband_only_one_job_for_tpe():
    # "submitted" counts the jobs handed out when a row was recorded: a whole rung ahead
    hb, _ = _run("hyperband", "auto")
    first_rung = [r for r in hb.rows if r["bracket"] == 3 and r["rung"] == 0]
    assert len(first_rung) == 27 and {r["submitted"] for r in first_rung} == {27}
    tpe, _ = _run("tpe", "auto")
    assert [r["submitted"] for r in tpe.rows] == [r["job_id"] + 1 for r in tpe.rows]


def test_sleeping_envelope_is_not_batched():
    ex = SerialExecutor()
    ex.start(EnvelopeBenchmark(sleep_per_unit=0.001))
    assert not ex.batches


class _Flaky(EnvelopeBenchmark):
    """evaluate_many raises when any job in the batch has a huge batch size; evaluate
    raises for that job only, and gives NaN for tiny learning rates."""

    def evaluate_many(self, jobs):
        if any(c["batch_size"] > 900 for c, *_ in jobs):
            raise RuntimeError("batch kernel failed")
        return super().evaluate_many(jobs)

    def evaluate(self, config, resource, seed, resume_from=None):
        if config["batch_size"] > 900:
            raise RuntimeError("diverged")
        ev = super().evaluate(config, resource, seed, resume_from)
        if config["learning_rate"] < 2e-3:
            ev.val_loss = math.nan
        return ev


def test_a_failing_job_in_a_batch_fails_alone_and_the_run_goes_on():
    b = _Flaky(max_resource=27)
    cfg = compose_cfg(["method=hyperband", "seed=1", "benchmark.max_resource=27", "budget=8"])
    _, opt, _ = build(cfg)
    res = run(b, opt, budget=8, seed=1, method_name="hyperband", executor=SerialExecutor(True))
    failed = [r for r in res.rows if r["status"] == "failed"]
    assert failed and len(failed) < len(res.rows)
    assert all(r["config.batch_size"] > 900 or r["config.learning_rate"] < 2e-3 for r in failed)
    assert any("diverged" in r["error"] for r in failed)
    ok = [r for r in res.rows if r["status"] == "ok"]
    assert all(math.isfinite(r["val_loss"]) for r in ok)
    # failed trials are never promoted
    promoted = {r["trial_id"] for r in res.rows if r["rung"] > 0}
    assert not promoted & {r["trial_id"] for r in failed}


def test_evaluate_batch_safely_charges_planned_resource_when_unknown():
    class NoSpend(EnvelopeBenchmark):
        def evaluate_many(self, jobs):
            out = super().evaluate_many(jobs)
            for e in out:
                e.resource_spent = math.nan
            return out

    b = NoSpend()
    rng = np.random.default_rng(0)
    jobs = [(b.space.sample(rng), 9, i, None, 9.0) for i in range(20)]
    out = evaluate_batch_safely(b, jobs)
    assert [ev.resource_spent for ev, _ in out] == [9.0] * 20
    assert all(wall >= 0 for _, wall in out)


def test_bad_batch_setting_names_the_field():
    with pytest.raises(ConfigError, match=r"executor.batch: must be one of \['auto', true, false\]"):
        SerialExecutor(batch="sometimes")


def test_subclass_overriding_evaluate_only_is_never_bypassed():
    class Shifted(EnvelopeBenchmark):
        def evaluate(self, config, resource, seed, resume_from=None):
            ev = super().evaluate(config, resource, seed, resume_from)
            return Evaluation(ev.val_loss + 1.0, ev.test_loss, ev.resource_spent, ev.checkpoint)

    b = Shifted()
    assert not b.vectorised
    rng = np.random.default_rng(0)
    jobs = [(b.space.sample(rng), 9, i, None) for i in range(20)]
    assert [e.val_loss for e in b.evaluate_many(jobs)] == [b.evaluate(*j).val_loss for j in jobs]
    assert all(e.val_loss > 1.0 for e in b.evaluate_many(jobs))
