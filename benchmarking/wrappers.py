"""Part 3: the wrapper overhead of the model-based methods: hpobench's TPE, GP-BO and
forest BO adapters against the library each wraps, called directly with the same
history (``conf/method/{tpe,gp,rf}.yaml``)."""
from __future__ import annotations

import statistics
import time
import warnings
from pathlib import Path

from benchmarking.common import R, Line, not_available
from hpobench.benchmarks.envelope import EnvelopeBenchmark
from hpobench.configs import config_dir
from hpobench.seeding import trial_seed


WRAPPED = ("tpe", "gp", "rf")


def wrapper_overhead(n_decisions: int = 30, repeats: int = 3) -> list[Line]:
    """Part 3: time per decision (``ask`` + ``tell``) through hpobench's adapter against
    the library called directly, for each of ``conf/method/{tpe,gp,rf}.yaml``.

    Both sides get the same settings and the same seed and are stepped in lockstep on the
    same objective (the envelope at R), so they see the same history; the objective's own
    time is not counted.  Every ask and tell, on both sides, runs with numerical libraries
    limited to one thread (one ``threadpoolctl`` controller, built once), and the clock is
    this thread's CPU time (``time.thread_time``): the work is pure computation, CPU time
    is far less disturbed than wall time by other processes on a busy machine, and both
    sides get the same threading whatever the adapter sets and restores inside.  The two
    sides alternate going first; one untimed sequence first (:func:`_warm_up`) takes the
    libraries' lazy imports out of the measurement.  The adapter's overhead is the median
    of the paired per-decision differences (robust to the odd disturbed decision); the
    ratio is (library's mean time per decision + that overhead) / the library's mean,
    i.e. what a run pays.  The note also says whether both sides proposed the same
    configurations throughout.
    """
    lines = []
    for name in WRAPPED:
        path = Path(config_dir()) / "method" / f"{name}.yaml"
        if not path.exists():
            lines.append(not_available(f"wrapper_overhead_{name}", f"{path.name} is missing"))
            continue
        try:
            pair = _wrapper_pair(path)
        except ImportError as e:
            lines.append(not_available(f"wrapper_overhead_{name}", f"{e}"))
            continue
        _warm_up(*pair(repeats), n_decisions)
        pairs: list[tuple[float, float]] = []
        same = True
        for seed in range(repeats):
            times, same_here = _lockstep(*pair(seed), n_decisions)
            pairs += times
            same = same and same_here
        direct = sum(d for _, d in pairs) / len(pairs)
        extra = statistics.median(a - d for a, d in pairs)
        adapter = direct + extra
        lines.append(Line(f"wrapper_overhead_{name}", adapter * 1e3, direct * 1e3, "ms",
                          "ratio <= 1.05", adapter <= 1.05 * direct,
                          f"CPU time per decision (1 thread), {n_decisions} decisions x "
                          f"{repeats} seeds; baseline: {'optuna' if name == 'tpe' else 'skopt'} "
                          f"called directly (mean); measured: baseline + the adapter's extra "
                          f"time per decision (median of paired differences: "
                          f"{extra * 1e6:.0f} us); same configurations: "
                          f"{'yes' if same else 'NO'}"))
    return lines


def _wrapper_pair(path: Path):
    """``make(seed) -> (adapter, direct)``: hpobench's optimizer built from the method
    config, and a ``(ask, tell, decode)`` triple that drives the library itself."""
    import inspect

    from omegaconf import OmegaConf

    from hpobench.experiment import instantiate, resolve_target

    cfg = OmegaConf.to_container(OmegaConf.load(path), resolve=True)
    cls = resolve_target(cfg["_target_"], "method")
    defaults = {k: v.default for k, v in inspect.signature(cls).parameters.items()
                if v.default is not inspect.Parameter.empty}
    opts = {**defaults, **{k: v for k, v in cfg.items() if k not in ("_target_", "name")}}
    b = EnvelopeBenchmark(max_resource=R)
    direct = _optuna_direct if "tpe" in cfg["_target_"].lower() else _skopt_direct

    def make(seed: int):
        import numpy as np

        adapter = instantiate("method", cfg, space=b.space, max_resource=R,
                              rng=np.random.default_rng(seed))
        # the adapter's first draw from its generator seeds the library: draw it alike
        lib_seed = int(np.random.default_rng(seed).integers(2**31 - 1))
        return b, adapter, direct(b.space, opts, lib_seed)
    return make


