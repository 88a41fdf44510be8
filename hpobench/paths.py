"""Run directories from config values, kept inside ``results_dir``.

A run's directory is built from config values (``benchmark.name``, ``method.name``, the
overrides, the seed).  Any of them could hold ``..`` or ``/`` and move the run elsewhere,
so:

* :func:`part` turns a value into ONE path component that cannot climb or nest
  (``/``, ``\\``, NUL and ``%`` are percent-encoded; ``.`` and ``..`` are encoded too).
  ``conf/config.yaml`` builds ``hydra.run.dir`` / ``hydra.sweep.subdir`` through it, so
  Hydra never creates a directory outside ``results_dir`` even before hpobench runs;
* :func:`check_name` rejects a benchmark or method name that is not a plain name
  (one line naming the field);
* :func:`check_under` checks the final directory lies under ``results_dir`` (skipped
  when the user set ``hydra.run.dir`` or ``hydra.sweep.*`` explicitly: then the user
  chose the place).

Example::

    >>> part("../../etc"), part(".."), part("seed=3")
    ('..%2F..%2Fetc', '%2E%2E', 'seed=3')
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from hpobench.errors import ConfigError

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+=,@-]*")
#: characters that would split, climb out of or truncate a path component
_ESCAPES = {"%": "%25", "/": "%2F", "\\": "%5C", "\0": "%00"}
#: overrides that choose the directory themselves: then it may lie anywhere
EXPLICIT_DIR_KEYS = ("hydra.run.dir", "hydra.sweep.dir", "hydra.sweep.subdir")


def part(value) -> str:
    """``value`` as one safe path component (never empty, ``.`` or ``..``, never nested)."""
    s = "".join(_ESCAPES.get(c, c) for c in str(value))
    if s in ("", ".", ".."):
        s = "%2E" * len(s) or "%00"
    return s


def check_name(field: str, value) -> str:
    """``value`` if it is a plain name (letters, digits, ``_ . + = , @ -``, not starting
    with a dot), else a :class:`ConfigError` naming ``field``."""
    if not isinstance(value, str) or not _NAME.fullmatch(value) or len(value) > 100:
        raise ConfigError(f"{field}: must be a plain name of letters, digits and _ . + = , @ - "
                          f"(not starting with '.', at most 100 characters), got {value!r}")
    return value


def check_under(run_dir: str | os.PathLike, results_dir: str | os.PathLike) -> Path:
    """The resolved ``run_dir``, if it lies under the resolved ``results_dir``."""
    run, root = Path(run_dir).resolve(), Path(results_dir).resolve()
    if run != root and root not in run.parents:
        raise ConfigError(f"results_dir: the run directory {run} lies outside results_dir "
                          f"{root}; set hydra.run.dir explicitly to write elsewhere")
    return run


def explicit_dir(hydra_overrides) -> bool:
    """Whether the command line chose the run directory itself (``hydra.run.dir=...``)."""
    return any(str(o).split("=", 1)[0].lstrip("+~") in EXPLICIT_DIR_KEYS
               for o in hydra_overrides)
