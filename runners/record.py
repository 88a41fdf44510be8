"""Turn recorder runs (``method=record``) into a learning-curve table.

    # 1. record (an ordinary run: resumes after a kill, scales out like any run)
    python -m runners.sweep method=record method.configs=256 budget=256 benchmark=lenet_mnist_cpu
    # 2. one command: the run directories' rows -> one Parquet table
    python -m runners.record results/lenet_mnist_cpu/record/seed=0 -o lenet_cpu.parquet
    # 3. replay it
    python -m runners.sweep benchmark=table benchmark.path=lenet_cpu.parquet method=hyperband

Several run directories (e.g. ``-m seed=0,1,2,3``) merge into one table.  Options:
``--seconds-per-unit S`` (a synthetic runtime instead of the measured wall time, for
synthetic benchmarks), ``--runtime-from COLUMN`` (another measured column, e.g. LeNet's
``info.cpu_seconds``), ``--force`` (replace an existing table).  See hpobench/docs/tables.md.
"""
from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from hpobench.errors import ConfigError
from hpobench.recording import table_from_runs


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m runners.record", description=__doc__.split("\n")[0])
    p.add_argument("runs", nargs="+", help="run directories of method=record")
    p.add_argument("-o", "--output", required=True, help="the table to write (.parquet)")
    p.add_argument("--seconds-per-unit", type=float, default=None,
                   help="runtime = this x resource step (default: measured wall time)")
    p.add_argument("--runtime-from", default="wall_time",
                   help="the row column measuring a job's seconds (default wall_time; e.g. "
                   "info.cpu_seconds, which LeNet reports)")
    p.add_argument("--force", action="store_true", help="replace an existing table")
    args = p.parse_args(argv)
    out = Path(args.output)
    try:
        if out.suffix != ".parquet":
            raise ConfigError(f"--output: a table is a .parquet file, got {str(out)!r}")
        if out.is_symlink() or (out.exists() and not args.force):
            raise ConfigError(f"--output: {out} exists (or is a link); pass --force to replace "
                              "a regular file")
        command = "python -m runners.record " + shlex.join(argv if argv is not None else sys.argv[1:])
        table, cost = table_from_runs(args.runs, args.seconds_per_unit, command,
                                     args.runtime_from)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    table.write(out)
    print(f"{out}: {len(table.configs)} configurations x {int(table.n_replicates.max())} "
          f"replicate(s) x grid {table.grid.tolist()}; {cost['trials']} trials "
          f"({cost['failed_trials']} failed, {cost['unfinished_trials_left_out']} unfinished "
          f"left out); recording cost {cost['resource']:g} units, "
          f"{cost['wall_seconds']:.1f} s of evaluation; {out.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
