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
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional

from hpobench import results as res
from hpobench.errors import ConfigError

#: config keys that decide a run's rows (everything else: where and how it runs)
RESULT_KEYS = ("benchmark", "method", "seed", "budget", "reuse")
#: keys of a config group that only name or describe it
_LABEL_KEYS = ("label", "description")


def identity(benchmark, optimizer, *, method_name: str, seed: int, budget: float,
             reuse: bool, config: Optional[dict] = None, budget_scale: float = 1) -> dict:
    """The settings that make a run what it is, as plain JSON values."""
    out: dict[str, Any] = {
        "benchmark": benchmark.name, "benchmark_settings": benchmark.settings(),
        "method": method_name, "method_settings": optimizer.settings(),
        "seed": seed, "budget": budget, "reuse": reuse,
    }
    if budget_scale != 1:  # (absent when 1, so runs recorded before it are the same runs)
        out["budget_scale"] = budget_scale
    if config is not None:
        out["config"] = {k: _without_labels(config[k]) for k in RESULT_KEYS if k in config}
    # plain JSON values, in their own order (a space's parameters are ordered)
    return json.loads(json.dumps(out, default=res.json_default))


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


class RunDirectory:
    """One run's directory (``path`` None: a run kept in memory): the identity check,
    the lock, the recorded rows and ``run.json``, in the order a run needs them.

    ``finished()`` (before anything is written), then ``lock()``, ``open()``, any number
    of ``record()``, and ``close()`` (always, in a ``finally``).
    """

    def __init__(self, path, settings: dict, meta: dict, compact_every: int = 2000):
        self.path = Path(path).resolve() if path is not None else None
        self.settings = settings
        #: run.json's fields other than the loop's progress and the times
        self.meta = meta
        self.recorder = res.Recorder(self.path, compact_every=compact_every)
        self.started = datetime.now(timezone.utc).isoformat()
        self._lock = None
        self._opened = False

    def finished(self) -> Optional[tuple[list[dict], dict]]:
        """Refuse a directory holding a run with other settings (nothing written yet);
        for a complete run, ``(its rows, its run.json)``; else None."""
        if self.path is None:
            return None
        previous = read(self.path)
        check_same_run(self.path, previous, self.settings)
        if previous.get("status") not in ("complete", "finished"):
            return None
        rows = res.Recorder(self.path).load_existing()
        if len(rows) != previous.get("n_evaluations"):  # never "complete: 0 evaluations"
            raise ConfigError(
                f"{self.path}: run.json says the run is complete with "
                f"{previous.get('n_evaluations')} evaluations but {res.TABLE} holds "
                f"{len(rows) if (self.path / res.TABLE).exists() else 'none (missing)'}; "
                "restore it, or remove the directory to run again")
        print(f"hpobench: {self.path} is complete ({len(rows)} evaluations); nothing to do",
              file=sys.stderr)
        return rows, previous

    def lock(self) -> None:
        """Create the directory and take its lock (one writer at a time)."""
        if self.path is not None:
            self.path.mkdir(parents=True, exist_ok=True)
            self._lock = res.Lock(self.path).acquire()

    def open(self) -> tuple[list[dict], dict]:
        """The rows recorded so far and, when there are some, run.json as it was (read
        again, and its settings checked again, now that the lock is held)."""
        rows = self.recorder.load_existing()
        self.recorder.open(rows)
        self._opened = True
        previous: dict = {}
        if rows:
            previous = read(self.path)
            check_same_run(self.path, previous, self.settings)
        return rows, previous

    def record(self, status: str, progress: dict, ended: Optional[str] = None,
               durable: bool = True) -> None:
        """Write run.json: :attr:`meta`, the status and times, and the loop's
        ``progress`` (``durable=False`` for an interim "running" record)."""
        write(self.path, {**self.meta, "status": status, "started": self.started,
                          "ended": ended, **progress}, durable=durable)

    def close(self, status: str, progress: dict, on_complete=lambda: None) -> None:
        """Compact the rows (only if they were read: never overwrite a table we failed
        to read), write the final run.json, run ``on_complete`` for a complete run (e.g.
        drop its checkpoints), then release the lock."""
        try:
            if self._opened:
                self.recorder.compact()
            complete = status in ("complete", "finished")
            self.record(status, progress, ended=datetime.now(timezone.utc).isoformat())
            self.recorder.close(remove_journal=complete)
            if complete:
                on_complete()
        finally:
            if self._lock is not None:
                self._lock.release()


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
