"""SearchSpace <-> Optuna: the one place that maps hpobench's space onto Optuna.

A parameter with fixed bounds becomes Optuna's own distribution, so TPE models it on its
natural scale: ``Float`` -> ``FloatDistribution(low, high, log)``, ``Int`` ->
``IntDistribution(low, high, log)``, ``Categorical`` -> ``CategoricalDistribution``.
A parameter whose bound names an earlier parameter (the paper's ``k1`` in ``[5, k2]``)
has no fixed Optuna distribution; it becomes its *unit fraction* ``"<name>.unit"`` on
``[0, 1]`` (the coordinate :class:`~hpobench.space.SearchSpace` itself uses), and
:func:`decode` resolves it once the earlier values are known.  Every decoded value lies
within its resolved bounds.  Optuna is imported only when a function here is called.

Example::

    >>> from hpobench.benchmarks.spaces import lenet_space
    >>> space = lenet_space()
    >>> sorted(distributions(space))
    ['batch_size', 'k1.unit', 'k2', 'learning_rate']
    >>> decode(space, {"learning_rate": 0.01, "batch_size": 100, "k2": 20, "k1.unit": 0.99})
    {'learning_rate': 0.01, 'batch_size': 100, 'k2': 20, 'k1': 20}
"""
from __future__ import annotations

from typing import Any

from hpobench.errors import ConfigError
from hpobench.space import Categorical, Float, Int, SearchSpace

#: suffix of the Optuna parameter that carries a dependent parameter's unit fraction
UNIT = ".unit"
_SCALARS = (type(None), bool, int, float, str)


def load_optuna():
    """Import Optuna with its per-trial INFO logging silenced (the run loop records)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def dependent(p) -> bool:
    """True when a bound of ``p`` names an earlier parameter."""
    return not isinstance(p, Categorical) and (isinstance(p.low, str) or isinstance(p.high, str))


def distributions(space: SearchSpace) -> dict[str, Any]:
    """Optuna distributions for ``space``, keyed by Optuna parameter name, in space order.

    Raises ConfigError naming the parameter when Optuna cannot represent it.
    """
    from optuna.distributions import (CategoricalDistribution, FloatDistribution,
                                      IntDistribution)

    out: dict[str, Any] = {}
    for p in space.params:
        if isinstance(p, Categorical):
            bad = [c for c in p.choices if not isinstance(c, _SCALARS)]
            if bad:
                raise ConfigError(
                    f"space.{p.name}: Optuna cannot represent the choice {bad[0]!r} "
                    f"({type(bad[0]).__name__}); allowed choice types: None, bool, int, "
                    "float, str")
            out[p.name] = CategoricalDistribution(list(p.choices))
        elif dependent(p):
            out[p.name + UNIT] = FloatDistribution(0.0, 1.0)
        elif isinstance(p, Int):
            out[p.name] = IntDistribution(int(p.low), int(p.high), log=p.log)
        elif isinstance(p, Float):
            out[p.name] = FloatDistribution(float(p.low), float(p.high), log=p.log)
        else:  # pragma: no cover - SearchSpace admits only the three kinds
            raise ConfigError(f"space.{p.name}: unknown parameter kind {type(p).__name__}")
    return out


def decode(space: SearchSpace, params: dict) -> dict:
    """Optuna's ``trial.params`` -> a configuration of ``space`` (plain Python values)."""
    cfg: dict = {}
    for p in space.params:
        if isinstance(p, Categorical):
            cfg[p.name] = params[p.name]
            continue
        lo, hi = space.bounds(p, cfg)
        if dependent(p):
            u = min(max(float(params[p.name + UNIT]), 0.0), 1.0)
            cfg[p.name] = p.decoder(lo, hi)(u)
        elif isinstance(p, Int):
            cfg[p.name] = int(min(max(int(params[p.name]), lo), hi))
        else:
            cfg[p.name] = float(min(max(float(params[p.name]), lo), hi))
    return cfg


def encode(space: SearchSpace, config: dict) -> dict:
    """A configuration -> Optuna parameters (inverse of :func:`decode`), e.g. to enqueue
    a known configuration with ``study.enqueue_trial``."""
    out: dict = {}
    for p in space.params:
        if dependent(p):
            lo, hi = space.bounds(p, config)
            out[p.name + UNIT] = min(max(p.encoder(lo, hi)(config[p.name]), 0.0), 1.0)
        else:
            out[p.name] = config[p.name]
    return out
