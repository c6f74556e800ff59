#!/usr/bin/env bash
# Sparse-decoder kernel microbenchmark: compiles scripts/bench_sparse_kernels.c with the package's C kernel
# sources and OpenBLAS, then prints median ms per kernel (pattern, gather-add, gather-dot, scatter-columns,
# scatter) beside the dense sgemm that gather-add replaces, for each density, on every path this CPU runs.
#   scripts/bench_sparse_kernels.sh [reps] [n d d'] [density ...]    defaults: 7 512 576 2304 0.0139 0.01 0.05 0.1 0.3
#   CC (default clang), CFLAGS (default -O2), OUT (default .build/bench_sparse_kernels)
# Instruction counts (stable under load) for one call of one kernel, PATH 1 portable / 3 avx2:
#   valgrind --tool=callgrind --toggle-collect='bae_sparse_decode_mt' \
#     .build/bench_sparse_kernels once 3 gather-add 512 576 2304 0.0139
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-.build/bench_sparse_kernels}"
scripts/build_kernel_bench.sh scripts/bench_sparse_kernels.c "$OUT"
REPS="${1:-7}"
N="${2:-512}" D="${3:-576}" DL="${4:-2304}"
shift $(($# < 4 ? $# : 4))
if [ "$#" -eq 0 ]; then set -- 0.0139 0.01 0.05 0.1 0.3; fi
for density in "$@"; do
  for path in 1 3; do "$OUT" time "$REPS" "$path" "$N" "$D" "$DL" "$density" || true; done
done
