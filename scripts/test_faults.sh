#!/usr/bin/env bash
# Faults and preemption with real mpirun (issue 4 item 4, issue 11):
#  1. SIGTERM to one non-root rank  -> all ranks stop at the same step, one checkpoint, exit 0,
#                                      no final validation and no final model
#  2. SIGUSR1 to rank 0             -> the same
#  3. SIGKILL to one rank           -> the job ends non-zero within 30 s, no rank left running,
#                                      and the last DONE checkpoint is intact (resume from it works)
#  4. a stopped peer + SIGTERMs    -> a repeat within 2 s is the same request; one 3 s later
#                                      ends the job (status 3) within 30 s
#  5. a stopped peer + --step-timeout 2 -> the watchdog aborts the job, naming the step
#  6. MPMD ranks with different --seed -> all ranks refuse before step 1, naming 'seed'
#  7. metrics on a full tmpfs       -> exit 1 with a typed error, every metrics line whole
#                                      (skipped, visibly, where tmpfs cannot be mounted)
#  8. `bae train 2>&1 | head -1`    -> bae exits 0 (no SIGPIPE)
#  9. SIGTERM to rank 1 of a two-model `bae sweep` -> exit 0, both models checkpointed at the same
#                                      step; `bae sweep --resume` finishes both from that step
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

start_run() {  # $1 = out dir, then extra train flags; starts mpirun -np 2 in the background, sets MPIRUN_PID
  local dir=$1; shift
  mpirun -np 2 --bind-to none "$BAE" train --data "$work/data.npy" --latent-dim 128 --batch-size 256 \
    --steps 1000000 --checkpoint-every 25 --keep-last 2 --log-every 100000 --out "$dir" "$@" >"$dir.log" 2>&1 &
  set -- "$dir"
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
  [ ! -f "$out/model.safetensors" ] || fail "SIG$1: a final model was written after a stop request"
  ! grep -q '"validation"' "$out/metrics.jsonl" || fail "SIG$1: a validation pass ran after a stop request"
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

aborted() {  # $1 = out dir, $2 = what, $3 = text the log must hold: the job ends with status 3 within 30 s
  local rc=0
  timeout 30 tail --pid="$MPIRUN_PID" -f /dev/null || { cat "$1.log" >&2; fail "$2: job still running after 30 s"; }
  wait "$MPIRUN_PID" || rc=$?
  [ "$rc" = 3 ] || { cat "$1.log" >&2; fail "$2: job exited $rc, expected 3 (a forced exit, not a crash)"; }
  grep -q -- "$3" "$1.log" || { cat "$1.log" >&2; fail "$2: the log does not say \"$3\""; }
  [ -z "$(pgrep -f "^$BAE train .*--out $1( |$)" || true)" ] || fail "$2: a rank is still running"
  echo "test_faults: $2 -> exit $rc" >&2
}

# a peer stopped mid-run leaves rank 0 in an allreduce: the first SIGTERM cannot be honoured, the second ends the job
out="$work/run_twice"
start_run "$out" --step-timeout 0
kill -STOP "$(rank_pid "$out" 1)"
sleep 1
kill -TERM "$(rank_pid "$out" 0)"; sleep 0.2; kill -TERM "$(rank_pid "$out" 0)"  # within 2 s: the same request
sleep 3
[ -n "$(rank_pid "$out" 0)" ] || { cat "$out.log" >&2; fail "a repeated signal within 2 s ended the run"; }
kill -TERM "$(rank_pid "$out" 0)"
aborted "$out" "two SIGTERMs with a stopped peer" "second stop signal"

# the same stuck collective, no signal: the step watchdog ends the job
out="$work/run_watchdog"
start_run "$out" --step-timeout 2
kill -STOP "$(rank_pid "$out" 1)"
aborted "$out" "stopped peer with --step-timeout 2" "over --step-timeout 2 s"

# MPMD: the ranks were started with different seeds; nothing trains
out="$work/run_mpmd"
common=(--data "$work/data.npy" --latent-dim 128 --batch-size 256 --steps 5 --out "$out")
rc=0
timeout 60 mpirun -np 1 "$BAE" train --seed 1 "${common[@]}" : -np 1 "$BAE" train --seed 2 "${common[@]}" >"$out.log" 2>&1 || rc=$?
[ "$rc" != 0 ] && [ "$rc" != 124 ] || { cat "$out.log" >&2; fail "MPMD seeds: exit $rc"; }
grep -q "ranks disagree on 'seed'" "$out.log" || { cat "$out.log" >&2; fail "MPMD seeds: 'seed' not named"; }
[ ! -d "$out" ] || ! ls "$out"/step_* >/dev/null 2>&1 || fail "MPMD seeds: a checkpoint was written"
echo "test_faults: MPMD ranks with --seed 1 / 2 -> exit $rc, 'seed' named" >&2

# a full disk under metrics.jsonl (a 160 KiB tmpfs): a typed error, no torn line
full="$work/full"
mkdir -p "$full"
if mount -t tmpfs -o size=160k tmpfs "$full" 2>/dev/null; then
  trap 'umount "$full" 2>/dev/null; rm -rf "$work"' EXIT
  rc=0
  "$BAE" train --data "$work/data.npy" --latent-dim 16 --batch-size 64 --steps 100000 --log-every 100000 \
    --out "$full/run" >"$work/full.log" 2>&1 || rc=$?
  [ "$rc" = 1 ] || { cat "$work/full.log" >&2; fail "full disk: exit $rc, expected 1"; }
  grep -q "writing metrics failed" "$work/full.log" || { cat "$work/full.log" >&2; fail "full disk: no metrics error"; }
  python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$full/run/metrics.jsonl" \
    || fail "full disk: metrics.jsonl holds a torn line"
  echo "test_faults: metrics on a full tmpfs -> exit 1, $(wc -l <"$full/run/metrics.jsonl") whole lines" >&2
  umount "$full"
  trap 'rm -rf "$work"' EXIT
else
  echo "test_faults: SKIPPED full-disk case (cannot mount a tmpfs here)" >&2
fi

# a reader that goes away: EPIPE on stderr, not SIGPIPE
rc=0
set +o pipefail
"$BAE" train --data "$work/data.npy" --latent-dim 16 --batch-size 64 --steps 300 --log-every 1 \
  --out "$work/run_pipe" 2>&1 | head -1 >/dev/null
rc=${PIPESTATUS[0]}
set -o pipefail
[ "$rc" = 0 ] || fail "train | head -1: bae exited $rc (141 = SIGPIPE)"
echo "test_faults: bae train 2>&1 | head -1 -> bae exit 0" >&2

# a sweep stops as one run: every model checkpoints at the agreed step, --resume continues them all
sweep_file() {  # $1 = steps
  printf '{"shared": {"data": "%s", "steps": %d, "batchSize": 256, "checkpointEvery": 25, "logEvery": 100000},
 "models": [{"out": "%s/sweep_a", "latentDim": 128}, {"out": "%s/sweep_b", "architecture": "topk", "k": 8, "latentDim": 64}]}\n' \
    "$work/data.npy" "$1" "$work" "$work" >"$work/sweep.json"
}
sweep_file 1000000
mpirun -np 2 --bind-to none "$BAE" sweep --config "$work/sweep.json" >"$work/sweep.log" 2>&1 &
MPIRUN_PID=$!
for _ in $(seq 1 300); do
  pid=""
  for p in $(pgrep -f "^$BAE sweep --config $work/sweep.json" || true); do
    tr '\0' '\n' < "/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=1" && pid=$p
  done
  if ls "$work"/sweep_b/step_*/DONE >/dev/null 2>&1 && [ -n "$pid" ]; then break; fi
  sleep 0.1
