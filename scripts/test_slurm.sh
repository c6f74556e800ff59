#!/usr/bin/env bash
# End-to-end test of the Slurm launch files on a real one-node Slurm started here:
#   1. cluster/train_mpirun.sbatch runs a tiny training job to completion
#   2. cluster/train_srun.sbatch (srun --mpi=pmix) does the same
#   3. preemption: `scancel --signal=USR1 --batch` on a running job -> checkpoint, self-requeue,
#      the second run starts with --resume and finishes
#   4. `scontrol requeue` of a running job -> Slurm requeues it, the rerun resumes and finishes
# Each job must end COMPLETED with exit 0 and leave a step_*/ checkpoint with DONE and
# model.safetensors. Exits non-zero on any failure and then prints the job logs.
#
# Payload (BAE_TEST_PAYLOAD): auto (default: the real trainer if `bae train --help` works, else
# the stand-in cluster/testing/stand_in_bae.sh), bae (require the real trainer: use this in CI),
# stand-in. BAE_CMD overrides the trainer command outright.
# Other environment: BAE (trainer binary, default .build/release/bae), BAE_TEST_JOB_TIMEOUT
# (seconds per job, default 90), BAE_TEST_DIR (work dir, default a fresh mktemp dir),
# BAE_TEST_KEEP=1 (leave Slurm up and keep the work dir), BAE_TEST_ONLY ("run", "preempt" or
# "all", default all), BAE_SLURM_DIR (state dir, see slurm_up.sh).
set -uo pipefail
case "${1:-}" in
  -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
  "") ;;
  *) echo "test_slurm.sh: no arguments (settings are environment variables; see --help)" >&2; exit 2 ;;
esac
cd "$(dirname "$0")/.." || exit 2
REPO="$PWD"

PAYLOAD="${BAE_TEST_PAYLOAD:-auto}"
BAE_BIN="${BAE:-$REPO/.build/release/bae}"
JOB_TIMEOUT="${BAE_TEST_JOB_TIMEOUT:-90}"
ONLY="${BAE_TEST_ONLY:-all}"
KEEP="${BAE_TEST_KEEP:-0}"
WORK="${BAE_TEST_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/bae-slurm-test.XXXXXX")}"
RANKS=2
STEPS=50
EVERY=20

t0=$SECONDS
log() { echo "test_slurm: [$((SECONDS - t0))s] $*" >&2; }
failures=0
fail() { log "FAIL: $*"; failures=$((failures + 1)); }
jobs_submitted=()
slurm_started=0

# ---- set-up ---------------------------------------------------------------------------------------
mkdir -p "$WORK"
export BAE_SLURM_DIR="${BAE_SLURM_DIR:-${TMPDIR:-/tmp}/bae-slurm}"
export SLURM_CONF="$BAE_SLURM_DIR/slurm.conf"
if ! { [ -f "$SLURM_CONF" ] && scontrol ping 2>/dev/null | grep -q 'is UP'; }; then slurm_started=1; fi

print_logs() {
  local f
  for f in "$WORK"/*.out; do
    [ -f "$f" ] || continue
    echo "===== $f" >&2; cat "$f" >&2
  done
  for f in "$WORK"/*/stand_in.log; do
    [ -f "$f" ] || continue
    echo "===== $f" >&2; cat "$f" >&2
  done
  for f in "$BAE_SLURM_DIR"/log/slurmctld.log "$BAE_SLURM_DIR"/log/slurmd.log; do
    [ -f "$f" ] || continue
    echo "===== last 30 lines of $f" >&2; tail -n 30 "$f" >&2
  done
}

cleanup() {
  local rc=$?
  [ "$failures" -gt 0 ] && rc=1
  for j in "${jobs_submitted[@]}"; do scancel "$j" 2>/dev/null; done
  if [ "$rc" -ne 0 ]; then
    log "failed: job logs and daemon logs follow"
    print_logs
  fi
  if [ "$KEEP" = 1 ]; then
    log "BAE_TEST_KEEP=1: leaving Slurm up (SLURM_CONF=$SLURM_CONF) and $WORK"
  else
    [ "$slurm_started" = 1 ] && scripts/slurm_down.sh || true
    [ -z "${BAE_TEST_DIR:-}" ] && rm -rf -- "$WORK"
  fi
  log "$([ "$rc" -eq 0 ] && echo PASSED || echo FAILED) in $((SECONDS - t0)) s"
  exit "$rc"
}
trap cleanup EXIT
trap 'fail "interrupted"; exit 1' INT TERM

scripts/slurm_up.sh || { fail "slurm_up.sh"; exit 1; }

