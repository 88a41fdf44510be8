"""Where a promoted configuration's checkpoint waits for its next rung.

:class:`MemoryStore` keeps checkpoints in this process (the default, and all a cheap
benchmark needs: the envelope's checkpoint is just ``t`` and can be rebuilt on resume).
:class:`DiskStore` keeps them as files in ``<run_dir>/checkpoints/`` so a killed run can
resume training where it stopped (benchmarks with ``persist_checkpoints = True``, e.g.
LeNet).  Either way a checkpoint is deleted as soon as its configuration is discarded,
so memory and disk use stay bounded by the configurations still alive.

A checkpoint file is never trusted to run code: the default format is a pickle read
back by a restricted unpickler that builds only plain Python containers and scalars and
NumPy arrays (any other class, e.g. one planted to run ``os.system``, is refused), and
LeNet's torch state is read with ``torch.load(weights_only=True)``.  A file that cannot be
read that way (garbled, truncated, foreign) is treated as missing: :meth:`DiskStore.get`
warns on stderr, remembers the trial in :attr:`DiskStore.unreadable`, and the run loop
retrains that configuration from scratch.
"""
from __future__ import annotations

import os
import pickle
import shutil
import sys
from pathlib import Path
from typing import Any, Optional

from hpobench.errors import ConfigError
from hpobench.results import temp_file


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
    (LeNet uses ``torch.save``/``torch.load(weights_only=True)``); the default writes a
    pickle and reads it with :func:`safe_load` (containers, scalars and NumPy arrays only).
    """

    def __init__(self, directory: Path, benchmark=None):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        if self.dir.is_symlink() or not self.dir.is_dir():
            raise ConfigError(f"run directory: {self.dir} is a symbolic link or not a folder; "
                              "checkpoints are never written through a link")
        #: trial ids whose checkpoint file could not be read (treated as missing)
        self.unreadable: list[int] = []
        for tmp in self.dir.glob(".tmp-*"):  # a put that a kill interrupted (we hold the run's lock)
            tmp.unlink(missing_ok=True)
        self._save = getattr(benchmark, "save_checkpoint", None) or _pickle_save
        self._load = getattr(benchmark, "load_checkpoint", None) or safe_load

    def _path(self, trial_id: int) -> Path:
        return self.dir / f"trial-{int(trial_id)}.ckpt"

    def put(self, trial_id, checkpoint):
        fd, tmp = temp_file(self.dir, ".tmp-")
        os.close(fd)
        try:
            self._save(checkpoint, tmp)
            os.replace(tmp, self._path(trial_id))
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def get(self, trial_id):
        """The checkpoint of ``trial_id``, or None when it is missing or unreadable."""
        p = self._path(trial_id)
        if not p.exists():
            return None
        try:
            return self._load(p)
        except Exception as e:  # noqa: BLE001 - a foreign or garbled file is not a checkpoint
            self.unreadable.append(int(trial_id))
            print(f"hpobench: warning: checkpoint {p} is unreadable ({type(e).__name__}: "
                  f"{str(e)[:200]}); treating it as missing", file=sys.stderr)
            return None

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


#: the only globals a checkpoint pickle may name: plain containers and scalars, NumPy
#: arrays, scalars and dtypes (none of them runs code given attacker-chosen arguments)
_SAFE_GLOBALS = {
    "builtins": {"set", "frozenset", "complex", "slice", "range", "bytearray", "int", "float",
                 "str", "bytes", "bool", "dict", "list", "tuple"},
    "collections": {"OrderedDict"},
    "numpy": {"ndarray", "dtype"},
    "numpy._core.multiarray": {"_reconstruct", "scalar"},
    "numpy.core.multiarray": {"_reconstruct", "scalar"},
    "numpy._core.numeric": {"_frombuffer"},
    "numpy.core.numeric": {"_frombuffer"},
}


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if name in _SAFE_GLOBALS.get(module, ()) or (
                module == "numpy.dtypes" and name.endswith("DType")):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refused to load {module}.{name} from a checkpoint "
                                     "(only containers, numbers, strings and NumPy arrays)")


def safe_load(path) -> Any:
    """Read a pickle written by :func:`_pickle_save` without running code from it."""
    with open(path, "rb") as f:
        return _SafeUnpickler(f).load()
