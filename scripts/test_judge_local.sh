#!/usr/bin/env bash
# CI stage: one short judged pass against a real local judge (scripts/judge_server.sh: llama_cpp.server
# with SmolLM2-135M-Instruct on 127.0.0.1). A small synthetic layer whose bits pick the word class of its
# tokens (animals, colours, numbers, verbs) is trained for a few steps; `bae features` then judges a few
# features through the real server, with a key and `user:pass@` in the URL, and runs a second time from
# the answer cache. Checks: every chosen feature judged, no failures, requests counted, the second run
# sends none and gives the same verdicts, and neither credential appears in any output or log.
#   scripts/test_judge_local.sh [BAE_BINARY]     (default: .build/debug/bae, built when missing)
# Environment: JUDGE_FEATURES features judged [3]; KEEP=1 keeps the scratch directory.
# Installing the server the first time compiles llama.cpp (see scripts/judge_server.sh setup).
set -euo pipefail
cd "$(dirname "$0")/.."
BAE="${1:-${BAE_BINARY:-.build/debug/bae}}"
FEATURES="${JUDGE_FEATURES:-3}"
[ -x "$BAE" ] || swift build --product bae >/dev/null
WORK="$(mktemp -d)"
STARTED=0
finish() {
  if [ "$STARTED" = 1 ]; then scripts/judge_server.sh stop || true; fi
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap finish EXIT
passed=0
check() {  # check DESCRIPTION COMMAND...: count a passed check or fail the stage
  if "${@:2}"; then passed=$((passed + 1)); echo "ok: $1"; else echo "FAILED: $1" >&2; echo "$passed passed, 1 failed"; exit 1; fi
}

# ---- data: 2048 rows of width 16; bits 0-1 choose the word class, bit 2 the word within it ---------
python3 - "$WORK" <<'PY'
import array, random, struct, sys
out = sys.argv[1]
rng = random.Random(7)
rows, dim, bits = 2048, 16, 6
dirs = [[rng.gauss(0, 1) for _ in range(dim)] for _ in range(bits)]
classes = [["cat", "dog"], ["red", "blue"], ["seven", "three"], ["runs", "sings"]]
data, lines = array.array("f"), ["token_id\tdocument_id\tposition\ttext"]
for r in range(rows):
    b = [rng.random() < 0.5 for _ in range(bits)]
    for j in range(dim):
        data.append(sum((1.0 if b[i] else -1.0) * dirs[i][j] for i in range(bits)) + rng.gauss(0, 0.05))
    word = classes[b[0] * 2 + b[1]][b[2]]
    lines.append(f"{100 + r % 50}\t{r // 32}\t{r % 32}\t{' ' + word}")
header = "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }" % (rows, dim)
header += " " * (63 - (10 + len(header)) % 64) + "\n"
with open(f"{out}/s.npy", "wb") as f:
    f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode())
    f.write(data.tobytes())
with open(f"{out}/s.tokens.tsv", "w") as f:
    f.write("\n".join(lines) + "\n")
PY
"$BAE" train --data "$WORK/s.npy" --latent-dim 16 --steps 150 --log-every 1000 --out "$WORK/model" >"$WORK/train.log" 2>&1

# ---- the real server ---------------------------------------------------------------------------------
if ! URL="$(scripts/judge_server.sh url 2>/dev/null)"; then
  URL="$(scripts/judge_server.sh start)"
  STARTED=1
fi
MODEL="$(scripts/judge_server.sh model)"
case "$URL" in http://127.0.0.1:*) ;; *) echo "judge URL $URL is not on 127.0.0.1" >&2; exit 1 ;; esac
KEY="sk-test-$RANDOM$RANDOM"
SECRET_URL="http://ci-user:pw-$RANDOM$RANDOM@${URL#http://}"
PASSWORD="${SECRET_URL#http://ci-user:}"; PASSWORD="${PASSWORD%%@*}"

judge() {  # judge OUT_DIR: one judged features run, stdout+stderr to OUT_DIR.log
  BAE_JUDGE_API_KEY="$KEY" "$BAE" features --model "$WORK/model" --data "$WORK/s.npy" --out "$1" --top 2 --test 4 \
    --judge-url "$SECRET_URL" --judge-model "$MODEL" --judge-max-features "$FEATURES" --judge-concurrency 2 \
    --judge-timeout 120 --judge-retries 1 >"$1.log" 2>&1
}
t0=$(date +%s)
check "first judged run exits 0" judge "$WORK/report"
cp "$WORK/report.log" "$WORK/first.log"
t1=$(date +%s)
check "second run (from the cache) exits 0" judge "$WORK/report"
t2=$(date +%s)
cp "$WORK/report/report.json" "$WORK/second.json"

python3 - "$WORK" "$FEATURES" <<'PY' || { echo "$passed passed, 1 failed"; exit 1; }
import json, sys
work, n = sys.argv[1], int(sys.argv[2])
r = json.load(open(f"{work}/second.json"))
s, st = r["summary"], r["settings"]
judged = [f for f in r["features"] if f.get("judge")]
assert s["judged"] == n and s["judgeFailures"] == 0, (s["judged"], s["judgeFailures"])
assert all(f["judge"]["phrase"] for f in judged), "an empty phrase"
asked = sum(1 + len(f["judge"]["verdicts"]) for f in judged)  # a describe prompt + one per test sample
assert st["judgeRequests"] == 0 and st["judgeCacheHits"] == asked, (st["judgeRequests"], st["judgeCacheHits"], asked)
lines = open(f"{work}/report/judge_cache.jsonl").read().splitlines()
assert len(lines) == asked, (len(lines), asked)
open(f"{work}/asked", "w").write(str(asked))
for f in judged[:3]:
    print(f"feature {f['index']}: \"{f['judge']['phrase']}\" score {f['judge']['score']:.2f}")
PY
ASKED="$(cat "$WORK/asked")"
passed=$((passed + 1)); echo "ok: second run answered all $ASKED prompts from the cache, sent none, judged $FEATURES features"
first_sent="$(grep -o '[0-9]* requests sent' "$WORK/first.log" | head -1)"
echo "first run: ${first_sent:-? requests sent} in $((t1 - t0)) s; second run $((t2 - t1)) s"
check "first run sent at least one request per prompt ($ASKED)" test "${first_sent%% *}" -ge "$ASKED"
leaks="$(grep -rl -e "$KEY" -e "$PASSWORD" -e "ci-user" "$WORK/report" "$WORK/first.log" "$WORK/report.log" "$WORK/second.json" || true)"
check "no key or password in report.json, report.md, judge_cache.jsonl or the logs" test -z "$leaks"
echo "judge-local: $passed passed, 0 failed"
