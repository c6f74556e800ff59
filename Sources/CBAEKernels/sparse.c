// The sparse decoder's kernels (bae_sparse.h): pattern building, a float transpose, and the gather-add,
// gather-dot and scatter products, each as portable C and as AVX2 + FMA, chosen at run time.
// The AVX2 forms keep the portable forms' summation order per output element (entries in pattern order,
// one running sum per element for gather-add and scatter); they differ from them only by FMA rounding.
#include "bae_sparse.h"
#include "kernels_internal.h"
#include <pthread.h>
#include <string.h>

static int have_fma = 0;
static pthread_once_t fma_once = PTHREAD_ONCE_INIT;
static void read_fma(void) {
#if BAE_X86
  __builtin_cpu_init();
  have_fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
}

int bae_sparse_path(void) {
  pthread_once(&fma_once, read_fma);
  return bae_selected_path() >= BAE_PATH_AVX2 && have_fma ? BAE_PATH_AVX2 : BAE_PATH_PORTABLE;
}

// ---- patterns ----

int64_t bae_sparse_pattern(const float *v, int64_t n, int64_t c, int64_t ldv, const float *center,
                           int64_t *rowStart, int32_t *colIndex) {
  int64_t e = 0;
  for (int64_t i = 0; i < n; i++) {
    rowStart[i] = e;
    const float *r = v + i * ldv;
    if (center == NULL) {
      for (int64_t j = 0; j < c; j++) {
        colIndex[e] = (int32_t)j;
        e += r[j] != 0.0f;  // branch-free: the slot is overwritten unless the entry counts
      }
    } else {
      for (int64_t j = 0; j < c; j++) {
        colIndex[e] = (int32_t)j;
        e += r[j] != center[j];
      }
    }
  }
  rowStart[n] = e;
  return e;
}

void bae_sparse_columns(const int64_t *rowStart, const int32_t *colIndex, int64_t n, int64_t c,
                        int64_t *colStart, int32_t *rowIndex) {
  // counting sort by column; colStart[j+1] is used as column j's cursor while filling
  memset(colStart, 0, (size_t)(c + 1) * sizeof(int64_t));
  int64_t nnz = rowStart[n];
  for (int64_t e = 0; e < nnz; e++) colStart[colIndex[e] + 1]++;
  for (int64_t j = 0; j < c; j++) colStart[j + 1] += colStart[j];
  // fill with cursors starting at colStart[j]; shift the array down by one slot afterwards
  for (int64_t j = c; j > 0; j--) colStart[j] = colStart[j - 1];
  for (int64_t i = 0; i < n; i++)
    for (int64_t e = rowStart[i]; e < rowStart[i + 1]; e++) rowIndex[colStart[colIndex[e] + 1]++] = (int32_t)i;
  colStart[0] = 0;
}

// ---- transpose ----

#define TB 32
typedef struct {
  const float *a;
  int64_t rows, cols, lda;
  float *out;
  int64_t ldo;
  int avx2;
} transpose_job;

static void transpose_part(void *ctx, int part, int parts) {
  const transpose_job *j = ctx;
  int64_t lo, hi;  // a range of a's columns = out's rows
  bae_split(0, j->cols, part, parts, TB, &lo, &hi);
  for (int64_t c0 = lo; c0 < hi; c0 += TB) {
    int64_t c1 = c0 + TB < hi ? c0 + TB : hi;
    for (int64_t r0 = 0; r0 < j->rows; r0 += TB) {
      int64_t r1 = r0 + TB < j->rows ? r0 + TB : j->rows;
      for (int64_t cb = c0; cb < c1; cb += 8) {  // 8x8 blocks: whole ones in registers, edges one by one
        int64_t ce = cb + 8 < c1 ? cb + 8 : c1;
        for (int64_t rb = r0; rb < r1; rb += 8) {
          int64_t re = rb + 8 < r1 ? rb + 8 : r1;
#if BAE_X86
          if (j->avx2 && ce - cb == 8 && re - rb == 8) {
            bae_transpose8_avx2(j->a + rb * j->lda + cb, j->lda, j->out + cb * j->ldo + rb, j->ldo);
            continue;
          }
#endif
          for (int64_t c = cb; c < ce; c++) {
            float *o = j->out + c * j->ldo;
            for (int64_t r = rb; r < re; r++) o[r] = j->a[r * j->lda + c];
          }
        }
      }
    }
  }
}

