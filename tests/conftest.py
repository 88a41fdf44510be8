"""Shared test helpers: compose configs the way runners.sweep does."""
from __future__ import annotations

from pathlib import Path

import pytest
from omegaconf import OmegaConf

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "conf"


def method_names() -> list[str]:
    """Every method the project ships (one per conf/method/*.yaml)."""
    return sorted(p.stem for p in (CONF / "method").glob("*.yaml"))


def missing_requirement(method: str):
    """``(module, how to install it)`` for the first module a method's adapter needs (its
    module's ``REQUIRES``) that is not installed, or None.  Peer methods are optional."""
    import importlib
    import importlib.util

    target = OmegaConf.load(CONF / "method" / f"{method}.yaml").get("_target_", "")
    module = importlib.import_module(target.rpartition(".")[0])
    for name in getattr(module, "REQUIRES", ()):
        if importlib.util.find_spec(name) is None:
            return name, getattr(module, "INSTALL", "pip install -c constraints.txt -e '.[peers]'")
    return None


def method_params() -> list:
    """:func:`method_names` as pytest parameters; a method whose optional library is not
    installed is skipped, with the reason."""
    out = []
    for m in method_names():
        need = missing_requirement(m)
        marks = [pytest.mark.skip(reason=f"{m} needs {need[0]!r}: {need[1]}")] if need else []
        out.append(pytest.param(m, marks=marks, id=m))
    return out


def compose_cfg(overrides: list[str]):
    """Compose ``conf/config.yaml`` with ``overrides`` (as the command line would)."""
    from hpobench.configs import compose

    return compose(overrides, directory=str(CONF))


@pytest.fixture
def cfg_factory():
    return compose_cfg


def plain(cfg) -> dict:
    return OmegaConf.to_container(cfg, resolve=False)
