"""BOHB against Hyperband on the structured and the i.i.d. envelope benchmarks.

Runs the sweep through the normal entry point (``python -m runners.sweep -m``: both
methods, both terminal-loss modes, ``--seeds`` seeds, the same budget for every run),
then prints, per benchmark and budget checkpoint, the incumbent's test error over seeds
(mean ± s.e., IQM with a 95% bootstrap interval), the paired test "BOHB beats Hyperband"
(mean of the per-seed differences with its s.e., wins/losses, one-sided Wilcoxon p), and a
diagnostic of the samplers: the mean terminal loss ``nu`` of the configurations each
method *started* (rung-0 rows) in its first Hyperband iteration and after it.

    python -m runners.bohb_vs_hyperband --results /tmp/bvh --seeds 20 --budget 50
    python -m runners.bohb_vs_hyperband --results /tmp/bvh --no-run      # table only
    python -m runners.bohb_vs_hyperband --results /tmp/bvh2 benchmark.width=0.1  # a variant

Finished runs are skipped by the sweep, so re-running only adds what is missing.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from hpobench import aggregate as ag
from hpobench.benchmarks.envelope import EnvelopeBenchmark
from hpobench.errors import ConfigError
from hpobench.stats import mean_se, paired_test, seed_statistics

METHODS = ("bohb", "hyperband")
TERMINALS = ("structured", "iid")


def sweep(results: Path, seeds: int, budget: float, max_resource: int, extra=()) -> None:
    cmd = [sys.executable, "-m", "runners.sweep", "-m", f"method={','.join(METHODS)}",
           f"benchmark.terminal={','.join(TERMINALS)}", f"benchmark.max_resource={max_resource}",
           f"seed=range(0,{seeds})", f"budget={budget:g}", f"results_dir={results}",
           "progress=false", *extra]
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def _labels(df: pd.DataFrame) -> pd.Series:
    """Per row, the benchmark variant: ``terminal=<mode>`` from the resolved settings,
    then the run's other ``benchmark.*`` overrides as a label (``terminal=iid,width=0.1``);
    runs whose settings differ under one label get a digest of their settings appended."""
    def label(row) -> str:
        rest = [i.removeprefix("benchmark.") for i in ag.split_variant(row.context)
                if i.startswith("benchmark.") and i.partition("=")[0] not in
                ("benchmark.terminal", "benchmark.max_resource")]
        return ",".join([f"terminal={row.terminal}", *sorted(rest)])

    runs = df.drop_duplicates("run_dir").assign(
        terminal=lambda d: d["benchmark.terminal"]).copy()
    runs["label"] = [label(r) for r in runs.itertuples()]
    clash = runs.groupby("label")["context_key"].transform("nunique") > 1
    runs.loc[clash, "label"] += " #" + runs.loc[clash, "context_key"].str[:6]
    return df["run_dir"].map(dict(zip(runs["run_dir"], runs["label"])))


def _benchmark(run: pd.DataFrame) -> EnvelopeBenchmark:
    """The run's benchmark, rebuilt from its resolved settings (run.json)."""
    return EnvelopeBenchmark(**ag.settings_of(run)["benchmark_settings"])


def final_errors(df: pd.DataFrame, checkpoints) -> pd.DataFrame:
    """Tidy frame: terminal, method, seed, budget, test_loss of the incumbent at each
    checkpoint (multiples of R)."""
    c = ag.curves(df)
    c["label"] = _labels(c)
    out = []
    for (term, _, method, seed), g in c.groupby(["label", "context_key", "method", "seed"]):
        g = g.sort_values("x", kind="stable")
        for b in checkpoints:
            upto = g[g["x"] <= b + 1e-9]
            v = upto["incumbent_test"].iloc[-1] if len(upto) else np.nan
            out.append({"benchmark": term, "method": method, "seed": seed, "budget": b,
                        "test_loss": v})
    return pd.DataFrame(out)


def sampled_nu(df: pd.DataFrame) -> pd.DataFrame:
    """Mean terminal loss of the configurations each run started, in its first Hyperband
    iteration (both methods sample at random there) and in later ones."""
    rows = []
    names = EnvelopeBenchmark().space.names
    df = df.assign(label=_labels(df))
    for (term, _, method, seed), g in df.groupby(["label", "context_key", "method", "seed"]):
        bench = _benchmark(g)
        starts = g[g["rung"] == 0]
        nu = [bench.terminal_loss({n: r[f"config.{n}"] for n in names})
              for r in starts.to_dict("records")]
        first = (starts["iteration"] == 0).to_numpy()
        nu = np.asarray(nu)
        rows.append({"benchmark": term, "method": method, "seed": seed,
                     "nu_first_iteration": nu[first].mean(),
                     "nu_later": nu[~first].mean() if (~first).any() else np.nan})
    return pd.DataFrame(rows)


def incumbent_anatomy(df: pd.DataFrame) -> pd.DataFrame:
    """Why a final incumbent has its test error: per run, the incumbent's resource, its
    validation and test loss and its terminal loss ``nu``; and, for contrast, the test
    loss and ``nu`` of the best-validation row among the evaluations at the full ``R``."""
    rows = []
    names = EnvelopeBenchmark().space.names
    df = df.assign(label=_labels(df))
    for (term, _, method, seed), g in df.groupby(["label", "context_key", "method", "seed"]):
        bench = _benchmark(g)
        nu = lambda r: bench.terminal_loss({n: r[f"config.{n}"] for n in names})
        ok = g[(g["status"] == "ok") & np.isfinite(g["val_loss"])]
        inc = ok.loc[ok["val_loss"].idxmin()]
        at_r = ok[ok["resource"] == bench.max_resource]
        inc_r = at_r.loc[at_r["val_loss"].idxmin()] if len(at_r) else None
        rows.append({"benchmark": term, "method": method, "seed": seed,
                     "resource": inc["resource"], "val": inc["val_loss"],
                     "test": inc["test_loss"], "nu": nu(inc),
                     "test_at_R": np.nan if inc_r is None else inc_r["test_loss"],
                     "nu_at_R": np.nan if inc_r is None else nu(inc_r)})
    return pd.DataFrame(rows)


