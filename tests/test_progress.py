"""Progress where HPC users look: log lines when stderr is not a terminal, a bar in R on one."""
from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from hpobench.errors import ConfigError
from hpobench.progress import Bar, Lines, _duration, reporter

ROOT = Path(__file__).resolve().parents[1]


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_lines_at_the_interval_with_eta_and_a_final_line():
    out, clock = io.StringIO(), Clock()
    lines = Lines(limit=50 * 81, max_resource=81, desc="envelope/hyperband seed=0",
                  stream=out, interval=30, clock=clock)
    best = {"test_loss": 0.05123, "val_loss": 0.04781}
    clock.t = 110.0
    lines.update(10, 81.0, best)  # before the interval: nothing
    assert out.getvalue() == ""
    clock.t = 160.0  # 60 s for 20 R of 50: 30 R left at 1/3 R per second -> 90 s
    lines.update(412, 20 * 81.0, best)
    assert out.getvalue() == (
        "hpobench envelope/hyperband seed=0: 412 evaluations, 20.0/50 R (40%), incumbent "
        "test 0.05123 (val 0.04781), elapsed 1m00s, ETA 1m30s\n")
    clock.t = 170.0  # next line only 30 s after the last
    lines.update(420, 21 * 81.0, best)
    assert out.getvalue().count("\n") == 1
    clock.t = 200.0
    lines.close()
    last = out.getvalue().splitlines()[-1]
    assert last.endswith("elapsed 1m40s, done") and "420 evaluations, 21.0/50 R (42%)" in last


def test_a_short_run_logs_nothing():
    out, clock = io.StringIO(), Clock()
    lines = Lines(limit=81, max_resource=81, desc="x", stream=out, interval=30, clock=clock)
    clock.t = 101.0
    lines.update(5, 81.0, None)
    lines.close()
    assert out.getvalue() == ""


def test_resumed_run_eta_counts_this_process_only():
    out, clock = io.StringIO(), Clock()
    # 50 units were spent (and replayed) by an earlier process
    lines = Lines(limit=100, max_resource=10, desc="x", stream=out, interval=10, clock=clock,
                  start=50.0)
    clock.t = 110.0  # 10 s for 10 more units; 40 left -> 40 s
    lines.update(60, 60.0, None)
    assert out.getvalue().rstrip().endswith("no incumbent yet, elapsed 10s, ETA 40s")


def test_durations():
    assert [_duration(s) for s in (0, 42.4, 185, 7620)] == ["0s", "42s", "3m05s", "2h07m"]


def test_choice_of_reporter():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    assert reporter(False, 10, 1, "x", io.StringIO()) is None
    assert isinstance(reporter(None, 10, 1, "x", io.StringIO()), Lines)
    assert isinstance(reporter(True, 10, 1, "x", io.StringIO()), Lines)
    assert isinstance(reporter(5, 10, 1, "x", Tty()), Lines)
    bar = reporter(None, 10, 1, "x", Tty())
    assert isinstance(bar, Bar)
    bar.close()
    for bad in (0, -1, "soon", float("nan")):
        with pytest.raises(ConfigError, match=r"^progress: "):
            reporter(bad, 10, 1, "x", io.StringIO())


def test_bar_counts_multiples_of_R():
    out = io.StringIO()
    bar = Bar(limit=50 * 81, max_resource=81, desc="lenet/hyperband", stream=out)
    bar.update(12, 2.5 * 81, {"test_loss": 0.0123})
    bar.bar.refresh()
    bar.close()
    text = out.getvalue()
    assert "2.50/50.00 R" in text and "evals=12" in text and "incumbent=0.0123" in text
    assert "minibatches" not in text and "ss/" not in text


def test_sweep_through_a_pipe_logs_progress_lines(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    # sleep_per_unit makes the 5R run take ~2 s; a line every 0.3 s
    p = subprocess.run(
        [sys.executable, "-m", "runners.sweep", "method=random", "budget=5",
         "benchmark.max_resource=9", "benchmark.sleep_per_unit=0.04", "progress=0.3",
         f"results_dir={tmp_path}"],
        cwd=ROOT, env=env, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        timeout=120)
    assert p.returncode == 0, p.stderr
    lines = [ln for ln in p.stderr.splitlines() if ln.startswith("hpobench envelope/random")]
    assert len(lines) >= 3, p.stderr
    pattern = (r"hpobench envelope/random seed=0: \d+ evaluations, \d+\.\d/5 R \(\d+%\), "
               r"incumbent test [0-9.e-]+ \(val [0-9.e-]+\), elapsed \d+s, (ETA \d+s|done)")
    assert all(re.fullmatch(pattern, ln) for ln in lines), lines
    assert lines[-1].endswith("done") and "5.0/5 R (100%)" in lines[-1]
    assert "\r" not in p.stderr  # no bar redraws in a log file
