#!/usr/bin/env bash
# Start a throw-away one-node Slurm on this machine (munge, slurmctld, slurmd) for tests and
# local experiments. No systemd needed: the daemons are started directly. Idempotent: installs only
# missing packages, leaves running daemons alone, and never touches /etc/slurm/slurm.conf (our
# config lives in the state dir; clients find it through SLURM_CONF).
#   scripts/slurm_up.sh            start (prints the `export SLURM_CONF=...` line to use)
#   source <(scripts/slurm_up.sh --env)   start and export SLURM_CONF into the current shell
# Environment: BAE_SLURM_DIR (state dir, default ${TMPDIR:-/tmp}/bae-slurm), BAE_SLURM_TIMEOUT
# (seconds to wait for the node to become idle, default 30), BAE_SLURM_CPUS / BAE_SLURM_MEM_MB
# (override the node size; default nproc and 90 % of MemTotal), BAE_SLURM_TASK_PLUGIN (default
# task/affinity; task/none disables CPU binding). Must run as root.
set -euo pipefail

STATE_DIR="${BAE_SLURM_DIR:-${TMPDIR:-/tmp}/bae-slurm}"
TIMEOUT="${BAE_SLURM_TIMEOUT:-30}"
NODE_NAME="${BAE_SLURM_NODE:-baenode}"
PARTITION="${BAE_SLURM_PARTITION:-debug}"
CPUS="${BAE_SLURM_CPUS:-$(nproc)}"
MEM_MB="${BAE_SLURM_MEM_MB:-$(awk '/^MemTotal:/ { printf "%d", $2 / 1024 * 0.9 }' /proc/meminfo)}"
# task/affinity binds each task to its CPUs (measured: 2 ranks x 1 thread run ~3x faster bound than
# unbound here); task/none also works if a machine refuses sched_setaffinity.
TASK_PLUGIN="${BAE_SLURM_TASK_PLUGIN:-task/affinity}"
PACKAGES=(slurm-wlm slurmctld slurmd slurm-client munge libpmix-dev)

want_env=0
for a in "$@"; do
  case "$a" in
    --env) want_env=1 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "slurm_up.sh: unknown option $a (try --help)" >&2; exit 2 ;;
  esac
done

log() { echo "slurm_up: $*" >&2; }
die() { echo "slurm_up: error: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (SlurmUser=root and munged are started directly); try sudo $0"

# 1. Packages (apt-get update only when something is missing).
need=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# 2. munge: the Debian package made a key; the socket dir lives on /run and must belong to munge.
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  [ -s /etc/munge/munge.key ] || { log "creating a munge key"; runuser -u munge -- mungekey --create; }
  install -d -o munge -g munge -m 0755 /run/munge
  install -d -o munge -g munge -m 0700 /var/lib/munge /var/log/munge
  log "starting munged"
  runuser -u munge -- munged --force
  for _ in $(seq 1 50); do
    munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break
    sleep 0.1
  done
  munge -n | unmunge >/dev/null || die "munged did not come up (see /var/log/munge/munged.log)"
fi

# 3. slurm.conf in the state dir. Rewritten whenever our controller is not running, so a running
#    cluster keeps the file it was started with.
CONF="$STATE_DIR/slurm.conf"
mkdir -p "$STATE_DIR/ctld" "$STATE_DIR/spool" "$STATE_DIR/log"
export SLURM_CONF="$CONF"
ctld_up() { [ -f "$CONF" ] && scontrol ping 2>/dev/null | grep -q 'is UP'; }
node_state() { sinfo -h -n "$NODE_NAME" -o '%T' 2>/dev/null | head -n1; }
if ! ctld_up; then
  host="$(hostname -s)"
  cat >"$CONF" <<EOF
# Written by scripts/slurm_up.sh (BAE project): a one-node test cluster. Safe to delete when down.
ClusterName=bae
SlurmctldHost=${host}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# Requeued jobs wait CredExpire seconds before they may start again (default 120 s).
AuthInfo=cred_expire=10
ProctrackType=proctrack/linuxproc
TaskPlugin=${TASK_PLUGIN}
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
SwitchType=switch/none
JobRequeue=1
ReturnToService=2
# Trust this file's node size even when the hardware probe disagrees (containers, cgroup limits).
SlurmdParameters=config_overrides
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MailProg=/bin/true
# Schedule pending (e.g. requeued) jobs within a second or two instead of the 60 s default.
SchedulerParameters=sched_interval=1,bf_interval=1
# Keep finished jobs visible to squeue/scontrol (there is no sacct without accounting).
MinJobAge=600
KillWait=10
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=${STATE_DIR}/ctld
SlurmdSpoolDir=${STATE_DIR}/spool
SlurmctldPidFile=${STATE_DIR}/slurmctld.pid
SlurmdPidFile=${STATE_DIR}/slurmd.pid
SlurmctldLogFile=${STATE_DIR}/log/slurmctld.log
SlurmdLogFile=${STATE_DIR}/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
NodeName=${NODE_NAME} NodeAddr=127.0.0.1 NodeHostname=${host} CPUs=${CPUS} RealMemory=${MEM_MB} State=UNKNOWN
PartitionName=${PARTITION} Nodes=${NODE_NAME} Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF
  log "wrote $CONF (${CPUS} CPUs, ${MEM_MB} MB)"
fi

# 4. Daemons.
if ! ctld_up; then
  log "starting slurmctld"
  slurmctld -i -f "$CONF"
  for _ in $(seq 1 $((TIMEOUT * 10))); do ctld_up && break; sleep 0.1; done
  ctld_up || die "slurmctld did not answer 'scontrol ping' within ${TIMEOUT}s; log: $STATE_DIR/log/slurmctld.log"
fi
if ! scontrol show slurmd >/dev/null 2>&1; then
  log "starting slurmd"
  slurmd -f "$CONF" -N "$NODE_NAME"
fi

# 5. Wait for the node to be schedulable. A node left down/drained by an earlier run is resumed.
deadline=$((SECONDS + TIMEOUT))
while :; do
  st="$(node_state)"
  case "$st" in
    idle*|mixed*|allocated*|completing*) break ;;
    down*|drain*|fail*) scontrol update NodeName="$NODE_NAME" State=RESUME 2>/dev/null || true ;;
  esac
  if [ "$SECONDS" -ge "$deadline" ]; then
    die "node $NODE_NAME is '${st:-unknown}' after ${TIMEOUT}s; logs: $STATE_DIR/log/"
  fi
  sleep 0.2
done
log "up: node $NODE_NAME is $st (partition $PARTITION)"
if [ "$want_env" = 1 ]; then
  echo "export SLURM_CONF=$CONF"
else
  log "use: export SLURM_CONF=$CONF"
fi
