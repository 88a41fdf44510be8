"""Reading results: every run under a folder as one tidy frame, with its settings.

:func:`load` (also ``hpobench.load``) finds every run directory (one holding
``evaluations.parquet``) under a folder and returns one frame, one row per evaluation,
with the run's ``run.json`` alongside:

* its resolved settings as columns, spelled as Hydra overrides: ``benchmark.width``,
  ``benchmark.terminal``, ``method.eta``, ``method.bracket``, ... plus ``budget``,
  ``reuse`` and ``run_status`` (a list or mapping setting is a JSON string);
* ``settings``: run.json's ``settings`` as JSON text (:func:`settings_of` reads it back);
* ``context_key`` and ``method_key``: short digests of the resolved benchmark/run
  settings and of the method's settings.  Aggregation groups runs by these, so runs
  with different settings are never averaged together, whatever their directory names;
* ``context`` and ``method_variant``: the Hydra overrides of the run's directory name
  (``budget=50``; ``method.bracket=2``), for labels only (where one label covers several
  settings, ``settings=<digest>`` is appended to it), and ``sweep`` (the folders
  above ``<benchmark>/``), ``run_dir`` (relative to the folder) and ``row``.

Plain pandas without this package: ``pd.read_parquet(path_to_one_run/evaluations.parquet)``
reads one run.  A whole results folder in one call needs the ``seed=<k>`` folders *not* to
be read as a Hive partition (its type clashes with the ``seed`` column)::

    import pyarrow.dataset as ds
    df = ds.dataset("results/envelope", format="parquet", partitioning=None,
                    exclude_invalid_files=True).to_table().to_pandas()

(that reads the rows only; ``run.json`` stays with :func:`load`).

Example::

    >>> import hpobench
    >>> df = hpobench.load("results/envelope")                         # doctest: +SKIP
    >>> df.groupby(["method", "benchmark.width"])["seed"].nunique()     # doctest: +SKIP
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Optional

import numpy as np
import pandas as pd

from hpobench.errors import ConfigError
from hpobench.results import RUN_JSON, TABLE
from hpobench.rundir import canonical

#: Settings shared by methods that may be drawn side by side in one comparison: the
#: resolved benchmark and run settings (``context_key``, from run.json), with the labels.
CONTEXT_KEYS = ("sweep", "benchmark", "context", "context_key", "max_resource")
#: What tells the methods of one context apart (``method_key``: resolved settings).
METHOD_KEYS = ("method", "method_variant", "method_key", "budget_scale")
#: Settings that identify a group of runs that may be averaged across seeds.
GROUP_KEYS = CONTEXT_KEYS + METHOD_KEYS
#: Settings of one run (a group plus the seed).
RUN_KEYS = GROUP_KEYS + ("seed",)
#: Columns every evaluations table must have.
REQUIRED = ("method", "benchmark", "seed", "total_resource", "val_loss", "test_loss",
            "status", "max_resource")
#: What identifies a run, and so what may never mix inside one run directory.
_ONE_RUN = ("sweep", "benchmark", "context_key", "max_resource", "method", "method_key",
            "budget_scale", "seed")
_ADDED = ("variant", "budget_scale", "run_dir", "sweep", "context", "method_variant",
          "context_key", "method_key", "row")


def find_runs(root: str | Path) -> list[Path]:
    """Every run directory (one holding ``evaluations.parquet``) under ``root``, sorted."""
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted(p.parent for p in root.rglob(TABLE))


def load(root: str | Path, verbose: bool = False) -> pd.DataFrame:
    """One tidy frame of every evaluation under ``root`` with each run's settings (see
    the module docstring); an empty frame if there is none."""
    root = Path(root)
    frames = []
    for run_dir in find_runs(root):
        df = pd.read_parquet(run_dir / TABLE)
        if df.empty:
            continue
        missing = [c for c in REQUIRED if c not in df.columns]
        if missing:
            raise ConfigError(f"{run_dir / TABLE}: missing columns {missing}; is this an "
                              "hpobench evaluations table?")
        rel = run_dir.relative_to(root)
        df = df.copy()
        for col, default in (("variant", ""), ("budget_scale", 1.0)):
            if col not in df.columns:
                df[col] = default
        df["variant"] = df["variant"].fillna("").astype(str)
        df["budget_scale"] = df["budget_scale"].astype(float)
        df["run_dir"] = str(rel)
        df["sweep"] = _sweep_prefix(rel, str(df["benchmark"].iloc[0]), str(df["method"].iloc[0]))
        ctx_meth = df["variant"].map(split_settings)
        df["context"] = [c for c, _ in ctx_meth]
        df["method_variant"] = [m for _, m in ctx_meth]
        columns = run_columns(_read_json(run_dir / RUN_JSON), df["context"].iloc[0],
                              df["method_variant"].iloc[0])
        df = df.assign(**{k: [v] * len(df) for k, v in columns.items() if k not in df.columns})
        df["row"] = np.arange(len(df))
        frames.append(df)
        if verbose:
            print(f"read {len(df):6d} rows  {rel}")
    if not frames:
        return pd.DataFrame(columns=[*REQUIRED, *_ADDED])
    out = pd.concat(frames, ignore_index=True)
    _check_one_run_per_dir(out)
    _disambiguate(out)
    return out


def run_columns(meta: dict, context: str = "", method_variant: str = "") -> dict[str, Any]:
    """The columns :func:`load` adds for one run from its ``run.json`` (``meta``).

    A run written before run.json carried its settings is keyed by its directory's
    overrides (``context``, ``method_variant``), as it was then.
    """
    settings = meta.get("settings")
    out: dict[str, Any] = {}
    if not isinstance(settings, dict):
        out["context_key"] = _digest(["overrides", context])
        out["method_key"] = _digest(["overrides", method_variant])
    else:
        bench = settings.get("benchmark_settings") or {}
        meth = settings.get("method_settings") or {}
        cfg = settings.get("config") or {}
        out["context_key"] = _digest([settings.get("benchmark"), bench, settings.get("budget"),
                                      settings.get("reuse"), cfg.get("benchmark")])
        out["method_key"] = _digest([settings.get("method"), meth, cfg.get("method")])
        for prefix, group in (("benchmark", bench), ("method", meth)):
            for k, v in group.items():
                out[f"{prefix}.{k}"] = _cell(v)
        out["budget"] = settings.get("budget")
        out["reuse"] = settings.get("reuse")
        out["settings"] = json.dumps(settings)  # in run.json's order (a space is ordered)
    out["run_status"] = meta.get("status")
    return out


def settings_of(run: pd.DataFrame) -> dict:
    """The resolved settings (run.json's ``settings``) of the run whose rows are ``run``
    ({} for a run written before run.json had them): e.g.
    ``EnvelopeBenchmark(**settings_of(rows)["benchmark_settings"])`` rebuilds its
    benchmark exactly."""
    text = run["settings"].iloc[0] if "settings" in run.columns and len(run) else None
    return json.loads(text) if isinstance(text, str) else {}


def context_digest(df: pd.DataFrame, without: tuple[str, ...] = ()) -> pd.Series:
    """Per row, a digest of the run's resolved benchmark settings, budget and reuse,
    leaving out the ``benchmark.<name>`` settings in ``without`` (the axes a figure
    draws), so a figure can keep apart runs whose other settings differ."""
    drop = {f"benchmark.{w}" for w in without}
    cols = [c for c in df.columns if (c.startswith("benchmark.") and c not in drop)
            or c in ("budget", "reuse")]
    if df.empty:
        return pd.Series([], index=df.index, dtype=object)
    return pd.Series([_digest([str(v) for v in row]) for row in
                      df[cols].itertuples(index=False)], index=df.index, dtype=object)


# -- the one parser of the Hydra override string (for labels only) -------------------------
def split_variant(variant: str) -> list[str]:
    """Split a Hydra ``override_dirname`` into its ``key=value`` items.

    Commas inside brackets, braces or quotes belong to a value, not the separator:

    >>> split_variant("benchmark.weights=[1,0.1],budget=50")
    ['benchmark.weights=[1,0.1]', 'budget=50']
    """
    items, cur, depth, quote = [], [], 0, None
    for ch in variant or "":
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "[{(":
            depth += 1
        elif ch in "]})":
            depth = max(0, depth - 1)
        elif ch == "," and depth == 0:
            items.append("".join(cur))
            cur = []
            continue
        cur.append(ch)
    if cur:
        items.append("".join(cur))
    out: list[str] = []
    for it in items:  # a piece without '=' continues the previous value
        if "=" not in it and out:
            out[-1] += "," + it
        elif it:
            out.append(it)
    return out


def _is_method_key(item: str) -> bool:
    return item.split("=", 1)[0].lstrip("+~").startswith("method.")


def split_settings(variant: str) -> tuple[str, str]:
    """``(context, method_variant)``: the non-``method.*`` and the ``method.*`` overrides.

    >>> split_settings("budget=50,method.bracket=2")
    ('budget=50', 'method.bracket=2')
    """
    items = split_variant(variant)
    ctx = ",".join(sorted(i for i in items if not _is_method_key(i)))
    meth = ",".join(sorted(i for i in items if _is_method_key(i)))
    return ctx, meth


def method_option(method_variant: str, key: str) -> Optional[str]:
    """The value of ``method.<key>`` in a method variant, or None.

    >>> method_option("method.bracket=2,method.eta=3", "bracket")
    '2'
    """
    for it in split_variant(method_variant):
        k, _, v = it.partition("=")
        if k.lstrip("+~") == f"method.{key}":
            return v
    return None


def without_options(method_variant: str, *keys: str) -> str:
    """``method_variant`` without the ``method.<key>`` items named.

    >>> without_options("method.bracket=2,method.eta=4", "bracket")
    'method.eta=4'
    """
    drop = {f"method.{k}" for k in keys}
    return ",".join(i for i in split_variant(method_variant)
                    if i.partition("=")[0].lstrip("+~") not in drop)


# -- helpers -------------------------------------------------------------------------------
def _sweep_prefix(rel: Path, benchmark: str, method: str) -> str:
    """The folders above ``<benchmark>/<method>/`` in a run's path relative to the root."""
    parts = rel.parts
    for i in range(len(parts) - 2, -1, -1):
        if parts[i] == benchmark and parts[i + 1] == method:
            return "/".join(parts[:i])
    return "/".join(parts[:-1])  # an unusual layout: keep the whole path apart


def _read_json(path: Path) -> dict:
    try:
        meta = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return meta if isinstance(meta, dict) else {}


def _digest(x: Any) -> str:
    return hashlib.sha1(canonical(x).encode()).hexdigest()[:12]


def _cell(v: Any) -> Any:
    """A setting as one frame cell: lists and mappings as JSON text (hashable)."""
    return json.dumps(v) if isinstance(v, (list, dict)) else v


def _disambiguate(df: pd.DataFrame) -> None:
    """Where one label covers several resolved settings (an edited config, API runs with
    other arguments), append ``settings=<digest>`` to it, so titles, legends and file
    names keep apart what grouping keeps apart."""
    for label, key, within in (("context", "context_key", ["sweep", "benchmark", "max_resource"]),
                               ("method_variant", "method_key",
                                ["sweep", "benchmark", "context_key", "method"])):
        n = df.groupby([*within, label], dropna=False)[key].transform("nunique")
        hit = (n > 1).to_numpy()
        if hit.any():
            item = ("method." if label == "method_variant" else "") + "settings="
            sub = df.loc[hit]
            df.loc[hit, label] = [",".join(p for p in (v, item + k[:6]) if p)
                                  for v, k in zip(sub[label], sub[key])]


def _check_one_run_per_dir(df: pd.DataFrame) -> None:
    n = df.groupby("run_dir")[list(_ONE_RUN)].nunique(dropna=False)
    bad = n[(n > 1).any(axis=1)]
    if len(bad):
        raise ConfigError(f"run directories holding rows of several runs: {list(bad.index)[:5]}")
