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
                           int64_t *rowStart, int32_t *colIndex, float *rowValue) {
  int64_t e = 0;
  for (int64_t i = 0; i < n; i++) {
    rowStart[i] = e;
    const float *r = v + i * ldv;
    // branch-free: every slot is written, and overwritten unless the entry counts
    if (center == NULL && rowValue == NULL) {
      for (int64_t j = 0; j < c; j++) {
        colIndex[e] = (int32_t)j;
        e += r[j] != 0.0f;
      }
    } else if (center == NULL) {
      for (int64_t j = 0; j < c; j++) {
        colIndex[e] = (int32_t)j;
        rowValue[e] = r[j] - 0.0f;
        e += r[j] != 0.0f;
      }
    } else if (rowValue == NULL) {
      for (int64_t j = 0; j < c; j++) {
        colIndex[e] = (int32_t)j;
        e += r[j] != center[j];
      }
    } else {
      for (int64_t j = 0; j < c; j++) {
        colIndex[e] = (int32_t)j;
        rowValue[e] = r[j] - center[j];
        e += r[j] != center[j];
      }
    }
  }
  rowStart[n] = e;
  return e;
}

int64_t bae_sparse_pattern_bits(const uint64_t *bits, int64_t n, int64_t c, int64_t wpr, const uint64_t *centerBits,
                                int64_t *rowStart, int32_t *colIndex, float *rowValue) {
  int64_t e = 0, words = (c + 63) / 64;
  for (int64_t i = 0; i < n; i++) {
    rowStart[i] = e;
    const uint64_t *r = bits + i * wpr;
    for (int64_t w = 0; w < words; w++) {
      uint64_t away = r[w] ^ centerBits[w];
      while (away) {
        int b = __builtin_ctzll(away);
        away &= away - 1;
        colIndex[e] = (int32_t)(w * 64 + b);
        rowValue[e] = (centerBits[w] >> b) & 1 ? -1.0f : 1.0f;  // h − μ
        e++;
      }
    }
  }
  rowStart[n] = e;
  return e;
}

void bae_sparse_gather_values(const int64_t *rowStart, const int32_t *colIndex, int64_t n, const float *v,
                              int64_t ldv, float *rowValue) {
  for (int64_t i = 0; i < n; i++)
    for (int64_t e = rowStart[i]; e < rowStart[i + 1]; e++) rowValue[e] = v[i * ldv + colIndex[e]];
}

