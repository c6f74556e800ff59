#!/usr/bin/env bash
# Fuzzing of every file bae reads, with the corpus in fuzz/ (fuzz/README.md).
# Two parts: in-process volume (the FuzzCorpusTests XCTest: npy, safetensors, shard headers and
# frames, manifests, token TSVs) under `ulimit -v` with a per-case watchdog, and whole-binary cases
# (scripts/fuzz_cli.py: those inputs plus config JSON and checkpoint directories through `bae pack`,
# `inspect`, `train --config`, `train --resume` and `entropy --model`) each under RLIMIT_AS and a
# time limit, then command-line flags (scripts/fuzz_flags.py: every option of every subcommand given
# hostile values; a signal, crash message, hang, or exit 0 with a nonsense value fails; a huge legal
# value that runs long is only reported). Any signal or time-out fails. Kept crash files (fuzz/crashes/KIND/) always run first;
# fuzz/known-open/ holds crashes in code this stage does not cover yet, listed in
# fuzz/known-open.txt, which CI does not run.
#   scripts/fuzz.sh --ci                   the CI stage: >= 10,000 cases + 1,200 flag cases, fixed seed,
#                                          <= 6 min
#   scripts/fuzz.sh --campaign [MINUTES]   rounds with fresh seeds (default 30 min); crash inputs
#                                          are copied into fuzz/crashes/ (move ones in code owned
#                                          elsewhere to fuzz/known-open/ and list them)
#   scripts/fuzz.sh --known-open           replay fuzz/known-open/ and report what still crashes
# Environment: SCRATCH (default .build), CONFIG (release or debug, default release), SKIP_BUILD=1
# (use the existing build), BAE_FUZZ_SEED (default 20261201), FUZZ_CASES / FUZZ_CLI_CASES /
# FUZZ_FLAG_CASES (0 = every flag case, ~2,600).
set -euo pipefail
case "${1:-}" in --ci|--campaign|--known-open) ;; *) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 2 ;; esac
mode="$1"
cd "$(dirname "$0")/.."
SCRATCH="${SCRATCH:-.build}"
CONFIG="${CONFIG:-release}"
seed="${BAE_FUZZ_SEED:-20261201}"
mem_kb=$((4 << 20))        # ulimit -v of the in-process part: 4 GiB
cli_mem_mb=2048            # RLIMIT_AS of each bae process
case_seconds=10

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  swift build -c "$CONFIG" --build-tests -Xswiftc -enable-testing --scratch-path "$SCRATCH" >&2
fi
bin="$SCRATCH/$CONFIG"
[ -x "$bin/bae" ] && [ -x "$bin/BAEPackageTests.xctest" ] || { echo "fuzz.sh: no build in $bin" >&2; exit 1; }

# In-process part: FuzzCorpusTests under ulimit -v in its own sandbox. Prints the case on failure.
in_process() {  # CASES SEED -> 0 ok, 1 failed (sandbox kept, path on stdout's last line)
  local cases="$1" s="$2" sandbox rc=0
  sandbox="$(mktemp -d "${TMPDIR:-/tmp}/bae-fuzz-XXXXXX")"
  ( ulimit -v "$mem_kb"
    BAE_FUZZ_CASES="$cases" BAE_FUZZ_SEED="$s" BAE_FUZZ_CASE_SECONDS="$case_seconds" BAE_FUZZ_SANDBOX="$sandbox" \
      exec "$bin/BAEPackageTests.xctest" BAEStoreTests.FuzzCorpusTests ) >"$sandbox/log" 2>&1 || rc=$?
  grep -h "^fuzz in-process" "$sandbox/log" >&2 || true
  # A filter that matches no test "passes" with 0 tests: require the harness's own count.
  if [ "$rc" -eq 0 ] && ! grep -q "^fuzz in-process: [0-9]* cases ([0-9]* kept, $cases mutated" "$sandbox/log"; then
    echo "FAIL in-process: FuzzCorpusTests did not run $cases cases (stale build?)" >&2
    rc=1
  fi
  if [ "$rc" -ne 0 ]; then
    local why="exit $rc"
    [ "$rc" -gt 128 ] && why="signal $((rc - 128))"
    [ "$rc" -eq 124 ] && why="time-out"
    echo "FAIL in-process ($why) at: $(cat "$sandbox/current.txt" 2>/dev/null)" >&2
    grep -E "error|Fatal|TIME-OUT" "$sandbox/log" | head -5 >&2 || true
    echo "sandbox kept: $sandbox" >&2
    echo "$sandbox"
    return 1
  fi
  rm -rf "$sandbox"
}

