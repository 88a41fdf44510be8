"""Peer methods (SMAC3, HpBandSter) as ask/tell adapters: resume after kill -9 to the
uninterrupted table, their own schedules (and where they differ) recorded in run.json,
bad settings rejected before any work, the space mapping.  The contract tests
(tests/test_contract.py) cover budget, seeds and failures for every conf/method.

Skipped, with the reason, when the ``peers`` extra is not installed.
"""
from __future__ import annotations

import json
import signal

import numpy as np
import pytest

from hpobench.errors import ConfigError
from hpobench.results import JOURNAL, RUN_JSON, read_journal
from hpobench.benchmarks.spaces import lenet_space
from tests.conftest import compose_cfg, method_params, missing_requirement
from tests.test_resume import comparable, sweep, table

PEERS = [p for p in method_params() if p.values[0].startswith(("smac", "hpbandster", "hyperopt", "synetune",
                                                               "kerastuner", "raytune"))]
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _need(method: str) -> None:
    need = missing_requirement(method)
    if need:
        pytest.skip(f"{method} needs {need[0]!r}: {need[1]}")


def _args(method: str, budget: int = 4) -> list[str]:
    return [f"method={method}", "benchmark.max_resource=27", f"budget={budget}", "seed=2"]


@pytest.mark.parametrize("method", PEERS)
def test_peer_killed_mid_run_resumes_to_the_uninterrupted_table(method, tmp_path):
    """kill -9 after the 9th tell (told, not recorded): the re-run replays the 8 recorded
    rows into a fresh peer, asks the same jobs again and writes the baseline's table."""
    # methods at R: 14 configurations, the model used from the 4th on (resume replays it)
    budget = 14 if method in ("smac", "hyperopt_tpe") else 4
    args = _args(method, budget) + (["method.n_startup_jobs=3"] if method == "hyperopt_tpe" else [])
    rc, log = sweep(tmp_path / "base", args=args)
    assert rc == 0, log
    sub = f"envelope/{method}/benchmark.max_resource=27,budget={budget}" + (
        ",method.n_startup_jobs=3" if method == "hyperopt_tpe" else "") + "/seed=2"
    baseline = table(tmp_path / "base" / sub)
    assert len(baseline) > 10
    rc, log = sweep(tmp_path / "killed", args=args, fault="commit:9")
    assert rc == -signal.SIGKILL, log
    d = tmp_path / "killed" / sub
    assert len(read_journal(d / JOURNAL)) == 8
    rc, log = sweep(tmp_path / "killed", args=args)
    assert rc == 0, log
    assert "resuming" in log
    df = table(d)
    assert list(df["job_id"]) == list(range(len(df)))
    assert comparable(df).equals(comparable(baseline))


@pytest.mark.parametrize("method", ["smac_hyperband", "hpbandster_hyperband"])
def test_float_s_max_of_the_peer_is_recorded_and_its_smallest_budget_used(method):
    """R=243, eta=3: the peer's s_max is 4 (numpy 2: log(243)/log(3) = 4.999...), so its
    smallest job is 243/3^4 = 3 units; run.json's method_notes say so."""
    _need(method)
    from hpobench.experiment import build
    from hpobench.run import run

    cfg = compose_cfg([f"method={method}", "benchmark.max_resource=243", "budget=2"])
    b, opt, ex = build(cfg)
    assert opt.notes["s_max_peer"] == 4 and opt.notes["s_max_integer"] == 5
    assert "never run" in opt.notes["differs"]
    assert opt.min_resource == 3.0
    res = run(b, opt, budget=2, seed=0, method_name=method, executor=ex)
    assert min(r["resource"] for r in res.rows) == 3.0
    assert res.total_resource <= 2 * 243


def test_notes_land_in_run_json(tmp_path):
    _need("hpbandster_bohb")
    rc, log = sweep(tmp_path, args=_args("hpbandster_bohb", 2))
    assert rc == 0, log
    meta = json.loads((tmp_path / "envelope/hpbandster_bohb/benchmark.max_resource=27,budget=2"
                       / "seed=2" / RUN_JSON).read_text())
    notes = meta["method_notes"]
    assert notes["peer"].startswith("hpbandster 0.7.4 BOHB")
    assert notes["s_max_peer"] == notes["s_max_integer"] == 3
    assert notes["budgets_peer"] == [1.0, 3.0, 9.0, 27.0]


def test_hpbandster_hyperband_runs_the_printed_table_schedule():
    """R=81, eta=3: the first iteration's brackets start 81, 27, 9, 6, 5 configurations
    (Table 1 of the paper; Algorithm 1 would give 81, 34, 15, 8, 5)."""
    _need("hpbandster_hyperband")
    from hpobench.experiment import build
    from hpobench.trial import Evaluation

    _, opt, _ = build(compose_cfg(["method=hpbandster_hyperband"]))
    first_rung = {}
    while (job := opt.ask()).iteration == 0:
        if job.rung == 0:
            first_rung[job.bracket] = first_rung.get(job.bracket, 0) + 1
        opt.tell(job, Evaluation(job.config["learning_rate"], 0.0, job.resource))
    assert first_rung == {4: 81, 3: 27, 2: 9, 1: 6, 0: 5}


