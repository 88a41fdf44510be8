"""Ray Tune's HyperBandScheduler and ASHAScheduler (ray 2.60) as peer methods: their own
schedule and decisions, asserted with values computed by hand from ray's source
(``ray/tune/schedulers/hyperband.py`` and ``async_hyperband.py``), not from hpobench's.
The contract tests (tests/test_contract.py) and the kill -9 resume test
(tests/test_peers.py) cover budget, seeds, failures and resume for both methods.

Skipped, with the reason, when the ``ray`` extra is not installed.
"""
from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from hpobench.errors import ConfigError
from hpobench.optimizers import peer_schedules as ps
from runners.schedule import peers_text
from tests.conftest import compose_cfg, missing_requirement


def _need(method: str = "raytune_hyperband") -> None:
    need = missing_requirement(method)
    if need:
        pytest.skip(f"{method} needs {need[0]!r}: {need[1]}")


def _build(*overrides):
    from hpobench.experiment import build

    return build(compose_cfg(list(overrides)))


# HyperBandScheduler(max_t=R, reduction_factor=3): s_max1 = round(log R / log 3) + 1,
# n0(s) = ceil(s_max1/(s+1) * 3^s), r0(s) = int(R * 3^-s); each halving n = ceil(n/3),
# r = min(3r, R).  Most aggressive bracket first.
RAY_81 = [[(81, 1), (27, 3), (9, 9), (3, 27), (1, 81)],   # s_max1 = 5
          [(34, 3), (12, 9), (4, 27), (2, 81)],           # ceil(5/4*27) = 34; 12, 4, 2
          [(15, 9), (5, 27), (2, 81)],                    # ceil(5/3*9) = 15; 5, 2
          [(8, 27), (3, 81)],                             # ceil(5/2*3) = 8; 3
          [(5, 81)]]
# R=100: round(4.19) + 1 = 5 brackets; r0 = int(100/81) = 1, int(100/27) = 3,
# int(100/9) = 11, int(100/3) = 33, 100; milestones times 3, capped at 100
RAY_100 = [[(81, 1), (27, 3), (9, 9), (3, 27), (1, 81)],
           [(34, 3), (12, 9), (4, 27), (2, 81)],
           [(15, 11), (5, 33), (2, 99)],
           [(8, 33), (3, 99)],
           [(5, 100)]]


def test_ray_hyperband_schedule_by_its_own_code():
    """R=81: Algorithm 1's first sizes, but every halving keeps ceil(n/3) (34/12/4/2), and
    the last rung is R (81), not R - R/eta = 54 as in earlier Ray releases."""
    _need()
    assert ps.ray_tune(81, 3) == [[(n, float(r)) for n, r in b] for b in RAY_81]
    text = ps.compare(ps.ray_tune(81, 3), 81, 3)
    assert text.startswith("differs") and "34/12/4/2 where Algorithm 1 keeps 34/11/3/1" in text
    # R=100 is not a power of 3: only the s = 0 bracket reaches R
    assert ps.ray_tune(100, 3) == [[(n, float(r)) for n, r in b] for b in RAY_100]
    assert "4 of 5 brackets stop below R (top rungs 81/81/99/99)" in ps.compare(
        ps.ray_tune(100, 3), 100, 3)
    # R=243: its rounded float log keeps the sixth bracket (round(4.999...) = 5):
    # n0 = 243, ceil(6/5*81) = 98, ceil(6/4*27) = 41, ceil(6/3*9) = 18, ceil(6/2*3) = 9, 6
    at243 = ps.ray_tune(243, 3)
    assert [b[0] for b in at243] == [(243, 1.0), (98, 3.0), (41, 9.0), (18, 27.0), (9, 81.0),
                                     (6, 243.0)]
    assert all(b[-1][1] == 243.0 for b in at243)


def test_schedule_cli_prints_ray_and_names_its_extra(monkeypatch):
    def missing(R, eta):
        raise ModuleNotFoundError("No module named 'ray'", name="ray")

    monkeypatch.setattr(ps, "PEERS", {"Ray Tune HyperBandScheduler": ("ray", missing)})
    assert "Ray Tune HyperBandScheduler: not installed (ray); pip install -c constraints.txt " \
           "-e '.[ray]'" in peers_text(81, 3)


