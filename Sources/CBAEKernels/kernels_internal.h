// Shared between the kernel files, not exported to Swift: the ISA paths, the per-path implementations
// over sub-ranges (so the threaded entry points can split work), and the tiny thread pool.
#ifndef BAE_KERNELS_INTERNAL_H
#define BAE_KERNELS_INTERNAL_H
#include "bae_kernels.h"

#if defined(__x86_64__) || defined(__i386__)
#define BAE_X86 1
#include <immintrin.h>
#else
#define BAE_X86 0
#endif

/// The path the next call will take (forced, then BAE_KERNEL_PATH, then the best the CPU supports).
int bae_selected_path(void);

// Implementations over sub-ranges; outputs of different sub-ranges are disjoint.
int64_t bae_cov_portable(const uint64_t *colBits, int64_t m, int64_t wpc, const int64_t *counts, int64_t n,
                         int64_t tile0, int64_t tile1, uint64_t *spos, uint64_t *sneg, int64_t wpr);
int64_t bae_cov_popcnt(const uint64_t *colBits, int64_t m, int64_t wpc, const int64_t *counts, int64_t n,
                       int64_t tile0, int64_t tile1, uint64_t *spos, uint64_t *sneg, int64_t wpr);
int64_t bae_cov_avx2(const uint64_t *colBits, int64_t m, int64_t wpc, const int64_t *counts, int64_t n,
                     int64_t tile0, int64_t tile1, uint64_t *spos, uint64_t *sneg, int64_t wpr);
int64_t bae_cov_avx512(const uint64_t *colBits, int64_t m, int64_t wpc, const int64_t *counts, int64_t n,
                       int64_t tile0, int64_t tile1, uint64_t *spos, uint64_t *sneg, int64_t wpr);

/// H·S for output columns [j0, j1): out[i*ldo + j] for all i < n.
typedef void (*bae_product_fn)(const uint64_t *rowBits, int64_t n, const uint64_t *spos, const uint64_t *sneg,
                               int64_t m, int64_t wpr, float *out, int64_t ldo, int64_t j0, int64_t j1);
void bae_product_portable(const uint64_t *, int64_t, const uint64_t *, const uint64_t *, int64_t, int64_t,
                          float *, int64_t, int64_t, int64_t);
void bae_product_popcnt(const uint64_t *, int64_t, const uint64_t *, const uint64_t *, int64_t, int64_t,
                        float *, int64_t, int64_t, int64_t);
void bae_product_avx2(const uint64_t *, int64_t, const uint64_t *, const uint64_t *, int64_t, int64_t,
                      float *, int64_t, int64_t, int64_t);
void bae_product_avx512(const uint64_t *, int64_t, const uint64_t *, const uint64_t *, int64_t, int64_t,
                        float *, int64_t, int64_t, int64_t);
/// The table form of the AVX2 product; returns 0 (and writes nothing) when it cannot run.
int bae_product_avx2_tables(const uint64_t *, int64_t, const uint64_t *, const uint64_t *, int64_t, int64_t,
                            float *, int64_t, int64_t, int64_t);

/// Transposes one 64x64 bit block in place: a[r] bit c <-> a[c] bit r.
void bae_transpose64(uint64_t a[64]);
/// Writes one finished 64x64 tile of pair signs into the planes, with its mirror: every word the tile owns
/// (bae_kernels.h), so the planes need no zeroing first.
void bae_store_tile(int64_t jb, int64_t kb, int64_t m, uint64_t *spos, uint64_t *sneg, int64_t wpr,
                    uint64_t posJ[64], uint64_t negJ[64]);

