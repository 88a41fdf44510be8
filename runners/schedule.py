"""Print Hyperband's bracket table for (R, eta): Algorithm 1 and the paper's printed
Table 1 side by side, with configurations and resource per bracket, with and without
checkpoint reuse. Know the cost before you run.

    python -m runners.schedule                # R=81, eta=3 (the paper's LeNet setting)
    python -m runners.schedule --R 243 --eta 3
    python -m runners.schedule --R 243 --peers  # and each installed peer's own schedule
"""
from __future__ import annotations

import argparse
import sys

from hpobench import schedule
from hpobench.errors import ConfigError


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m runners.schedule", description=__doc__.split("\n\n")[0])
    ap.add_argument("--R", type=int, default=81, help="max resource R (default 81)")
    ap.add_argument("--eta", type=int, default=3, help="reduction factor eta (default 3)")
    ap.add_argument("--variant", choices=[*schedule.SCHEDULES, "both"], default="both")
    ap.add_argument("--peers", action="store_true",
                    help="also print each installed peer library's schedule, computed by its own "
                         "code (pip install -e '.[peers]'), and how it differs")
    a = ap.parse_args(argv)
    try:
        variants = schedule.SCHEDULES if a.variant == "both" else (a.variant,)
        out = [schedule.table_markdown(a.R, a.eta, v) for v in variants]
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print("\n\n".join(out))
    if len(variants) == 2 and [b.rungs for b in schedule.brackets(a.R, a.eta, "algorithm1")] != \
            [b.rungs for b in schedule.brackets(a.R, a.eta, "paper_table")]:
        print("\nThe two differ: the paper's Table 1 used n = ceil(floor(B/R/(s+1)) * eta^s) "
              "(integer division); Algorithm 1 says n = ceil(B/R * eta^s/(s+1)). "
              "hpobench defaults to Algorithm 1 (method.schedule=algorithm1).")
    if a.peers:
        print("\n" + peers_text(a.R, a.eta))
    return 0


def peers_text(R: int, eta: int) -> str:
    """Each peer's schedule (n_i/r_i per bracket, as its own code computes it) and how it
    differs from Algorithm 1 and the printed Table 1; peers not installed are named."""
    from hpobench.optimizers import peer_schedules as ps

    out = [f"Peers' own schedules for R={R}, eta={eta} (n_i/r_i per bracket, most aggressive "
           "first):"]
    for name, (module, fn) in ps.PEERS.items():
        try:
            peer = fn(R, eta)
        except ImportError as e:
            out.append(f"\n{name}: not installed ({e.name or module}); "
                       f"pip install -c constraints.txt -e '.[{ps.EXTRA.get(module, 'peers')}]'")
            continue
        out.append(f"\n{name}: {ps.compare(peer, R, eta)}")
        out += [f"  {line}" for line in ps.fmt(peer)]
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
