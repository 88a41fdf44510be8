#!/usr/bin/env bash
# Stop the single-node SLURM cluster that .ci/slurm/start.sh started: cancel its jobs
# (without systemd their slurmstepd would outlive slurmd), then stop only the daemons
# whose pids start.sh recorded in STATE_DIR.  Idempotent.
set -uo pipefail
STATE_DIR=${STATE_DIR:-/tmp/hpobench-slurm/run}
if [ -f "$STATE_DIR/slurmctld.pid" ] && command -v squeue >/dev/null; then
  jobs=$(squeue -h -t PD,R,CG,S -o %A 2>/dev/null | sort -u)
  if [ -n "$jobs" ]; then
    # shellcheck disable=SC2086
    scancel --full $jobs || true
    for _ in $(seq 150); do [ -z "$(squeue -h -t R,CG -o %i 2>/dev/null)" ] && break; sleep 0.2; done
  fi
fi
for comm in slurmd slurmctld munged; do   # reverse start order
  f=$STATE_DIR/$comm.pid
  [ -f "$f" ] || continue
  pid=$(cat "$f")
  if [ -n "$pid" ] && [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = "$comm" ]; then
    kill -TERM "$pid"
    for _ in $(seq 100); do [ -d /proc/"$pid" ] || break; sleep 0.1; done
    if [ -d /proc/"$pid" ]; then echo "$comm ($pid) ignored SIGTERM; sending SIGKILL"; kill -KILL "$pid"; fi
    echo "stopped $comm ($pid)"
  else
    echo "$comm ($pid) was not running (stale pid file)"
  fi
  rm -f "$f"
done
