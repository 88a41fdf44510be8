"""Aggregation on real runs: incumbent curves against a hand computation on the recorded
rows, seed aggregates against hand-computed means and standard errors, grouping that never
mixes settings, ranks and speed-ups."""
from __future__ import annotations

import json
import math
import shutil
import statistics

import numpy as np
import pandas as pd
import pytest

from hpobench import aggregate as ag
from hpobench.benchmarks.envelope import EnvelopeBenchmark
from hpobench.errors import ConfigError
from hpobench.optimizers import Hyperband, RandomSearch, SuccessiveHalving
from hpobench.run import run
from hpobench.seeding import optimizer_rng

R = 9          # s_max = 2 with eta = 3: brackets 0, 1, 2
BUDGET = 4     # multiples of R
SEEDS = (0, 1, 2)


def _bench(max_resource: int = R) -> EnvelopeBenchmark:
    # some evaluations fail, so the test sees that failures never become incumbents
    return EnvelopeBenchmark(max_resource=max_resource, failure_rate=0.15)


def run_one(root, method: str, make, seed: int, variant: str, max_resource: int = R) -> None:
    """Run ``method`` for real into ``root`` in the sweep layout
    ``<benchmark>/<method>/[<variant>/]seed=<k>/``."""
    b = _bench(max_resource)
    d = root / b.name / method / variant / f"seed={seed}" if variant else \
        root / b.name / method / f"seed={seed}"
    run(b, make(b, optimizer_rng(seed)), budget=BUDGET, seed=seed, method_name=method,
        run_dir=d, variant=variant, progress=False)


def build_results(root, brackets=(0, 1, 2)) -> None:
    """Hyperband and random search (3 seeds each), plus successive halving per bracket."""
    v = f"budget={BUDGET}"
    for seed in SEEDS:
        run_one(root, "hyperband", lambda b, rng: Hyperband(b.space, b.max_resource, rng), seed, v)
        run_one(root, "random", lambda b, rng: RandomSearch(b.space, b.max_resource, rng), seed, v)
        for s in brackets:
            run_one(root, "successive_halving",
                    lambda b, rng, s=s: SuccessiveHalving(b.space, b.max_resource, rng, bracket=s),
                    seed, f"{v},method.bracket={s}")


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    root = tmp_path_factory.mktemp("results")
    build_results(root, brackets=())
    return root


@pytest.fixture(scope="module")
def frame(results):
    return ag.load_results(results)


def _hand_incumbents(rows: pd.DataFrame, full: bool = False
                     ) -> list[tuple[float, float, float, int]]:
    """(x, incumbent val, incumbent test, row index) after each row, by the definition;
    ``full``: only rows trained to the full resource R compete."""
    out, best, chosen = [], math.inf, None
    for idx, r in rows.iterrows():
        if full and r["resource"] != R:
            pass
        elif r["status"] == "ok" and r["val_loss"] < best:
            best, chosen = r["val_loss"], idx
        x = r["total_resource"] / R
        if chosen is None:
            out.append((x, math.nan, math.nan, -1))
        else:
            out.append((x, rows.loc[chosen, "val_loss"], rows.loc[chosen, "test_loss"], chosen))
    return out


def test_load_reads_every_run_with_its_settings(results, frame):
    assert frame["run_dir"].nunique() == 6
    assert set(frame["method"]) == {"hyperband", "random"}
    assert set(frame["context"]) == {f"budget={BUDGET}"}
    assert set(frame["method_variant"]) == {""}
    assert set(frame["sweep"]) == {""}
    # the same rows pandas reads from one Parquet file, nothing added or lost
    one = pd.read_parquet(results / "envelope" / "random" / f"budget={BUDGET}" / "seed=1" /
                          "evaluations.parquet")
    mine = frame[(frame["method"] == "random") & (frame["seed"] == 1)]
    assert mine["val_loss"].tolist() == one["val_loss"].tolist()


