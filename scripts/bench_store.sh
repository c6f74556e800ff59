#!/usr/bin/env bash
# Shard-format benchmark (not a test): compression ratios of f32/f16/bf16 with and without byte
# shuffling, and decode GB/s per core. Pass --npy ACTS.npy to add real activations.
#   scripts/bench_store.sh [--npy FILE] [--rows N --dim D] [--json]
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --scratch-path "${SCRATCH:-.build-release}" --product bae >&2
"${SCRATCH:-.build-release}/release/bae" bench store "$@"
