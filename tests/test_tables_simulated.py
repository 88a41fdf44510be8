"""The simulated-time executor: the virtual clock against a schedule computed by hand,
completion order, determinism for order-dependent methods (issue #14)."""
from __future__ import annotations

from typing import Optional

import pytest

from hpobench.benchmarks.table import LearningCurveTable, TableBenchmark
from hpobench.errors import ConfigError
from hpobench.experiment import build
from hpobench.optimizers.base import Optimizer
from hpobench.results import TIMING_COLUMNS
from hpobench.run import run
from hpobench.simulated import SimulatedExecutor
from hpobench.space import Float, SearchSpace
from hpobench.trial import Evaluation, Job
from tests.conftest import compose_cfg

SPACE = SearchSpace([Float("x", 0.0, 1.0)])
# runtime of x at resource 1 and from 1 to 3
RUNTIMES = {0.1: (1.0, 2.0), 0.2: (1.0, 9.0), 0.3: (0.5, 1.5), 0.4: (1.5, 0.5), 0.5: (1.0, 7.0)}
# jobs (x, resource): durations 3, 1, 2, 2, 1 (from scratch: both steps up to the resource)
JOBS = [(0.1, 3), (0.2, 1), (0.3, 3), (0.4, 3), (0.5, 1)]


def _table() -> TableBenchmark:
    cols = {"config.x": [], "resource": [], "val_loss": [], "test_loss": [], "runtime": []}
    for x, (a, b) in RUNTIMES.items():
        for r, rt in ((1, a), (3, b)):
            cols["config.x"].append(x)
            cols["resource"].append(r)
            cols["val_loss"].append(x / r)
            cols["test_loss"].append(x / r)
            cols["runtime"].append(rt)
    return TableBenchmark(table=LearningCurveTable.from_columns(SPACE, cols))


class Scripted(Optimizer):
    """Asks JOBS in order, each a new trial."""

    def __init__(self, order_independent: bool):
        super().__init__(SPACE, 3)
        self.order_independent = order_independent
        self._left = list(JOBS)

    def _next(self) -> Optional[Job]:
        if not self._left:
            return None
        x, r = self._left.pop(0)
        return self._job(self._new_trial_id(), {"x": x}, r)

    def _observe(self, job: Job, evaluation: Evaluation) -> None:
        pass

    @property
    def finished(self) -> bool:
        return not self._left and not self.pending


def _run(order_independent: bool, workers: int = 2):
    return run(_table(), Scripted(order_independent), budget=10, seed=0, method_name="s",
               executor=SimulatedExecutor(workers=workers), min_resource=1).rows


def test_clock_matches_a_two_worker_schedule_by_hand():
    # by hand, 2 workers: t=0 job0 (3 s) and job1 (1 s) start; t=1 job1 ends, job2 (2 s)
    # starts; t=3 job0 and job2 end, job3 (2 s) and job4 (1 s) start; t=4 job4 ends;
    # t=5 job3 ends
    rows = _run(order_independent=False)
    got = [(r["job_id"], r["info.sim_start"], r["info.sim_time"]) for r in rows]
    # results arrive in simulated completion order (a tie: the job handed over first)
    assert got == [(1, 0.0, 1.0), (0, 0.0, 3.0), (2, 1.0, 3.0), (4, 3.0, 4.0), (3, 3.0, 5.0)]
    assert [r["info.runtime"] for r in rows] == [1.0, 3.0, 2.0, 1.0, 2.0]


def test_order_independent_methods_commit_in_ask_order_on_the_same_clock():
    rows = _run(order_independent=True)
    got = [(r["job_id"], r["info.sim_start"], r["info.sim_time"]) for r in rows]
    assert got == [(0, 0.0, 3.0), (1, 0.0, 1.0), (2, 1.0, 3.0), (3, 3.0, 5.0), (4, 3.0, 4.0)]


def test_one_worker_is_the_sum_of_runtimes():
    rows = _run(order_independent=False, workers=1)
    assert [r["info.sim_time"] for r in rows] == [3.0, 4.0, 6.0, 8.0, 9.0]


def test_workers_validated():
    for bad in (0, 1.5, True, "2"):
        with pytest.raises(ConfigError, match="executor.workers"):
            SimulatedExecutor(workers=bad)


@pytest.mark.parametrize("method", ["asha", "tpe", "gp", "hyperband"])
def test_deterministic_for_order_dependent_methods(method):
    budget = 14 if method in ("tpe", "gp") else 3  # past their random start-up trials
    cfg = compose_cfg(["benchmark=table", "benchmark.path=envelope", f"method={method}",
                       "executor=simulated", "executor.workers=4", f"budget={budget}", "seed=2"])

    def once():
        b, opt, ex = build(cfg)
        rows = run(b, opt, budget=budget, seed=2, method_name=method, executor=ex).rows
        return [{k: v for k, v in r.items() if k not in TIMING_COLUMNS} for r in rows]

    a, b = once(), once()
    assert a == b and len(a) >= 14
    times = [r["info.sim_time"] for r in a]
    if method != "hyperband":  # asynchronous: told in completion order
        assert times == sorted(times)
    # 4 workers: never more than 4 jobs running at any instant
    for t in times:
        assert sum(r["info.sim_start"] <= t - 1e-9 < r["info.sim_time"] for r in a) <= 4


def test_a_simulated_run_with_other_workers_is_another_run(tmp_path):
    """The worker count shapes a simulated run's rows: the same directory with another
    count is refused, not reported as done (it is not part of the directory's name)."""
    def go(workers):
        cfg = compose_cfg(["benchmark=table", "method=asha", "executor=simulated",
                           f"executor.workers={workers}", "budget=2"])
        b, opt, ex = build(cfg)
        return run(b, opt, budget=2, seed=0, method_name="asha", executor=ex,
                   run_dir=tmp_path / "r")

    assert go(4).status == "complete"
    assert go(4).status == "complete"  # the same run: found done
    with pytest.raises(ConfigError, match="executor_settings.workers: 4 there, 16 here"):
        go(16)
