"""Peers as oracles: the field's own Hyperband implementations, run on the same proposals.

hpobench's ``algorithm1`` Hyperband must issue exactly the jobs of SMAC3's
``HyperbandFacade`` (same configurations, same resources, same order) and its
``paper_table`` variant exactly the rungs of HpBandSter's ``HyperBand`` (same jobs per
rung; HpBandSter's order within a rung is its own), wherever the peers' floating-point
``s_max`` is right.  At R=243, eta=3 it is not: both peers compute
``np.log(R)/np.log(eta)`` (4.999... on numpy 2), drop the bracket that starts at one
unit, and run hpobench's R=81 schedule scaled by 3; the tests assert that the peer
really does that and that hpobench does not.

Both sides draw configurations from one list of points in the unit square (hpobench
through a list sampler, SMAC3 through a config selector, HpBandSter through a config
generator), and every evaluation is a deterministic function of the point and the
budget whose ranking changes with the budget (crossing curves), so a wrong promotion
shows.  Nothing here re-derives a peer's behaviour: the peer's own code runs.

Skipped, with the reason, when the ``peers`` extra is not installed.
"""
from __future__ import annotations

import math
import threading
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from hpobench import schedule as sched
from hpobench.optimizers import Hyperband
from hpobench.samplers.base import Sampler
from hpobench.space import Float, SearchSpace
from hpobench.trial import Evaluation

pytestmark = pytest.mark.filterwarnings("ignore:isSet:DeprecationWarning")
NEEDS = "the peers extra is not installed (pip install -c constraints.txt -e '.[peers]')"
SPACE = SearchSpace([Float("x0", 0.0, 1.0), Float("x1", 0.0, 1.0)])


def proposals(seed: int, n: int = 4000) -> list[tuple[float, float]]:
    """Points in the unit square, to 6 decimals (ConfigSpace keeps 13: they survive it)."""
    rng = np.random.default_rng(seed)
    return [tuple(round(float(x), 6) for x in u) for u in rng.random((n, 2))]


def loss(x0: float, x1: float, budget: float) -> float:
    """Terminal loss (x0 - 0.3)^2 plus a transient that shrinks with the budget and
    whose sign depends on x1: rankings at small and large budgets disagree."""
    return (x0 - 0.3) ** 2 + math.sin(37.0 * x1) / (1.0 + budget) ** 0.5


class ListSampler(Sampler):
    """Hands out the proposals in order (hpobench's side)."""

    def __init__(self, space, rng, points):
        super().__init__(space, rng)
        self._it = iter(points)

    def sample(self, n):
        return [{"x0": x0, "x1": x1} for x0, x1 in (next(self._it) for _ in range(n))]


def hpobench_jobs(points, R, eta, variant, n_jobs, scale=1.0):
    """[(proposal index, resource, iteration, bracket, rung)] of hpobench's Hyperband;
    with ``scale``, resources (and the losses' budgets) are multiplied by it."""
    index = {p: i for i, p in enumerate(points)}
    hb = Hyperband(SPACE, R, np.random.default_rng(0), eta=eta, schedule=variant,
                   sampler=lambda space, rng: ListSampler(space, rng, points))
    out = []
    while len(out) < n_jobs:
        job = hb.ask()
        assert job is not None  # serial ask/tell: Hyperband always has a next job
        c = job.config
        r = scale * job.resource
        hb.tell(job, Evaluation(loss(c["x0"], c["x1"], r), 0.0, job.resource))
        out.append((index[(c["x0"], c["x1"])], float(r), job.iteration, job.bracket, job.rung))
    return out


def jobs_per_iteration(R, eta, variant):
    return sum(sum(g.n for g in b.rungs) for b in sched.brackets(R, eta, variant))


def float_s_max(R, eta) -> int:
    """What both peers compute (the trap): floor(np.log(R) / np.log(eta))."""
    return int(np.floor(np.log(R) / np.log(eta)))