# ---- payload --------------------------------------------------------------------------------------
if [ -n "${BAE_CMD:-}" ]; then
  PAYLOAD=custom
elif [ "$PAYLOAD" = auto ]; then
  if [ -x "$BAE_BIN" ] && "$BAE_BIN" train --help >/dev/null 2>&1; then PAYLOAD=bae; else PAYLOAD=stand-in; fi
fi
case "$PAYLOAD" in
  bae)
    "$BAE_BIN" train --help >/dev/null 2>&1 || { fail "$BAE_BIN train --help does not work (build with 'swift build -c release')"; exit 1; }
    export BAE_CMD="$BAE_BIN"
    DATA="$WORK/synth.npy"
    "$BAE_BIN" synth --bits 8 --dim 16 --rows 2048 --seed 1 --out "$DATA" || { fail "bae synth"; exit 1; }
    TRAIN_ENV=(LATENT_DIM=64 BATCH_SIZE=256 LR=5e-3 SEED=1 KEEP_LAST=3 "EXTRA_ARGS=--log-every 100")
    # Long enough (~3-9 s of d=16 steps here) that the signal lands mid-run; if a faster machine
    # finishes first, the test says so: raise BAE_TEST_PREEMPT_STEPS.
    PREEMPT_STEPS="${BAE_TEST_PREEMPT_STEPS:-6000}"; PREEMPT_EVERY="${BAE_TEST_PREEMPT_EVERY:-300}" ;;
  stand-in)
    log "NOTE: using the stand-in payload cluster/testing/stand_in_bae.sh (no working $BAE_BIN train)"
    export BAE_CMD="$REPO/cluster/testing/stand_in_bae.sh"
    export BAE_STANDIN_STEP_SECONDS=0.05
    DATA="$WORK/data.npy"; : >"$DATA"
    TRAIN_ENV=()
    PREEMPT_STEPS="${BAE_TEST_PREEMPT_STEPS:-60}"; PREEMPT_EVERY="${BAE_TEST_PREEMPT_EVERY:-10}" ;;
  custom)
    DATA="${DATA:?set DATA for a custom BAE_CMD}"
    TRAIN_ENV=()
    PREEMPT_STEPS="${BAE_TEST_PREEMPT_STEPS:-6000}"; PREEMPT_EVERY="${BAE_TEST_PREEMPT_EVERY:-300}" ;;
  *) fail "BAE_TEST_PAYLOAD must be auto, bae or stand-in, got '$PAYLOAD'"; exit 1 ;;
esac
log "payload: $PAYLOAD ($BAE_CMD), work dir $WORK"

