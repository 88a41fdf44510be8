"""SearchSpace <-> ConfigSpace (SMAC3, HpBandSter): the one place that maps hpobench's
space onto the ConfigSpace package.

A parameter with fixed bounds becomes ConfigSpace's own hyperparameter, so the peer's
model sees its natural scale: ``Float`` -> ``UniformFloatHyperparameter(low, high, log)``,
``Int`` -> ``UniformIntegerHyperparameter(low, high, log)``, ``Categorical`` ->
``CategoricalHyperparameter`` over the choice *indices* as strings (any choice value
works, and nothing but plain strings crosses HpBandSter's serializer).  A parameter
whose bound names an earlier parameter (the paper's ``k1`` in ``[5, k2]``) becomes its
unit fraction ``"<name>.unit"`` on ``[0, 1]``, resolved by :func:`decode` once the
earlier values are known (as for Optuna and scikit-optimize).  ConfigSpace is imported
only when a function here is called.

Example::

    >>> from hpobench.benchmarks.spaces import lenet_space
    >>> cs = configspace(lenet_space(), seed=0)          # doctest: +SKIP
    >>> decode(lenet_space(), {"learning_rate": 0.01, "batch_size": 100, "k2": 20,
    ...                        "k1.unit": 1.0})
    {'learning_rate': 0.01, 'batch_size': 100, 'k2': 20, 'k1': 20}
"""
from __future__ import annotations

from hpobench.optimizers import _optuna_space as ospace
from hpobench.optimizers._optuna_space import UNIT, dependent
from hpobench.space import Categorical, Int, SearchSpace


def configspace(space: SearchSpace, seed: int):
    """A ``ConfigurationSpace`` for ``space`` whose own sampler is seeded with ``seed``."""
    from ConfigSpace import (CategoricalHyperparameter, ConfigurationSpace,
                             UniformFloatHyperparameter, UniformIntegerHyperparameter)

    cs = ConfigurationSpace(seed=int(seed))
    hps = []
    for p in space.params:
        if isinstance(p, Categorical):
            hps.append(CategoricalHyperparameter(p.name, [str(i) for i in range(len(p.choices))]))
        elif dependent(p):
            hps.append(UniformFloatHyperparameter(p.name + UNIT, 0.0, 1.0))
        elif isinstance(p, Int):
            hps.append(UniformIntegerHyperparameter(p.name, int(p.low), int(p.high), log=p.log))
        else:
            hps.append(UniformFloatHyperparameter(p.name, float(p.low), float(p.high), log=p.log))
    cs.add(hps)
    return cs


def decode(space: SearchSpace, values) -> dict:
    """A ConfigSpace configuration (or its dict; or hyperopt's values, which name
    parameters the same way) -> a configuration of ``space``, plain Python values each
    within its resolved bounds (integers rounded: hyperopt's come as floats)."""
    params = {}
    for p in space.params:
        if isinstance(p, Categorical):
            params[p.name] = p.choices[int(values[p.name])]
        elif dependent(p):
            params[p.name + UNIT] = float(values[p.name + UNIT])
        elif isinstance(p, Int):
            params[p.name] = int(round(float(values[p.name])))
        else:
            params[p.name] = float(values[p.name])
    return ospace.decode(space, params)


def encode(space: SearchSpace, config: dict) -> dict:
    """A configuration of ``space`` -> ConfigSpace values (inverse of :func:`decode`)."""
    out = ospace.encode(space, config)
    for p in space.params:
        if isinstance(p, Categorical):
            out[p.name] = str(p.choices.index(config[p.name]))
    return out
