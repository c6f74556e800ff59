#!/usr/bin/env bash
# λ sweep of the synthetic entropy calibration (Documentation/Entropy.md): for each λ and r, train a
# BAE on `bae synth` data and print Ĥ over the whole set, then a least-squares line per λ.
#   scripts/entropy_sweep.sh [λ ...]      default: 1e-3 1e-4 3e-5 1e-5 1e-6
# Environment: RS="8 16 32" the r values [4 8 16 32]; WORK the run directory [runs/entropy_sweep];
#   FVU=1 also prints each run's FVU (fvu=… in r order). Every run keeps RUN/entropy.json
#   (scripts/entropy_frontier.py reads them: Ĥ against r at matched FVU).
#   INPUT_FLAGS  the input treatment [--input-normalization none --decoder-bias-init uniform]: the raw
#   path every table in Entropy.md was measured with (empty for a binary older than those flags).
set -euo pipefail
case "${1:-}" in -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;; esac
cd "$(dirname "$0")/.."
BAE="${BAE:-.build/release/bae}"
[ -x "$BAE" ] || { scripts/setup.sh; swift build -c release; }
lambdas=("$@"); [ ${#lambdas[@]} -gt 0 ] || lambdas=(1e-3 1e-4 3e-5 1e-5 1e-6)
read -r -a rs <<< "${RS:-4 8 16 32}"
work="${WORK:-runs/entropy_sweep}"; mkdir -p "$work"
read -r -a input_flags <<< "${INPUT_FLAGS---input-normalization none --decoder-bias-init uniform}"
for lam in "${lambdas[@]}"; do
  line="lambda=$lam"
  fvus=""
  for r in "${rs[@]}"; do
    [ -f "$work/s$r.npy" ] || "$BAE" synth --bits $r --dim 64 --rows 8192 --seed 1 --out "$work/s$r.npy" 2>/dev/null
    if [ ! -f "$work/r${r}_l$lam/entropy.json" ]; then
      "$BAE" train --data "$work/s$r.npy" --latent-dim 256 --batch-size 512 --lr 1e-3 --steps 3000 \
        --entropy-weight "$lam" --covariance-weight "$lam" --validation-fraction 0 --seed 0 "${input_flags[@]}" \
        --out "$work/r${r}_l$lam" --log-every 100000 2>/dev/null
      "$BAE" entropy --model "$work/r${r}_l$lam" --data "$work/s$r.npy" --json > "$work/r${r}_l$lam/entropy.json"
    fi
    h=$(python3 -c 'import json,sys; print("%.4f" % json.load(open(sys.argv[1]))["entropy_bits"])' "$work/r${r}_l$lam/entropy.json")
    line="$line r$r=$h"
    fvus="$fvus $(python3 -c 'import json,sys; print("%.3f" % json.load(open(sys.argv[1]))["fvu"])' "$work/r${r}_l$lam/entropy.json")"
  done
  [ "${FVU:-0}" = 1 ] && suffix=" fvu=${fvus# }" || suffix=""
  echo "$line" | python3 -c '
import sys
line = sys.stdin.read().split()
pts = [(int(t.split("=")[0][1:]), float(t.split("=")[1])) for t in line[1:]]
n = len(pts); sx = sum(x for x, _ in pts); sy = sum(y for _, y in pts)
sxx = sum(x * x for x, _ in pts); sxy = sum(x * y for x, y in pts)
slope = (n * sxy - sx * sy) / (n * sxx - sx * sx); icpt = (sy - slope * sx) / n
ss = sum((y - sy / n) ** 2 for _, y in pts); res = sum((y - slope * x - icpt) ** 2 for x, y in pts)
r2 = 1 - res / ss if ss > 0 else float("nan")
print(" ".join(line), "slope=%.3f intercept=%.2f R2=%.4f" % (slope, icpt, r2), end="")' 
  echo "$suffix"
done
