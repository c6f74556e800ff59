#!/usr/bin/env bash
# Idempotent machine set-up: the C libraries the trainer links, and (optionally) a Python venv
# for the reference/fixture scripts. Safe to run many times; installs only what is missing.
#   scripts/setup.sh            C libraries only (what build and tests need)
#   scripts/setup.sh --python   also the venv at .venv with numpy + safetensors (interop tests)
set -euo pipefail
cd "$(dirname "$0")/.."

want_python=0
for a in "$@"; do
  case "$a" in
    --python) want_python=1 ;;
    -h|--help) sed -n '2,5p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown option $a" >&2; exit 2 ;;
  esac
done

need=()
for p in libopenmpi-dev openmpi-bin libopenblas-dev libzstd-dev pkg-config xxhash; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if [ "$want_python" = 1 ]; then
  if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
  fi
  .venv/bin/python -c 'import numpy, safetensors, ml_dtypes' 2>/dev/null || \
    .venv/bin/pip install -q numpy safetensors ml_dtypes
fi
echo "setup: ok" >&2
