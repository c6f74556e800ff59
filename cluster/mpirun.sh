#!/usr/bin/env bash
# Launch the trainer (or any command) under Open MPI with sane per-rank BLAS threads, binding and
# the transport settings this kind of machine needs. Works on a laptop, on a node, and inside a
# Slurm allocation (mpirun picks the allocation up by itself).
#
# Usage: cluster/mpirun.sh [-n RANKS] [--threads-per-rank T] [--dry-run] -- bae train ...
#   -n, --ranks RANKS        MPI ranks (default: $SLURM_NTASKS inside Slurm, else 1)
#   -t, --threads-per-rank T BLAS/OpenMP threads per rank (default: cores / ranks, at least 1);
#                            lowered so that ranks x threads <= cores
#   --dry-run                print the environment and the mpirun command, run nothing
#   -h, --help               this help
# A leading `bae` in the command is resolved to $BAE, else `bae` on PATH, else this repo's
# .build/release/bae.
#
# Environment:
#   BAE                trainer binary
#   BAE_CORES          cores of all nodes used (default: inside Slurm $SLURM_CPUS_ON_NODE x nodes,
#                      else nproc)
#   MPIRUN             mpirun binary (default mpirun)
#   MPIRUN_EXTRA_ARGS  extra mpirun arguments, e.g. "--hostfile hosts --map-by ppr:8:node"
#   OMPI_MCA_pml, OMPI_MCA_btl  transport (default ob1, self,vader: one node; set your site's
#                      values on a cluster with a real interconnect)
#   OMPI_MCA_mpi_yield_when_idle  1 (default here): a rank waiting in a collective yields its core
#                      instead of spinning; 0 restores Open MPI's busy-polling (lowest latency on
#                      dedicated cores with nothing else to run; Documentation/Distributed.md)
set -euo pipefail

# ---- settings (override through the environment) ------------------------------------------------
MPIRUN="${MPIRUN:-mpirun}"
# Cores the ranks run on, all nodes together: inside Slurm the allocation's CPUs on this node times
# its node count (nodes assumed alike), else this machine's.
if [ -n "${SLURM_CPUS_ON_NODE:-}" ]; then
  CORES="${BAE_CORES:-$(( SLURM_CPUS_ON_NODE * ${SLURM_JOB_NUM_NODES:-${SLURM_NNODES:-1}} ))}"
else
  CORES="${BAE_CORES:-$(nproc)}"
fi
RANKS="${SLURM_NTASKS:-1}"
THREADS=""                                  # empty: cores / ranks
MPIRUN_EXTRA_ARGS="${MPIRUN_EXTRA_ARGS:-}"
# Shared-memory transport pinned: without Debian's config file another transport is chosen and
# allreduce is ~2x slower. On a cluster with InfiniBand/EFA, set these to what the site documents.
export OMPI_MCA_pml="${OMPI_MCA_pml:-ob1}"
export OMPI_MCA_btl="${OMPI_MCA_btl:-self,vader}"
# A rank waiting for the slower rank busy-polls by default, taking the CPU from its own data-reader
# thread, its kernel threads and the other rank. Measured with 2 ranks on 2 shared cores: yielding cut
# the step's "communication" (the wait) from 112-256 ms to 46-166 ms and user CPU by 20-25 %.
export OMPI_MCA_mpi_yield_when_idle="${OMPI_MCA_mpi_yield_when_idle:-1}"
# --------------------------------------------------------------------------------------------------

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; }
die() { echo "mpirun.sh: error: $*" >&2; exit 2; }
is_uint() { [[ "$1" =~ ^[1-9][0-9]*$ ]]; }

dry_run=0
while [ $# -gt 0 ]; do
  case "$1" in
    -n|--ranks|-np) [ $# -ge 2 ] || die "$1 needs a value"; RANKS="$2"; shift 2 ;;
    -t|--threads-per-rank) [ $# -ge 2 ] || die "$1 needs a value"; THREADS="$2"; shift 2 ;;
    --dry-run) dry_run=1; shift ;;
    -h|--help) usage; exit 0 ;;
    --) shift; break ;;
    *) die "unknown option '$1' (the command goes after --; see --help)" ;;
  esac
done
[ $# -gt 0 ] || die "no command given: cluster/mpirun.sh -n RANKS -- bae train ..."
is_uint "$RANKS" || die "ranks must be a positive integer, got '$RANKS'"
is_uint "$CORES" || die "core count must be a positive integer, got '$CORES' (set BAE_CORES)"

# BLAS threads: fill the cores, never more than cores / ranks (oversubscribed BLAS threads spin
# against each other and the MPI progress loop).
max_threads=$(( CORES / RANKS )); [ "$max_threads" -ge 1 ] || max_threads=1
if [ -z "$THREADS" ]; then
  THREADS="$max_threads"
else
  is_uint "$THREADS" || die "threads per rank must be a positive integer, got '$THREADS'"
  if [ "$THREADS" -gt "$max_threads" ]; then
    echo "mpirun.sh: $RANKS ranks x $THREADS threads > $CORES cores: using $max_threads thread(s) per rank" >&2
    THREADS="$max_threads"
  fi
fi
export OPENBLAS_NUM_THREADS="$THREADS" OMP_NUM_THREADS="$THREADS"

# Binding: one core per rank when each rank runs one thread; with several threads per rank a
# core binding would squeeze all of them onto one core. Oversubscribed ranks cannot be bound.
args=(-n "$RANKS")
if [ "$RANKS" -gt "$CORES" ]; then
  args+=(--oversubscribe --bind-to none)
elif [ "$THREADS" -eq 1 ]; then
  args+=(--bind-to core)
else
  args+=(--bind-to none)
fi
# Export to every rank (also remote ones; locally the environment is inherited anyway).
args+=(-x OPENBLAS_NUM_THREADS -x OMP_NUM_THREADS)

# Open MPI refuses to run as root unless told; only say so when we are root.
if [ "$(id -u)" -eq 0 ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi

# Resolve a leading `bae` to a concrete binary so every rank runs the same file.
cmd=("$@")
if [ "${cmd[0]}" = "bae" ]; then
  if [ -n "${BAE:-}" ]; then
    cmd[0]="$BAE"
  elif command -v bae >/dev/null 2>&1; then
    cmd[0]="$(command -v bae)"
  elif [ -x "$REPO_ROOT/.build/release/bae" ]; then
    cmd[0]="$REPO_ROOT/.build/release/bae"
  else
    die "cannot find bae: set BAE=/path/to/bae, put it on PATH, or run 'swift build -c release' in $REPO_ROOT"
  fi
fi
[ -x "${cmd[0]}" ] || command -v "${cmd[0]}" >/dev/null 2>&1 || die "not executable: ${cmd[0]}"

# shellcheck disable=SC2206  # MPIRUN_EXTRA_ARGS is a word list on purpose
extra=($MPIRUN_EXTRA_ARGS)
full=("$MPIRUN" "${args[@]}" "${extra[@]}" "${cmd[@]}")
echo "mpirun.sh: ranks=$RANKS threads/rank=$THREADS cores=$CORES pml=$OMPI_MCA_pml btl=$OMPI_MCA_btl yield_when_idle=$OMPI_MCA_mpi_yield_when_idle" >&2
if [ "$dry_run" = 1 ]; then
  printf '%q ' "${full[@]}"; echo
  exit 0
fi
# exec: signals sent to this script's pid (e.g. by an sbatch trap) reach mpirun, which forwards
# SIGUSR1/SIGUSR2/SIGTERM to every rank.
exec "${full[@]}"
