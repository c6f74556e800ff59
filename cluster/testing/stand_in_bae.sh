#!/usr/bin/env bash
# A stand-in for `bae train` used to test the launch harness (mpirun wrapper, sbatch scripts,
# preemption and requeue) without the real trainer. It accepts the same command line, "trains" by
# sleeping, writes step_XXXXXXXX/ checkpoints from rank 0 with a DONE marker last, and on
# SIGUSR1/SIGTERM checkpoints at the next step boundary and exits 0, like the real trainer.
# Rank 0 appends one line per event to OUT/stand_in.log, which the tests read.
# Environment: BAE_STANDIN_STEP_SECONDS (sleep per step, default 0.05).
set -euo pipefail

die() { echo "stand_in_bae: error: $*" >&2; exit 2; }
[ "${1:-}" = "train" ] || die "only 'train' is supported, got '${1:-}'"
shift

data="" out="" steps=100 every="" resume=0
while [ $# -gt 0 ]; do
  case "$1" in
    --data) data="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --steps) steps="$2"; shift 2 ;;
    --checkpoint-every) every="$2"; shift 2 ;;
    --resume) resume=1; shift ;;
    --help) echo "stand_in_bae train --data PATH --out DIR --checkpoint-every N [--steps N] [--resume]"; exit 0 ;;
    --*) if [ $# -ge 2 ] && [[ "$2" != --* ]]; then shift 2; else shift; fi ;;  # other trainer options
    *) die "unexpected argument '$1'" ;;
  esac
done
[ -n "$data" ] && [ -e "$data" ] || die "--data '$data' does not exist"
[ -n "$out" ] || die "--out is required"
[ -n "$every" ] || die "--checkpoint-every is required"

rank="${OMPI_COMM_WORLD_RANK:-${PMIX_RANK:-${SLURM_PROCID:-0}}}"
world="${OMPI_COMM_WORLD_SIZE:-${SLURM_NTASKS:-1}}"
step_seconds="${BAE_STANDIN_STEP_SECONDS:-0.05}"
mkdir -p "$out"
note() { [ "$rank" = 0 ] && echo "$*" >>"$out/stand_in.log"; return 0; }

stop_signal=""
trap 'stop_signal=USR1' USR1
trap 'stop_signal=TERM' TERM

start=0
if [ "$resume" = 1 ]; then
  for d in "$out"/step_*/; do
    [ -f "$d/DONE" ] || continue
    s="$(basename "$d")"; s=$((10#${s#step_}))
    [ "$s" -gt "$start" ] && start="$s"
  done
fi
note "start step=$start resume=$resume world=$world restart=${SLURM_RESTART_COUNT:-0} threads=${OPENBLAS_NUM_THREADS:-unset}"

checkpoint() {
  [ "$rank" = 0 ] || return 0
  local dir; dir="$(printf '%s/step_%08d' "$out" "$1")"
  [ -f "$dir/DONE" ] && return 0
  rm -rf "$dir.tmp"; mkdir -p "$dir.tmp"
  printf 'stand-in model at step %d\n' "$1" >"$dir.tmp/model.safetensors"
  printf 'stand-in optimizer at step %d\n' "$1" >"$dir.tmp/optimizer.safetensors"
  printf '{"step": %d, "world_size": %d}\n' "$1" "$world" >"$dir.tmp/config.json"
  rm -rf "$dir"; mv "$dir.tmp" "$dir"
  : >"$dir/DONE"
  note "checkpoint step=$1"
}

step="$start"
while [ "$step" -lt "$steps" ]; do
  sleep "$step_seconds" || true   # Slurm signals the whole step, sleep included
  step=$((step + 1))
  if [ -n "$stop_signal" ]; then
    checkpoint "$step"
    note "stopped step=$step signal=$stop_signal"
    exit 0
  fi
  [ $((step % every)) -eq 0 ] && checkpoint "$step"
done
checkpoint "$step"
note "finished step=$step"
