#!/usr/bin/env bash
# Stops the cluster scripts/slurm/start.sh started: cancels the jobs left on it (and waits, at most 15 s, until they
# are gone), then its slurmd, slurmctld and munged, found by their pid files. Leaves the folder (logs) in place;
# --clean removes it too. LR_FINDER_SLURM_DIR as for start.sh.
set -uo pipefail

DIR="${LR_FINDER_SLURM_DIR:-/tmp/lr-finder-slurm}"
export SLURM_CONF="$DIR/slurm.conf"
CLEAN=0
[ "${1:-}" = --clean ] && CLEAN=1

# A pid file whose process is that daemon (not a stale file whose pid now belongs to something else).
alive() { local pid; pid="$(cat "$1" 2>/dev/null)" && [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ]; }
stop() {  # pid file, daemon name
  local f="$1" pid i
  if ! alive "$f" "$2"; then rm -f "$f"; return 0; fi
  pid="$(cat "$f")"
  kill -TERM "$pid" 2>/dev/null
  for i in $(seq 1 50); do [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ] || break; sleep 0.2; done
  if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ]; then kill -KILL "$pid" 2>/dev/null; echo "[slurm] $2 did not stop within 10 s: killed"; fi
  rm -f "$f"
  echo "[slurm] stopped $2"
}

if alive "$DIR/slurmctld.pid" slurmctld && [ -f "$SLURM_CONF" ]; then
  if [ -n "$(squeue -h -o %i 2>/dev/null)" ]; then
    scancel --user="$(id -un)" >/dev/null 2>&1 || true
    for i in $(seq 1 75); do [ -z "$(squeue -h -o %i 2>/dev/null)" ] && break; sleep 0.2; done
  fi
fi
stop "$DIR/slurmd.pid" slurmd
stop "$DIR/slurmctld.pid" slurmctld
stop "$DIR/munged.pid" munged
if [ "$CLEAN" = 1 ]; then rm -rf "$DIR" && echo "[slurm] removed $DIR"; fi
exit 0
