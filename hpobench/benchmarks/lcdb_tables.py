"""Learning-curve tables from LCDB, the Learning Curve Database (Mohr, Viering, Loog, van
Rijn, 2022), which the PyPI package ``lcdb`` (0.1.0) ships offline: 20 scikit-learn
classifiers x 248 OpenML data sets, each trained at training-set sizes ("anchors")
16 * sqrt(2)^k on 5 x 5 (outer x inner) splits, with validation and test scores and the
training time of every fit (``lcdb/database-<metric>.csv`` inside the installed package).

The task a converted table poses is **model selection with the training-set size as the
resource** (the Hyperband paper's data-set subsampling resource, its Section 4.2): the
configuration is one categorical parameter, the learner, each with scikit-learn's
default hyperparameters (LCDB varies none), so the space has 20 points.  It is an
honest multi-fidelity task (small training sets are cheap and their ranking of learners
is an imperfect guess of the ranking at R), not a hyperparameter search.

* **Resource**: the training-set size in units of ``unit`` examples (default 16, LCDB's
  smallest anchor); only the anchors ``unit * 2^k`` are kept, so the grid doubles
  (1, 2, 4, ..., R) and Hyperband and ASHA need ``method.eta=2`` (or 4) to ask for
  recorded resources only.  R is the largest such anchor at which every kept learner has
  every replicate (or ``max_size``).
* **Replicates**: outer splits 0..``replicates``-1 with inner split 0 (``seed`` records
  the outer split); the trial seed picks one, as for every table.
* **Losses**: ``1 - score`` of the validation split (``score_valid``) and the test split
  (``score_test``) for accuracy, F1 and AUC; the score itself for log loss.
* **Runtime**: LCDB fits each anchor from scratch; the table stores the increase of the
  running maximum of the recorded fit time, so the time to reach a resource from scratch
  is (up to timing noise) the fit time at it.  A resumed job (``r0`` -> ``r``) is charged
  the difference, as on every table, although a scikit-learn learner would refit from
  scratch: with a doubling grid that undercharges a promotion by at most the fit time at
  ``r0``, about half the job's true cost, in favour of Hyperband and ASHA (the harness's
  resource accounting, ``resource_spent = r - r0``, credits them the same way).

No download: ``lcdb``'s CSV is read with pandas; the package is never imported (its
``__init__`` imports ``openml`` and ``func_timeout``, which it does not declare).

    pip install lcdb==0.1.0        # or: pip install -e ".[lcdb]"
    python -m hpobench.benchmarks.lcdb_tables --dataset 980 -o optdigits.parquet

Example on a frame shaped like LCDB's (two learners, one replicate, anchors 16, 23, 32)::

    >>> f = pd.DataFrame({"openmlid": 1, "learner": ["a"] * 3 + ["sklearn.tree.B"] * 3,
    ...     "size_train": [16, 23, 32] * 2, "outer_seed": 0, "inner_seed": 0,
    ...     "traintime": [0.2, 0.3, 0.25, 1.0, 2.0, 3.0],
    ...     "score_valid": [0.5, 0.6, 0.7, 0.6, 0.7, 0.9], "score_test": 0.5})
    >>> t = convert(f, 1, replicates=1)
    >>> list(t.space.names), [c["learner"] for c in t.configs], t.grid.tolist()
    (['learner'], ['B', 'a'], [1.0, 2.0])
    >>> t.val[:, 0].round(6).tolist(), t.runtime[:, 0].round(6).tolist()
    ([[0.4, 0.1], [0.5, 0.3]], [[1.0, 2.0], [0.2, 0.05]])
"""
from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import pandas as pd

from hpobench.benchmarks.table import LearningCurveTable
from hpobench.errors import ConfigError
from hpobench.space import SearchSpace

METRICS = ("accuracy", "f1", "auc", "logloss")
#: LCDB's columns this converter reads
COLUMNS = ("openmlid", "learner", "size_train", "outer_seed", "inner_seed", "traintime",
           "score_valid", "score_test")


