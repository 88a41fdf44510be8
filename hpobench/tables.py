"""Rows to tables: the tidy frame of a run's rows, and its Arrow table for Parquet.

:func:`rows_to_frame` is the in-memory frame (nullable ints for Hyperband's
iteration/bracket/rung, floats for resources and losses).  :func:`rows_to_table` is the
Arrow table ``pa.Table.from_pandas(rows_to_frame(rows))`` would give, types and pandas
metadata included, but built column by column: it saves ~3.5 ms of the 4.6 ms the
pandas path takes for one Hyperband iteration's 206 rows, half of what the rest of that
iteration costs in memory (``benchmarking/upkeep.py``).

Example::

    >>> rows_to_table([{"method": "random", "iteration": None, "val_loss": 0.5}]).num_rows
    1
"""
from __future__ import annotations

import functools
import itertools
import json
from typing import Optional

#: Required columns, in order (``config.<name>`` columns follow, then extras).
COLUMNS = ("method", "benchmark", "seed", "trial_id", "iteration", "bracket", "rung",
           "resource", "resource_spent", "total_resource", "val_loss", "test_loss",
           "status", "wall_time")
#: columns stored as nullable integers (None where a method has no brackets) ...
INT_COLUMNS = ("iteration", "bracket", "rung")
#: ... and as floats, whatever numbers the rows hold
FLOAT_COLUMNS = ("resource", "resource_spent", "total_resource", "val_loss", "test_loss")


def evaluation_row(job, ev, *, method: str, benchmark: str, seed: int, total_resource: float,
                   wall_time: float, optimizer_time: float, elapsed: float, submitted: int,
                   max_resource: float, variant: str, budget_scale: float,
                   config_columns: Optional[dict] = None) -> dict:
    """The row of one evaluation (``job`` a :class:`~hpobench.trial.Job`, ``ev`` its
    :class:`~hpobench.trial.Evaluation`): :data:`COLUMNS` first, then ``optimizer_time``
    (the method's ask + tell), ``elapsed`` (since the run started), ``job_id``,
    ``submitted`` (jobs handed out when it was recorded), ``error``, ``max_resource``,
    ``variant``, ``budget_scale``, then ``config.<name>`` per hyperparameter and
    ``info.<key>`` per extra the benchmark reported.  ``config_columns``: precomputed
    ``name -> "config.<name>"``."""
    row = {
        "method": method, "benchmark": benchmark, "seed": seed,
        "trial_id": job.trial_id, "iteration": job.iteration, "bracket": job.bracket,
        "rung": job.rung, "resource": float(job.resource),
        "resource_spent": float(ev.resource_spent), "total_resource": total_resource,
        "val_loss": float(ev.val_loss), "test_loss": float(ev.test_loss),
        "status": ev.status, "wall_time": wall_time,
        "optimizer_time": optimizer_time, "elapsed": elapsed,
        "job_id": job.job_id, "submitted": submitted, "error": ev.error,
        "max_resource": max_resource, "variant": variant, "budget_scale": budget_scale,
    }
    cols = config_columns or {}
    for k, v in job.config.items():
        row[cols.get(k) or f"config.{k}"] = v
    for k, v in ev.info.items():
        row[f"info.{k}"] = v
    return row


def rows_to_frame(rows: list[dict]):
    import pandas as pd

    df = pd.DataFrame(rows)
    if df.empty:
        df = pd.DataFrame(columns=list(COLUMNS))
    for c in INT_COLUMNS:
        if c in df:
            df[c] = df[c].astype("Int64")
    for c in FLOAT_COLUMNS:
        if c in df:
            df[c] = df[c].astype(float)
    return df


def rows_to_table(rows: list[dict]):
    """The rows as the Arrow table ``pa.Table.from_pandas(rows_to_frame(rows))`` gives
    (types, values and pandas metadata alike, so ``pd.read_parquet`` reads back the same
    frame), built column by column without a DataFrame.  Rows holding values other than
    ``None``, ``bool``, ``int``, ``float`` and ``str`` take the pandas path."""
    import pyarrow as pa

    if not rows:
        return _frame_table(rows)
    kinds = _kinds()
    names = list(dict.fromkeys(itertools.chain.from_iterable(rows)))  # pandas: first seen
    arrays, columns = [], []
    for name in names:
        values = [r.get(name) for r in rows]
        kind = _kind(name, values, rows) if type(name) is str else None
        if kind is None:
            return _frame_table(rows)
        arrow_type, entry = kinds[kind]
        try:
            arrays.append(pa.array(values, type=arrow_type, from_pandas=True))
        except (pa.ArrowException, OverflowError):  # an int beyond int64, or inexact as a double
            return _frame_table(rows)
        columns.append({"name": name, "field_name": name, **entry})
    metadata = json.dumps({**kinds["frame"], "columns": columns}).encode()
    schema = pa.schema([pa.field(n, a.type) for n, a in zip(names, arrays)],
                       metadata={b"pandas": metadata})
    return pa.Table.from_arrays(arrays, schema=schema)


def _frame_table(rows: list[dict]):
    """The reference :func:`rows_to_table` must equal: the table pandas makes of the rows."""
    import pyarrow as pa

    return pa.Table.from_pandas(rows_to_frame(rows), preserve_index=False)


def _kind(name: str, values: list, rows: list[dict]) -> Optional[str]:
    """How pandas stores column ``name`` holding ``values`` (``None``: missing), as a key
    of :func:`_kinds`; ``None`` for a column this module leaves to pandas."""
    types = set(map(type, values))
    missing = type(None) in types
    types.discard(type(None))
    if name in INT_COLUMNS:
        if not types <= {int}:
            return None
        # with one missing, pandas goes through float64: exact up to 2**53
        exact = not missing or all(abs(v) <= 2**53 for v in values if v is not None)
        return "Int64" if exact else None
    if name in FLOAT_COLUMNS:
        return "float" if types <= {int, float} else None
    if not types:  # pandas tells a None from a column some rows lack
        return "none" if all(name in r for r in rows) else "none_or_absent"
    if types == {int}:
        return "float" if missing else "int"  # pandas stores a missing int as NaN
    if types <= {int, float}:
        return "float"
    if types == {bool}:
        return None if missing else "bool"
    if types == {str} or (types == {str, float} and all(
            v != v for v in values if type(v) is float)):  # NaN: a str read back from Parquet
        return "str"
    return None


@functools.lru_cache(maxsize=None)
def _kinds() -> dict:
    """Per kind of column, the Arrow type and pandas metadata entry the pandas path gives
    it, and (``"frame"``) the table's pandas metadata: found once per process (~3 ms) from
    a two-row sample, so they follow the installed pandas and pyarrow."""
    absent = object()
    sample = {  # kind: its value in row 0 and in row 1 (absent: the row lacks the column)
        "int": (1, 2), "float": (1.5, None), "str": ("a", None), "bool": (True, False),
        "none": (None, None), "none_or_absent": (None, absent), "Int64": (1, None)}
    name = {k: INT_COLUMNS[0] if k == "Int64" else k for k in sample}
    table = _frame_table([{name[k]: v[i] for k, v in sample.items() if v[i] is not absent}
                          for i in range(2)])
    frame = json.loads(table.schema.metadata[b"pandas"])
    kinds = {"frame": frame}
    for kind, field, entry in zip(sample, table.schema, frame["columns"]):
        kinds[kind] = field.type, {k: v for k, v in entry.items()
                                   if k not in ("name", "field_name")}
    return kinds
