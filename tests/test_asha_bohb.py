"""ASHA (promotion rule, bracket shares, no idle workers) and BOHB's KDE sampler."""
from __future__ import annotations

import collections
import json
import math

import numpy as np
import pytest

from hpobench.benchmarks.envelope import EnvelopeBenchmark
from hpobench.benchmarks.spaces import lenet_space
from hpobench.errors import ConfigError
from hpobench.executors import ProcessExecutor
from hpobench.experiment import build
from hpobench.optimizers.asha import ASHA, promotable
from hpobench.run import run
from hpobench.samplers import RandomSampler
from hpobench.samplers.kde import KDESampler
from hpobench.space import Categorical, Float, SearchSpace
from hpobench.trial import Evaluation
from tests.conftest import compose_cfg

NAN = float("nan")


# -- the promotion rule ------------------------------------------------------------------
def test_promotion_rule_hand_worked():
    three = [(0, 0.5, True), (1, 0.2, True), (2, 0.9, True)]
    assert promotable(three[:2], set(), 3) is None            # floor(2/3) = 0
    assert promotable(three, set(), 3) == 1                   # top floor(3/3) = 1: trial 1
    assert promotable(three, {1}, 3) is None
    six = three + [(3, 0.1, True), (4, NAN, True), (5, 0.05, False)]
    # floor(6/3) = 2 slots; failed trial 5 and NaN trial 4 count in |rung| but never rise
    assert promotable(six, set(), 3) == 3
    assert promotable(six, {3}, 3) == 1
    assert promotable(six, {1, 3}, 3) is None
    assert promotable(six, {1, 3}, 2) == 0                    # eta=2: three slots


def _drive(opt, losses, steps):
    """Serial ask/tell with a fixed loss per trial (same at every rung)."""
    seq = []
    for _ in range(steps):
        job = opt.ask()
        seq.append((job.trial_id, job.resource, job.rung))
        opt.tell(job, Evaluation(losses[job.trial_id], losses[job.trial_id], 0.0))
    return seq


def test_asha_job_sequence_hand_worked():
    opt = ASHA(lenet_space(), 9, np.random.default_rng(0), eta=3)          # rungs 1, 3, 9
    losses = [0.5, 0.2, 0.9, 0.1, 0.8, 0.7, 0.3, 0.15, 0.6]
    seq = _drive(opt, losses, 13)
    assert seq == [
        (0, 1, 0), (1, 1, 0), (2, 1, 0),
        (1, 3, 1),                 # rung 0 has 3 results: trial 1 is its top third
        (3, 1, 0),                 # rung 1 has 1 result (no slot), rung 0's slot is used
        (3, 3, 1),                 # 4 results, 1 slot: trial 3 (0.1) beats trial 1
        (4, 1, 0), (5, 1, 0),      # slots taken by 3 and 1
        (6, 1, 0),                 # 6 results, 2 slots: 3 and 1 again
        (7, 1, 0),
        (7, 3, 1),                 # 8 results, 2 slots: trial 7 (0.15) displaces trial 1
        (3, 9, 2),                 # rung 1 now has 3 results: highest rung checked first
        (8, 1, 0),
    ]
    assert 3 in opt.drain_discarded()                         # finished the top rung


def test_asha_never_waits_and_failures_stay_down():
    opt = ASHA(lenet_space(), 9, np.random.default_rng(0), eta=3)
    jobs = [opt.ask() for _ in range(30)]                    # nothing told: all new trials
    assert all(j is not None and j.rung == 0 for j in jobs)
    assert len({j.trial_id for j in jobs}) == 30
    # the best three fail: the rung's slots go to the next best, never to a failure
    for i, j in enumerate(jobs):
        ev = Evaluation.failed("boom", 1.0) if i < 3 else Evaluation(0.1 + i, 0.1 + i, 1.0)
        opt.tell(j, ev)
    promoted = [opt.ask() for _ in range(10)]
    assert [j.trial_id for j in promoted] == list(range(3, 13))
    assert all(j.rung == 1 for j in promoted)


def test_asha_hyperband_new_configurations_in_algorithm1_shares():
    opt = ASHA(lenet_space(), 81, np.random.default_rng(0), eta=3, brackets=None)
    jobs = [opt.ask() for _ in range(143)]
    # Algorithm 1 for R=81, eta=3 starts 81, 34, 15, 8, 5 configurations in s = 4..0
    assert collections.Counter(j.bracket for j in jobs) == {4: 81, 3: 34, 2: 15, 1: 8, 0: 5}
    first = {j.bracket: j.resource for j in jobs}
    assert first == {4: 1, 3: 3, 2: 9, 1: 27, 0: 81}
    assert all(j.rung == 0 for j in jobs)


