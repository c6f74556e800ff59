// A tiny persistent thread pool for the threaded kernels: workers sleep on a condition variable
// between calls (no spinning: the machine's cores are shared with MPI ranks and BLAS threads).
// Threads are created on the first call that needs them and kept; a call allocates nothing.
#include "kernels_internal.h"
#include <pthread.h>
#include <stdint.h>

#define MAX_WORKERS 63

static pthread_mutex_t call_mu = PTHREAD_MUTEX_INITIALIZER;  // one parallel call at a time
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;       // guards the job fields below
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER, done = PTHREAD_COND_INITIALIZER;
static int workers = 0;
static unsigned long generation = 0;
static unsigned long start_generation[MAX_WORKERS + 1];
static int pending = 0;
static bae_part_fn job_fn;
static void *job_ctx;
static int job_parts = 0;

static void *worker_main(void *arg) {
  int w = (int)(intptr_t)arg;
  pthread_mutex_lock(&mu);
  unsigned long seen = start_generation[w];
  for (;;) {
    while (generation == seen) pthread_cond_wait(&wake, &mu);
    seen = generation;
    if (w < job_parts) {
      bae_part_fn fn = job_fn;
      void *ctx = job_ctx;
      int parts = job_parts;
      pthread_mutex_unlock(&mu);
      fn(ctx, w, parts);
      pthread_mutex_lock(&mu);
      if (--pending == 0) pthread_cond_signal(&done);
    }
  }
  return NULL;
}

void bae_parallel(bae_part_fn fn, void *ctx, int parts) {
  if (parts <= 1) { fn(ctx, 0, 1); return; }
  pthread_mutex_lock(&call_mu);
  while (workers < parts - 1 && workers < MAX_WORKERS) {
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_mutex_lock(&mu);
    start_generation[workers + 1] = generation;
    pthread_mutex_unlock(&mu);
    int rc = pthread_create(&t, &attr, worker_main, (void *)(intptr_t)(workers + 1));
    pthread_attr_destroy(&attr);
    if (rc != 0) break;  // run the parts without a worker on the caller
    workers++;
  }
  int helped = workers < parts - 1 ? workers : parts - 1;
  pthread_mutex_lock(&mu);
  job_fn = fn;
  job_ctx = ctx;
  job_parts = parts;
  pending = helped;
  generation++;
  pthread_cond_broadcast(&wake);
  pthread_mutex_unlock(&mu);
  fn(ctx, 0, parts);
  for (int p = helped + 1; p < parts; p++) fn(ctx, p, parts);
  pthread_mutex_lock(&mu);
  while (pending > 0) pthread_cond_wait(&done, &mu);
  pthread_mutex_unlock(&mu);
  pthread_mutex_unlock(&call_mu);
}

void bae_run_parts(bae_phase_fn fn, void *ctx, int parts) { bae_parallel(fn, ctx, parts); }
