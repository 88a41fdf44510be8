"""Kill -9 a run at several points, run the same command again, and get the table an
uninterrupted run writes: identical rows apart from timing columns, no evaluation repeated.

Every run here is a real ``python -m runners.sweep`` process on the envelope benchmark with
a small sleep per unit.  Crash points come from the ``HPOBENCH_FAULT=<point>:<n>`` hook
(hpobench.results.fault_point), which SIGKILLs the process at an exact instant: during an
evaluation, between two rungs (last result of a rung told, not yet recorded), with jobs in
flight in a process pool, half-way through a journal line, and with the final Parquet
file written but not yet renamed into place.  A slow test also kills at random times.
"""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from hpobench.results import JOURNAL, LOCK, RUN_JSON, TABLE, TIMING_COLUMNS, read_journal
from tests.conftest import ROOT

SEED = 3
ARGS = ["method=hyperband", "benchmark.max_resource=27", "budget=4",
        "benchmark.sleep_per_unit=0.002", f"seed={SEED}"]
RUN_SUBDIR = "envelope/hyperband/benchmark.max_resource=27,benchmark.sleep_per_unit=0.002,budget=4"


def _env(fault: str | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("HPOBENCH_FAULT", "HPOBENCH_RESULTS")}
    if fault:
        env["HPOBENCH_FAULT"] = fault
    return env