@pytest.mark.parametrize("opts, field", [
    ({"brackets": 0}, "method.brackets"), ({"brackets": 6}, "method.brackets"),
    ({"max_rung_resource": 100}, "method.max_rung_resource"),
    ({"min_resource": 100}, "method.min_resource"), ({"min_resource": -1}, "method.min_resource"),
    ({"eta": 1}, "method.eta"),
])
def test_asha_bad_settings(opts, field):
    with pytest.raises(ConfigError, match=field):
        ASHA(lenet_space(), 81, np.random.default_rng(0), **opts)


def test_asha_unknown_option_rejected_by_config():
    cfg = compose_cfg(["method=asha", "+method.reduction=3"])
    with pytest.raises(ConfigError, match="method.reduction"):
        build(cfg)


def test_asha_custom_ladder():
    opt = ASHA(lenet_space(), 81, np.random.default_rng(0), eta=2, min_resource=5,
               max_rung_resource=50)
    assert [float(r) for r in opt.rung_resources] == [5, 10, 20, 40]
    assert opt.min_resource == 5.0


def test_asha_keeps_two_workers_busy(tmp_path):
    """Sleep-padded envelope, 2 worker processes: busy time / wall close to 2.

    The loop's wall clock runs until run.json is written, after the final Parquet
    compaction, and the first run in a process pays its one-off imports there (pandas,
    pyarrow: about a second, which would dominate a 2-second run and say nothing about
    idle workers); a small serial run first pays them."""
    warm = EnvelopeBenchmark(max_resource=9)
    run(warm, ASHA(warm.space, 9, np.random.default_rng(0)), budget=1, seed=0,
        method_name="asha", run_dir=tmp_path / "warm-up")
    b = EnvelopeBenchmark(max_resource=9, sleep_per_unit=0.04)
    opt = ASHA(b.space, 9, np.random.default_rng(0), eta=3)
    res = run(b, opt, budget=10, seed=0, method_name="asha", run_dir=tmp_path / "r",
              executor=ProcessExecutor(workers=2))
    meta = json.loads((tmp_path / "r" / "run.json").read_text())
    assert meta["workers"] == 2 and meta["status"] == "complete"
    assert meta["utilisation"] > 1.6, meta["utilisation"]
    assert res.info["utilisation"] > 1.6, res.info


# -- BOHB's sampler ----------------------------------------------------------------------
def _observe_random(sampler, bench, n, rng, resource=81):
    for _ in range(n):
        cfg = bench.space.sample(rng)
        sampler.observe(cfg, resource, bench.terminal_loss(cfg), True)


def test_kde_becomes_model_based_after_enough_points():
    bench = EnvelopeBenchmark()                    # d = 4: good and bad sets need 5 points each
    s = KDESampler(bench.space, np.random.default_rng(0))
    rng = np.random.default_rng(1)
    _observe_random(s, bench, 9, rng)
    assert s.model_resource is None
    s.sample(20)
    assert s.n_model_based == 0 and s.n_random == 20
    _observe_random(s, bench, 1, rng)
    assert s.model_resource == 81
    s.sample(300)
    # a third of the draws stay random (BOHB's random_fraction)
    assert 0.25 < (s.n_random - 20) / 300 < 0.42
    # the model uses the largest resource that has enough points
    _observe_random(s, bench, 30, rng, resource=27)
    assert s.model_resource == 81
    _observe_random(s, bench, 4, rng, resource=243)
    assert s.model_resource == 81


def test_kde_failures_count_as_bad():
    bench = EnvelopeBenchmark()
    s = KDESampler(bench.space, np.random.default_rng(0), random_fraction=0.0)
    rng = np.random.default_rng(2)
    for i in range(12):
        cfg = bench.space.sample(rng)
        s.observe(cfg, 9, NAN if i % 2 else 0.1, i % 3 != 0)
    assert s.model_resource == 9
    assert all(bench.space.contains(c) for c in s.sample(10))


