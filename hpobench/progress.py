"""How a run reports its progress: a bar on a terminal, a log line at intervals elsewhere.

Under SLURM, ``nohup`` or ``| tee`` stderr is not a terminal and a bar would print
nothing useful until the run ends; there the run logs one line every ``interval`` seconds
(30 by default), and a last line when it ends if it logged any::

    hpobench envelope/hyperband seed=0: 412 evaluations, 31.2/50 R (62%), incumbent test 0.0512 (val 0.0478), elapsed 1m02s, ETA 38s

The bar and the lines count resource in multiples of R, the x-axis of every figure.
``progress`` (the config key and the ``run`` argument): ``None`` = a bar on a terminal,
lines otherwise; ``True`` = the same, explicitly; ``False`` = silent; a number = lines
every that many seconds (even on a terminal).
"""
from __future__ import annotations

import math
import sys
import time
from typing import Any, Optional, TextIO

DEFAULT_INTERVAL = 30.0


def reporter(progress: Any, limit: float, max_resource: float, desc: str,
             stream: Optional[TextIO] = None, start: float = 0.0):
    """A reporter for a run of ``limit`` units (``None`` when ``progress`` is False);
    ``start``: the resource already spent (a resumed run), left out of the ETA's speed.

    ``update(n_evaluations, spent, incumbent_row)`` after each commit; ``close()`` at the end.
    """
    check(progress)
    stream = stream if stream is not None else sys.stderr
    if progress is False:
        return None
    if progress is None or progress is True:
        if _isatty(stream):
            return Bar(limit, max_resource, desc, stream)
        return Lines(limit, max_resource, desc, stream, DEFAULT_INTERVAL, start=start)
    return Lines(limit, max_resource, desc, stream, float(progress), start=start)


def check(progress: Any) -> None:
    """Raise :class:`~hpobench.errors.ConfigError` unless ``progress`` is a valid setting."""
    if progress is None or isinstance(progress, bool) or (
            isinstance(progress, (int, float)) and math.isfinite(progress) and progress > 0):
        return
    from hpobench.errors import ConfigError

    raise ConfigError(f"progress: must be true, false, null (a bar on a terminal, log lines "
                      f"otherwise) or seconds between log lines > 0, got {progress!r}")


def _isatty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class Bar:
    """A tqdm bar in multiples of R, with the evaluation count and the incumbent."""

    def __init__(self, limit: float, max_resource: float, desc: str, stream) -> None:
        from tqdm import tqdm

        self.R = float(max_resource)
        self.bar = tqdm(total=limit / self.R, desc=desc, unit="R", file=stream,
                        bar_format="{l_bar}{bar}| {n:.2f}/{total:.2f} R "
                                   "[{elapsed}<{remaining}, {rate_fmt}{postfix}]",
                        dynamic_ncols=True, leave=True)

    def update(self, n_evaluations: int, spent: float, best: Optional[dict]) -> None:
        self.bar.update(spent / self.R - self.bar.n)
        self.bar.set_postfix(evals=n_evaluations,
                             incumbent=f"{best['test_loss']:.4f}" if best else "-",
                             refresh=False)

    def close(self) -> None:
        self.bar.close()


class Lines:
    """One line every ``interval`` seconds; a final one if any was written."""

    def __init__(self, limit: float, max_resource: float, desc: str, stream,
                 interval: float, clock=time.monotonic, start: float = 0.0) -> None:
        self.limit, self.R, self.desc, self.stream = limit, float(max_resource), desc, stream
        self.interval, self.clock = interval, clock
        self.t0 = clock()
        self.next_at = self.t0 + interval
        self.written = 0
        self.state: tuple[int, float, Optional[dict]] = (0, start, None)
        self.start = start  # resource already spent when this process began (resumed run)

    def update(self, n_evaluations: int, spent: float, best: Optional[dict]) -> None:
        self.state = (n_evaluations, spent, best)
        now = self.clock()
        if now >= self.next_at:
            self.write(now)
            self.next_at = now + self.interval

    def close(self) -> None:
        if self.written:
            self.write(self.clock(), final=True)

    def write(self, now: float, final: bool = False) -> None:
        self.stream.write(self.line(now, final) + "\n")
        self.stream.flush()
        self.written += 1

    def line(self, now: float, final: bool = False) -> str:
        n, spent, best = self.state
        elapsed = now - self.t0
        frac = spent / self.limit if self.limit > 0 else 1.0
        inc = (f"incumbent test {best['test_loss']:.4g} (val {best['val_loss']:.4g})"
               if best else "no incumbent yet")
        done = spent - self.start  # the ETA's speed: this process's work
        if final:
            eta = "done"
        elif done > 0 and elapsed > 0:
            eta = f"ETA {_duration((self.limit - spent) * elapsed / done)}"
        else:
            eta = "ETA ?"
        return (f"hpobench {self.desc}: {n} evaluations, {spent / self.R:.1f}/"
                f"{self.limit / self.R:.4g} R ({100 * frac:.0f}%), {inc}, "
                f"elapsed {_duration(elapsed)}, {eta}")


def _duration(seconds: float) -> str:
    """``42s``, ``3m05s``, ``2h07m``."""
    s = int(round(max(seconds, 0.0)))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"
