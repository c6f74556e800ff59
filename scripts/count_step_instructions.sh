#!/usr/bin/env bash
# Instructions per training step, ours (`bae bench step`) and the PyTorch statement-list step
# (scripts/bench_vs_pytorch.py's), counted by valgrind's callgrind: a figure the machine's load does not move.
# Valgrind presents an AVX2 CPU without AVX-512, so both sides run their AVX2 code (OpenBLAS's Haswell
# kernels; torch reports cpu capability AVX2). One thread on both sides: valgrind serialises threads, so
# worker threads' spin-waits would be counted as work.
#
#   ours:    the whole process is instrumented, but only `TrainingStep.run` (the trainer's step) is collected
#            (--toggle-collect) and each call is dumped (--dump-after). `bae bench step --repeats K` runs
#            K+1 steps with λ = 0, then K+1 with λ = lambda; the run is stopped once those are dumped.
#            Valgrind 3.19 cannot read the DWARF 5 in the release binary, so a copy without debug
#            sections (objcopy --strip-debug; the symbol table stays) is what runs.
#   PyTorch: python runs uninstrumented (import, model set-up, one warm-up step); each of K steps is
#            wrapped in client requests (scripts/callgrind_marks.c, loaded with ctypes) and dumped.
#   --reference-dir PATH also counts the reference repository's own trainer loop (hc495/Binary_Autoencoder,
#            a checkout outside this repository): K iterations of its loop, imported from PATH.
#
# Prints instructions per step (median over the counted steps) and the ratio PyTorch / ours; --json writes
# every dump's count and the per-object split (which library the instructions ran in).
#
#   scripts/count_step_instructions.sh --shape 576,2304,512
#   scripts/count_step_instructions.sh --shape 2048,8192,512 --reference-dir /path/to/Binary_Autoencoder
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
shape=576,2304,512 steps=1 lambda=1e-7 bae=.build/release/bae python=.venv-torch/bin/python
reference="" json="" keep="" from=""
usage() {
  sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'
  cat <<'EOF'
Options:
  --shape d,d',n        step shape (default 576,2304,512)
  --steps K             counted steps per side (default 1; ours also dumps its K+1 λ = 0 steps)
  --lambda L            λ_e = λ_c (default 1e-7)
  --bae PATH            the bae binary (default .build/release/bae)
  --python PATH         python with torch (default .venv-torch/bin/python; scripts/setup_torch.sh)
  --reference-dir PATH  also count the reference's own trainer loop from this checkout
  --json FILE           write every count here
  --keep DIR            keep the callgrind dumps in DIR (default: a temporary directory, removed)
  --from DIR            run nothing: report from the dumps an earlier --keep DIR run left (same flags)
EOF
}
while [ $# -gt 0 ]; do
  case "$1" in
    --shape) shape=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --lambda) lambda=$2; shift 2 ;;
    --bae) bae=$2; shift 2 ;;
    --python) python=$2; shift 2 ;;
    --reference-dir) reference=$2; shift 2 ;;
    --json) json=$2; shift 2 ;;
    --keep) keep=$2; shift 2 ;;
    --from) from=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "count_step_instructions: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
die() { echo "count_step_instructions: $*" >&2; exit 1; }
[[ $shape =~ ^[1-9][0-9]*,[1-9][0-9]*,[1-9][0-9]*$ ]] || die "--shape takes d,d',n as positive integers (e.g. 576,2304,512)"
[[ $steps =~ ^[1-9][0-9]*$ ]] || die "--steps takes a positive integer"
if [ -z "$from" ]; then
  command -v valgrind >/dev/null || die "valgrind is not installed: apt-get install valgrind"
  [ -f /usr/include/valgrind/callgrind.h ] || die "no /usr/include/valgrind/callgrind.h: apt-get install valgrind"
  [ -x "$bae" ] || die "no bae binary at $bae: build it (swift build -c release) or pass --bae"
  [ -x "$python" ] || die "no python at $python: run scripts/setup_torch.sh or pass --python"
  [ -z "$reference" ] || [ -f "$reference/train/trainer.py" ] ||
    die "--reference-dir $reference has no train/trainer.py: pass a checkout of github.com/hc495/Binary_Autoencoder"
  python=$(cd "$(dirname "$python")" && pwd)/$(basename "$python") # the PyTorch side runs from scripts/
  [ -z "$reference" ] || reference=$(cd "$reference" && pwd)
