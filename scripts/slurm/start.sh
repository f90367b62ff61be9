#!/usr/bin/env bash
# A real single-node Slurm cluster on this machine, localhost only, from Debian's packages (slurm-wlm, munge):
# munged, slurmctld and slurmd as root, everything (key, config, state, spool, logs, sockets) under one folder.
# Idempotent: if it is already up, it says so and exits 0. Then, in the shell that runs jobs:
#   export SLURM_CONF="$(bash scripts/slurm/start.sh --print-conf)"     # or: eval "$(bash scripts/slurm/start.sh --env)"
# Options: --install (apt-get the packages if missing; needs root), --env (print `export SLURM_CONF=...`),
# --print-conf (print the config's path). Environment: LR_FINDER_SLURM_DIR (default /tmp/lr-finder-slurm),
# LR_FINDER_SLURM_PORT (slurmctld's port, default 6917; slurmd gets the next one), LR_FINDER_SLURM_WAIT (seconds, 60).
# See scripts/slurm/README.md.
set -euo pipefail

DIR="${LR_FINDER_SLURM_DIR:-/tmp/lr-finder-slurm}"
PORT="${LR_FINDER_SLURM_PORT:-6917}"
WAIT="${LR_FINDER_SLURM_WAIT:-60}"
CONF="$DIR/slurm.conf"
SOCKET="$DIR/munge/munge.socket.2"
INSTALL=0 PRINT=""
for a in "$@"; do
  case "$a" in
    --install) INSTALL=1 ;;
    --env) PRINT=env ;;
    --print-conf) PRINT=conf ;;
    *) echo "start.sh: unknown option $a (expected --install, --env, --print-conf)" >&2; exit 2 ;;
  esac
done
say() { [ -n "$PRINT" ] && echo "[slurm] $*" >&2 || echo "[slurm] $*"; }
done_ok() {
  case "$PRINT" in
    env) echo "export SLURM_CONF=$CONF" ;;
    conf) echo "$CONF" ;;
  esac
  exit 0
}

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  if [ "$INSTALL" = 1 ]; then
    say "installing slurm-wlm and munge from Debian"
    apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends slurm-wlm munge >&2
  else
    echo "start.sh: Slurm is not installed (apt-get install -y --no-install-recommends slurm-wlm munge, or pass --install)" >&2
    exit 3
  fi
fi
if [ "$(id -u)" != 0 ]; then
  echo "start.sh: run as root (slurmd starts the jobs' tasks as their user, and this cluster has SlurmUser=root)" >&2
  exit 2
fi

export SLURM_CONF="$CONF"
# A pid file whose process is that daemon (not a stale file whose pid now belongs to something else).
alive() { local pid; pid="$(cat "$1" 2>/dev/null)" && [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ]; }
node_state() { timeout 5 sinfo -h -N -n localhost -o '%T' 2>/dev/null | head -n 1 || true; }

if alive "$DIR/munged.pid" munged && alive "$DIR/slurmctld.pid" slurmctld && alive "$DIR/slurmd.pid" slurmd; then
  case "$(node_state)" in
    idle|mixed|allocated|completing) say "already running ($CONF)"; done_ok ;;
  esac
fi
# Something half up (a previous run killed, a daemon crashed): start over cleanly.
if [ -d "$DIR" ]; then bash "$(dirname "$0")/stop.sh" >/dev/null 2>&1 || true; fi

