#!/usr/bin/env bash
# Weak scaling 1 -> 2 ranks of the real trainer, then the cost model: `bae train` on synthetic data at
# 1 rank (global batch ROWS) and 2 ranks (global batch 2*ROWS), one BLAS thread per rank, ranks bound
# to cores (cluster/mpirun.sh -t 1); then `bae bench scaling` under mpirun -np 2 reads both runs'
# metrics.jsonl, times allreduce/allgather, fits alpha/beta, profiles the compute and prints the
# projection to 16, 64 and 256 ranks. Uses both cores for a few minutes: check `uptime` first.
#
#   scripts/bench_scaling.sh            DIM (2048) LATENT (8192) ROWS per rank (512) STEPS (15)
#                                       WARMUP (3) RANKS ("2,16,64,256") REPEATS (5) LR (1e-6)
#                                       WORK (/tmp/bae-bench-scaling) SCRATCH (.build) SKIP_BUILD=1
# LR is tiny on purpose: the codes stay near their initial density, so every step does the same work
# and the 1- and 2-rank runs are comparable step by step.
set -euo pipefail
cd "$(dirname "$0")/.."

DIM="${DIM:-2048}"
LATENT="${LATENT:-8192}"
ROWS="${ROWS:-512}"
STEPS="${STEPS:-15}"
WARMUP="${WARMUP:-3}"
RANKS="${RANKS:-2,16,64,256}"
REPEATS="${REPEATS:-5}"
LR="${LR:-1e-6}"
WORK="${WORK:-/tmp/bae-bench-scaling}"
SCRATCH="${SCRATCH:-.build}"

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  swift build -c release --scratch-path "$SCRATCH" --product bae
fi
export BAE="$SCRATCH/release/bae"
[ -x "$BAE" ] || { echo "bench_scaling.sh: no binary at $BAE" >&2; exit 1; }
mkdir -p "$WORK"

data="$WORK/synth_d${DIM}.npy"
# enough rows for STEPS global batches of 2 ranks without wrapping
need=$(( 2 * ROWS * STEPS ))
[ -f "$data" ] || "$BAE" synth --bits 64 --dim "$DIM" --rows "$need" --noise 0.1 --seed 1 --out "$data"

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in 1 2; do
  out="$WORK/weak_r$r"
  rm -rf "$out"
  timeout -k 15 1800 cluster/mpirun.sh -n "$r" -t 1 -- "$BAE" train --data "$data" --latent-dim "$LATENT" \
    --batch-size $(( r * ROWS )) --steps "$STEPS" --lr "$LR" --entropy-weight 1e-7 --covariance-weight 1e-7 \
    --validation-fraction 0 --log-every 1000 --blas-threads 1 --out "$out" 2>&1 | grep -E "^(training|done)" || true
  [ -f "$out/metrics.jsonl" ] || { echo "bench_scaling.sh: the $r-rank run wrote no metrics" >&2; exit 1; }
  echo "load after $r rank(s): $(cut -d' ' -f1-3 /proc/loadavg)"
done

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_pml="${OMPI_MCA_pml:-ob1}" OMPI_MCA_btl="${OMPI_MCA_btl:-self,vader}"
export OPENBLAS_NUM_THREADS=1
timeout -k 15 1800 mpirun -np 2 --bind-to core -x OPENBLAS_NUM_THREADS "$BAE" bench scaling \
  --dim "$DIM" --latent "$LATENT" --rows "$ROWS" --repeats "$REPEATS" --ranks "$RANKS" --warmup "$WARMUP" \
  --weak "1=$WORK/weak_r1/metrics.jsonl" --weak "2=$WORK/weak_r2/metrics.jsonl" "$@"
