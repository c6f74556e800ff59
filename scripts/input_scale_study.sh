#!/usr/bin/env bash
# The measurements behind the input-normalisation defaults (Decisions.md, record 14): validation FVU,
# Ĥ / L0, dead and always-on bits of a BAE trained with each combination of --input-normalization
# and --decoder-bias-init on four sets: a synthetic set, the same × 1e3 with two massive offset
# dimensions (5.7e4 and −2e4), SmolLM2-135M layer-15 states, and those × 100 with the same offsets
# (a stand-in for a model family whose rows have norms of ~5e3 and outliers to 5.7e4).
#
# Usage: scripts/input_scale_study.sh LM.npy [WORK_DIR]
#   LM.npy   layer-15 states from scripts/extract_activations.py (e.g. --max-tokens 8000 --dtype f32)
# Environment: BAE (binary, default .build/release/bae), PY (python with numpy, default .venv-lm/bin/python),
#   SYN_STEPS [1000], LM_STEPS [300], LM_LATENT [1152], LR [5e-4]
set -euo pipefail
cd "$(dirname "$0")/.."
LM="${1:?usage: scripts/input_scale_study.sh LM.npy [WORK_DIR]}"
WORK="${2:-$(mktemp -d)}"
BAE="${BAE:-.build/release/bae}"
PY="${PY:-.venv-lm/bin/python}"
SYN_STEPS="${SYN_STEPS:-1000}"
LM_STEPS="${LM_STEPS:-300}"
LM_LATENT="${LM_LATENT:-1152}"
LR="${LR:-5e-4}"
mkdir -p "$WORK"

"$BAE" synth --bits 8 --dim 64 --rows 20000 --noise 0.05 --seed 3 --out "$WORK/syn.npy" 2>/dev/null
"$PY" - "$WORK" "$LM" <<'PY'
import sys, numpy as np
work, lm = sys.argv[1], sys.argv[2]
y = np.load(f"{work}/syn.npy") * np.float32(1e3)
y[:, 2] += np.float32(5.7e4)
y[:, 9] -= np.float32(2e4)
np.save(f"{work}/syn_big.npy", y)
x = np.load(lm).astype(np.float32)
np.save(f"{work}/lm.npy", x)
rng = np.random.default_rng(0)
y = x * np.float32(35)
y[rng.random(len(y)) < 0.01, 2] = np.float32(5.7e4)
y[rng.random(len(y)) < 0.01, 9] = np.float32(-2e4)
np.save(f"{work}/lm_big.npy", y)
for name in ("syn", "syn_big", "lm", "lm_big"):
    a = np.load(f"{work}/{name}.npy")
    n = np.linalg.norm(a.astype(np.float64), axis=1)
    print(f"# {name}: {a.shape[0]} x {a.shape[1]}, row norm median {np.median(n):.4g}, max |x| {np.abs(a).max():.4g}",
          file=sys.stderr)
PY

printf '%-8s %-10s %-8s %8s %8s %8s %6s %9s %10s\n' set norm b_dec fvu H_bits l0 dead always_on s
for set in syn syn_big lm lm_big; do
  case "$set" in
    syn*) args=(--latent-dim 256 --steps "$SYN_STEPS") ;;
    lm*) args=(--latent-dim "$LM_LATENT" --steps "$LM_STEPS") ;;
  esac
  for norm in none mean-norm centered; do
    for bias in uniform mean; do
      out="$WORK/run-$set-$norm-$bias"
      "$BAE" train --data "$WORK/$set.npy" "${args[@]}" --batch-size 512 --lr "$LR" --seed 1 --log-every 100000 \
        --input-normalization "$norm" --decoder-bias-init "$bias" --overwrite --out "$out" 2>"$out.log"
      "$PY" - "$out" "$set" "$norm" "$bias" <<'PY'
import json, sys
out, name, norm, bias = sys.argv[1:5]
lines = [json.loads(l) for l in open(f"{out}/metrics.jsonl")]
v = [l["validation"] for l in lines if "validation" in l][-1]
cfg = json.load(open(f"{out}/config.json"))
dead = sum(1 for p in v["rates"] if p == 0)
on = sum(1 for p in v["rates"] if p == 1)
print(f"{name:<8} {norm:<10} {bias:<8} {v['fvu']:8.4f} {v['entropyBits']:8.2f} {v['l0']:8.1f} {dead:6d} {on:9d} {cfg['inputScale']:10.4g}")
PY
    done
  done
done