# -- SMAC3 -----------------------------------------------------------------------------
def smac_jobs(points, R, eta, n_jobs, tmp_path: Path):
    """[(proposal index, budget)] of SMAC3's HyperbandFacade, min_budget = R / eta^s_max
    with hpobench's integer s_max, fed ``points`` through its config selector."""
    pytest.importorskip("smac", reason=NEEDS)
    from ConfigSpace import Configuration, ConfigurationSpace, UniformFloatHyperparameter
    from smac import HyperbandFacade, Scenario
    from smac.main.config_selector import ConfigSelector
    from smac.runhistory.dataclasses import TrialValue

    cs = ConfigurationSpace(seed=0)
    cs.add([UniformFloatHyperparameter("x0", 0.0, 1.0), UniformFloatHyperparameter("x1", 0.0, 1.0)])

    class Listed(ConfigSelector):
        def __iter__(self):
            for x0, x1 in points:
                yield Configuration(cs, values={"x0": x0, "x1": x1})

    scenario = Scenario(cs, deterministic=True, n_trials=10 ** 6, seed=0,
                        min_budget=R / eta ** sched.s_max(R, eta), max_budget=R,
                        output_directory=tmp_path / "smac")
    facade = HyperbandFacade(scenario, lambda config, seed=0, budget=None: 0.0,
                             intensifier=HyperbandFacade.get_intensifier(scenario, eta=eta),
                             config_selector=Listed(scenario), overwrite=True,
                             logging_level=40)
    index = {p: i for i, p in enumerate(points)}
    out = []
    while len(out) < n_jobs:
        info = facade.ask()
        x0, x1 = float(info.config["x0"]), float(info.config["x1"])
        facade.tell(info, TrialValue(cost=loss(x0, x1, info.budget)), save=False)
        out.append((index[(x0, x1)], float(info.budget)))
    return out, facade.intensifier


SMAC_CASES = [(27, 3), (81, 3), (16, 2), (64, 4)]


@pytest.mark.parametrize("R,eta", SMAC_CASES)
@pytest.mark.parametrize("seed", [0, 1])
def test_algorithm1_equals_smac3_hyperband_job_for_job(R, eta, seed, tmp_path):
    assert float_s_max(R, eta) == sched.s_max(R, eta)  # the peer's float s_max is right here
    points = proposals(seed)
    n = 2 * jobs_per_iteration(R, eta, "algorithm1")  # two full Hyperband iterations
    ours = [(i, r) for i, r, *_ in hpobench_jobs(points, R, eta, "algorithm1", n)]
    theirs, _ = smac_jobs(points, R, eta, n, tmp_path)
    assert theirs == ours


def test_smac3_drops_a_bracket_at_243_and_hpobench_does_not(tmp_path):
    R, eta = 243, 3
    assert np.log(R) / np.log(eta) < 5  # numpy 2's float: 4.999...
    assert sched.s_max(R, eta) == 5 and float_s_max(R, eta) == 4
    points = proposals(7)
    n = 2 * jobs_per_iteration(81, 3, "algorithm1")
    theirs, intensifier = smac_jobs(points, R, eta, n, tmp_path)
    # what the peer really plans: 5 brackets, the first 81 configurations at 3 units
    assert len(intensifier._n_configs_in_stage) == 5
    assert intensifier._n_configs_in_stage[0] == [81, 27, 9, 3, 1]
    assert intensifier._budgets_in_stage[0] == [3.0, 9.0, 27.0, 81.0, 243.0]
    assert theirs[0][1] == 3.0 and min(b for _, b in theirs) == 3.0
    # ... which is hpobench's R=81 schedule with every resource times 3
    scaled = [(i, r) for i, r, *_ in hpobench_jobs(points, 81, 3, "algorithm1", n, scale=3.0)]
    assert theirs == scaled
    # hpobench runs all six brackets: the first is 243 configurations at one unit
    ours = hpobench_jobs(points, R, eta, "algorithm1", 243)
    assert [b.n_configs for b in sched.brackets(R, eta)] == [243, 98, 41, 18, 9, 6]
    assert {r for _, r, *_ in ours} == {1.0} and ours[0][3] == 5
    assert ours[:5] != theirs[:5]


