"""Parallel evaluations give the rows of a serial run (apart from timing columns) for
methods whose job sequence does not depend on result timing: Hyperband and random search,
with a local process pool, with an executor that finishes jobs in scrambled order, and on a
local Dask cluster when dask.distributed is installed."""
from __future__ import annotations

import math
import random
from concurrent.futures import Future

import pytest

from hpobench.executors import Executor, SerialExecutor, evaluate_safely
from hpobench.experiment import build
from hpobench.results import TIMING_COLUMNS
from hpobench.run import run
from tests.conftest import compose_cfg

# R=27 (s_max=3) and a few R: every Hyperband bracket size, rungs of 1..27 jobs; a small
# sleep per unit so evaluations of different sizes really overlap and finish out of order
SMALL = ["benchmark.max_resource=27", "budget=6", "benchmark.sleep_per_unit=0.0005"]


def _run(method: str, executor_overrides=(), executor=None, seed=4, run_dir=None):
    budget = ["budget=24"] if method in ("random", "tpe") else []  # one job per R
    cfg = compose_cfg([f"method={method}", f"seed={seed}", *SMALL, *budget, *executor_overrides])
    b, opt, ex = build(cfg)
    return run(b, opt, budget=cfg.budget, seed=seed, method_name=method,
               executor=executor or ex, run_dir=run_dir)


def _strip(rows):
    return [{k: v for k, v in r.items() if k not in TIMING_COLUMNS} for r in rows]


class ScrambledExecutor(Executor):
    """Finishes the jobs in flight one at a time in a seeded random order, whatever order
    they were submitted in: a deterministic stand-in for a parallel pool whose workers
    finish out of order.  A job is evaluated when the run loop next looks for a finished
    future and none it has not yet collected is done."""

    workers = 4

    def __init__(self, seed: int = 0):
        self._rng = random.Random(seed)
        self._held: list[tuple[Future, tuple]] = []
        self._uncollected = 0
        self.reordered = 0

    def start(self, benchmark) -> None:
        self.benchmark = benchmark

    def submit(self, config, resource, seed, resume_from, planned) -> Future:
        f = _HeldFuture(self)
        self._held.append((f, (config, resource, seed, resume_from, planned)))
        return f

    def _finish_one(self) -> None:
        if self._uncollected or not self._held:
            return
        i = self._rng.randrange(len(self._held))
        self.reordered += i != 0
        f, args = self._held.pop(i)
        self._uncollected += 1
        f.set_result(evaluate_safely(self.benchmark, *args))

    def shutdown(self) -> None:
        assert not self._held


class _HeldFuture(Future):
    def __init__(self, owner: ScrambledExecutor):
        super().__init__()
        self._owner, self._collected = owner, False

    def done(self) -> bool:
        self._owner._finish_one()
        return super().done()

    def result(self, timeout=None):
        out = super().result(timeout)
        if not self._collected:
            self._collected = True
            self._owner._uncollected -= 1
        return out


@pytest.mark.parametrize("method", ["hyperband", "random"])
def test_process_pool_rows_equal_serial_rows(method):
    serial = _run(method)
    parallel = _run(method, ["executor=processes", "executor.workers=2"])
    assert len(serial.rows) > 20
    assert _strip(parallel.rows) == _strip(serial.rows)
    assert math.isclose(parallel.total_resource, serial.total_resource)


@pytest.mark.parametrize("method", ["hyperband", "random"])
def test_out_of_order_completion_commits_in_ask_order(method):
    serial = _run(method, executor=SerialExecutor())
    ex = ScrambledExecutor(seed=1)
    scrambled = _run(method, executor=ex)
    assert ex.reordered > 0  # results really came back out of order
    assert _strip(scrambled.rows) == _strip(serial.rows)
    assert [r["job_id"] for r in scrambled.rows] == sorted(r["job_id"] for r in scrambled.rows)


def test_process_pool_run_directory_records_executor(tmp_path):
    res = _run("hyperband", ["executor=processes", "executor.workers=2"], run_dir=tmp_path)
    import json

    meta = json.loads((tmp_path / "run.json").read_text())
    assert meta["status"] == "complete"
    assert (meta["executor"], meta["workers"]) == ("ProcessExecutor", 2)
    assert meta["n_evaluations"] == len(res.rows)
    assert not (tmp_path / ".lock").exists()


def test_bad_worker_count_is_a_config_error():
    from hpobench.errors import ConfigError

    with pytest.raises(ConfigError, match="executor.workers"):
        build(compose_cfg(["executor=processes", "executor.workers=0"]))


@pytest.mark.parametrize("method", ["hyperband", pytest.param("random", marks=pytest.mark.slow)])
def test_dask_local_cluster_rows_equal_serial_rows(method):
    pytest.importorskip("distributed")
    serial = _run(method)
    dask = _run(method, ["executor=dask", "executor.workers=2"])
    assert _strip(dask.rows) == _strip(serial.rows)


