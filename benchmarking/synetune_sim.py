"""Part 10: replaying a table with ASHA on simulated time, hpobench against syne-tune's
own simulator (issue #14's goal: at least 10x faster per replayed evaluation).

Both sides replay the shipped envelope table (1024 configurations at 1, 3, 9, 27, 81;
1 simulated second per unit) with ASHA (eta = 3, rungs 1, 3, 9, 27, 81) on N simulated
workers, timed in the same process, round-robin (:func:`interleaved_medians`):

* **ours**: ``hpobench.run.run`` with :class:`~hpobench.optimizers.asha.ASHA` (promotion
  type), ``TableBenchmark`` and :class:`~hpobench.simulated.SimulatedExecutor`, in memory,
  ``budget`` x R units of resource; its last job's finish is the simulated end ``T``;
* **syne-tune 0.16**: ``Tuner`` + ``UserBlackboxBackend`` over a ``BlackboxTabular``
  built in memory from the same table (:func:`blackbox_from_table`) + ``SimulatorCallback``,
  its ``baselines.ASHA`` (stopping type, its only kind in 0.16), until simulated time ``T``
  (``StoppingCriterion(max_wallclock_time=T)``, which the callback turns into simulated
  time).  Writing its two result files (metadata, results at the end) is counted, as
  running it costs them.

A replayed evaluation is one result the method sees: one of our rows (a job to one
rung), one of syne-tune's reported results (a trial reaching one recorded resource).

What syne-tune is given, and why: ``BlackboxTabular`` answers only recorded
configurations (a configuration it does not hold is an error), so its searcher samples
a recorded configuration by its index (``table_config``, uniform), the cheapest look-up
it has; ours samples the unit cube and answers with the nearest recorded configuration
(``info.table_config``), which costs more.  A constant second column (``table``) is
there because ``BlackboxTabular`` cannot look up a table with a single hyperparameter
(pandas reads the one-element key as a multi-axis indexer).  syne-tune's clock advances
by ``tuner_sleep_time`` simulated seconds whenever its tuner loop waits, so a worker
freed in between idles until the next poll: 1 s, the table's time resolution (every
recorded runtime is a whole number of seconds), keeps its schedule; its default, 5 s, is
measured on its own line and changes the trace.  syne-tune also adds the real time its
tuner loop spends to the simulated clock (milliseconds here).
"""
from __future__ import annotations

import contextlib
import importlib.util
import io
import logging
import os
import time
from typing import Callable
from unittest import mock

import numpy as np

from benchmarking.common import FreshRunDirs, Line, interleaved_medians, not_available
from hpobench.benchmarks.table import LearningCurveTable, TableBenchmark
from hpobench.optimizers.asha import ASHA
from hpobench.run import run
from hpobench.seeding import optimizer_rng
from hpobench.simulated import SimulatedExecutor

#: the objectives of the syne-tune table, in its last axis
OBJECTIVES = ("val_loss", "test_loss", "elapsed_time")
FIDELITY = "resource"
GOAL = 0.1  # ours / syne-tune per evaluation: at least 10x faster


def missing() -> str | None:
    """Why syne-tune's simulator cannot run here (None when it can)."""
    if importlib.util.find_spec("syne_tune") is None:
        return ("syne-tune is not installed "
                "(pip install --no-deps -c constraints.txt syne-tune dill)")
    try:
        import syne_tune.blackbox_repository.simulated_tabular_backend  # noqa: F401
    except ImportError as e:  # its package __init__ imports huggingface_hub
        return (f"syne-tune's blackbox repository does not import ({e}); it needs "
                "pip install --no-deps -c constraints.txt huggingface_hub && "
                "pip install -c constraints.txt httpx2")
    return None