fi
IFS=, read -r d dl n <<<"$shape"

if [ -n "$from" ]; then
  work=$(cd "$from" && pwd)
  [ -f "$work/ours.1" ] || die "--from $from holds no callgrind dumps (ours.1, torch.1, ...): run with --keep DIR first"
  want=$((2 * (steps + 1)))
else
  if [ -n "$keep" ]; then mkdir -p "$keep"; work=$(cd "$keep" && pwd); else work=$(mktemp -d); fi
  cleanup() {
    [ -z "${ours_pid:-}" ] || kill "$ours_pid" 2>/dev/null || true
    [ -n "$keep" ] || rm -rf "$work"
  }
  trap cleanup EXIT
  objcopy --strip-debug "$bae" "$work/bae"
  cc -O1 -shared -fPIC -o "$work/marks.so" "$here/callgrind_marks.c"
  sym=$(nm "$work/bae" | awk '$2 == "T" && $3 ~ /^\$s8BAEModel12TrainingStepC3run_.*KF$/ { print $3 }')
  [ "$(wc -l <<<"$sym")" = 1 ] && [ -n "$sym" ] || die "expected one TrainingStep.run symbol in $bae, found: '$sym'"
  echo "shape d=$d d'=$dl n=$n  λ=$lambda  $steps counted step(s) per side  load $(cut -d' ' -f1-3 /proc/loadavg)  $(date -u '+%F %H:%M') UTC"

  # ours: 2(K+1) dumps (λ = 0 then λ > 0), then stop the process (what follows in bench step is not the step)
  want=$((2 * (steps + 1)))
  OPENBLAS_NUM_THREADS=1 valgrind --tool=callgrind --collect-atstart=no "--toggle-collect=$sym" "--dump-after=$sym" \
    --callgrind-out-file="$work/ours" "$work/bae" bench step --dim "$d" --latent "$dl" --rows "$n" \
    --repeats "$steps" --lambda "$lambda" --threads 1 >"$work/ours.log" 2>&1 &
  ours_pid=$!
  # PyTorch (and the reference), concurrently: the counts do not depend on what else runs
  pyargs=(--marks "$work/marks.so" --shape "$shape" --steps "$steps" --lambda "$lambda")
  (
    cd "$here"
    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$work/torch" \
      "$python" callgrind_torch_step.py "${pyargs[@]}" >"$work/torch.log" 2>&1
    if [ -n "$reference" ]; then
      valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$work/reference" \
        "$python" callgrind_torch_step.py "${pyargs[@]}" --reference-dir "$reference" >"$work/reference.log" 2>&1
    fi
  ) &
  py_pid=$!
  while kill -0 "$ours_pid" 2>/dev/null && ! grep -qs '^totals:' "$work/ours.$want"; do sleep 2; done
  kill "$ours_pid" 2>/dev/null || true
  wait "$ours_pid" 2>/dev/null || true
  ours_pid=""
  grep -qs '^totals:' "$work/ours.$want" || die "bae bench step under callgrind stopped before $want steps: $(tail -5 "$work/ours.log")"
  wait "$py_pid" || die "the PyTorch step under callgrind failed: $(tail -5 "$work"/torch.log "$work"/reference.log 2>/dev/null)"
fi

