// Binarisation and the bit transpose behind bae_kernels.h, each over a range of 64-column words so
// the threaded entry points can give every thread a disjoint slice of the outputs.
#include "kernels_internal.h"
#include <string.h>

int64_t bae_row_words(int64_t m) { return ((m + 511) / 512) * 8; }

// Columns [64*w0, min(64*w1, m)) of every row; words [w0, w1) of each packed row are overwritten.
static void binarize_portable(float *z, int64_t n, int64_t m, int64_t ldz, uint64_t *rowBits, int64_t wpr,
                              int64_t *counts, int64_t w0, int64_t w1) {
  int64_t jEnd = w1 * 64 < m ? w1 * 64 : m;
  for (int64_t i = 0; i < n; i++) {
    float *zi = z + i * ldz;
    uint64_t *bi = rowBits + i * wpr;
    memset(bi + w0, 0, (size_t)(w1 - w0) * sizeof(uint64_t));
    for (int64_t j = w0 * 64; j < jEnd; j++) {
      int on = zi[j] > 0.0f;
      zi[j] = on ? 1.0f : 0.0f;
      bi[j >> 6] |= (uint64_t)on << (j & 63);
      counts[j] += on;
    }
  }
}

#if BAE_X86
// Eight floats per compare: the mask gives the 0/1 floats (AND with 1.0), eight code bits (movemask)
// and, as 0/-1 integers, the count increments. NaN compares false, as in the portable path.
__attribute__((target("avx2")))
static void binarize_avx2(float *z, int64_t n, int64_t m, int64_t ldz, uint64_t *rowBits, int64_t wpr,
                          int64_t *counts, int64_t w0, int64_t w1) {
  int64_t jEnd = w1 * 64 < m ? w1 * 64 : m;
  if (jEnd < w0 * 64) jEnd = w0 * 64;  // an empty last part
  int64_t jVec = w0 * 64 + ((jEnd - w0 * 64) & ~(int64_t)7);
  const __m256 one = _mm256_set1_ps(1.0f), zero = _mm256_setzero_ps();
  for (int64_t i = 0; i < n; i++) {
    float *zi = z + i * ldz;
    uint64_t *bi = rowBits + i * wpr;
    memset(bi + w0, 0, (size_t)(w1 - w0) * sizeof(uint64_t));
    int64_t j = w0 * 64;
    for (; j < jVec; j += 8) {
      __m256 on = _mm256_cmp_ps(_mm256_loadu_ps(zi + j), zero, _CMP_GT_OQ);
      _mm256_storeu_ps(zi + j, _mm256_and_ps(on, one));
      bi[j >> 6] |= (uint64_t)(unsigned)_mm256_movemask_ps(on) << (j & 63);
      __m256i neg = _mm256_castps_si256(on);  // -1 where set
      __m256i lo = _mm256_cvtepi32_epi64(_mm256_castsi256_si128(neg));
      __m256i hi = _mm256_cvtepi32_epi64(_mm256_extracti128_si256(neg, 1));
      __m256i *c = (__m256i *)(counts + j);
      _mm256_storeu_si256(c, _mm256_sub_epi64(_mm256_loadu_si256(c), lo));
      _mm256_storeu_si256(c + 1, _mm256_sub_epi64(_mm256_loadu_si256(c + 1), hi));
    }
    for (; j < jEnd; j++) {
      int on = zi[j] > 0.0f;
      zi[j] = on ? 1.0f : 0.0f;
      bi[j >> 6] |= (uint64_t)on << (j & 63);
      counts[j] += on;
    }
  }
}
#endif

typedef struct {
  float *z;
  int64_t n, m, ldz, wpr;
  uint64_t *rowBits;
  int64_t *counts;
  int avx2;
} binarize_job;

static void binarize_part(void *ctx, int p, int parts) {
  binarize_job *b = ctx;
  int64_t w0, w1;
  bae_split(0, (b->m + 63) / 64, p, parts, 1, &w0, &w1);
  if (p + 1 == parts) w1 = b->wpr;  // the last part also clears the padding words
#if BAE_X86
  if (b->avx2) { binarize_avx2(b->z, b->n, b->m, b->ldz, b->rowBits, b->wpr, b->counts, w0, w1); return; }
#endif
  binarize_portable(b->z, b->n, b->m, b->ldz, b->rowBits, b->wpr, b->counts, w0, w1);
}

void bae_binarize_inplace_mt(float *z, int64_t n, int64_t m, int64_t ldz, uint64_t *rowBits, int64_t wpr,
                             int64_t *counts, int threads) {
  binarize_job job = {z, n, m, ldz, wpr, rowBits, counts, bae_kernels_path_of(BAE_KERNEL_BINARIZE) == BAE_PATH_AVX2};
  int64_t words = (m + 63) / 64;
  bae_parallel(binarize_part, &job, threads < words ? threads : (int)(words > 0 ? words : 1));
}