mkdir -p "$DIR"/{munge,state,spool/localhost,log}
rm -f "$DIR"/log/*  # this start's logs only
# munged wants its socket's folder searchable by all (clients of every user connect to it).
chmod 0755 "$DIR" "$DIR/munge"

# munge: our own key and socket, so that nothing of the machine's munge (if any) is used or changed.
if [ ! -s "$DIR/munge/munge.key" ]; then
  if command -v mungekey >/dev/null; then
    mungekey --create --keyfile="$DIR/munge/munge.key" --force >/dev/null
  else
    dd if=/dev/urandom of="$DIR/munge/munge.key" bs=1 count=1024 status=none
  fi
fi
chmod 0400 "$DIR/munge/munge.key"
munged --force --key-file="$DIR/munge/munge.key" --socket="$SOCKET" --pid-file="$DIR/munged.pid" \
  --log-file="$DIR/log/munged.log" --seed-file="$DIR/munge/munged.seed" >"$DIR/log/munged.out" 2>&1 || {
  echo "start.sh: munged did not start:" >&2; tail -n 20 "$DIR/log/munged.out" "$DIR/log/munged.log" >&2 2>/dev/null; exit 1; }

# This machine's processors and memory, as slurmd sees them (slurmd -C), under the node name localhost.
HW="$(slurmd -C 2>/dev/null | head -n 1)"
field() { echo "$HW" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
CPUS="$(field CPUs)"; CPUS="${CPUS:-$(nproc)}"
MEM="$(field RealMemory)"; MEM="${MEM:-$(awk '/MemTotal/ {print int($2/1024)}' /proc/meminfo)}"
TOPO=""
for k in Boards SocketsPerBoard CoresPerSocket ThreadsPerCore; do v="$(field $k)"; [ -n "$v" ] && TOPO="$TOPO $k=$v"; done

cat >"$CONF" <<EOF
# Written by scripts/slurm/start.sh: a single-node cluster on localhost for LR Finder's tests.
ClusterName=lrfinder
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
CommunicationParameters=NoInAddrAny,NoCtldInAddrAny
SrunPortRange=$((PORT + 10))-$((PORT + 200))
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SOCKET
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool/%n
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
MailProg=/bin/true
SwitchType=switch/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
ReturnToService=2
KillWait=10
MinJobAge=300
InactiveLimit=0
SlurmctldTimeout=30
SlurmdTimeout=60
NodeName=localhost NodeAddr=127.0.0.1 NodeHostname=localhost CPUs=$CPUS$TOPO RealMemory=$MEM State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF

tails() {
  for f in "$DIR"/log/munged.log "$DIR"/log/slurmctld.log "$DIR"/log/slurmd.log "$DIR"/log/*.out; do
    if [ -s "$f" ]; then echo "--- $f (last 25 lines)" >&2; tail -n 25 "$f" >&2; fi
  done
  return 0
}

# -c: a fresh state (no jobs left from an earlier cluster in this folder); -N localhost: the node's name is not the
# machine's hostname.
slurmctld -c -f "$CONF" >"$DIR/log/slurmctld.out" 2>&1 || { echo "start.sh: slurmctld did not start:" >&2; tails; exit 1; }
slurmd -N localhost -f "$CONF" >"$DIR/log/slurmd.out" 2>&1 || { echo "start.sh: slurmd did not start:" >&2; tails; exit 1; }

started=$SECONDS
deadline=$((SECONDS + WAIT))
state=""
while [ $SECONDS -lt $deadline ]; do
  # A daemon that died (a port in use, a bad config) says why in its log: no need to wait for sinfo's timeouts.
  if [ $((SECONDS - started)) -ge 2 ] && { ! alive "$DIR/slurmctld.pid" slurmctld || ! alive "$DIR/slurmd.pid" slurmd; }; then
    echo "start.sh: slurmctld or slurmd exited after starting" >&2; tails; exit 1
  fi
  state="$(node_state)"
  case "$state" in
    idle) say "up: node localhost idle ($CPUS CPUs, $MEM MB), SLURM_CONF=$CONF"; done_ok ;;
    drain*|down*|fail*)
      # A node that registered before slurmctld was ready, or came back as down: resume it.
      scontrol update nodename=localhost state=resume >/dev/null 2>&1 || true ;;
  esac
  sleep 0.5
done
echo "start.sh: the node did not become idle within ${WAIT}s (state: ${state:-unknown})" >&2
sinfo -N -l >&2 2>&1 || true
scontrol show node localhost >&2 2>&1 || true
tails
exit 1
