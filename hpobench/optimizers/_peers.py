"""What every peer-library adapter (``peer_*.py``) shares: importing the library with a
one-line error that says how to install it, a peer's float budget as hpobench's
resource, and the installed version for the run's ``method_notes``."""
from __future__ import annotations

import importlib
import math

from hpobench.errors import ConfigError

INSTALL = "pip install -c constraints.txt -e '.[peers]'"


def require(module: str, method: str, install: str = INSTALL, extra: str = "peers"):
    """Import ``module`` or raise a one-line ConfigError saying how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise ConfigError(f"method: {method} needs the {extra} extra ({e}); install it with "
                          f"{install}") from None


def as_resource(budget: float):
    """A peer's float budget as hpobench's resource: an int when it is one."""
    b = float(budget)
    return int(round(b)) if math.isclose(b, round(b), rel_tol=1e-9, abs_tol=1e-12) else b


def version(dist: str) -> str:
    """The installed version of distribution ``dist`` ('?' when it cannot be read)."""
    from importlib.metadata import version as _v

    try:
        return _v(dist)
    except Exception:  # noqa: BLE001
        return "?"
