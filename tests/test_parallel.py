"""Parallel evaluations give the rows of a serial run (apart from timing columns) for
methods whose job sequence does not depend on result timing: Hyperband and random search,
with a local process pool, with an executor that finishes jobs in scrambled order, and on a
local Dask cluster when dask.distributed is installed."""
from __future__ import annotations

import math
import random
import threading
from concurrent.futures import Future

import pytest

from hpobench.executors import SerialExecutor, evaluate_safely
from hpobench.experiment import build
from hpobench.results import TIMING_COLUMNS
from hpobench.run import run
from tests.conftest import compose_cfg

# R=27 (s_max=3) and a few R: every Hyperband bracket size, rungs of 1..27 jobs; a small
# sleep per unit so evaluations of different sizes really overlap and finish out of order
SMALL = ["benchmark.max_resource=27", "budget=6", "benchmark.sleep_per_unit=0.0005"]


def _run(method: str, executor_overrides=(), executor=None, seed=4, run_dir=None):
    budget = ["budget=24"] if method == "random" else []  # random: one job per R
    cfg = compose_cfg([f"method={method}", f"seed={seed}", *SMALL, *budget, *executor_overrides])
    b, opt, ex = build(cfg)
    return run(b, opt, budget=cfg.budget, seed=seed, method_name=method,
               executor=executor or ex, run_dir=run_dir)


def _strip(rows):
    return [{k: v for k, v in r.items() if k not in TIMING_COLUMNS} for r in rows]


class ScrambledExecutor:
    """Holds every job's result back and releases them in a shuffled order from another
    thread, so completion order differs from submission order (deterministically seeded)."""

    workers = 4

    def __init__(self, seed: int = 0):
        self._rng = random.Random(seed)
        self._held: list[tuple[Future, tuple]] = []
        self._lock = threading.Lock()
        self.reordered = 0

    def start(self, benchmark) -> None:
        self.benchmark = benchmark

    def submit(self, config, resource, seed, resume_from, planned) -> Future:
        f: Future = Future()
        with self._lock:
            self._held.append((f, (config, resource, seed, resume_from, planned)))
            full = len(self._held) >= self.workers
        # release a shuffled batch once the loop has filled its capacity, or after a short
        # wait (when the method waits at a rung's end with fewer jobs in flight)
        if full:
            self._release()
        else:
            threading.Timer(0.01, self._release).start()
        return f

    def _release(self) -> None:
        with self._lock:
            batch, self._held = self._held, []
        order = list(range(len(batch)))
        self._rng.shuffle(order)
        self.reordered += order != sorted(order)
        for i in order:
            f, args = batch[i]
            f.set_result(evaluate_safely(self.benchmark, *args))

    def shutdown(self) -> None:
        self._release()


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
