#!/usr/bin/env bash
# Compiles one C benchmark driver against every C kernel source (Sources/CBAEKernels) and OpenBLAS: the one
# build line scripts/bench_kernels.sh and scripts/bench_sparse_kernels.sh share.
#   scripts/build_kernel_bench.sh DRIVER.c OUT      CC (default clang), CFLAGS (default -O2)
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$#" -eq 2 ] || { echo "usage: scripts/build_kernel_bench.sh DRIVER.c OUT" >&2; exit 2; }
mkdir -p "$(dirname "$2")"
# shellcheck disable=SC2086
"${CC:-clang}" ${CFLAGS:--O2} -gdwarf-4 -Wall -Wextra -ISources/CBAEKernels -ISources/CBAEKernels/include \
  $(pkg-config --cflags openblas) -o "$2" "$1" Sources/CBAEKernels/*.c $(pkg-config --libs openblas) -lpthread -lm
