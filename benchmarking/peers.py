"""Part 7: the peer adapters' overhead per decision: time in an adapter's ``ask`` + ``tell``
against the time spent inside the peer library's own calls during them
(``conf/method/<peer>.yaml``, the ``peers`` extra; not available when it is missing).

The library's entry points are wrapped on the adapter's own objects (SMAC3's facade
``ask``/``tell``; hyperopt's ``tpe.suggest`` and ``Trials`` calls; HpBandSter's
iterations, ``get_next_iteration`` and config generator; syne-tune's scheduler calls;
Keras Tuner's oracle trial API; Ray Tune's scheduler calls and its search-space domains'
``sample``), timed with this thread's CPU time (outermost call only,
so a library call that calls another is counted once).  What is left of the adapter's
time is its own work: space decoding, job bookkeeping, the numpy-state swap and hashing
scopes.  The ratio is adapter time / library time: what a run pays for going through
hpobench rather than calling the library's calls in the same order itself.
"""
from __future__ import annotations

import contextlib
import time
import warnings
from pathlib import Path
from unittest import mock

from benchmarking.common import Line, not_available
from hpobench.benchmarks.envelope import EnvelopeBenchmark
from hpobench.configs import config_dir
from hpobench.seeding import optimizer_rng, trial_seed

PEERS = ("smac", "smac_hyperband", "hpbandster_bohb", "hyperopt_tpe", "synetune_asha",
         "synetune_bohb", "kerastuner_hyperband", "raytune_hyperband", "raytune_asha")


class _Clock:
    """Accumulates this thread's CPU time inside wrapped library calls (outermost only)."""

    def __init__(self) -> None:
        self.total, self.depth = 0.0, 0

    def wrap(self, fn):
        def timed(*args, **kwargs):
            if self.depth:
                return fn(*args, **kwargs)
            self.depth += 1
            t = time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.total += time.thread_time() - t
                self.depth -= 1
        return timed


def _instrument(name: str, opt, clock: _Clock, stack: contextlib.ExitStack) -> None:
    """Wrap the library calls ``opt`` makes (see the module docstring)."""
    def on(obj, *attrs):
        for a in attrs:
            stack.enter_context(mock.patch.object(obj, a, clock.wrap(getattr(obj, a))))

    if name.startswith("smac"):
        on(opt.smac, "ask", "tell")
    elif name.startswith("hpbandster"):
        from hpbandster.core.base_iteration import BaseIteration

        on(BaseIteration, "get_next_run", "register_result")
        on(opt.peer, "get_next_iteration")
        on(opt.peer.config_generator, "new_result")
    elif name.startswith("hyperopt"):
        import hyperopt.tpe

        on(hyperopt.tpe, "suggest")
        on(opt.trials, "insert_trial_docs", "refresh", "new_trial_ids")
    elif name.startswith("synetune"):
        on(opt.scheduler, "suggest", "on_trial_add", "on_trial_result", "on_trial_complete",
           "on_trial_error")
    elif name.startswith("kerastuner"):
        on(opt.oracle, "create_trial", "update_trial", "end_trial")
    elif name.startswith("raytune"):
        on(opt.scheduler, "on_trial_add", "on_trial_result", "on_trial_complete",
           "on_trial_error", "on_trial_remove", "choose_trial_to_run")
        for domain in opt._domains.values():  # Tune's own sampling of new trials
            on(domain, "sample")


def _one(name: str, n_decisions: int, seed: int) -> tuple[float, float]:
    """(adapter CPU seconds, library CPU seconds) over ``n_decisions`` ask+tell pairs."""
    from omegaconf import OmegaConf

    from hpobench.experiment import instantiate

    cfg = OmegaConf.to_container(OmegaConf.load(Path(config_dir()) / "method" / f"{name}.yaml"),
                                 resolve=True)
    bench = EnvelopeBenchmark()
    opt = instantiate("method", cfg, space=bench.space, max_resource=bench.max_resource,
                      rng=optimizer_rng(seed), budget=n_decisions, seed=seed)
    clock, total = _Clock(), 0.0
    with contextlib.ExitStack() as stack, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _instrument(name, opt, clock, stack)
        for _ in range(n_decisions):
            t = time.thread_time()
            job = opt.ask()
            total += time.thread_time() - t
            ev = bench.evaluate(job.config, job.resource, trial_seed(seed, job.trial_id))
            t = time.thread_time()
            opt.tell(job, ev)
            total += time.thread_time() - t
    return total, clock.total


def peer_overhead(n_decisions: int = 30, repeats: int = 2) -> list[Line]:
    """One line per peer method: adapter time per decision against the library's."""
    lines = []
    for name in PEERS:
        try:
            _one(name, 2, 0)  # warm-up: imports and first-call caches out of the measurement
            runs = [_one(name, n_decisions, seed) for seed in range(repeats)]
        except Exception as e:  # noqa: BLE001  (ConfigError for a missing extra, ImportError)
            lines.append(not_available(f"peer_overhead_{name}", f"{type(e).__name__}: {e}"))
            continue
        adapter = sum(a for a, _ in runs) / (n_decisions * repeats)
        library = sum(b for _, b in runs) / (n_decisions * repeats)
        lines.append(Line(f"peer_overhead_{name}", adapter * 1e3, library * 1e3, "ms",
                          "ratio <= 1.05", adapter <= 1.05 * library,
                          f"CPU time per decision (ask + tell), {n_decisions} decisions x "
                          f"{repeats} seeds on the envelope at R=81; baseline: the time inside "
                          f"the library's own calls; the adapter's own work: "
                          f"{(adapter - library) * 1e6:.0f} us per decision"))
    return lines