[ -z "$from" ] || echo "shape d=$d d'=$dl n=$n  λ=$lambda  $steps counted step(s) per side  (the dumps in $work)"
# counts: one 'totals:' line per dump
totals() { for f in "$@"; do awk '/^totals:/ { print $2 }' "$f"; done; }
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
# self instructions per ELF object (by=ob) or function (by=fn) in the last of the given dumps; callgrind
# names each once, as "ob=(id) path" / "cob=(id) path" (fn=, cfn= alike), in whichever dump of the run
# saw it first, and by "(id)" after
split_by() {
  local by=$1 target=${*: -1}
  shift
  awk -v by="$by" -v target="$target" '
    $0 ~ "^c?" by "=" {
      line = $0; id = $1; sub(/^c?[a-z]+=/, "", id)
      if (NF > 1) { sub(/^[^ ]+ /, "", line); if (by == "ob") { n = split(line, p, "/"); line = p[n] } name[id] = line }
    }
    $0 ~ "^" by "=" { cur = id; next }
    FILENAME != target { next }
    /^calls=/ { inclusive = 1; next }
    /^[0-9+*-]/ { if (inclusive) { inclusive = 0; next } s[cur] += $2 }
    END { for (k in s) printf "%.0f %s\n", s[k], substr(k in name ? name[k] : k, 1, 90) }' "$@" |
    sort -k1,1nr | head -8 | awk '{ c = $1; $1 = ""; printf "  %14.0f %s\n", c, substr($0, 2) }'
}
zero_files=() reg_files=() torch_files=() ref_files=()
for i in $(seq 1 $((steps + 1))); do zero_files+=("$work/ours.$i"); done
for i in $(seq $((steps + 2)) "$want"); do reg_files+=("$work/ours.$i"); done
for i in $(seq 1 "$steps"); do torch_files+=("$work/torch.$i"); done
[ -z "$reference" ] || for i in $(seq 1 "$steps"); do ref_files+=("$work/reference.$i"); done
ours0=$(totals "${zero_files[@]}" | median)
ours=$(totals "${reg_files[@]}" | median)
torch=$(totals "${torch_files[@]}" | median)
[ -n "$torch" ] || die "no PyTorch step dumps: $(tail -5 "$work/torch.log")"
# bench step runs its λ = 0 steps before its λ > 0 ones; if that order ever changes, say so, not mislabel
max0=$(totals "${zero_files[@]}" | sort -n | tail -1) min1=$(totals "${reg_files[@]}" | sort -n | head -1)
[ "$min1" -gt "$max0" ] ||
  die "a λ > 0 step ($min1) counted no more than a λ = 0 step ($max0): has bae bench step's step order changed?"
paths=$(grep -m1 'bit kernels' "$work/ours.log" || true)
cap=$(grep -m1 'cpu capability' "$work/torch.log" || true)
printf '%-34s %16s\n' "side" "instructions/step"
printf '%-34s %16s\n' "ours, λ = 0 (dense core)" "$(printf "%'d" "$ours0")"
printf '%-34s %16s\n' "ours, λ = $lambda" "$(printf "%'d" "$ours")"
printf '%-34s %16s\n' "PyTorch statement list" "$(printf "%'d" "$torch")"
ref=""
if [ -n "$reference" ]; then
  ref=$(totals "${ref_files[@]}" | median)
  printf '%-34s %16s\n' "reference trainer loop" "$(printf "%'d" "$ref")"
fi
ratio=$(awk -v a="$torch" -v b="$ours" 'BEGIN { printf "%.2f", a / b }')
echo "ratio PyTorch / ours (λ > 0): ${ratio}x"
echo "ours: $paths"
echo "torch: $cap"
echo "where ours ran (self instructions of the last λ > 0 step, by object, then by function):"
split_by ob "${zero_files[@]}" "${reg_files[@]}"
split_by fn "${zero_files[@]}" "${reg_files[@]}"
echo "where PyTorch ran (last step, by object, then by function):"
split_by ob "${torch_files[@]}"
split_by fn "${torch_files[@]}"

if [ -n "$json" ]; then
  list() { totals "$@" | paste -sd, -; }
  cat >"$json" <<EOF
{"date_utc": "$(date -u '+%F %H:%M')", "cpu_seen_by_valgrind": "AVX2, no AVX-512", "threads": 1,
 "d": $d, "latent": $dl, "rows": $n, "lambda": $lambda, "steps": $steps,
 "ours_lambda0": [$(list "${zero_files[@]}")], "ours": [$(list "${reg_files[@]}")],
 "torch": [$(list "${torch_files[@]}")], "reference": [$([ -z "$reference" ] || list "${ref_files[@]}")],
 "ours_median": $ours, "ours_lambda0_median": $ours0, "torch_median": $torch, "reference_median": ${ref:-null},
 "ratio_torch_over_ours": $ratio, "ours_kernels": "$paths", "torch": "$cap"}
EOF
fi