# Copies a failed in-process case (case.* in its sandbox) into fuzz/crashes/KIND/.
keep_in_process_case() {
  local sandbox="$1" kind file
  kind="$(cut -d' ' -f1 "$sandbox/current.txt")"
  case "$kind" in npy) file=case.npy ;; safetensors) file=case.safetensors ;; shard) file=case.baes ;;
    manifest) file=ds/manifest.json ;; tokens) file=case.tsv ;; *) return ;; esac
  mkdir -p "fuzz/crashes/$kind"
  cp "$sandbox/$file" "fuzz/crashes/$kind/$(sha256sum "$sandbox/$file" | cut -c1-12)-${file##*/}"
  echo "kept fuzz/crashes/$kind/ ($(cat "$sandbox/current.txt"))" >&2
}

start=$(date +%s)
case "$mode" in
  --ci)
    failed=0
    echo "fuzz: in-process part (${FUZZ_CASES:-10000} cases, seed $seed, ulimit -v $mem_kb KiB)" >&2
    in_process "${FUZZ_CASES:-10000}" "$seed" >/dev/null || failed=1
    echo "fuzz: binary part ($bin/bae)" >&2
    python3 scripts/fuzz_cli.py --bae "$bin/bae" --cases "${FUZZ_CLI_CASES:-320}" --seed "$seed" \
      --mem-mb "$cli_mem_mb" --case-seconds "$case_seconds" --replay fuzz/crashes --skip-ids fuzz/known-open.txt >&2 || failed=1
    echo "fuzz: flag part (${FUZZ_FLAG_CASES:-1200} cases, seed $seed)" >&2
    python3 scripts/fuzz_flags.py --bae "$bin/bae" --cases "${FUZZ_FLAG_CASES:-1200}" --seed "$seed" --jobs 2 \
      --mem-mb "$cli_mem_mb" --case-seconds "$case_seconds" >&2 || failed=1
    echo "fuzz: --ci took $(( $(date +%s) - start )) s" >&2
    exit "$failed"
    ;;
  --campaign)
    minutes="${2:-30}"
    failed=0
    while [ $(( $(date +%s) - start )) -lt $((minutes * 60)) ]; do
      s=$(( $(date +%s%N) % 1000000007 ))
      if ! sandbox="$(in_process 20000 "$s")"; then failed=1; keep_in_process_case "$sandbox"; fi
      log="$(mktemp)"
      if ! python3 scripts/fuzz_cli.py --bae "$bin/bae" --cases 800 --seed "$s" --mem-mb "$cli_mem_mb" \
             --case-seconds "$case_seconds" --skip-ids fuzz/known-open.txt >"$log" 2>&1; then
        failed=1
        kept="$(sed -n 's/^fuzz_cli: sandbox kept: \([^ ]*\).*/\1/p' "$log")"
        [ -n "$kept" ] && cp -r "$kept/crashes/." fuzz/crashes/ && echo "kept binary crash inputs in fuzz/crashes/" >&2
      fi
      cat "$log" >&2
      rm -f "$log"
      # every flag case, in a fresh order (the seed orders them)
      python3 scripts/fuzz_flags.py --bae "$bin/bae" --cases 0 --seed "$s" --jobs 2 --mem-mb "$cli_mem_mb" \
        --case-seconds "$case_seconds" >&2 || failed=1
    done
    echo "fuzz: campaign of $minutes min done (failures: $failed)" >&2
    exit "$failed"
    ;;
  --known-open)
    grep -v '^#' fuzz/known-open.txt >&2 || true
    python3 scripts/fuzz_cli.py --bae "$bin/bae" --cases 0 --replay fuzz/known-open --mem-mb "$cli_mem_mb" \
      --case-seconds "$case_seconds" >&2
    ;;
esac
