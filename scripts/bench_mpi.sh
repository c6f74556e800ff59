#!/usr/bin/env bash
# Measures 2-rank (or NP ranks) allreduce latency/bandwidth for 8 B .. 64 MiB and allgather of
# 512 KiB per rank, using BAECommTests.BenchmarkTests with BAE_MPI_BENCH=1; rank 0 prints a table.
# Takes ~30 s of both cores: run it once, not in loops, on the shared machine.
#   scripts/bench_mpi.sh                 SCRATCH (default .build), NP (default 2), CONFIG (release)
set -euo pipefail
cd "$(dirname "$0")/.."

SCRATCH="${SCRATCH:-.build}"
NP="${NP:-2}"
CONFIG="${CONFIG:-release}"

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  swift build -c "$CONFIG" --build-tests -Xswiftc -enable-testing --scratch-path "$SCRATCH"
fi
BUNDLE="$SCRATCH/$CONFIG/BAEPackageTests.xctest"
[ -x "$BUNDLE" ] || { echo "bench_mpi.sh: no test bundle at $BUNDLE" >&2; exit 1; }

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_pml=ob1 OMPI_MCA_btl=self,vader
export BAE_MPI_BENCH=1
# --oversubscribe only when needed: it makes idle ranks yield the CPU, which inflates latency.
oversubscribe=()
[ "$NP" -gt "$(nproc)" ] && oversubscribe=(--oversubscribe)
timeout -k 15 600 mpirun -np "$NP" "${oversubscribe[@]}" "$BUNDLE" BAECommTests.BenchmarkTests \
  | grep -vE "^Test (Suite|Case)|Executed"
