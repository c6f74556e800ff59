// Test-only: counts the process's heap allocations while counting is on, to show that a training step
// allocates nothing. Linked only into the test binary, where its malloc family interposes glibc's.
#ifndef ALLOCATION_COUNTER_H
#define ALLOCATION_COUNTER_H

/// 1 when this build can count (glibc: the counter forwards to __libc_malloc and friends), else 0.
int allocation_counter_supported(void);
/// Zeroes the count and starts counting every malloc, calloc, realloc and aligned allocation (all threads).
void allocation_counter_start(void);
/// Stops counting and returns the number of allocations since allocation_counter_start.
long allocation_counter_stop(void);
#endif
