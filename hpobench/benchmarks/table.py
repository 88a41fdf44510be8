"""Learning-curve tables: record once, replay at look-up cost (``benchmark=table``).

A table is a Parquet file with one row per (configuration, resource[, replicate]):
``config.<name>`` columns, ``resource``, ``val_loss``, ``test_loss`` and ``runtime``
(seconds of training from the previous recorded resource of that configuration to this
one), optionally ``replicate`` (0, 1, ...) and ``seed`` (the seed it was recorded with).
Its metadata (the search space, R, the unit, what recorded it) is JSON under the key
``hpobench.table`` of the Parquet schema metadata, or a sidecar ``<stem>.json`` next to
the file.  The format is documented in ``hpobench/docs/tables.md``; pandas alone reads it.

:class:`TableBenchmark` answers ``evaluate(config, resource, seed, resume_from)`` from the
table: the recorded configuration nearest to ``config`` in the unit cube (the exact one
when ``config`` is recorded), replicate ``seed % replicates``, and the losses at
``resource``, which must lie on the table's grid.  ``info.table_config`` (the
configuration's index in the table) and ``info.table_distance`` say which row answered;
``info.runtime`` is the recorded training time of the job (the sum of ``runtime`` from
the checkpoint's resource to ``resource``), which the simulated executor puts on its clock.

Files are read with pyarrow only (no pickle, no pandas objects rebuilt from metadata).
Every defect of a table is a :class:`~hpobench.errors.ConfigError` naming it.

Example::

    >>> import numpy as np
    >>> from hpobench.space import SearchSpace, Float
    >>> t = LearningCurveTable.from_columns(
    ...     SearchSpace([Float("x", 0.0, 1.0)]),
    ...     {"config.x": [0.2, 0.2, 0.8, 0.8], "resource": [1, 3, 1, 3],
    ...      "val_loss": [0.5, 0.4, 0.6, 0.3], "test_loss": [0.5, 0.4, 0.6, 0.3],
    ...      "runtime": [1.0, 2.0, 1.0, 2.0]})
    >>> b = TableBenchmark(table=t)
    >>> ev = b.evaluate({"x": 0.75}, 3, seed=0)
    >>> ev.val_loss, ev.info["table_config"], ev.info["runtime"]
    (0.3, 1, 3.0)
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from hpobench.benchmarks.base import Benchmark
from hpobench import validate
from hpobench.errors import ConfigError
from hpobench.space import Categorical, Int, SearchSpace
from hpobench.trial import Evaluation

#: schema-metadata key of the table's metadata (JSON)
META_KEY = b"hpobench.table"
FORMAT = "hpobench.table/1"
REQUIRED = ("resource", "val_loss", "test_loss", "runtime")
#: tables shipped with the package, by name (``benchmark.path=envelope``)
SHIPPED_DIR = Path(__file__).resolve().parent / "recorded"


#: tables read in this process: (path, file identity, sidecar identity) -> table
_READ_CACHE: dict[tuple, "LearningCurveTable"] = {}


def _sidecar(path: Path) -> Path:
    """Where a table's metadata lives when its Parquet schema has none."""
    return path.with_suffix(".json")


def _identity(path: Path) -> Optional[bytes]:
    """A digest of the file's bytes (None: no such file): a rewritten file is read anew
    even when its size and modification time (coarse on some file systems) are not."""
    import hashlib

    try:
        return hashlib.blake2b(path.read_bytes(), digest_size=16).digest()
    except OSError:
        return None


