#!/usr/bin/env bash
# Stop the one-node Slurm started by scripts/slurm_up.sh (slurmctld and slurmd; munged is left
# running, other tools may use it). Liveness is checked with `scontrol ping`, not pgrep: a killed
# daemon can linger here as a zombie.
#   scripts/slurm_down.sh          stop the daemons, keep the state dir (logs)
#   scripts/slurm_down.sh --purge  also delete the state dir
# Environment: BAE_SLURM_DIR (state dir, default ${TMPDIR:-/tmp}/bae-slurm), BAE_SLURM_TIMEOUT (default 30).
set -euo pipefail

STATE_DIR="${BAE_SLURM_DIR:-${TMPDIR:-/tmp}/bae-slurm}"
TIMEOUT="${BAE_SLURM_TIMEOUT:-30}"

purge=0
for a in "$@"; do
  case "$a" in
    --purge) purge=1 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "slurm_down.sh: unknown option $a (try --help)" >&2; exit 2 ;;
  esac
done
log() { echo "slurm_down: $*" >&2; }

CONF="$STATE_DIR/slurm.conf"
if [ ! -f "$CONF" ]; then
  log "no $CONF: nothing to stop"
  exit 0
fi
export SLURM_CONF="$CONF"

ctld_up() { scontrol ping 2>/dev/null | grep -q 'is UP'; }
slurmd_up() { scontrol show slurmd >/dev/null 2>&1; }

# A pid from our pid file that is still running; zombies count as gone (they cannot be reaped here).
pid_alive() {
  local f="$1" pid
  [ -f "$f" ] || return 1
  pid="$(cat "$f" 2>/dev/null || true)"
  [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || return 1
  [ "$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null)" != Z ]
}

# Signal a daemon by its pid file (our own daemons only), if that pid is still alive.
kill_pidfile() {
  local f="$1" sig="$2" pid
  [ -f "$f" ] || return 0
  pid="$(cat "$f" 2>/dev/null || true)"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && kill "-$sig" "$pid" 2>/dev/null || true
}

if ctld_up; then
  log "scontrol shutdown"
  scontrol shutdown >/dev/null 2>&1 || true
fi
deadline=$((SECONDS + TIMEOUT))
while ctld_up || slurmd_up; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    log "daemons still answering after ${TIMEOUT}s: sending SIGKILL by pid file"
    kill_pidfile "$STATE_DIR/slurmctld.pid" KILL
    kill_pidfile "$STATE_DIR/slurmd.pid" KILL
    sleep 1
    break
  fi
  # slurmd keeps running if the controller was already gone when shutdown was asked.
  if ! ctld_up && slurmd_up; then kill_pidfile "$STATE_DIR/slurmd.pid" TERM; fi
  sleep 0.2
done
if ctld_up || slurmd_up; then
  log "error: Slurm daemons still answer; see $STATE_DIR/log/"
  exit 1
fi
# They stopped answering; give them a moment to save state and exit before the state dir is reused.
for _ in $(seq 1 $((TIMEOUT * 5))); do
  pid_alive "$STATE_DIR/slurmctld.pid" || pid_alive "$STATE_DIR/slurmd.pid" || break
  sleep 0.2
done
log "down"
if [ "$purge" = 1 ]; then
  rm -rf -- "$STATE_DIR"
  log "removed $STATE_DIR"
fi
