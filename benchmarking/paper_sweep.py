"""Part 4: the paper-scale synthetic sweep: every method x seeds through one Hydra
multirun (joblib launcher), against a perfect parallel launcher."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarking.common import Line, not_available
from hpobench.configs import config_dir


def paper_sweep(seeds: int = 20, budget: int = 50, n_jobs: int = 2) -> list[Line]:
    """Part 4: every ``conf/method/*.yaml`` x ``seeds`` at ``budget`` R on the envelope,
    one Hydra multirun with the joblib launcher on ``n_jobs`` workers.

    Baseline: the sum of the runs' own wall times (run.json started..ended) divided by
    ``n_jobs``, i.e. a perfect parallel launcher; each method's share of that sum gets a
    line.  A sweep that fails part-way still reports the runs that completed, and says so.
    """
    root = Path(__file__).resolve().parents[1]  # the checkout: runners.sweep runs from it
    methods = sorted(p.stem for p in (Path(config_dir()) / "method").glob("*.yaml"))
    with tempfile.TemporaryDirectory(prefix="hpobench-sweep-") as d:
        cmd = [sys.executable, "-m", "runners.sweep", "-m", "hydra/launcher=joblib",
               f"hydra.launcher.n_jobs={n_jobs}", f"method={','.join(methods)}",
               f"seed=range(0,{seeds})", f"budget={budget}", f"results_dir={d}",
               "progress=false"]
        t = time.perf_counter()
        proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True,
                              env={**os.environ, "HYDRA_FULL_ERROR": "1"})
        wall = time.perf_counter() - t
        per_method: dict[str, float] = {}
        n_runs = 0
        for p in Path(d).rglob("run.json"):
            meta = json.loads(p.read_text())
            if meta.get("status") in ("complete", "finished") and meta.get("ended"):
                per_method[meta["method"]] = per_method.get(meta["method"], 0.0) + _run_seconds(meta)
                n_runs += 1
    failed = "" if proc.returncode == 0 else (
        f"; SWEEP FAILED (exit {proc.returncode}): {proc.stderr.strip()[-300:]}")
    if not per_method:
        return [not_available("paper_sweep", f"no run completed{failed}")]
    total = sum(per_method.values())
    lines = [Line("paper_sweep", wall, total / n_jobs, "s", "-", None,
                  f"{len(methods)} methods x {seeds} seeds at {budget}R ({n_runs} runs "
                  f"complete of {len(methods) * seeds}), joblib n_jobs={n_jobs}; baseline: "
                  f"sum of run times / {n_jobs}{failed}")]
    for m, sec in sorted(per_method.items(), key=lambda kv: -kv[1]):
        lines.append(Line(f"paper_sweep_share_{m}", sec, total, "s", "-", None,
                          f"{m}: its runs' summed wall time over all runs'"))
    return lines


def _run_seconds(meta: dict) -> float:
    from datetime import datetime

    return (datetime.fromisoformat(meta["ended"]) -
            datetime.fromisoformat(meta["started"])).total_seconds()
