"""The envelope benchmark: Figure 2's properties hold by construction and are checked here."""
from __future__ import annotations

import numpy as np
import pytest

from hpobench.benchmarks.envelope import EnvelopeBenchmark
from hpobench.errors import ConfigError


@pytest.fixture
def cfgs():
    b = EnvelopeBenchmark()
    rng = np.random.default_rng(0)
    return [b.space.sample(rng) for _ in range(50)]


def test_losses_stay_in_the_envelope_and_converge(cfgs):
    b = EnvelopeBenchmark(width=0.4, decay=0.7)
    ts = [1, 2, 3, 9, 27, 81, 1000]
    gam = [b.gamma(t) for t in ts]
    assert gam == sorted(gam, reverse=True)  # non-increasing
    for c in cfgs:
        nu = b.terminal_loss(c)
        for t in ts:
            v, _ = b.curve(c, t, seed=3)
            assert abs(v - nu) <= b.gamma(t) + 1e-12
    c = cfgs[0]
    assert abs(b.curve(c, 1e9, 3)[0] - b.terminal_loss(c)) < 1e-3


def test_deterministic_per_config_t_seed_and_seed_matters(cfgs):
    b = EnvelopeBenchmark()
    c = cfgs[1]
    assert b.curve(c, 5, 1) == b.curve(c, 5, 1)
    assert b.curve(c, 5, 1) != b.curve(c, 5, 2)
    assert b.curve(c, 5, 1) != b.curve(c, 6, 1)


def test_validation_and_test_are_distinct(cfgs):
    b = EnvelopeBenchmark()
    pairs = [b.curve(c, 9, 0) for c in cfgs]
    assert all(v != t for v, t in pairs)
    v, t = np.array(pairs).T
    assert np.corrcoef(v, t)[0, 1] > 0.5  # related, not equal


def test_structured_optimum_is_known():
    b = EnvelopeBenchmark(nu_min=0.07, spread=0.3)
    best = b.space.decode(b.optimum)
    assert b.terminal_loss(best) == pytest.approx(0.07, abs=2e-3)
    rng = np.random.default_rng(0)
    others = [b.terminal_loss(b.space.sample(rng)) for _ in range(500)]
    assert min(others) >= 0.07 - 1e-12 and max(others) <= 0.37 + 1e-12


def test_iid_mode_has_no_structure():
    b = EnvelopeBenchmark(terminal="iid")
    rng = np.random.default_rng(0)
    u = rng.random((400, 4))
    nus = np.array([b.terminal_loss(b.space.decode(x)) for x in u])
    d = ((u - b.optimum) ** 2).sum(1)
    assert abs(np.corrcoef(d, nus)[0, 1]) < 0.2
    assert nus.min() >= 0.05 and nus.max() <= 0.35


def test_resume_equals_training_straight(cfgs):
    b = EnvelopeBenchmark()
    c = cfgs[2]
    e1 = b.evaluate(c, 3, seed=4)
    e2 = b.evaluate(c, 9, seed=4, resume_from=e1.checkpoint)
    straight = b.evaluate(c, 9, seed=4)
    assert (e2.val_loss, e2.test_loss) == (straight.val_loss, straight.test_loss)
    assert e2.resource_spent == 6 and straight.resource_spent == 9
    with pytest.raises(ValueError):
        b.evaluate(c, 1, seed=4, resume_from=e2.checkpoint)


def test_failure_rate_injects_failures(cfgs):
    b = EnvelopeBenchmark(failure_rate=0.5)
    st = [b.evaluate(c, 3, 0).status for c in cfgs]
    assert 10 < st.count("failed") < 40


@pytest.mark.parametrize("kw,field", [
    ({"terminal": "smooth"}, "terminal"), ({"width": -1}, "width"), ({"max_resource": 0}, "max_resource"),
    ({"optimum": [0.5]}, "optimum"), ({"weights": [0, 0, 0, 0]}, "weights"), ({"noise": 2}, "noise"),
])
def test_bad_settings(kw, field):
    with pytest.raises(ConfigError, match=field):
        EnvelopeBenchmark(**kw)


def test_custom_space_from_dict():
    b = EnvelopeBenchmark(space={"x": {"type": "float", "low": 0, "high": 1},
                                 "y": {"type": "float", "low": 0, "high": 1}})
    assert b.space.names == ("x", "y") and len(b.optimum) == 2
