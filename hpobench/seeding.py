"""Explicit randomness: one run seed fans out into independent streams.

* the optimizer's stream (a numpy Generator handed to the method and its sampler);
* the benchmark's stream, one integer per trial (noise, weight initialisation, data
  order), so a trial's result does not depend on which worker ran it or when.

Nothing here touches global random state.

>>> optimizer_rng(0).random() == optimizer_rng(0).random()
True
>>> trial_seed(0, 1) != trial_seed(0, 2)
True
"""
from __future__ import annotations

import numpy as np

_OPTIMIZER, _BENCHMARK = 0, 1


def optimizer_rng(seed: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed), _OPTIMIZER])))


def trial_seed(seed: int, trial_id: int) -> int:
    """A 32-bit seed for trial ``trial_id`` of the run with ``seed``."""
    ss = np.random.SeedSequence([int(seed), _BENCHMARK, int(trial_id)])
    return int(ss.generate_state(1, np.uint32)[0])