@pytest.mark.parametrize("method, override, field", [
    ("smac", "method.facade=bogus", "method.facade"),
    ("smac", "method.n_initial=0", "method.n_initial"),
    ("smac_hyperband", "method.eta=1", "method.eta"),
    ("smac_bohb", "+method.n_trees=3", "method.n_trees"),
    ("hyperopt_tpe", "method.gamma=1.5", "method.gamma"),
    ("hyperopt_tpe", "method.n_startup_jobs=-1", "method.n_startup_jobs"),
])
def test_bad_peer_settings_are_one_line_config_errors(method, override, field):
    _need(method)
    from hpobench.experiment import build

    with pytest.raises(ConfigError, match=field.replace(".", r"\.")) as e:
        build(compose_cfg([f"method={method}", override]))
    assert "\n" not in str(e.value)


def test_bad_hpbandster_kind_is_a_config_error():
    _need("hpbandster_bohb")
    from hpobench.experiment import build

    with pytest.raises(ConfigError, match=r"method\.kind"):
        build(compose_cfg(["method=hpbandster_bohb", "method.kind=tpe"]))


def test_missing_library_says_how_to_install():
    from hpobench.optimizers._peers import require

    with pytest.raises(ConfigError, match=r"needs the peers extra .*\[peers\]"):
        require("no_such_peer_library_hpobench", "peer_x")


def test_configspace_round_trip_of_the_lenet_space():
    pytest.importorskip("ConfigSpace", reason="the peers extra is not installed")
    from hpobench.optimizers import _configspace as cspace

    space = lenet_space()
    cs = cspace.configspace(space, seed=0)
    assert sorted(cs.keys()) == ["batch_size", "k1.unit", "k2", "learning_rate"]
    assert (cs["batch_size"].lower, cs["batch_size"].upper, cs["batch_size"].log) == (10, 1000, True)
    for config in ({"learning_rate": 0.01, "batch_size": 100, "k2": 20, "k1": 20},
                   {"learning_rate": 0.001, "batch_size": 10, "k2": 60, "k1": 5}):
        assert cspace.decode(space, cspace.encode(space, config)) == config
    for c in cs.sample_configuration(50):
        assert space.contains(cspace.decode(space, c))


def test_global_numpy_random_state_is_left_alone():
    """BOHB draws from np.random; the adapter gives it its own state."""
    _need("hpbandster_bohb")
    from hpobench.experiment import build
    from hpobench.trial import Evaluation

    np.random.seed(123)
    expected = np.random.random()
    np.random.seed(123)
    _, opt, _ = build(compose_cfg(["method=hpbandster_bohb", "benchmark.max_resource=27"]))
    for _ in range(60):
        job = opt.ask()
        opt.tell(job, Evaluation(job.config["learning_rate"], 0.0, job.resource))
    assert np.random.random() == expected


class _MostlyFailing:
    """Envelope benchmark on which 85% of configurations fail (by a hash of the config),
    so SMAC's successive halving has too few successes to fill its quota."""

    def __new__(cls):
        from hpobench.benchmarks.envelope import EnvelopeBenchmark
        from hpobench.trial import Evaluation

        class Bench(EnvelopeBenchmark):
            def evaluate(self, config, resource, seed, resume_from=None):
                if (config["k2"] * 31 + config["batch_size"] * 7) % 20 < 17:
                    return Evaluation.failed("boom", resource)
                return super().evaluate(config, resource, seed, resume_from)

        return Bench(max_resource=27)


@pytest.mark.parametrize("method", ["smac_hyperband", "smac_bohb"])
def test_smac_promotion_of_a_crashed_configuration_is_not_run(method):
    """SMAC3 fills a rung's quota from the next Pareto front, crashed configurations
    included; the adapter tells it the crash again instead of running the job."""
    _need(method)
    from hpobench.experiment import build
    from hpobench.run import run

    _, opt, ex = build(compose_cfg([f"method={method}", "benchmark.max_resource=27", "budget=3"]))
    res = run(_MostlyFailing(), opt, budget=3, seed=0, method_name=method, executor=ex)
    failed = {r["trial_id"] for r in res.rows if r["status"] == "failed"}
    assert failed and any(r["status"] == "ok" for r in res.rows)
    seen: dict[int, int] = {}
    for r in res.rows:
        seen[r["trial_id"]] = seen.get(r["trial_id"], 0) + 1
    assert all(seen[t] == 1 for t in failed)  # a failed configuration ran once, never again
    assert opt.notes["failed_promotions_not_run"] > 0


def test_synetune_rungs_and_asha_stopping_rule():
    """R=27, eta=3: syne-tune's Hyperband brackets have rung levels 1/3/9/27, 3/9/27, 9/27
    and 27; ASHA continues the first trial at every rung (nothing recorded to compare
    with), so trial 0 trains at 1, 3, 9 and 27, resuming each time."""
    _need("synetune_hyperband")
    from hpobench.experiment import build
    from hpobench.run import run

    b, opt, ex = build(compose_cfg(["method=synetune_hyperband", "benchmark.max_resource=27"]))
    assert opt.notes["rungs_peer"] == [[1, 3, 9, 27], [3, 9, 27], [9, 27], [27]]
    b, opt, ex = build(compose_cfg(["method=synetune_asha", "benchmark.max_resource=27"]))
    res = run(b, opt, budget=6, seed=0, method_name="synetune_asha", executor=ex)
    first = [r for r in res.rows if r["trial_id"] == 0]
    assert [r["resource"] for r in first] == [1, 3, 9, 27]
    assert [r["resource_spent"] for r in first] == [1, 2, 6, 18]
    # every trial only moves up (a trial resumes to its next rung, never re-runs one)
    last = {}
    for r in res.rows:
        assert r["resource"] > last.get(r["trial_id"], 0)
        last[r["trial_id"]] = r["resource"]
