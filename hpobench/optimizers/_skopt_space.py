"""SearchSpace <-> scikit-optimize: the one place that maps hpobench's space onto skopt.

A parameter with fixed bounds becomes skopt's own dimension, so the surrogate sees its
natural scale: ``Float`` -> ``Real(low, high, prior="uniform" | "log-uniform")``,
``Int`` -> ``Integer(low, high, prior=...)``, ``Categorical`` -> ``Categorical`` over the
choice *indices* (so any choice value works, and skopt's numpy scalars never leak out).
A parameter whose bound names an earlier parameter (``k1`` in ``[5, k2]``) becomes its
unit fraction ``Real(0, 1)`` named ``"<name>.unit"`` and :func:`decode` resolves it with
the earlier values.  skopt returns numpy scalars; :func:`decode` returns plain Python
values, each within its resolved bounds.  skopt is imported only when a function here
is called.

Example::

    >>> from hpobench.benchmarks.spaces import lenet_space
    >>> [d.name for d in dimensions(lenet_space())]
    ['learning_rate', 'batch_size', 'k2', 'k1.unit']
    >>> import numpy as np
    >>> decode(lenet_space(), [0.01, np.int64(100), np.int64(20), 0.0])
    {'learning_rate': 0.01, 'batch_size': 100, 'k2': 20, 'k1': 5}
"""
from __future__ import annotations

from typing import Any, Sequence

from hpobench.errors import ConfigError
from hpobench.optimizers._optuna_space import UNIT, dependent
from hpobench.space import Categorical, Int, SearchSpace


def dimensions(space: SearchSpace) -> list[Any]:
    """skopt dimensions for ``space``, in space order.

    Raises ConfigError naming the parameter when skopt cannot represent it (skopt needs
    ``low < high``: a parameter fixed to one value is not a search dimension).
    """
    from skopt.space import Categorical as SkCategorical
    from skopt.space import Integer, Real

    dims: list[Any] = []
    for p in space.params:
        if isinstance(p, Categorical):
            dims.append(SkCategorical(list(range(len(p.choices))), name=p.name))
        elif dependent(p):
            dims.append(Real(0.0, 1.0, name=p.name + UNIT))
        else:
            if not p.low < p.high:
                raise ConfigError(
                    f"space.{p.name}: scikit-optimize needs low < high, got low={p.low!r}, "
                    f"high={p.high!r} (a fixed value is not a search dimension; drop it "
                    "from the space or widen its range)")
            prior = "log-uniform" if p.log else "uniform"
            if isinstance(p, Int):
                dims.append(Integer(int(p.low), int(p.high), prior=prior, name=p.name))
            else:
                dims.append(Real(float(p.low), float(p.high), prior=prior, name=p.name))
    return dims


def decode(space: SearchSpace, x: Sequence) -> dict:
    """A point suggested by skopt -> a configuration of ``space`` (plain Python values)."""
    if len(x) != len(space.params):
        raise ValueError(f"expected {len(space.params)} values, got {len(x)}")
    cfg: dict = {}
    for p, v in zip(space.params, x):
        if isinstance(p, Categorical):
            cfg[p.name] = p.choices[int(v)]
            continue
        lo, hi = space.bounds(p, cfg)
        if dependent(p):
            cfg[p.name] = p.decoder(lo, hi)(min(max(float(v), 0.0), 1.0))
        elif isinstance(p, Int):
            cfg[p.name] = int(min(max(int(round(float(v))), lo), hi))
        else:
            cfg[p.name] = float(min(max(float(v), lo), hi))
    return cfg


def encode(space: SearchSpace, config: dict) -> list:
    """A configuration -> a skopt point (inverse of :func:`decode`), e.g. for ``x0``."""
    x: list = []
    for p in space.params:
        v = config[p.name]
        if isinstance(p, Categorical):
            x.append(p.choices.index(v))
        elif dependent(p):
            lo, hi = space.bounds(p, config)
            x.append(min(max(p.encoder(lo, hi)(v), 0.0), 1.0))
        elif isinstance(p, Int):
            x.append(int(v))
        else:
            x.append(float(v))
    return x
