"""Colour, marker and label of every method, defined once for all figures.

A method is looked up by name and, for successive halving, by its bracket (the
``method.bracket=s`` override a bracket sweep records), so "bracket s=2" has the same look
in every figure.  Unknown methods get a stable fallback derived from their name (the same
name always gets the same colour), never an error.

Example::

    >>> style("hyperband").label
    'Hyperband'
    >>> style("successive_halving", "method.bracket=2").label
    'bracket s=2'
    >>> style("my_new_method").label == "my_new_method"
    True
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass, replace
from typing import Optional

from hpobench.loading import method_option, split_variant, without_options


@dataclass(frozen=True)
class Style:
    color: str
    marker: str
    label: str
    linestyle: str = "-"
    zorder: int = 2


#: The methods this project ships or plans; colours from the colour-blind-safe Tableau set.
METHODS: dict[str, Style] = {
    "hyperband": Style("#d62728", "o", "Hyperband", "-", 5),
    "random": Style("#1f77b4", "s", "random search"),
    "random_2x": Style("#17becf", "D", "random search 2x", "--"),
    "tpe": Style("#2ca02c", "^", "TPE"),
    "gp": Style("#9467bd", "v", "GP-BO (skopt)"),
    "rf": Style("#8c564b", "P", "random forest BO (skopt)"),
    "grid": Style("#7f7f7f", "x", "grid search", ":"),
    "optuna_hyperband": Style("#ff7f0e", "*", "Optuna HyperbandPruner (not Alg. 1)", "-."),
    "successive_halving": Style("#e377c2", "<", "successive halving (s=s_max)"),
    "asha": Style("#bcbd22", ">", "ASHA"),
    "asha_hyperband": Style("#aec7e8", "h", "asynchronous Hyperband"),
    "bohb": Style("#393b79", "p", "BOHB"),
}

#: Successive halving run as one bracket s (the paper's LeNet bracket figure): a
#: sequential palette from s=0 (random search at R) to the most aggressive bracket.
BRACKETS: dict[int, Style] = {
    0: Style("#08306b", "s", "bracket s=0"),
    1: Style("#2171b5", "^", "bracket s=1"),
    2: Style("#4eb3d3", "v", "bracket s=2"),
    3: Style("#41ab5d", "D", "bracket s=3"),
    4: Style("#b8a400", "P", "bracket s=4"),
    5: Style("#fd8d3c", "X", "bracket s=5"),
    6: Style("#7f2704", "h", "bracket s=6"),
}

_FALLBACK_COLORS = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860",
                    "#da8bc3", "#8c8c8c", "#ccb974", "#64b5cd")
_FALLBACK_MARKERS = ("o", "s", "^", "v", "D", "P", "X", "<", ">", "h")


def _bracket_of(method_variant: str) -> Optional[int]:
    v = method_option(method_variant or "", "bracket")
    try:
        return int(v) if v is not None else None
    except ValueError:
        return None


def style(method: str, method_variant: str = "") -> Style:
    """The style of ``method`` run with the ``method.*`` overrides ``method_variant``.

    Other ``method.*`` overrides than the bracket keep the method's colour and marker and
    are appended to the label, so two variants of one method stay distinguishable by label
    and line style.
    """
    s = _bracket_of(method_variant) if method == "successive_halving" else None
    if s is not None:
        base = BRACKETS.get(s) or _fallback(f"bracket{s}", f"bracket s={s}")
        rest = without_options(method_variant, "bracket")
    else:
        base = METHODS.get(method) or _fallback(method, method)
        rest = method_variant
    if rest:
        extra = ", ".join(i.lstrip("+~").removeprefix("method.") for i in split_variant(rest))
        base = replace(base, label=f"{base.label} ({extra})", linestyle="--")
    return base


def _fallback(key: str, label: str) -> Style:
    h = zlib.crc32(key.encode())
    return Style(_FALLBACK_COLORS[h % len(_FALLBACK_COLORS)],
                 _FALLBACK_MARKERS[(h // len(_FALLBACK_COLORS)) % len(_FALLBACK_MARKERS)],
                 label, "-.")


def order_key(method: str, method_variant: str = "") -> tuple:
    """Legend order: known methods in :data:`METHODS` order, brackets by s, then the rest."""
    s = _bracket_of(method_variant) if method == "successive_halving" else None
    if s is not None:
        return (1, s, method_variant)
    names = list(METHODS)
    return (0 if method in METHODS else 2, names.index(method) if method in METHODS else 0,
            method, method_variant)
