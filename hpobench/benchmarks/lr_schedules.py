"""Learning-rate schedules for the LeNet benchmark: pure functions of the training step.

A schedule maps the global mini-batch iteration ``step`` (0-based, counted from the start
of training, not from the last checkpoint) and the batch size ``batch`` to the learning
rate, given the configuration's base rate ``lr``.  Because it depends on nothing but
``step`` (and the fixed batch size), resuming from a checkpoint needs no schedule state:
the checkpoint's step count is enough.

* ``constant`` (the paper's choice): ``lr`` throughout.
* ``step_exp``: the talk's tf.keras snippet, with one "epoch" = one unit of resource
  (``examples_per_unit`` examples; the unit of step ``step`` is
  ``step * batch // examples_per_unit``): ``lr`` for the first ``decay_start`` units, then
  ``lr * exp(decay_rate * (decay_start - unit))``.
* ``triangular``: Smith's cyclical learning rate (WACV 2017): linear up from ``lr`` to
  ``lr * max_factor`` over ``step_size`` iterations, back down over the next ``step_size``,
  and again.

Example::

    >>> s = make_schedule("step_exp", examples_per_unit=1000, decay_start=10)
    >>> s(0, 0.01, 10) == s(999, 0.01, 10) == 0.01, round(s(1100, 0.01, 10) / 0.01, 4)
    (True, 0.9048)
    >>> t = make_schedule("triangular", examples_per_unit=1000, step_size=4, max_factor=3)
    >>> [t(i, 1.0, 10) for i in range(9)]
    [1.0, 1.5, 2.0, 2.5, 3.0, 2.5, 2.0, 1.5, 1.0]
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

from hpobench import validate

#: names accepted by :func:`make_schedule`
SCHEDULES = ("constant", "step_exp", "triangular")


@dataclass(frozen=True)
class Constant:
    """The paper's plain SGD: the configuration's learning rate at every step."""

    constant = True

    def __call__(self, step: int, lr: float, batch: int) -> float:
        return lr


@dataclass(frozen=True)
class StepExp:
    """Constant for ``decay_start`` units, then exponential decay per unit (the talk's snippet)."""

    examples_per_unit: int
    decay_start: int = 10
    decay_rate: float = 0.1
    constant = False

    def __call__(self, step: int, lr: float, batch: int) -> float:
        unit = step * batch // self.examples_per_unit
        if unit < self.decay_start:
            return lr
        return lr * math.exp(self.decay_rate * (self.decay_start - unit))


@dataclass(frozen=True)
class Triangular:
    """Smith (2017) triangular policy; ``step_size`` iterations per half cycle."""

    step_size: int
    max_factor: float = 4.0
    constant = False

    def __call__(self, step: int, lr: float, batch: int) -> float:
        cycle = math.floor(1 + step / (2 * self.step_size))
        x = abs(step / self.step_size - 2 * cycle + 1)
        return lr + (lr * self.max_factor - lr) * max(0.0, 1.0 - x)


def make_schedule(name: str, *, examples_per_unit: int, decay_start: int = 10,
                  decay_rate: float = 0.1, step_size: int = 400,
                  max_factor: float = 4.0) -> Callable[[int, float, int], float]:
    """The schedule called ``name``; every option is checked and named on error."""
    validate.choice("benchmark.lr_schedule", name, SCHEDULES)
    # every option is checked, also those the chosen schedule ignores: a typo'd value
    # must not wait silently for the day someone switches schedules
    validate.integer("benchmark.decay_start", decay_start, low=0, note="(units)")
    validate.number("benchmark.decay_rate", decay_rate, low=0)
    validate.integer("benchmark.step_size", step_size, low=1, note="(iterations)")
    validate.number("benchmark.max_factor", max_factor, low=1)
    if name == "constant":
        return Constant()
    if name == "step_exp":
        return StepExp(int(examples_per_unit), decay_start, float(decay_rate))
    return Triangular(step_size, float(max_factor))