#if BAE_X86
/// One 8x8 float block (the float transpose, the LUT decoder): o[c*ldo + r] = a[r*lda + c] for r, c < 8, in registers (unpack, shuffle, lane swap).
__attribute__((target("avx2"))) static inline void bae_transpose8_avx2(const float *a, int64_t lda, float *o, int64_t ldo) {
  __m256 r[8], t[8], s[8];
  for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_ps(a + i * lda);
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);  // rows i, i+1: columns 0, 1 | 4, 5
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);  // columns 2, 3 | 6, 7
  }
  for (int i = 0; i < 8; i += 4) {  // s[i + c]: column c | column c + 4 of rows i..i+3
    s[i] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
    s[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
    s[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
    s[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int c = 0; c < 4; c++) {
    _mm256_storeu_ps(o + c * ldo, _mm256_permute2f128_ps(s[c], s[c + 4], 0x20));
    _mm256_storeu_ps(o + (c + 4) * ldo, _mm256_permute2f128_ps(s[c], s[c + 4], 0x31));
  }
}

/// bae_transpose64's six swap rounds on four words at a time: rounds 32..4 swap between whole vectors, round 2
/// between 128-bit halves of two vectors, round 1 between their 64-bit lanes (~460 instructions with its loads
/// and stores, against ~3000 scalar).
/// The vector pairs of each round are spelled out by constant indices so that all 16 vectors stay in registers
/// (a loop with computed indices kept them on the stack: ~2.5x the instructions).
#define SWAP_ROUND(X, Y, J, MASK)                                                       \
  do {                                                                                  \
    __m256i t_ = _mm256_and_si256(_mm256_xor_si256(_mm256_srli_epi64(X, J), Y), MASK); \
    X = _mm256_xor_si256(X, _mm256_slli_epi64(t_, J));                                 \
    Y = _mm256_xor_si256(Y, t_);                                                        \
  } while (0)
// words k and k + 4d (d = 8, 4, 2, 1: vectors a and a + d) swap their bit blocks of 4d
#define VECTOR_ROUND(D, MASK)                                                             \
  do {                                                                                    \
    const __m256i mask_ = _mm256_set1_epi64x((long long)(MASK));                          \
    _Pragma("clang loop unroll(full)") for (int a = 0; a < 16; a++)                      \
      if ((a & (D)) == 0) SWAP_ROUND(v[a], v[a + (D)], 4 * (D), mask_);                  \
  } while (0)
__attribute__((target("avx2"), always_inline)) static inline void bae_transpose64_avx2(uint64_t a[64]) {
  __m256i v[16];
  for (int i = 0; i < 16; i++) v[i] = _mm256_loadu_si256((const __m256i *)(a + 4 * i));
  VECTOR_ROUND(8, 0x00000000FFFFFFFFULL);
  VECTOR_ROUND(4, 0x0000FFFF0000FFFFULL);
  VECTOR_ROUND(2, 0x00FF00FF00FF00FFULL);
  VECTOR_ROUND(1, 0x0F0F0F0F0F0F0F0FULL);
  const __m256i m2 = _mm256_set1_epi64x(0x3333333333333333LL), m1 = _mm256_set1_epi64x(0x5555555555555555LL);
  _Pragma("clang loop unroll(full)") for (int i = 0; i < 16; i += 2) {
    // words 0,1 pair with 2,3: lo = [a0, a1, a4, a5], hi = [a2, a3, a6, a7]
    __m256i lo = _mm256_permute2x128_si256(v[i], v[i + 1], 0x20), hi = _mm256_permute2x128_si256(v[i], v[i + 1], 0x31);
    SWAP_ROUND(lo, hi, 2, m2);
    // words 0 and 1: lo = [a0, a4, a2, a6] and hi = [a1, a5, a3, a7] in the order lo/hi now hold
    __m256i x = _mm256_unpacklo_epi64(lo, hi), y = _mm256_unpackhi_epi64(lo, hi);
    SWAP_ROUND(x, y, 1, m1);
    lo = _mm256_unpacklo_epi64(x, y);
    hi = _mm256_unpackhi_epi64(x, y);
    v[i] = _mm256_permute2x128_si256(lo, hi, 0x20);
    v[i + 1] = _mm256_permute2x128_si256(lo, hi, 0x31);
  }
  for (int i = 0; i < 16; i++) _mm256_storeu_si256((__m256i *)(a + 4 * i), v[i]);
}
#undef VECTOR_ROUND
#undef SWAP_ROUND

/// [Σa0, ..., Σa7]: the lane sums of eight vectors, in order (pair sums within 128-bit lanes, then across).
__attribute__((target("avx512f"))) static inline __m512i bae_hsum8(const __m512i a[8]) {
  __m512i b01 = _mm512_add_epi64(_mm512_unpacklo_epi64(a[0], a[1]), _mm512_unpackhi_epi64(a[0], a[1]));
  __m512i b23 = _mm512_add_epi64(_mm512_unpacklo_epi64(a[2], a[3]), _mm512_unpackhi_epi64(a[2], a[3]));
  __m512i b45 = _mm512_add_epi64(_mm512_unpacklo_epi64(a[4], a[5]), _mm512_unpackhi_epi64(a[4], a[5]));
  __m512i b67 = _mm512_add_epi64(_mm512_unpacklo_epi64(a[6], a[7]), _mm512_unpackhi_epi64(a[6], a[7]));
  __m512i e0 = _mm512_add_epi64(_mm512_shuffle_i64x2(b01, b23, 0x88), _mm512_shuffle_i64x2(b01, b23, 0xDD));
  __m512i e1 = _mm512_add_epi64(_mm512_shuffle_i64x2(b45, b67, 0x88), _mm512_shuffle_i64x2(b45, b67, 0xDD));
  return _mm512_add_epi64(_mm512_shuffle_i64x2(e0, e1, 0x88), _mm512_shuffle_i64x2(e0, e1, 0xDD));
}
#endif

/// Runs fn(ctx, part, parts) for part = 0..<parts, part 0 on the caller, the others on pool threads
/// (created once, on first need, and kept). Returns when all parts are done. Calls are serialised;
/// fn must not call bae_parallel itself (that would wait on its own call).
typedef void (*bae_part_fn)(void *ctx, int part, int parts);
void bae_parallel(bae_part_fn fn, void *ctx, int parts);

/// [lo, hi) of part p of P over [a, b), rounded to multiples of `align` except at b.
static inline void bae_split(int64_t a, int64_t b, int p, int P, int64_t align, int64_t *lo, int64_t *hi) {
  int64_t len = b - a;
  int64_t l = a + (len * p / P) / align * align, h = p + 1 == P ? b : a + (len * (p + 1) / P) / align * align;
  *lo = l < b ? l : b;
  *hi = h < b ? h : b;
}
#endif
