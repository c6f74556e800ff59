#!/usr/bin/env bash
# LUT-decoder kernel microbenchmark: compiles scripts/bench_lut_kernels.c with the package's C kernel sources
# and OpenBLAS, then prints median ms of x̂ = h·W_decᵀ + b (W_dec read in place) and ∂W_dec = ∂x̂ᵀ·h (stored
# (d, d')) as LUT products, as the step calls them, against the sgemm each replaces, per ISA path, at 1 thread
# (CPU time of the thread: steadier under load) and 2 (wall). Build another version with OUT=... to alternate.
#   scripts/bench_lut_kernels.sh [reps] [n d d' ...]    defaults: 7, 512 576 2304 and 512 2048 8192
#   CC (default clang), CFLAGS (default -O2), OUT (default .build/bench_lut_kernels)
# Instruction counts (stable under load; valgrind shows no AVX-512, so PATH 3 = AVX2), OP lut-xhat, lut-dw,
# sgemm-xhat, sgemm-dw:
#   valgrind --tool=callgrind --toggle-collect='bae_lut_product_mt' .build/bench_lut_kernels once 3 lut-xhat 512 576 2304
#   valgrind --tool=callgrind --toggle-collect='cblas_sgemm' .build/bench_lut_kernels once 3 sgemm-xhat 512 576 2304
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-.build/bench_lut_kernels}"
scripts/build_kernel_bench.sh scripts/bench_lut_kernels.c "$OUT"
REPS="${1:-7}"
shift $(($# > 0 ? 1 : 0))
if [ "$#" -eq 0 ]; then set -- 512 576 2304 512 2048 8192; fi
while [ "$#" -ge 3 ]; do
  for threads in 1 2; do
    for path in 4 3; do "$OUT" time "$REPS" "$path" "$threads" "$1" "$2" "$3"; done
  done
  shift 3
done