@pytest.mark.parametrize("method", ["asha", "tpe"])
def test_resume_replays_the_parallel_interleaving_of_an_order_dependent_method(method, tmp_path):
    """ASHA and TPE ask differently depending on which results they have seen.  A run whose
    results came back out of order, cut after its 15th recorded row, resumes: the replay
    asks exactly the jobs first asked (else it would refuse), and the jobs that were in
    flight at the cut run again with the configurations first asked for them."""
    import json

    from hpobench.results import JOURNAL, RUN_JSON, TABLE

    ex = ScrambledExecutor(seed=2)
    full = _run(method, executor=ex, run_dir=tmp_path)
    assert ex.reordered > 0
    rows = full.rows
    cut = 15
    in_flight = sorted(set(range(rows[cut - 1]["submitted"])) - {r["job_id"] for r in rows[:cut]})
    assert in_flight, "the cut should leave jobs in flight"
    # what a kill after the 15th row leaves behind: a journal of 15 rows, status running
    (tmp_path / TABLE).unlink()
    (tmp_path / JOURNAL).write_text("".join(json.dumps(r) + "\n" for r in rows[:cut]))
    meta = json.loads((tmp_path / RUN_JSON).read_text())
    (tmp_path / RUN_JSON).write_text(json.dumps({**meta, "status": "running",
                                                 "budget_exhausted": False}))
    resumed = _run(method, executor=SerialExecutor(), run_dir=tmp_path)
    assert resumed.status in ("complete", "finished")
    assert _strip(resumed.rows[:cut]) == _strip(rows[:cut])
    ids = [r["job_id"] for r in resumed.rows]
    assert sorted(ids) == list(range(len(ids)))
    first = {r["job_id"]: r for r in rows}
    again = {r["job_id"]: r for r in resumed.rows[cut:cut + len(in_flight)]}
    assert sorted(again) == in_flight
    for j in in_flight:  # the same job and result; only its place in the running total moved
        same = lambda r: {k: v for k, v in _strip([r])[0].items() if k != "total_resource"}
        assert same(again[j]) == same(first[j])


def test_resume_refuses_a_record_the_method_would_not_ask(tmp_path):
    import json

    from hpobench.errors import ConfigError
    from hpobench.results import JOURNAL, RUN_JSON, TABLE

    rows = _run("random", run_dir=tmp_path).rows
    (tmp_path / TABLE).unlink()
    tampered = [dict(r) for r in rows[:5]]
    tampered[3]["config.k2"] = tampered[3]["config.k2"] + 1
    (tmp_path / JOURNAL).write_text("".join(json.dumps(r) + "\n" for r in tampered))
    (tmp_path / RUN_JSON).write_text(json.dumps({"status": "running"}))
    with pytest.raises(ConfigError, match="cannot resume.*job 3"):
        _run("random", run_dir=tmp_path)


@pytest.mark.parametrize("preset,target,settings", [
    ("slurm", "SlurmLauncher", {"partition": None, "timeout_min": 240, "cpus_per_task": 2,
                                "mem_gb": 4, "gpus_per_node": None, "array_parallelism": 64}),
    ("local", "JoblibLauncher", {"n_jobs": -1, "prefer": "processes"}),
])
def test_launcher_presets_extend_the_plugins(preset, target, settings):
    """conf/hydra/launcher/*.yaml compose on top of the installed Hydra plugins."""
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
    pytest.importorskip("hydra_plugins.hydra_joblib_launcher")
    from hydra import compose, initialize_config_dir

    from tests.conftest import CONF

    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(config_name="config", overrides=[f"hydra/launcher={preset}"],
                      return_hydra_config=True)
    launcher = cfg.hydra.launcher
    assert launcher._target_.endswith(target)
    assert {k: launcher[k] for k in settings} == settings


class _CostDependsOnTells:
    """A method whose next job depends on results seen: full-R jobs until the first tell,
    then 1-unit jobs (a stand-in for model-based methods whose asks change with results)."""

    @staticmethod
    def make(space, max_resource):
        import numpy as np

        from hpobench.optimizers.base import Optimizer

        class Method(Optimizer):
            def __init__(self):
                super().__init__(space, max_resource)
                self.told, self.rng = 0, np.random.default_rng(0)

            def _next(self):
                r = self.max_resource if self.told == 0 else 1
                return self._job(self._new_trial_id(), self.space.sample(self.rng), r)

            def _observe(self, job, ev):
                self.told += 1

        return Method()


@pytest.mark.parametrize("persisted", [True, False])
def test_budget_stop_is_remembered_across_a_crash(persisted, tmp_path):
    """With 4 workers the method asks three full-R jobs before any result: the third does
    not fit in 2.5 R and the run stops asking.  Killed after one of the two rows, the
    resumed run must not ask again (now it would get a 1-unit job that fits) unless the
    record lost the budget stop."""
    import json

    from hpobench.benchmarks.envelope import EnvelopeBenchmark
    from hpobench.results import JOURNAL, RUN_JSON, TABLE

    b = EnvelopeBenchmark(max_resource=27)

    def go():
        return run(b, _CostDependsOnTells.make(b.space, 27), budget=2.5, seed=0,
                   method_name="m", run_dir=tmp_path, executor=ScrambledExecutor(seed=0))

    full = go().rows
    meta = json.loads((tmp_path / RUN_JSON).read_text())
    assert len(full) == 2 and meta["budget_exhausted"] is True
    (tmp_path / TABLE).unlink()
    (tmp_path / JOURNAL).write_text(json.dumps(full[0]) + "\n")
    (tmp_path / RUN_JSON).write_text(json.dumps({**meta, "status": "running",
                                                 "budget_exhausted": persisted}))
    resumed = go().rows
    if persisted:
        assert _strip(resumed) == _strip(full)
    else:  # what the record without the flag would give: an evaluation the run never made
        assert len(resumed) > len(full)