def blackbox_from_table(table: LearningCurveTable, name: str = "table"):
    """The table as syne-tune's ``BlackboxTabular``: configuration ``i`` (table order,
    our ``info.table_config``) is the row ``table_config = i`` (plus the constant
    ``table = name``); objectives ``val_loss``, ``test_loss`` and ``elapsed_time`` (the
    cumulative ``runtime``: syne-tune wants the time since the trial started) at every
    grid resource, replicates as its seeds."""
    import pandas as pd
    from syne_tune import config_space as cs
    from syne_tune.blackbox_repository.blackbox_tabular import BlackboxTabular

    reps = set(np.asarray(table.n_replicates).tolist())
    if len(reps) != 1:
        raise ValueError(f"syne-tune's BlackboxTabular needs the same number of replicates "
                         f"for every configuration, the table has {sorted(reps)}")
    if not all(float(g).is_integer() for g in table.grid):
        raise ValueError(f"syne-tune's BlackboxTabular needs whole-number resources, the "
                         f"table's grid is {table.grid.tolist()}")
    if np.isnan(table.val).any():
        raise ValueError("the table records failed evaluations (NaN), which syne-tune's "
                         "tabular blackbox cannot replay as failures")
    grid = np.asarray([int(g) for g in table.grid])
    n = len(table.configs)
    objectives = np.stack([table.val, table.test, np.cumsum(table.runtime, axis=2)], axis=-1)
    return BlackboxTabular(
        hyperparameters=pd.DataFrame({"table_config": np.arange(n), "table": name}),
        configuration_space=synetune_space(n, name),
        fidelity_space={FIDELITY: cs.randint(int(grid[0]), int(grid[-1]))},
        objectives_evaluations=objectives, fidelity_values=grid,
        objectives_names=list(OBJECTIVES))


def synetune_space(n: int, name: str) -> dict:
    from syne_tune import config_space as cs

    return {"table_config": cs.randint(0, n - 1), "table": name}


def synetune_asha(blackbox, name: str, workers: int, until: float, seed: int,
                  sleep: float, folder) -> "object":
    """One syne-tune run (see the module docstring); returns its results frame (one row
    per reported result, with ``st_tuner_time``, the simulated time)."""
    from syne_tune import StoppingCriterion, Tuner
    from syne_tune.backend.simulator_backend.simulator_backend import SimulatorConfig
    from syne_tune.backend.simulator_backend.simulator_callback import SimulatorCallback
    from syne_tune.blackbox_repository.simulated_tabular_backend import UserBlackboxBackend
    from syne_tune.optimizer.baselines import ASHA as SyneASHA

    from hpobench.optimizers._hpbandster import numpy_global_state

    grid = blackbox.fidelity_values
    logging.getLogger("syne_tune").setLevel(logging.ERROR)
    # its searcher samples from numpy's global random state: seed it, and restore it after
    with numpy_global_state(np.random.RandomState(seed)), \
            mock.patch.dict(os.environ, {"SYNETUNE_FOLDER": str(folder)}), \
            contextlib.redirect_stdout(io.StringIO()):  # its tuner prints a banner and status
        backend = UserBlackboxBackend(
            blackbox=blackbox, elapsed_time_attr="elapsed_time",
            simulator_config=SimulatorConfig(0, 0, 0, 0, 0),  # no simulated start/stop delays
            tuner_sleep_time=sleep)
        scheduler = SyneASHA(synetune_space(len(blackbox.hyperparameters), name),
                             metric="val_loss", time_attr=FIDELITY, max_t=int(grid[-1]),
                             grace_period=int(grid[0]), reduction_factor=3, random_seed=seed)
        callback = SimulatorCallback()
        Tuner(trial_backend=backend, scheduler=scheduler, n_workers=workers,
              stop_criterion=StoppingCriterion(max_wallclock_time=until), sleep_time=0,
              callbacks=[callback], results_update_interval=1e9, print_update_interval=1e9,
              save_tuner=False, tuner_name="synetune-sim", suffix_tuner_name=False).run()
    return callback.dataframe()


def ours(bench: TableBenchmark, workers: int, budget: float, seed: int, run_dir=None):
    """Our ASHA on the table with the simulated executor (in memory, or writing
    ``run_dir``: journal, Parquet table, run.json): the run's rows."""
    return run(bench, ASHA(bench.space, bench.max_resource, optimizer_rng(seed), eta=3),
               budget=budget, seed=seed, method_name="asha", progress=False,
               executor=SimulatedExecutor(workers), run_dir=run_dir).rows


def trace(ours_rows: list[dict], theirs) -> dict:
    """Evaluations per rung, resource spent and simulated end of both runs."""
    rungs = sorted({float(r["resource"]) for r in ours_rows})
    ours_rungs = {r: sum(1 for row in ours_rows if float(row["resource"]) == r) for r in rungs}
    theirs_rungs = {float(r): int(c) for r, c in
                    theirs[FIDELITY].value_counts().sort_index().items()}
    return {
        "evaluations": (len(ours_rows), len(theirs)),
        "rungs": (ours_rungs, theirs_rungs),
        "resource": (sum(float(r["resource_spent"]) for r in ours_rows),
                     float(theirs.groupby("trial_id")[FIDELITY].max().sum())),
        "end": (max(float(r["info.sim_time"]) for r in ours_rows),
                float(theirs["st_tuner_time"].max())),
    }


