"""Run directories from config values, kept inside ``results_dir``.

A run's directory is built from config values (``benchmark.name``, ``method.name``, the
overrides, the seed).  Any of them could hold ``..`` or ``/`` and move the run elsewhere,
so:

* :func:`part` turns a value into ONE path component that cannot climb or nest
  (``/``, ``\\``, NUL and ``%`` are percent-encoded; ``.`` and ``..`` are encoded too).
  ``conf/config.yaml`` builds ``hydra.run.dir`` / ``hydra.sweep.subdir`` through it, so
  Hydra never creates a directory outside ``results_dir`` even before hpobench runs;
* ``runners.sweep`` rejects a benchmark or method name that is not a plain name
  (:func:`hpobench.validate.name`) and checks the final directory lies under
  ``results_dir`` (:func:`hpobench.validate.path_under`), unless the user set
  ``hydra.run.dir`` or ``hydra.sweep.*`` explicitly (:func:`explicit_dir`): then the user
  chose the place;
* :func:`check_creatable` and the Hydra callback :class:`RunDirCheck` turn a
  ``results_dir`` that is a file, read-only or too long into one line and exit 2 before
  Hydra creates any directory (Hydra's own ``mkdir`` would print an ``OSError``
  traceback).

Example::

    >>> part("../../etc"), part(".."), part("seed=3")
    ('..%2F..%2Fetc', '%2E%2E', 'seed=3')
"""
from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

from hpobench.errors import ConfigError

#: characters that would split, climb out of or truncate a path component
_ESCAPES = {"%": "%25", "/": "%2F", "\\": "%5C", "\0": "%00"}
#: overrides that choose the directory themselves: then it may lie anywhere
EXPLICIT_DIR_KEYS = ("hydra.run.dir", "hydra.sweep.dir", "hydra.sweep.subdir")


#: longest path component written (file systems allow 255 bytes): longer ones are cut,
#: and a hash of the whole keeps them distinct
MAX_PART = 200


def part(value) -> str:
    """``value`` as one safe path component (never empty, ``.`` or ``..``, never nested,
    never longer than :data:`MAX_PART` bytes)."""
    s = "".join(_ESCAPES.get(c, c) for c in str(value))
    if s in ("", ".", ".."):
        s = "%2E" * len(s) or "%00"
    if len(s.encode()) > MAX_PART:
        digest = hashlib.sha256(s.encode()).hexdigest()[:16]
        s = s.encode()[: MAX_PART - 20].decode(errors="ignore") + "..." + digest
    return s


def explicit_dir(hydra_overrides) -> bool:
    """Whether the command line chose the run directory itself (``hydra.run.dir=...``)."""
    return any(str(o).split("=", 1)[0].lstrip("+~") in EXPLICIT_DIR_KEYS
               for o in hydra_overrides)


def check_creatable(path: str | os.PathLike, field: str) -> None:
    """A :class:`ConfigError` naming ``field`` unless a folder can be created at ``path``:
    no part too long for the file system, no file in the way, and the nearest existing
    folder writable."""
    p = Path(os.path.abspath(path))
    name_max = _pathconf(p, "PC_NAME_MAX", 255)
    for comp in p.parts:
        if len(os.fsencode(comp)) > name_max:
            raise ConfigError(f"{field}: the folder name {comp[:30]!r}... is "
                              f"{len(os.fsencode(comp))} bytes long; the file system allows "
                              f"{name_max}")
    path_max = _pathconf(p, "PC_PATH_MAX", 4096)
    if len(os.fsencode(str(p))) + 256 > path_max:  # room for the run's own subfolders
        raise ConfigError(f"{field}: the path is {len(os.fsencode(str(p)))} bytes long; the "
                          f"file system allows {path_max} in all, and runs add folders to it")
    q = p
    while not os.path.lexists(q) and q != q.parent:
        q = q.parent
    if not q.is_dir():
        raise ConfigError(f"{field}: {q} is a file, not a folder")
    if not os.access(q, os.W_OK | os.X_OK):
        raise ConfigError(f"{field}: {q} is not writable (read-only file system or no "
                          "permission)")


def make_root(path: str | os.PathLike, field: str) -> None:
    """Create the folder ``path`` (and its parents) or say in one line why it cannot be."""
    check_creatable(path, field)
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"{field}: cannot create {os.path.abspath(path)}: "
                          f"{e.strerror or e}") from None


def _pathconf(p: Path, name: str, default: int) -> int:
    q = p
    while not os.path.lexists(q) and q != q.parent:
        q = q.parent
    try:
        return int(os.pathconf(q, name))
    except (OSError, ValueError):
        return default


#: set once Hydra composed the configuration of a run (so a later exit 1 is not a usage
#: error); runners.sweep also sets it when a job of a multirun starts in this process
COMPOSED = False


def _preflight(cfg, key: str) -> None:
    from omegaconf import OmegaConf

    global COMPOSED
    COMPOSED = key == "hydra.run.dir"
    explicit = explicit_dir(OmegaConf.select(cfg, "hydra.overrides.hydra") or [])
    try:
        target = OmegaConf.select(cfg, key)
    except Exception:  # noqa: BLE001 - Hydra reports its own interpolation errors
        return
    try:
        if not explicit:
            make_root(OmegaConf.select(cfg, "results_dir"), "results_dir")
        check_creatable(target, key if explicit else "results_dir")
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)


try:
    from hydra.experimental.callback import Callback as _Callback
except ImportError:  # pragma: no cover - hydra is a dependency
    _Callback = object


class RunDirCheck(_Callback):
    """Hydra callback (``conf/config.yaml``: ``hydra.callbacks``): checks the run or sweep
    directory can be created before Hydra tries, so a bad ``results_dir`` is one line and
    exit 2 rather than an ``OSError`` traceback."""

    def on_run_start(self, config, **kwargs) -> None:
        _preflight(config, "hydra.run.dir")

    def on_multirun_start(self, config, **kwargs) -> None:
        _preflight(config, "hydra.sweep.dir")
