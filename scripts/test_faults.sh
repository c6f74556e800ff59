#!/usr/bin/env bash
# Faults and preemption with real mpirun (issue 4 item 4):
#  1. SIGTERM to one non-root rank  -> all ranks stop at the same step, one checkpoint, exit 0
#  2. SIGUSR1 to rank 0             -> the same
#  3. SIGKILL to one rank           -> the job ends non-zero within 30 s, no rank left running,
#                                      and the last DONE checkpoint is intact (resume from it works)
# Usage: scripts/test_faults.sh [path/to/bae]   (default: $BAE or .build/release/bae)
set -euo pipefail
case "${1:-}" in -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;; esac
cd "$(dirname "$0")/.."
BAE="${1:-${BAE:-.build/release/bae}}"
BAE="$(cd "$(dirname "$BAE")" && pwd)/$(basename "$BAE")"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_pml=ob1 OMPI_MCA_btl=self,vader
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
fail() { echo "test_faults: FAIL: $*" >&2; exit 1; }

"$BAE" synth --bits 8 --dim 32 --rows 4096 --seed 1 --out "$work/data.npy" 2>/dev/null

# pid of the bae process of rank $2 in the run writing to $1
rank_pid() {
  local out=$1 rank=$2 p
  for p in $(pgrep -f "^$BAE train .*--out $out( |$)" || true); do
    if tr '\0' '\n' < "/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$rank"; then echo "$p"; return; fi
  done
}

start_run() {  # $1 = out dir; starts mpirun -np 2 in the background, sets MPIRUN_PID
  mpirun -np 2 --bind-to none "$BAE" train --data "$work/data.npy" --latent-dim 128 --batch-size 256 \
    --steps 1000000 --checkpoint-every 25 --keep-last 2 --log-every 100000 --out "$1" >"$1.log" 2>&1 &
  MPIRUN_PID=$!
  for _ in $(seq 1 300); do   # until a checkpoint exists and both ranks are up
    if ls "$1"/step_*/DONE >/dev/null 2>&1 && [ -n "$(rank_pid "$1" 0)" ] && [ -n "$(rank_pid "$1" 1)" ]; then return; fi
    sleep 0.1
  done
  cat "$1.log" >&2; fail "run in $1 did not start"
}

graceful() {  # $1 = signal, $2 = rank
  local out="$work/run_$1_$2"
  start_run "$out"
  local pid; pid="$(rank_pid "$out" "$2")"
  kill "-$1" "$pid"
  local rc=0
  timeout 60 tail --pid="$MPIRUN_PID" -f /dev/null || fail "SIG$1 to rank $2: job did not end within 60 s"
  wait "$MPIRUN_PID" || rc=$?
  [ "$rc" = 0 ] || { cat "$out.log" >&2; fail "SIG$1 to rank $2: exit $rc, expected 0"; }
  grep -q "stop requested: checkpoint written at step" "$out.log" || { cat "$out.log" >&2; fail "SIG$1: no stop message"; }
  local step; step="$(grep -o 'checkpoint written at step [0-9]*' "$out.log" | grep -o '[0-9]*$')"
  [ -f "$out/$(printf 'step_%08d' "$step")/DONE" ] || fail "SIG$1: no DONE checkpoint for step $step"
  [ -f "$out/model.safetensors" ] || fail "SIG$1: no final model"
  echo "test_faults: SIG$1 to rank $2 -> exit 0, checkpoint at step $step" >&2
}

graceful TERM 1
graceful USR1 0

# SIGKILL: Open MPI must take the whole job down; the newest DONE checkpoint must stay loadable
out="$work/run_kill"
start_run "$out"
victim="$(rank_pid "$out" 1)"
t0=$(date +%s)
kill -KILL "$victim"
rc=0
timeout 30 tail --pid="$MPIRUN_PID" -f /dev/null || fail "SIGKILL: job still running after 30 s"
wait "$MPIRUN_PID" || rc=$?
t1=$(date +%s)
[ "$rc" != 0 ] || fail "SIGKILL: job exited 0"
[ -z "$(pgrep -f "^$BAE train .*--out $out( |$)" || true)" ] || fail "SIGKILL: a rank is still running"
last="$(ls -d "$out"/step_*/DONE | sort | tail -1)"
ckpt="$(dirname "$last")"
"$BAE" entropy --model "$ckpt" --data "$work/data.npy" --json | grep -q entropy_bits || fail "SIGKILL: checkpoint $ckpt not loadable"
step=$((10#$(basename "$ckpt" | cut -d_ -f2)))
mpirun -np 2 --bind-to none "$BAE" train --data "$work/data.npy" --latent-dim 128 --batch-size 256 \
  --steps $((step + 10)) --checkpoint-every 25 --keep-last 2 --out "$out" --resume >"$out.resume.log" 2>&1 \
  || { cat "$out.resume.log" >&2; fail "resume after SIGKILL failed"; }
grep -q "resumed from .*$(basename "$ckpt") at step $step" "$out.resume.log" || { cat "$out.resume.log" >&2; fail "resume did not use $ckpt"; }
echo "test_faults: SIGKILL of rank 1 -> exit $rc after $((t1 - t0)) s; resumed from $(basename "$ckpt")" >&2
echo "test_faults: all passed" >&2
