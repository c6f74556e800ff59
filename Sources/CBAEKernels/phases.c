// The step's non-BLAS float phases on the kernels' thread pool: each part owns a disjoint output range
// (rows, columns or elements) and every element sees the same operations in the same order, so results
// are bitwise identical for every thread count. In C, like the bit kernels, so a call allocates nothing
// (a Swift closure handed to the pool would need a heap context per call).
#include "kernels_internal.h"
#include <math.h>

#pragma clang fp contract(off)  // the same roundings on every CPU, whatever FMA contraction would choose

/// Parts for `work` elements: waking a pool thread costs a few microseconds, so small phases run alone.
static int parts_for(int threads, int64_t work, int64_t units) {
  int64_t p = work / 16384;
  if (p > threads) p = threads;
  if (p > units) p = units;
  return p < 1 ? 1 : (int)p;
}

// ---- Adam ----
typedef struct {
  float *p, *m, *v;
  const float *g;
  int64_t count;
  float w1, b2, w2, stepSize, bc2Sqrt, eps;
} adam_job;

static void adam_part(void *ctx, int part, int parts) {
  adam_job *a = ctx;
  int64_t lo, hi;
  bae_split(0, a->count, part, parts, 16, &lo, &hi);
  for (int64_t i = lo; i < hi; i++) {
    float gi = a->g[i];
    float mi = a->m[i] + a->w1 * (gi - a->m[i]);
    float vi = a->v[i] * a->b2 + a->w2 * (gi * gi);
    a->m[i] = mi;
    a->v[i] = vi;
    float denom = sqrtf(vi) / a->bc2Sqrt + a->eps;
    a->p[i] -= a->stepSize * (mi / denom);
  }
}

void bae_adam_update_mt(float *p, const float *g, float *m, float *v, int64_t count, float w1, float b2, float w2,
                        float stepSize, float bc2Sqrt, float eps, int threads) {
  adam_job job = {p, m, v, g, count, w1, b2, w2, stepSize, bc2Sqrt, eps};
  bae_parallel(adam_part, &job, parts_for(threads, 4 * count, (count + 15) / 16));
}

// ---- ∂L/∂z of a BAE ----
typedef struct {
  float *g;
  int64_t n, m, ldg;
  const float *e, *a, *q;
  float coef;
  int signS;
} code_grad_job;

static void code_grad_part(void *ctx, int part, int parts) {
  code_grad_job *c = ctx;
  int64_t lo, hi;
  bae_split(0, c->n, part, parts, 1, &lo, &hi);
  int64_t m = c->m;
  for (int64_t i = lo; i < hi; i++) {
    float *r = c->g + i * c->ldg;
    if (c->e)
      for (int64_t j = 0; j < m; j++) r[j] += c->e[j];
    if (c->a) {
      const float *ar = c->a + i * m;
      for (int64_t j = 0; j < m; j++) r[j] += c->coef * (ar[j] - c->q[j]);
    }
    if (c->signS)
      for (int64_t j = 0; j < m; j++) {
        float t = r[j];
        r[j] = t - t * t;
      }
  }
}

void bae_code_gradient_mt(float *g, int64_t n, int64_t m, int64_t ldg, const float *e, const float *a,
                          const float *q, float coef, int signS, int threads) {
  code_grad_job job = {g, n, m, ldg, e, a, q, coef, signS};
  bae_parallel(code_grad_part, &job, parts_for(threads, n * m, n));
}

// ---- N·q = S·c over the sign planes (exact integers) ----
typedef struct {
  const uint64_t *spos, *sneg;
  int64_t m, wpr;
  const int64_t *counts;
  int64_t *out;
} sign_sums_job;

static void sign_sums_part(void *ctx, int part, int parts) {
  sign_sums_job *s = ctx;
  int64_t lo, hi;
  bae_split(0, s->m, part, parts, 1, &lo, &hi);
  for (int64_t j = lo; j < hi; j++) {
    int64_t acc = 0;
    for (int64_t word = 0; word < s->wpr; word++) {
      uint64_t pw = s->spos[j * s->wpr + word], nw = s->sneg[j * s->wpr + word];
      while (pw) {
        acc += s->counts[word * 64 + __builtin_ctzll(pw)];
        pw &= pw - 1;
      }
      while (nw) {
        acc -= s->counts[word * 64 + __builtin_ctzll(nw)];
        nw &= nw - 1;
      }
    }
    s->out[j] = acc;
  }
}

