#!/usr/bin/env bash
# Bit-kernel microbenchmark: compiles scripts/bench_kernels.c with the package's C kernel sources and
# OpenBLAS, then prints median times per ISA path (scalar popcnt first) at 1 and 2 threads, the ratio
# of the covariance term (pair signs + H·S) against scalar popcnt, and the dense sgemm formulation.
# Each row is followed by the median process CPU time (all threads), steadier than wall time under load.
#   scripts/bench_kernels.sh [reps] [n] [m ...]      defaults: 7 512 2304 8192
#   CC (default clang), CFLAGS (default -O2), OUT (default .build/bench_kernels); the portable path
#   is skipped above m = 4096 unless BENCH_PORTABLE=1 (it takes minutes there)
# Instruction counts (stable under load) for one call of one kernel, PATH 1..4 as in bae_kernels.h (5, 6: AVX2
# with the H·S table or popcount form forced; a trailing CODES file: a step's own codes, see bench_kernels.c):
#   valgrind --tool=callgrind --toggle-collect='bae_*_mt' .build/bench_kernels once PATH pairs 512 2304
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-.build/bench_kernels}"
scripts/build_kernel_bench.sh scripts/bench_kernels.c "$OUT"
if [ "$#" -eq 0 ]; then set -- 7 512 2304 8192; fi
"$OUT" "$@"