# ---- helpers --------------------------------------------------------------------------------------
# submit NAME SCRIPT STEPS EVERY [extra env...]: sets $id to the job id (no subshell, so the id
# is remembered for the clean-up).
submit() {
  local name="$1" script="$2" steps="$3" every="$4"; shift 4
  id="$(env DATA="$DATA" OUT="$WORK/$name" STEPS="$steps" CHECKPOINT_EVERY="$every" "${TRAIN_ENV[@]}" "$@" \
        sbatch --parsable --job-name="bae-test-$name" --ntasks="$RANKS" --time=00:05:00 \
               --output="$WORK/$name.out" "$script")" || return 1
  id="${id%%;*}"
  jobs_submitted+=("$id")
}
field() { scontrol show job -o "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n1; }
is_final() {
  case "$1" in
    COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|BOOT_FAIL|DEADLINE|PREEMPTED) return 0 ;;
    *) return 1 ;;
  esac
}
# wait_final ID: waits until the job reaches a final state; prints it.
wait_final() {
  local id="$1" deadline=$((SECONDS + JOB_TIMEOUT)) st
  while :; do
    st="$(field "$id" JobState)"
    if [ -n "$st" ] && is_final "$st"; then echo "$st"; return 0; fi
    if [ "$SECONDS" -ge "$deadline" ]; then echo "TIMEOUT_WAITING(${st:-gone})"; return 1; fi
    sleep 0.5
  done
}
newest_done() {
  local best=0 d s
  for d in "$1"/step_*/; do
    [ -f "$d/DONE" ] || continue
    s="$(basename "$d")"; s=$((10#${s#step_}))
    [ "$s" -gt "$best" ] && best="$s"
  done
  echo "$best"
}
# check_finished NAME ID STEPS EVERY: final state, exit code, checkpoint files.
check_finished() {
  local name="$1" id="$2" steps="$3" every="$4" st ec newest dir
  st="$(wait_final "$id")"
  ec="$(field "$id" ExitCode)"
  [ "$st" = COMPLETED ] && [ "$ec" = "0:0" ] || { fail "$name: job $id ended $st, exit code ${ec:-?}"; return 1; }
  newest="$(newest_done "$WORK/$name")"
  if [ "$newest" -lt $((steps - steps % every)) ]; then
    fail "$name: newest checkpoint with DONE is step $newest, expected >= $((steps - steps % every))"; return 1
  fi
  dir="$(printf '%s/%s/step_%08d' "$WORK" "$name" "$newest")"
  [ -s "$dir/model.safetensors" ] || { fail "$name: $dir/model.safetensors missing or empty"; return 1; }
  log "ok: $name (job $id) COMPLETED, exit 0, checkpoint $(basename "$dir") with DONE and model.safetensors"
}
# wait_for_checkpoint NAME ID: until the running job has written its first DONE checkpoint.
wait_for_checkpoint() {
  local name="$1" id="$2" deadline=$((SECONDS + JOB_TIMEOUT)) st
  while [ "$(newest_done "$WORK/$name")" -eq 0 ]; do
    st="$(field "$id" JobState)"
    if is_final "$st" || [ "$SECONDS" -ge "$deadline" ]; then
      fail "$name: job $id is ${st:-gone} before writing a first checkpoint"; return 1
    fi
    sleep 0.1
  done
}
# check_resumed NAME ID: the job ran twice and the second run passed --resume.
check_resumed() {
  local name="$1" id="$2" restarts
  restarts="$(field "$id" Restarts)"
  if [ "${restarts:-0}" -lt 1 ]; then
    fail "$name: job $id was not restarted (Restarts=${restarts:-?}); if it finished before the signal, raise BAE_TEST_PREEMPT_STEPS (now $PREEMPT_STEPS)"
    return 1
  fi
  grep -q 'restart=1 .*resume_from=[1-9]' "$WORK/$name.out" && grep -q -- '--resume' "$WORK/$name.out" \
    || { fail "$name: the requeued run did not start with --resume from a checkpoint"; return 1; }
  if [ "$PAYLOAD" = stand-in ]; then
    grep -q '^start step=[1-9][0-9]* resume=1 .*restart=1' "$WORK/$name/stand_in.log" \
      || { fail "$name: stand-in did not resume from a checkpoint"; return 1; }
  fi
  log "ok: $name (job $id) was requeued (Restarts=$restarts) and resumed with --resume"
}

# ---- 1 + 2: run to completion with both launchers ---------------------------------------------------
if [ "$ONLY" = all ] || [ "$ONLY" = run ]; then
  for launcher in mpirun srun; do
    submit "$launcher" "cluster/train_$launcher.sbatch" "$STEPS" "$EVERY" || { fail "sbatch $launcher"; continue; }
    log "submitted $launcher job $id"
    check_finished "$launcher" "$id" "$STEPS" "$EVERY"
  done
fi

# ---- 3 + 4: preemption ------------------------------------------------------------------------------
if [ "$ONLY" = all ] || [ "$ONLY" = preempt ]; then
  # 3. USR1 to the batch shell (what --signal=B:USR1@120 does near the time limit).
  name=preempt-usr1
  if submit "$name" cluster/train_mpirun.sbatch "$PREEMPT_STEPS" "$PREEMPT_EVERY" BAE_STANDIN_STEP_SECONDS=0.1; then
    log "submitted $name job $id"
    if wait_for_checkpoint "$name" "$id"; then
      scancel --signal=USR1 --batch "$id" || fail "$name: scancel --signal=USR1 --batch $id"
      log "sent USR1 to the batch shell of job $id"
      check_finished "$name" "$id" "$PREEMPT_STEPS" "$PREEMPT_EVERY" && check_resumed "$name" "$id"
      grep -q 'requeueing job' "$WORK/$name.out" || fail "$name: the batch script did not requeue itself"
    fi
  else
    fail "sbatch $name"
  fi

  # 4. An operator (or the preemption logic) requeues the running job.
  name=preempt-requeue
  if submit "$name" cluster/train_srun.sbatch "$PREEMPT_STEPS" "$PREEMPT_EVERY" BAE_STANDIN_STEP_SECONDS=0.1; then
    log "submitted $name job $id"
    if wait_for_checkpoint "$name" "$id"; then
      scontrol requeue "$id" || fail "$name: scontrol requeue $id"
      log "requeued job $id"
      check_finished "$name" "$id" "$PREEMPT_STEPS" "$PREEMPT_EVERY" && check_resumed "$name" "$id"
    fi
  else
    fail "sbatch $name"
  fi
fi

[ "$failures" -eq 0 ]