def test_ray_hyperband_band_and_order_at_27():
    """R=27 (s_max1 = 4): one band runs 4 at 27 | 6 at 9, 2 at 27 | 12 at 3, 4 at 9, 2 at
    27 | 27 at 1, 9 at 3, 3 at 9, 1 at 27, i.e. 375 units with checkpoints
    (27*1 + 9*2 + 3*6 + 18 = 81, 36 + 24 + 36 = 96, 54 + 36 = 90, 108).  Brackets are
    created s = 0 first and served least complete first (completed units / its
    ``_calculate_total_work``: 108, 90, 120, 107 for s = 0..3), so the first jobs are
    27 (s=0, then 25%), 9 (s=1, 10%), 3 (s=2, 2.5%), 1, 1, 1 (s=3: 1/107, 2/107, 3/107),
    3 (s=2 at 2.5% < 3/107), 1, 1, 1, 3."""
    _need()
    from hpobench.run import run

    b, opt, ex = _build("method=raytune_hyperband", "benchmark.max_resource=27")
    assert opt.notes["brackets_peer"] == [[(4, 27)], [(6, 9), (2, 27)],
                                          [(12, 3), (4, 9), (2, 27)],
                                          [(27, 1), (9, 3), (3, 9), (1, 27)]]
    res = run(b, opt, budget=14, seed=0, method_name="raytune_hyperband", executor=ex)
    assert [r["resource"] for r in res.rows[:11]] == [27, 9, 3, 1, 1, 1, 3, 1, 1, 1, 3]
    band0 = [r for r in res.rows if r["iteration"] == 0]
    assert Counter((r["bracket"], r["resource"]) for r in band0) == {
        (0, 27): 4, (1, 9): 6, (1, 27): 2, (2, 3): 12, (2, 9): 4, (2, 27): 2,
        (3, 1): 27, (3, 3): 9, (3, 9): 3, (3, 27): 1}
    assert sum(r["resource_spent"] for r in band0) == 375
    # 14 x 27 = 378: the next band's first job (27 units) does not fit and is not started
    assert res.total_resource == 375 and len(res.rows) == len(band0)
    # promoted trials resume: trial ids repeat, each trial only moves up
    last: dict = {}
    for r in res.rows:
        assert r["resource"] > last.get(r["trial_id"], 0)
        last[r["trial_id"]] = r["resource"]


def test_ray_hyperband_keeps_the_best_ceil_third():
    """Bracket s=1 at R=27 starts 6 trials at 9 units and promotes ceil(6/3) = 2: the two
    with the smallest loss (sorted by -loss, the last 2 kept)."""
    _need()
    from hpobench.trial import Evaluation

    _, opt, _ = _build("method=raytune_hyperband", "benchmark.max_resource=27")
    loss = {}
    jobs = []
    while len(jobs) < 70:  # one band (see above)
        job = opt.ask()
        loss.setdefault(job.trial_id, ((job.trial_id * 37) % 101) / 101)  # distinct
        jobs.append(job)
        opt.tell(job, Evaluation(loss[job.trial_id], 0.0, job.resource))
    s1 = [j for j in jobs if j.bracket == 1 and j.iteration == 0]
    first = [j.trial_id for j in s1 if j.resource == 9]
    assert len(first) == 6
    promoted = sorted(first, key=lambda t: loss[t])[:2]
    assert sorted(j.trial_id for j in s1 if j.resource == 27) == sorted(promoted)


def test_ray_asha_stopping_rule():
    """ASHA, R=27, one bracket: rungs 1/3/9/27 (grace R/eta^3 = 1).  Trial 0 (loss 0.5)
    has nothing to compare with and goes to 27 (1, 3, 9, 27, resuming).  Trial 1 (0.6)
    at rung 1: cutoff = the 66.7th percentile of {-0.5} = -0.5 > -0.6: stopped.  Trial 2
    (0.4) at rung 1: percentile of {-0.5, -0.6} = -0.533 < -0.4, at 3 and 9 the cutoff
    is -0.5: it goes to 27."""
    _need("raytune_asha")
    from hpobench.trial import Evaluation

    _, opt, _ = _build("method=raytune_asha", "benchmark.max_resource=27")
    assert opt.notes["rungs_peer"] == [[1.0, 3.0, 9.0, 27.0]]
    losses = {0: 0.5, 1: 0.6, 2: 0.4}
    seen = []
    while True:
        job = opt.ask()
        if job.trial_id > 2:
            break
        seen.append((job.trial_id, job.resource))
        opt.tell(job, Evaluation(losses[job.trial_id], 0.0, job.resource))
    assert seen == [(0, 1), (0, 3), (0, 9), (0, 27), (1, 1), (2, 1), (2, 3), (2, 9), (2, 27)]