@pytest.mark.parametrize("seed", range(5))
def test_kde_samples_concentrate_near_the_optimum(seed):
    bench = EnvelopeBenchmark(terminal="structured")
    rng = np.random.default_rng(100 + seed)
    kde = KDESampler(bench.space, np.random.default_rng(seed))
    _observe_random(kde, bench, 40, rng)
    rnd = RandomSampler(bench.space, np.random.default_rng(seed))
    nu = lambda cfgs: np.mean([bench.terminal_loss(c) for c in cfgs])
    kde_nu, rnd_nu = nu(kde.sample(200)), nu(rnd.sample(200))
    # terminal loss runs from nu_min=0.05 to about 0.2 on average for random configurations
    assert kde_nu < rnd_nu - 0.01, (kde_nu, rnd_nu)
    assert kde.n_model_based > 100


def test_kde_categorical_parameter():
    space = SearchSpace([Float("x", 0.0, 1.0), Categorical("opt", ("sgd", "adam", "rmsprop"))])
    s = KDESampler(space, np.random.default_rng(0), random_fraction=0.0)
    rng = np.random.default_rng(3)
    for _ in range(30):
        cfg = space.sample(rng)
        s.observe(cfg, 1, (cfg["x"] - 0.3) ** 2 + (0.0 if cfg["opt"] == "adam" else 1.0), True)
    cfgs = s.sample(100)
    assert all(space.contains(c) for c in cfgs)
    assert sum(c["opt"] == "adam" for c in cfgs) > 60
    assert abs(np.mean([c["x"] for c in cfgs]) - 0.3) < 0.15


@pytest.mark.parametrize("override, field", [
    ("method.sampler.random_fraction=2", "random_fraction"),
    ("method.sampler.num_samples=0", "num_samples"),
    ("+method.sampler.bandwidth=0.1", "bandwidth"),
])
def test_bohb_bad_sampler_settings(override, field):
    with pytest.raises(ConfigError, match=field):
        build(compose_cfg(["method=bohb", override]))


def test_bohb_run_turns_model_based():
    cfg = compose_cfg(["method=bohb", "benchmark.max_resource=27", "budget=20"])
    b, opt, ex = build(cfg)
    res = run(b, opt, budget=20, seed=0, method_name="bohb", executor=ex)
    s = opt.sampler
    assert isinstance(s, KDESampler)
    assert s.n_model_based > 0 and s.n_random > 0
    assert math.isfinite(res.incumbent["test_loss"])


def test_kde_density_by_hand():
    """Normal-reference bandwidth 1.06 sd n^(-1/5) and a Gaussian product kernel (1-D),
    Aitchison-Aitken for a category: 1 - lambda on a match, lambda / (c - 1) otherwise."""
    from hpobench.samplers.kde import _KDE

    k = _KDE(np.array([[0.2], [0.6]]), np.array([0]), 1e-3)
    bw = 1.06 * 0.2 * 2 ** (-1 / 5)
    assert k.bw[0] == pytest.approx(bw)
    phi = lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    assert k.pdf(np.array([[0.4]]))[0] == pytest.approx(phi(0.2 / bw) / bw)
    assert k.pdf(np.array([[0.2]]))[0] == pytest.approx((phi(0) + phi(0.4 / bw)) / (2 * bw))
    c = _KDE(np.array([[0.0], [0.0], [2.0]]), np.array([3]), 1e-3)
    lam = 1.06 * np.std([0, 0, 2]) * 3 ** (-1 / 5)              # 1.0, clipped to (c-1)/c
    assert lam > 2 / 3 and c.bw[0] == pytest.approx(2 / 3)
    assert c.pdf(np.array([[0.0]]))[0] == pytest.approx((2 * (1 / 3) + (2 / 3) / 2) / 3)


@pytest.mark.slow
def test_bohb_vs_hyperband_runner_end_to_end(tmp_path, capsys):
    from runners import bohb_vs_hyperband as bvh

    bvh.main(["--results", str(tmp_path / "res"), "--seeds", "2", "--budget", "3",
              "--max-resource", "9", "--csv", str(tmp_path / "csv")])
    out = capsys.readouterr().out
    for label in ("terminal=iid", "terminal=structured"):
        assert f"| {label} | 3 | bohb | 2 |" in out and f"| {label} | 3 | hyperband | 2 |" in out
    import pandas as pd

    errors = pd.read_csv(tmp_path / "csv" / "final_errors.csv")
    assert len(errors) == 2 * 2 * 2 * 3                  # benchmarks x methods x seeds x budgets
    inc = pd.read_csv(tmp_path / "csv" / "incumbents.csv")
    assert (inc["nu"] >= 0.05 - 1e-12).all() and (inc["test"] > 0).all()
