"""Run one experiment (or a ``-m`` multirun sweep) composed by Hydra.

    python -m runners.sweep method=hyperband
    python -m runners.sweep -m method=hyperband,random seed=0,1,2

Each run writes ``evaluations.parquet`` and ``run.json`` into
``results/<benchmark>/<method>/[<other overrides>/]seed=<k>/``; re-running the same
command resumes an interrupted run and skips a finished one.
"""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from hpobench.errors import ConfigError
from hpobench.experiment import run_from_config


def _variant_dir(override_dirname: str) -> str:
    """The path part for overrides beyond benchmark/method/seed ('' when there are none)."""
    return f"{override_dirname}/" if override_dirname else ""


if not OmegaConf.has_resolver("hpobench_variant"):
    OmegaConf.register_new_resolver("hpobench_variant", _variant_dir)


@hydra.main(config_path="../conf", config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> None:
    hc = HydraConfig.get()
    run_dir = Path(hc.runtime.output_dir)
    overrides = list(hc.overrides.task)
    try:
        _check_names(cfg)
        result = run_from_config(cfg, run_dir=run_dir, variant=hc.job.override_dirname,
                                 extra_meta={"overrides": overrides})
    except ConfigError as e:
        _remove_if_empty(run_dir)
        print(f"error: {_target_hint(e, overrides)}", file=sys.stderr)
        sys.exit(2)
    inc = result.incumbent
    print(f"{result.status}: {len(result.rows)} evaluations, "
          f"{result.total_resource / cfg.benchmark.max_resource:.2f} R spent, incumbent test "
          f"loss {inc['test_loss']:.4f}" if inc else f"{result.status}: no successful evaluation")
    print(f"results: {run_dir}")


def _check_names(cfg: DictConfig) -> None:
    """Every benchmark and method YAML names itself: the name is the results folder."""
    for group in ("benchmark", "method"):
        node = cfg.get(group)
        name = node.get("name") if isinstance(node, DictConfig) else None
        if node is not None and (not isinstance(name, str) or not name):
            raise ConfigError(f"{group}.name: missing; a {group} YAML needs `name: NAME` "
                              f"(it names the results folder), e.g. the YAML's file name")


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


def _remove_if_empty(run_dir: Path) -> None:
    """Bad input: leave no run directory behind if it holds only Hydra's own files.

    Anything else (a journal, a table, another process's lock) means a run lives there:
    it is never touched.
    """
    if not run_dir.is_dir() or any(p.name not in (".hydra", "sweep.log") for p in run_dir.iterdir()):
        return
    shutil.rmtree(run_dir, ignore_errors=True)
    try:  # and the empty benchmark/method folders above it
        os.removedirs(run_dir.parent)
    except OSError:
        pass


if __name__ == "__main__":
    main()
