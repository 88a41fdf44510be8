"""A run directory's ``run.json``: what the run is (its settings), where and how it ran.

A run's identity is its resolved settings, recorded in ``run.json`` under ``settings``:
the benchmark (name and every setting, its space included), the method (name and
settings), the seed, the budget and ``reuse``, and, when the run was composed from a
config, the resolved ``benchmark`` and ``method`` groups.  Running into a directory
whose ``run.json`` records other settings is refused with a one-line
:class:`~hpobench.errors.ConfigError` before anything is written: a finished directory
is never reported as the result of settings it was not run with, and an interrupted one
is never continued under other settings.

What does not change the rows (executor, workers, progress, the results folder, the
host) is recorded too, but is not part of the identity.
"""
from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any, Optional

from hpobench import results as res
from hpobench.errors import ConfigError

#: config keys that decide a run's rows (everything else: where and how it runs)
RESULT_KEYS = ("benchmark", "method", "seed", "budget", "reuse")
#: keys of a config group that only name or describe it
_LABEL_KEYS = ("label", "description")


def identity(benchmark, optimizer, *, method_name: str, seed: int, budget: float,
             reuse: bool, config: Optional[dict] = None) -> dict:
    """The settings that make a run what it is, as plain JSON values."""
    out: dict[str, Any] = {
        "benchmark": benchmark.name, "benchmark_settings": benchmark.settings(),
        "method": method_name, "method_settings": optimizer.settings(),
        "seed": seed, "budget": budget, "reuse": reuse,
    }
    if config is not None:
        out["config"] = {k: _without_labels(config[k]) for k in RESULT_KEYS if k in config}
    return json.loads(canonical(out))


def check_same_run(run_dir: Path, previous: dict, settings: dict) -> None:
    """Raise when ``run_dir``'s ``run.json`` (``previous``) records other settings.

    Only keys both sides have are compared (a run started from a config records the
    config too; one started from Python objects does not), so the same run reached by
    either route is the same run.
    """
    if not previous:
        return
    before = previous.get("settings")
    if not isinstance(before, dict):  # written before run.json carried settings
        before = {k: previous[k] for k in ("benchmark", "method", "seed", "budget", "reuse")
                  if k in previous}
        old = previous.get("benchmark_settings")
        if isinstance(old, dict):
            now = settings.get("benchmark_settings", {})
            before["benchmark_settings"] = old
            settings = {**settings, "benchmark_settings": {k: now.get(k) for k in old}}
    diffs = [d for key in sorted(set(before) & set(settings))
             for d in _differences(before[key], settings[key], key)]
    if diffs:
        shown = "; ".join(f"{path}: {was} there, {now} here" for path, was, now in diffs[:3])
        more = f"; and {len(diffs) - 3} more" if len(diffs) > 3 else ""
        raise ConfigError(f"run_dir: {run_dir} holds a run with other settings ({shown}{more}); "
                          "choose another results_dir or remove that directory")


def host() -> dict:
    """Where this process runs: host, pid and the SLURM job (None outside SLURM)."""
    return {"host": socket.gethostname(), "pid": os.getpid(),
            "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
            "slurm_array_job_id": os.environ.get("SLURM_ARRAY_JOB_ID"),
            "slurm_array_task_id": os.environ.get("SLURM_ARRAY_TASK_ID")}


def read(run_dir: Path) -> dict:
    """The run directory's ``run.json`` ({} when missing or unreadable)."""
    try:
        meta = json.loads((Path(run_dir) / res.RUN_JSON).read_text())
    except (OSError, ValueError):
        return {}
    return meta if isinstance(meta, dict) else {}


def write(run_dir: Optional[Path], meta: dict, durable: bool = True) -> None:
    """Replace ``run.json`` atomically (``durable=False`` for the interim "running"
    record: the final one replaces it, fsynced)."""
    if run_dir is not None:
        res.write_json(Path(run_dir) / res.RUN_JSON, meta, durable=durable)


def canonical(x: Any) -> str:
    """JSON text with sorted keys: equal settings give equal text (NaN included)."""
    return json.dumps(x, sort_keys=True, default=res.json_default)


def _without_labels(group: Any) -> Any:
    if isinstance(group, dict):
        return {k: v for k, v in group.items() if k not in _LABEL_KEYS}
    return group


def _differences(a: Any, b: Any, path: str):
    """(dotted path, old, new) of every leaf where ``a`` and ``b`` differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                yield (f"{path}.{k}", _show(a[k]) if k in a else "(none)",
                       _show(b[k]) if k in b else "(none)")
            else:
                yield from _differences(a[k], b[k], f"{path}.{k}")
    elif canonical(a) != canonical(b):  # NaN equals NaN here, as it should for settings
        yield (path, _show(a), _show(b))


def _show(v: Any) -> str:
    s = canonical(v)
    return s if len(s) <= 60 else s[:57] + "..."
