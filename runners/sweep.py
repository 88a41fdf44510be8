"""Run one experiment (or a ``-m`` multirun sweep) composed by Hydra.

    python -m runners.sweep method=hyperband
    python -m runners.sweep -m method=hyperband,random seed=0,1,2

Each run writes ``evaluations.parquet`` and ``run.json`` into
``results/<benchmark>/<method>/[<other overrides>/]seed=<k>/``; re-running the same
command resumes an interrupted run and skips a finished one.  The configs come from the
checkout's ``conf/`` (or, installed from a wheel, the copy shipped in the package; see
:mod:`hpobench.configs`).

Exit codes (hpobench/docs/guarantees.md):

* 0: done (every run of a sweep complete, finished or already complete);
* 2: bad input, nothing run: an hpobench ``ConfigError`` (one line naming the field) or a
  mistake Hydra found in the command line (``method=hyperbnd``, ``method.etaa=2``);
* 3: a multirun in which some jobs had bad input or were refused: the other jobs ran,
  and the failed ones are listed at the end;
* 130: interrupted (Ctrl-C): one line, and the same command resumes;
* 1: an unexpected error (a bug: please report the traceback).
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from hpobench import paths, validate
from hpobench.configs import config_dir  # also registers the config's resolvers
from hpobench.errors import ConfigError
from hpobench.experiment import run_from_config


@hydra.main(config_path=config_dir(), config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> None:
    paths.COMPOSED = True  # Hydra accepted this job's command line
    _die_with_the_sweep()
    hc = HydraConfig.get()
    run_dir = Path(hc.runtime.output_dir)
    overrides = list(hc.overrides.task)
    try:
        _check_names(cfg)
        if not paths.explicit_dir(hc.overrides.hydra):  # the user chose no other place
            validate.path_under("results_dir", run_dir, cfg.results_dir)
        result = run_from_config(cfg, run_dir=run_dir, variant=hc.job.override_dirname,
                                 extra_meta={"overrides": overrides})
    except ConfigError as e:
        _remove_if_empty(run_dir, Path(str(cfg.get("results_dir") or run_dir.parent)))
        message = _target_hint(e, overrides)
        if hc.mode == RunMode.MULTIRUN:  # the other jobs of the sweep still run
            job = " ".join(hc.overrides.task)
            print(f"error: [{job}] {message}", file=sys.stderr)
            _note_failure(job, message)
            return
        print(f"error: {message}", file=sys.stderr)
        sys.exit(2)
    inc = result.incumbent
    print(f"{result.status}: {len(result.rows)} evaluations, "
          f"{result.total_resource / result.rows[-1]['max_resource']:.2f} R spent, incumbent test "
          f"loss {inc['test_loss']:.4f}" if inc else f"{result.status}: no successful evaluation")
    print(f"results: {run_dir}")


def _die_with_the_sweep() -> None:
    """A job of a joblib (loky) multirun runs in a worker process of the sweep; if the
    sweep's process is killed (even by ``kill -9``) the workers would train on as orphans,
    holding their runs' locks so that a relaunch is refused.  Exit with the sweep instead:
    the runs are left as a kill leaves them, and the relaunch resumes them."""
    import multiprocessing as mp
    import os

    if mp.current_process().name.startswith("LokyProcess"):
        from hpobench.executors import exit_with_parent

        exit_with_parent(os.getppid())


def _check_names(cfg: DictConfig) -> None:
    """Every benchmark and method YAML names itself: the name is the results folder."""
    for group in ("benchmark", "method"):
        node = cfg.get(group)
        name = node.get("name") if isinstance(node, DictConfig) else None
        if node is not None and (not isinstance(name, str) or not name):
            raise ConfigError(f"{group}.name: missing; a {group} YAML needs `name: NAME` "
                              f"(it names the results folder), e.g. the YAML's file name")
        if node is not None:  # a folder name: never '..' or a path (hpobench/paths.py)
            validate.name(f"{group}.name", name)


def _target_hint(error: ConfigError, overrides: list[str]) -> str:
    """An option error after ``GROUP._target_=...`` was overridden: the other fields came
    from the group's default YAML; say how to replace the whole group instead."""
    for group in ("benchmark", "method", "executor"):
        if str(error).startswith(f"{group}.") and any(
                o.lstrip("+~").split("=", 1)[0] == f"{group}._target_" for o in overrides):
            return (f"{error}; {group}._target_=... keeps the other fields of the default "
                    f"{group}: give yours its own YAML and choose it with {group}=NAME "
                    "--config-dir DIR (hpobench/docs/howto_benchmark.md)")
    return str(error)


def _remove_if_empty(run_dir: Path, results_dir: Path) -> None:
    """Bad input: leave no run directory behind if it holds only Hydra's own files.

    Anything else (a journal, a table, another process's lock) means a run lives there:
    it is never touched.  Empty folders above it are removed up to ``results_dir``
    (exclusive), never beyond it.
    """
    if not run_dir.is_dir() or any(p.name not in (".hydra", "sweep.log") for p in run_dir.iterdir()):
        return
    shutil.rmtree(run_dir, ignore_errors=True)
    root = results_dir.resolve()
    parent = run_dir.resolve().parent
    while root in parent.parents:  # the empty benchmark/method folders above it
        try:
            parent.rmdir()
        except OSError:
            break
        parent = parent.parent


#: environment variable naming the file where the jobs of a multirun note their failures
#: (inherited by joblib's worker processes)
FAILURES_ENV = "HPOBENCH_SWEEP_FAILURES"


def _note_failure(job: str, error: str) -> None:
    path = os.environ.get(FAILURES_ENV)
    if not path:
        return
    line = (json.dumps({"job": job, "error": error}) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW)
    try:
        os.write(fd, line)  # one write of one short line: jobs never interleave
    finally:
        os.close(fd)


def cli() -> None:
    """``main`` with the exit codes of this module's docstring."""
    fd, failures = tempfile.mkstemp(prefix="hpobench-sweep-", suffix=".jsonl")
    os.close(fd)
    os.environ[FAILURES_ENV] = failures
    try:
        try:
            main()
            code = 0
        except KeyboardInterrupt:
            print("interrupted; rerun the same command to resume", file=sys.stderr)
            code = 130
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
            if code == 1 and not paths.COMPOSED:
                code = 2  # Hydra refused the command line before anything ran
        with open(failures) as f:
            failed = [json.loads(line) for line in f if line.strip()]
    finally:
        os.unlink(failures)
    if failed:
        print(f"sweep: {len(failed)} job(s) failed, the others ran:", file=sys.stderr)
        for f in failed:
            print(f"  [{f['job']}] {f['error']}", file=sys.stderr)
        code = code or 3
    sys.exit(code)


if __name__ == "__main__":
    cli()