done
[ -n "$pid" ] || { cat "$work/sweep.log" >&2; fail "sweep did not start"; }
kill -TERM "$pid"
rc=0
timeout 60 tail --pid="$MPIRUN_PID" -f /dev/null || fail "sweep: job did not end within 60 s of SIGTERM"
wait "$MPIRUN_PID" || rc=$?
[ "$rc" = 0 ] || { cat "$work/sweep.log" >&2; fail "sweep SIGTERM: exit $rc, expected 0"; }
step="$(grep -o 'checkpoint written at step [0-9]*' "$work/sweep.log" | grep -o '[0-9]*$')"
for m in sweep_a sweep_b; do
  [ -f "$work/$m/$(printf 'step_%08d' "$step")/DONE" ] || fail "sweep SIGTERM: $m has no checkpoint at step $step"
done
sweep_file $((step + 10))
mpirun -np 2 --bind-to none "$BAE" sweep --config "$work/sweep.json" --resume >"$work/sweep2.log" 2>&1 ||
  { cat "$work/sweep2.log" >&2; fail "sweep --resume failed"; }
grep -q "resumed from $(printf 'step_%08d' "$step") at step $step" "$work/sweep2.log" || fail "sweep --resume: not from step $step"
for m in sweep_a sweep_b; do
  [ -f "$work/$m/model.safetensors" ] || fail "sweep --resume: $m has no final model"
  last="$(grep -v validation "$work/$m/metrics.jsonl" | tail -1 | grep -o '"step":[0-9]*' | grep -o '[0-9]*$')"
  [ "$last" = $((step + 10)) ] || fail "sweep --resume: $m's metrics end at step $last, expected $((step + 10))"
done
echo "test_faults: SIGTERM to a sweep -> both models checkpointed at step $step; --resume finished both" >&2
echo "test_faults: all passed" >&2
exit 0