def _optuna_direct(space, opts: dict, seed: int):
    from hpobench.optimizers import _optuna_space as ospace

    optuna = ospace.load_optuna()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        sampler = optuna.samplers.TPESampler(
            n_startup_trials=opts["n_startup_trials"], n_ei_candidates=opts["n_ei_candidates"],
            multivariate=opts["multivariate"], group=opts["group"],
            constant_liar=opts["constant_liar"], seed=seed)
    study = optuna.create_study(direction="minimize", sampler=sampler)
    dists = ospace.distributions(space)
    return (lambda: study.ask(dists), lambda t, y: study.tell(t, y),
            lambda t: ospace.decode(space, t.params))


def _skopt_direct(space, opts: dict, seed: int):
    from skopt import Optimizer

    from hpobench.optimizers import _skopt_space as kspace

    forest = "surrogate" in opts
    opt = Optimizer(
        kspace.dimensions(space), base_estimator=opts["surrogate"] if forest else "GP",
        n_initial_points=opts["n_initial_points"],
        initial_point_generator=opts["initial_point_generator"], acq_func=opts["acq_func"],
        acq_optimizer="sampling" if forest else opts["acq_optimizer"],
        acq_func_kwargs={"xi": float(opts["xi"]), "kappa": float(opts["kappa"])},
        acq_optimizer_kwargs={"n_points": opts["n_points"],
                              "n_restarts_optimizer": 1 if forest else opts["n_restarts_optimizer"]},
        random_state=seed)

    def tell(x, y):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            opt.tell(x, y)
    return opt.ask, tell, lambda x: kspace.decode(space, x)


def _one_thread():
    """``with one_thread(): ...`` runs BLAS/OpenMP on one thread; ~20 us per use (one
    controller for all calls: building one scans the process's libraries, ~10 ms)."""
    from threadpoolctl import ThreadpoolController

    controller = ThreadpoolController()
    return lambda: controller.limit(limits=1)


def _warm_up(b, adapter, direct, n: int) -> None:
    """``n`` untimed decisions of the library alone (another seed): its lazy imports
    (TPE imports its model's modules at its first model-based decision) then happen
    here, not inside a timed decision of whichever side goes first."""
    ask, tell, decode = direct
    for i in range(n):
        x = ask()
        tell(x, float(b.evaluate(decode(x), R, trial_seed(1, i)).val_loss))


def _lockstep(b, adapter, direct, n: int) -> tuple[list[tuple[float, float]], bool]:
    """(adapter, direct) seconds spent in ``ask``+``tell`` for each of ``n`` decisions,
    alternating which side goes first; and whether both proposed the same
    configurations throughout."""

    ask, tell, decode = direct
    clock, one_thread = time.thread_time, _one_thread()
    times = []
    same = True
    for i in range(n):
        seed = trial_seed(0, i)

        def step_adapter():
            t = clock()
            with one_thread():
                job = adapter.ask()
            dt = clock() - t
            ev = b.evaluate(job.config, R, seed)
            t = clock()
            with one_thread():
                adapter.tell(job, ev)
            return dt + clock() - t, job.config

        def step_direct():
            t = clock()
            with one_thread():
                x = ask()
            dt = clock() - t
            cfg = decode(x)
            y = float(b.evaluate(cfg, R, seed).val_loss)
            t = clock()
            with one_thread():
                tell(x, y)
            return dt + clock() - t, cfg

        if i % 2:
            (da, ca), (dd, cd) = step_adapter(), step_direct()
        else:
            (dd, cd), (da, ca) = step_direct(), step_adapter()
        times.append((da, dd))
        same = same and ca == cd
    return times, same
