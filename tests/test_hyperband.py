"""Hyperband and successive halving, checked on the rows a real run writes."""
from __future__ import annotations

import math
from collections import Counter

import pytest

from hpobench import schedule as S
from hpobench.benchmarks.envelope import EnvelopeBenchmark
from hpobench.errors import ConfigError
from hpobench.optimizers import Hyperband, RandomSearch, SuccessiveHalving, top_k
from hpobench.run import run
from hpobench.seeding import optimizer_rng
from hpobench.trial import Evaluation
from tests.test_schedule import ALG1_81, TABLE1_81


def hb_rows(variant="algorithm1", reuse=True, budget=None, seed=0, R=81, eta=3):
    b = EnvelopeBenchmark(max_resource=R)
    if budget is None:
        budget = S.iteration_resource(R, eta, variant, reuse) / R
    res = run(b, Hyperband(b.space, R, optimizer_rng(seed), eta=eta, schedule=variant),
              budget=float(budget), seed=seed, method_name="hyperband", reuse=reuse)
    return res


def rungs_of_iteration(rows, it=0):
    c = Counter((r["bracket"], r["rung"], r["resource"]) for r in rows if r["iteration"] == it)
    out = {}
    for (s, i, r), n in sorted(c.items(), key=lambda kv: (-kv[0][0], kv[0][1])):
        out.setdefault(s, []).append((n, r))
    return out


@pytest.mark.parametrize("variant,expected", [("algorithm1", ALG1_81), ("paper_table", TABLE1_81)])
def test_iteration_rows_are_the_brackets(variant, expected):
    res = hb_rows(variant)
    assert rungs_of_iteration(res.rows) == expected
    # brackets run s_max..0, rungs in order
    seq = [(r["bracket"], r["rung"]) for r in res.rows]
    assert seq == sorted(seq, key=lambda t: (-t[0], t[1]))


def test_resource_with_and_without_reuse():
    with_reuse = hb_rows(reuse=True)
    scratch = hb_rows(reuse=False)
    assert len(with_reuse.rows) == len(scratch.rows) == 206
    assert with_reuse.total_resource == 1581
    assert scratch.total_resource == 1902
    # a promoted configuration pays only r_i - r_(i-1) when it resumes
    for r in with_reuse.rows:
        if r["rung"] > 0:
            assert r["resource_spent"] == r["resource"] - r["resource"] / 3


def test_only_top_k_is_promoted():
    res = hb_rows(budget=3 * 1581 / 81)  # three iterations
    rows = res.rows
    by_rung = {}
    for r in rows:
        by_rung.setdefault((r["iteration"], r["bracket"], r["rung"]), []).append(r)
    for (it, s, i), rs in by_rung.items():
        nxt = by_rung.get((it, s, i + 1))
        if nxt is None:
            continue
        keep = S.bracket(81, 3, s).rungs[i].n // 3  # floor(n_i / eta)
        best = sorted((r["val_loss"], r["trial_id"]) for r in rs if r["status"] == "ok")
        assert {r["trial_id"] for r in nxt} == {t for _, t in best[:keep]}
        assert len(nxt) == keep


def test_fresh_configurations_every_iteration():
    res = hb_rows(budget=2 * 1581 / 81)
    its = {}
    for r in res.rows:
        its.setdefault(r["iteration"], set()).add(r["trial_id"])
    assert its[0].isdisjoint(its[1]) and len(its[0]) == len(its[1]) == 143


def test_budget_stops_in_the_middle_without_overspending():
    res = hb_rows(budget=5)
    assert res.total_resource <= 5 * 81
    assert res.total_resource > 5 * 81 - 81  # it used what fitted


def test_successive_halving_is_one_bracket_repeated():
    b = EnvelopeBenchmark()
    for s in range(5):
        sh = SuccessiveHalving(b.space, 81, optimizer_rng(0), bracket=s)
        spec = S.bracket(81, 3, s)
        res = run(b, sh, budget=2 * spec.resource() / 81, seed=0, method_name="sh")
        assert {r["bracket"] for r in res.rows} == {s}
        got = Counter((r["iteration"], r["rung"]) for r in res.rows)
        for it in (0, 1):
            assert [got[(it, i)] for i in range(s + 1)] == [g.n for g in spec.rungs]


def test_hyperband_and_sh_share_the_subroutine():
    """Bracket s of Hyperband and SuccessiveHalving(bracket=s) make the same decisions
    when they are handed the same configurations."""
    b = EnvelopeBenchmark()
    hb = Hyperband(b.space, 81, optimizer_rng(5))
    sh = SuccessiveHalving(b.space, 81, optimizer_rng(5), bracket=4)
    trace = []
    for opt in (hb, sh):
        t = []
        while True:
            job = opt.ask()
            if job is None or job.bracket != 4 or job.iteration != 0:
                break
            t.append((job.trial_id, job.rung, job.resource))
            opt.tell(job, b.evaluate(job.config, job.resource, 0))
        trace.append(t)
    assert trace[0] == trace[1] and len(trace[0]) == 121


def test_random_search_trains_every_configuration_to_R():
    b = EnvelopeBenchmark()
    res = run(b, RandomSearch(b.space, 81, optimizer_rng(0)), budget=10, seed=0, method_name="random")
    assert len(res.rows) == 10
    assert all(r["resource"] == 81 and r["iteration"] is None for r in res.rows)


def test_top_k_never_promotes_failures():
    nan = float("nan")
    assert top_k([(0, 0.5, True), (1, nan, True), (2, 0.1, False), (3, 0.2, True)], 3) == [3, 0]
    assert top_k([(0, 0.5, True)], 0) == []
    assert top_k([(5, 0.1, True), (4, 0.1, True)], 1) == [4]  # ties by trial id
    assert top_k([(0, math.inf, True)], 1) == []


def test_all_failed_rung_ends_the_bracket():
    b = EnvelopeBenchmark()
    hb = Hyperband(b.space, 9, optimizer_rng(0))  # s_max = 2
    job = hb.ask()
    first_bracket = job.bracket
    jobs = [job]
    while True:
        j = hb.ask()
        if j is None:
            break
        jobs.append(j)
    for j in jobs:
        hb.tell(j, Evaluation.failed("x", j.resource))
    nxt = hb.ask()
    assert nxt.bracket == first_bracket - 1 and nxt.rung == 0


def test_bad_method_settings():
    b = EnvelopeBenchmark()
    with pytest.raises(ConfigError, match="eta"):
        Hyperband(b.space, 81, optimizer_rng(0), eta=1)
    with pytest.raises(ConfigError, match="schedule"):
        Hyperband(b.space, 81, optimizer_rng(0), schedule="table")
    with pytest.raises(ConfigError, match="bracket"):
        SuccessiveHalving(b.space, 81, optimizer_rng(0), bracket=7)


def test_budget_below_smallest_rung_is_rejected():
    b = EnvelopeBenchmark()
    with pytest.raises(ConfigError, match="budget"):
        run(b, Hyperband(b.space, 81, optimizer_rng(0)), budget=0.5 / 81, seed=0, method_name="hb")
    with pytest.raises(ConfigError, match="budget"):
        run(b, RandomSearch(b.space, 81, optimizer_rng(0)), budget=0.9, seed=0, method_name="r")
