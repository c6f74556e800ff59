#!/usr/bin/env bash
# The rate–distortion frontier on real LM states (Documentation/Results.md): BAEs over λ_e = λ_c and every
# SAE baseline over its sparsity knob, all at the same width, steps, batch and seed, trained on the training
# part of a split extraction and evaluated with `bae eval --json` on the held-out documents.
#
# Usage: scripts/frontier.sh [--prepare] [--plot] [POINT ...] [-h]
#   --prepare  split the extraction (scripts/frontier_split.py) and pack both parts (bae pack --tokens)
#   --plot     after training, collect every point into $OUT/frontier.jsonl and plot it (scripts/plot_frontier.py)
#   POINT      names of points to train (default: all); a point is KIND-VALUE, e.g. bae-1e-5, topk-32,
#              batchtopk-64, relu-1e-4, jumprelu-1. `bae-…` is a BAE on raw inputs (--input-normalization none
#              --decoder-bias-init uniform, the reference path); `bae-norm-…` and every SAE kind use the
#              default input map (--input-normalization centered --decoder-bias-init mean).
#              `--list` prints the default points.
#
# Environment (defaults in brackets):
#   FRONTIER_PREFIX  extraction prefix(es), space-separated, concatenated in order [data/lm/smollm2_L15_t120000]
#                    (scripts/extract_activations.py outputs; shards: Documentation/Results.md)
#   FRONTIER_DATA    where the split and packed parts go [data/lm/frontier]
#   FRONTIER_OUT     runs [runs/frontier]
#   FRONTIER_STEPS   training steps of 512 rows, the same for every point [300]
#   FRONTIER_LATENT  d' [2304]
#   FRONTIER_BLAS    OpenBLAS threads per training process [1]
#   BAE              the bae binary [.build/release/bae]
#   PY               python with numpy (split) [.venv-lm/bin/python]; PLOT_PY python with matplotlib (plot)
# A point whose model and eval.json exist for the same arguments is skipped, so the sweep can be run in
# pieces (e.g. two shells with different POINT lists) and resumed.
set -euo pipefail
cd "$(dirname "$0")/.."
PREFIX="${FRONTIER_PREFIX:-data/lm/smollm2_L15_t120000}"
DATA="${FRONTIER_DATA:-data/lm/frontier}"
OUT="${FRONTIER_OUT:-runs/frontier}"
STEPS="${FRONTIER_STEPS:-300}"
LATENT="${FRONTIER_LATENT:-2304}"
BLAS="${FRONTIER_BLAS:-1}"
BAE="${BAE:-.build/release/bae}"
PY="${PY:-.venv-lm/bin/python}"
PLOT_PY="${PLOT_PY:-$PY}"
BATCH=512
SEED=0

DEFAULT_POINTS=(   # the 19 points of Documentation/Results.md
  bae-1e-7 bae-1e-5 bae-1e-4 bae-1e-3 bae-1e-2
  bae-norm-1e-6 bae-norm-1e-5 bae-norm-3e-5 bae-norm-1e-4 bae-norm-3e-4 bae-norm-1e-3 bae-norm-1e-2
  topk-8 topk-32 topk-128 batchtopk-32
  relu-1e-6 relu-1e-5 jumprelu-0.5
)

prepare=0 plot=0 points=()
for a in "$@"; do
  case "$a" in
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    --list) printf '%s\n' "${DEFAULT_POINTS[@]}"; exit 0 ;;
    --prepare) prepare=1 ;;
    --plot) plot=1 ;;
    -*) echo "frontier.sh: unknown option '$a' (see --help)" >&2; exit 2 ;;
    *) points+=("$a") ;;
  esac
done
[ -x "$BAE" ] || { echo "frontier.sh: no bae binary at $BAE (swift build -c release, or set BAE)" >&2; exit 1; }
[[ "$STEPS" =~ ^[0-9]+$ ]] || { echo "frontier.sh: FRONTIER_STEPS must be an integer, got '$STEPS'" >&2; exit 2; }

