"""Hyperband's bracket arithmetic: pure, integer-exact functions.

Algorithm 1 of Li et al. (2018), with ``s_max = floor(log_eta R)`` computed in integers
(``math.log(243, 3)`` is 4.999...), ``B = (s_max + 1) R`` and for each bracket ``s``:

* ``algorithm1`` (default):  ``n = ceil(B/R * eta^s / (s+1))``
* ``paper_table``: ``n = ceil(floor(B/R/(s+1)) * eta^s)``, which reproduces the printed
  Table 1 of the paper (the integer division of the authors' early Python 2 code).

Then ``r = R eta^-s``, ``n_i = floor(n eta^-i)``, ``r_i = r eta^i``.  Resources are exact
:class:`fractions.Fraction` values (integers whenever ``eta^s`` divides ``R``).

Example::

    >>> [(g.n, g.r) for g in brackets(81, 3)[1].rungs]
    [(34, 3), (11, 9), (3, 27), (1, 81)]
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from fractions import Fraction
from typing import Union

from hpobench import validate

SCHEDULES = ("algorithm1", "paper_table")
Number = Union[int, Fraction]


@dataclass(frozen=True)
class Rung:
    """``n`` configurations each trained to resource ``r`` (cumulative)."""

    n: int
    r: Number


@dataclass(frozen=True)
class Bracket:
    """One run of successive halving: bracket ``s`` and its rungs ``i = 0..s``."""

    s: int
    rungs: tuple[Rung, ...]

    @property
    def n_configs(self) -> int:
        return self.rungs[0].n

    def resource(self, reuse: bool = True) -> Number:
        """Total resource of the bracket; with ``reuse`` a promoted configuration pays
        only ``r_i - r_(i-1)`` (it resumes from its previous rung's checkpoint)."""
        total: Number = 0
        prev: Number = 0
        for g in self.rungs:
            total += g.n * (g.r - prev if reuse else g.r)
            prev = g.r
        return _norm(total)


def _norm(x: Number) -> Number:
    x = Fraction(x)
    return int(x) if x.denominator == 1 else x


def check_int(name: str, value, minimum: int) -> int:
    """Integer setting ``>= minimum`` (``3.0`` counts as 3) or a ConfigError naming it."""
    return validate.integer(name, value, low=minimum, whole_floats=True)


def s_max(R: int, eta: int) -> int:
    """Largest ``s`` with ``eta**s <= R``, in integers."""
    R = check_int("max_resource (R)", R, 1)
    eta = check_int("eta", eta, 2)
    s = 0
    while eta ** (s + 1) <= R:
        s += 1
    return s


@functools.lru_cache(maxsize=1024)  # pure, and its result is immutable
def bracket(R: int, eta: int, s: int, schedule: str = "algorithm1") -> Bracket:
    """Bracket ``s`` of Hyperband for (R, eta) under the named ``schedule``.

    Cached: Hyperband asks for every bracket again in each iteration, and the Fraction
    arithmetic costs ~0.3 ms per iteration at R=81, a few percent of a synthetic run."""
    smax = s_max(R, eta)
    validate.choice("schedule", schedule, SCHEDULES)
    s = validate.integer("bracket (s)", s, low=0, high=smax, whole_floats=True,
                         note=f"for R={R}, eta={eta}")
    if schedule == "algorithm1":
        num = (smax + 1) * eta ** s
        n = -(-num // (s + 1))  # ceil in integers
    else:
        n = ((smax + 1) // (s + 1)) * eta ** s
    r = Fraction(R, eta ** s)
    rungs = tuple(Rung(n // eta ** i, _norm(r * eta ** i)) for i in range(s + 1))
    return Bracket(s, rungs)


def brackets(R: int, eta: int = 3, schedule: str = "algorithm1") -> list[Bracket]:
    """All brackets of one Hyperband iteration, ``s = s_max .. 0`` in the paper's order."""
    return [bracket(R, eta, s, schedule) for s in range(s_max(R, eta), -1, -1)]


def iteration_resource(R: int, eta: int = 3, schedule: str = "algorithm1",
                       reuse: bool = True) -> Number:
    """Total resource of one Hyperband iteration (all brackets)."""
    return _norm(sum(b.resource(reuse) for b in brackets(R, eta, schedule)))


def min_rung_resource(R: int, eta: int = 3) -> Number:
    """The smallest resource any rung asks for: ``R eta^-s_max``."""
    return _norm(Fraction(R, eta ** s_max(R, eta)))


def _fmt(x: Number) -> str:
    return str(x) if isinstance(x, int) else f"{float(x):.4g}"


def table_markdown(R: int, eta: int = 3, schedule: str = "algorithm1") -> str:
    """Render the brackets as the paper's Table 1 (rows i, columns n_i / r_i per s)."""
    bs = brackets(R, eta, schedule)
    head = "| i | " + " | ".join(f"s={b.s}: n_i | r_i" for b in bs) + " |"
    sep = "|---|" + "|".join(["---|---"] * len(bs)) + "|"
    rows = []
    for i in range(len(bs[0].rungs)):
        cells = []
        for b in bs:
            if i < len(b.rungs):
                cells.append(f"{b.rungs[i].n} | {_fmt(b.rungs[i].r)}")
            else:
                cells.append(" | ")
        rows.append(f"| {i} | " + " | ".join(cells) + " |")
    foot = [
        "| configurations | " + " | ".join(f"{b.n_configs} | " for b in bs) + " |",
        "| resource, reuse | " + " | ".join(f"{_fmt(b.resource(True))} | " for b in bs) + " |",
        "| resource, no reuse | " + " | ".join(f"{_fmt(b.resource(False))} | " for b in bs) + " |",
    ]
    title = (f"Schedule `{schedule}`, R={R}, eta={eta}: "
             f"{sum(b.n_configs for b in bs)} configurations, "
             f"{_fmt(iteration_resource(R, eta, schedule, True))} units with checkpoint reuse, "
             f"{_fmt(iteration_resource(R, eta, schedule, False))} retraining from scratch.")
    return "\n".join([title, "", head, sep, *rows, *foot])
