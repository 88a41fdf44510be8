"""Asynchronous successive halving (ASHA; Li et al., 2020, "A System for Massively
Parallel Hyperparameter Tuning", Algorithm 2), and several ASHA brackets side by side.

Rungs ``k = 0..K`` train to ``r_k = min_resource * eta^k`` (``K`` the largest with
``r_K <= max_rung_resource``).  Whenever a worker asks for a job, ASHA looks for a
promotable configuration, highest rung first: one that is in the top
``floor(|rung k| / eta)`` of the results rung ``k`` has so far and was not promoted
yet; it is trained on to ``r_(k+1)``.  If there is none, a new configuration starts at
the bottom rung.  So ``ask`` never returns ``None`` and no worker idles; the price is
that the job sequence depends on the order results come back
(``order_independent = False``), and that a few configurations are promoted that
synchronous successive halving would have stopped.  Failed or NaN results are never
promoted (:func:`~hpobench.optimizers.promotion.top_k`).

``brackets`` runs that many ASHA brackets at once, with early-stopping rates
``e = 0..brackets-1`` (the paper's ``s``): bracket ``e`` starts configurations at
``min_resource * eta^e``.  Jobs record the bracket the way Hyperband does, as the number
of promotions it allows (``bracket = K - e``; ``K`` is the most aggressive), and
``rung`` counted from that bracket's own bottom rung.  New configurations go to the
brackets in Hyperband's proportions (Algorithm 1's ``n_s = ceil((K+1)/(s+1) eta^s)``):
each new configuration goes to the bracket furthest behind its share, so every block of
``sum n_s`` new configurations holds exactly ``n_s`` per bracket, as one Hyperband
iteration does.  This is deterministic (no random bracket draw as in Ray Tune).
Promotions are checked across all brackets, largest rung resource first.

Example::

    >>> import numpy as np
    >>> from hpobench.benchmarks.spaces import lenet_space
    >>> asha = ASHA(lenet_space(), 81, rng=np.random.default_rng(0), eta=3)
    >>> [float(r) for r in asha.rung_resources]
    [1.0, 3.0, 9.0, 27.0, 81.0]
    >>> job = asha.ask(); (job.bracket, job.rung, job.resource)
    (4, 0, 1)
"""
from __future__ import annotations

import bisect
import itertools
import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Callable, Iterable, Optional

import numpy as np

from hpobench import schedule as sched
from hpobench import validate
from hpobench.errors import ConfigError
from hpobench.optimizers.base import Optimizer
from hpobench.optimizers.promotion import top_k
from hpobench.optimizers.successive_halving import _check_eta, _plain
from hpobench.samplers import RandomSampler, Sampler
from hpobench.space import SearchSpace
from hpobench.trial import Evaluation, Job