void bae_binarize_inplace(float *z, int64_t n, int64_t m, int64_t ldz, uint64_t *rowBits, int64_t wpr,
                          int64_t *counts) {
  bae_binarize_inplace_mt(z, n, m, ldz, rowBits, wpr, counts, 1);
}

// Hacker's Delight's 6 swap rounds.
void bae_transpose64(uint64_t a[64]) {
  uint64_t m = 0x00000000FFFFFFFFULL;
  for (int j = 32; j != 0; j >>= 1, m ^= (m << j)) {
    for (int k = 0; k < 64; k = ((k | j) + 1) & ~j) {
      uint64_t t = ((a[k] >> j) ^ a[k | j]) & m;
      a[k] ^= t << j;
      a[k | j] ^= t;
    }
  }
}

// Column words [cw0, cw1): columns 64*cw0 .. of every row block.
static void transpose_range(const uint64_t *rowBits, int64_t n, int64_t m, int64_t wpr, uint64_t *colBits,
                            int64_t wpc, int64_t cw0, int64_t cw1) {
  uint64_t block[64];
  for (int64_t cw = cw0; cw < cw1; cw++) {        // 64 columns at a time
    for (int64_t rb = 0; rb < wpc; rb++) {        // 64 rows at a time
      for (int r = 0; r < 64; r++) {
        int64_t i = rb * 64 + r;
        block[r] = i < n ? rowBits[i * wpr + cw] : 0;
      }
      // block[r] bit c = H[rb*64 + r][cw*64 + c]; after the transpose block[c] bit r = the same element
      bae_transpose64(block);
      for (int c = 0; c < 64; c++) {
        int64_t j = cw * 64 + c;
        if (j < m) colBits[j * wpc + rb] = block[c];
      }
    }
  }
}

#if BAE_X86
// The same blocks, transposed by the AVX2 form of the six swap rounds (~1,240 instructions per block with its
// gather and scatter, against ~4,970 with the scalar rounds: callgrind, n = 512, m = 2304).
__attribute__((target("avx2"))) static void transpose_range_avx2(const uint64_t *rowBits, int64_t n, int64_t m,
                                                                  int64_t wpr, uint64_t *colBits, int64_t wpc,
                                                                  int64_t cw0, int64_t cw1) {
  uint64_t block[64] __attribute__((aligned(32)));
  for (int64_t cw = cw0; cw < cw1; cw++) {
    const int64_t cols = m - cw * 64 < 64 ? m - cw * 64 : 64;
    for (int64_t rb = 0; rb < wpc; rb++) {
      for (int r = 0; r < 64; r++) {
        int64_t i = rb * 64 + r;
        block[r] = i < n ? rowBits[i * wpr + cw] : 0;
      }
      bae_transpose64_avx2(block);
      for (int64_t c = 0; c < cols; c++) colBits[(cw * 64 + c) * wpc + rb] = block[c];
    }
  }
}
#endif

typedef struct {
  const uint64_t *rowBits;
  int64_t n, m, wpr, wpc;
  uint64_t *colBits;
  int avx2;
} transpose_job;

static void transpose_part(void *ctx, int p, int parts) {
  transpose_job *t = ctx;
  int64_t w0, w1;
  bae_split(0, (t->m + 63) / 64, p, parts, 1, &w0, &w1);
#if BAE_X86
  if (t->avx2) { transpose_range_avx2(t->rowBits, t->n, t->m, t->wpr, t->colBits, t->wpc, w0, w1); return; }
#endif
  transpose_range(t->rowBits, t->n, t->m, t->wpr, t->colBits, t->wpc, w0, w1);
}

void bae_transpose_bits_mt(const uint64_t *rowBits, int64_t n, int64_t m, int64_t wpr, uint64_t *colBits,
                           int64_t wpc, int threads) {
  transpose_job job = {rowBits, n, m, wpr, wpc, colBits,
                       bae_kernels_path_of(BAE_KERNEL_TRANSPOSE) == BAE_PATH_AVX2};
  int64_t words = (m + 63) / 64;
  bae_parallel(transpose_part, &job, threads < words ? threads : (int)(words > 0 ? words : 1));
}

void bae_transpose_bits(const uint64_t *rowBits, int64_t n, int64_t m, int64_t wpr, uint64_t *colBits,
                        int64_t wpc) {
  bae_transpose_bits_mt(rowBits, n, m, wpr, colBits, wpc, 1);
}