void bae_sparse_columns(const int64_t *rowStart, const int32_t *colIndex, const float *rowValue, int64_t n,
                        int64_t c, int64_t *colStart, int32_t *rowIndex, float *colValue) {
  // counting sort by column; colStart[j+1] is used as column j's cursor while filling
  memset(colStart, 0, (size_t)(c + 1) * sizeof(int64_t));
  int64_t nnz = rowStart[n];
  for (int64_t e = 0; e < nnz; e++) colStart[colIndex[e] + 1]++;
  for (int64_t j = 0; j < c; j++) colStart[j + 1] += colStart[j];
  // fill with cursors starting at colStart[j]; shift the array down by one slot afterwards
  for (int64_t j = c; j > 0; j--) colStart[j] = colStart[j - 1];
  for (int64_t i = 0; i < n; i++)
    for (int64_t e = rowStart[i]; e < rowStart[i + 1]; e++) {
      int64_t slot = colStart[colIndex[e] + 1]++;
      rowIndex[slot] = (int32_t)i;
      if (colValue) colValue[slot] = rowValue[e];
    }
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

void bae_sparse_scatter_mt(const int64_t *colStart, const int32_t *rowIndex, int64_t c, const float *v,
                           int64_t ldv, const float *center, const float *s, const float *a, int64_t lda,
                           int64_t d, float *out, int64_t ldo, int threads) {
  sparse_job job = {colStart, rowIndex, c, v, center, s, a, NULL, ldv, lda, 0, d, out, ldo,
                    bae_sparse_path() == BAE_PATH_AVX2};
  bae_parallel(scatter_part, &job, parts_for(threads, c));
}

// ---- slab kernels: the decoder's weight matrix read, and ∂W_dec written, in their own (d, c) layout ----
//
// x̂ and ∂W_dec run over chunks of ks output columns of width d. For each chunk, a slab (c, ks) of
// per-thread scratch (at most 2.5 MiB) holds the chunk transposed: x̂ transposes W_dec's ks rows into
// it and then gathers each CSR row's entries from it into ks running sums in registers; ∂W_dec sums
// each CSC column's entries into it (ks sums in registers per column), then transposes it into ∂W_dec's
// ks rows. Each output element's entries are added in pattern order, as the row gather over W_decᵀ and
// the row scatter did: no full transpose of W_dec or of ∂W_dec is ever written. ∂a (an SAE's) dots each
// entry over the whole width against a block of CB columns of w transposed into scratch.

#define CB 8
// The slab's chunk width: the widest of 64, 32, 16, 8 whose slab (c·ks floats) fits SLAB_BYTES. Wide
// chunks pay the entry lists' overhead fewer times; at d' = 8192 a 64-column slab (2 MiB, past L2) ran
// the x̂ gather in about half the time of a 16-column one that fits L2 (scripts/bench_sparse_kernels.sh).
#define SLAB_BYTES (5 << 19)

static int64_t slab_width(int64_t c) {
  int64_t ks = 64;
  while (ks > 8 && ks * (c > 0 ? c : 1) * (int64_t)sizeof(float) > SLAB_BYTES) ks /= 2;
  return ks;
}

int64_t bae_sparse_scratch_floats(int64_t d, int64_t c, int64_t n) {
  c = c > 0 ? c : 1;
  n = n > 0 ? n : 0;
  // the slab, x̂'s base row and ∂W_dec's packed chunk of a (n rows of ks)
  int64_t dot = (int64_t)CB * (d > 0 ? d : 1), slab = slab_width(c) * (c + 1 + n);
  int64_t most = dot > slab ? dot : slab;
  return (most + 15) / 16 * 16;  // whole cache lines, so every part's slab rows start on one (64-byte base)
}

// o (cols, ldo) = a (rows, cols; lda)ᵀ for a small block, 8×8 in registers where whole (AVX2).
static void transpose_into(const float *a, int64_t lda, int64_t rows, int64_t cols, float *o, int64_t ldo,
                           int avx2) {
  int64_t r0 = 0;
#if BAE_X86
  if (avx2)
    for (; r0 + 8 <= rows; r0 += 8) {
      int64_t c0 = 0;
      for (; c0 + 8 <= cols; c0 += 8) bae_transpose8_avx2(a + r0 * lda + c0, lda, o + c0 * ldo + r0, ldo);
      for (int64_t c = c0; c < cols; c++)
        for (int64_t r = r0; r < r0 + 8; r++) o[c * ldo + r] = a[r * lda + c];
    }
#else
  (void)avx2;
#endif
  for (int64_t r = r0; r < rows; r++)
    for (int64_t c = 0; c < cols; c++) o[c * ldo + r] = a[r * lda + c];
}

typedef struct {
  const int64_t *start;
  const int32_t *index;
  int64_t n, c;  // rows of the code, latent columns
  const float *v, *center, *s, *a, *w;
  int64_t ldv, lda, ldw, d;
  float *out;
  int64_t ldo;
  float *scratch;  // bae_sparse_scratch_floats(d, c, n) per part
  const float *chunk;  // ∂W_dec: a's columns of the current chunk, packed (n, ks)
  int64_t lo, hi;      // the part's rows (x̂) or columns (∂W_dec) of the current chunk
  int64_t ks;
  int scatter;  // ∂W_dec (else x̂)
  int avx2;
} slab_job;

// The sums of one chunk [k0, k0 + width) as two passes over the entries: nv whole vectors of 8 in
// registers, then the tail (width mod 8) element by element. Each output element still takes its
// entries in pattern order; the tail uses fmaf so it rounds as the vector lanes do.
//   x̂ (gather): row i's chunk += Σ_e coef_e · slab[j_e], coef = v[i, j] − center[j] (CSR, row order)
//   ∂W_dec (scatter): slab[col] = center[col]·s chunk + Σ_e value_e · a[i_e] chunk (CSC with its values)
#if BAE_X86
// The slab row the entry PREFETCH_AHEAD places on will read (its nv·32 bytes, a line at a time): x̂'s rows
// come in pattern order, which no hardware prefetcher follows. 8 ahead ran the x̂ gather 10–15 % faster at
// d' = 2304 and 8192, 1–10 % density. ∂W_dec's packed chunk (n·ks floats) stays in L2 and gained nothing.
#define PREFETCH_AHEAD 8
static inline void prefetch_row(const float *p, int nv) {
  for (int q = 0; q < nv; q += 2) _mm_prefetch((const char *)(p + 8 * q), _MM_HINT_T0);
}

SPARSE_TARGET __attribute__((always_inline)) static inline void gather_rows_fma(
    const int64_t *start, const int32_t *index, const float *value, int64_t lo, int64_t hi, int64_t last,
    const float *slab, int64_t ks, const float *base, float *out, int64_t ldo, int nv) {
  for (int64_t i = lo; i < hi; i++) {
    float *o = out + i * ldo;
    __m256 acc[8];
    for (int q = 0; q < nv; q++) acc[q] = _mm256_loadu_ps(base + 8 * q);
    for (int64_t e = start[i], e1 = start[i + 1]; e < e1; e++) {
      if (e + PREFETCH_AHEAD < last) prefetch_row(slab + index[e + PREFETCH_AHEAD] * ks, nv);
      __m256 c = _mm256_set1_ps(value[e]);
      const float *p = slab + index[e] * ks;
      for (int q = 0; q < nv; q++) acc[q] = _mm256_fmadd_ps(c, _mm256_loadu_ps(p + 8 * q), acc[q]);
    }
    for (int q = 0; q < nv; q++) _mm256_storeu_ps(o + 8 * q, acc[q]);
  }
}

SPARSE_TARGET __attribute__((always_inline)) static inline void scatter_columns_fma(
    const int64_t *start, const int32_t *index, const float *value, int64_t lo, int64_t hi, const float *center,
    const float *s, const float *a, int64_t lda, float *slab, int64_t ks, int nv) {
  for (int64_t col = lo; col < hi; col++) {
    __m256 acc[8];
    if (center) {
      __m256 cj = _mm256_set1_ps(center[col]);
      for (int q = 0; q < nv; q++) acc[q] = _mm256_mul_ps(cj, _mm256_loadu_ps(s + 8 * q));
    } else {
      for (int q = 0; q < nv; q++) acc[q] = _mm256_setzero_ps();
    }
    for (int64_t e = start[col], e1 = start[col + 1]; e < e1; e++) {
      __m256 cf = _mm256_set1_ps(value[e]);
      const float *p = a + index[e] * lda;
      for (int q = 0; q < nv; q++) acc[q] = _mm256_fmadd_ps(cf, _mm256_loadu_ps(p + 8 * q), acc[q]);
    }
    float *o = slab + col * ks;
    for (int q = 0; q < nv; q++) _mm256_storeu_ps(o + 8 * q, acc[q]);
  }
}

#define NV_CASES(call)   \
  switch (nv) {          \
  case 8: call(8); break; \
  case 7: call(7); break; \
  case 6: call(6); break; \
  case 5: call(5); break; \
  case 4: call(4); break; \
  case 3: call(3); break; \
  case 2: call(2); break; \
  case 1: call(1); break; \
  default: break;        \
  }

// The chunk's base row, bias + Σ_j center[j]·w[:, j] over the slab (j ascending; center NULL: bias).
SPARSE_TARGET static void chunk_base_fma(const slab_job *j, int64_t k0, int64_t width, const float *slab,
                                         float *base) {
  for (int64_t kk = 0; kk < width; kk++) base[kk] = j->s ? j->s[k0 + kk] : 0.0f;
  if (j->center == NULL) return;
  int64_t v8 = width / 8 * 8;
  for (int64_t col = 0; col < j->c; col++) {
    float cj = j->center[col];
    if (cj == 0.0f) continue;
    const float *p = slab + col * j->ks;
    __m256 c = _mm256_set1_ps(cj);
    for (int64_t kk = 0; kk < v8; kk += 8)
      _mm256_storeu_ps(base + kk, _mm256_fmadd_ps(c, _mm256_loadu_ps(p + kk), _mm256_loadu_ps(base + kk)));
    for (int64_t kk = v8; kk < width; kk++) base[kk] = __builtin_fmaf(cj, p[kk], base[kk]);
  }
}

SPARSE_TARGET static void gather_chunk_fma(const slab_job *j, int64_t k0, int64_t width, const float *slab) {
  int nv = (int)(width / 8);
  float *out = j->out + k0, *base = (float *)slab + j->c * j->ks;
  chunk_base_fma(j, k0, width, slab, base);
#define GATHER(NV) \
  gather_rows_fma(j->start, j->index, j->v, j->lo, j->hi, j->start[j->n], slab, j->ks, base, out, j->ldo, NV)
  NV_CASES(GATHER)
#undef GATHER
  if (width == 8 * nv) return;
  for (int64_t i = j->lo; i < j->hi; i++) {  // the tail
    float *o = out + i * j->ldo;
    for (int64_t kk = 8 * nv; kk < width; kk++) o[kk] = base[kk];
    for (int64_t e = j->start[i]; e < j->start[i + 1]; e++) {
      const float *p = slab + j->index[e] * j->ks;
      for (int64_t kk = 8 * nv; kk < width; kk++) o[kk] = __builtin_fmaf(j->v[e], p[kk], o[kk]);
    }
  }
}

SPARSE_TARGET static void scatter_chunk_fma(const slab_job *j, int64_t k0, int64_t width, float *slab) {
  int nv = (int)(width / 8);
  const float *s = j->s ? j->s + k0 : NULL;
#define SCATTER(NV) \
  scatter_columns_fma(j->start, j->index, j->v, j->lo, j->hi, j->center, s, j->chunk, j->ks, slab, j->ks, NV)
  NV_CASES(SCATTER)
#undef SCATTER
  if (width == 8 * nv) return;
  for (int64_t col = j->lo; col < j->hi; col++) {  // the tail
    float *o = slab + col * j->ks;
    float cj = j->center ? j->center[col] : 0.0f;
    for (int64_t kk = 8 * nv; kk < width; kk++) o[kk] = j->center ? cj * j->s[k0 + kk] : 0.0f;
    for (int64_t e = j->start[col]; e < j->start[col + 1]; e++) {
      const float *p = j->chunk + j->index[e] * j->ks;
      for (int64_t kk = 8 * nv; kk < width; kk++) o[kk] = __builtin_fmaf(j->v[e], p[kk], o[kk]);
    }
  }
}
#endif

static void gather_chunk_portable(const slab_job *j, int64_t k0, int64_t width, const float *slab) {
  float *base = (float *)slab + j->c * j->ks;
  for (int64_t kk = 0; kk < width; kk++) base[kk] = j->s ? j->s[k0 + kk] : 0.0f;
  if (j->center)
    for (int64_t col = 0; col < j->c; col++) {
      float cj = j->center[col];
      if (cj == 0.0f) continue;
      for (int64_t kk = 0; kk < width; kk++) base[kk] += cj * slab[col * j->ks + kk];
    }
  for (int64_t i = j->lo; i < j->hi; i++) {
    float *o = j->out + i * j->ldo + k0;
    for (int64_t kk = 0; kk < width; kk++) o[kk] = base[kk];
    for (int64_t e = j->start[i]; e < j->start[i + 1]; e++) {
      const float *p = slab + j->index[e] * j->ks;
      for (int64_t kk = 0; kk < width; kk++) o[kk] += j->v[e] * p[kk];
    }
  }
}

static void scatter_chunk_portable(const slab_job *j, int64_t k0, int64_t width, float *slab) {
  for (int64_t col = j->lo; col < j->hi; col++) {
    float *o = slab + col * j->ks;
    float cj = j->center ? j->center[col] : 0.0f;
    for (int64_t kk = 0; kk < width; kk++) o[kk] = j->center ? cj * j->s[k0 + kk] : 0.0f;
    for (int64_t e = j->start[col]; e < j->start[col + 1]; e++) {
      const float *p = j->chunk + j->index[e] * j->ks;
      for (int64_t kk = 0; kk < width; kk++) o[kk] += j->v[e] * p[kk];
    }
  }
}

// One chunk's sums on the job's path: ∂W_dec's columns into the slab, or x̂'s rows from it.
static void slab_chunk(const slab_job *j, int64_t k0, int64_t width, float *slab) {
#if BAE_X86
  if (j->avx2) {
    if (j->scatter)
      scatter_chunk_fma(j, k0, width, slab);
    else
      gather_chunk_fma(j, k0, width, slab);
    return;
  }
#endif
  if (j->scatter)
    scatter_chunk_portable(j, k0, width, slab);
  else
    gather_chunk_portable(j, k0, width, slab);
}

// The work is (chunk, row) pairs for x̂ (CSR pattern over n rows) and (chunk, column) pairs for ∂W_dec
// (CSC pattern with values over c columns), chunk-major, split evenly over the parts: a part whose range
// covers part of a chunk takes those rows or columns of it. Per chunk, x̂ transposes the chunk of W_dec
// into the slab and runs the part's rows; ∂W_dec packs a's chunk, sums the part's columns into the slab
// and transposes those slab rows into ∂W_dec. Every output element is still summed by one part in pattern
// order, so the results do not depend on the part count; a chunk shared by two parts is transposed (or
// packed) by both, which costs less than leaving one part idle (9 chunks at d = 576 split 5 : 4 over 2).
static void slab_part(void *ctx, int part, int parts) {
  const slab_job *j = ctx;
  int64_t chunks = (j->d + j->ks - 1) / j->ks, m = j->scatter ? j->c : j->n, lo, hi;
  bae_split(0, chunks * m, part, parts, 1, &lo, &hi);
  if (lo >= hi) return;
  float *slab = j->scratch + (int64_t)part * bae_sparse_scratch_floats(j->d, j->c, j->n);
  // ∂W_dec reads a's chunk packed at stride ks after the slab: a's own rows (8 KiB apart at d = 2048) all
  // fall in the same few cache sets, so unpacked they kept missing L2 (bench_sparse_kernels.sh)
  float *packed = slab + j->ks * (j->c + 1);
  slab_job mine = *j;
  mine.chunk = packed;
  for (int64_t ch = lo / m; ch <= (hi - 1) / m; ch++) {
    int64_t k0 = ch * j->ks, width = j->d - k0 < j->ks ? j->d - k0 : j->ks;
    mine.lo = (lo > ch * m ? lo : ch * m) - ch * m;
    mine.hi = (hi < (ch + 1) * m ? hi : (ch + 1) * m) - ch * m;
    if (j->scatter) {
      for (int64_t i = 0; i < j->n; i++)
        memcpy(packed + i * j->ks, j->a + i * j->lda + k0, (size_t)width * sizeof(float));
      slab_chunk(&mine, k0, width, slab);
      transpose_into(slab + mine.lo * j->ks, j->ks, mine.hi - mine.lo, width, j->out + k0 * j->ldo + mine.lo,
                     j->ldo, j->avx2);
    } else {
      transpose_into(j->w + k0 * j->ldw, j->ldw, width, j->c, slab, j->ks, j->avx2);
      slab_chunk(&mine, k0, width, slab);
    }
  }
}

static int slab_parts(int threads, int64_t d, int64_t ks, int64_t m) {
  int64_t chunks = (d + ks - 1) / ks;
  return parts_for(threads, chunks * m);
}

void bae_sparse_decode_mt(const int64_t *rowStart, const int32_t *colIndex, const float *rowValue, int64_t n,
                          int64_t c, const float *center, const float *bias, const float *w, int64_t ldw, int64_t d,
                          float *out, int64_t ldo, float *scratch, int threads) {
  slab_job job = {.start = rowStart, .index = colIndex, .n = n, .c = c, .v = rowValue, .center = center, .s = bias,
                  .w = w, .ldw = ldw, .d = d, .out = out, .ldo = ldo, .scratch = scratch,
                  .ks = slab_width(c), .avx2 = bae_sparse_path() == BAE_PATH_AVX2};
  bae_parallel(slab_part, &job, slab_parts(threads, d, job.ks, n));
}

void bae_sparse_scatter_columns_mt(const int64_t *colStart, const int32_t *rowIndex, const float *colValue,
                                   int64_t n, int64_t c, const float *center, const float *s, const float *a,
                                   int64_t lda, int64_t d, float *out, int64_t ldo, float *scratch, int threads) {
  slab_job job = {.start = colStart, .index = rowIndex, .n = n, .c = c, .v = colValue, .center = center, .s = s,
                  .a = a, .lda = lda, .d = d, .out = out, .ldo = ldo, .scratch = scratch,
                  .ks = slab_width(c), .scatter = 1, .avx2 = bae_sparse_path() == BAE_PATH_AVX2};
  bae_parallel(slab_part, &job, slab_parts(threads, d, job.ks, c));
}

// ---- ∂a at the pattern (an SAE's): blocks of CB columns of w transposed into scratch ----

#if BAE_X86
SPARSE_TARGET static float dot_fma(const float *a, const float *w, int64_t d) {
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps(), s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
  int64_t k = 0;
  for (; k + 32 <= d; k += 32) {
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + k), _mm256_loadu_ps(w + k), s0);
    s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + k + 8), _mm256_loadu_ps(w + k + 8), s1);
    s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + k + 16), _mm256_loadu_ps(w + k + 16), s2);
    s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + k + 24), _mm256_loadu_ps(w + k + 24), s3);
  }
  for (; k + 8 <= d; k += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + k), _mm256_loadu_ps(w + k), s0);
  float t = hsum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
  for (; k < d; k++) t = __builtin_fmaf(a[k], w[k], t);
  return t;
}
#endif

