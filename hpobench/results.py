"""Tidy, append-only run records: one row per evaluation, crash-safe.

A run directory holds

* ``evaluations.jsonl``: the journal, one JSON object per line, appended and flushed
  per evaluation, or per batch of evaluations the run loop commits together (a SIGKILL
  loses at most the lines being written; a torn last line is ignored);
* ``evaluations.parquet``: the same rows as a table, rewritten by atomic rename when the
  journal is compacted (every ``compact_every`` rows and at the end), so readers never
  see a torn file;
* ``run.json``: metadata (resolved config, seed, versions, times, status, incumbent),
  also written by atomic rename;
* ``.lock``: owner host and pid while a process runs in the directory.

Files are created with the permissions the umask allows (as ``open`` would, not
``mkstemp``'s 0600), so collaborators on a shared file system can read them; no file is
written through a symbolic link: new files are created exclusively and renamed into
place, and files opened in place (the lock, the journal) are opened with ``O_NOFOLLOW``.

Pandas reads the Parquet file without this package: ``pd.read_parquet(path)``.
"""
from __future__ import annotations

import functools
import json
import math
import os
import signal
import socket
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable, Optional

from hpobench.errors import ConfigError
from hpobench.tables import COLUMNS, rows_to_frame, rows_to_table  # noqa: F401 - COLUMNS is read from here too

JOURNAL = "evaluations.jsonl"
TABLE = "evaluations.parquet"
RUN_JSON = "run.json"
LOCK = ".lock"

#: Columns that depend on when things ran, so they differ between otherwise identical
#: runs: times, and ``submitted`` (jobs handed out when the row was recorded: how far a
#: parallel executor had run ahead; the run loop replays it on resume).
TIMING_COLUMNS = ("wall_time", "optimizer_time", "elapsed", "submitted")


def fault_point(point: str, before=None) -> None:
    """Crash-test hook: with ``HPOBENCH_FAULT=<point>:<n>`` in the environment, the
    ``n``-th passage (1-based, counted per process) through ``point`` runs ``before()`` and
    then kills this process with SIGKILL, as ``kill -9`` would at that instant.

    Points: ``evaluate`` (serial executor: an evaluation ran, its result not yet told),
    ``submit`` (a job was just handed to the executor), ``commit`` (told to the method,
    not yet recorded), ``append`` (half a journal line written), ``compact`` (the new
    Parquet file written, not yet renamed into place).  Unset, this costs one dict
    lookup.  Example: ``HPOBENCH_FAULT=append:7 python -m runners.sweep ...``.
    """
    if not _FAULT_SPEC:
        return
    name, _, n = _FAULT_SPEC.partition(":")
    if name != point:
        return
    _FAULT_COUNTS[point] = _FAULT_COUNTS.get(point, 0) + 1
    if _FAULT_COUNTS[point] == int(n or 1):
        if before is not None:
            before()
        os.kill(os.getpid(), signal.SIGKILL)


_FAULT_COUNTS: dict = {}
#: read once, when this module is imported (crash tests start a new process): the run
#: loop passes a fault point four times per evaluation, and os.environ.get costs ~2 us
_FAULT_SPEC = os.environ.get("HPOBENCH_FAULT", "")


def umask() -> int:
    """This process's umask, read without changing it (``/proc``), else by setting it back."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def temp_file(directory: Path, prefix: str) -> tuple[int, str]:
    """A new, exclusively created file in ``directory`` (``mkstemp``: never a link) with
    the permissions the umask allows rather than ``mkstemp``'s 0600: ``(fd, path)``."""
    fd, tmp = tempfile.mkstemp(prefix=prefix, dir=directory)
    try:
        os.fchmod(fd, 0o666 & ~umask())
    except OSError:  # a file system without permissions (some network mounts): keep 0600
        pass
    return fd, tmp


def open_in_place(path: Path, flags: int, mode: int = 0o666) -> int:
    """``os.open`` that refuses a symbolic link as the last component (``O_NOFOLLOW``):
    a planted link never makes the run truncate or append to another file."""
    try:
        return os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    except OSError as e:
        import errno

        if e.errno == errno.ELOOP:
            raise ConfigError(f"{path} is a symbolic link; hpobench never writes through a "
                              "link: remove it") from None
        raise