def test_incumbent_curve_matches_hand_computation(results, frame):
    assert (frame["status"] != "ok").any(), "the fixture should contain failed evaluations"
    for run_dir, rows in frame.groupby("run_dir"):
        curve = ag.incumbent_curve(rows)
        hand = _hand_incumbents(rows)
        assert len(curve) == len(rows)
        for (x, v, t, i), (_, c) in zip(hand, curve.iterrows()):
            assert c["x"] == pytest.approx(x)
            if i < 0:
                assert math.isnan(c["incumbent_test"])
            else:
                assert c["incumbent_row"] == i
                assert c["incumbent_val"] == v and c["incumbent_test"] == t
                assert rows.loc[i, "status"] == "ok"  # failures never chosen
        vals = curve["incumbent_val"].dropna().to_numpy()
        assert np.all(np.diff(vals) <= 0)  # validation choice never gets worse
        # the run loop's own record of its final incumbent agrees
        meta = json.loads((results / run_dir / "run.json").read_text())
        assert curve["incumbent_test"].iloc[-1] == meta["incumbent"]["test_loss"]
        assert curve["x"].iloc[-1] <= BUDGET + 1e-9


def test_full_resource_incumbent_matches_hand_computation(frame):
    hb = frame[frame["method"] == "hyperband"]
    assert (hb["resource"] < R).any() and (hb["resource"] == R).any()
    for _, rows in hb.groupby("run_dir"):
        curve = ag.incumbent_curve(rows, incumbent="full")
        hand = _hand_incumbents(rows, full=True)
        for (x, v, t, i), (_, c) in zip(hand, curve.iterrows()):
            assert c["x"] == pytest.approx(x)
            if i < 0:
                assert math.isnan(c["incumbent_test"]) and c["incumbent_row"] == -1
            else:
                assert c["incumbent_row"] == i and rows.loc[i, "resource"] == R
                assert c["incumbent_val"] == v and c["incumbent_test"] == t
        any_curve = ag.incumbent_curve(rows)
        # a full-R incumbent can never have a smaller validation loss than the any-R one
        both = curve["incumbent_val"].notna()
        assert (curve["incumbent_val"][both] >= any_curve["incumbent_val"][both]).all()
    # random search trains every configuration to R: both rules pick the same rows
    for _, rows in frame[frame["method"] == "random"].groupby("run_dir"):
        assert (ag.incumbent_curve(rows, "full")["incumbent_row"].tolist()
                == ag.incumbent_curve(rows)["incumbent_row"].tolist())
    # curves() passes the rule on
    cur = ag.curves(hb, incumbent="full")
    assert set(cur["incumbent_row"][cur["incumbent_row"] >= 0]) <= set(hb.index[hb["resource"] == R])


def test_full_resource_incumbent_on_a_small_table():
    # the best validation loss (0.1) sits at resource 3 < R = 9; the full-R rule skips it
    rows = pd.DataFrame({"total_resource": [1.0, 4.0, 13.0, 22.0, 31.0],
                         "resource": [1.0, 3.0, 9.0, 9.0, 9.0],
                         "val_loss": [0.3, 0.1, 0.25, 0.2, 0.22],
                         "test_loss": [0.35, 0.4, 0.27, 0.21, 0.2],
                         "status": ["ok", "ok", "ok", "failed", "ok"],
                         "max_resource": [9] * 5, "budget_scale": [1.0] * 5})
    full = ag.incumbent_curve(rows, incumbent="full")
    assert full["incumbent_row"].tolist() == [-1, -1, 2, 2, 4]
    assert full["incumbent_test"].tolist()[2:] == [0.27, 0.27, 0.2]
    assert ag.incumbent_curve(rows)["incumbent_test"].tolist() == [0.35, 0.4, 0.4, 0.4, 0.4]
    with pytest.raises(ConfigError, match="incumbent"):
        ag.incumbent_curve(rows, incumbent="last")
    with pytest.raises(ConfigError, match="resource"):
        ag.incumbent_curve(rows.drop(columns="resource"), incumbent="full")


def test_x_divides_by_budget_scale():
    # a method running two searches side by side (random_2x) used 2x at x
    rows = pd.DataFrame({"total_resource": [18.0, 36.0, 54.0], "val_loss": [0.5, 0.7, 0.2],
                         "test_loss": [0.55, 0.75, 0.25], "status": ["ok", "ok", "ok"],
                         "max_resource": [9, 9, 9], "budget_scale": [2.0, 2.0, 2.0],
                         "trial_id": [0, 1, 2]})
    c = ag.incumbent_curve(rows)
    assert c["x"].tolist() == [1.0, 2.0, 3.0]
    assert c["incumbent_test"].tolist() == [0.55, 0.55, 0.25]


