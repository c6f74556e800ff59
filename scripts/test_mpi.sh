#!/usr/bin/env bash
# Runs XCTest classes under mpirun with 2 ranks and with 4 ranks (--oversubscribe when ranks exceed
# the cores), after building
# the test bundle. Fails if any rank of any run fails.
#   scripts/test_mpi.sh                                  all classes of BAECommTests
#   scripts/test_mpi.sh BAETrainTests.DistributedTests   a class (or Module, or Class/testMethod)
#   scripts/test_mpi.sh BAECommTests BAETrainTests.DistributedTests
# Environment: SCRATCH (build directory, default .build), CONFIG (debug or release, default debug;
#   release builds tests with -enable-testing), NP_LIST (default "2 4"), TIMEOUT (seconds per
#   mpirun, default 300), SKIP_BUILD=1 to reuse an existing build.
set -euo pipefail
cd "$(dirname "$0")/.."

SCRATCH="${SCRATCH:-.build}"
NP_LIST="${NP_LIST:-2 3 4}"
TIMEOUT="${TIMEOUT:-300}"
CONFIG="${CONFIG:-debug}"
BUNDLE="$SCRATCH/$CONFIG/BAEPackageTests.xctest"
filters=("$@")
[ ${#filters[@]} -eq 0 ] && filters=(BAECommTests)

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  if [ "$CONFIG" = debug ]; then
    swift build --build-tests --scratch-path "$SCRATCH"
  else
    swift build -c "$CONFIG" --build-tests -Xswiftc -enable-testing --scratch-path "$SCRATCH"
  fi
fi
[ -x "$BUNDLE" ] || { echo "test_mpi.sh: no test bundle at $BUNDLE (build failed?)" >&2; exit 1; }

# Linux XCTest takes one argument: comma-separated Module.Class or Module.Class/testMethod. A bare
# module name is not accepted, so expand it to that module's classes.
listed="$("$BUNDLE" --list-tests)"
selected=()
for f in "${filters[@]}"; do
  if [[ "$f" == *.* ]]; then
    selected+=("$f")
  else
    classes="$(grep "^$f\." <<<"$listed" | cut -d/ -f1 | sort -u || true)"
    [ -n "$classes" ] || { echo "test_mpi.sh: no tests in module $f" >&2; exit 1; }
    while read -r c; do selected+=("$c"); done <<<"$classes"
  fi
done
filter="$(IFS=,; echo "${selected[*]}")"

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_pml=ob1 OMPI_MCA_btl=self,vader

status=0
for np in $NP_LIST; do
  echo "== mpirun -np $np: $filter" >&2
  # Output of each rank is prefixed with [job,rank]; XCTest exits non-zero on any failure and
  # mpirun then exits non-zero. timeout guards against ranks stuck in a mismatched collective;
  # -k because mpirun 4.1 can ignore SIGTERM after its ranks died (seen here: it hung for minutes).
  oversubscribe=()
  [ "$np" -gt "$(nproc)" ] && oversubscribe=(--oversubscribe)
  out="$(mktemp)"
  if timeout -k 15 "$TIMEOUT" mpirun -np "$np" "${oversubscribe[@]}" --tag-output "$BUNDLE" "$filter" 2>&1 | tee "$out"
  then
    # a run in which some rank executed no test is not a pass (seen once when the bundle was being rebuilt)
    ran="$(grep -oE '^\[[0-9]+,[0-9]+\]<[a-z]+>:[[:space:]]*Executed [0-9]+ test' "$out" \
      | sed -E 's/^\[[0-9]+,([0-9]+)\].*Executed ([0-9]+) test/\1 \2/' | sort -k1,1n -k2,2n \
      | awk '{m[$1] = $2} END {for (r in m) if (m[r] > 0) n++; print n + 0}' || true)"
    if [ "$ran" -eq "$np" ]; then
      echo "== mpirun -np $np: passed (every one of $np ranks executed tests)" >&2
    else
      echo "== mpirun -np $np: FAILED: only $ran of $np ranks executed any test" >&2
      status=1
    fi
  else
    rc=$?
    if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
      echo "== mpirun -np $np: TIMED OUT after ${TIMEOUT}s (a rank is stuck in a collective?)" >&2
    fi
    echo "== mpirun -np $np: FAILED (exit $rc)" >&2
    status=1
  fi
  rm -f "$out"
done
exit $status