def launch(results: Path, *extra: str, fault: str | None = None, args=ARGS) -> subprocess.Popen:
    multirun = ["-m"] if "-m" in extra else []
    extra = tuple(e for e in extra if e != "-m")
    return subprocess.Popen([sys.executable, "-m", "runners.sweep", *multirun, *args, *extra,
                             f"results_dir={results}"], cwd=ROOT, env=_env(fault),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(p: subprocess.Popen, timeout: float = 120) -> tuple[int, str]:
    out, err = p.communicate(timeout=timeout)
    return p.returncode, out + err


def sweep(results: Path, *extra: str, fault: str | None = None, args=ARGS) -> tuple[int, str]:
    return finish(launch(results, *extra, fault=fault, args=args))


def run_dir(results: Path, seed: int = SEED) -> Path:
    return results / RUN_SUBDIR / f"seed={seed}"


def table(d: Path) -> pd.DataFrame:
    return pd.read_parquet(d / TABLE)


def comparable(df: pd.DataFrame) -> pd.DataFrame:
    return df.drop(columns=[c for c in TIMING_COLUMNS if c in df]).reset_index(drop=True)


def assert_complete_and_equal(d: Path, baseline: pd.DataFrame) -> None:
    df = table(d)
    assert list(df["job_id"]) == list(range(len(df))), "an evaluation repeated or lost"
    pd.testing.assert_frame_equal(comparable(df), comparable(baseline))
    meta = json.loads((d / RUN_JSON).read_text())
    assert meta["status"] == "complete" and meta["n_evaluations"] == len(baseline)
    assert not (d / JOURNAL).exists() and not (d / LOCK).exists()
    assert not [p.name for p in d.iterdir() if p.name.startswith(".") and p.name != ".hydra"]


@pytest.fixture(scope="module")
def baseline(tmp_path_factory) -> pd.DataFrame:
    results = tmp_path_factory.mktemp("baseline")
    rc, log = sweep(results)
    assert rc == 0, log
    return table(run_dir(results))


def _rung_end(baseline: pd.DataFrame) -> int:
    """1-based index of the last job of the first rung that has a next rung."""
    key = list(zip(baseline["bracket"], baseline["rung"]))
    for i in range(1, len(key)):
        if key[i][0] == key[i - 1][0] and key[i][1] == key[i - 1][1] + 1:
            return i  # row i-1 (0-based) closes the rung
    raise AssertionError("no rung boundary in the baseline")


#: name -> (fault, extra overrides); "between rungs" points are filled in from the baseline
SCENARIOS = {
    "during_evaluation": ("evaluate:7", ()),
    "between_rungs": ("commit:{rung_end}", ()),
    "pool_jobs_in_flight": ("submit:{rung_end_plus_2}", ("executor=processes", "executor.workers=2")),
    "torn_journal_line": ("append:20", ()),
    "final_compaction": ("compact:1", ()),
}


@pytest.fixture(scope="module")
def crashed(baseline, tmp_path_factory) -> dict:
    """Launch every crash scenario at once, then every re-run at once (keeps the suite fast)."""
    end = _rung_end(baseline)
    procs, out = {}, {}
    for name, (fault, extra) in SCENARIOS.items():
        fault = fault.format(rung_end=end, rung_end_plus_2=end + 2)
        results = tmp_path_factory.mktemp(name)
        procs[name] = (results, extra, launch(results, *extra, fault=fault))
    for name, (results, extra, p) in procs.items():
        rc, log = finish(p)
        d = run_dir(results)
        out[name] = {"results": results, "crash_rc": rc, "crash_log": log,
                     "recorded": len(read_journal(d / JOURNAL)),
                     "lock_left": (d / LOCK).exists()}
    reruns = {name: launch(results, *extra) for name, (results, extra, _) in procs.items()}
    for name, p in reruns.items():
        out[name]["rc"], out[name]["log"] = finish(p)
    return out


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_killed_run_resumes_to_the_uninterrupted_table(scenario, crashed, baseline):
    c = crashed[scenario]
    assert c["crash_rc"] == -signal.SIGKILL, c["crash_log"]
    assert c["lock_left"]  # the kill left its lock behind ...
    assert c["rc"] == 0, c["log"]
    assert "stale lock" in c["log"]  # ... which the re-run reports and takes over
    d = run_dir(c["results"])
    assert json.loads((d / RUN_JSON).read_text())["resumed_from_rows"] == c["recorded"]
    assert f"resuming {d} from {c['recorded']} recorded evaluations" in c["log"]
    assert_complete_and_equal(d, baseline)


def test_crash_points_land_where_intended(crashed, baseline):
    end = _rung_end(baseline)
    rec = {k: v["recorded"] for k, v in crashed.items()}
    assert rec["during_evaluation"] == 6          # the 7th evaluation ran, was never recorded
    assert rec["between_rungs"] == end - 1        # a rung's last result told, not recorded
    assert rec["torn_journal_line"] == 19         # the torn 20th line is dropped
    assert rec["final_compaction"] == len(baseline)  # all recorded; the table was not renamed
    assert end - 1 <= rec["pool_jobs_in_flight"] <= end + 1


def test_complete_run_rerun_does_nothing_and_says_so(baseline, tmp_path):
    rc, log = sweep(tmp_path)
    assert rc == 0, log
    d = run_dir(tmp_path)
    before = (d / TABLE).read_bytes(), (d / RUN_JSON).read_bytes()
    rc, log = sweep(tmp_path)
    assert rc == 0, log
    assert "is complete" in log and "nothing to do" in log
    assert ((d / TABLE).read_bytes(), (d / RUN_JSON).read_bytes()) == before


def test_stale_lock_from_dead_process_is_reported_and_taken_over(baseline, tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    d = run_dir(tmp_path)
    d.mkdir(parents=True)
    (d / LOCK).write_text(json.dumps({"host": os.uname().nodename, "pid": dead.pid}))
    rc, log = sweep(tmp_path)
    assert rc == 0, log
    assert f"stale lock in {d} from pid {dead.pid}" in log
    assert_complete_and_equal(d, baseline)


def test_live_run_refuses_a_second_writer(tmp_path):
    slow = [a if not a.startswith("benchmark.sleep_per_unit") else "benchmark.sleep_per_unit=0.03"
            for a in ARGS]
    first = launch(tmp_path, args=slow)
    d = tmp_path / RUN_SUBDIR.replace("0.002", "0.03") / f"seed={SEED}"
    deadline = time.monotonic() + 60
    while not (d / JOURNAL).exists():
        assert first.poll() is None and time.monotonic() < deadline, finish(first)[1]
        time.sleep(0.05)
    rc, log = sweep(tmp_path, args=slow)
    still_running = first.poll() is None
    rc1, log1 = finish(first)
    assert still_running, "the first run ended before the second writer was tried"
    assert rc == 2 and f"is in use by pid {first.pid}" in log, log
    assert rc1 == 0, log1
    df = table(d)
    assert list(df["job_id"]) == list(range(len(df)))
    assert json.loads((d / RUN_JSON).read_text())["status"] == "complete"


def test_relaunched_sweep_skips_finished_runs_and_resumes_the_killed_one(baseline, tmp_path):
    n = len(baseline)  # Hyperband's job count at this budget does not depend on the seed
    args = [a for a in ARGS if not a.startswith("seed=")]
    rc, log = sweep(tmp_path, "-m", "seed=0,1", args=args, fault=f"commit:{n + 10}")
    assert rc == -signal.SIGKILL, log
    done0 = run_dir(tmp_path, 0)
    assert json.loads((done0 / RUN_JSON).read_text())["status"] == "complete"
    kept = (done0 / TABLE).read_bytes()
    rc, log = sweep(tmp_path, "-m", "seed=0,1", args=args)
    assert rc == 0, log
    assert f"{done0} is complete ({n} evaluations); nothing to do" in log
    assert (done0 / TABLE).read_bytes() == kept
    d1 = run_dir(tmp_path, 1)
    assert f"resuming {d1} from 9 recorded evaluations" in log
    df = table(d1)
    assert list(df["job_id"]) == list(range(n))
    assert json.loads((d1 / RUN_JSON).read_text())["status"] == "complete"


@pytest.mark.slow
def test_random_kill_times_resume_to_the_uninterrupted_table(tmp_path):
    """SIGKILL at seeded random instants (wherever the process happens to be: evaluating,
    telling, writing), re-run, four times over; then let it finish: the table equals an
    uninterrupted run's."""
    args = [a if not a.startswith("benchmark.sleep_per_unit") else "benchmark.sleep_per_unit=0.01"
            for a in ARGS]
    sub = RUN_SUBDIR.replace("0.002", "0.01")
    rc, log = sweep(tmp_path / "clean", args=args)
    assert rc == 0, log
    clean = pd.read_parquet(tmp_path / "clean" / sub / f"seed={SEED}" / TABLE)
    n = len(clean)
    rng = random.Random(0)
    d = tmp_path / "killed" / sub / f"seed={SEED}"
    targets = sorted(rng.sample(range(2, n - 2), 4))
    for target in targets:
        p = launch(tmp_path / "killed", args=args)
        while len(read_journal(d / JOURNAL)) < target and p.poll() is None:
            time.sleep(0.005)
        time.sleep(rng.uniform(0, 0.05))
        assert p.poll() is None, finish(p)[1]
        p.send_signal(signal.SIGKILL)  # the process this test started, by its pid
        rc, log = finish(p)
        assert rc == -signal.SIGKILL
        assert len(read_journal(d / JOURNAL)) >= target
    rc, log = sweep(tmp_path / "killed", args=args)
    assert rc == 0, log
    df = pd.read_parquet(d / TABLE)
    assert list(df["job_id"]) == list(range(len(df)))
    pd.testing.assert_frame_equal(comparable(df), comparable(clean))


@pytest.mark.slow
def test_order_dependent_method_in_a_pool_resumes_after_kill(tmp_path):
    """TPE with 2 worker processes, killed after its 12th tell: the re-run rebuilds the
    model from the recorded ask/tell interleaving, re-runs the jobs in flight, keeps every
    recorded row and repeats none."""
    args = ["method=tpe", "benchmark.max_resource=27", "budget=20",
            "benchmark.sleep_per_unit=0.002", f"seed={SEED}", "executor=processes",
            "executor.workers=2"]
    d = tmp_path / "envelope/tpe/benchmark.max_resource=27,benchmark.sleep_per_unit=0.002,budget=20" / f"seed={SEED}"
    rc, log = sweep(tmp_path, args=args, fault="commit:12")
    assert rc == -signal.SIGKILL, log
    recorded = read_journal(d / JOURNAL)
    assert len(recorded) == 11
    rc, log = sweep(tmp_path, args=args)
    assert rc == 0, log
    assert "resuming" in log and "interrupted jobs to run again" in log
    df = table(d)
    assert sorted(df["job_id"]) == list(range(len(df))) and len(df) == 20
    head = comparable(df.iloc[:11])
    pd.testing.assert_frame_equal(head, comparable(pd.DataFrame(recorded)), check_dtype=False)


def test_checkpoint_newer_than_the_record_is_not_resumed_from(tmp_path):
    """A kill between storing a promoted trial's new checkpoint and recording its row
    leaves a checkpoint at r_i while the record ends at r_(i-1): the re-run must train
    that step again (resource_spent r_i - r_(i-1)), not resume from r_i for free."""
    from hpobench.benchmarks.envelope import EnvelopeBenchmark
    from hpobench.checkpoints import DiskStore
    from hpobench.optimizers import Hyperband
    from hpobench.results import rows_to_frame
    from hpobench.run import run
    from hpobench.seeding import optimizer_rng

    class Persisting(EnvelopeBenchmark):
        persist_checkpoints = True  # checkpoints as files in the run directory

    def go(d):
        b = Persisting(max_resource=27)
        return run(b, Hyperband(b.space, 27, optimizer_rng(SEED)), budget=3, seed=SEED,
                   method_name="hyperband", run_dir=d)

    full = go(tmp_path / "full").rows
    promoted = next(i for i, r in enumerate(full) if r["rung"] == 1)
    row = full[promoted]
    d = tmp_path / "cut"
    d.mkdir()
    (d / JOURNAL).write_text("".join(json.dumps(r) + "\n" for r in full[:promoted]))
    (d / RUN_JSON).write_text(json.dumps({"status": "running"}))
    DiskStore(d / "checkpoints").put(row["trial_id"], {"resource": row["resource"]})
    (d / "checkpoints" / ".tmp-killed").write_bytes(b"half a checkpoint")
    resumed = go(d).rows
    assert resumed[promoted]["resource_spent"] == row["resource_spent"] > 0
    pd.testing.assert_frame_equal(comparable(rows_to_frame(resumed)),
                                  comparable(rows_to_frame(full)))
    assert not (d / "checkpoints").exists()  # cleared once complete


#: a run whose rungs the serial executor evaluates as batches (no sleep: vectorised)
BATCH_ARGS = [a for a in ARGS if not a.startswith("benchmark.sleep_per_unit")]
BATCH_SUBDIR = "envelope/hyperband/benchmark.max_resource=27,budget=4"


@pytest.mark.parametrize("fault,recorded", [
    ("evaluate:30", 27),   # mid-way through the second batch: the first rung is recorded
    ("commit:31", 27),     # the 4th result of the second batch told: a batch is recorded
                           # after all its results are told, so none of it is yet
    ("append:29", 28),     # half of the 29th line written: the torn line is dropped
])
def test_killed_batched_run_resumes_to_the_uninterrupted_table(tmp_path, fault, recorded):
    """A rung evaluated in one vectorised call is recorded as a batch; a kill anywhere in
    it re-runs exactly the unrecorded jobs and gives the uninterrupted table."""
    rc, log = sweep(tmp_path / "clean", args=BATCH_ARGS)
    assert rc == 0, log
    clean = table(tmp_path / "clean" / BATCH_SUBDIR / f"seed={SEED}")
    d = tmp_path / "killed" / BATCH_SUBDIR / f"seed={SEED}"
    rc, log = sweep(tmp_path / "killed", args=BATCH_ARGS, fault=fault)
    assert rc == -signal.SIGKILL, log
    assert len(read_journal(d / JOURNAL)) == recorded
    rc, log = sweep(tmp_path / "killed", args=BATCH_ARGS)
    assert rc == 0, log
    assert f"resuming {d} from {recorded} recorded evaluations" in log
    assert_complete_and_equal(d, clean)


def test_kill_after_the_budget_stopped_asking_loses_no_job(tmp_path):
    """The budget ends a run while a batch is still to be recorded: the jobs asked before
    it stopped asking must run again on resume, not be forgotten (run.json says the
    budget is spent, but not which jobs had been asked by then)."""
    rc, log = sweep(tmp_path / "clean", args=BATCH_ARGS)
    assert rc == 0, log
    clean = table(tmp_path / "clean" / BATCH_SUBDIR / f"seed={SEED}")
    last = clean[clean["submitted"] == clean["submitted"].max()]
    assert 1 < len(last) < len(clean)  # the last batch, asked when the budget stopped asking
    first_of_last = int(last.index[0]) + 1  # its first commit, 1-based
    d = tmp_path / "killed" / BATCH_SUBDIR / f"seed={SEED}"
    rc, log = sweep(tmp_path / "killed", args=BATCH_ARGS, fault=f"commit:{first_of_last}")
    assert rc == -signal.SIGKILL, log
    assert json.loads((d / RUN_JSON).read_text()).get("budget_exhausted")
    rc, log = sweep(tmp_path / "killed", args=BATCH_ARGS)
    assert rc == 0, log
    assert_complete_and_equal(d, clean)
