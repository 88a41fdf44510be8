"""Search spaces: ordered parameters, each a map from the unit interval.

Every method works in the unit cube ``[0, 1]^d`` and calls :meth:`SearchSpace.decode`
to get a configuration, so log scales, integers and dependent bounds are handled in
one place.  A bound may name an *earlier* parameter, as the paper's LeNet space does
(``k1`` in ``[5, k2]``): the dependent parameter's unit value is then a fraction of the
interval that the earlier value fixes.

Example::

    >>> import numpy as np
    >>> space = SearchSpace([Float("lr", 1e-3, 1e-1, log=True), Int("k2", 10, 60),
    ...                      Int("k1", 5, "k2")])
    >>> cfg = space.sample(np.random.default_rng(0))
    >>> 5 <= cfg["k1"] <= cfg["k2"] <= 60
    True
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import Any, Union

import numpy as np

from hpobench.errors import ConfigError

Bound = Union[int, float, str]


@dataclass(frozen=True)
class Float:
    """A real parameter on ``[low, high]``, linear or log scale."""

    name: str
    low: Bound
    high: Bound
    log: bool = False

    kind = "float"

    def decoder(self, low: float, high: float) -> Callable[[float], float]:
        """The map from the unit interval to values in ``[low, high]`` (the logs of the
        bounds taken once); ``encoder`` is its inverse.  The one map API of a parameter:
        ``p.decoder(lo, hi)(u)``."""
        if self.log:
            a = math.log(low)
            d = math.log(high) - a

            def f(u):
                v = math.exp(a + u * d)
                v = low if low > v else v  # min(max(v, low), high), written out as it is
                return float(high if high < v else v)  # 3x faster: rounding stays inside
        else:
            d = high - low

            def f(u):
                v = low + u * d
                v = low if low > v else v
                return float(high if high < v else v)
        return f

    def encoder(self, low: float, high: float) -> Callable[[float], float]:
        """The inverse of :meth:`decoder`: values in ``[low, high]`` to the unit interval."""
        if high == low:
            return lambda value: 0.5
        if self.log:
            a = math.log(low)
            d = math.log(high) - a
            return lambda value: (math.log(value) - a) / d
        d = high - low
        return lambda value: (value - low) / d


@dataclass(frozen=True)
class Int:
    """An integer parameter on ``[low, high]`` (both included), linear or log scale.

    Linear: the unit interval is cut into ``high - low + 1`` equal cells, so a uniform
    ``u`` gives a uniform integer.  Log: ``u`` is mapped on the log scale over
    ``[low - 0.5, high + 0.5]`` and rounded, so every integer has a cell.
    """

    name: str
    low: Bound
    high: Bound
    log: bool = False

    kind = "int"

    def decoder(self, low: int, high: int) -> Callable[[float], int]:
        """The map from the unit interval to values in ``[low, high]`` (the logs of the
        bounds taken once); ``encoder`` is its inverse.  The one map API of a parameter:
        ``p.decoder(lo, hi)(u)``."""
        if self.log:
            a = math.log(low - 0.5)
            d = math.log(high + 0.5) - a

            def f(u):
                v = round(math.exp(a + u * d))
                v = low if low > v else v  # min(max(v, low), high), as in Float
                return int(high if high < v else v)
        else:
            n = high - low + 1

            def f(u):
                v = low + math.floor(u * n)
                v = low if low > v else v
                return int(high if high < v else v)
        return f

    def encoder(self, low: int, high: int) -> Callable[[int], float]:
        """The inverse of :meth:`decoder`: values in ``[low, high]`` to the unit interval."""
        if self.log:
            a = math.log(low - 0.5)
            d = math.log(high + 0.5) - a
            return lambda value: (math.log(value) - a) / d
        n = high - low + 1
        return lambda value: (value - low + 0.5) / n


@dataclass(frozen=True)
class Categorical:
    """One of a list of choices; the unit interval is cut into equal cells."""

    name: str
    choices: tuple

    kind = "categorical"

    def __post_init__(self) -> None:
        object.__setattr__(self, "choices", tuple(self.choices))


    def decoder(self, low: Any = None, high: Any = None) -> Callable[[float], Any]:
        """The map from the unit interval to a choice (equal cells)."""
        choices, n = self.choices, len(self.choices)
        last = n - 1

        def f(u):
            i = math.floor(u * n)
            return choices[last if last < i else i]  # min(i, last)
        return f

    def encoder(self, low: Any = None, high: Any = None) -> Callable[[Any], float]:
        """The inverse of :meth:`decoder`: a choice to the centre of its cell."""
        choices, n = self.choices, len(self.choices)
        return lambda value: (choices.index(value) + 0.5) / n


Parameter = Union[Float, Int, Categorical]


class SearchSpace:
    """An ordered list of parameters; the unit cube is its common coordinate system."""

    def __init__(self, params: Sequence[Parameter]):
        self.params: tuple[Parameter, ...] = tuple(params)
        self.names: tuple[str, ...] = tuple(p.name for p in self.params)
        self._validate()
        self._build_maps()

    def _build_maps(self) -> None:
        # (name, parameter, decoder, encoder, low, high): the unit maps with the bounds
        # fixed once (logs of the bounds included), as decode/encode run per evaluation;
        # None where a bound names an earlier parameter (made per call from its value).
        self._maps = tuple(
            (p.name, p, None, None, p.low, p.high) if _has_named_bound(p)
            else (p.name, p, p.decoder(*self.bounds(p, {})), p.encoder(*self.bounds(p, {})),
                  None, None)
            for p in self.params)

    # the maps are closures, which do not pickle: worker processes and Dask rebuild them
    def __getstate__(self) -> dict:
        return {"params": self.params, "names": self.names}

    def __setstate__(self, state: dict) -> None:
        self.params, self.names = state["params"], state["names"]
        self._build_maps()

    # -- validation: every error names the parameter and what is allowed ---------------
    def _validate(self) -> None:
        seen: dict[str, Parameter] = {}
        for p in self.params:
            if p.name in seen:
                raise ConfigError(f"space: parameter {p.name!r} is defined twice")
            if isinstance(p, Categorical):
                if len(p.choices) == 0:
                    raise ConfigError(f"space.{p.name}: choices must not be empty")
            else:
                for side in ("low", "high"):
                    b = getattr(p, side)
                    if isinstance(b, str):
                        if b not in seen:
                            later = b in self.names
                            raise ConfigError(
                                f"space.{p.name}.{side}: names {'a later' if later else 'an unknown'} "
                                f"parameter {b!r}; a bound may name only an earlier parameter "
                                f"(allowed: {sorted(seen) or 'none'})"
                            )
                        if isinstance(seen[b], Categorical):
                            raise ConfigError(f"space.{p.name}.{side}: bound {b!r} is categorical")
                lo = self._extreme(p.low, seen, "low")
                lo_min = self._extreme(p.low, seen, "min")
                hi_min = self._extreme(p.high, seen, "min")
                if p.log and lo_min <= 0:
                    raise ConfigError(f"space.{p.name}.low: log scale needs a bound > 0, got {p.low!r}")
                if lo > hi_min:
                    raise ConfigError(
                        f"space.{p.name}: low ({p.low!r}) must be <= high ({p.high!r})")
                if isinstance(p, Int):
                    for b in (p.low, p.high):
                        if not isinstance(b, str) and int(b) != b:
                            raise ConfigError(f"space.{p.name}: integer bounds required, got {b!r}")
            seen[p.name] = p

    @staticmethod
    def _extreme(bound: Bound, seen: dict, which: str) -> float:
        """Numeric value of a bound; for a named bound its largest ('low') or smallest value."""
        if not isinstance(bound, str):
            return float(bound)
        ref = seen[bound]
        if which == "low":
            return SearchSpace._extreme(ref.high, seen, "low")
        return SearchSpace._extreme(ref.low, seen, "min")

    # -- the two maps ------------------------------------------------------------------
    def bounds(self, param: Parameter, config: dict) -> tuple[Any, Any]:
        """Resolved (low, high) of ``param`` given the earlier values in ``config``."""
        if isinstance(param, Categorical):
            return None, None
        lo = config[param.low] if isinstance(param.low, str) else param.low
        hi = config[param.high] if isinstance(param.high, str) else param.high
        return lo, hi

    def decode(self, u: Sequence[float]) -> dict:
        """Map a point of the unit cube to a configuration (plain Python values)."""
        if len(u) != len(self.params):
            raise ValueError(f"expected {len(self.params)} unit values, got {len(u)}")
        cfg: dict = {}
        for (name, p, decoder, _, lo, hi), x in zip(self._maps, u):
            x = float(x)
            x = 0.0 if x < 0.0 else 1.0 if x > 1.0 else x  # min(max(x, 0.0), 1.0)
            if decoder is None:
                decoder = p.decoder(_resolve(lo, cfg), _resolve(hi, cfg))
            cfg[name] = decoder(x)
        return cfg

    def encode(self, config: dict) -> np.ndarray:
        """Map a configuration to the unit cube (inverse of :meth:`decode` up to cells)."""
        out = []
        for name, p, _, encoder, lo, hi in self._maps:
            if encoder is None:
                encoder = p.encoder(_resolve(lo, config), _resolve(hi, config))
            x = encoder(config[name])
            out.append(0.0 if x < 0.0 else 1.0 if x > 1.0 else x)  # min(max(x, 0.0), 1.0)
        return np.array(out)

    def encode_many(self, configs: Sequence[dict]) -> np.ndarray:
        """:meth:`encode` of each configuration, as rows of one ``(n, d)`` array (the
        same values: the same scalar maps, one parameter at a time, without a small
        array per configuration)."""
        cols = []
        for name, p, _, encoder, lo, hi in self._maps:
            if encoder is None:
                xs = [p.encoder(_resolve(lo, c), _resolve(hi, c))(c[name]) for c in configs]
            else:
                xs = [encoder(c[name]) for c in configs]
            cols.append([0.0 if x < 0.0 else 1.0 if x > 1.0 else x for x in xs])
        return np.array(cols, dtype=float).T.reshape(len(configs), len(self._maps))

    def sample(self, rng: np.random.Generator) -> dict:
        """One configuration drawn uniformly in the unit cube with an explicit generator."""
        return self.decode(rng.random(len(self.params)).tolist())

    def contains(self, config: dict) -> bool:
        """True when every value lies within its (resolved) bounds."""
        for p in self.params:
            v = config.get(p.name)
            if isinstance(p, Categorical):
                if v not in p.choices:
                    return False
                continue
            lo, hi = self.bounds(p, config)
            if v is None or not (lo <= v <= hi):
                return False
            if isinstance(p, Int) and int(v) != v:
                return False
        return True

    def __len__(self) -> int:
        return len(self.params)

    def __repr__(self) -> str:
        return f"SearchSpace({list(self.params)!r})"

    def to_dict(self) -> dict:
        """The plain mapping :meth:`from_dict` reads back, parameters in order (how
        run.json and a table's metadata record a space).

        >>> SearchSpace([Int("k", 1, 5)]).to_dict()
        {'k': {'type': 'int', 'low': 1, 'high': 5, 'log': False}}
        """
        return {p.name: {"type": p.kind, **{f.name: getattr(p, f.name) for f in fields(p)
                                             if f.name != "name"}} for p in self.params}

    def to_list(self) -> list[dict]:
        """The same as :meth:`to_dict`, as a list of mappings each with its ``name``: the
        form a learning-curve table's metadata stores (order explicit for any JSON reader;
        hpobench/docs/tables.md).  :meth:`from_dict` reads either.

        >>> SearchSpace([Int("k", 1, 5)]).to_list()
        [{'name': 'k', 'type': 'int', 'low': 1, 'high': 5, 'log': False}]
        """
        return [{"name": name, **p} for name, p in self.to_dict().items()]

    @classmethod
    def from_dict(cls, spec: dict | list) -> "SearchSpace":
        """Build from a plain mapping, as Hydra configs give it.

        ``{"lr": {"type": "float", "low": 1e-3, "high": 0.1, "log": True}, ...}``; a list
        of such mappings, each with its ``name``, is read too (tables written by other
        tools, and hpobench's first shipped tables, store the space that way).
        """
        kinds = {"float": Float, "int": Int, "categorical": Categorical}
        if isinstance(spec, list):
            if not all(isinstance(p, dict) and isinstance(p.get("name"), str) for p in spec):
                raise ConfigError("space: a list of parameters needs a mapping with a "
                                  "'name' for each")
            spec = {p["name"]: {k: v for k, v in p.items() if k != "name"} for p in spec}
        params = []
        for name, p in spec.items():
            p = dict(p)
            kind = p.pop("type", None)
            if kind not in kinds:
                raise ConfigError(
                    f"space.{name}.type: {kind!r} is not one of {sorted(kinds)}")
            try:
                params.append(kinds[kind](name=name, **p))
            except TypeError as e:
                raise ConfigError(f"space.{name}: {e}") from None
        return cls(params)


def _has_named_bound(p: Parameter) -> bool:
    return isinstance(getattr(p, "low", None), str) or isinstance(getattr(p, "high", None), str)


def _resolve(bound: Bound, config: dict) -> Any:
    """A bound's value: the earlier parameter's value when it names one."""
    return config[bound] if isinstance(bound, str) else bound
