// Microbenchmark of the sparse decoder's kernels (Sources/CBAEKernels/sparse.c) against the dense sgemm
// each one replaces, on a random code of a given density; built and run by scripts/bench_sparse_kernels.sh.
//   bench_sparse_kernels time REPS PATH N D DL DENSITY    median ms per op on PATH (1 portable, 3 avx2)
//   bench_sparse_kernels once PATH OP N D DL DENSITY      one call of OP (for callgrind --toggle-collect)
// OP: pattern (pattern + columns), gather-add (x̂ from W_dec in place), gather-dot (∂a), scatter-columns
// (∂W_dec in place), scatter (∂W_enc's rows), sgemm (the dense x̂ product)
#include "bench_common.h"
#include "bae_kernels.h"
#include "bae_sparse.h"
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


typedef struct {
  int64_t n, d, dl;
  float *v, *w, *wt, *a, *out, *g, *s, *scratch, *rowValue, *colValue;
  int64_t *rowStart, *colStart;
  int32_t *colIndex, *rowIndex;
} problem;

static problem make(int64_t n, int64_t d, int64_t dl, double density) {
  problem p = {0};
  p.n = n;
  p.d = d;
  p.dl = dl;
  p.v = calloc((size_t)(n * dl), sizeof(float));
  for (int64_t e = 0; e < n * dl; e++) p.v[e] = unit() < density ? (float)(unit() + 0.1) : 0.0f;
  p.w = bench_aligned((size_t)(d * dl) * sizeof(float));
  p.wt = bench_aligned((size_t)(d * dl) * sizeof(float));
  for (int64_t e = 0; e < d * dl; e++) p.w[e] = (float)(unit() - 0.5);
  p.scratch = bench_aligned((size_t)bae_sparse_scratch_floats(d, dl, n) * sizeof(float));
  p.a = bench_aligned((size_t)(n * d) * sizeof(float));
  for (int64_t e = 0; e < n * d; e++) p.a[e] = (float)(unit() - 0.5);
  p.out = bench_aligned((size_t)(n * d) * sizeof(float));
  p.g = calloc((size_t)(n * dl), sizeof(float));
  p.s = calloc((size_t)d, sizeof(float));
  p.rowStart = malloc((size_t)(n + 1) * sizeof(int64_t));
  p.colStart = malloc((size_t)(dl + 1) * sizeof(int64_t));
  p.colIndex = malloc((size_t)(n * dl) * sizeof(int32_t));
  p.rowIndex = malloc((size_t)(n * dl) * sizeof(int32_t));
  p.rowValue = malloc((size_t)(n * dl) * sizeof(float));
  p.colValue = malloc((size_t)(n * dl) * sizeof(float));
  bae_sparse_pattern(p.v, n, dl, dl, NULL, p.rowStart, p.colIndex, p.rowValue);
  bae_sparse_columns(p.rowStart, p.colIndex, p.rowValue, n, dl, p.colStart, p.rowIndex, p.colValue);
  return p;
}

static void run(problem *p, const char *op) {
  if (strcmp(op, "pattern") == 0) {
    bae_sparse_pattern(p->v, p->n, p->dl, p->dl, NULL, p->rowStart, p->colIndex, p->rowValue);
    bae_sparse_columns(p->rowStart, p->colIndex, p->rowValue, p->n, p->dl, p->colStart, p->rowIndex, p->colValue);
  } else if (strcmp(op, "gather-add") == 0) {
    bae_sparse_decode_mt(p->rowStart, p->colIndex, p->rowValue, p->n, p->dl, NULL, NULL, p->w, p->dl, p->d, p->out,
                         p->d, p->scratch, 1);
  } else if (strcmp(op, "gather-dot") == 0) {
    bae_sparse_column_dot_mt(p->colStart, p->rowIndex, p->dl, p->a, p->d, p->w, p->dl, p->d, p->g, p->dl,
                             p->scratch, 1);
  } else if (strcmp(op, "scatter-columns") == 0) {
    bae_sparse_scatter_columns_mt(p->colStart, p->rowIndex, p->colValue, p->n, p->dl, NULL, NULL, p->a, p->d, p->d, p->wt,
                                  p->dl, p->scratch, 1);
  } else if (strcmp(op, "scatter") == 0) {
    bae_sparse_scatter_mt(p->colStart, p->rowIndex, p->dl, p->v, p->dl, NULL, NULL, p->a, p->d, p->d, p->wt, p->d,
                          1);
  } else if (strcmp(op, "sgemm") == 0) {  // x̂ = a·W_decᵀ: (n, dl)·(dl, d), what gather-add replaces
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)p->n, (int)p->d, (int)p->dl, 1.0f, p->v, (int)p->dl,
                p->w, (int)p->dl, 0.0f, p->out, (int)p->d);
  } else {
    fprintf(stderr, "unknown op %s\n", op);
    exit(2);
  }
}

static double seconds(void) { return bench_seconds(CLOCK_MONOTONIC); }

int main(int argc, char **argv) {
  if (argc == 8 && strcmp(argv[1], "once") == 0) {
    if (bae_kernels_force_path(atoi(argv[2])) != 0) return fprintf(stderr, "path %s unsupported\n", argv[2]), 3;
    problem p = make(atoll(argv[4]), atoll(argv[5]), atoll(argv[6]), atof(argv[7]));
    run(&p, argv[3]);
    return 0;
  }
  if (argc != 8 || strcmp(argv[1], "time") != 0) {
    fprintf(stderr, "usage: %s time REPS PATH N D DL DENSITY | once PATH OP N D DL DENSITY\n", argv[0]);
    return 2;
  }
  int reps = atoi(argv[2]);
  if (bae_kernels_force_path(atoi(argv[3])) != 0) return fprintf(stderr, "path %s unsupported\n", argv[3]), 3;
  openblas_set_num_threads(1);
  problem p = make(atoll(argv[4]), atoll(argv[5]), atoll(argv[6]), atof(argv[7]));
  const char *ops[] = {"pattern", "gather-add", "gather-dot", "scatter-columns", "scatter", "sgemm"};
  printf("sparse kernels: path %s, n %lld d %lld d' %lld, density %.3f (%lld entries), median of %d (ms):",
         bae_kernels_path_name(bae_sparse_path()), (long long)p.n, (long long)p.d, (long long)p.dl,
         (double)p.rowStart[p.n] / (double)(p.n * p.dl), (long long)p.rowStart[p.n], reps);
  double *t = malloc((size_t)reps * sizeof(double));
  for (int o = 0; o < 6; o++) {
    run(&p, ops[o]);
    for (int r = 0; r < reps; r++) {
      double t0 = seconds();
      run(&p, ops[o]);
      t[r] = seconds() - t0;
    }
    qsort(t, (size_t)reps, sizeof(double), bench_compare_doubles);
    printf("  %s %.3f", ops[o], 1e3 * t[reps / 2]);
  }
  printf("\n");
  return 0;
}
