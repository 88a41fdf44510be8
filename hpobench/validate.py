"""The one place settings are checked: each helper returns the clean value or raises a
one-line :class:`~hpobench.errors.ConfigError` that names the field and what is allowed.

Every config group (benchmark, method, executor, run settings) validates through these
helpers, so a bad value reads the same wherever it is caught::

    >>> integer("method.eta", 3, low=2)
    3
    >>> integer("method.eta", True, low=2)
    Traceback (most recent call last):
    ...
    hpobench.errors.ConfigError: method.eta: must be an integer >= 2, got True
    >>> number("benchmark.noise", 0.3, low=0, high=1)
    0.3
    >>> choice("benchmark.terminal", "flat", ("structured", "random"))
    Traceback (most recent call last):
    ...
    hpobench.errors.ConfigError: benchmark.terminal: must be one of ['structured', 'random'], got 'flat'

YAML's ``true``/``false`` are Python bools, and ``bool`` is a subclass of ``int``: a
``workers: true`` must not become one worker, so booleans are never numbers here.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable, Iterable, Optional, TypeVar

from hpobench.errors import ConfigError

T = TypeVar("T")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _range(kind: str, low, high, low_open: bool = False, high_open: bool = False) -> str:
    """'an integer >= 1', 'a finite number in [0, 1)', ... (what is allowed)."""
    if low is not None and high is not None:
        if kind == "an integer":
            return f"{kind} in {low}..{high}"
        return f"{kind} in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    if low is not None:
        return f"{kind} {'>' if low_open else '>='} {low:g}" if kind != "an integer" \
            else f"{kind} >= {low}"
    if high is not None:
        return f"{kind} {'<' if high_open else '<='} {high:g}" if kind != "an integer" \
            else f"{kind} <= {high}"
    return kind


def integer(field: str, value: Any, *, low: Optional[int] = None, high: Optional[int] = None,
            whole_floats: bool = False, note: str = "") -> int:
    """``value`` as an int within ``[low, high]``.

    ``whole_floats``: accept ``3.0`` as ``3`` (settings that may arrive as computed floats,
    such as ``R`` or ``eta``).  ``note`` follows the allowed range in the message
    (e.g. ``"(units)"``).
    """
    ok = _is_number(value) and (isinstance(value, int) or (
        whole_floats and math.isfinite(value) and int(value) == value))
    if ok and ((low is not None and value < low) or (high is not None and value > high)):
        ok = False
    if not ok:
        raise ConfigError(f"{field}: must be {_range('an integer', low, high)}"
                          f"{' ' + note if note else ''}, got {value!r}")
    return int(value)


def number(field: str, value: Any, *, low: Optional[float] = None,
           high: Optional[float] = None, low_open: bool = False, high_open: bool = False,
           note: str = "") -> float:
    """``value`` as a finite float within the bounds (open ends with ``low_open`` /
    ``high_open``)."""
    ok = _is_number(value) and math.isfinite(value)
    if ok and low is not None and (value <= low if low_open else value < low):
        ok = False
    if ok and high is not None and (value >= high if high_open else value > high):
        ok = False
    if not ok:
        raise ConfigError(f"{field}: must be "
                          f"{_range('a finite number', low, high, low_open, high_open)}"
                          f"{' ' + note if note else ''}, got {value!r}")
    return float(value)


def numbers(field: str, value: Any, *, length: Optional[int] = None,
            low: Optional[float] = None, high: Optional[float] = None) -> list[float]:
    """``value`` as a list of finite floats (``length`` of them, each within the bounds)."""
    ok = isinstance(value, (list, tuple)) and (length is None or len(value) == length) and all(
        _is_number(v) and math.isfinite(v) and (low is None or v >= low)
        and (high is None or v <= high) for v in value)
    if not ok:
        what = _range("finite numbers", low, high).replace("finite numbers", "", 1).strip()
        raise ConfigError(f"{field}: must be a list of {length if length is not None else ''}"
                          f"{' ' if length is not None else ''}finite numbers"
                          f"{' ' + what if what else ''}, got {value!r}")
    return [float(v) for v in value]


#: the largest max_resource R any benchmark accepts: Hyperband's first bracket holds
#: about R configurations, so R = 1e12 would allocate terabytes before any work
MAX_RESOURCE = 1_000_000
#: the most worker processes an executor starts on one machine
MAX_WORKERS = 1024


def choice(field: str, value: Any, allowed: Iterable[T]) -> T:
    """``value`` if it is one of ``allowed`` (compared with ``==``; a bool never matches
    a number)."""
    allowed = list(allowed)
    for a in allowed:
        if value == a and isinstance(value, bool) == isinstance(a, bool):
            return a
    shown = "[" + ", ".join(_yaml(a) for a in allowed) + "]"
    raise ConfigError(f"{field}: must be one of {shown}, got {value!r}")


def boolean(field: str, value: Any) -> bool:
    """``value`` if it is ``True`` or ``False`` (not 0/1, not a string)."""
    if not isinstance(value, bool):
        raise ConfigError(f"{field}: must be true or false, got {value!r}")
    return value


def optional(check: Callable[..., T], field: str, value: Any, **kwargs) -> Optional[T]:
    """``None`` stays ``None``; anything else goes through ``check`` (whose message then
    says ``or null``)."""
    if value is None:
        return None
    try:
        return check(field, value, **kwargs)
    except ConfigError as e:
        head, sep, got = str(e).rpartition(", got ")
        raise ConfigError(f"{head} or null{sep}{got}" if sep else str(e)) from None


def text(field: str, value: Any, *, empty: bool = False) -> str:
    """``value`` if it is a string (non-empty unless ``empty``)."""
    if not isinstance(value, str) or (not empty and not value):
        raise ConfigError(f"{field}: must be a {'' if empty else 'non-empty '}string, "
                          f"got {value!r}")
    return value


def path_under(field: str, value: Any, root: str | Path) -> Path:
    """``value`` (relative to ``root``, or absolute) resolved, if it lies under ``root``.

    Symlinks are resolved before the check, so a link cannot lead a write outside.
    """
    if not isinstance(value, (str, Path)) or not str(value):
        raise ConfigError(f"{field}: must be a path, got {value!r}")
    root = Path(root).resolve()
    p = Path(value)
    p = (p if p.is_absolute() else root / p).resolve()
    if p != root and root not in p.parents:
        raise ConfigError(f"{field}: must lie under {root}, got {value!r}")
    return p


def name(field: str, value: Any) -> str:
    """A single path component (a run, method or benchmark name used in a directory
    name): no separators, not '.' or '..', printable."""
    ok = isinstance(value, str) and value not in ("", ".", "..") and "/" not in value \
        and "\\" not in value and "\x00" not in value and value.isprintable()
    if not ok:
        raise ConfigError(f"{field}: must be a plain name (no '/', not '.' or '..'), "
                          f"got {value!r}")
    return value


def _yaml(v: Any) -> str:
    """How a config file spells ``v`` (``true``, ``null``, ``'auto'``)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "null"
    return repr(v)
