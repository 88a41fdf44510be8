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


def compose_cfg(overrides: list[str]):
    """Compose ``conf/config.yaml`` with ``overrides`` (as the command line would)."""
    from hpobench.configs import compose

    return compose(overrides, directory=str(CONF))


@pytest.fixture
def cfg_factory():
    return compose_cfg


def plain(cfg) -> dict:
    return OmegaConf.to_container(cfg, resolve=False)