void bae_transpose_f32_mt(const float *a, int64_t rows, int64_t cols, int64_t lda, float *out, int64_t ldo,
                          int threads) {
  transpose_job job = {a, rows, cols, lda, out, ldo, bae_selected_path() >= BAE_PATH_AVX2};
  int64_t blocks = (cols + TB - 1) / TB;
  bae_parallel(transpose_part, &job, threads < blocks ? threads : (int)(blocks > 0 ? blocks : 1));
}

// ---- portable products ----

static void gather_add_portable(const int64_t *rowStart, const int32_t *colIndex, int64_t i0, int64_t i1,
                                const float *v, int64_t ldv, const float *center, const float *w, int64_t ldw,
                                int64_t d, float *out, int64_t ldo) {
  for (int64_t i = i0; i < i1; i++) {
    float *o = out + i * ldo;
    for (int64_t e = rowStart[i]; e < rowStart[i + 1]; e++) {
      int64_t j = colIndex[e];
      float coef = v[i * ldv + j] - (center ? center[j] : 0.0f);
      const float *wr = w + j * ldw;
      for (int64_t k = 0; k < d; k++) o[k] += coef * wr[k];
    }
  }
}

static void gather_dot_portable(const int64_t *rowStart, const int32_t *colIndex, int64_t i0, int64_t i1,
                                const float *a, int64_t lda, const float *w, int64_t ldw, int64_t d, float *g,
                                int64_t ldg) {
  for (int64_t i = i0; i < i1; i++) {
    const float *ar = a + i * lda;
    for (int64_t e = rowStart[i]; e < rowStart[i + 1]; e++) {
      int64_t j = colIndex[e];
      const float *wr = w + j * ldw;
      float s = 0;
      for (int64_t k = 0; k < d; k++) s += ar[k] * wr[k];
      g[i * ldg + j] = s;
    }
  }
}

// Starts row j of a scatter's output at center[j]·s (or 0) and returns center[j] (or 0).
static inline float scatter_start(float *o, const float *center, const float *s, int64_t j, int64_t d) {
  if (center == NULL) {
    memset(o, 0, (size_t)d * sizeof(float));
    return 0.0f;
  }
  float cj = center[j];
  for (int64_t k = 0; k < d; k++) o[k] = cj * s[k];
  return cj;
}

static void scatter_portable(const int64_t *colStart, const int32_t *rowIndex, int64_t j0, int64_t j1,
                             const float *v, int64_t ldv, const float *center, const float *s, const float *a,
                             int64_t lda, int64_t d, float *out, int64_t ldo) {
  for (int64_t j = j0; j < j1; j++) {
    float *o = out + j * ldo;
    float cj = scatter_start(o, center, s, j, d);
    for (int64_t e = colStart[j]; e < colStart[j + 1]; e++) {
      int64_t i = rowIndex[e];
      float coef = v[i * ldv + j] - cj;
      const float *ar = a + i * lda;
      for (int64_t k = 0; k < d; k++) o[k] += coef * ar[k];
    }
  }
}

// ---- AVX2 + FMA products: 32 output floats in four registers per pass over the entries ----

#if BAE_X86
#define SPARSE_TARGET __attribute__((target("avx2,fma")))

// o[0..<len] += Σ_e coef_e·src_e[0..<len] for entries [e0, e1); the sources and coefficients come from
// the callbacks' arrays. Written out for the two products that share it (gather-add, scatter).
SPARSE_TARGET static inline void axpy_block(float *o, int64_t k0, int64_t len, const float *coefs,
                                             const float *const *src, int64_t count) {
  (void)len;
  __m256 acc0 = _mm256_loadu_ps(o + k0), acc1 = _mm256_loadu_ps(o + k0 + 8);
  __m256 acc2 = _mm256_loadu_ps(o + k0 + 16), acc3 = _mm256_loadu_ps(o + k0 + 24);
  for (int64_t e = 0; e < count; e++) {
    __m256 c = _mm256_set1_ps(coefs[e]);
    const float *p = src[e] + k0;
    acc0 = _mm256_fmadd_ps(c, _mm256_loadu_ps(p), acc0);
    acc1 = _mm256_fmadd_ps(c, _mm256_loadu_ps(p + 8), acc1);
    acc2 = _mm256_fmadd_ps(c, _mm256_loadu_ps(p + 16), acc2);
    acc3 = _mm256_fmadd_ps(c, _mm256_loadu_ps(p + 24), acc3);
  }
  _mm256_storeu_ps(o + k0, acc0);
  _mm256_storeu_ps(o + k0 + 8, acc1);
  _mm256_storeu_ps(o + k0 + 16, acc2);
  _mm256_storeu_ps(o + k0 + 24, acc3);
}

