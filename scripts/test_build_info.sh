#!/usr/bin/env bash
# Checks that the commit recorded at build time (Plugins/BuildInfoPlugin) is right in the three ways
# a tree reaches a builder: a clone (its HEAD, also after a new commit and a reset with no file
# changed), a tarball without .git ("unknown"), and a tarball unpacked inside some other git
# repository (still "unknown": the enclosing repo is not ours).
# Builds only the small BAEBuildInfo target in three temporary copies (1–4 min, mostly package resolution).
#   scripts/test_build_info.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fails=0

recorded() {  # recorded DIR: the commit the generated file of DIR's build holds
  (cd "$1" && swift build --target BAEBuildInfo >"$tmp/build.log" 2>&1) || { cat "$tmp/build.log" >&2; return 1; }
  local f
  f="$(find "$1/.build" -name 'BuildInfo+Generated.swift' | head -1)"
  sed -n 's/^let generatedGitCommit = "\(.*\)"$/\1/p' "$f"
}

expect() {  # expect NAME WANT GOT
  if [ "$2" = "$3" ]; then echo "[PASS] $1: $3"; else echo "[FAIL] $1: want $2, got $3"; fails=$((fails + 1)); fi
}

head="$(git rev-parse HEAD)"
git clone -q --no-hardlinks "$ROOT" "$tmp/clone"
expect "clone" "$head" "$(recorded "$tmp/clone")"
# a commit with no file change must refresh it too (SwiftPM does not re-plan, so no plugin re-run)
git -C "$tmp/clone" -c user.name=t -c user.email=t@t commit -q --allow-empty -m "new commit"
expect "clone after a new commit" "$(git -C "$tmp/clone" rev-parse HEAD)" "$(recorded "$tmp/clone")"
git -C "$tmp/clone" reset -q --hard HEAD~1
expect "clone after a reset" "$head" "$(recorded "$tmp/clone")"

mkdir -p "$tmp/tarball"
git archive HEAD | tar -x -C "$tmp/tarball"
expect "tarball without .git" "unknown" "$(recorded "$tmp/tarball")"

mkdir -p "$tmp/outer/src"
git -C "$tmp/outer" init -q
git -C "$tmp/outer" -c user.name=t -c user.email=t@t commit -q --allow-empty -m outer
git archive HEAD | tar -x -C "$tmp/outer/src"
expect "tarball inside another repository" "unknown" "$(recorded "$tmp/outer/src")"

passed=$((5 - fails))
echo "$passed passed, $fails failed"
[ "$fails" -eq 0 ]