def test_mean_and_sem_on_a_grid_match_hand_computation(frame):
    cur = ag.curves(frame[frame["method"] == "random"])
    grid = [1.0, 1.5, 2.0, 3.0, 3.99]
    agg = ag.aggregate(cur, grid=grid)
    per_seed = []
    for _, rows in frame[frame["method"] == "random"].groupby("seed"):
        hand = _hand_incumbents(rows)
        per_seed.append([[t for x, _, t, _ in hand if x <= g + 1e-12][-1] for g in grid])
    # a grid point where some seed has no incumbent yet (its first trials failed) is
    # dropped rather than averaged over the other seeds
    full = [j for j in range(len(grid)) if not any(math.isnan(s[j]) for s in per_seed)]
    assert full and agg["x"].tolist() == [grid[j] for j in full]
    for k, j in enumerate(full):
        col = [s[j] for s in per_seed]
        assert agg["mean"].iloc[k] == pytest.approx(statistics.mean(col))
        assert agg["sem"].iloc[k] == pytest.approx(statistics.stdev(col) / math.sqrt(3))
        assert agg["median"].iloc[k] == pytest.approx(statistics.median(col))
        assert agg["n"].iloc[k] == 3


def test_median_band_is_the_interquartile_range(frame):
    cur = ag.curves(frame[frame["method"] == "hyperband"])
    agg = ag.aggregate(cur, grid="linear", points=20, stat="median")
    assert (agg["center"] == agg["median"]).all()
    assert (agg["lower"] <= agg["center"]).all() and (agg["center"] <= agg["upper"]).all()
    assert (agg["lower"] == agg["q25"]).all() and (agg["upper"] == agg["q75"]).all()


def test_log_grid_starts_where_every_seed_has_an_incumbent(frame):
    cur = ag.curves(frame[frame["method"] == "hyperband"])
    agg = ag.aggregate(cur, grid="log", points=30)
    firsts = [g.loc[g["incumbent_test"].notna(), "x"].iloc[0] for _, g in cur.groupby("run_dir")]
    ends = [g["x"].iloc[-1] for _, g in cur.groupby("run_dir")]
    assert agg["x"].iloc[0] == pytest.approx(max(firsts))
    assert agg["x"].iloc[-1] == pytest.approx(min(ends))
    assert np.all(np.diff(np.log(agg["x"].to_numpy()))[1:-1] > 0)


def test_grouping_never_averages_differing_settings(tmp_path):
    v = f"budget={BUDGET}"
    hb = lambda b, rng: Hyperband(b.space, b.max_resource, rng)  # noqa: E731
    for seed in (0, 1):
        run_one(tmp_path, "hyperband", hb, seed, v)                       # R=9
        run_one(tmp_path / "other", "hyperband", hb, seed, v, max_resource=27)  # R=27
        run_one(tmp_path, "hyperband", lambda b, rng: Hyperband(b.space, b.max_resource, rng,
                                                              eta=2),
                seed, f"{v},method.eta=2")
    # the same settings in a second sweep folder: kept apart too
    shutil.copytree(tmp_path / "envelope", tmp_path / "sweep_b" / "envelope")
    df = ag.load_results(tmp_path)
    agg = ag.aggregate(ag.curves(df), grid="linear", points=10)
    groups = agg.groupby(list(ag.GROUP_KEYS)).ngroups
    assert groups == 5  # (R=9, R=27, eta=2) in the root + (R=9, eta=2) in sweep_b
    assert set(agg["n"]) == {2}  # two seeds each: nothing pooled
    assert set(agg["sweep"]) == {"", "other", "sweep_b"}
    eta2 = agg[agg["method_variant"] == "method.eta=2"]
    assert set(eta2["context"]) == {f"budget={BUDGET}"}  # comparable with the eta=3 runs
    assert ag.contexts(agg)  # and grouped into comparable contexts
    assert len(ag.contexts(agg)) == 3  # (root, R=9), (other, R=27), (sweep_b, R=9)
    # a curve of R=9 seeds differs from one that would pool R=27 runs
    r9 = agg[(agg["max_resource"] == 9) & (agg["method_variant"] == "") & (agg["sweep"] == "")]
    r27 = agg[agg["max_resource"] == 27]
    assert not np.allclose(r9["mean"].to_numpy()[-1], r27["mean"].to_numpy()[-1])