def promotable(results: Iterable[tuple[int, float, bool]], promoted: set, eta: int) -> Optional[int]:
    """ASHA's promotion rule for one rung: the best trial among the top
    ``floor(len(results) / eta)`` results that is not in ``promoted``, else ``None``.

    ``results`` are ``(trial_id, loss, ok)`` of every finished job of the rung (failures
    count in ``len(results)`` but are never promoted).

    >>> promotable([(0, 0.5, True), (1, 0.2, True), (2, 0.9, True)], set(), 3)
    1
    >>> promotable([(0, 0.5, True), (1, 0.2, True), (2, 0.9, True)], {1}, 3) is None
    True
    """
    results = list(results)
    for tid in top_k(results, len(results) // eta):
        if tid not in promoted:
            return tid
    return None


@dataclass
class _Rung:
    resource: Fraction
    results: dict = field(default_factory=dict)   # trial id -> (loss, ok)
    promoted: set = field(default_factory=set)
    ranked: list = field(default_factory=list)    # sorted (loss, trial id) of promotable results

    def add(self, trial_id: int, loss: float, ok: bool) -> None:
        self.results[trial_id] = (loss, ok)
        if ok and loss is not None and math.isfinite(loss):
            bisect.insort(self.ranked, (loss, trial_id))

    def next_promotion(self, eta: int) -> Optional[int]:
        """:func:`promotable` on this rung, from results kept sorted as they arrive
        (re-sorting the whole rung at every ask made a run quadratic in its length)."""
        for _, tid in itertools.islice(self.ranked, len(self.results) // eta):
            if tid not in self.promoted:
                return tid
        return None


@dataclass
class _Bracket:
    s: int                       # promotions this bracket allows (Hyperband's label)
    share: int                   # new configurations per Hyperband-like cycle (n_s)
    rungs: list
    started: int = 0


class ASHA(Optimizer):
    """Asynchronous successive halving over ``brackets`` brackets (1: plain ASHA).

    Settings: ``eta`` (reduction factor, integer >= 2), ``min_resource`` (bottom rung;
    default ``R eta^-s_max``, Hyperband's smallest rung), ``max_rung_resource`` (top rung
    at most this, default the benchmark's ``R``; named so because ``max_resource`` is the
    benchmark's ``R`` that the harness passes), ``brackets`` (number of early-stopping
    rates, ``null`` = all ``K+1``), ``sampler`` (a factory ``(space=, rng=) -> Sampler``).
    """

    order_independent = False

    def __init__(self, space: SearchSpace, max_resource: int, rng: np.random.Generator,
                 eta: int = 3, min_resource=None, max_rung_resource: Optional[int] = None,
                 brackets: Optional[int] = 1,
                 sampler: Optional[Callable[..., Sampler]] = None):
        super().__init__(space, max_resource)
        self.eta = _check_eta(eta)
        top = max_resource if max_rung_resource is None else max_rung_resource
        top = sched.check_int("method.max_rung_resource", top, 1)
        if top > max_resource:
            raise ConfigError(f"method.max_rung_resource: must be <= the benchmark's R "
                              f"({max_resource}), got {top}")
        if min_resource is None:
            lo = Fraction(sched.min_rung_resource(top, self.eta))
        else:
            validate.number("method.min_resource", min_resource, low=0, high=top,
                            low_open=True, note="(max_rung_resource)")
            lo = Fraction(min_resource).limit_denominator(10**9)
        ladder = [lo]
        while ladder[-1] * self.eta <= top:
            ladder.append(ladder[-1] * self.eta)
        self.rung_resources = tuple(ladder)
        K = len(ladder) - 1
        if brackets is None:
            brackets = K + 1
        validate.integer("method.brackets", brackets, low=1, high=K + 1,
                         note=f"(rungs {[float(r) for r in ladder]}) or null for all")
        self.min_resource = float(lo)
        self.sampler = (sampler or RandomSampler)(space=space, rng=rng)
        self._brackets = []
        for e in range(brackets):
            s = K - e
            n_s = -(-(K + 1) * self.eta ** s // (s + 1))  # Algorithm 1 with s_max = K
            self._brackets.append(_Bracket(s, n_s, [_Rung(r) for r in ladder[e:]]))
        # promotion scan order: largest rung resource first, then the most aggressive bracket
        self._scan = sorted(((b, k) for b, br in enumerate(self._brackets)
                             for k in range(len(br.rungs) - 1)),
                            key=lambda bk: (-self._brackets[bk[0]].rungs[bk[1]].resource, bk[0]))
        self._configs: dict[int, dict] = {}

    def _next(self) -> Optional[Job]:
        for b, k in self._scan:
            rung = self._brackets[b].rungs[k]
            tid = rung.next_promotion(self.eta)
            if tid is not None:
                rung.promoted.add(tid)
                return self._make(b, k + 1, tid)
        b = min(range(len(self._brackets)),
                key=lambda i: (Fraction(self._brackets[i].started, self._brackets[i].share), i))
        self._brackets[b].started += 1
        (config,) = self.sampler.sample(1)
        tid = self._new_trial_id()
        self._configs[tid] = config
        return self._make(b, 0, tid)

    def _make(self, b: int, k: int, tid: int) -> Job:
        br = self._brackets[b]
        return self._job(tid, self._configs[tid], _plain(br.rungs[k].resource),
                         bracket=br.s, rung=k)

    def _observe(self, job: Job, evaluation: Evaluation) -> None:
        self.sampler.observe(job.config, job.resource, evaluation.val_loss, evaluation.ok)
        b = next(i for i, br in enumerate(self._brackets) if br.s == job.bracket)
        rungs = self._brackets[b].rungs
        rungs[job.rung].add(job.trial_id, evaluation.val_loss, evaluation.ok)
        if not evaluation.ok or job.rung == len(rungs) - 1:
            # never promoted again: a failure, or the top rung is done
            self._configs.pop(job.trial_id, None)
            self._discarded.append(job.trial_id)
