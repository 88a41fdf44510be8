"""From the recorder's runs (``method=record``) to a learning-curve table.

Each run directory holds the rows the ordinary run loop wrote: one per (trial, grid
resource), the trial resuming from its previous resource's checkpoint, so ``wall_time``
is the training between two recorded resources (and the evaluation at the second), which
becomes the table's ``runtime``.  Where a trial had to retrain from scratch
(``resource_spent`` larger than the step, e.g. a checkpoint lost after a kill), its wall
time is scaled to the step.  A trial that failed keeps its failed row (NaN losses) and
NaN rows with runtime 0 at the resources after it.  Trials the run never finished
(a run still going or killed) are left out and counted.

Several run directories (e.g. seeds of a SLURM array) merge into one table if they
recorded the same benchmark with the same settings.  ``seconds_per_unit`` replaces
measured times by ``seconds_per_unit`` x the step (for synthetic benchmarks, whose wall
time measures nothing); the table's metadata says which.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Optional, Sequence

from hpobench.benchmarks.table import LearningCurveTable
from hpobench.errors import ConfigError
from hpobench.seeding import trial_seed


def _load_run(run_dir: Path) -> tuple[dict, list[dict]]:
    from hpobench import results as res

    if not (run_dir / res.RUN_JSON).is_file():
        raise ConfigError(f"runs: {run_dir} is not a run directory (no {res.RUN_JSON})")
    try:
        meta = json.loads((run_dir / res.RUN_JSON).read_text())
    except (OSError, ValueError) as e:
        raise ConfigError(f"runs: {run_dir}/{res.RUN_JSON} is unreadable ({e})") from None
    if not isinstance(meta, dict) or meta.get("method") != "record":
        raise ConfigError(f"runs: {run_dir} was not recorded with method=record "
                          f"(its method: {meta.get('method') if isinstance(meta, dict) else None!r})")
    return meta, res.Recorder(run_dir).load_existing()


def _space_of(meta: dict, run_dir: Path):
    """The recorded benchmark's space, rebuilt from run.json's resolved config (only
    benchmarks of this package: a results file never names code to import)."""
    from hpobench.experiment import instantiate

    cfg = (meta.get("config") or {}).get("benchmark")
    target = cfg.get("_target_", "") if isinstance(cfg, dict) else ""
    if not target.startswith("hpobench.benchmarks."):
        raise ConfigError(f"runs: {run_dir}/run.json names benchmark target {target!r}; "
                          "only hpobench.benchmarks.* are rebuilt")
    return instantiate("benchmark", cfg).space


def table_from_runs(run_dirs: Sequence[str | Path], seconds_per_unit: Optional[float] = None,
                    command: str = "", runtime_from: str = "wall_time"
                    ) -> tuple[LearningCurveTable, dict]:
    """The table of the recorder runs in ``run_dirs``; returns it and a summary
    (trials kept, trials left out because unfinished, failed trials, recording cost).
    ``runtime_from``: the row column that measures a job's seconds (``wall_time``, or
    one the benchmark reports, e.g. LeNet's ``info.cpu_seconds``, which a machine
    shared with other jobs does not inflate)."""
    if seconds_per_unit is not None and not (
            isinstance(seconds_per_unit, (int, float)) and math.isfinite(seconds_per_unit)
            and seconds_per_unit > 0):
        raise ConfigError(f"seconds_per_unit: must be a number > 0, got {seconds_per_unit!r}")
    if not run_dirs:
        raise ConfigError("runs: give at least one run directory of method=record")
    first = None
    trials: list[tuple[int, int, list[dict]]] = []  # (run seed, trial id, rows)
    cost = {"wall_seconds": 0.0, "resource": 0.0, "evaluations": 0}
    for d in map(Path, run_dirs):
        meta, rows = _load_run(d)
        ident = (meta.get("benchmark"), meta.get("benchmark_settings"))
        if first is None:
            first, space, grid = meta, _space_of(meta, d), _grid(meta, d)
        elif ident != (first.get("benchmark"), first.get("benchmark_settings")):
            raise ConfigError(f"runs: {d} recorded {ident[0]!r} with other settings than "
                              f"{run_dirs[0]}; a table holds one benchmark")
        elif _grid(meta, d) != grid:
            raise ConfigError(f"runs: {d} recorded the grid {_grid(meta, d)}, not {grid}")
        by_trial: dict[int, list[dict]] = {}
        for r in rows:
            by_trial.setdefault(int(r["trial_id"]), []).append(r)
            cost["wall_seconds"] += float(r.get("wall_time") or 0.0)
            cost["resource"] += float(r["resource_spent"])
            cost["evaluations"] += 1
        trials += [(int(meta["seed"]), t, by_trial[t]) for t in sorted(by_trial)]
    cols: dict[str, list] = {f"config.{n}": [] for n in space.names}
    for c in ("replicate", "seed", "resource", "val_loss", "test_loss", "runtime"):
        cols[c] = []
    reps: dict[tuple, int] = {}
    unfinished = failed = 0
    for run_seed, tid, rows in sorted(trials, key=lambda x: (x[0], x[1])):
        rows = sorted(rows, key=lambda r: float(r["resource"]))
        if seconds_per_unit is None and any(runtime_from not in r for r in rows):
            raise ConfigError(f"runtime_from: {runtime_from!r} is not a column of the rows of "
                              f"trial {tid} (e.g. wall_time, or an info.* column the "
                              "benchmark reports)")
        curve = _curve(rows, grid, seconds_per_unit, runtime_from)
        if curve is None:
            unfinished += 1
            continue
        failed += any(math.isnan(v) for _, v, _, _ in curve)
        config = {n: rows[0][f"config.{n}"] for n in space.names}
        key = tuple(config.values())
        k = reps[key] = reps.get(key, -1) + 1
        for r, val, test, rt in curve:
            for n in space.names:
                cols[f"config.{n}"].append(config[n])
            cols["replicate"].append(k)
            cols["seed"].append(trial_seed(run_seed, tid))
            cols["resource"].append(r)
            cols["val_loss"].append(val)
            cols["test_loss"].append(test)
            cols["runtime"].append(rt)
    if not cols["resource"]:
        raise ConfigError(f"runs: no trial in {[str(d) for d in run_dirs]} has a finished "
                          "learning curve yet")
    from hpobench.results import versions

    meta = {"benchmark": first.get("benchmark"),
            "benchmark_settings": first.get("benchmark_settings"),
            # the resolved benchmark group: instantiate it to get the live benchmark back
            "benchmark_config": (first.get("config") or {}).get("benchmark"),
            "resource_unit": first.get("resource_unit", "unit"),
            "recorded_with": {"runs": [str(d) for d in run_dirs],
                              "overrides": first.get("overrides"), "command": command},
            "runtime": (f"synthetic: {seconds_per_unit:g} s per unit of resource"
                        if seconds_per_unit is not None else
                        f"measured seconds ({runtime_from}) of the recorder's job (training "
                        "from the previous resource's checkpoint, then evaluation)"),
            "cost": {**cost, "trials": len(trials) - unfinished, "failed_trials": failed,
                     "unfinished_trials_left_out": unfinished},
            "versions": first.get("versions")}
    table = LearningCurveTable.from_columns(space, cols, meta, "recorded table")
    return table, meta["cost"]


def _grid(meta: dict, run_dir: Path) -> list[float]:
    from hpobench.optimizers.record import default_grid

    m = (meta.get("config") or {}).get("method") or {}
    grid = m.get("grid") or default_grid(int(meta["max_resource"]), int(m.get("eta", 3)))
    return [float(r) for r in grid]


def _curve(rows: list[dict], grid: list[float], seconds_per_unit: Optional[float],
           runtime_from: str = "wall_time"):
    """[(resource, val, test, runtime)] over the whole grid, or None when unfinished."""
    out, prev, dead = [], 0.0, False
    at = {float(r["resource"]): r for r in rows}
    for res in grid:
        step = res - prev
        r = at.get(res)
        if dead:
            out.append((res, math.nan, math.nan, 0.0))
        elif r is None:
            return None
        else:
            if seconds_per_unit is not None:
                rt = seconds_per_unit * step
            else:
                spent = float(r["resource_spent"])
                rt = float(r[runtime_from]) * (step / spent if spent > step else 1.0)
            ok = r["status"] == "ok"
            out.append((res, float(r["val_loss"]) if ok else math.nan,
                        float(r["test_loss"]) if ok else math.nan, rt))
            dead = not ok
        prev = res
    return out
