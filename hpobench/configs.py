"""Where the Hydra configs are, the resolvers they use, and composing them from Python.

The configs users edit live in the checkout's top-level ``conf/``.  A built wheel ships
a copy of them inside the package (``hpobench/conf/``, copied at build time by
``setup.py``), so an installed hpobench runs ``python -m runners.sweep ...`` without a
checkout; :func:`config_dir` prefers the checkout's ``conf/`` whenever there is one (a
source tree or an editable install), so edits there always take effect.  Either way,
``--config-dir DIR`` adds a folder of your own configs.

Importing this module registers the resolvers ``conf/config.yaml`` uses
(``hpobench_variant``, ``hpobench_part``), so composing the config needs nothing from
``runners``::

    >>> cfg = compose(["method=random", "seed=3"])
    >>> cfg.method.name, cfg.seed
    ('random', 3)
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

from omegaconf import OmegaConf

from hpobench import paths

_HERE = Path(__file__).resolve().parent


def config_dir() -> str:
    """The folder holding ``config.yaml``: the checkout's ``conf/`` when hpobench runs from
    a source tree, else the copy shipped in the package."""
    checkout = _HERE.parent
    if (checkout / "pyproject.toml").is_file() and (checkout / "conf" / "config.yaml").is_file():
        return str(checkout / "conf")
    return str(_HERE / "conf")


def variant_dir(override_dirname: str) -> str:
    """The path part for overrides beyond benchmark/method/seed ('' when there are none):
    one component, whatever the override values hold (``/``, ``..``)."""
    return f"{paths.part(override_dirname)}/" if override_dirname else ""


def register_resolvers() -> None:
    """Register the resolvers ``conf/config.yaml`` uses (idempotent)."""
    for name, fn in (("hpobench_variant", variant_dir), ("hpobench_part", paths.part)):
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, fn)


def compose(overrides: Sequence[str] = (), config_name: str = "config",
            directory: Optional[str] = None):
    """The config ``python -m runners.sweep OVERRIDES`` would run (without Hydra's
    ``hydra.runtime`` fields, which only a launched job has)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    with initialize_config_dir(config_dir=directory or config_dir(), version_base="1.3"):
        return hydra_compose(config_name=config_name, overrides=list(overrides))


register_resolvers()