def database(metric: str = "accuracy") -> Path:
    """The installed ``lcdb`` package's ``database-<metric>.csv`` (found, not imported)."""
    if metric not in METRICS:
        raise ConfigError(f"--metric: {metric!r}; allowed: {', '.join(METRICS)}")
    spec = importlib.util.find_spec("lcdb")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("lcdb: not installed (pip install lcdb==0.1.0, or pass --csv "
                          "PATH to its database-<metric>.csv)")
    path = Path(list(spec.submodule_search_locations)[0]) / f"database-{metric}.csv"
    if not path.is_file():
        raise ConfigError(f"lcdb: {path} not found in the installed package")
    return path


def read(path: Path, openmlid: int) -> pd.DataFrame:
    """The rows of one data set from an LCDB CSV (read in chunks: the file is 150 MB)."""
    parts = [c[c["openmlid"] == openmlid] for c in
             pd.read_csv(path, usecols=list(COLUMNS), chunksize=500_000)]
    return pd.concat(parts, ignore_index=True)


def short(learner: str) -> str:
    """``sklearn.linear_model.LogisticRegression`` -> ``LogisticRegression``."""
    return learner.rsplit(".", 1)[-1]


def convert(frame: pd.DataFrame, openmlid: int, *, learners: Optional[Sequence[str]] = None,
            replicates: int = 5, unit: int = 16, max_size: Optional[int] = None,
            metric: str = "accuracy", name: str = "", source: str = "") -> LearningCurveTable:
    """One data set's curves as a table (see the module docstring); ``learners`` by short
    name (default: every learner with every replicate at every anchor up to R)."""
    d = frame[(frame["openmlid"] == openmlid) & (frame["inner_seed"] == 0)
              & (frame["outer_seed"] < replicates)].copy()
    if d.empty:
        raise ConfigError(f"--dataset: no LCDB rows for openmlid {openmlid}")
    d["learner"] = d["learner"].map(short)
    if learners is not None:
        unknown = sorted(set(learners) - set(d["learner"]))
        if unknown:
            raise ConfigError(f"--learners: {unknown} not in LCDB for {openmlid}; allowed: "
                              f"{', '.join(sorted(set(d['learner'])))}")
        d = d[d["learner"].isin(learners)]
    d = d[d["size_train"] % unit == 0]
    k = d["size_train"] // unit
    d = d[(k & (k - 1)) == 0]  # unit * 2^j only: a doubling grid
    d = d.dropna(subset=["score_valid", "score_test", "traintime"])
    sizes = sorted(s for s in d["size_train"].unique() if max_size is None or s <= max_size)
    have = d.groupby(["learner", "size_train"])["outer_seed"].nunique().unstack()
    complete = have.reindex(columns=sizes).fillna(0) >= replicates
    keep = complete.index[complete.iloc[:, 0]] if learners is None else complete.index
    top = 0  # the grid reaches the largest size every kept learner has completely
    while top < len(sizes) and complete.loc[keep, sizes[top]].all():
        top += 1
    if not len(keep) or top == 0:
        raise ConfigError(f"--dataset: {openmlid}: no anchor {unit} x 2^j with all "
                          f"{replicates} replicates for the learners")
    sizes = sizes[:top]
    d = d[d["learner"].isin(keep) & d["size_train"].isin(sizes)]
    d = d.sort_values(["learner", "outer_seed", "size_train"])
    score_is_loss = metric == "logloss"
    running_max = d.groupby(["learner", "outer_seed"])["traintime"].cummax()
    step = running_max.groupby([d["learner"], d["outer_seed"]]).diff().fillna(running_max)
    names = sorted(keep)
    columns = {
        "config.learner": d["learner"].tolist(),
        "replicate": d["outer_seed"].astype(int).tolist(),
        "seed": d["outer_seed"].astype(int).tolist(),
        "resource": (d["size_train"] / unit).tolist(),
        "val_loss": (d["score_valid"] if score_is_loss else 1 - d["score_valid"]).tolist(),
        "test_loss": (d["score_test"] if score_is_loss else 1 - d["score_test"]).tolist(),
        "runtime": step.tolist(),
    }
    space = SearchSpace.from_dict({"learner": {"type": "categorical", "choices": names}})
    meta = {
        "benchmark": f"lcdb openmlid={openmlid}" + (f" ({name})" if name else ""),
        "resource_unit": f"{unit} training examples",
        "runtime": "LCDB's measured fit time (seconds), as the increase of its running "
                   "maximum over the grid (each anchor was fitted from scratch)",
        "losses": (f"{metric}" if score_is_loss else f"1 - {metric}") +
                  " on LCDB's validation (inner split 0) and test (outer split) data",
        "recorded_with": "LCDB 0.1.0 (Mohr et al. 2022), converted by "
                         "hpobench.benchmarks.lcdb_tables" + (f" from {source}" if source else ""),
        "benchmark_settings": {"openmlid": int(openmlid), "metric": metric, "unit": unit,
                               "replicates": replicates, "learners": names},
    }
    return LearningCurveTable.from_columns(space, columns, meta, where=f"lcdb {openmlid}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m hpobench.benchmarks.lcdb_tables",
                                 description="Convert one LCDB data set's learning curves "
                                 "into an hpobench table (hpobench/docs/tables.md).")
    ap.add_argument("--dataset", type=int, required=True, help="OpenML id, e.g. 980")
    ap.add_argument("-o", "--out", required=True, help="the .parquet file to write")
    ap.add_argument("--metric", default="accuracy", help=f"one of {', '.join(METRICS)}")
    ap.add_argument("--csv", default=None, help="LCDB's database-<metric>.csv (default: "
                    "the installed lcdb package's)")
    ap.add_argument("--learners", default=None, help="comma-separated short names "
                    "(default: every learner complete at the smallest anchor)")
    ap.add_argument("--replicates", type=int, default=5, help="outer splits (1-5)")
    ap.add_argument("--unit", type=int, default=16, help="examples per unit of resource")
    ap.add_argument("--max-size", type=int, default=None, help="largest training size")
    a = ap.parse_args(argv)
    try:
        if a.metric not in METRICS:
            raise ConfigError(f"--metric: {a.metric!r}; allowed: {', '.join(METRICS)}")
        if not 1 <= a.replicates <= 5:
            raise ConfigError(f"--replicates: {a.replicates}; allowed: 1 to 5")
        if a.unit < 1:
            raise ConfigError(f"--unit: {a.unit}; allowed: an integer >= 1")
        out = Path(a.out)
        if out.suffix != ".parquet":
            raise ConfigError(f"-o: {out}: a table is a .parquet file")
        path = Path(a.csv) if a.csv else database(a.metric)
        if not path.is_file():
            raise ConfigError(f"--csv: {path}: no such file")
        learners = [s.strip() for s in a.learners.split(",")] if a.learners else None
        names = _dataset_names(path)
        table = convert(read(path, a.dataset), a.dataset, learners=learners,
                        replicates=a.replicates, unit=a.unit, max_size=a.max_size,
                        metric=a.metric, name=names.get(a.dataset, ""), source=path.name)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    table.write(out)
    print(f"wrote {out}: {len(table.configs)} learners x {int(table.n_replicates.max())} "
          f"replicates x grid {table.grid.tolist()} ({table.meta['resource_unit']})")
    return 0


def _dataset_names(csv: Path) -> dict:
    """OpenML id -> data set name from ``datasets.csv`` beside LCDB's database, if there."""
    f = csv.with_name("datasets.csv")
    if not f.is_file():
        return {}
    names = pd.read_csv(f, usecols=["openmlid", "Name"])
    return dict(zip(names["openmlid"], names["Name"]))


if __name__ == "__main__":
    sys.exit(main())