void bae_sign_row_sums_mt(const uint64_t *spos, const uint64_t *sneg, int64_t m, int64_t wpr, const int64_t *counts,
                          int64_t *out, int threads) {
  sign_sums_job job = {spos, sneg, m, wpr, counts, out};
  bae_parallel(sign_sums_part, &job, parts_for(threads, m * m / 2, m));
}

// ---- column sums (bias gradients) ----
typedef struct {
  const float *a;
  int64_t n, c, lda;
  float *out;
} colsum_job;

static void colsum_part(void *ctx, int part, int parts) {
  colsum_job *s = ctx;
  int64_t lo, hi;
  bae_split(0, s->c, part, parts, 16, &lo, &hi);
  for (int64_t k = lo; k < hi; k++) s->out[k] = 0;
  for (int64_t i = 0; i < s->n; i++) {
    const float *r = s->a + i * s->lda;
    for (int64_t k = lo; k < hi; k++) s->out[k] += r[k];
  }
}

void bae_column_sums_mt(const float *a, int64_t n, int64_t c, int64_t lda, float *out, int threads) {
  colsum_job job = {a, n, c, lda, out};
  bae_parallel(colsum_part, &job, parts_for(threads, n * c, (c + 15) / 16));
}

// ---- reconstruction moments ----
typedef struct {
  const float *x, *xhat;
  int64_t n, d;
  double *sse, *sumsq, *sums;
} moments_job;

static void moments_part(void *ctx, int part, int parts) {
  moments_job *s = ctx;
  int64_t lo, hi;
  bae_split(0, s->d, part, parts, 8, &lo, &hi);
  for (int64_t k = lo; k < hi; k++) s->sse[k] = s->sumsq[k] = s->sums[k] = 0;
  for (int64_t i = 0; i < s->n; i++) {
    const float *xr = s->x + i * s->d, *hr = s->xhat + i * s->d;
    for (int64_t k = lo; k < hi; k++) {
      double xv = xr[k], e = (double)hr[k] - xv;
      s->sse[k] += e * e;
      s->sumsq[k] += xv * xv;
      s->sums[k] += xv;
    }
  }
}

void bae_column_moments_mt(const float *x, const float *xhat, int64_t n, int64_t d, double *sse, double *sumsq,
                           double *sums, int threads) {
  moments_job job = {x, xhat, n, d, sse, sumsq, sums};
  bae_parallel(moments_part, &job, parts_for(threads, n * d, (d + 7) / 8));
}

// ---- row fills and the scaled residual ----
typedef struct {
  float *dst;
  const float *src;
  int64_t n, c;
  float scale;
} rows_job;

static void fill_part(void *ctx, int part, int parts) {
  rows_job *s = ctx;
  int64_t lo, hi;
  bae_split(0, s->n, part, parts, 1, &lo, &hi);
  for (int64_t i = lo; i < hi; i++)
    for (int64_t k = 0; k < s->c; k++) s->dst[i * s->c + k] = s->src[k];
}

void bae_fill_rows_mt(float *dst, int64_t n, int64_t c, const float *row, int threads) {
  rows_job job = {dst, row, n, c, 0};
  bae_parallel(fill_part, &job, parts_for(threads, n * c, n));
}

static void residual_part(void *ctx, int part, int parts) {
  rows_job *s = ctx;
  int64_t lo, hi;
  bae_split(0, s->n * s->c, part, parts, 16, &lo, &hi);
  for (int64_t o = lo; o < hi; o++) s->dst[o] = (s->dst[o] - s->src[o]) * s->scale;
}

void bae_scaled_residual_mt(float *r, const float *x, int64_t count, float scale, int threads) {
  rows_job job = {r, x, count, 1, scale};
  bae_parallel(residual_part, &job, parts_for(threads, count, (count + 15) / 16));
}
