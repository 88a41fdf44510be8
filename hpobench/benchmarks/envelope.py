"""Synthetic learning curves inside a shrinking envelope (the paper's Figure 2).

Configuration ``x`` has a terminal loss ``nu(x)``; after ``t`` units of resource its loss is

    l(x, t) = nu(x) + gamma(t) * xi(x, t),   |xi| <= 1,
    gamma(t) = width * ((1 + t) / 2) ** -decay     (non-increasing, gamma(1) = width)

``xi`` is deterministic per (configuration, t, seed): a per-configuration learning
speed ``c(x)`` in ``[noise, 1]`` (slow learners stay high longer) plus the noise of the
model's state at ``t`` (amplitude ``noise``), plus a small evaluation noise (amplitude
``eval_noise``), clipped to [-1, 1]; so curves approach their terminal loss from above,
as real learning curves do, and no intermediate loss lies outside the envelope.  Two
configurations are told apart once ``gamma(t)`` falls below half their gap, so wider envelopes (``width``, slow ``decay``) or closer terminal losses (small
``spread``) need more resource: the paper's takeaway, made tunable.

Terminal losses come in two modes:

* ``structured`` (default): ``nu(x) = nu_min + spread * sum_j w_j (u_j - c_j)^2 / sum_j w_j``
  over the unit-cube coordinates ``u`` of ``x``: smooth, optimum ``nu_min`` at ``optimum``,
  so model-based methods have structure to find.  Unequal ``weights`` give a function
  of low effective dimension (Bergstra and Bengio's picture).
* ``iid``: ``nu(x)`` uniform in ``[nu_min, nu_min + spread]``, independent per configuration.

Validation and test losses of one evaluation measure the *same* model state (as a real
network's validation and test errors after the same step do), so they share the state
noise; they differ by independent evaluation noise (the finite validation and test sets)
and by a per-configuration offset of the test terminal loss of up to ``test_gap``.  Test
error never guides the search, and picking on validation loss carries the usual
optimism.  The checkpoint is just ``t``.

Example::

    >>> b = EnvelopeBenchmark()
    >>> cfg = b.space.sample(np.random.default_rng(0))
    >>> e1 = b.evaluate(cfg, 3, seed=7)
    >>> e2 = b.evaluate(cfg, 9, seed=7, resume_from=e1.checkpoint)
    >>> e2.resource_spent, e2.val_loss == b.evaluate(cfg, 9, seed=7).val_loss
    (6.0, True)
"""
from __future__ import annotations

import struct
import time
from typing import Any, Optional, Sequence

import numpy as np

from hpobench.benchmarks.base import Benchmark
from hpobench import validate
from hpobench.benchmarks.spaces import lenet_space
from hpobench.errors import ConfigError
from hpobench.space import SearchSpace
from hpobench.trial import Evaluation

_MASK = (1 << 64) - 1
_TERMINAL_MODES = ("structured", "iid")
# stream tags: keep the validation, test and landscape draws independent
_NU, _TEST_OFFSET, _SPEED, _STATE_NOISE, _TEST_NOISE, _FAIL, _VAL_NOISE = range(1, 8)


