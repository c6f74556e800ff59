// Callgrind client requests for a process that cannot issue them itself (Python, through ctypes):
// instrument and count only between mark_begin and mark_end, one profile dump per marked region.
// Built into a temporary directory by scripts/count_step_instructions.sh; needs valgrind's headers.
#include <valgrind/callgrind.h>

/// Starts instrumentation and zeroes the counters: what follows is the region's cost.
void mark_begin(void) {
  CALLGRIND_START_INSTRUMENTATION;
  CALLGRIND_ZERO_STATS;
}

/// Writes the region's counts to the next dump file and stops instrumenting.
void mark_end(void) {
  CALLGRIND_DUMP_STATS;
  CALLGRIND_STOP_INSTRUMENTATION;
}
