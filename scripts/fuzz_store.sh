#!/usr/bin/env bash
# Longer fuzz run of the shard reader than CI's 1200 mutations: random truncations and flipped
# bytes in the header, index and frames must each give a typed error or bit-identical rows.
#   scripts/fuzz_store.sh [ITERATIONS] [SEED]     (defaults 100000, a time-based seed)
set -euo pipefail
cd "$(dirname "$0")/.."
iterations="${1:-100000}"
seed="${2:-$(date +%s)}"
echo "fuzz_store: $iterations mutations, seed $seed (re-run a failure with: $0 $iterations $seed)" >&2
BAE_FUZZ_ITERATIONS="$iterations" BAE_FUZZ_SEED="$seed" \
  swift test --scratch-path "${SCRATCH:-.build-fuzz}" --filter 'BAEStoreTests.ShardFuzzTests'
