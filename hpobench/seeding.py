"""Explicit randomness: one run seed fans out into independent streams.

* the optimizer's stream (a numpy Generator handed to the method and its sampler);
* the benchmark's stream, one integer per trial (noise, weight initialisation, data
  order), so a trial's result does not depend on which worker ran it or when.

Nothing here touches global random state.

>>> optimizer_rng(0).random() == optimizer_rng(0).random()
True
>>> trial_seed(0, 1) != trial_seed(0, 2)
True
>>> trial_seeds(0, [1, 2]) == [trial_seed(0, 1), trial_seed(0, 2)]
True
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np

_OPTIMIZER, _BENCHMARK = 0, 1


def optimizer_rng(seed: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed), _OPTIMIZER])))


def trial_seed(seed: int, trial_id: int) -> int:
    """A 32-bit seed for trial ``trial_id`` of the run with ``seed``."""
    ss = np.random.SeedSequence([int(seed), _BENCHMARK, int(trial_id)])
    return int(ss.generate_state(1, np.uint32)[0])


def trial_seeds(seed: int, trial_ids: Iterable[int]) -> list[int]:
    """``[trial_seed(seed, t) for t in trial_ids]``, computed for all ids at once.

    numpy's ``SeedSequence`` reimplemented on uint32 arrays (below): it pays for its
    upkeep, saving ~13% of one in-memory Hyperband iteration at R=81 (0.87 ms of 6.8 ms
    for its 143 trials; ``benchmarking/upkeep.py``); the doctest above and
    tests/test_speed_exact.py hold it to numpy's result."""
    ids = [int(t) for t in trial_ids]
    if not ids or min(ids) < 0 or max(ids) > _MASK:  # not one 32-bit word each: one by one
        return [trial_seed(seed, t) for t in ids]
    head = _words(int(seed)) + [_BENCHMARK]
    entropy = np.empty((len(head) + 1, len(ids)), dtype=np.uint32)
    entropy[:-1] = np.array(head, dtype=np.uint32)[:, None]
    entropy[-1] = ids
    return _first_state_word(entropy).tolist()


# numpy's SeedSequence (numpy/random/bit_generator.pyx, after O'Neill's seed_seq
# alternative), reimplemented on uint32 arrays, one SeedSequence per column.
_MASK = 0xFFFFFFFF
_INIT_A, _MULT_A = 0x43B0D7E5, 0x931E8875
_INIT_B, _MULT_B = 0x8B51F9DD, 0x58F38DED
_MIX_L, _MIX_R = np.uint32(0xCA01F9DD), np.uint32(0x4973F715)
_POOL = 4  # its default pool size


def _words(n: int) -> list[int]:
    """A non-negative int as SeedSequence reads it: 32-bit words, lowest first."""
    if n < 0:
        raise ValueError("expected non-negative integer")
    words = [n & _MASK]
    while n := n >> 32:
        words.append(n & _MASK)
    return words


def _hash_constants():
    """(xor, multiplier) of each successive hashmix call: the hash constant before and
    after it is multiplied by MULT_A."""
    c = _INIT_A
    while True:
        m = c * _MULT_A & _MASK
        yield np.uint32(c), np.uint32(m)
        c = m


def _first_state_word(entropy: np.ndarray) -> np.ndarray:
    """``generate_state(1, uint32)[0]`` of ``SeedSequence(column)`` for each column of a
    uint32 ``(words, n)`` array (the default pool size, no spawn key).  uint32 array
    arithmetic wraps modulo 2**32 as the C code does; the constants are uint32 too, so
    no promotion rule can widen it."""
    constants = _hash_constants()

    def hashmix(value):
        xor, mult = next(constants)
        value = (value ^ xor) * mult
        return value ^ value >> 16

    def mix(x, y):
        r = _MIX_L * x - _MIX_R * y
        return r ^ r >> 16

    pad = np.zeros_like(entropy[0])
    pool = [hashmix(entropy[i] if i < len(entropy) else pad) for i in range(_POOL)]
    for src in range(_POOL):  # mix all bits together so late bits affect earlier ones
        for dst in range(_POOL):
            if src != dst:
                pool[dst] = mix(pool[dst], hashmix(pool[src]))
    for word in entropy[_POOL:]:  # entropy beyond the pool goes into every pool word
        for dst in range(_POOL):
            pool[dst] = mix(pool[dst], hashmix(word))
    value = (pool[0] ^ np.uint32(_INIT_B)) * np.uint32(_INIT_B * _MULT_B & _MASK)  # word 0
    return value ^ value >> 16