def test_split_variant_and_settings():
    assert ag.split_variant("benchmark.weights=[1,0.1],budget=5,method.bracket=2") == [
        "benchmark.weights=[1,0.1]", "budget=5", "method.bracket=2"]
    assert ag.split_settings("method.eta=4,budget=5,+method.x=1") == ("budget=5",
                                                                       "+method.x=1,method.eta=4")
    assert ag.split_settings("") == ("", "")
    assert ag.method_option("method.bracket=3", "bracket") == "3"
    assert ag.method_option("budget=3", "bracket") is None


def test_summary_speedup_against_random(frame):
    cur = ag.curves(frame)
    table = ag.summary(cur)
    rnd = cur[cur["method"] == "random"]
    hb = cur[cur["method"] == "hyperband"]

    def mean_at(c, x):
        vals = []
        for _, g in c.groupby("run_dir"):
            before = g[g["x"] <= x + 1e-12]
            vals.append(before["incumbent_test"].iloc[-1] if len(before) else math.nan)
        return float(np.mean(vals))

    def span(c):
        firsts = [g.loc[g["incumbent_test"].notna(), "x"].iloc[0] for _, g in c.groupby("run_dir")]
        return max(firsts), min(g["x"].iloc[-1] for _, g in c.groupby("run_dir"))

    lo, hi = span(rnd)
    target = mean_at(rnd, hi)

    def settled(c):  # from where the mean stays at or below the target to its end
        lo, hi = span(c)
        xs = sorted(x for x in set(c["x"]) if lo <= x <= hi)
        above = [x for x in xs if mean_at(c, x) > target + 1e-12]
        if not above:
            return xs[0]
        later = [x for x in xs if x > above[-1]]
        return later[0] if later else math.nan

    t = table.set_index("method")
    row = t.loc["hyperband"]
    assert row["target"] == pytest.approx(target)
    assert row["x_to_target"] == pytest.approx(settled(hb), nan_ok=True)
    assert row["speedup"] == pytest.approx(hi / settled(hb), nan_ok=True)
    assert t.loc["random", "speedup"] == 1.0 and t.loc["random", "x_to_target"] == hi
    assert row["final_mean"] == pytest.approx(mean_at(hb, span(hb)[1]))
    for m, r in t.iterrows():  # ends below random: never slower; ends above: never reached
        if r["final_mean"] < target:
            assert r["speedup"] >= 1.0
        elif r["final_mean"] > target:
            assert math.isnan(r["speedup"])


def test_speedup_cannot_invert_where_curves_end():
    """Issue 16: random's non-monotone mean first touches its final value at 1R, Hyperband
    ends far below it but first gets there at 3R: first crossings gave 1/3 = 0.33."""
    def run(method, seed, xs, ys):
        return pd.DataFrame({"sweep": "", "benchmark": "b", "context": "", "context_key": "",
                             "max_resource": 9, "method": method, "method_variant": "",
                             "method_key": method, "budget_scale": 1.0,
                             "seed": seed, "run_dir": f"{method}/{seed}", "x": xs,
                             "incumbent_test": ys})
    # random: 0.35 at 1R, 0.5 at 2R, 0.40 (its final) from 3R to 4R
    rnd = [run("random", s, [1.0, 2.0, 3.0, 4.0], [0.35, 0.5, 0.4, 0.4]) for s in (0, 1)]
    # hb: 0.45 at 1R, 0.6 at 2R, 0.2 from 3R to 4R: ends far below random
    hb = [run("hyperband", s, [1.0, 2.0, 3.0, 4.0], [0.45, 0.6, 0.2, 0.2]) for s in (0, 1)]
    t = ag.summary(pd.concat(rnd + hb, ignore_index=True), boot=200).set_index("method")
    assert t.loc["random", "target"] == pytest.approx(0.4)
    # hb stays <= 0.4 from 3R; random spent 4R: 4/3
    assert t.loc["hyperband", "x_to_target"] == 3.0
    assert t.loc["hyperband", "speedup"] == pytest.approx(4 / 3)
    # identical seeds: every resample gives the same curves
    assert t.loc["hyperband", "speedup_lo"] == pytest.approx(4 / 3)
    assert t.loc["hyperband", "speedup_hi"] == pytest.approx(4 / 3)


