#!/usr/bin/env bash
# Cluster tests (pytest -m cluster) against a real single-node SLURM started here:
# start the cluster (.ci/slurm/start.sh), run the tests, stop it (.ci/slurm/stop.sh).
#
# Exits 0 with a message, running nothing, only when this machine cannot run SLURM
# (not root, or SLURM missing and no apt-get to install it).  Otherwise any failure
# (cluster start, tests) fails.  Run from anywhere; uses the python on PATH (the venv).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
export STATE_DIR=${STATE_DIR:-/tmp/hpobench-slurm/run}
SHIM_DIR=$(dirname "$STATE_DIR")/bin

if [ "$(id -u)" != 0 ]; then
  echo "cluster tests: SKIPPED - starting SLURM needs root; this machine cannot run them"
  exit 0
fi
if ! command -v slurmctld >/dev/null && ! command -v apt-get >/dev/null; then
  echo "cluster tests: SKIPPED - no SLURM installed and no apt-get to install it"
  exit 0
fi

trap '.ci/slurm/stop.sh || true' EXIT
rc=0
.ci/slurm/start.sh || rc=$?
if [ "$rc" = 3 ]; then
  echo "cluster tests: SKIPPED - this machine cannot run SLURM (see above)"
  exit 0
elif [ "$rc" != 0 ]; then
  echo "cluster tests: FAILED to start SLURM (exit $rc); logs in /var/log/slurm" >&2
  exit "$rc"
fi
# submitit needs the sacct stand-in; the jobs need this environment's python
export PATH="$SHIM_DIR:$(dirname "$(command -v "$PY")"):$PATH"
export HPOBENCH_REQUIRE_CLUSTER=1   # a skipped cluster test would hide a broken cluster
"$PY" -m pytest -q -m cluster
