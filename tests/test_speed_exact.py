"""The fast paths give exactly the values of the straightforward code (issue #7).

Documented figures depend on the exact configurations sampled and the exact trial seeds,
so the faster space maps, batched trial seeds and ask/tell bookkeeping are compared to
the last bit: against a reference copy of the previous space maps, against numpy's own
SeedSequence, and against digests of job sequences recorded before the speed-up.
"""
from __future__ import annotations

import dataclasses
import hashlib
import inspect
import math
import struct

import numpy as np
import pytest

from hpobench.benchmarks.spaces import lenet_space
from hpobench.optimizers import Hyperband
from hpobench.seeding import optimizer_rng, trial_seed, trial_seeds
from hpobench.space import Categorical, Float, Int, SearchSpace
from hpobench.trial import Evaluation, Job


# -- reference: the space maps as they were before precomputing their constants ----------
def ref_from_unit(p, u, low, high):
    if isinstance(p, Categorical):
        i = min(int(math.floor(u * len(p.choices))), len(p.choices) - 1)
        return p.choices[i]
    if isinstance(p, Float):
        if p.log:
            v = math.exp(math.log(low) + u * (math.log(high) - math.log(low)))
        else:
            v = low + u * (high - low)
        return float(min(max(v, low), high))
    if p.log:
        a, b = math.log(low - 0.5), math.log(high + 0.5)
        v = int(round(math.exp(a + u * (b - a))))
    else:
        v = low + int(math.floor(u * (high - low + 1)))
    return int(min(max(v, low), high))


def ref_to_unit(p, value, low, high):
    if isinstance(p, Categorical):
        return (p.choices.index(value) + 0.5) / len(p.choices)
    if isinstance(p, Float):
        if high == low:
            return 0.5
        if p.log:
            return (math.log(value) - math.log(low)) / (math.log(high) - math.log(low))
        return (value - low) / (high - low)
    if p.log:
        a, b = math.log(low - 0.5), math.log(high + 0.5)
        return (math.log(value) - a) / (b - a)
    return (value - low + 0.5) / (high - low + 1)


def ref_bounds(p, config):
    if isinstance(p, Categorical):
        return None, None
    return tuple(config[b] if isinstance(b, str) else b for b in (p.low, p.high))


def ref_decode(space, u):
    cfg = {}
    for p, x in zip(space.params, u):
        cfg[p.name] = ref_from_unit(p, min(max(float(x), 0.0), 1.0), *ref_bounds(p, cfg))
    return cfg


def ref_encode(space, config):
    return np.array([min(max(ref_to_unit(p, config[p.name], *ref_bounds(p, config)), 0.0), 1.0)
                     for p in space.params])


# -- spaces and unit vectors -----------------------------------------------------------
def mixed_space():
    """Every kind of parameter and bound: float log/linear (int and float bounds),
    int log/linear, categorical, bounds naming earlier parameters, equal bounds."""
    return SearchSpace([
        Float("lr", 1e-5, 3.7, log=True),
        Float("shift", -2.5, 7.1),
        Float("frac", 0, 1),
        Int("depth", 1, 4),
        Int("width", 3, 100000, log=True),
        Categorical("act", ["relu", 2, None, ("a", 1)]),
        Float("lr_min", 1e-6, "lr", log=True),
        Float("above", "shift", 9.0),
        Int("heads", "depth", 10, log=True),
        Int("top", 5, 12),
        Int("between", "depth", "top"),
        Float("same_log", 2.0, 2.0, log=True),
        Int("same_int", 7, 7),
        Float("same", 1.0, 1.0),
    ])