# -- HpBandSter --------------------------------------------------------------------------
_PYRO_LOCK = threading.Lock()  # one nameserver at a time


def hpbandster_rungs(points, R, eta, n_iterations, tmp_path: Path):
    """[(iteration, budget, sorted proposal indices)] of HpBandSter's HyperBand, run
    through its Pyro4 master/worker on 127.0.0.1, min_budget = R / eta^s_max."""
    pytest.importorskip("hpbandster", reason=NEEDS)
    from hpobench.optimizers._hpbandster import loopback_run

    index = {p: i for i, p in enumerate(points)}
    calls = loopback_run("hyperband", _two_floats_cs(), ({"x0": a, "x1": b} for a, b in points), eta=eta,
                         min_budget=R / eta ** sched.s_max(R, eta), max_budget=R,
                         n_iterations=n_iterations,
                         compute=lambda c, b: loss(c["x0"], c["x1"], b),
                         working_directory=tmp_path)
    rungs = defaultdict(list)
    for job_id, config, budget in calls:
        rungs[(job_id[0], float(budget))].append(index[(config["x0"], config["x1"])])
    return [(it, b, sorted(ix)) for (it, b), ix in rungs.items()]


def _two_floats_cs():
    from ConfigSpace import ConfigurationSpace, UniformFloatHyperparameter

    cs = ConfigurationSpace(seed=0)
    cs.add([UniformFloatHyperparameter("x0", 0.0, 1.0), UniformFloatHyperparameter("x1", 0.0, 1.0)])
    return cs


def hpobench_rungs(points, R, eta, variant, n_iterations, scale=1.0):
    brackets = sched.brackets(R, eta, variant)
    n = sum(sum(g.n for g in brackets[k % len(brackets)].rungs) for k in range(n_iterations))
    rungs = defaultdict(list)
    order = []
    for i, r, it, s, rung in hpobench_jobs(points, R, eta, variant, n, scale):
        key = (it * len(brackets) + (len(brackets) - 1 - s), r)
        if key not in rungs:
            order.append(key)
        rungs[key].append(i)
    return [(k[0], k[1], sorted(rungs[k])) for k in order]


HPB_CASES = [(27, 3), (81, 3), (64, 4)]


@pytest.mark.parametrize("R,eta", HPB_CASES)
def test_paper_table_equals_hpbandster_hyperband_rung_for_rung(R, eta, tmp_path):
    with _PYRO_LOCK:
        assert float_s_max(R, eta) == sched.s_max(R, eta)
        points = proposals(R + eta)
        n_it = sched.s_max(R, eta) + 2  # one full iteration and the next two brackets
        theirs = hpbandster_rungs(points, R, eta, n_it, tmp_path)
        ours = hpobench_rungs(points, R, eta, "paper_table", n_it)
        assert theirs == ours
        # and it is not Algorithm 1 (the two schedules differ for these R, eta)
        assert hpobench_rungs(points, R, eta, "algorithm1", n_it) != theirs


def test_hpbandster_drops_a_bracket_at_243_and_hpobench_does_not(tmp_path):
    R, eta = 243, 3
    with _PYRO_LOCK:
        points = proposals(11)
        theirs = hpbandster_rungs(points, R, eta, 5, tmp_path)
    # the peer's first bracket: 81 configurations at 3 units (max_SH_iter = 5, not 6)
    assert theirs[0][1] == 3.0 and len(theirs[0][2]) == 81
    assert min(b for _, b, _ in theirs) == 3.0
    # ... the paper_table schedule of R=81 with every resource times 3
    assert theirs == hpobench_rungs(points, 81, 3, "paper_table", 5, scale=3.0)
    # hpobench's paper_table at R=243 starts with 6 brackets, the first 243 at one unit
    table = sched.brackets(R, eta, "paper_table")
    assert len(table) == 6 and (table[0].n_configs, table[0].rungs[0].r) == (243, 1)
