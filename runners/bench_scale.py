"""How much faster do parallel evaluations and parallel runs make a comparison?

Prints ratios against baselines measured in the same invocation (a benchmark script, not
a test: nothing here asserts a speed):

(a) one Hyperband run, ``executor=processes executor.workers=N`` against ``executor=serial``
    (same seed, so the same evaluations: the script checks the rows are identical apart
    from timing columns), on the envelope benchmark padded with a sleep per unit of
    resource, and on the CPU-sized LeNet benchmark (``conf/benchmark/lenet_mnist_cpu.yaml``)
    when torch and the MNIST data are installed;
(b) a small envelope multirun sweep, ``hydra/launcher=joblib`` (N jobs) against Hydra's
    basic launcher (one run after another), each launched as ``python -m runners.sweep -m``.

    python -m runners.bench_scale                    # everything, a few minutes on 2 cores
    python -m runners.bench_scale --parts a --no-lenet --repeats 3

Hyperband waits at the end of each rung (the synchronous algorithm), so a rung's last
jobs leave workers idle; the envelope figure shows that cost, the LeNet one what a real
training load gets.  Speed-ups near N need N free cores: on a shared machine they drop.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "conf"

ENVELOPE_SLEEP = 0.02  # seconds per unit: evaluations of 0.02 to 0.54 s
ENVELOPE = ["benchmark=envelope", "benchmark.max_resource=27", "budget=6",
            f"benchmark.sleep_per_unit={ENVELOPE_SLEEP}"]
LENET = ["benchmark=lenet_mnist_cpu", "benchmark.max_resource=27", "budget=3"]
SWEEP_SLEEP = 0.05  # seconds per unit: runs of about 4 s
SWEEP = ["method=hyperband,random", "seed=0,1,2,3", "benchmark.max_resource=27", "budget=3",
         f"benchmark.sleep_per_unit={SWEEP_SLEEP}"]


def _compose(overrides: list[str]):
    from hydra import compose, initialize_config_dir

    import hpobench.configs  # noqa: F401  (registers the resolvers the config uses)

    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose(config_name="config", overrides=overrides)


def one_run(overrides: list[str], executor: list[str]) -> tuple[float, list[dict]]:
    """Wall time of one in-memory run (benchmark set-up excluded) and its rows."""
    from hpobench.experiment import build
    from hpobench.run import run

    cfg = _compose(["method=hyperband", "seed=0", *overrides, *executor])
    b, opt, ex = build(cfg)
    t = time.perf_counter()
    res = run(b, opt, budget=cfg.budget, seed=0, method_name="hyperband", executor=ex,
              progress=False)
    return time.perf_counter() - t, res.rows


def compare_executors(name: str, overrides: list[str], workers: int, repeats: int) -> None:
    from hpobench.results import TIMING_COLUMNS

    strip = lambda rows: [{k: v for k, v in r.items() if k not in TIMING_COLUMNS} for r in rows]
    serial, parallel, same = [], [], True
    for _ in range(repeats):  # alternate, so machine load hits both alike
        t_s, rows_s = one_run(overrides, ["executor=serial"])
        t_p, rows_p = one_run(overrides, ["executor=processes", f"executor.workers={workers}"])
        serial.append(t_s)
        parallel.append(t_p)
        same &= strip(rows_s) == strip(rows_p)
    s, p = statistics.median(serial), statistics.median(parallel)
    print(f"(a) {name}: {len(rows_s)} evaluations; serial {s:.2f} s, {workers} workers "
          f"{p:.2f} s -> speed-up {s / p:.2f}x (at most {rung_bound(rows_s, workers):.2f}x "
          f"with rung barriers, {workers}x without); rows identical apart from "
          f"timing: {'yes' if same else 'NO'}  [medians of {repeats}: serial "
          f"{', '.join(f'{x:.2f}' for x in serial)}; parallel {', '.join(f'{x:.2f}' for x in parallel)}]")


def rung_bound(rows: list[dict], workers: int) -> float:
    """The best speed-up ``workers`` can give when every rung waits for its slowest job:
    total work over the sum of each rung's makespan (longest-job-first list schedule),
    taking a job's cost as its resource spent."""
    from collections import defaultdict

    rungs: dict = defaultdict(list)
    for r in rows:
        rungs[r["iteration"], r["bracket"], r["rung"]].append(float(r["resource_spent"]))
    makespan = 0.0
    for costs in rungs.values():
        load = [0.0] * workers
        for c in sorted(costs, reverse=True):
            load[load.index(min(load))] += c
        makespan += max(load)
    total = sum(sum(c) for c in rungs.values())
    return total / makespan if makespan else float("nan")


def lenet_available() -> str | None:
    """None if the LeNet preset can run here, else why not."""
    if not (CONF / "benchmark" / "lenet_mnist_cpu.yaml").exists():
        return "conf/benchmark/lenet_mnist_cpu.yaml is missing"
    try:
        import torch  # noqa: F401
        from hpobench.experiment import build

        build(_compose(["method=hyperband", *LENET]))
    except Exception as e:  # noqa: BLE001 - report why, run the rest
        return f"{type(e).__name__}: {e}"
    return None


def sweep_time(extra: list[str], results: Path) -> float:
    cmd = [sys.executable, "-m", "runners.sweep", "-m", *SWEEP, *extra, f"results_dir={results}"]
    env = {k: v for k, v in os.environ.items() if k != "HPOBENCH_FAULT"}
    t = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True)
    return time.perf_counter() - t


def compare_launchers(jobs: int, repeats: int) -> None:
    basic, joblib = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(repeats):
            basic.append(sweep_time([], Path(tmp) / f"basic{i}"))
            joblib.append(sweep_time(["hydra/launcher=joblib", f"hydra.launcher.n_jobs={jobs}"],
                                     Path(tmp) / f"joblib{i}"))
    b, j = statistics.median(basic), statistics.median(joblib)
    n_runs = 8
    print(f"(b) envelope sweep ({n_runs} runs: {' '.join(SWEEP[:2])}, sleep {SWEEP_SLEEP} s/unit, "
          f"budget 3R), whole command: basic "
          f"launcher {b:.2f} s, joblib n_jobs={jobs} {j:.2f} s -> speed-up {b / j:.2f}x  "
          f"[medians of {repeats}]")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--parts", default="a,b", help="a (executors), b (launchers)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--no-lenet", action="store_true", help="skip the LeNet measurement")
    ap.add_argument("--lenet-budget", type=float, default=3,
                    help="LeNet budget in multiples of R=27 (3: 40 evaluations)")
    args = ap.parse_args(argv)
    parts = set(args.parts.split(","))
    print(f"# bench_scale: {platform.node()}, {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f} at start, python {platform.python_version()}, "
          f"{time.strftime('%Y-%m-%d %H:%M')}")
    if "a" in parts:
        compare_executors(f"envelope, sleep {ENVELOPE_SLEEP} s/unit, R=27, budget 6R", ENVELOPE,
                          args.workers, args.repeats)
        why = "--no-lenet" if args.no_lenet else lenet_available()
        if why is None:
            lenet = [*LENET[:-1], f"budget={args.lenet_budget:g}"]
            compare_executors(f"LeNet MNIST (lenet_mnist_cpu, R=27, budget {args.lenet_budget:g}R)",
                              lenet, args.workers, args.repeats)
        else:
            print(f"(a) LeNet: not measured ({why})")
    if "b" in parts:
        compare_launchers(args.workers, args.repeats)


if __name__ == "__main__":
    main()