SPACES = {
    "lenet": lenet_space,
    "mixed": mixed_space,
    "float_log": lambda: SearchSpace([Float("x", 1e-3, 1e-1, log=True)]),
    "float_linear": lambda: SearchSpace([Float("x", -1.0, 3.0)]),
    "int_log": lambda: SearchSpace([Int("n", 10, 1000, log=True)]),
    "int_linear": lambda: SearchSpace([Int("k", 1, 4)]),
    "categorical": lambda: SearchSpace([Categorical("c", ["sgd", "adam", "rms"])]),
    "dependent": lambda: SearchSpace([Int("k2", 10, 60), Int("k1", 5, "k2"),
                                      Float("hi", 0.5, 2.0), Float("lo", 0.1, "hi", log=True)]),
}
EDGES = [0.0, -0.0, 1.0, 0.5, 1 - 2 ** -53, 2 ** -1074, 1e-300, -1.0, 2.0, 1.5, -1e-12]


def unit_vectors(d, n=3000, seed=0):
    rng = np.random.default_rng(seed)
    u = rng.random((n, d))
    u[: n // 10] = rng.choice(EDGES, size=(n // 10, d))  # bounds, beyond, tiny
    u[n // 10: n // 5] = np.round(u[n // 10: n // 5], 2)  # cell edges of small grids
    return u


def bits(v):
    """A value with its type and, for floats, its exact bit pattern."""
    return (type(v), struct.pack("<d", v)) if isinstance(v, float) else (type(v), v)


def same(a: dict, b: dict) -> bool:
    return list(a) == list(b) and [bits(v) for v in a.values()] == [bits(v) for v in b.values()]


@pytest.mark.parametrize("name", sorted(SPACES))
def test_decode_and_encode_are_bit_identical_to_the_reference(name):
    space = SPACES[name]()
    for u in unit_vectors(len(space)):
        for x in (u, u.tolist()):  # numpy and Python floats
            cfg = space.decode(x)
            assert same(cfg, ref_decode(space, x)), (x, cfg)
        assert space.encode(cfg).tobytes() == ref_encode(space, cfg).tobytes(), cfg


@pytest.mark.parametrize("name", sorted(SPACES))
def test_sample_is_bit_identical_to_decoding_the_same_draw(name):
    space = SPACES[name]()
    a, b = np.random.default_rng(5), np.random.default_rng(5)
    for _ in range(500):
        assert same(space.sample(a), ref_decode(space, b.random(len(space))))


@pytest.mark.parametrize("name", sorted(SPACES))
def test_parameter_maps_match_the_reference_with_resolved_bounds(name):
    """decoder/encoder with the bounds of a configuration (as the Optuna and skopt adapters
    call them) as before, u unclamped."""
    space = SPACES[name]()
    for u in unit_vectors(len(space), n=500, seed=1):
        cfg = ref_decode(space, u)
        for p, x in zip(space.params, u):
            lo, hi = ref_bounds(p, cfg)
            x = float(x)
            assert bits(p.decoder(lo, hi)(x)) == bits(ref_from_unit(p, x, lo, hi))
            assert bits(p.encoder(lo, hi)(cfg[p.name])) == bits(
                ref_to_unit(p, cfg[p.name], lo, hi))


def test_decode_keeps_nan_and_rejects_a_wrong_length():
    space = SearchSpace([Float("x", 1.0, 2.0), Float("y", 1e-3, 1.0, log=True)])
    assert all(math.isnan(v) for v in space.decode([math.nan, math.nan]).values())
    with pytest.raises(ValueError, match="expected 2 unit values"):
        space.decode([0.5])


# -- trial seeds -------------------------------------------------------------------------
def numpy_seed(seed, trial_id):
    return int(np.random.SeedSequence([seed, 1, trial_id]).generate_state(1, np.uint32)[0])


SEEDS = [0, 1, 7, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 5, 2 ** 63, 2 ** 64 - 1, 2 ** 64 + 3,
         2 ** 100 + 12345]
TRIAL_IDS = [0, 1, 2, 80, 142, 206, 10 ** 6, 10 ** 7, 2 ** 31, 2 ** 32 - 1]


@pytest.mark.parametrize("seed", SEEDS)
def test_trial_seeds_equal_numpy_seed_sequence(seed):
    rng = np.random.default_rng(seed % 2 ** 32)
    ids = TRIAL_IDS + rng.integers(0, 10 ** 7, 200).tolist()
    expected = [numpy_seed(seed, t) for t in ids]
    assert trial_seeds(seed, ids) == expected
    assert [trial_seed(seed, t) for t in ids] == expected
    assert trial_seeds(seed, np.array(ids[:20])) == expected[:20]  # numpy integers as ids
    assert [trial_seeds(seed, [t])[0] for t in ids[:20]] == expected[:20]


def test_trial_seeds_for_many_seeds_and_a_hyperband_batch():
    for seed in range(300):
        assert trial_seeds(seed, range(143)) == [numpy_seed(seed, t) for t in range(143)]
    assert trial_seeds(2 ** 32 + 5, range(10 ** 7 - 81, 10 ** 7)) == [
        numpy_seed(2 ** 32 + 5, t) for t in range(10 ** 7 - 81, 10 ** 7)]


def test_trial_seeds_edge_cases():
    assert trial_seeds(3, []) == []
    big = [5, 2 ** 32, 2 ** 40 + 9, 2 ** 64]  # ids of more than one 32-bit word
    assert trial_seeds(3, big) == [numpy_seed(3, t) for t in big]
    with pytest.raises(ValueError):
        trial_seeds(3, [1, -1])
    with pytest.raises(ValueError):
        trial_seeds(-1, [1])


# -- ask/tell: the same jobs as before, and Job as before ------------------------------
def hyperband_trace(seed):
    """Two Hyperband iterations (R=81, eta=3), told in reverse, with failures and NaNs."""
    hb = Hyperband(lenet_space(), 81, optimizer_rng(seed))
    lines = []
    while len(lines) < 2 * 206:
        jobs = []
        while (j := hb.ask()) is not None:
            jobs.append(j)
        for j in reversed(jobs):
            k = j.trial_id % 7
            ev = (Evaluation.failed("boom", 1.0) if k == 3 else
                  Evaluation(math.nan if k == 5 else 0.1 * k + 0.001 * (j.trial_id % 13), 0.5, 1.0))
            hb.tell(j, ev)
            lines.append(f"{j!r} {sorted(hb.drain_discarded())}")
    return lines


# sha256 of hyperband_trace(seed), recorded with the code before issue #7's speed-up
TRACE_DIGESTS = {0: "da5e942b407511c3f15a26b1f6eeeee31a421b00fa3a1f6ca1173cded90690bb",
                 1: "954bf9f9cd82deae86aa0c3b151535c712c9fde7bb118d439030be4b4ec74171"}


@pytest.mark.parametrize("seed", sorted(TRACE_DIGESTS))
def test_hyperband_job_sequence_is_unchanged(seed):
    lines = hyperband_trace(seed)
    assert lines[0].startswith(
        "Job(job_id=80, trial_id=80, config={'learning_rate': 0.013453201351354893, "
        "'batch_size': 91, 'k2': 55, 'k1': 9}, resource=1, iteration=0, bracket=4, rung=0)"
        if seed == 0 else "Job(")
    assert hashlib.sha256("\n".join(lines).encode()).hexdigest() == TRACE_DIGESTS[seed]


def test_job_is_the_same_frozen_dataclass():
    fields = [(f.name, f.default) for f in dataclasses.fields(Job)]
    params = [(p.name, p.default if p.default is not p.empty else dataclasses.MISSING)
              for p in list(inspect.signature(Job.__init__).parameters.values())[1:]]
    assert params == fields  # the hand-written __init__ takes exactly the fields
    job = Job(1, 2, {"a": 1}, 3, bracket=4)
    assert (job.iteration, job.bracket, job.rung) == (None, 4, None)
    assert job == Job(1, 2, {"a": 1}, 3, None, 4, None) and job != Job(1, 2, {"a": 1}, 3)
    assert dataclasses.replace(job, rung=0).rung == 0
    with pytest.raises(dataclasses.FrozenInstanceError):
        job.rung = 1
