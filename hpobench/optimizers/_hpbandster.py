"""HpBandSter (Falkner et al., 2018: the original BOHB code) without and with its network.

Two ways to run HpBandSter's own code:

* :func:`local_optimizer` builds its ``HyperBand`` or ``BOHB`` optimizer *without* the
  Pyro4 dispatcher that ``Master.__init__`` would start, so an ask/tell adapter can do
  what ``Master.run`` and ``Master.job_callback`` do, in the caller's thread: ask the
  active iterations for their next run (``get_next_run``), start the next iteration with
  the optimizer's own ``get_next_iteration`` when none has one, and on a result call the
  iteration's ``register_result`` and the config generator's ``new_result``.  Every
  schedule and model decision is HpBandSter's; only the transport is left out.
* :func:`loopback_run` runs the real thing: a Pyro4 nameserver, one worker and the
  master, all on 127.0.0.1 and stopped before it returns (the oracle tests use it).

numpy 2 and Pyro4's default serializer: serpent writes a numpy float64 (HpBandSter's
budgets) as ``np.float64(3.0)``, which the receiving side cannot parse, so the worker
silently never starts the job and the master waits forever.  :func:`_serpent_numpy`
registers numpy scalars with serpent as plain Python numbers, which is what numpy 1
printed.
"""
from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import Callable, Iterator
from unittest import mock

import numpy as np

KINDS = ("hyperband", "bohb")


def _serpent_numpy() -> None:
    import serpent

    def as_python(obj, serializer, out, level):
        serializer._serialize(obj.item(), out, level)

    for t in (np.float64, np.float32, np.int64, np.int32, np.bool_):
        serpent.register_class(t, as_python)


def _optimizer_class(kind: str):
    from hpbandster.optimizers import BOHB, HyperBand

    return {"hyperband": HyperBand, "bohb": BOHB}[kind]


def _master_without_dispatcher(self, run_id, config_generator, working_directory=".",
                               logger=None, result_logger=None, **_ignored) -> None:
    """What ``Master.__init__`` sets up, less the Pyro4 dispatcher and its thread."""
    self.working_directory = working_directory
    self.logger = logger or logging.getLogger("hpbandster")
    self.result_logger = result_logger
    self.config_generator = config_generator
    self.time_ref = None
    self.iterations = []
    self.jobs = []
    self.num_running_jobs = 0
    self.warmstart_iteration = []
    self.config = {"time_ref": None}


def local_optimizer(kind: str, configspace, *, eta, min_budget, max_budget, **settings):
    """HpBandSter's ``HyperBand`` / ``BOHB`` object, built by its own ``__init__`` (its
    budgets, ``max_SH_iter`` and config generator) with no dispatcher started."""
    from hpbandster.core.master import Master

    logging.getLogger("hpbandster").setLevel(logging.WARNING)
    with mock.patch.object(Master, "__init__", _master_without_dispatcher):
        return _optimizer_class(kind)(configspace=configspace, run_id="hpobench", eta=eta,
                                      min_budget=min_budget, max_budget=max_budget, **settings)


@contextlib.contextmanager
def numpy_global_state(state: np.random.RandomState | None):
    """Run a peer's code that draws from ``np.random``'s global state (BOHB's model,
    syne-tune's bracket draw) on ``state`` instead, leaving the caller's global state as
    it was, with the library's deprecation warnings silenced.  ``None``: warnings only
    (for code that draws no global randomness; a swap costs ~0.1-0.4 ms here: numpy
    copies the 624-word Mersenne Twister state each way)."""
    import warnings

    if state is not None:
        saved = np.random.get_state()
        np.random.set_state(state.get_state())
    try:
        with warnings.catch_warnings():  # ConfigSpace/pandas deprecations inside the peer
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", FutureWarning)
            yield
    finally:
        if state is not None:
            state.set_state(np.random.get_state())
            np.random.set_state(saved)


class ListConfigGenerator:
    """A config generator that hands out the configurations of an iterator, in order."""

    def __new__(cls, configs: Iterator[dict]):
        from hpbandster.core.base_config_generator import base_config_generator

        class _Listed(base_config_generator):
            def get_config(self, budget):
                return dict(next(configs)), {}

        return _Listed()


def loopback_run(kind: str, configspace, configs: Iterator[dict] | None, *, eta, min_budget,
                 max_budget, n_iterations: int, compute: Callable[[dict, float], float],
                 working_directory: Path, timeout: float = 120.0) -> list[tuple]:
    """Run HpBandSter's master with one worker through Pyro4 on 127.0.0.1.

    ``configs`` (or the optimizer's own sampler when None) feeds the master; ``compute``
    gives a job's loss.  Returns ``[(config_id, config, budget)]`` in the order the
    worker ran them.  Nameserver, worker and dispatcher are shut down before returning.
    """
    import hpbandster.core.nameserver as hpns
    from hpbandster.core.worker import Worker

    _serpent_numpy()
    logging.getLogger("hpbandster").setLevel(logging.WARNING)
    calls: list[tuple] = []

    class _Worker(Worker):
        def compute(self, config, budget, config_id=None, **kwargs):
            calls.append((tuple(config_id), dict(config), float(budget)))
            return {"loss": float(compute(config, budget)), "info": {}}

    run_id = "hpobench-oracle"
    ns = hpns.NameServer(run_id=run_id, host="127.0.0.1", port=0,
                         working_directory=str(working_directory))
    host, port = ns.start()
    master = None
    try:
        worker = _Worker(run_id=run_id, nameserver=host, nameserver_port=port, host="127.0.0.1",
                         timeout=timeout)
        worker.run(background=True)
        master = _optimizer_class(kind)(
            configspace=configspace, run_id=run_id, nameserver=host, nameserver_port=port,
            host="127.0.0.1", eta=eta, min_budget=min_budget, max_budget=max_budget,
            working_directory=str(working_directory), ping_interval=1)
        if configs is not None:
            master.config_generator = ListConfigGenerator(configs)
        master.run(n_iterations=n_iterations, min_n_workers=1)
    finally:
        if master is not None:
            master.shutdown(shutdown_workers=True)
        ns.shutdown()
    return calls
