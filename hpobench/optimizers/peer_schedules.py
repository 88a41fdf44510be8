"""Hyperband schedules as the installed peer libraries compute them, by their own code.

Each function returns one Hyperband iteration as ``[[(n_i, r_i), ...] per bracket]`` in
the peer's bracket order (most aggressive first), or raises ``ImportError`` when the
peer is not installed.  :func:`compare` names how a peer's schedule differs from
hpobench's Algorithm 1 and the paper's printed Table 1 (``runners.schedule --peers``).

* SMAC3: ``smac.intensifier.hyperband_utils.determine_HB`` (what its Hyperband
  intensifier plans), ``min_budget = R / eta^s_max``.
* HpBandSter: its ``HyperBand.get_next_iteration`` for each bracket of one iteration.
* Keras Tuner: its ``HyperbandOracle._get_size`` / ``_get_epochs`` per bracket and round
  (what ``populate_space`` fills rounds up to).
* Ray Tune: its ``HyperBandScheduler._create_bracket`` for each bracket of one band and
  the bracket's own ``successive_halving`` for the sizes and milestones after each halving
  (it creates the brackets s = 0 first; listed here most aggressive first, like the rest).
"""
from __future__ import annotations

from typing import Callable

from hpobench import schedule as sched

Schedule = list[list[tuple[int, float]]]


def _min_budget(R: int, eta: int) -> float:
    return R / eta ** sched.s_max(R, eta)


def smac3(R: int, eta: int) -> Schedule:
    from smac.intensifier.hyperband_utils import determine_HB

    hb = determine_HB(min_budget=_min_budget(R, eta), max_budget=R, eta=eta)
    return [[(int(n), float(r)) for n, r in zip(hb["n_configs_in_stage"][k],
                                                hb["budgets_in_stage"][k])]
            for k in sorted(hb["n_configs_in_stage"])]


def hpbandster(R: int, eta: int) -> Schedule:
    from ConfigSpace import ConfigurationSpace, UniformFloatHyperparameter

    from hpobench.optimizers._hpbandster import local_optimizer

    cs = ConfigurationSpace(seed=0)
    cs.add(UniformFloatHyperparameter("x", 0.0, 1.0))
    hb = local_optimizer("hyperband", cs, eta=eta, min_budget=_min_budget(R, eta), max_budget=R)
    out = []
    for i in range(int(hb.max_SH_iter)):
        it = hb.get_next_iteration(i)
        out.append([(int(n), float(r)) for n, r in zip(it.num_configs, it.budgets)])
    return out


def keras_tuner(R: int, eta: int) -> Schedule:
    import os

    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras_tuner as kt

    oracle = kt.oracles.HyperbandOracle(objective=kt.Objective("loss", "min"), max_epochs=R,
                                        factor=eta, hyperband_iterations=1)
    return [[(oracle._get_size(b, r), float(oracle._get_epochs(b, r))) for r in range(b + 1)]
            for b in reversed(range(oracle._get_num_brackets()))]


def ray_tune(R: int, eta: int) -> Schedule:
    from hpobench.optimizers.peer_raytune import hyperband_brackets, make_scheduler

    band = hyperband_brackets(make_scheduler("hyperband", R, eta))
    return [[(n, float(r)) for n, r in b] for b in reversed(band)]


PEERS: dict[str, tuple[str, Callable[[int, int], Schedule]]] = {
    "SMAC3 HyperbandFacade": ("smac", smac3),
    "HpBandSter HyperBand": ("hpbandster", hpbandster),
    "Keras Tuner HyperbandOracle": ("keras_tuner", keras_tuner),
    "Ray Tune HyperBandScheduler": ("ray", ray_tune),
}
#: the extra that installs a peer, where it is not ``peers``
EXTRA = {"ray": "ray"}


def ours(R: int, eta: int, variant: str) -> Schedule:
    return [[(g.n, float(g.r)) for g in b.rungs] for b in sched.brackets(R, eta, variant)]


def compare(peer: Schedule, R: int, eta: int) -> str:
    """One sentence: which of hpobench's schedules the peer's equals, or how it differs."""
    for variant, label in (("algorithm1", "Algorithm 1"), ("paper_table", "the printed Table 1")):
        if _same(peer, ours(R, eta, variant)):
            return f"same as {label}"
    notes = []
    n_ours = sched.s_max(R, eta) + 1
    if len(peer) < n_ours:
        smallest = min(r for b in peer for _, r in b)
        notes.append(f"{len(peer)} brackets instead of {n_ours} (s_max = {len(peer) - 1} "
                     f"from a floating-point log; nothing runs below {smallest:g} units)")
    smallest = min(r for b in peer for _, r in b)
    k = round(smallest * eta ** sched.s_max(R, eta) / R) if smallest else 1
    if k > 1 and R % k == 0:  # the peer's schedule is ours for a smaller R, scaled up
        for variant, label in (("algorithm1", "Algorithm 1"), ("paper_table", "the printed Table 1")):
            scaled = [[(n, r * k) for n, r in b] for b in ours(R // k, eta, variant)]
            if _same(peer, scaled):
                notes.append(f"it is {label} for R={R // k} with every resource times {k}")
    alg1 = ours(R, eta, "algorithm1")
    kept = [f"{'/'.join(str(n) for n, _ in b)} where Algorithm 1 keeps "
            f"{'/'.join(str(n) for n, _ in a)}"
            for b, a in zip(peer, alg1) if len(b) == len(a) and b[0][0] == a[0][0]
            and [n for n, _ in b] != [n for n, _ in a]]
    if kept:
        notes.append("later rounds keep different counts: " + ", ".join(kept))
    short = [b[-1][1] for b in peer if b[-1][1] < R * (1 - 1e-9)]
    if short:
        notes.append(f"{len(short)} of {len(peer)} brackets stop below R (top rungs "
                     + "/".join(f"{r:g}" for r in short) + ")")
    firsts = [b[0][0] for b in peer]
    notes.append("brackets start with " + "/".join(str(n) for n in firsts) + " configurations")
    return "differs: " + "; ".join(notes)


def _same(a: Schedule, b: Schedule) -> bool:
    return len(a) == len(b) and all(
        len(x) == len(y) and all(n1 == n2 and abs(r1 - r2) <= 1e-9 * max(1.0, r2)
                                 for (n1, r1), (n2, r2) in zip(x, y)) for x, y in zip(a, b))


def fmt(s: Schedule) -> list[str]:
    """One line per bracket: ``n_0/r_0, n_1/r_1, ...``."""
    return [", ".join(f"{n}/{r:g}" for n, r in b) for b in s]