// The same sums for the tail of a row (k from k0 to d), 8 at a time, then one at a time with fmaf's
// single rounding so the tail matches the vector lanes.
SPARSE_TARGET static inline void axpy_tail(float *o, int64_t k0, int64_t d, const float *coefs,
                                            const float *const *src, int64_t count) {
  int64_t k = k0;
  for (; k + 8 <= d; k += 8) {
    __m256 acc = _mm256_loadu_ps(o + k);
    for (int64_t e = 0; e < count; e++) acc = _mm256_fmadd_ps(_mm256_set1_ps(coefs[e]), _mm256_loadu_ps(src[e] + k), acc);
    _mm256_storeu_ps(o + k, acc);
  }
  for (; k < d; k++) {
    float acc = o[k];
    for (int64_t e = 0; e < count; e++) acc = __builtin_fmaf(coefs[e], src[e][k], acc);
    o[k] = acc;
  }
}

// Entries are taken in chunks of ECH so their coefficients and row pointers sit in small stack arrays.
#define ECH 64

SPARSE_TARGET static void gather_add_avx2(const int64_t *rowStart, const int32_t *colIndex, int64_t i0, int64_t i1,
                                          const float *v, int64_t ldv, const float *center, const float *w,
                                          int64_t ldw, int64_t d, float *out, int64_t ldo) {
  float coefs[ECH];
  const float *src[ECH];
  for (int64_t i = i0; i < i1; i++) {
    float *o = out + i * ldo;
    for (int64_t e0 = rowStart[i]; e0 < rowStart[i + 1]; e0 += ECH) {
      int64_t count = rowStart[i + 1] - e0 < ECH ? rowStart[i + 1] - e0 : ECH;
      for (int64_t e = 0; e < count; e++) {
        int64_t j = colIndex[e0 + e];
        coefs[e] = v[i * ldv + j] - (center ? center[j] : 0.0f);
        src[e] = w + j * ldw;
      }
      int64_t k = 0;
      for (; k + 32 <= d; k += 32) axpy_block(o, k, 32, coefs, src, count);
      axpy_tail(o, k, d, coefs, src, count);
    }
  }
}

SPARSE_TARGET static void scatter_avx2(const int64_t *colStart, const int32_t *rowIndex, int64_t j0, int64_t j1,
                                       const float *v, int64_t ldv, const float *center, const float *s,
                                       const float *a, int64_t lda, int64_t d, float *out, int64_t ldo) {
  float coefs[ECH];
  const float *src[ECH];
  for (int64_t j = j0; j < j1; j++) {
    float *o = out + j * ldo;
    float cj = scatter_start(o, center, s, j, d);
    for (int64_t e0 = colStart[j]; e0 < colStart[j + 1]; e0 += ECH) {
      int64_t count = colStart[j + 1] - e0 < ECH ? colStart[j + 1] - e0 : ECH;
      for (int64_t e = 0; e < count; e++) {
        int64_t i = rowIndex[e0 + e];
        coefs[e] = v[i * ldv + j] - cj;
        src[e] = a + i * lda;
      }
      int64_t k = 0;
      for (; k + 32 <= d; k += 32) axpy_block(o, k, 32, coefs, src, count);
      axpy_tail(o, k, d, coefs, src, count);
    }
  }
}

SPARSE_TARGET static inline float hsum(__m256 x) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(x), _mm256_extractf128_ps(x, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

SPARSE_TARGET static void gather_dot_avx2(const int64_t *rowStart, const int32_t *colIndex, int64_t i0, int64_t i1,
                                          const float *a, int64_t lda, const float *w, int64_t ldw, int64_t d,
                                          float *g, int64_t ldg) {
  for (int64_t i = i0; i < i1; i++) {
    const float *ar = a + i * lda;
    for (int64_t e = rowStart[i]; e < rowStart[i + 1]; e++) {
      int64_t j = colIndex[e];
      const float *wr = w + j * ldw;
      __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps(), s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
      int64_t k = 0;
      for (; k + 32 <= d; k += 32) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(ar + k), _mm256_loadu_ps(wr + k), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(ar + k + 8), _mm256_loadu_ps(wr + k + 8), s1);
        s2 = _mm256_fmadd_ps(_mm256_loadu_ps(ar + k + 16), _mm256_loadu_ps(wr + k + 16), s2);
        s3 = _mm256_fmadd_ps(_mm256_loadu_ps(ar + k + 24), _mm256_loadu_ps(wr + k + 24), s3);
      }
      for (; k + 8 <= d; k += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(ar + k), _mm256_loadu_ps(wr + k), s0);
      float t = hsum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
      for (; k < d; k++) t = __builtin_fmaf(ar[k], wr[k], t);
      g[i * ldg + j] = t;
    }
  }
}
#endif

