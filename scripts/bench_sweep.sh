#!/usr/bin/env bash
# K models on one stream against K separate runs (Documentation/Benchmarks.md, "Many models on one
# stream"): the same 8 small models (BAE at four λ, TopK at three k, ReLU), the same packed f16 dataset,
# seed and steps; `bae sweep` once against `bae train` eight times, REPEATS times in alternation.
# Reports per repeat the loop seconds per step (metrics.jsonl elapsedSeconds at the last step: no start-up,
# no final validation), the wall seconds and the CPU seconds (user + sys, /usr/bin/time) per step.
# With CALLGRIND=1 it instead counts instructions (valgrind --tool=callgrind, load-independent) of the
# sweep and of the eight runs at STEPS and at 2 × STEPS; the difference divided by STEPS is the
# instructions per step without start-up and final validation. Slow under valgrind, so
# use a small case (e.g. STEPS=5 LATENT=64): at STEPS=20 and the default sizes the first sweep had done 6
# of its 20 steps after 6 minutes here.
#
# Usage: scripts/bench_sweep.sh [WORK_DIR]
# Environment: BAE (default .build/release/bae), PY (default .venv/bin/python), STEPS [200], REPEATS [3],
#   DIM [64], LATENT [256], RANKS [1] (> 1: every command under cluster/mpirun.sh -n RANKS), CALLGRIND [0]
set -euo pipefail
cd "$(dirname "$0")/.."
WORK="${1:-$(mktemp -d)}"
BAE="${BAE:-.build/release/bae}"
PY="${PY:-.venv/bin/python}"
STEPS="${STEPS:-200}"
REPEATS="${REPEATS:-3}"
DIM="${DIM:-64}"
LATENT="${LATENT:-256}"
RANKS="${RANKS:-1}"
mkdir -p "$WORK"
BAE="$(cd "$(dirname "$BAE")" && pwd)/$(basename "$BAE")"
# one bae command (under mpirun with RANKS > 1), its user + sys CPU seconds appended to $WORK/cpu.txt
launch() {
  local timed=(/usr/bin/time -a -o "$WORK/cpu.txt" -f "%U %S")
  if [ "$RANKS" -gt 1 ]; then "${timed[@]}" env BAE="$BAE" cluster/mpirun.sh -n "$RANKS" -- bae "$@"
  else "${timed[@]}" "$BAE" "$@"; fi
}

write_configs() { # $1 = steps
  {
    printf '{"shared": {"data": "%s", "steps": %d, "batchSize": 512, "latentDim": %d, "seed": 1, "logEvery": 100000},\n' \
      "$WORK/ds" "$1" "$LATENT"
    printf ' "models": [\n'
    for i in "${!models[@]}"; do
      sep=,; [ "$i" = $((${#models[@]} - 1)) ] && sep=
      printf '  {"out": "%s", %s}%s\n' "$WORK/sweep/m$i" "${models[$i]}" "$sep"
    done
    printf ']}\n'
  } >"$WORK/sweep.json"
  for i in "${!models[@]}"; do
    printf '{"data": "%s", "steps": %d, "batchSize": 512, "latentDim": %d, "seed": 1, "logEvery": 100000, %s}\n' \
      "$WORK/ds" "$1" "$LATENT" "${models[$i]}" >"$WORK/alone$i.json"
  done
}

"$BAE" synth --bits 8 --dim "$DIM" --rows 60000 --noise 0.05 --seed 3 --out "$WORK/syn.npy" 2>/dev/null
rm -rf "$WORK/ds"
"$BAE" pack --input "$WORK/syn.npy" --dtype f16 --out "$WORK/ds" >/dev/null 2>&1
models=(
  '"entropyWeight": 1e-7, "covarianceWeight": 1e-7'
  '"entropyWeight": 1e-5, "covarianceWeight": 1e-5'
  '"entropyWeight": 1e-4, "covarianceWeight": 1e-4'
  '"entropyWeight": 1e-3, "covarianceWeight": 1e-3'
  '"architecture": "topk", "k": 8'
  '"architecture": "topk", "k": 16'
  '"architecture": "topk", "k": 32'
  '"architecture": "relu", "l1Weight": 1e-3'
)

if [ "${CALLGRIND:-0}" = 1 ]; then
  # valgrind gives up on the Swift binary's debug info ("possibly corrupted"): count a stripped copy
  strip -o "$WORK/bae-stripped" "$BAE"
  ir() { # instructions of one command
    valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.out" "$WORK/bae-stripped" "$@" >/dev/null 2>"$WORK/cg.log"
    awk '/^(summary|totals):/ { print $2; exit }' "$WORK/cg.out"
  }
  printf '%-6s %-10s %16s\n' steps mode instructions
  for steps in "$STEPS" $((2 * STEPS)); do
    write_configs "$steps"
    printf '%-6s %-10s %16s\n' "$steps" sweep "$(ir sweep --config "$WORK/sweep.json" --overwrite)"
    total=0
    for i in "${!models[@]}"; do
      total=$((total + $(ir train --config "$WORK/alone$i.json" --out "$WORK/alone/m$i" --overwrite)))
    done
    printf '%-6s %-10s %16s\n' "$steps" separate "$total"
  done
  exit 0
fi
write_configs "$STEPS"

loop_seconds() { # the last step's elapsedSeconds of each metrics.jsonl given; prints the largest and the sum
  "$PY" - "$@" <<'PY'
import json, sys
last = []
for p in sys.argv[1:]:
    steps = [json.loads(l) for l in open(p) if '"validation"' not in l]
    last.append(steps[-1]["elapsedSeconds"])
print(max(last), sum(last))
PY
}
cpu_sum() { awk '{ s += $1 + $2 } END { print s }' "$WORK/cpu.txt"; }

printf '%-6s %-10s %12s %12s %12s\n' repeat mode loop_s/step wall_s/step cpu_s/step
for r in $(seq 1 "$REPEATS"); do
  rm -f "$WORK/cpu.txt"
  t0=$(date +%s.%N)
  launch sweep --config "$WORK/sweep.json" --overwrite 2>"$WORK/sweep.log"
  t1=$(date +%s.%N)
  read -r loop _ < <(loop_seconds "$WORK"/sweep/m*/metrics.jsonl)
  printf '%-6s %-10s %12.5f %12.5f %12.5f\n' "$r" sweep "$(echo "$loop / $STEPS" | bc -l)" \
    "$(echo "($t1 - $t0) / $STEPS" | bc -l)" "$(echo "$(cpu_sum) / $STEPS" | bc -l)"
  rm -f "$WORK/cpu.txt"
  t0=$(date +%s.%N)
  for i in "${!models[@]}"; do
    launch train --config "$WORK/alone$i.json" --out "$WORK/alone/m$i" --overwrite 2>"$WORK/alone$i.log"
  done
  t1=$(date +%s.%N)
  read -r _ loop < <(loop_seconds "$WORK"/alone/m*/metrics.jsonl)
  printf '%-6s %-10s %12.5f %12.5f %12.5f\n' "$r" separate "$(echo "$loop / $STEPS" | bc -l)" \
    "$(echo "($t1 - $t0) / $STEPS" | bc -l)" "$(echo "$(cpu_sum) / $STEPS" | bc -l)"
done