def test_ranks_order_methods_by_their_curves(frame):
    agg = ag.aggregate(ag.curves(frame), grid="linear", points=20)
    rk = ag.ranks(agg)
    wide = rk.pivot_table(index="x", columns="method", values="rank")
    assert set(np.unique(wide.to_numpy())) <= {1.0, 1.5, 2.0}
    assert np.allclose(wide.sum(axis=1), 3.0)
    # at the last ranked x, the method with the lower mean has rank 1
    x = wide.index[-1]
    means = {m: ag.step_values(g["x"].to_numpy(), g["center"].to_numpy(), np.array([x]))[0]
             for m, g in agg.groupby("method")}
    best = min(means, key=means.get)
    if means["hyperband"] != means["random"]:
        assert wide.loc[x, best] == 1.0


def test_bad_grid_settings_are_config_errors(frame):
    with pytest.raises(ConfigError, match="grid"):
        ag.make_grid(1, 10, 5, "cubic")
    with pytest.raises(ConfigError, match="points"):
        ag.make_grid(1, 10, 1)
    with pytest.raises(ConfigError, match="stat"):
        ag.aggregate(ag.curves(frame), stat="mode")


def test_empty_root_gives_an_empty_frame(tmp_path):
    df = ag.load_results(tmp_path / "nothing")
    assert df.empty and "method" in df.columns
    assert ag.aggregate(ag.curves(df)).empty


def test_summary_pairs_each_method_with_hyperband_on_its_seeds():
    """Final values by hand: hyperband 0.2/0.3/0.4/0.5/0.6 on seeds 0-4; tpe lower on four
    seeds, higher on one; random higher everywhere, and without seed 4."""
    from scipy.stats import wilcoxon

    def run(method, seed, final):
        return pd.DataFrame({"sweep": "", "benchmark": "b", "context": "", "context_key": "",
                             "max_resource": 9, "method": method, "method_variant": "",
                             "method_key": method, "budget_scale": 1.0, "seed": seed,
                             "run_dir": f"{method}/{seed}", "x": [1.0, 4.0],
                             "incumbent_test": [0.9, final]})
    hb = {0: 0.2, 1: 0.3, 2: 0.4, 3: 0.5, 4: 0.6}
    tpe = {0: 0.1, 1: 0.25, 2: 0.45, 3: 0.3, 4: 0.55}
    rnd = {0: 0.7, 1: 0.8, 2: 0.5, 3: 0.9}
    parts = [run("hyperband", s, v) for s, v in hb.items()]
    parts += [run("tpe", s, v) for s, v in tpe.items()]
    parts += [run("random", s, v) for s, v in rnd.items()]
    t = ag.summary(pd.concat(parts, ignore_index=True), boot=10).set_index("method")
    d_tpe = [tpe[s] - hb[s] for s in range(5)]  # -0.1 -0.05 +0.05 -0.2 -0.05
    assert t.loc["tpe", "vs_wins"] == 4 and t.loc["tpe", "vs_n"] == 5
    assert t.loc["tpe", "vs_p"] == pytest.approx(wilcoxon(d_tpe).pvalue)
    assert t.loc["random", "vs_n"] == 4 and t.loc["random", "vs_wins"] == 0
    assert t.loc["random", "vs_p"] == pytest.approx(wilcoxon([0.5, 0.5, 0.1, 0.4]).pvalue)
    assert math.isnan(t.loc["hyperband", "vs_p"]) and t.loc["hyperband", "vs", ] == "hyperband"
    # ranks within each seed (1 = lowest): seed 0: tpe 1, hb 2, random 3; seed 1: tpe, hb,
    # random; seed 2: hb 1, tpe 2, random 3; seed 3: tpe, hb, random; seed 4: tpe 1, hb 2
    assert t.loc["tpe", "final_rank"] == pytest.approx((1 + 1 + 2 + 1 + 1) / 5)
    assert t.loc["hyperband", "final_rank"] == pytest.approx((2 + 2 + 1 + 2 + 2) / 5)
    assert t.loc["random", "final_rank"] == pytest.approx(3.0)
