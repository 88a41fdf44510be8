"""Where a promoted configuration's checkpoint waits for its next rung.

:class:`MemoryStore` keeps checkpoints in this process (the default, and all a cheap
benchmark needs: the envelope's checkpoint is just ``t`` and can be rebuilt on resume).
:class:`DiskStore` keeps them as files in ``<run_dir>/checkpoints/`` so a killed run can
resume training where it stopped (benchmarks with ``persist_checkpoints = True``, e.g.
LeNet).  Either way a checkpoint is deleted as soon as its configuration is discarded,
so memory and disk use stay bounded by the configurations still alive.
"""
from __future__ import annotations

import os
import pickle
import shutil
import tempfile
from pathlib import Path
from typing import Any, Optional


class CheckpointStore:
    """Interface: ``put``, ``get`` (or None), ``delete``, ``clear``."""

    @staticmethod
    def for_benchmark(benchmark, run_dir: Optional[Path]) -> "CheckpointStore":
        if run_dir is not None and getattr(benchmark, "persist_checkpoints", False):
            return DiskStore(Path(run_dir) / "checkpoints", benchmark)
        return MemoryStore()

    def put(self, trial_id: int, checkpoint: Any) -> None: ...
    def get(self, trial_id: int) -> Optional[Any]: ...
    def delete(self, trial_id: int) -> None: ...
    def clear(self) -> None: ...


class MemoryStore(CheckpointStore):
    def __init__(self) -> None:
        self._d: dict[int, Any] = {}

    def put(self, trial_id, checkpoint):
        self._d[trial_id] = checkpoint

    def get(self, trial_id):
        return self._d.get(trial_id)

    def delete(self, trial_id):
        self._d.pop(trial_id, None)

    def clear(self):
        self._d.clear()

    def __len__(self) -> int:
        return len(self._d)


class DiskStore(CheckpointStore):
    """One file per live trial, written by atomic rename (a kill never leaves half a file).

    The benchmark may define ``save_checkpoint(obj, path)`` / ``load_checkpoint(path)``
    (LeNet uses ``torch.save``/``torch.load(weights_only=True)``); the default is pickle of
    this run's own files.
    """

    def __init__(self, directory: Path, benchmark=None):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        for tmp in self.dir.glob(".tmp-*"):  # a put that a kill interrupted (we hold the run's lock)
            tmp.unlink(missing_ok=True)
        self._save = getattr(benchmark, "save_checkpoint", None) or _pickle_save
        self._load = getattr(benchmark, "load_checkpoint", None) or _pickle_load

    def _path(self, trial_id: int) -> Path:
        return self.dir / f"trial-{int(trial_id)}.ckpt"

    def put(self, trial_id, checkpoint):
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=self.dir)
        os.close(fd)
        try:
            self._save(checkpoint, tmp)
            os.replace(tmp, self._path(trial_id))
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def get(self, trial_id):
        p = self._path(trial_id)
        return self._load(p) if p.exists() else None

    def delete(self, trial_id):
        try:
            os.unlink(self._path(trial_id))
        except FileNotFoundError:
            pass

    def clear(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def __len__(self) -> int:
        return sum(1 for _ in self.dir.glob("trial-*.ckpt"))


def _pickle_save(obj, path):
    with open(path, "wb") as f:
        pickle.dump(obj, f, protocol=pickle.HIGHEST_PROTOCOL)


def _pickle_load(path):
    with open(path, "rb") as f:
        return pickle.load(f)