def test_asha_bracket_draw_leaves_numpy_global_state_alone():
    """ASHA draws each trial's bracket with np.random.choice; the adapter gives it its own
    state, so the caller's stream is untouched and a seed gives the same brackets."""
    _need("raytune_asha")
    from hpobench.trial import Evaluation

    def brackets():
        _, opt, _ = _build("method=raytune_asha", "benchmark.max_resource=27",
                           "method.brackets=3")
        out = []
        for _ in range(40):
            job = opt.ask()
            out.append(job.bracket)
            opt.tell(job, Evaluation(job.config["learning_rate"], 0.0, job.resource))
        return out

    np.random.seed(7)
    expected = np.random.random()
    np.random.seed(7)
    first = brackets()
    assert np.random.random() == expected
    assert brackets() == first and set(first) == {0, 1, 2}


@pytest.mark.parametrize("override, field", [
    ("method.brackets=2", "method.brackets"),            # HyperBand sizes its own
    ("method.max_pending_trials=0", "method.max_pending_trials"),
    ("method.scheduler=pbt", "method.scheduler"),
    ("method.eta=1", "method.eta"),
])
def test_bad_ray_settings_are_one_line_config_errors(override, field):
    _need()
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")) as e:
        _build("method=raytune_hyperband", override)
    assert "\n" not in str(e.value)


def test_no_ray_cluster_is_started():
    _need()
    import ray

    from hpobench.run import run

    b, opt, ex = _build("method=raytune_asha", "benchmark.max_resource=27")
    run(b, opt, budget=2, seed=0, method_name="raytune_asha", executor=ex)
    assert not ray.is_initialized()
    assert opt.notes["peer"].startswith("ray 2.60.0 AsyncHyperBandScheduler")