def _fmt(m, se, digits=4):
    return f"{m:.{digits}f} ± {se:.{digits}f}"


def table(errors: pd.DataFrame, nu: pd.DataFrame, anatomy: pd.DataFrame, seed: int = 0) -> str:
    rng = np.random.default_rng(seed)
    s = seed_statistics(errors, rng, by=("benchmark", "budget", "method"))
    lines = ["| benchmark | budget (R) | method | n | test error mean ± s.e. | IQM [95% CI] |",
             "|---|---|---|---|---|---|"]
    for r in s.itertuples():
        lines.append(f"| {r.benchmark} | {r.budget:g} | {r.method} | {r.n} | {_fmt(r.mean, r.se)} "
                     f"| {r.iqm:.4f} [{r.iqm_low:.4f}, {r.iqm_high:.4f}] |")
    lines += ["", "| benchmark | budget (R) | BOHB - Hyperband (mean ± s.e.) | BOHB wins / losses "
              "| Wilcoxon p (BOHB smaller) |", "|---|---|---|---|---|"]
    for (term, b), g in errors.groupby(["benchmark", "budget"]):
        p = paired_test(g, "bohb", "hyperband")
        lines.append(f"| {term} | {b:g} | {_fmt(p['mean_diff'], p['se'])} | "
                     f"{p['wins']} / {p['losses']} | {p['p_value']:.3g} |")
    lines += ["", "| benchmark | method | mean nu of started configurations, first iteration "
              "| later iterations |", "|---|---|---|---|"]
    for (term, method), g in nu.groupby(["benchmark", "method"]):
        lines.append(f"| {term} | {method} | {_fmt(*mean_se(g['nu_first_iteration']))} | "
                     f"{_fmt(*mean_se(g['nu_later']))} |")
    cols = ("resource", "val", "test", "nu", "test_at_R", "nu_at_R")
    lines += ["", "Final incumbent (whole budget), mean ± s.e. over seeds; the last two columns "
              "take the best-validation row among evaluations at R instead:", "",
              "| benchmark | method | " + " | ".join(cols) + " |", "|---|---|" + "---|" * len(cols)]
    for (term, method), g in anatomy.groupby(["benchmark", "method"]):
        lines.append(f"| {term} | {method} | " + " | ".join(
            _fmt(*mean_se(g[c]), digits=1 if c == "resource" else 4) for c in cols) + " |")
    lines += ["", "| benchmark | paired over seeds, BOHB - Hyperband | mean ± s.e. | wins / losses "
              "| Wilcoxon p (BOHB smaller) |", "|---|---|---|---|---|"]
    for term, g in anatomy.groupby("benchmark"):
        for c in ("val", "nu", "test_at_R", "nu_at_R"):
            p = paired_test(g, "bohb", "hyperband", value=c)
            lines.append(f"| {term} | incumbent {c} | {_fmt(p['mean_diff'], p['se'])} | "
                         f"{p['wins']} / {p['losses']} | {p['p_value']:.3g} |")
    return "\n".join(lines)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--results", type=Path, required=True, help="results directory (use /tmp)")
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--budget", type=float, default=50, help="multiples of R per run")
    ap.add_argument("--max-resource", type=int, default=81, help="R of the envelope benchmark")
    ap.add_argument("--checkpoints", default="", help="budgets to report, e.g. 10,25,50 "
                    "(default: a fifth, half and all of --budget)")
    ap.add_argument("--no-run", action="store_true", help="only read existing results")
    ap.add_argument("--csv", type=Path, default=None, help="also write the tidy tables "
                    "(final_errors.csv, incumbents.csv) into this folder, e.g. for a figure")
    ap.add_argument("overrides", nargs="*", help="more sweep overrides, e.g. benchmark.spread=1.0")
    a = ap.parse_args(argv)
    if a.seeds < 2:
        raise ConfigError(f"--seeds: a paired comparison needs at least 2, got {a.seeds}")
    checkpoints = ([float(x) for x in a.checkpoints.split(",")] if a.checkpoints
                   else [a.budget / 5, a.budget / 2, a.budget])
    if not a.no_run:
        sweep(a.results.resolve(), a.seeds, a.budget, a.max_resource, a.overrides)
    from hpobench.aggregate import load_results

    df = load_results(a.results)
    df = df[df["method"].isin(METHODS)]
    if df.empty:
        raise ConfigError(f"--results: no bohb/hyperband runs under {a.results}")
    errors, anatomy = final_errors(df, checkpoints), incumbent_anatomy(df)
    if a.csv is not None:
        a.csv.mkdir(parents=True, exist_ok=True)
        errors.to_csv(a.csv / "final_errors.csv", index=False)
        anatomy.to_csv(a.csv / "incumbents.csv", index=False)
    print(table(errors, sampled_nu(df), anatomy))


if __name__ == "__main__":
    try:
        main()
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