if [ "$prepare" = 1 ]; then
  read -r -a prefixes <<< "$PREFIX"
  for p in "${prefixes[@]}"; do
    for f in "$p.npy" "$p.tokens.tsv"; do
      [ -f "$f" ] || { echo "frontier.sh: no $f; run scripts/extract_activations.py --out-prefix $p first" >&2; exit 1; }
    done
  done
  mkdir -p "$(dirname "$DATA")"
  "$PY" scripts/frontier_split.py --prefix "${prefixes[@]}" --eval-fraction 0.15 --out "$DATA" | tee "$DATA.split.json"
  for part in train eval; do
    rm -rf "$DATA.$part.bae"
    "$BAE" pack --input "$DATA.$part.npy" --tokens "$DATA.$part.tokens.tsv" --dtype f16 --out "$DATA.$part.bae" \
      --meta model=SmolLM2-135M-Instruct layer=15 corpus=wikipedia-leads part="$part" >/dev/null
  done
fi
for part in train eval; do
  [ -f "$DATA.$part.bae/manifest.json" ] || { echo "frontier.sh: no $DATA.$part.bae; run with --prepare" >&2; exit 1; }
done

# point_args NAME: the architecture flags of one point.
# Input treatment: `bae` points are today's raw path (the reference: no input map, b_dec uniform init);
# `bae-norm` points and every SAE use the trainer's default input map (centred and scaled to a mean row
# norm of √d, folded back into the saved weights; Documentation/Method.md), stated explicitly here.
RAW="--input-normalization none --decoder-bias-init uniform"
NORM="--input-normalization centered --decoder-bias-init mean"
point_args() {
  case "$1" in
    bae-norm-*) local v="${1#bae-norm-}"; echo "--architecture bae --entropy-weight $v --covariance-weight $v $NORM" ;;
    bae-*) local v="${1#bae-}"; echo "--architecture bae --entropy-weight $v --covariance-weight $v $RAW" ;;
    topk-*) echo "--architecture topk --k ${1#topk-} $NORM" ;;
    batchtopk-*) echo "--architecture batchtopk --k ${1#batchtopk-} $NORM" ;;
    relu-*) echo "--architecture relu --l1-weight ${1#relu-} $NORM" ;;
    jumprelu-*) echo "--architecture jumprelu --threshold ${1#jumprelu-} $NORM" ;;
    *) echo "frontier.sh: unknown point '$1' (kinds: bae, bae-norm, topk, batchtopk, relu, jumprelu)" >&2; return 2 ;;
  esac
}

[ ${#points[@]} -gt 0 ] || points=("${DEFAULT_POINTS[@]}")
mkdir -p "$OUT"
for p in "${points[@]}"; do
  arch="$(point_args "$p")"
  run="$OUT/$p"
  # shellcheck disable=SC2206
  args=(train --data "$DATA.train.bae" --latent-dim "$LATENT" --batch-size "$BATCH" --steps "$STEPS"
        --validation-fraction 0 --seed "$SEED" --log-every 100 --blas-threads "$BLAS" $arch --out "$run/model")
  key="$(printf '%s ' "${args[@]}")"
  if [ -f "$run/eval.json" ] && [ "$(cat "$run/train.key" 2>/dev/null)" = "$key" ]; then
    echo "frontier: $p cached"
    continue
  fi
  rm -rf "$run"
  mkdir -p "$run"
  t0=$(date +%s)
  "$BAE" "${args[@]}" > "$run/train.log" 2>&1 || { echo "frontier: $p training failed, see $run/train.log" >&2; tail -n 5 "$run/train.log" >&2; exit 1; }
  t1=$(date +%s)
  "$BAE" eval --model "$run/model" --data "$DATA.eval.bae" --json > "$run/eval.json.tmp"
  "$BAE" entropy --model "$run/model" --data "$DATA.eval.bae" --json > "$run/entropy.json"
  mv "$run/eval.json.tmp" "$run/eval.json"
  echo "$key" > "$run/train.key"
  printf '{"point":"%s","args":"%s","train_seconds":%d,"load":"%s"}\n' "$p" "$arch" $((t1 - t0)) \
    "$(cut -d' ' -f1-3 /proc/loadavg)" > "$run/point.json"
  echo "frontier: $p trained in $((t1 - t0)) s: $("$PY" -c 'import json,sys; e=json.load(open(sys.argv[1])); print("fvu %.4f l0 %.1f dead %d dense(0.1) %d H %.0f" % (e["fvu"], e["l0"], e["dead"], (e.get("denseTwoSided") or e["dense"])["0.1"], e["codeEntropyBits"]))' "$run/eval.json")"
done

if [ "$plot" = 1 ]; then
  "$PLOT_PY" scripts/plot_frontier.py "$OUT"
fi
