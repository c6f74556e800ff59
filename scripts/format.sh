#!/usr/bin/env bash
# Formatting and lint, one chore: Swift with the toolchain's `swift format` (.swift-format), Python under
# scripts/ with ruff (scripts/ruff.toml; pinned, installed into .venv-format on first use).
#   scripts/format.sh           check: list the files the formatters would change; exit 1 if any
#   scripts/format.sh --apply   rewrite those files in place
#   scripts/format.sh --lint    report rule findings (e.g. `///` on public API, ruff's checks); exit 1 if any
set -euo pipefail
cd "$(dirname "$0")/.."
RUFF_VERSION=0.17.5

mode=check
for a in "$@"; do
  case "$a" in
    --apply) mode=apply ;;
    --lint) mode=lint ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    *) echo "format.sh: unknown option $a (see --help)" >&2; exit 2 ;;
  esac
done

mapfile -t swift_files < <(git ls-files -- 'Package.swift' 'Sources/*.swift' 'Tests/*.swift' 'Plugins/*.swift')
venv="$PWD/.venv-format"
if ! "$venv/bin/ruff" --version 2>/dev/null | grep -qx "ruff $RUFF_VERSION"; then
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  echo "format.sh: installing ruff==$RUFF_VERSION into $venv" >&2
  "$venv/bin/pip" install -q "ruff==$RUFF_VERSION"
fi
ruff=("$venv/bin/ruff")
ruff_cfg=(--config scripts/ruff.toml)

case "$mode" in
  apply)
    swift format format --configuration .swift-format --in-place --parallel "${swift_files[@]}"
    "${ruff[@]}" format "${ruff_cfg[@]}" scripts
    "${ruff[@]}" check "${ruff_cfg[@]}" --fix --select I scripts  # import order is part of the format
    echo "format.sh: formatted ${#swift_files[@]} Swift files and scripts/ (review with git diff)" >&2
    ;;
  check)
    changed=0
    for f in "${swift_files[@]}"; do
      if ! swift format format --configuration .swift-format "$f" | cmp -s - "$f"; then
        echo "would reformat $f"
        changed=$((changed + 1))
      fi
    done
    if ! "${ruff[@]}" format "${ruff_cfg[@]}" --check scripts; then changed=$((changed + 1)); fi
    if ! "${ruff[@]}" check "${ruff_cfg[@]}" --select I scripts >/dev/null; then
      echo "would reorder imports in scripts/ (ruff check --select I)"; changed=$((changed + 1))
    fi
    if [ "$changed" -gt 0 ]; then echo "format.sh: not formatted; run scripts/format.sh --apply" >&2; exit 1; fi
    echo "format.sh: all formatted" >&2
    ;;
  lint)
    status=0
    # --parallel may report a finding more than once: print each once
    out="$(swift format lint --configuration .swift-format --strict --parallel "${swift_files[@]}" 2>&1)" || status=1
    [ -z "$out" ] || printf '%s\n' "$out" | sort -u
    "${ruff[@]}" check "${ruff_cfg[@]}" scripts || status=1
    exit "$status"
    ;;
esac
