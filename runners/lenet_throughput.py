"""LeNet training throughput, the harness against a bare PyTorch loop: the command line
of :mod:`benchmarking.lenet_throughput` (what it measures and how is said there).

    python -m runners.lenet_throughput                      # CPU, 1 thread, 5 repeats
    python -m runners.lenet_throughput --device cuda --iterations 2000 --threads 0
"""
from __future__ import annotations

import argparse

from benchmarking.lenet_throughput import measure


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--learning-rate", type=float, default=0.05)
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--k2", type=int, default=35)
    p.add_argument("--k1", type=int, default=20)
    p.add_argument("--iterations", type=int, default=500,
                   help="mini-batch iterations per timed run (default 500 = 5 paper units)")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1, help="torch threads; 0 = torch's default")
    p.add_argument("--quick", action="store_true", help="100 iterations, 3 repeats")
    a = p.parse_args(argv)
    try:
        mh, mb = measure(a.quick, learning_rate=a.learning_rate, batch_size=a.batch_size,
                         k2=a.k2, k1=a.k1, iterations=a.iterations, repeats=a.repeats,
                         device=a.device, threads=a.threads, out=print)
    except ValueError as e:
        p.error(str(e))
    print(f"median wall-clock: harness {mh:.0f} img/s, bare PyTorch {mb:.0f} img/s, "
          f"ratio harness/bare = {mh / mb:.3f}x (goal >= 0.95x)")


if __name__ == "__main__":
    main()