def _counts(rungs: dict) -> str:
    return "/".join(f"{c}" for _, c in sorted(rungs.items()))


#: line name -> (simulated workers, syne-tune's tuner_sleep_time, ours writes a run directory,
#: goal judged): the table's time resolution; ours keeping its files; syne-tune's default
CASES = {
    "synetune_sim_asha_per_eval": (4, 1.0, False, True),
    "synetune_sim_asha_per_eval_16_workers": (16, 1.0, False, True),
    "synetune_sim_asha_per_eval_run_dir": (4, 1.0, True, True),
    "synetune_sim_asha_per_eval_default_sleep": (4, 5.0, False, False),
}
TRACE = ("synetune_sim_trace_evaluations", "synetune_sim_trace_end_time")


def synetune_sim(repeats: int = 5, budget: float = 50, seed: int = 0,
                 clock: Callable[[], float] = time.perf_counter) -> list[Line]:
    """One line per case of :data:`CASES` (ours per evaluation against syne-tune's), and
    the 4-worker trace: evaluations and simulated end, ours against syne-tune's."""
    why = missing()
    if why:
        return [not_available(n, why) for n in (*CASES, *TRACE)]
    bench = TableBenchmark(path="envelope", name="envelope")
    blackbox = blackbox_from_table(bench.table, "envelope")
    ends = {w: max(float(r["info.sim_time"]) for r in ours(bench, w, budget, seed))
            for w in {c[0] for c in CASES.values()}}  # syne-tune stops at our simulated end
    got: dict[tuple, list] = {}
    fns: dict[str, Callable[[], None]] = {}
    with FreshRunDirs() as dirs:
        for w, sleep, files, _ in CASES.values():  # shared sides are timed once
            def mine(w=w, files=files):
                got["ours", w, files] = ours(bench, w, budget, seed,
                                             dirs.next() if files else None)

            def theirs(w=w, sleep=sleep):
                got["syne-tune", w, sleep] = synetune_asha(blackbox, "envelope", w, ends[w],
                                                           seed, sleep, dirs.next())
            fns[f"ours {w} {files}"], fns[f"syne-tune {w} {sleep}"] = mine, theirs
        t = interleaved_medians(fns, repeats, clock=clock)
    lines = []
    for name, (w, sleep, files, judged) in CASES.items():
        a_rows, b_rows = got["ours", w, files], got["syne-tune", w, sleep]
        a_s, b_s = t[f"ours {w} {files}"], t[f"syne-tune {w} {sleep}"]
        a, b = a_s / len(a_rows), b_s / len(b_rows)
        tr = trace(a_rows, b_rows)
        lines.append(Line(
            name, a * 1e6, b * 1e6, "us", f"ratio <= {GOAL:g} (10x faster)" if judged else "-",
            (a <= GOAL * b) if judged else None,
            f"ASHA on the envelope table, {w} simulated workers: ours "
            f"({'writing a run directory' if files else 'in memory'}) {len(a_rows)} "
            f"evaluations ({budget:g} R) in {a_s:.3f} s against syne-tune's {len(b_rows)} in "
            f"{b_s:.3f} s, until the same simulated time {ends[w]:g} s; syne-tune's "
            f"tuner_sleep_time {sleep:g} s; evaluations per rung "
            f"{'/'.join(f'{r:g}' for r in sorted(tr['rungs'][0]))}: ours "
            f"{_counts(tr['rungs'][0])}, syne-tune {_counts(tr['rungs'][1])}; resource spent "
            f"{tr['resource'][0]:g} / {tr['resource'][1]:g}; simulated end "
            f"{tr['end'][0]:g} / {tr['end'][1]:.2f} s"))
    tr = trace(got["ours", 4, False], got["syne-tune", 4, 1.0])
    lines.append(Line(TRACE[0], tr["evaluations"][0], tr["evaluations"][1], "evaluations",
                      note="4 workers, same simulated time: replayed evaluations, ours "
                           "against syne-tune's (promotion- vs stopping-type ASHA, see "
                           "hpobench/docs/performance.md)"))
    lines.append(Line(TRACE[1], tr["end"][0], tr["end"][1], "sim s",
                      note="4 workers: our last job's finish against syne-tune's last "
                           "result (it stops at the first result past ours)"))
    return lines
