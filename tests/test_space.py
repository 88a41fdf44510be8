"""Search space: unit-interval maps, dependent bounds, validation."""
from __future__ import annotations

import math

import numpy as np
import pytest

from hpobench.benchmarks.spaces import lenet_space
from hpobench.errors import ConfigError
from hpobench.space import Categorical, Float, Int, SearchSpace


def test_lenet_space_is_the_papers():
    s = lenet_space()
    assert s.names == ("learning_rate", "batch_size", "k2", "k1")
    lr, bs, k2, k1 = s.params
    assert (lr.low, lr.high, lr.log) == (1e-3, 1e-1, True)
    assert (bs.low, bs.high, bs.log, bs.kind) == (10, 1000, True, "int")
    assert (k2.low, k2.high, k2.log) == (10, 60, False)
    assert (k1.low, k1.high) == (5, "k2")


def test_samples_respect_bounds_and_dependency():
    s = lenet_space()
    rng = np.random.default_rng(0)
    cfgs = [s.sample(rng) for _ in range(2000)]
    for c in cfgs:
        assert s.contains(c)
        assert 5 <= c["k1"] <= c["k2"] <= 60
        assert isinstance(c["batch_size"], int) and isinstance(c["k1"], int)
    lrs = np.log10([c["learning_rate"] for c in cfgs])
    # log-uniform: about half the draws below the geometric midpoint 1e-2
    assert 0.45 < np.mean(lrs < -2) < 0.55
    assert min(c["batch_size"] for c in cfgs) == 10 and max(c["batch_size"] for c in cfgs) >= 950


def test_decode_extremes_and_encode_roundtrip():
    s = lenet_space()
    lo = s.decode([0, 0, 0, 0])
    hi = s.decode([1, 1, 1, 1])
    assert lo == pytest.approx({"learning_rate": 1e-3, "batch_size": 10, "k2": 10, "k1": 5})
    assert math.isclose(hi["learning_rate"], 0.1) and hi["batch_size"] == 1000
    assert hi["k2"] == 60 and hi["k1"] == 60
    rng = np.random.default_rng(1)
    for _ in range(200):
        c = s.sample(rng)
        assert s.decode(s.encode(c)) == pytest.approx(c)


def test_linear_int_cells_are_uniform():
    s = SearchSpace([Int("k", 1, 4)])
    vals = [s.decode([u])["k"] for u in np.linspace(0, 1, 4001)]
    counts = np.bincount(vals)[1:]
    assert len(counts) == 4 and counts.min() > 950


def test_categorical():
    s = SearchSpace([Categorical("opt", ["sgd", "adam", "rms"])])
    assert s.decode([0.0])["opt"] == "sgd" and s.decode([1.0])["opt"] == "rms"
    assert s.decode(s.encode({"opt": "adam"}))["opt"] == "adam"


@pytest.mark.parametrize("params,match", [
    ([Float("lr", 0, 1, log=True)], "log scale"),
    ([Float("x", 2, 1)], "low"),
    ([Int("k1", 5, "k2"), Int("k2", 10, 60)], "later parameter 'k2'"),
    ([Int("k1", 5, "nope")], "unknown parameter 'nope'"),
    ([Int("k", 1.5, 3)], "integer bounds"),
    ([Categorical("c", [])], "choices"),
    ([Float("x", 0, 1), Float("x", 0, 1)], "twice"),
    ([Int("k2", 1, 3), Int("k1", 5, "k2")], "low"),
])
def test_bad_spaces_are_named(params, match):
    with pytest.raises(ConfigError, match=match):
        SearchSpace(params)


def test_from_dict():
    s = SearchSpace.from_dict({"lr": {"type": "float", "low": 1e-3, "high": 1e-1, "log": True},
                               "k2": {"type": "int", "low": 10, "high": 60},
                               "k1": {"type": "int", "low": 5, "high": "k2"}})
    assert s.names == ("lr", "k2", "k1")
    with pytest.raises(ConfigError, match="space.x.type"):
        SearchSpace.from_dict({"x": {"type": "complex"}})


def test_space_pickles_and_maps_the_same_after():
    import pickle

    space = lenet_space()
    back = pickle.loads(pickle.dumps(space))
    rng = np.random.default_rng(0)
    for _ in range(50):
        u = rng.random(len(space))
        assert back.decode(u) == space.decode(u)
        cfg = space.decode(u)
        assert back.encode(cfg).tolist() == space.encode(cfg).tolist()


@pytest.mark.parametrize("space", [
    lenet_space(),
    SearchSpace([Float("x", 0.5, 3.0), Int("n", 1, 1000, log=True),
                 Categorical("c", ("a", "b", "c")), Float("y", 1e-4, "x", log=True),
                 Int("m", "n", 2000), Float("z", -1.0, 1.0)]),
])
def test_encode_many_equals_encode_row_by_row(space):
    rng = np.random.default_rng(3)
    configs = [space.sample(rng) for _ in range(200)] + [space.decode([0.0] * len(space)),
                                                         space.decode([1.0] * len(space))]
    many = space.encode_many(configs)
    assert many.shape == (len(configs), len(space))
    assert many.tobytes() == np.array([space.encode(c) for c in configs]).tobytes()
    assert space.encode_many([]).shape == (0, len(space))
