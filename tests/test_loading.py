"""Loading a results folder: every run with its run.json settings as columns; runs are
grouped by their resolved settings, never by the override string of their directory."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import hpobench
from hpobench import aggregate as ag
from hpobench.benchmarks.envelope import EnvelopeBenchmark
from hpobench.optimizers import Hyperband
from hpobench.run import run


def _run(d, seed, width, R=9):
    b = EnvelopeBenchmark(max_resource=R, width=width)
    return run(b, Hyperband(b.space, R, np.random.default_rng(seed)), budget=3, seed=seed,
               method_name="hyperband", run_dir=d, variant="budget=3", progress=False)


@pytest.fixture(scope="module")
def two_widths(tmp_path_factory):
    """Hyperband at width 0.1 and 5.0, two seeds each, under the same override string
    (as two API runs, or an edited config, leave them: one label, two settings)."""
    root = tmp_path_factory.mktemp("results")
    for sweep, width in (("a", 0.1), ("b", 5.0)):
        for seed in (0, 1):
            _run(root / "envelope" / "hyperband" / "budget=3" / f"{sweep}-seed={seed}",
                 seed, width)
    return root


def test_runs_with_other_settings_and_the_same_overrides_stay_apart(two_widths):
    df = hpobench.load(two_widths)
    assert set(df["variant"]) == {"budget=3"}  # one override string ...
    labels = set(df["context"])  # ... shown as two labels, each with its settings' digest
    assert len(labels) == 2 and all(c.startswith("budget=3,settings=") for c in labels)
    assert df.groupby("benchmark.width")["run_dir"].nunique().to_dict() == {0.1: 2, 5.0: 2}
    agg = ag.aggregate(ag.curves(df), grid="linear", points=5)
    groups = agg.groupby(list(ag.GROUP_KEYS)).agg(n=("n", "max"))
    assert len(groups) == 2 and groups["n"].tolist() == [2, 2]  # two groups of n=2
    assert len(ag.contexts(agg)) == 2
    by_width = {w: df[df["benchmark.width"] == w] for w in (0.1, 5.0)}
    assert by_width[0.1]["context_key"].nunique() == 1
    assert set(by_width[0.1]["context_key"]).isdisjoint(by_width[5.0]["context_key"])
    assert df["method_key"].nunique() == 1  # the method's settings are the same


def test_load_has_run_json_fields_as_columns(two_widths):
    df = hpobench.load(two_widths)
    one = df[df["run_dir"] == "envelope/hyperband/budget=3/a-seed=0"]
    meta = json.loads((two_widths / one["run_dir"].iloc[0] / "run.json").read_text())
    assert len(one) == meta["n_evaluations"]
    assert (one["benchmark.max_resource"] == 9).all() and (one["method.eta"] == 3).all()
    assert (one["benchmark.failure_rate"] == 0.0).all() and (one["budget"] == 3).all()
    assert (one["run_status"] == "complete").all() and (one["reuse"] == True).all()  # noqa: E712
    space = json.loads(one["benchmark.space"].iloc[0])
    assert list(space) == ["learning_rate", "batch_size", "k2", "k1"]
    assert EnvelopeBenchmark(**ag.settings_of(one)["benchmark_settings"]).settings() == \
        EnvelopeBenchmark(max_resource=9, width=0.1).settings()  # rebuilt exactly


def test_documented_pyarrow_call_reads_a_whole_results_folder(two_widths):
    import pyarrow.dataset as ds

    with pytest.raises(Exception):  # the plain call: folders as partitions, run.json files
        pd.read_parquet(two_widths / "envelope")
    t = ds.dataset(two_widths / "envelope", format="parquet", partitioning=None,
                   exclude_invalid_files=True).to_table().to_pandas()
    assert len(t) == len(hpobench.load(two_widths))
    assert t["seed"].dtype == np.int64


def test_one_display_parser():
    assert ag.split_variant("benchmark.weights=[1,0.1],budget=50") == \
        ["benchmark.weights=[1,0.1]", "budget=50"]
    assert ag.without_options("method.bracket=2,method.eta=4", "bracket") == "method.eta=4"
