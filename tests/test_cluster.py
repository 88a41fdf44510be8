"""A Hydra multirun sweep through ``hydra/launcher=submitit_slurm`` on a real SLURM cluster.

Marked ``cluster``: run with ``python -m pytest -q -m cluster`` where ``sinfo`` reaches a
cluster with a ``debug`` partition (``.ci/cluster.sh`` starts a single-node one with
``.ci/slurm/start.sh``, runs these tests and stops it).  Elsewhere the tests skip with the
reason, unless ``HPOBENCH_REQUIRE_CLUSTER=1`` (set by .ci/cluster.sh) makes that a failure.

submitit polls job states with ``sacct``; a cluster without an accounting database (like
the test cluster) needs the stand-in that start.sh writes, found through
``HPOBENCH_SLURM_BIN`` (default ``/tmp/hpobench-slurm/bin``) when that folder exists.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from hpobench.experiment import build
from hpobench.results import RUN_JSON, TABLE, TIMING_COLUMNS
from hpobench.run import run
from tests.conftest import ROOT, compose_cfg

pytestmark = pytest.mark.cluster

PARTITION = os.environ.get("HPOBENCH_SLURM_PARTITION", "debug")
SMALL = ["benchmark.max_resource=27", "budget=2"]
VARIANT = "benchmark.max_resource=27,budget=2"


def _no_cluster_reason() -> str | None:
    if shutil.which("sinfo") is None:
        return "no SLURM here: `sinfo` is not installed"
    try:
        p = subprocess.run(["sinfo", "-h", "-p", PARTITION, "-o", "%a"], capture_output=True,
                           text=True, timeout=20)
    except subprocess.TimeoutExpired:
        return "no SLURM here: `sinfo` timed out"
    if p.returncode != 0:
        return f"no SLURM reachable: `sinfo` failed ({p.stderr.strip() or p.returncode})"
    if "up" not in p.stdout.split():
        return f"SLURM has no partition {PARTITION!r} that is up"
    return None


@pytest.fixture(scope="module")
def slurm_env() -> dict:
    reason = _no_cluster_reason()
    if reason:
        if os.environ.get("HPOBENCH_REQUIRE_CLUSTER") == "1":
            pytest.fail(f"HPOBENCH_REQUIRE_CLUSTER=1 but {reason}")
        pytest.skip(reason)
    env = {k: v for k, v in os.environ.items() if k not in ("HPOBENCH_FAULT", "HPOBENCH_RESULTS")}
    path = [str(Path(sys.executable).parent)]  # the jobs run this environment's python
    shim = os.environ.get("HPOBENCH_SLURM_BIN", "/tmp/hpobench-slurm/bin")
    if os.path.isdir(shim):
        path.insert(0, shim)
    env["PATH"] = os.pathsep.join([*path, env.get("PATH", "")])
    return env


def _sweep(results: Path, env: dict) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "runners.sweep", "-m", "hydra/launcher=submitit_slurm",
           f"hydra.launcher.partition={PARTITION}", "hydra.launcher.timeout_min=5",
           "hydra.launcher.cpus_per_task=1", "hydra.launcher.mem_gb=1",
           "method=hyperband,random", "seed=0,1", *SMALL, f"results_dir={results}"]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


def _slurm_states(env: dict) -> dict:
    """SLURM job id -> state, for every job slurmctld still remembers."""
    p = subprocess.run(["squeue", "-h", "-r", "--states=all", "-o", "%A|%T"],
                       capture_output=True, text=True, env=env, timeout=20)
    return dict(line.split("|", 1) for line in p.stdout.split())


@pytest.fixture(scope="module")
def swept(slurm_env, tmp_path_factory):
    results = tmp_path_factory.mktemp("slurm")
    p = _sweep(results, slurm_env)
    assert p.returncode == 0, p.stdout + p.stderr
    return results


RUNS = [(m, s) for m in ("hyperband", "random") for s in (0, 1)]


def _run_dir(results: Path, method: str, seed: int) -> Path:
    return results / "envelope" / method / VARIANT / f"seed={seed}"


def test_four_runs_come_back_complete_from_slurm_jobs(swept, slurm_env):
    metas = {}
    for method, seed in RUNS:
        d = _run_dir(swept, method, seed)
        meta = json.loads((d / RUN_JSON).read_text())
        assert meta["status"] == "complete", (method, seed, meta["status"])
        df = pd.read_parquet(d / TABLE)
        assert len(df) == meta["n_evaluations"] > 0
        assert list(df["job_id"]) == list(range(len(df)))
        assert meta["total_resource"] <= 2 * 27
        metas[method, seed] = meta
    ids = {m["slurm_job_id"] for m in metas.values()}
    assert None not in ids and len(ids) == 4  # four distinct SLURM jobs (array tasks)
    assert len({m["slurm_array_job_id"] for m in metas.values()}) == 1  # one job array
    assert sorted(m["slurm_array_task_id"] for m in metas.values()) == ["0", "1", "2", "3"]
    states = _slurm_states(slurm_env)
    for m in metas.values():
        assert m["pid"] != os.getpid()
        assert states.get(m["slurm_job_id"]) == "COMPLETED", (m["slurm_job_id"], states)


@pytest.mark.parametrize("method,seed", [("hyperband", 1), ("random", 0)])
def test_slurm_rows_equal_a_local_run(swept, method, seed):
    cfg = compose_cfg([f"method={method}", f"seed={seed}", *SMALL])
    b, opt, ex = build(cfg)
    local = run(b, opt, budget=cfg.budget, seed=seed, method_name=method, executor=ex,
                variant=VARIANT).frame()
    remote = pd.read_parquet(_run_dir(swept, method, seed) / TABLE)
    drop = lambda df: df.drop(columns=[c for c in TIMING_COLUMNS if c in df]).reset_index(drop=True)
    pd.testing.assert_frame_equal(drop(remote), drop(local), check_dtype=False)


def test_relaunched_slurm_sweep_skips_finished_runs(swept, slurm_env):
    before = {r: (_run_dir(swept, *r) / RUN_JSON).read_bytes() for r in RUNS}
    p = _sweep(swept, slurm_env)
    assert p.returncode == 0, p.stdout + p.stderr
    after = {r: (_run_dir(swept, *r) / RUN_JSON).read_bytes() for r in RUNS}
    assert after == before  # untouched: each job found its run complete
    logs = "".join(f.read_text() for f in swept.glob(".submitit/*/*_log.err"))
    assert logs.count("nothing to do") == len(RUNS)
