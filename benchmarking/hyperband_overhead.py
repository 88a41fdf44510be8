"""Part 1: one Hyperband iteration (R=81, eta=3) through the run loop, against the bare
objective on the same jobs, the objective batched per rung, and Optuna's HyperbandPruner
spending the same units.

Example::

    >>> [l.name for l in hyperband_overhead(repeats=1, optuna_repeats=1)][:2]
    ['hyperband_iteration', 'hyperband_iteration_vs_optuna']
"""
from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Callable, Optional

from benchmarking.common import ETA, HB_EVALS, HB_UNITS, R, FreshRunDirs, Line, interleaved_medians
from hpobench.benchmarks.envelope import EnvelopeBenchmark
from hpobench.run import run
from hpobench.seeding import optimizer_rng, trial_seed


def _hyperband_run(benchmark, run_dir: Optional[Path], seed: int = 0):
    from hpobench.optimizers import Hyperband

    return run(benchmark, Hyperband(benchmark.space, R, optimizer_rng(seed), eta=ETA),
               budget=HB_UNITS / R, seed=seed, method_name="hyperband", run_dir=run_dir,
               progress=False)

def bare_jobs(rows: list[dict], benchmark, seed: int) -> list[tuple]:
    """The (config, resource, trial seed, checkpoint) of each recorded evaluation, so the
    objective alone can be timed on exactly the jobs the run loop made."""
    names = benchmark.space.names
    at: dict[int, float] = {}
    jobs = []
    for r in rows:
        tid = r["trial_id"]
        ckpt = {"resource": at[tid]} if tid in at else None
        jobs.append(({n: r[f"config.{n}"] for n in names}, r["resource"],
                     trial_seed(seed, tid), ckpt))
        at[tid] = float(r["resource"])
    return jobs


def bare_calls(benchmark, jobs: list[tuple]) -> Callable[[], object]:
    """The jobs as one bare ``evaluate`` call each."""
    evaluate = benchmark.evaluate
    return lambda: [evaluate(c, r, s, k) for c, r, s, k in jobs]


def bare_batches(benchmark, jobs: list[tuple], rows: list[dict]) -> Callable[[], object]:
    """The same jobs through ``evaluate_many``, one call per rung (what the batching serial
    executor does): the cheapest way to evaluate them, so the fairest floor."""
    batches, key = [], None
    for job, r in zip(jobs, rows):
        k = (r["iteration"], r["bracket"], r["rung"])
        if k != key:
            batches.append([])
            key = k
        batches[-1].append(job)
    many = benchmark.evaluate_many
    return lambda: [many(b) for b in batches]


def optuna_hyperband(benchmark, total_units: float, seed: int = 0) -> float:
    """Optuna's ``HyperbandPruner`` + ``RandomSampler`` (in-memory storage) spending
    ``total_units`` steps of the same envelope objective; returns the units spent.

    Each trial reports the envelope's validation loss after every unit and stops when
    the pruner says so.  This is Optuna's pruner-based Hyperband, not Algorithm 1.
    """
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = benchmark.space
    spent = [0]

    def objective(trial):
        cfg = {"learning_rate": trial.suggest_float("learning_rate", 1e-3, 1e-1, log=True),
               "batch_size": trial.suggest_int("batch_size", 10, 1000, log=True),
               "k2": trial.suggest_int("k2", 10, 60)}
        cfg["k1"] = trial.suggest_int("k1", 5, cfg["k2"])
        assert list(cfg) == list(space.names)
        s = trial_seed(seed, trial.number)
        loss = math.nan
        for step in range(1, R + 1):
            loss = benchmark.curve(cfg, float(step), s)[0]
            spent[0] += 1
            trial.report(loss, step)
            if spent[0] >= total_units or trial.should_prune():
                raise optuna.TrialPruned()
        return loss

    def stop(study, trial):
        if spent[0] >= total_units:
            study.stop()

    study = optuna.create_study(
        sampler=optuna.samplers.RandomSampler(seed=seed),
        pruner=optuna.pruners.HyperbandPruner(min_resource=1, max_resource=R,
                                              reduction_factor=ETA))
    study.optimize(objective, callbacks=[stop])
    return spent[0]


def hyperband_overhead(repeats: int = 5, optuna_repeats: int = 3,
                       clock: Callable[[], float] = time.perf_counter) -> list[Line]:
    """Part 1: one full Hyperband iteration through ``run`` (journal, Parquet and run.json
    written to a temporary run directory) against the bare objective and Optuna."""
    b = EnvelopeBenchmark(max_resource=R)
    with FreshRunDirs() as dirs:
        d = dirs.next()
        t = clock()
        first = _hyperband_run(b, d)  # cold: includes one-off imports
        cold = clock() - t
        rows = first.rows
        if len(rows) != HB_EVALS or first.total_resource != HB_UNITS:
            raise RuntimeError(f"one Hyperband iteration should be {HB_EVALS} evaluations "
                               f"and {HB_UNITS} units, got {len(rows)} and {first.total_resource}")
        jobs = bare_jobs(rows, b, 0)
        optuna_units = [0]

        def opt():
            optuna_units[0] = optuna_hyperband(b, HB_UNITS)
        t = interleaved_medians({
            "bare": bare_calls(b, jobs), "bare_batched": bare_batches(b, jobs, rows),
            "with_dir": lambda: _hyperband_run(b, dirs.next()),
            "in_mem": lambda: _hyperband_run(b, None), "optuna": opt,
        }, repeats, fewer={"optuna": optuna_repeats}, clock=clock)
    bare, bare_batched, with_dir, in_mem, opt_t = (
        t["bare"], t["bare_batched"], t["with_dir"], t["in_mem"], t["optuna"])
    ms = 1e3
    return [
        Line("hyperband_iteration", with_dir * ms, bare * ms, "ms", "measured <= 10 ms",
             with_dir <= 0.010,
             f"R={R} eta={ETA}: {HB_EVALS} evaluations, {HB_UNITS:g} units, run_dir written; "
             "baseline: the same evaluations called bare"),
        Line("hyperband_iteration_vs_optuna", with_dir * ms, opt_t * ms, "ms",
             "ratio <= 0.01 (100x faster)", with_dir <= 0.01 * opt_t,
             f"baseline: optuna HyperbandPruner+RandomSampler, {optuna_units[0]} units, "
             "in-memory storage"),
        Line("hyperband_iteration_in_memory", in_mem * ms, bare * ms, "ms", "-", None,
             "as hyperband_iteration without a run_dir (no files)"),
        Line("hyperband_iteration_in_memory_vs_optuna", in_mem * ms, opt_t * ms, "ms",
             "ratio <= 0.01 (100x faster)", in_mem <= 0.01 * opt_t,
             "as hyperband_iteration_vs_optuna without a run_dir (Optuna keeps no files either)"),
        Line("hyperband_bare_batched", bare_batched * ms, bare * ms, "ms", "-", None,
             "the 206 evaluations as one evaluate_many call per rung vs one evaluate call each"),
        Line("hyperband_loop_in_memory_vs_bare_batched", in_mem * ms, bare_batched * ms, "ms",
             "-", None, "the whole in-memory iteration vs its objective evaluated in batches: "
             "ratio - 1 is the loop's share (asking, telling, seeds, rows)"),
        Line("hyperband_iteration_cold", cold * ms, with_dir * ms, "ms", "-", None,
             "first run in a fresh process (imports pyarrow etc.) vs warm"),
    ]