def atomic_write(path: Path, data: bytes, fault: str = "", durable: bool = True) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never a mix.

    ``durable``: also ``fsync`` before the rename, so the new file survives a power loss
    or a kernel crash.  A killed *process* loses nothing either way (its writes are in the
    OS's buffers), so files that are rewritten later anyway skip the fsync.
    """
    path = Path(path)
    fd, tmp = temp_file(path.parent, f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            if durable:
                os.fsync(f.fileno())
        if fault:
            fault_point(fault)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_json(path: Path, obj: Any, durable: bool = True) -> None:
    atomic_write(path, (json.dumps(obj, indent=2, default=json_default) + "\n").encode(),
                 durable=durable)


def json_default(o: Any):
    if hasattr(o, "item"):  # numpy scalars
        return o.item()
    if hasattr(o, "tolist"):
        return o.tolist()
    return str(o)


#: fields every recorded row has (a journal line without them is not a row of this run)
ROW_KEYS = ("trial_id", "job_id", "resource", "resource_spent", "total_resource", "val_loss",
            "test_loss", "status")


def read_journal(path: Path) -> list[dict]:
    """Rows of a journal; a torn last line (killed while writing) is ignored.

    Lines are only ever appended, so only the last one can be torn.  A damaged line
    anywhere else (not JSON, JSON but not an object, an object without the fields of a
    row) means the file was altered: a one-line :class:`ConfigError` naming the line,
    rather than silently dropping the rows after it.
    """
    rows = []
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        return rows
    lines = [line for line in data.split(b"\n") if line.strip()]
    for i, line in enumerate(lines):
        problem = None
        try:
            row = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            problem = "is not JSON"
        else:
            if not isinstance(row, dict):
                problem = f"is JSON {type(row).__name__}, not an object"
            elif any(k not in row for k in ROW_KEYS):
                problem = f"lacks {[k for k in ROW_KEYS if k not in row]}"
        if problem is None:
            rows.append(row)
        elif i == len(lines) - 1 and not data.endswith(b"\n"):
            break  # the torn last line of a killed write
        else:
            raise ConfigError(f"{path}: line {i + 1} {problem}; the journal was altered: "
                              "restore it, or remove the run directory to run again")
    return rows


def read_table(path: Path) -> list[dict]:
    """Rows of an ``evaluations.parquet``; an unreadable one (truncated, not Parquet) is a
    one-line :class:`ConfigError`, never a traceback."""
    import pandas as pd

    try:
        frame = pd.read_parquet(path)
    except Exception as e:  # noqa: BLE001 - pyarrow raises ArrowInvalid, OSError, ...
        raise ConfigError(f"{path}: unreadable ({type(e).__name__}: {str(e)[:120]}); restore "
                          "it, or remove the run directory to run again") from None
    missing = [k for k in ROW_KEYS if k not in frame.columns]
    if missing:
        raise ConfigError(f"{path}: not a table of evaluations (no {missing}); restore it, "
                          "or remove the run directory to run again")
    return [_from_pandas(r) for r in frame.to_dict("records")]


class Lock:
    """At most one writer per run directory: a lock file naming its owner (host, pid).

    The owner holds a POSIX record lock (``fcntl.lockf``) on the file while it runs, so
    the kernel (or the NFS lock manager) drops the lock the instant the owner dies, even
    by ``kill -9``; record locks are per process, so worker processes forked by the run
    never inherit it.  A second process that finds the file

    * locked: refuses with the owner's host and pid (two jobs must not write one run);
    * unlocked but naming an owner: that owner died without cleaning up; the stale lock
      is reported on stderr (and kept in :attr:`stale_from`) and taken over.

    Where the file system cannot lock at all, the owner's pid decides: alive on this
    host, or on another host (cannot tell), means in use.

    Example::

        >>> lock = Lock(run_dir).acquire()   # doctest: +SKIP
        >>> lock.release()                   # doctest: +SKIP
    """

    _held: set = set()  # lock paths this process holds (record locks do not exclude it)

    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / LOCK
        self.stale_from: Optional[dict] = None
        self._fd: Optional[int] = None
        self._key = ""

    def acquire(self) -> "Lock":
        import errno
        import fcntl

        key = self._key = str(self.path.resolve())
        if key in Lock._held:
            self._refuse({"host": socket.gethostname(), "pid": os.getpid()})
        for _ in range(20):
            fd = open_in_place(self.path, os.O_CREAT | os.O_RDWR, 0o644)
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                can_lock = True
            except OSError as e:
                owner = _read_owner(fd)
                if e.errno in (errno.EACCES, errno.EAGAIN):
                    os.close(fd)
                    self._refuse(owner)
                can_lock = False  # ENOLCK and friends: no locking here; the pid decides
                if owner and _alive(owner):
                    os.close(fd)
                    self._refuse(owner)
            # the file we locked may have been unlinked by its previous owner's release
            # between our open and our lock: then start again on the new file
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except FileNotFoundError:
                same = False
            if not same:
                os.close(fd)
                continue
            owner = _read_owner(fd)
            if owner:
                self.stale_from = owner
                print(f"hpobench: stale lock in {self.path.parent} from pid {owner.get('pid')} "
                      f"on {owner.get('host')}: that process is gone; taking over",
                      file=sys.stderr)
            me = {"host": socket.gethostname(), "pid": os.getpid(), "since": time.time(),
                  "locked": can_lock}
            os.ftruncate(fd, 0)
            # no fsync: the owner record only matters while this process lives
            os.pwrite(fd, json.dumps(me).encode(), 0)
            self._fd = fd
            Lock._held.add(key)
            return self
        raise ConfigError(f"could not take the lock {self.path}")

    def _refuse(self, owner: Optional[dict]):
        owner = owner or {}
        raise ConfigError(
            f"run directory {self.path.parent} is in use by pid {owner.get('pid', '?')} on "
            f"{owner.get('host', '?')} (lock {self.path}); two jobs must not write one run")

    def release(self) -> None:
        if self._fd is None:
            return
        try:  # unlink while still holding the lock, so no one locks a file about to vanish
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        os.close(self._fd)
        self._fd = None
        Lock._held.discard(self._key)


def _read_owner(fd: int) -> Optional[dict]:
    """The lock file's owner record, read through ``fd`` (closing another descriptor of
    the file would drop this process's record lock)."""
    try:
        owner = json.loads(os.pread(fd, 4096, 0) or b"null")
    except (OSError, ValueError):
        return None
    return owner if isinstance(owner, dict) else None


def _alive(owner: dict) -> bool:
    """Whether ``owner`` may still run: a live pid here, or any pid on another host."""
    if owner.get("host") != socket.gethostname():
        return True
    pid = owner.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is dead for our purposes
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


class Recorder:
    """Appends rows to the journal and compacts them to Parquet.

    Rows are kept in memory as plain dicts (no per-evaluation DataFrame); the journal
    write is one ``write`` + ``flush`` per batch of rows (:meth:`append_many`).
    """

    def __init__(self, run_dir: Optional[Path], compact_every: int = 2000):
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.rows: list[dict] = []
        self.compact_every = compact_every
        self._since_compact = 0
        self._fh = None
        if self.run_dir is not None:
            self.run_dir.mkdir(parents=True, exist_ok=True)

    def load_existing(self) -> list[dict]:
        """Rows a previous (interrupted) process wrote: the journal, else the Parquet table."""
        if self.run_dir is None:
            return []
        rows = read_journal(self.run_dir / JOURNAL)
        table = self.run_dir / TABLE
        if not rows and table.exists():
            rows = read_table(table)
        return rows

    def open(self, existing: list[dict]) -> None:
        self.rows = list(existing)
        if self.run_dir is not None:
            # temporary files of an atomic write that a kill interrupted (we hold the lock)
            for name in (JOURNAL, TABLE, RUN_JSON):
                for tmp in self.run_dir.glob(f".{name}.*"):
                    tmp.unlink(missing_ok=True)
            # rewrite the journal from the rows we trust (drops a torn tail line)
            # (no fsync: the journal is flushed, not fsynced, per row anyway)
            atomic_write(self.run_dir / JOURNAL,
                         b"".join(_line(r) for r in self.rows), durable=False)
            self._fh = os.fdopen(open_in_place(self.run_dir / JOURNAL,
                                               os.O_WRONLY | os.O_APPEND | os.O_CREAT), "ab")

    def append(self, row: dict) -> None:
        self.append_many([row])

    def append_many(self, rows: list[dict]) -> None:
        """Record ``rows``: one journal ``write`` + ``flush`` for all of them."""
        self.rows.extend(rows)
        if self._fh is None:
            return
        lines = [_line(r) for r in rows]
        if _FAULT_SPEC:  # the crash-test hook passes once per row, as if written one by one
            for i, line in enumerate(lines):
                torn = b"".join(lines[:i]) + line[:len(line) // 2]
                fault_point("append", lambda: self._write(torn))
        self._write(b"".join(lines))
        self._since_compact += len(rows)
        if self._since_compact >= self.compact_every:
            self.compact()

    def _write(self, data: bytes) -> None:
        self._fh.write(data)
        self._fh.flush()

    def compact(self) -> None:
        if self.run_dir is None:
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        buf = pa.BufferOutputStream()
        pq.write_table(rows_to_table(self.rows), buf)
        atomic_write(self.run_dir / TABLE, buf.getvalue().to_pybytes(), fault="compact")
        self._since_compact = 0

    def frame(self):
        return rows_to_frame(self.rows)

    def close(self, remove_journal: bool = False) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        if remove_journal and self.run_dir is not None:
            try:
                os.unlink(self.run_dir / JOURNAL)
            except FileNotFoundError:
                pass


#: one encoder for every journal line (``json.dumps(row, default=...)`` builds one per call)
_ENCODER = json.JSONEncoder(default=json_default, allow_nan=True)


def _line(row: dict) -> bytes:
    return (_ENCODER.encode(row) + "\n").encode()


def _from_pandas(r: dict) -> dict:
    out = {}
    for k, v in r.items():
        if v is None or (isinstance(v, float) and math.isnan(v) and k in ("iteration", "bracket", "rung")):
            out[k] = None
        elif hasattr(v, "item"):
            out[k] = v.item()
        elif str(v) == "<NA>":
            out[k] = None
        else:
            out[k] = v
    return out


def versions(extra: Iterable[str] = ()) -> dict:
    """Versions of Python and of the packages that shape results (looked up once per
    process: reading package metadata costs ~15 ms, more than a whole synthetic run)."""
    return dict(_versions(tuple(extra)))


@functools.lru_cache(maxsize=None)
def _versions(extra: tuple) -> dict:
    out = {"python": sys.version.split()[0]}
    for pkg in ("hpobench", "numpy", "pandas", "pyarrow", "hydra-core", "omegaconf", "optuna",
                "scikit-optimize", "scikit-learn", "torch", *extra):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    return out
