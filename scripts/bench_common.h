// What the C benchmark drivers (scripts/bench_*.c) share: the clock read, the comparator for qsort and a
// seeded uniform generator for their inputs.
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

/// Seconds on `clock` (CLOCK_MONOTONIC for wall time, CLOCK_THREAD_CPUTIME_ID / CLOCK_PROCESS_CPUTIME_ID for CPU time).
static inline double bench_seconds(clockid_t clock) {
  struct timespec t;
  clock_gettime(clock, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/// Ascending order of doubles, for qsort (medians).
static inline int bench_compare_doubles(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/// `bytes` (rounded up to whole cache lines) at a 64-byte boundary, as the package's AlignedBuffer gives.
static inline void *bench_aligned(size_t bytes) { return aligned_alloc(64, (bytes + 63) / 64 * 64); }

static uint64_t bench_state = 12345;
/// The next SplitMix64 number mapped to [0, 1) (a fixed seed: every run draws the same inputs).
static inline double unit(void) {
  uint64_t z = (bench_state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return (double)((z ^ (z >> 31)) >> 11) * 0x1.0p-53;
}
#endif