def _typed(param, value: Any) -> Any:
    """A table cell as the Python value the space's parameter takes (None: not one)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(param, Categorical):
        return value
    if isinstance(value, (bool, str)):
        return None
    if isinstance(param, Int):
        return int(value) if float(value).is_integer() else None
    return float(value)


class LearningCurveTable:
    """A validated table: configurations, their unit-cube points, the grid, and arrays
    ``val``, ``test``, ``runtime`` of shape ``(configurations, replicates, grid)``."""

    def __init__(self, space: SearchSpace, configs: list[dict], grid: np.ndarray,
                 val: np.ndarray, test: np.ndarray, runtime: np.ndarray,
                 n_replicates: np.ndarray, meta: dict, seeds: Optional[np.ndarray] = None):
        self.space, self.configs, self.grid = space, configs, grid
        self.val, self.test, self.runtime = val, test, runtime
        self.n_replicates, self.meta, self.seeds = n_replicates, meta, seeds
        self.points = space.encode_many(configs) if configs else np.zeros((0, len(space)))
        self._index = {self.key(c): i for i, c in enumerate(configs)}

    def key(self, config: dict) -> tuple:
        return tuple(config[n] for n in self.space.names)

    @property
    def max_resource(self) -> float:
        return float(self.grid[-1])

    def nearest(self, config: dict) -> tuple[int, float]:
        """(index, unit-cube distance) of the recorded configuration nearest to ``config``;
        the first in table order among equally near ones; distance 0 when recorded."""
        try:
            i = self._index.get(self.key(config))
        except (KeyError, TypeError):
            i = None
        if i is not None:
            return i, 0.0
        d = np.sum((self.points - self.space.encode(config)) ** 2, axis=1)
        i = int(np.argmin(d))
        return i, float(math.sqrt(d[i]))

    # -- building and checking ---------------------------------------------------------
    @classmethod
    def from_columns(cls, space: SearchSpace, columns: dict, meta: Optional[dict] = None,
                     where: str = "table") -> "LearningCurveTable":
        """Validate ``columns`` (name -> list of values) against ``space``; every defect is
        a ConfigError starting with ``where``."""
        meta = dict(meta or {})
        names = [f"config.{n}" for n in space.names]
        for c in (*names, *REQUIRED):
            if c not in columns:
                raise ConfigError(f"{where}: missing column {c!r} (required: "
                                  f"{', '.join([*names, *REQUIRED])}; optional: replicate, seed)")
        n_rows = len(columns["resource"])
        if n_rows == 0:
            raise ConfigError(f"{where}: has no rows")
        num = {}
        for c in REQUIRED:
            try:
                num[c] = np.asarray([np.nan if v is None else v for v in columns[c]], float)
            except (TypeError, ValueError):
                raise ConfigError(f"{where}: column {c!r} must hold numbers") from None
        res, rt = num["resource"], num["runtime"]
        bad = np.flatnonzero(~np.isfinite(res) | (res <= 0))
        if bad.size:
            raise ConfigError(f"{where}: row {bad[0]} has resource {float(res[bad[0]])!r}; "
                              "resources must be finite numbers > 0")
        bad = np.flatnonzero(~np.isfinite(rt) | (rt < 0))
        if bad.size:
            raise ConfigError(f"{where}: row {bad[0]} has runtime {float(rt[bad[0]])!r}; "
                              "runtimes must be finite seconds >= 0")
        reps = _int_column(columns, "replicate", n_rows, where)
        seeds = _int_column(columns, "seed", n_rows, where) if "seed" in columns else None
        grid = np.unique(res)
        declared = meta.get("grid")
        if declared is not None:
            d = np.asarray(declared, float)
            if d.ndim != 1 or np.any(np.diff(d) <= 0):
                raise ConfigError(f"{where}: metadata grid {list(declared)} must be strictly "
                                  "increasing (sorted, no duplicates)")
            if not np.array_equal(d, grid):
                raise ConfigError(f"{where}: metadata grid {list(declared)} differs from the "
                                  f"resources in the rows {grid.tolist()}")
        R = meta.get("max_resource", grid[-1])
        if not (isinstance(R, (int, float)) and float(R) == grid[-1] and float(R).is_integer()):
            raise ConfigError(f"{where}: max_resource {R!r} must be an integer equal to the "
                              f"largest resource of the grid {grid.tolist()}")
        params = space.params
        cells = [columns[c] for c in names]
        index: dict[tuple, int] = {}
        configs: list[dict] = []
        row_of = np.empty(n_rows, dtype=np.int64)
        for r in range(n_rows):
            key = tuple(_typed(p, col[r]) for p, col in zip(params, cells))
            i = index.get(key)
            if i is None:
                cfg = dict(zip(space.names, key))
                if None in key or not space.contains(cfg):
                    raise ConfigError(f"{where}: row {r} has configuration {cfg}, which is not "
                                      f"in the space {space.to_list()}")
                i = index[key] = len(configs)
                configs.append(cfg)
            row_of[r] = i
        G, n = len(grid), len(configs)
        n_rep = np.zeros(n, dtype=np.int64)
        np.maximum.at(n_rep, row_of, reps + 1)
        shape = (n, int(n_rep.max()), G)
        val, test, runtime = (np.full(shape, np.nan) for _ in range(3))
        seen = np.zeros(shape, bool)
        last = np.full((n, shape[1]), -1)
        g_of = np.searchsorted(grid, res)
        seed_of = np.full(shape[:2], -1, dtype=np.int64) if seeds is not None else None
        for r in range(n_rows):
            i, k, g = row_of[r], reps[r], g_of[r]
            if seen[i, k, g]:
                raise ConfigError(f"{where}: duplicate row {r}: configuration {i} "
                                  f"{configs[i]} replicate {k} at resource {res[r]:g}")
            if g < last[i, k]:
                raise ConfigError(f"{where}: rows of configuration {i} {configs[i]} replicate "
                                  f"{k} are not sorted by resource (row {r}: {res[r]:g} after "
                                  f"{grid[last[i, k]]:g})")
            seen[i, k, g], last[i, k] = True, g
            val[i, k, g], test[i, k, g] = num["val_loss"][r], num["test_loss"][r]
            runtime[i, k, g] = rt[r]
            if seed_of is not None:
                seed_of[i, k] = seeds[r]
        for i in range(n):
            for k in range(n_rep[i]):
                missing = np.flatnonzero(~seen[i, k])
                if missing.size:
                    raise ConfigError(
                        f"{where}: configuration {i} {configs[i]} replicate {k} lacks "
                        f"resource(s) {grid[missing].tolist()} of the grid {grid.tolist()}")
        return cls(space, configs, grid, val, test, runtime, n_rep, meta, seed_of)

    @classmethod
    def read(cls, path: str | Path, where: str = "benchmark.path") -> "LearningCurveTable":
        """Read and validate a table file (Parquet, metadata in its schema or a sidecar).

        A table read before in this process, from a file with the same bytes (and the
        same sidecar), is returned from a small cache: a sweep of
        hundreds of short runs on one table in one process (Hydra's basic launcher) then
        validates it once.  The cached table's arrays are read-only."""
        path = Path(path)
        label = f"{where}: {path}"
        if path.suffix != ".parquet":
            raise ConfigError(f"{label}: a table is a .parquet file")
        if not path.is_file():
            raise ConfigError(f"{label}: no such file")
        key = (str(path.resolve()), _identity(path), _identity(_sidecar(path)))
        hit = _READ_CACHE.get(key)
        if hit is None:
            hit = cls._read(path, label)
            for a in (hit.val, hit.test, hit.runtime, hit.grid, hit.points, hit.n_replicates):
                a.setflags(write=False)
            _READ_CACHE[key] = hit
            while len(_READ_CACHE) > 8:
                _READ_CACHE.pop(next(iter(_READ_CACHE)))
        return hit

    @classmethod
    def _read(cls, path: Path, label: str) -> "LearningCurveTable":
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            t = pq.read_table(path)
        except (OSError, pa.ArrowException) as e:
            raise ConfigError(f"{label}: not a readable Parquet file ({e})") from None
        meta = _read_meta(t.schema.metadata or {}, path, label)
        spec = meta.get("space")
        if not isinstance(spec, (dict, list)) or not spec:
            raise ConfigError(f"{label}: metadata has no 'space' (a mapping like "
                              "{'lr': {'type': 'float', 'low': 0.001, 'high': 0.1, 'log': true}}, "
                              "or a list of such mappings with their 'name')")
        space = SearchSpace.from_dict(spec)
        columns = {name: t.column(name).to_pylist() for name in t.column_names
                   if name.startswith("config.") or name in (*REQUIRED, "replicate", "seed")}
        return cls.from_columns(space, columns, meta, label)

    def columns(self) -> dict:
        """The table as columns (the inverse of :meth:`from_columns`), rows sorted by
        configuration, replicate, resource."""
        cols: dict[str, list] = {f"config.{n}": [] for n in self.space.names}
        for c in ("replicate", *REQUIRED):
            cols[c] = []
        if self.seeds is not None:
            cols["seed"] = []
        for i, cfg in enumerate(self.configs):
            for k in range(int(self.n_replicates[i])):
                for g, r in enumerate(self.grid.tolist()):
                    for n in self.space.names:
                        cols[f"config.{n}"].append(cfg[n])
                    cols["replicate"].append(k)
                    cols["resource"].append(r)
                    cols["val_loss"].append(float(self.val[i, k, g]))
                    cols["test_loss"].append(float(self.test[i, k, g]))
                    cols["runtime"].append(float(self.runtime[i, k, g]))
                    if self.seeds is not None:
                        cols["seed"].append(int(self.seeds[i, k]))
        return cols

    def write(self, path: str | Path) -> Path:
        """Write as Parquet with the metadata in the schema (atomic rename, no symlink
        followed: the file is replaced, never written through)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        from hpobench.results import atomic_write

        meta = {"format": FORMAT, **self.meta, "space": self.space.to_list(),
                "max_resource": int(self.max_resource), "grid": self.grid.tolist()}
        table = pa.table(self.columns())
        table = table.replace_schema_metadata({META_KEY: json.dumps(meta).encode()})
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink, compression="zstd")
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, sink.getvalue().to_pybytes())
        return path


def _int_column(columns: dict, name: str, n_rows: int, where: str) -> np.ndarray:
    if name not in columns:
        return np.zeros(n_rows, dtype=np.int64)
    vals = columns[name]
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
               and float(v).is_integer() and v >= 0 for v in vals):
        raise ConfigError(f"{where}: column {name!r} must hold integers >= 0")
    return np.asarray(vals, dtype=np.int64)


def _read_meta(schema_meta: dict, path: Path, label: str) -> dict:
    raw = schema_meta.get(META_KEY)
    source = "schema metadata"
    if raw is None:
        sidecar = _sidecar(path)
        if not sidecar.is_file():
            raise ConfigError(f"{label}: no metadata: neither the schema key "
                              f"{META_KEY.decode()!r} nor a sidecar {sidecar.name}")
        raw, source = sidecar.read_bytes(), sidecar.name
    try:
        meta = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise ConfigError(f"{label}: {source} is not JSON ({e})") from None
    if not isinstance(meta, dict):
        raise ConfigError(f"{label}: {source} must be a JSON object")
    return meta


def resolve_path(path: Any) -> Path:
    """``benchmark.path``: a shipped table's name (``envelope``) or a ``.parquet`` file."""
    if not isinstance(path, (str, Path)) or not str(path):
        raise ConfigError(f"benchmark.path: must be a table name {shipped_tables()} or a "
                          f".parquet file, got {path!r}")
    p = Path(path)
    if p.suffix == "" and p.name == str(path):
        if str(path) not in shipped_tables():
            raise ConfigError(f"benchmark.path: {path!r} is not a shipped table "
                              f"{shipped_tables()} nor a .parquet file")
        return SHIPPED_DIR / f"{path}.parquet"
    return p.expanduser()


def shipped_tables() -> list[str]:
    return sorted(p.stem for p in SHIPPED_DIR.glob("*.parquet"))


def planned_resources(optimizer) -> Optional[set]:
    """Every resource ``optimizer`` will ask for, where its settings fix a ladder of rungs
    (Hyperband and successive halving brackets, ASHA's and Optuna's rungs, the
    recorder's grid); ``None`` when it has none (the method asks for R only, or the
    table answers an off-grid resource with a failed evaluation naming the grid)."""
    from hpobench import schedule as sched

    R = optimizer.max_resource
    ladder = getattr(optimizer, "rung_resources", None) or getattr(optimizer, "steps", None)
    if ladder:
        return {float(r) for r in ladder}
    brackets = getattr(optimizer, "schedule", None)
    if isinstance(brackets, list):  # Hyperband: every bracket of Algorithm 1 / Table 1
        return {float(g.r) for b in brackets for g in b.rungs}
    if hasattr(optimizer, "bracket") and hasattr(optimizer, "schedule"):
        b = sched.bracket(R, optimizer.eta, optimizer.bracket, optimizer.schedule)
        return {float(g.r) for g in b.rungs}
    grid = getattr(optimizer, "grid_resources", None)  # the recorder
    if grid:
        return {float(r) for r in grid}
    return None  # e.g. methods that train everything to R, which is always on the grid


class TableBenchmark(Benchmark):
    """Replays a learning-curve table (see the module docstring and docs/tables.md).

    ``path``: a shipped table's name or a ``.parquet`` file; ``max_resource``: ``None``
    (the table's R) or a smaller resource on its grid (the grid is cut there).
    """

    supports_resume = True

    def __init__(self, path: Any = None, name: str = "table",
                 max_resource: Optional[int] = None,
                 table: Optional[LearningCurveTable] = None):
        if table is None:
            table = LearningCurveTable.read(resolve_path(path))
        self.path = None if path is None else str(path)
        self.table, self.name = table, name
        self.space = table.space
        validate.optional(validate.integer, "benchmark.max_resource", max_resource, low=1,
                          high=validate.MAX_RESOURCE, whole_floats=True)
        if max_resource is not None:
            if isinstance(max_resource, bool) or float(max_resource) not in table.grid \
                    or not float(max_resource).is_integer():
                raise ConfigError(f"benchmark.max_resource: must be null or an integer "
                                  f"resource of the table's grid {table.grid.tolist()}, got "
                                  f"{max_resource!r}")
        self.max_resource = int(max_resource if max_resource is not None else table.max_resource)
        self.grid = table.grid[table.grid <= self.max_resource]
        self.resource_unit = str(table.meta.get("resource_unit", "unit"))
        self._g = {float(r): g for g, r in enumerate(self.grid.tolist())}

    def _grid_index(self, resource: float, what: str = "resource") -> int:
        g = self._g.get(float(resource))
        if g is None:
            raise ConfigError(f"{what} {float(resource):g} is not on the table's grid "
                              f"{self.grid.tolist()}")
        return g

    def check_method(self, optimizer) -> None:
        """Before any work: every resource the method will ask for lies on the grid."""
        wanted = planned_resources(optimizer)
        off = sorted(r for r in wanted or () if float(r) not in self._g)
        if off:
            raise ConfigError(f"method: asks for resource(s) {off} that are not on the "
                              f"table's grid {self.grid.tolist()}; choose eta / min_resource "
                              "so that every rung is a recorded resource")

    def evaluate(self, config: dict, resource: float, seed: int,
                 resume_from: Optional[Any] = None) -> Evaluation:
        g = self._grid_index(resource)
        g0 = -1
        if resume_from is not None:
            start = float(resume_from["resource"])
            g0 = self._grid_index(start, "checkpoint resource")
            if g0 > g:
                raise ValueError(f"cannot train to {resource} from a checkpoint at {start}")
        t = self.table
        i, dist = t.nearest(config)
        k = int(seed) % int(t.n_replicates[i])
        runtime = float(t.runtime[i, k, g0 + 1:g + 1].sum())
        spent = float(resource) - (float(self.grid[g0]) if g0 >= 0 else 0.0)
        info = {"table_config": i, "table_distance": dist, "runtime": runtime}
        val = float(t.val[i, k, g])
        if math.isnan(val):
            ev = Evaluation.failed(f"recorded as failed in the table (configuration {i}, "
                                   f"replicate {k}, resource {float(resource):g})", spent)
        else:
            ev = Evaluation(val, float(t.test[i, k, g]), spent, {"resource": float(resource)})
        ev.info = info
        return ev

    def rebuild_checkpoint(self, config: dict, resource: float, seed: int) -> dict:
        return {"resource": float(resource)}

    def settings(self) -> dict:
        m = self.table.meta
        return {"path": self.path, "max_resource": self.max_resource,
                "grid": self.grid.tolist(), "configurations": len(self.table.configs),
                "recorded_benchmark": m.get("benchmark"),
                "recorded_settings": m.get("benchmark_settings")}