// ---- threaded entry points: rows (gather) or columns (scatter) split into disjoint ranges ----

typedef struct {
  const int64_t *start;
  const int32_t *index;
  int64_t count;  // rows (gathers) or columns (scatter)
  const float *v, *center, *s, *a, *w;
  int64_t ldv, lda, ldw, d;
  float *out;
  int64_t ldo;
  int avx2;
} sparse_job;

static void gather_add_part(void *ctx, int part, int parts) {
  const sparse_job *j = ctx;
  int64_t lo, hi;
  bae_split(0, j->count, part, parts, 1, &lo, &hi);
#if BAE_X86
  if (j->avx2) {
    gather_add_avx2(j->start, j->index, lo, hi, j->v, j->ldv, j->center, j->w, j->ldw, j->d, j->out, j->ldo);
    return;
  }
#endif
  gather_add_portable(j->start, j->index, lo, hi, j->v, j->ldv, j->center, j->w, j->ldw, j->d, j->out, j->ldo);
}

static void gather_dot_part(void *ctx, int part, int parts) {
  const sparse_job *j = ctx;
  int64_t lo, hi;
  bae_split(0, j->count, part, parts, 1, &lo, &hi);
#if BAE_X86
  if (j->avx2) {
    gather_dot_avx2(j->start, j->index, lo, hi, j->a, j->lda, j->w, j->ldw, j->d, j->out, j->ldo);
    return;
  }
#endif
  gather_dot_portable(j->start, j->index, lo, hi, j->a, j->lda, j->w, j->ldw, j->d, j->out, j->ldo);
}

static void scatter_part(void *ctx, int part, int parts) {
  const sparse_job *j = ctx;
  int64_t lo, hi;
  bae_split(0, j->count, part, parts, 1, &lo, &hi);
#if BAE_X86
  if (j->avx2) {
    scatter_avx2(j->start, j->index, lo, hi, j->v, j->ldv, j->center, j->s, j->a, j->lda, j->d, j->out, j->ldo);
    return;
  }
#endif
  scatter_portable(j->start, j->index, lo, hi, j->v, j->ldv, j->center, j->s, j->a, j->lda, j->d, j->out, j->ldo);
}

static int parts_for(int threads, int64_t count) {
  if (threads < 1) threads = 1;
  return count < threads ? (int)(count > 0 ? count : 1) : threads;
}

void bae_sparse_gather_add_mt(const int64_t *rowStart, const int32_t *colIndex, int64_t n, const float *v,
                              int64_t ldv, const float *center, const float *w, int64_t ldw, int64_t d,
                              float *out, int64_t ldo, int threads) {
  sparse_job job = {rowStart, colIndex, n, v, center, NULL, NULL, w, ldv, 0, ldw, d, out, ldo,
                    bae_sparse_path() == BAE_PATH_AVX2};
  bae_parallel(gather_add_part, &job, parts_for(threads, n));
}

void bae_sparse_gather_dot_mt(const int64_t *rowStart, const int32_t *colIndex, int64_t n, const float *a,
                              int64_t lda, const float *w, int64_t ldw, int64_t d, float *g, int64_t ldg,
                              int threads) {
  sparse_job job = {rowStart, colIndex, n, NULL, NULL, NULL, a, w, 0, lda, ldw, d, g, ldg,
                    bae_sparse_path() == BAE_PATH_AVX2};
  bae_parallel(gather_dot_part, &job, parts_for(threads, n));
}

void bae_sparse_scatter_mt(const int64_t *colStart, const int32_t *rowIndex, int64_t c, const float *v,
                           int64_t ldv, const float *center, const float *s, const float *a, int64_t lda,
                           int64_t d, float *out, int64_t ldo, int threads) {
  sparse_job job = {colStart, rowIndex, c, v, center, s, a, NULL, ldv, lda, 0, d, out, ldo,
                    bae_sparse_path() == BAE_PATH_AVX2};
  bae_parallel(scatter_part, &job, parts_for(threads, c));
}