def _mix(x: int) -> int:
    """splitmix64 finaliser: a fast, well-spread 64-bit hash step."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


_KEY0, _UNIFORM0 = 0x243F6A8885A308D3, 0x13198A2E03707344
#: below this many jobs, evaluate_many loops over evaluate (numpy's per-call cost wins)
_MIN_BATCH = 8


def _key(values: Sequence[float]) -> int:
    """A 64-bit key of a configuration, from the exact bits of its unit-cube coordinates."""
    h = _KEY0
    for bits in _float_bits(values):
        h = _mix(h ^ bits)
    return h


def _float_bits(values: Sequence[float]) -> tuple[int, ...]:
    """The IEEE-754 bit patterns of ``values`` as unsigned 64-bit integers."""
    return struct.unpack(f"<{len(values)}Q", np.asarray(values, dtype=np.float64).tobytes())


def _absorb(h: int, *parts: int) -> int:
    """Hash state after mixing in ``parts``; ``_uniform(a, b, c)`` is
    ``_to_unit(_absorb(_UNIFORM0, a, b, c))``, so draws that share leading parts can
    share their prefix (:meth:`EnvelopeBenchmark.curve` does)."""
    for p in parts:
        h = _mix(h ^ (p & _MASK))
    return h


def _to_unit(h: int) -> float:
    return (h >> 11) * (1.0 / (1 << 53))


def _uniform(*parts: int) -> float:
    """Deterministic uniform in [0, 1) from integer parts."""
    return _to_unit(_absorb(_UNIFORM0, *parts))


def _t_bits(t: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", float(t)))[0]


# -- the same hash on numpy uint64 arrays (wrapping arithmetic, so bit-identical) ---------
_U = np.uint64


def _mix_v(x: np.ndarray) -> np.ndarray:
    """:func:`_mix` elementwise on a uint64 array."""
    x = x + _U(0x9E3779B97F4A7C15)
    x = (x ^ (x >> _U(30))) * _U(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> _U(27))) * _U(0x94D049BB133111EB)
    return x ^ (x >> _U(31))


def _to_unit_v(h: np.ndarray) -> np.ndarray:
    """:func:`_to_unit` elementwise (exact: a 53-bit integer times a power of two)."""
    return (h >> _U(11)).astype(np.float64) * (1.0 / (1 << 53))


class EnvelopeBenchmark(Benchmark):
    """Envelope-function benchmark; every setting is a constructor argument (and a Hydra key)."""

    resource_unit = "unit"
    supports_resume = True

    def __init__(self, max_resource: int = 81, width: float = 0.5, decay: float = 0.5,
                 terminal: str = "structured", nu_min: float = 0.05, spread: float = 0.3,
                 test_gap: float = 0.02, noise: float = 0.25, eval_noise: float = 0.05,
                 optimum: Optional[Sequence[float]] = None,
                 weights: Optional[Sequence[float]] = None, instance: int = 0,
                 failure_rate: float = 0.0, sleep_per_unit: float = 0.0,
                 space: Optional[SearchSpace | dict] = None, name: str = "envelope"):
        self.name = name
        self.space = (SearchSpace.from_dict(space) if isinstance(space, dict)
                      else space or lenet_space())
        d = len(self.space)
        self.max_resource = validate.integer("benchmark.max_resource", max_resource, low=1,
                                             high=validate.MAX_RESOURCE, whole_floats=True)
        validate.choice("benchmark.terminal", terminal, _TERMINAL_MODES)
        for field, v in (("width", width), ("decay", decay), ("spread", spread),
                         ("test_gap", test_gap), ("sleep_per_unit", sleep_per_unit)):
            validate.number(f"benchmark.{field}", v, low=0)
        validate.number("benchmark.nu_min", nu_min)
        for field, v in (("noise", noise), ("eval_noise", eval_noise),
                         ("failure_rate", failure_rate)):
            validate.number(f"benchmark.{field}", v, low=0, high=1)
        validate.integer("benchmark.instance", instance)
        self.width, self.decay = float(width), float(decay)
        self.terminal, self.nu_min, self.spread = terminal, float(nu_min), float(spread)
        self.test_gap, self.noise = float(test_gap), float(noise)
        self.eval_noise = float(eval_noise)
        optimum = validate.optional(validate.numbers, "benchmark.optimum", optimum, length=d,
                                    low=0, high=1)
        weights = validate.optional(validate.numbers, "benchmark.weights", weights, length=d,
                                    low=0)
        self.optimum = np.asarray(optimum if optimum is not None else _default_optimum(d), float)
        self.weights = np.asarray(weights if weights is not None else _default_weights(d), float)
        if np.any(self.optimum < 0) or np.any(self.optimum > 1):
            raise ConfigError("benchmark.optimum: unit-cube coordinates must lie in [0, 1]")
        if np.any(self.weights < 0) or self.weights.sum() <= 0:
            raise ConfigError("benchmark.weights: must be >= 0 with a positive sum")
        self.instance = int(instance)
        self.failure_rate = float(failure_rate)
        self.sleep_per_unit = float(sleep_per_unit)
        self._w = self.weights / self.weights.sum()

    # -- the landscape -------------------------------------------------------------------
    def gamma(self, t: float) -> float:
        """The envelope: non-increasing in ``t``."""
        return self.width * ((1.0 + t) / 2.0) ** (-self.decay)

    def terminal_loss(self, config: dict) -> float:
        """``nu(x)``: the validation loss this configuration converges to."""
        u = self.space.encode(config)
        return self._nu(u, _key(u))

    def _nu(self, u: np.ndarray, key: int) -> float:
        if self.terminal == "structured":
            return self.nu_min + self.spread * float(np.dot(self._w, (u - self.optimum) ** 2))
        return self.nu_min + self.spread * _uniform(key, self.instance, _NU)

    def curve(self, config: dict, t: float, seed: int) -> tuple[float, float]:
        """(validation, test) loss of ``config`` after ``t`` units, noise stream ``seed``."""
        u = self.space.encode(config)
        key = _key(u)
        nu = self._nu(u, key)
        # the draws _uniform(key, instance, TAG), _uniform(key, seed, TAG) and
        # _uniform(key, seed, bits(t), TAG), hashing each shared prefix once (same values)
        by_key = _absorb(_UNIFORM0, key)
        by_seed = _absorb(by_key, seed)
        by_t = _absorb(by_seed, _t_bits(t))
        nu_test = nu + self.test_gap * (2 * _to_unit(_absorb(by_key, self.instance, _TEST_OFFSET)) - 1)
        speed = self.noise + (1.0 - self.noise) * _to_unit(_absorb(by_seed, _SPEED))
        g = self.gamma(t)
        state = speed + self.noise * (2 * _to_unit(_absorb(by_t, _STATE_NOISE)) - 1)
        xv = state + self.eval_noise * (2 * _to_unit(_absorb(by_t, _VAL_NOISE)) - 1)
        xt = state + self.eval_noise * (2 * _to_unit(_absorb(by_t, _TEST_NOISE)) - 1)
        return (nu + g * min(max(xv, -1.0), 1.0), nu_test + g * min(max(xt, -1.0), 1.0))

    # -- Benchmark interface -------------------------------------------------------------
    def evaluate(self, config: dict, resource: float, seed: int,
                 resume_from: Optional[Any] = None) -> Evaluation:
        start = float(resume_from["resource"]) if resume_from is not None else 0.0
        if resource < start:
            raise ValueError(f"cannot train to {resource} from a checkpoint at {start}")
        spent = float(resource) - start
        if self.sleep_per_unit:
            time.sleep(self.sleep_per_unit * spent)
        if self.failure_rate and _uniform(_key(self.space.encode(config)), seed,
                                          _t_bits(resource), _FAIL) < self.failure_rate:
            return Evaluation.failed("injected failure (benchmark.failure_rate)", spent)
        val, test = self.curve(config, float(resource), seed)
        return Evaluation(val, test, spent, {"resource": float(resource)})

    @property
    def vectorised(self) -> bool:
        """Batches pay off unless ``sleep_per_unit`` mimics the cost of real training, or
        a subclass changed ``evaluate`` without changing ``evaluate_many``."""
        return not self.sleep_per_unit and self._own_evaluate()

    def _own_evaluate(self) -> bool:
        """False when a subclass overrides ``evaluate`` but not ``evaluate_many``: the
        vectorised code would skip the override, so batches go through ``evaluate``."""
        cls = type(self)
        return (cls.evaluate is EnvelopeBenchmark.evaluate
                or cls.evaluate_many is not EnvelopeBenchmark.evaluate_many)

    def evaluate_many(self, jobs: Sequence[tuple]) -> list[Evaluation]:
        """:meth:`evaluate` of many ``(config, resource, seed, resume_from)`` jobs at once,
        with the same values to the last bit: the hashes run on uint64 arrays, and the
        float steps are the same IEEE operations in the same order (``gamma`` is computed
        per distinct resource with :meth:`gamma`).  A rung of successive halving is one call.

        Its upkeep (a second, vectorised copy of the math, held to :meth:`evaluate` bit for
        bit by the tests) pays: it saves ~8% of one in-memory Hyperband iteration at R=81
        (0.53 of 6.6 ms; ``benchmarking/upkeep.py``).

        >>> b = EnvelopeBenchmark()
        >>> rng = np.random.default_rng(0)
        >>> jobs = [(b.space.sample(rng), 9, 1, None) for _ in range(10)]
        >>> [e.val_loss for e in b.evaluate_many(jobs)] == [b.evaluate(*j).val_loss for j in jobs]
        True
        """
        if self.sleep_per_unit or len(jobs) < _MIN_BATCH or not self._own_evaluate():
            return [self.evaluate(*job) for job in jobs]
        n = len(jobs)
        t = np.empty(n)
        spent = np.empty(n)
        seeds = np.empty(n, dtype=np.uint64)
        for i, (config, resource, seed, resume_from) in enumerate(jobs):
            start = float(resume_from["resource"]) if resume_from is not None else 0.0
            if resource < start:
                raise ValueError(f"cannot train to {resource} from a checkpoint at {start}")
            t[i], spent[i], seeds[i] = resource, float(resource) - start, seed
        units = self.space.encode_many([job[0] for job in jobs])
        keys = np.full(n, _KEY0, dtype=np.uint64)  # _key, one coordinate at a time
        for bits in np.ascontiguousarray(units).view(np.uint64).T:
            keys = _mix_v(keys ^ bits)
        # the prefixes curve() shares, as arrays: (key), (key, instance), (key, seed), (.., t)
        by_key = _mix_v(_U(_UNIFORM0) ^ keys)
        by_instance = _mix_v(by_key ^ _U(self.instance & _MASK))
        by_seed = _mix_v(by_key ^ seeds)
        by_t = _mix_v(by_seed ^ t.view(np.uint64))
        if self.terminal == "structured":
            # the same dot product per row as _nu (np.dot of two 1-d arrays)
            nu = np.array([np.dot(self._w, (u - self.optimum) ** 2) for u in units])
            nu = self.nu_min + self.spread * nu
        else:
            nu = self.nu_min + self.spread * _to_unit_v(_mix_v(by_instance ^ _U(_NU)))
        nu_test = nu + self.test_gap * (2 * _to_unit_v(_mix_v(by_instance ^ _U(_TEST_OFFSET))) - 1)
        speed = self.noise + (1.0 - self.noise) * _to_unit_v(_mix_v(by_seed ^ _U(_SPEED)))
        ts = t.tolist()
        gamma = {x: self.gamma(x) for x in set(ts)}  # a rung has one resource
        g = np.array([gamma[x] for x in ts])
        state = speed + self.noise * (2 * _to_unit_v(_mix_v(by_t ^ _U(_STATE_NOISE))) - 1)
        xv = state + self.eval_noise * (2 * _to_unit_v(_mix_v(by_t ^ _U(_VAL_NOISE))) - 1)
        xt = state + self.eval_noise * (2 * _to_unit_v(_mix_v(by_t ^ _U(_TEST_NOISE))) - 1)
        val = (nu + g * np.minimum(np.maximum(xv, -1.0), 1.0)).tolist()
        test = (nu_test + g * np.minimum(np.maximum(xt, -1.0), 1.0)).tolist()
        failed = (_to_unit_v(_mix_v(by_t ^ _U(_FAIL))) < self.failure_rate).tolist() \
            if self.failure_rate else [False] * n
        out = []
        for v, te, s, r, f in zip(val, test, spent.tolist(), ts, failed):
            out.append(Evaluation.failed("injected failure (benchmark.failure_rate)", s) if f
                       else Evaluation(v, te, s, {"resource": r}))
        return out

    def rebuild_checkpoint(self, config: dict, resource: float, seed: int) -> dict:
        return {"resource": float(resource)}

    def settings(self) -> dict:
        return {"max_resource": self.max_resource, "width": self.width, "decay": self.decay,
                "terminal": self.terminal, "nu_min": self.nu_min, "spread": self.spread,
                "test_gap": self.test_gap, "noise": self.noise, "eval_noise": self.eval_noise, "instance": self.instance,
                "optimum": self.optimum.tolist(), "weights": self.weights.tolist(),
                "failure_rate": self.failure_rate, "sleep_per_unit": self.sleep_per_unit,
                "space": self.space.to_dict()}


def _default_optimum(d: int) -> list[float]:
    base = [0.65, 0.35, 0.75, 0.45]
    return [base[j % len(base)] for j in range(d)]


def _default_weights(d: int) -> list[float]:
    return [1.0 / (j + 1) for j in range(d)]
