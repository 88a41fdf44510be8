"""Bracket arithmetic against hand-computed tables (Li et al. 2018, Algorithm 1 and Table 1)."""
from __future__ import annotations

from fractions import Fraction

import pytest

from hpobench import schedule as S
from hpobench.errors import ConfigError


def table(R, eta, variant="algorithm1"):
    return {b.s: [(g.n, g.r) for g in b.rungs] for b in S.brackets(R, eta, variant)}


# R=81, eta=3, worked by hand from Algorithm 1: s_max=4, B=5R, n=ceil(5*3^s/(s+1))
ALG1_81 = {
    4: [(81, 1), (27, 3), (9, 9), (3, 27), (1, 81)],
    3: [(34, 3), (11, 9), (3, 27), (1, 81)],
    2: [(15, 9), (5, 27), (1, 81)],
    1: [(8, 27), (2, 81)],
    0: [(5, 81)],
}
# the paper's printed Table 1 (also the talk's table)
TABLE1_81 = {
    4: [(81, 1), (27, 3), (9, 9), (3, 27), (1, 81)],
    3: [(27, 3), (9, 9), (3, 27), (1, 81)],
    2: [(9, 9), (3, 27), (1, 81)],
    1: [(6, 27), (2, 81)],
    0: [(5, 81)],
}


def test_algorithm1_r81_eta3():
    assert table(81, 3) == ALG1_81
    assert [b.s for b in S.brackets(81, 3)] == [4, 3, 2, 1, 0]


def test_paper_table_r81_eta3():
    assert table(81, 3, "paper_table") == TABLE1_81


@pytest.mark.parametrize("variant,configs,scratch,reuse", [
    ("algorithm1", 143, 1902, 1581),
    ("paper_table", 128, 1701, 1404),
])
def test_totals_r81(variant, configs, scratch, reuse):
    assert sum(b.n_configs for b in S.brackets(81, 3, variant)) == configs
    assert S.iteration_resource(81, 3, variant, reuse=False) == scratch
    assert S.iteration_resource(81, 3, variant, reuse=True) == reuse


def test_s_max_is_integer_exact():
    # math.log(243, 3) = 4.999..., math.log(1000, 10) = 2.999...
    assert S.s_max(243, 3) == 5
    assert S.s_max(1000, 10) == 3
    assert S.s_max(242, 3) == 4
    assert S.s_max(1, 3) == 0
    assert S.s_max(2, 3) == 0


def test_r243_eta3_six_brackets():
    t = table(243, 3)
    assert sorted(t) == [0, 1, 2, 3, 4, 5]
    # s=5: n = ceil(6*243/6) = 243 at r=1; s=4: ceil(6*81/5) = 98 at r=3
    assert t[5] == [(243, 1), (81, 3), (27, 9), (9, 27), (3, 81), (1, 243)]
    assert t[4] == [(98, 3), (32, 9), (10, 27), (3, 81), (1, 243)]
    assert t[3][0] == (41, 9)   # ceil(6*27/4) = 40.5 -> 41
    assert t[2][0] == (18, 27)  # 6*9/3
    assert t[1][0] == (9, 81)   # 6*3/2
    assert t[0] == [(6, 243)]


def test_r1000_eta10_four_brackets():
    t = table(1000, 10)
    assert sorted(t) == [0, 1, 2, 3]
    assert t[3] == [(1000, 1), (100, 10), (10, 100), (1, 1000)]
    assert t[2] == [(134, 10), (13, 100), (1, 1000)]  # ceil(4*100/3) = 133.3 -> 134
    assert t[1] == [(20, 100), (2, 1000)]
    assert t[0] == [(4, 1000)]


def test_r1_and_r_below_eta():
    assert table(1, 3) == {0: [(1, 1)]}
    assert table(2, 3) == {0: [(1, 2)]}
    assert S.iteration_resource(2, 3) == 2


def test_fractional_resources_are_exact():
    # R=100, eta=3: s_max=4, r_0 = 100/81
    b = S.bracket(100, 3, 4)
    assert b.rungs[0].r == Fraction(100, 81)
    assert b.rungs[-1].r == 100
    assert S.min_rung_resource(100, 3) == Fraction(100, 81)


def test_promotion_count_is_floor_ni_over_eta():
    for R, eta in [(81, 3), (243, 3), (1000, 10), (100, 4), (27, 2)]:
        for variant in S.SCHEDULES:
            for b in S.brackets(R, eta, variant):
                for a, c in zip(b.rungs, b.rungs[1:]):
                    assert c.n == a.n // eta
                    assert c.r == a.r * eta
                assert b.rungs[-1].r == R


@pytest.mark.parametrize("args,field", [
    ((0, 3), "max_resource"), ((81, 1), "eta"), ((81, 2.5), "eta"), ((81.5, 3), "max_resource"),
])
def test_bad_input_is_named(args, field):
    with pytest.raises(ConfigError, match=field):
        S.brackets(*args)


def test_unknown_variant_and_bracket():
    with pytest.raises(ConfigError, match="schedule"):
        S.brackets(81, 3, "keras")
    with pytest.raises(ConfigError, match="bracket"):
        S.bracket(81, 3, 5)


def test_markdown_table_prints_both_numbers():
    md = S.table_markdown(81, 3)
    assert "143 configurations" in md and "1581" in md and "1902" in md
    assert "| 0 | 81 | 1 | 34 | 3 | 15 | 9 | 8 | 27 | 5 | 81 |" in md
    md2 = S.table_markdown(81, 3, "paper_table")
    assert "| 0 | 81 | 1 | 27 | 3 | 9 | 9 | 6 | 27 | 5 | 81 |" in md2
