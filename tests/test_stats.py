"""hpobench.stats against hand computations."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from hpobench.errors import ConfigError
from hpobench.stats import (average_ranks, bootstrap_ci, iqm, mean_se, paired_test, rank_values,
                            seed_statistics)


def test_iqm_cuts_a_quarter_from_each_end():
    assert iqm([1, 2, 3, 4, 5, 6, 7, 8]) == pytest.approx(4.5)           # mean of 3, 4, 5, 6
    assert iqm([5, 1, 3, 2, 4, 100, -50, 7]) == pytest.approx(3.5)      # mean of 2, 3, 4, 5
    assert iqm([1, 2, 3, 4, 100]) == pytest.approx(3.0)                 # floor(5/4) = 1 cut
    assert iqm([1, np.nan, 2, 3, 4, 100]) == pytest.approx(3.0)         # NaN ignored
    assert math.isnan(iqm([]))


def test_mean_se_by_hand():
    m, se = mean_se([1, 2, 3, 4, 5])
    assert m == 3 and se == pytest.approx(math.sqrt(2.5 / 5))
    assert math.isnan(mean_se([7.0])[1])


def test_bootstrap_of_two_values_spans_both():
    # resamples of [0, 1]: mean 0, 0.5, 1 with probability 1/4, 1/2, 1/4, so the 95%
    # percentile interval is [0, 1]
    point, lo, hi = bootstrap_ci([0.0, 1.0], np.random.default_rng(0), n_boot=4000)
    assert (point, lo, hi) == (0.5, 0.0, 1.0)
    assert bootstrap_ci([0.0, 1.0], np.random.default_rng(0), statistic=np.mean,
                        n_boot=4000) == (0.5, 0.0, 1.0)
    assert bootstrap_ci([2.0, 2.0, 2.0], np.random.default_rng(0)) == (2.0, 2.0, 2.0)


def test_bootstrap_is_seeded_and_needs_a_generator():
    x = [0.3, 0.1, 0.5, 0.2, 0.9, 0.4, 0.35]
    a = bootstrap_ci(x, np.random.default_rng(5), n_boot=300)
    assert a == bootstrap_ci(x, np.random.default_rng(5), n_boot=300)
    assert a[1] <= a[0] <= a[2] and a[1] < a[2]
    with pytest.raises(ConfigError, match="rng"):
        bootstrap_ci(x, 0)
    with pytest.raises(ConfigError, match="confidence"):
        bootstrap_ci(x, np.random.default_rng(0), confidence=1.5)


def _frame(rows):
    return pd.DataFrame(rows, columns=["benchmark", "method", "seed", "test_loss"])


def test_rank_values_ties_averaged_nan_last():
    assert rank_values([0.3, 0.1, 0.3]).tolist() == [2.5, 1.0, 2.5]
    assert rank_values([np.nan, 0.1, 0.2]).tolist() == [3.0, 1.0, 2.0]


def test_ranks_average_over_seeds_per_benchmark():
    f = _frame([
        ("b", "A", 0, 0.1), ("b", "B", 0, 0.2), ("b", "C", 0, 0.2),    # ranks 1, 2.5, 2.5
        ("b", "A", 1, 0.3), ("b", "B", 1, 0.1), ("b", "C", 1, 0.2),    # ranks 3, 1, 2
        ("c", "A", 0, 0.5), ("c", "B", 0, 0.4), ("c", "C", 0, 0.6),    # other benchmark
    ])
    r = average_ranks(f).set_index(["benchmark", "method"])["mean_rank"]
    assert r[("b", "A")] == 2.0 and r[("b", "B")] == 1.75 and r[("b", "C")] == 2.25
    assert r[("c", "A")] == 2.0 and r[("c", "B")] == 1.0 and r[("c", "C")] == 3.0


def test_summary_columns_and_values():
    f = _frame([("b", "A", s, v) for s, v in enumerate([1, 2, 3, 4, 5, 6, 7, 8])])
    s = seed_statistics(f, np.random.default_rng(0), n_boot=200).iloc[0]
    assert s["n"] == 8 and s["mean"] == 4.5 and s["iqm"] == 4.5
    assert s["iqm_low"] <= 4.5 <= s["iqm_high"]
    with pytest.raises(ConfigError, match="lacks column"):
        seed_statistics(f.drop(columns="test_loss"), np.random.default_rng(0))


def test_paired_test_all_wins_exact_p():
    b = [0.5, 0.6, 0.7, 0.8, 0.9]
    a = [x - d for x, d in zip(b, [1, 2, 3, 4, 5])]
    f = _frame([("e", "A", s, v) for s, v in enumerate(a)] + [("e", "B", s, v) for s, v in enumerate(b)])
    r = paired_test(f, "A", "B")
    assert r["n"] == 5 and r["wins"] == 5 and r["losses"] == 0
    assert r["mean_diff"] == pytest.approx(-3.0)
    assert r["se"] == pytest.approx(math.sqrt(0.5))
    assert r["p_value"] == pytest.approx(1 / 32)          # the only arrangement with W+ = 0


def test_paired_test_mixed_signs_zero_dropped_unpaired_ignored():
    # differences a - b = -1, +2, -3, -4, 0 (dropped): W+ = 2, and of the 16 sign
    # patterns of ranks 1..4 three have W+ <= 2 ({}, {1}, {2}): p = 3/16
    a = [0.0, 2.0, 0.0, 0.0, 1.0]
    b = [1.0, 0.0, 3.0, 4.0, 1.0]
    rows = [("e", "A", s, v) for s, v in enumerate(a)] + [("e", "B", s, v) for s, v in enumerate(b)]
    rows.append(("e", "A", 99, 0.0))                      # seed without a partner
    r = paired_test(_frame(rows), "A", "B")
    assert r["n"] == 5 and (r["wins"], r["losses"], r["ties"]) == (3, 1, 1)
    assert r["mean_diff"] == pytest.approx(-6 / 5)
    assert r["p_value"] == pytest.approx(3 / 16)


def test_paired_test_identical_and_bad_input():
    f = _frame([("e", m, s, 0.1 * s) for m in "AB" for s in range(4)])
    assert paired_test(f, "A", "B")["p_value"] == 1.0
    with pytest.raises(ConfigError, match="no rows for method 'Z'"):
        paired_test(f, "A", "Z")
    with pytest.raises(ConfigError, match="alternative"):
        paired_test(f, "A", "B", alternative="smaller")
    with pytest.raises(ConfigError, match="several rows per seed"):
        paired_test(pd.concat([f, f]), "A", "B")