def _tuner_fit(kind: str, R: int, table: dict, tmp) -> list[tuple[int, int]]:
    """Tune's own loop: ``Tuner.fit`` on a local Ray (1 CPU, started and stopped here) with a
    function trainable that trains trial ``i`` one unit at a time, reports ``table[i][u]``
    with a checkpoint and resumes from it; returns every (trial, unit) trained, in order."""
    import json
    import os
    import shutil
    import tempfile

    import ray
    from ray import tune

    from hpobench.optimizers.peer_raytune import make_scheduler

    log = tmp / "units.log"

    def trainable(config):
        i, start = config["i"], 0
        if tune.get_checkpoint():
            with tune.get_checkpoint().as_directory() as d:
                start = json.loads(open(os.path.join(d, "units.json")).read())
        for u in range(start + 1, R + 1):
            with open(log, "a") as f:
                f.write(f"{i} {u}\n")
            with tempfile.TemporaryDirectory() as d:
                with open(os.path.join(d, "units.json"), "w") as f:
                    f.write(json.dumps(u))
                tune.report({"loss": table[i][u]}, checkpoint=tune.Checkpoint.from_directory(d))

    session = tempfile.mkdtemp(prefix="ray")  # short: Ray's socket paths must fit 107 bytes
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False,
             object_store_memory=80 * 2**20, _temp_dir=session)
    try:
        tune.Tuner(trainable, param_space={"i": tune.grid_search(sorted(table))},
                   tune_config=tune.TuneConfig(scheduler=make_scheduler(kind, R, 3)),
                   run_config=tune.RunConfig(storage_path=str(tmp / "tune"), verbose=0)).fit()
    finally:
        ray.shutdown()
        shutil.rmtree(session, ignore_errors=True)
    return [tuple(int(x) for x in line.split()) for line in log.read_text().splitlines()]


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["hyperband", "asha"])
def test_same_decisions_as_tuner_fit_on_a_local_ray(kind, tmp_path, monkeypatch):
    """One band at R=9 (17 trials: 3 at 9 | 5 at 3 | 9 at 1), the adapter's own first 17
    configurations, losses from the envelope benchmark: every trial stops at the same
    unit in Tune's own loop as in the adapter.  ASHA trains unit for unit in the same
    order.  Tune's HyperBand starts its queued trials in creation order (its controller
    asks Ray for an actor for each queued trial ahead; Ray grants them in order), where
    the adapter follows the scheduler's ``choose_trial_to_run`` (least complete bracket
    first): same decisions, another order (hpobench/docs/peers.md)."""
    _need(f"raytune_{kind}")
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")        # no token written to ~/.ray
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")
    from hpobench.benchmarks.envelope import EnvelopeBenchmark
    from hpobench.optimizers import _configspace as cspace
    from hpobench.optimizers.peer_raytune import RayTune
    from hpobench.trial import Evaluation

    R, n = 9, 17
    bench = EnvelopeBenchmark(max_resource=R)
    opt = RayTune(bench.space, R, np.random.default_rng(0), scheduler=kind)
    opt._fill()
    configs = [cspace.decode(bench.space, t.config) for t in list(opt._live.values())[:n]]
    table = {i: {u: float(bench.evaluate(c, u, 100 + i).val_loss) for u in range(1, R + 1)}
             for i, c in enumerate(configs)}
    ours, done = [], {}
    while True:
        job = opt.ask()
        i = int(opt._running[job.job_id][0].trial_id)  # Tune's trial number: creation order
        if i >= n:
            break
        ours += [(i, u) for u in range(done.get(i, 0) + 1, int(job.resource) + 1)]
        done[i] = int(job.resource)
        opt.tell(job, Evaluation(table[i][int(job.resource)], 0.0, job.resource))
    theirs = _tuner_fit(kind, R, table, tmp_path)
    final = lambda seq: {i: max(u for j, u in seq if j == i) for i, _ in seq}
    assert final(theirs) == final(ours)
    if kind == "asha":
        assert theirs == ours
    else:  # stopped at 1: 6 (s=2); at 3: 3 (s=1) + 2 (s=2); at 9: 3 + 2 + 1
        assert Counter(final(ours).values()) == {1: 6, 3: 5, 9: 6}
        first_seen = list(dict.fromkeys(i for i, _ in theirs))
        assert first_seen == list(range(n)) and theirs != ours


def _band0_bracket2_jobs(fail_third_at_3: bool):
    """R=9 (brackets 3 at 9 | 5 at 3, 2 at 9 | 9 at 1, 3 at 3, 1 at 9): drive 60 jobs; with
    ``fail_third_at_3`` the last of bracket 2's three survivors fails at 3 units."""
    from hpobench.trial import Evaluation

    _, opt, _ = _build("method=raytune_hyperband", "benchmark.max_resource=9")
    jobs, at3 = [], 0
    for _ in range(60):
        job = opt.ask()
        jobs.append(job)
        if job.iteration == 0 and job.bracket == 2 and job.resource == 3:
            at3 += 1
            if fail_third_at_3 and at3 == 3:
                opt.tell(job, Evaluation.failed("boom", job.resource))
                continue
        opt.tell(job, Evaluation(((job.trial_id * 37) % 101) / 101, 0.0, job.resource))
    return [j for j in jobs if j.iteration == 0 and j.bracket == 2], opt


def test_ray_hyperband_failure_after_a_halving_stalls_the_bracket():
    """Ray's HyperBand halves a bracket from ``on_trial_remove`` only while its
    ``is_being_processed`` flag is unset, and the flag, set at the bracket's first halving,
    is never cleared: when the last outstanding trial of a later rung fails, the rest of
    the rung stay PAUSED and nothing of the bracket is promoted again."""
    _need()
    ok, _ = _band0_bracket2_jobs(False)
    assert Counter(j.resource for j in ok) == {1: 9, 3: 3, 9: 1}
    stalled, opt = _band0_bracket2_jobs(True)
    assert Counter(j.resource for j in stalled) == {1: 9, 3: 3}
    bracket = opt.scheduler._hyperbands[0][2]
    assert bracket.is_being_processed and bracket.cur_iter_done()
    assert sorted(t.status for t in bracket.current_trials()) == ["PAUSED", "PAUSED"]
