"""The one validation module: clean values pass, bad ones give one line naming the field."""
import math

import pytest

from hpobench import validate
from hpobench.errors import ConfigError


@pytest.mark.parametrize("value", [True, False, 2.5, "3", None, math.nan])
def test_integer_rejects_non_integers(value):
    with pytest.raises(ConfigError, match=r"^method\.eta: must be an integer >= 2, got "):
        validate.integer("method.eta", value, low=2)


def test_integer_bounds_and_whole_floats():
    assert validate.integer("x", 3, low=2, high=3) == 3
    with pytest.raises(ConfigError, match=r"^x: must be an integer in 2\.\.3 \(rungs\), got 4$"):
        validate.integer("x", 4, low=2, high=3, note="(rungs)")
    with pytest.raises(ConfigError, match="got 3.0"):
        validate.integer("x", 3.0)
    got = validate.integer("x", 3.0, whole_floats=True)
    assert got == 3 and type(got) is int
    with pytest.raises(ConfigError, match="got 3.5"):
        validate.integer("x", 3.5, whole_floats=True)


@pytest.mark.parametrize("value", [True, math.inf, -math.inf, math.nan, "0.5", None])
def test_number_rejects_bools_and_non_finite(value):
    with pytest.raises(ConfigError, match=r"^benchmark\.noise: must be a finite number in \[0, 1\]"):
        validate.number("benchmark.noise", value, low=0, high=1)


def test_number_open_and_closed_ends():
    assert validate.number("c", 1, low=0, high=1) == 1.0
    with pytest.raises(ConfigError, match=r"^c: must be a finite number in \(0, 1\), got 1$"):
        validate.number("c", 1, low=0, high=1, low_open=True, high_open=True)
    with pytest.raises(ConfigError, match=r"^c: must be a finite number > 0, got 0$"):
        validate.number("c", 0, low=0, low_open=True)
    with pytest.raises(ConfigError, match=r"^c: must be a finite number <= 2, got 3$"):
        validate.number("c", 3, high=2)


def test_choice_bools_are_not_numbers():
    assert validate.choice("executor.batch", True, ("auto", True, False)) is True
    with pytest.raises(ConfigError, match=r"^executor\.batch: must be one of \['auto', true, false\], got 1$"):
        validate.choice("executor.batch", 1, ("auto", True, False))
    with pytest.raises(ConfigError, match=r"^grid: must be one of \['log', 'linear'\], got 'lin'$"):
        validate.choice("grid", "lin", ("log", "linear"))


def test_boolean_and_optional():
    assert validate.boolean("reuse", False) is False
    with pytest.raises(ConfigError, match=r"^reuse: must be true or false, got 1$"):
        validate.boolean("reuse", 1)
    assert validate.optional(validate.integer, "b", None, low=1) is None
    assert validate.optional(validate.integer, "b", 2, low=1) == 2
    with pytest.raises(ConfigError, match=r"^b: must be an integer >= 1 or null, got 0$"):
        validate.optional(validate.integer, "b", 0, low=1)


def test_paths_stay_under_their_root(tmp_path):
    assert validate.path_under("results_dir", "a/b", tmp_path) == (tmp_path / "a/b").resolve()
    with pytest.raises(ConfigError, match=r"^results_dir: must lie under"):
        validate.path_under("results_dir", "../x", tmp_path)
    (tmp_path / "link").symlink_to(tmp_path.parent)
    with pytest.raises(ConfigError, match="must lie under"):
        validate.path_under("results_dir", "link/x", tmp_path)
    assert validate.name("method.name", "hyperband") == "hyperband"
    for bad in ("..", "a/b", "", 3):
        with pytest.raises(ConfigError, match=r"^method\.name: must be a plain name"):
            validate.name("method.name", bad)
    assert validate.text("t", "x") == "x"
    with pytest.raises(ConfigError, match="non-empty string"):
        validate.text("t", "")


@pytest.mark.parametrize("build, match", [
    (lambda: __import__("hpobench.executors", fromlist=["x"]).ProcessExecutor(workers=True),
     r"executor\.workers: must be an integer in 1\.\.1024, got True"),
    (lambda: __import__("hpobench.benchmarks.envelope", fromlist=["x"]).EnvelopeBenchmark(
        failure_rate=math.nan), r"benchmark\.failure_rate: must be a finite number in \[0, 1\]"),
    (lambda: __import__("hpobench.benchmarks.envelope", fromlist=["x"]).EnvelopeBenchmark(
        width=True), r"benchmark\.width: must be a finite number >= 0, got True"),
    (lambda: __import__("hpobench.schedule", fromlist=["x"]).bracket(81, 3, 5),
     r"bracket \(s\): must be an integer in 0\.\.4 for R=81, eta=3, got 5"),
])
def test_the_package_validates_through_the_module(build, match):
    with pytest.raises(ConfigError, match=match):
        build()