// Σ_k a[k]·w[k]: four running sums over 32 floats, then 8, then fmaf (AVX2), or one sum (portable).
static inline float dot(const float *a, const float *w, int64_t d, int avx2) {
#if BAE_X86
  if (avx2) return dot_fma(a, w, d);
#endif
  (void)avx2;
  float s = 0;
  for (int64_t k = 0; k < d; k++) s += a[k] * w[k];
  return s;
}

// ∂a: a range of latent blocks; every entry's dot over the whole width d.
static void column_dot_part(void *ctx, int part, int parts) {
  const slab_job *j = ctx;
  int64_t lo, hi;
  bae_split(0, j->c, part, parts, CB, &lo, &hi);
  float *wt = j->scratch + (int64_t)part * bae_sparse_scratch_floats(j->d, j->c, j->n);
  for (int64_t b0 = lo; b0 < hi; b0 += CB) {
    int64_t jb = hi - b0 < CB ? hi - b0 : CB;
    if (j->start[b0] == j->start[b0 + jb]) continue;
    transpose_into(j->w + b0, j->ldw, j->d, jb, wt, j->d, j->avx2);
    for (int64_t jj = 0; jj < jb; jj++)
      for (int64_t e = j->start[b0 + jj]; e < j->start[b0 + jj + 1]; e++) {
        int64_t i = j->index[e];
        j->out[i * j->ldo + b0 + jj] = dot(j->a + i * j->lda, wt + jj * j->d, j->d, j->avx2);
      }
  }
}

void bae_sparse_column_dot_mt(const int64_t *colStart, const int32_t *rowIndex, int64_t c, const float *a,
                              int64_t lda, const float *w, int64_t ldw, int64_t d, float *g, int64_t ldg,
                              float *scratch, int threads) {
  slab_job job = {.start = colStart, .index = rowIndex, .c = c, .a = a, .lda = lda, .w = w, .ldw = ldw, .d = d,
                  .out = g, .ldo = ldg, .scratch = scratch, .avx2 = bae_sparse_path() == BAE_PATH_AVX2};
  bae_parallel(column_dot_part, &job, parts_for(threads, (c + CB - 1) / CB));
}
