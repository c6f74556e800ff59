// The covariance pair kernel behind bae_covariance_signs: for each pair of code columns, the sign of
// N·n11 − c_j·c_k and its size, in 64x64 tiles of the upper triangle. One implementation per ISA path.
#include "kernels_internal.h"
#include <stdlib.h>
#include <string.h>

// One 64x64 tile of pairs (j in tile jb, k in tile kb, k > j): the upper-triangle bits of rows j go to
// posJ/negJ; the mirrored (k, j) bits are the 64x64 bit transpose of the same tile (by `transpose`). Every word
// the tile owns is overwritten (bae_kernels.h): word kb of rows j, word jb of rows k (one word of each row on the
// diagonal, jb = kb, holding both halves), and for the last tile column the padding words [B, wpr) of rows j.
// Tiles own disjoint words, so tile ranges can run on different threads, and no plane needs zeroing first.
static inline void store_tile_by(int64_t jb, int64_t kb, int64_t m, uint64_t *spos, uint64_t *sneg, int64_t wpr,
                                 uint64_t posJ[64], uint64_t negJ[64], void (*transpose)(uint64_t[64])) {
  const int64_t blocks = (m + 63) / 64, rowsJ = m - jb * 64 < 64 ? m - jb * 64 : 64;
  const int64_t rowsK = m - kb * 64 < 64 ? m - kb * 64 : 64;
  if (kb == blocks - 1)
    for (int64_t t = 0; t < rowsJ; t++) {
      memset(spos + (jb * 64 + t) * wpr + blocks, 0, (size_t)(wpr - blocks) * sizeof(uint64_t));
      memset(sneg + (jb * 64 + t) * wpr + blocks, 0, (size_t)(wpr - blocks) * sizeof(uint64_t));
    }
  if (jb == kb) {  // the diagonal: bits k > j from the rows, k < j from the transpose, in the same words
    uint64_t posT[64], negT[64];
    memcpy(posT, posJ, sizeof posT);
    memcpy(negT, negJ, sizeof negT);
    transpose(posT);
    transpose(negT);
    for (int64_t t = 0; t < rowsJ; t++) {
      spos[(jb * 64 + t) * wpr + kb] = posJ[t] | posT[t];
      sneg[(jb * 64 + t) * wpr + kb] = negJ[t] | negT[t];
    }
    return;
  }
  for (int64_t t = 0; t < rowsJ; t++) {
    spos[(jb * 64 + t) * wpr + kb] = posJ[t];
    sneg[(jb * 64 + t) * wpr + kb] = negJ[t];
  }
  transpose(posJ);
  transpose(negJ);
  for (int64_t t = 0; t < rowsK; t++) {
    spos[(kb * 64 + t) * wpr + jb] = posJ[t];
    sneg[(kb * 64 + t) * wpr + jb] = negJ[t];
  }
}

void bae_store_tile(int64_t jb, int64_t kb, int64_t m, uint64_t *spos, uint64_t *sneg, int64_t wpr,
                    uint64_t posJ[64], uint64_t negJ[64]) {
  store_tile_by(jb, kb, m, spos, sneg, wpr, posJ, negJ, bae_transpose64);
}

#define COV_TILE_BODY(POPCOUNT)                                                                   \
  for (int64_t jb = 0, t = 0; jb * 64 < m; jb++) {                                               \
    for (int64_t kb = jb; kb * 64 < m; kb++, t++) {                                               \
      if (t < tile0) continue;                                                                    \
      if (t >= tile1) return total;                                                               \
      uint64_t posJ[64] = {0}, negJ[64] = {0};                                                    \
      for (int jj = 0; jj < 64; jj++) {                                                           \
        int64_t j = jb * 64 + jj;                                                                 \
        if (j >= m) break;                                                                        \
        const uint64_t *cj = colBits + j * wpc;                                                   \
        int64_t kStart = kb == jb ? jj + 1 : 0;                                                   \
        for (int kk = (int)kStart; kk < 64; kk++) {                                               \
          int64_t k = kb * 64 + kk;                                                               \
          if (k >= m) break;                                                                      \
          int64_t n11 = POPCOUNT(cj, colBits + k * wpc, wpc);                                     \
          int64_t d = n * n11 - counts[j] * counts[k];                                            \
          if (d > 0) { posJ[jj] |= 1ULL << kk; total += d; }                                      \
          else if (d < 0) { negJ[jj] |= 1ULL << kk; total -= d; }                                 \
        }                                                                                         \
      }                                                                                           \
      bae_store_tile(jb, kb, m, spos, sneg, wpr, posJ, negJ);                                     \
    }                                                                                             \
  }

static inline int64_t and_popcount_generic(const uint64_t *a, const uint64_t *b, int64_t w) {
  int64_t s = 0;
  for (int64_t i = 0; i < w; i++) {
    // SWAR popcount: compilers without a popcount instruction for the target still give fast code
    uint64_t x = a[i] & b[i];
    x = x - ((x >> 1) & 0x5555555555555555ULL);
    x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
    x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0FULL;
    s += (int64_t)((x * 0x0101010101010101ULL) >> 56);
  }
  return s;
}

int64_t bae_cov_portable(const uint64_t *colBits, int64_t m, int64_t wpc, const int64_t *counts, int64_t n,
                         int64_t tile0, int64_t tile1, uint64_t *spos, uint64_t *sneg, int64_t wpr) {
  int64_t total = 0;
  COV_TILE_BODY(and_popcount_generic)
  return total;
}

#if BAE_X86
__attribute__((target("popcnt")))
static inline int64_t and_popcount_popcnt(const uint64_t *a, const uint64_t *b, int64_t w) {
  int64_t s = 0;
  for (int64_t i = 0; i < w; i++) s += __builtin_popcountll(a[i] & b[i]);
  return s;
}

__attribute__((target("popcnt")))
int64_t bae_cov_popcnt(const uint64_t *colBits, int64_t m, int64_t wpc, const int64_t *counts, int64_t n,
                       int64_t tile0, int64_t tile1, uint64_t *spos, uint64_t *sneg, int64_t wpr) {
  int64_t total = 0;
  COV_TILE_BODY(and_popcount_popcnt)
  return total;
}

// AVX2: four pairs (j, k..k+3) at a time. Byte counts of each AND come from two vpshufb lookups of
// its nibbles and add up in bytes for up to 28 vectors (each byte stays <= 8 * 28 < 256); vpsadbw
// folds them into 64-bit lanes, and a 4x4 add/shuffle tree gives one vector of four n11 values.
// Products use vpmuludq, exact for n < 2^31 (the caller falls back to popcnt otherwise).
#define AVX2_TARGET __attribute__((target("avx2,popcnt")))
#define AVX2_FLUSH 28

AVX2_TARGET static inline __m256i popcount_bytes(__m256i v, __m256i table, __m256i low) {
  __m256i lo = _mm256_and_si256(v, low), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low);
  return _mm256_add_epi8(_mm256_shuffle_epi8(table, lo), _mm256_shuffle_epi8(table, hi));
}

AVX2_TARGET static inline __m256i nibble_table(void) {
  return _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
                          0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
}

// [Σa0, Σa1, Σa2, Σa3]: the lane sums of four vectors.
AVX2_TARGET static inline __m256i hsum4(__m256i a0, __m256i a1, __m256i a2, __m256i a3) {
  __m256i t01 = _mm256_add_epi64(_mm256_unpacklo_epi64(a0, a1), _mm256_unpackhi_epi64(a0, a1));
  __m256i t23 = _mm256_add_epi64(_mm256_unpacklo_epi64(a2, a3), _mm256_unpackhi_epi64(a2, a3));
  return _mm256_add_epi64(_mm256_permute2x128_si256(t01, t23, 0x20), _mm256_permute2x128_si256(t01, t23, 0x31));
}

// n11 for the four pairs (j, c0..c3): `vecs` whole vectors, then `tail` words under `tailMask`.
AVX2_TARGET static inline __m256i n11_group(const uint64_t *cj, const uint64_t *c0, const uint64_t *c1,
                                            const uint64_t *c2, const uint64_t *c3, int64_t vecs, int64_t tail,
                                            __m256i tailMask, __m256i table, __m256i low) {
  const __m256i zero = _mm256_setzero_si256();
  __m256i q0 = zero, q1 = zero, q2 = zero, q3 = zero;
  int64_t v = 0;
  while (v < vecs) {
    int64_t vEnd = v + AVX2_FLUSH < vecs ? v + AVX2_FLUSH : vecs;
    __m256i b0 = zero, b1 = zero, b2 = zero, b3 = zero;
    for (; v < vEnd; v++) {
      __m256i x = _mm256_loadu_si256((const __m256i *)(cj + 4 * v));
      b0 = _mm256_add_epi8(b0, popcount_bytes(_mm256_and_si256(x, _mm256_loadu_si256((const __m256i *)(c0 + 4 * v))), table, low));
      b1 = _mm256_add_epi8(b1, popcount_bytes(_mm256_and_si256(x, _mm256_loadu_si256((const __m256i *)(c1 + 4 * v))), table, low));
      b2 = _mm256_add_epi8(b2, popcount_bytes(_mm256_and_si256(x, _mm256_loadu_si256((const __m256i *)(c2 + 4 * v))), table, low));
      b3 = _mm256_add_epi8(b3, popcount_bytes(_mm256_and_si256(x, _mm256_loadu_si256((const __m256i *)(c3 + 4 * v))), table, low));
    }
    q0 = _mm256_add_epi64(q0, _mm256_sad_epu8(b0, zero));
    q1 = _mm256_add_epi64(q1, _mm256_sad_epu8(b1, zero));
    q2 = _mm256_add_epi64(q2, _mm256_sad_epu8(b2, zero));
    q3 = _mm256_add_epi64(q3, _mm256_sad_epu8(b3, zero));
  }
  if (tail) {
    __m256i x = _mm256_maskload_epi64((const long long *)(cj + 4 * v), tailMask);
#define TAIL_PAIR(Q, C)                                                                                   \
  Q = _mm256_add_epi64(Q, _mm256_sad_epu8(popcount_bytes(_mm256_and_si256(x,                            \
          _mm256_maskload_epi64((const long long *)(C + 4 * v), tailMask)), table, low), zero))
    TAIL_PAIR(q0, c0); TAIL_PAIR(q1, c1); TAIL_PAIR(q2, c2); TAIL_PAIR(q3, c3);
#undef TAIL_PAIR
  }
  return hsum4(q0, q1, q2, q3);
}

// Short columns (n <= 64 * AVX2_BYTE_WORDS): byte tables ("four Russians" over the rows). For the 64 columns k
// of a tile column and one byte group g (rows 8g..8g+7), T_g[b][l] = popcount(b & byte g of column k_l) for
// all 256 bytes b (one 64-byte line each), so n11 of the 64 pairs (j, k_l) is Σ_g T_g[byte g of column j]:
// two vpaddb per 64 pairs x 8 rows (and one 16-bit load of the byte's table offset), against ~11 vector ops per
// 64 pairs x 8 rows by nibble vpshufb. Tables are built AVX2_BYTE_CHUNK groups at a time (128 KB: in L2, as
// 64 KB was too) and serve every row j of the tiles in range in that tile column; each row's byte counts stay in
// two registers over a chunk, wait in per-thread scratch between chunks and widen to int16 every
// AVX2_BYTE_SPAN groups (bytes <= 8 * 24 < 256). The sign test then runs in 32-bit lanes by vpmaddwd.
#define AVX2_BYTE_WORDS 32
#define AVX2_BYTE_CHUNK 8   // groups per table chunk: 8 x 16 KB (measured against 2, 4 and 16: Benchmarks.md)
#define AVX2_BYTE_SPAN 24   // groups between widenings to int16, a multiple of the chunk

// Per-thread scratch, grown once and kept (the pool's threads live as long as the process).
static __thread uint8_t *byteScratch = NULL;
static __thread size_t byteScratchSize = 0;

static uint8_t *byte_scratch(size_t bytes) {
  if (bytes <= byteScratchSize) return byteScratch;
  uint8_t *p = NULL;
  if (posix_memalign((void **)&p, 64, bytes) != 0) return NULL;
  free(byteScratch);
  byteScratch = p;
  byteScratchSize = bytes;
  return p;
}

// T_g for groups [g0, g0 + AVX2_BYTE_CHUNK) of the 64 columns whose bytes are kBytes[g][l]:
// tab[2 ((g - g0) 256 + b) + half]. Entry b is entry b without its top bit plus that bit's row of the columns:
// one vpaddb and one store per vector at best, so both halves of four entries go per step (from bit 2 on) to
// keep the loop's own instructions small beside them.
AVX2_TARGET static void byte_tables(const uint8_t *kBytes, int64_t g0, __m256i *tab) {
  const __m256i one = _mm256_set1_epi8(1);
  for (int64_t g = g0; g < g0 + AVX2_BYTE_CHUNK; g++) {
    __m256i *t = tab + (g - g0) * 512;
    const __m256i k0 = _mm256_load_si256((const __m256i *)(kBytes + 64 * g));
    const __m256i k1 = _mm256_load_si256((const __m256i *)(kBytes + 64 * g + 32));
    const __m256i r0 = _mm256_and_si256(k0, one), r1 = _mm256_and_si256(k1, one);
    const __m256i s0 = _mm256_and_si256(_mm256_srli_epi16(k0, 1), one);
    const __m256i s1 = _mm256_and_si256(_mm256_srli_epi16(k1, 1), one);
    t[0] = _mm256_setzero_si256(), t[1] = _mm256_setzero_si256();  // entries 0..3: bits 0 and 1
    t[2] = r0, t[3] = r1;
    t[4] = s0, t[5] = s1;
    t[6] = _mm256_add_epi8(r0, s0), t[7] = _mm256_add_epi8(r1, s1);
    for (int bit = 2; bit < 8; bit++) {
      const __m256i row0 = _mm256_and_si256(_mm256_srli_epi16(k0, bit), one);
      const __m256i row1 = _mm256_and_si256(_mm256_srli_epi16(k1, bit), one);
      __m256i *top = t + 2 * (1 << bit);
      for (int b = 0; b < 2 * (1 << bit); b += 8) {
        top[b] = _mm256_add_epi8(t[b], row0), top[b + 1] = _mm256_add_epi8(t[b + 1], row1);
        top[b + 2] = _mm256_add_epi8(t[b + 2], row0), top[b + 3] = _mm256_add_epi8(t[b + 3], row1);
        top[b + 4] = _mm256_add_epi8(t[b + 4], row0), top[b + 5] = _mm256_add_epi8(t[b + 5], row1);
        top[b + 6] = _mm256_add_epi8(t[b + 6], row0), top[b + 7] = _mm256_add_epi8(t[b + 7], row1);
      }
    }
  }
}

// Sign test and |d| of the 64 pairs (j, 64 kb + l), n11 the int16 lanes of w[0..3] (l = 16 i + lane): d =
// N·n11 − c_j·c_k is one vpmaddwd of (n11, c_k) pairs by (N, −c_j) (all below 2^15 for n <= 2048), and the
// d pack with signed saturation (signs kept) into bytes for two movemasks. ck16: counts of the 64 columns
// (zero past m, so d = 0 there); pairs with l < lStart dropped. |d| <= n^2 / 4: a lane's sum of 8 fits 32 bits.
AVX2_TARGET static inline void signs_of_64(const __m256i w[4], const __m256i ck16[4], __m256i coef, int lStart,
                                           uint64_t *pos, uint64_t *neg, __m256i *total) {
  const __m256i zero = _mm256_setzero_si256();
  __m256i sum = zero, packed[4];
  for (int i = 0; i < 4; i++) {
    // unpacking works within 128-bit lanes: dl holds pairs 16i + {0..3, 8..11}, dh 16i + {4..7, 12..15}
    __m256i dl = _mm256_madd_epi16(_mm256_unpacklo_epi16(w[i], ck16[i]), coef);
    __m256i dh = _mm256_madd_epi16(_mm256_unpackhi_epi16(w[i], ck16[i]), coef);
    if (lStart > 16 * i) {
      const __m256i limit = _mm256_set1_epi32(lStart - 16 * i - 1);
      dl = _mm256_and_si256(dl, _mm256_cmpgt_epi32(_mm256_setr_epi32(0, 1, 2, 3, 8, 9, 10, 11), limit));
      dh = _mm256_and_si256(dh, _mm256_cmpgt_epi32(_mm256_setr_epi32(4, 5, 6, 7, 12, 13, 14, 15), limit));
    }
    sum = _mm256_add_epi32(sum, _mm256_add_epi32(_mm256_abs_epi32(dl), _mm256_abs_epi32(dh)));
    packed[i] = _mm256_packs_epi32(dl, dh);  // int16, pairs 16i + 0..15 in order
  }
  // bytes by quadword: pairs 0..7, 16..23, 8..15, 24..31; the permute puts them in order
  __m256i b0 = _mm256_permute4x64_epi64(_mm256_packs_epi16(packed[0], packed[1]), 0xD8);
  __m256i b1 = _mm256_permute4x64_epi64(_mm256_packs_epi16(packed[2], packed[3]), 0xD8);
  *pos = (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpgt_epi8(b0, zero)) |
         (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpgt_epi8(b1, zero)) << 32;
  *neg = (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpgt_epi8(zero, b0)) |
         (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpgt_epi8(zero, b1)) << 32;
  *total = _mm256_add_epi64(*total, _mm256_add_epi64(_mm256_cvtepu32_epi64(_mm256_castsi256_si128(sum)),
                                                     _mm256_cvtepu32_epi64(_mm256_extracti128_si256(sum, 1))));
}

// What a pass over the rows does with each row's byte counts once its chunk of groups is added.
enum { PASS_KEEP, PASS_WIDEN_FIRST, PASS_WIDEN, PASS_SIGNS_FIRST, PASS_SIGNS };

// One chunk of groups over rows [0, rows): a = (zero at a span start, else acc8) + the tables of the row's
// bytes (off: their offsets, four per row); then by `pass`: back to acc8, widened into acc16 (set or added),
// or widened, added and turned into sign words. Constant spanStart and pass give one loop per case.
AVX2_TARGET static inline __attribute__((always_inline)) void chunk_rows(
    const __m256i *tab, const uint16_t *off, int64_t rows, int spanStart, int pass, uint8_t *acc8,
    int16_t *acc16, const int64_t *cj, int64_t jFirst, const __m256i ck16[4], int32_t n, uint64_t *pos,
    uint64_t *neg, __m256i *total) {
  for (int64_t r = 0; r < rows; r++, off += AVX2_BYTE_CHUNK) {
    __m256i *a8 = (__m256i *)(acc8 + 64 * r), *a16 = (__m256i *)(acc16 + 64 * r);
    __m256i a0 = spanStart ? _mm256_setzero_si256() : _mm256_load_si256(a8);
    __m256i a1 = spanStart ? _mm256_setzero_si256() : _mm256_load_si256(a8 + 1);
    // one 16-bit load per group as the index of its two table loads (cheaper than shifting out of wider loads)
    for (int g = 0; g < AVX2_BYTE_CHUNK; g++) {
      const __m256i *t = (const __m256i *)((const uint8_t *)tab + 16384 * g + off[g]);
      a0 = _mm256_add_epi8(a0, _mm256_load_si256(t));
      a1 = _mm256_add_epi8(a1, _mm256_load_si256(t + 1));
    }
    if (pass == PASS_KEEP) {
      _mm256_store_si256(a8, a0);
      _mm256_store_si256(a8 + 1, a1);
      continue;
    }
    __m256i w[4] = {_mm256_cvtepu8_epi16(_mm256_castsi256_si128(a0)),
                    _mm256_cvtepu8_epi16(_mm256_extracti128_si256(a0, 1)),
                    _mm256_cvtepu8_epi16(_mm256_castsi256_si128(a1)),
                    _mm256_cvtepu8_epi16(_mm256_extracti128_si256(a1, 1))};
    if (pass == PASS_WIDEN || pass == PASS_SIGNS)
      for (int i = 0; i < 4; i++) w[i] = _mm256_add_epi16(w[i], _mm256_load_si256(a16 + i));
    if (pass == PASS_WIDEN || pass == PASS_WIDEN_FIRST) {
      for (int i = 0; i < 4; i++) _mm256_store_si256(a16 + i, w[i]);
      continue;
    }
    const __m256i coef = _mm256_set1_epi32((int32_t)((uint32_t)(uint16_t)(-cj[r]) << 16 | (uint32_t)n));
    signs_of_64(w, ck16, coef, jFirst + r >= 0 ? (int)(jFirst + r) + 1 : 0, &pos[r], &neg[r], total);
  }
}

// kBytes[64 g + l] = byte g of column 64 kb + l (0 past m), for all 8 wpc groups: 8x8 byte transposes of
// one word of eight columns each (three rounds of unpacks), not one byte at a time.
AVX2_TARGET static void column_bytes(const uint64_t *colBits, int64_t m, int64_t wpc, int64_t kb, uint8_t *kBytes) {
  for (int l8 = 0; l8 < 64; l8 += 8)
    for (int64_t w = 0; w < wpc; w++) {
      __m128i x[8];
      for (int i = 0; i < 8; i++) {
        int64_t k = kb * 64 + l8 + i;
        x[i] = k < m ? _mm_loadl_epi64((const __m128i *)(colBits + k * wpc + w)) : _mm_setzero_si128();
      }
      // bytes of columns (i, i + 1) interleaved, then pairs of those, then quads: c[q] holds byte 2q of the
      // eight columns, in column order, in its low qword and byte 2q + 1 in its high qword
      __m128i a01 = _mm_unpacklo_epi8(x[0], x[1]), a23 = _mm_unpacklo_epi8(x[2], x[3]);
      __m128i a45 = _mm_unpacklo_epi8(x[4], x[5]), a67 = _mm_unpacklo_epi8(x[6], x[7]);
      __m128i b0 = _mm_unpacklo_epi16(a01, a23), b1 = _mm_unpackhi_epi16(a01, a23);
      __m128i b2 = _mm_unpacklo_epi16(a45, a67), b3 = _mm_unpackhi_epi16(a45, a67);
      __m128i c[4] = {_mm_unpacklo_epi32(b0, b2), _mm_unpackhi_epi32(b0, b2), _mm_unpacklo_epi32(b1, b3),
                      _mm_unpackhi_epi32(b1, b3)};
      uint8_t *out = kBytes + 64 * 8 * w + l8;
      for (int q = 0; q < 4; q++) {
        _mm_storel_epi64((__m128i *)(out + 64 * (2 * q)), c[q]);
        _mm_storeh_pd((double *)(out + 64 * (2 * q + 1)), _mm_castsi128_pd(c[q]));
      }
    }
}

// Tiles in [tile0, tile1) with kb in [kbLo, kbHi), by tile column kb: for each chunk of groups, its tables,
// then every row j of those tiles. Returns 0 (having written nothing) when the scratch memory could not be had.
AVX2_TARGET static int cov_avx2_bytes(const uint64_t *colBits, int64_t m, int64_t wpc, const int64_t *counts,
                                      int64_t n, int64_t tile0, int64_t tile1, int64_t kbLo, int64_t kbHi,
                                      uint64_t *spos, uint64_t *sneg, int64_t wpr, int64_t *total) {
  const int64_t blocks = (m + 63) / 64, groups = 8 * wpc;  // groups: a multiple of 8, so of the chunk
  // the tile rows read, jb(tile0) ..= min(jb(tile1 - 1), kbHi - 1), and so the rows j
  int64_t jbFirst = -1, jbLast = -1;
  for (int64_t jb = 0, t = 0; jb < blocks; t += blocks - jb, jb++) {
    if (jbFirst < 0 && tile0 < t + blocks - jb) jbFirst = jb;
    if (tile1 - 1 < t + blocks - jb) { jbLast = jb; break; }
  }
  if (jbLast > kbHi - 1) jbLast = kbHi - 1;
  *total = 0;
  if (tile1 <= tile0 || kbHi <= kbLo || jbFirst < 0 || jbLast < jbFirst) return 1;
  const int64_t row0 = jbFirst * 64, rowCount = ((jbLast + 1) * 64 < m ? (jbLast + 1) * 64 : m) - row0;
  // scratch: tables; per row: int8 and int16 counts of 64 pairs, sign words, table offsets of its bytes
  const size_t tabBytes = (size_t)AVX2_BYTE_CHUNK * 256 * 64;
  uint8_t *scratch = byte_scratch(tabBytes + (size_t)rowCount * (64 + 128 + 16 + 2 * (size_t)groups));
  if (!scratch) return 0;
  const __m256i *tab = (const __m256i *)scratch;
  uint8_t *acc8 = scratch + tabBytes;
  int16_t *acc16 = (int16_t *)(acc8 + rowCount * 64);
  uint64_t *posAll = (uint64_t *)(acc16 + rowCount * 64), *negAll = posAll + rowCount;
  uint16_t *offsets = (uint16_t *)(negAll + rowCount);
  // offsets[(c rowCount + r) 8 + g % 8] = 64 · byte g of column row0 + r, c = g / 8: each chunk's in row
  // order, as its pass reads them; one chunk (eight groups, one column word) at a time
  _Static_assert(AVX2_BYTE_CHUNK == 8, "the offsets are laid out one column word per chunk");
  for (int64_t r = 0; r < rowCount; r++) {
    const uint8_t *j8 = (const uint8_t *)(colBits + (row0 + r) * wpc);
    for (int64_t g = 0; g < groups; g += 8) {
      __m128i o = _mm_slli_epi16(_mm_cvtepu8_epi16(_mm_loadl_epi64((const __m128i *)(j8 + g))), 6);
      _mm_storeu_si128((__m128i *)(offsets + ((g / 8) * rowCount + r) * 8), o);
    }
  }
  uint8_t kBytes[8 * AVX2_BYTE_WORDS * 64] __attribute__((aligned(32)));  // [g][l]: byte g of column 64 kb + l
  int16_t kCount[64] __attribute__((aligned(32)));
  __m256i totalv = _mm256_setzero_si256();
  for (int64_t kb = kbLo; kb < kbHi; kb++) {
    // the tiles (jb, kb) in range: row-major indices grow with jb, so their jb are contiguous
    int64_t jLo = -1, jHi = -1;
    for (int64_t jb = 0; jb <= kb; jb++) {
      int64_t tile = jb * blocks - jb * (jb - 1) / 2 + (kb - jb);
      if (tile >= tile0 && tile < tile1) { if (jLo < 0) jLo = jb; jHi = jb; }
    }
    if (jLo < 0) continue;
    // rows [64 jLo, jEnd) with a pair in this tile column (j < 64 kb + 63); row r is j = 64 jLo + r
    const int64_t jEnd = (jHi + 1) * 64 < m ? (jHi + 1) * 64 : m;
    const int64_t rows = (jEnd < kb * 64 + 63 ? jEnd : kb * 64 + 63) - jLo * 64, r0 = jLo * 64 - row0;
    for (int l = 0; l < 64; l++) kCount[l] = kb * 64 + l < m ? (int16_t)counts[kb * 64 + l] : 0;
    column_bytes(colBits, m, wpc, kb, kBytes);
    __m256i ck16[4];
    for (int i = 0; i < 4; i++) ck16[i] = _mm256_load_si256((const __m256i *)(kCount + 16 * i));
    for (int64_t g0 = 0; g0 < groups; g0 += AVX2_BYTE_CHUNK) {
      const int64_t g1 = g0 + AVX2_BYTE_CHUNK;
      const int spanStart = g0 % AVX2_BYTE_SPAN == 0, spanEnd = g1 % AVX2_BYTE_SPAN == 0 || g1 == groups;
      const int firstSpan = g0 < AVX2_BYTE_SPAN, last = g1 == groups;
      const int pass = !spanEnd ? PASS_KEEP : !last ? (firstSpan ? PASS_WIDEN_FIRST : PASS_WIDEN)
                                              : firstSpan ? PASS_SIGNS_FIRST : PASS_SIGNS;
      byte_tables(kBytes, g0, (__m256i *)tab);
      const uint16_t *off = offsets + (g0 / AVX2_BYTE_CHUNK * rowCount + r0) * AVX2_BYTE_CHUNK;
#define CHUNK_ROWS(START, PASS)                                                                          \
  chunk_rows(tab, off, rows, START, PASS, acc8, acc16, counts + jLo * 64, jLo * 64 - kb * 64, ck16, (int32_t)n, \
             posAll + r0, negAll + r0, &totalv)
      switch (pass + (spanStart ? 8 : 0)) {
      case PASS_KEEP: CHUNK_ROWS(0, PASS_KEEP); break;
      case PASS_WIDEN_FIRST: CHUNK_ROWS(0, PASS_WIDEN_FIRST); break;
      case PASS_WIDEN: CHUNK_ROWS(0, PASS_WIDEN); break;
      case PASS_SIGNS_FIRST: CHUNK_ROWS(0, PASS_SIGNS_FIRST); break;
      case PASS_SIGNS: CHUNK_ROWS(0, PASS_SIGNS); break;
      case 8 + PASS_KEEP: CHUNK_ROWS(1, PASS_KEEP); break;
      case 8 + PASS_WIDEN_FIRST: CHUNK_ROWS(1, PASS_WIDEN_FIRST); break;
      case 8 + PASS_WIDEN: CHUNK_ROWS(1, PASS_WIDEN); break;
      case 8 + PASS_SIGNS_FIRST: CHUNK_ROWS(1, PASS_SIGNS_FIRST); break;
      default: CHUNK_ROWS(1, PASS_SIGNS); break;
      }
#undef CHUNK_ROWS
    }
    for (int64_t jb = jLo; jb <= jHi; jb++) {
      uint64_t posJ[64] = {0}, negJ[64] = {0};
      for (int t = 0; t < 64 && jb * 64 + t - jLo * 64 < rows; t++) {
        posJ[t] = posAll[r0 + jb * 64 + t - jLo * 64];
        negJ[t] = negAll[r0 + jb * 64 + t - jLo * 64];
      }
      store_tile_by(jb, kb, m, spos, sneg, wpr, posJ, negJ, bae_transpose64_avx2);
    }
  }
  int64_t lanes[4];
  _mm256_storeu_si256((__m256i *)lanes, totalv);
  *total = lanes[0] + lanes[1] + lanes[2] + lanes[3];
  return 1;
}

// Long columns (and the byte form's fallback): four pairs at a time by popcounts, tiles [tile0, tile1).
AVX2_TARGET static int64_t cov_avx2_popcount(const uint64_t *colBits, int64_t m, int64_t wpc,
                                             const int64_t *counts, int64_t n, int64_t tile0, int64_t tile1,
                                             uint64_t *spos, uint64_t *sneg, int64_t wpr) {
  const __m256i table = nibble_table(), low = _mm256_set1_epi8(0x0F), zero = _mm256_setzero_si256();
  const __m256i nv = _mm256_set1_epi64x(n), lane = _mm256_setr_epi64x(0, 1, 2, 3);
  const int64_t fullVecs = wpc / 4;
  const __m256i tailMask = _mm256_cmpgt_epi64(_mm256_set1_epi64x(wpc % 4), lane);
  __m256i totalv = zero;
  for (int64_t jb = 0, tile = 0; jb * 64 < m; jb++) {
    for (int64_t kb = jb; kb * 64 < m; kb++, tile++) {
      if (tile < tile0) continue;
      if (tile >= tile1) goto finish;
      uint64_t posJ[64] = {0}, negJ[64] = {0};
      const __m256i kLimit = _mm256_set1_epi64x(m - kb * 64);  // local k below this are columns of H
      for (int jj = 0; jj < 64 && jb * 64 + jj < m; jj++) {
        int64_t j = jb * 64 + jj;
        const uint64_t *cj = colBits + j * wpc;
        const __m256i cjv = _mm256_set1_epi64x(counts[j]);
        int kStart = kb == jb ? jj + 1 : 0;
        const __m256i kFirst = _mm256_set1_epi64x(kStart - 1);
        for (int k4 = kStart & ~3; k4 < 64; k4 += 4) {
          int64_t kBase = kb * 64 + k4;
          if (kBase >= m) break;
          const uint64_t *c0, *c1, *c2, *c3;
          __m256i valid, ckv;
          if (k4 >= kStart && kBase + 4 <= m) {  // the usual case: four real pairs
            c0 = colBits + kBase * wpc, c1 = c0 + wpc, c2 = c1 + wpc, c3 = c2 + wpc;
            valid = _mm256_set1_epi64x(-1);
            ckv = _mm256_loadu_si256((const __m256i *)(counts + kBase));
          } else {
            // lanes with k in [kStart, 64) and k < m are real pairs; the others read column j and are masked
            __m256i kLocal = _mm256_add_epi64(_mm256_set1_epi64x(k4), lane);
            valid = _mm256_and_si256(_mm256_cmpgt_epi64(kLocal, kFirst), _mm256_cmpgt_epi64(kLimit, kLocal));
            int validBits = _mm256_movemask_pd(_mm256_castsi256_pd(valid));
            c0 = validBits & 1 ? colBits + kBase * wpc : cj;
            c1 = validBits & 2 ? colBits + (kBase + 1) * wpc : cj;
            c2 = validBits & 4 ? colBits + (kBase + 2) * wpc : cj;
            c3 = validBits & 8 ? colBits + (kBase + 3) * wpc : cj;
            ckv = _mm256_maskload_epi64((const long long *)(counts + kBase), valid);
          }
          __m256i n11 = wpc == 8 ? n11_group(cj, c0, c1, c2, c3, 2, 0, tailMask, table, low)  // n = 512: unrolled
                                 : n11_group(cj, c0, c1, c2, c3, fullVecs, wpc % 4, tailMask, table, low);
          __m256i d = _mm256_sub_epi64(_mm256_mul_epu32(nv, n11), _mm256_mul_epu32(cjv, ckv));
          d = _mm256_and_si256(d, valid);
          __m256i isNeg = _mm256_cmpgt_epi64(zero, d);
          posJ[jj] |= (uint64_t)_mm256_movemask_pd(_mm256_castsi256_pd(_mm256_cmpgt_epi64(d, zero))) << k4;
          negJ[jj] |= (uint64_t)_mm256_movemask_pd(_mm256_castsi256_pd(isNeg)) << k4;
          totalv = _mm256_add_epi64(totalv, _mm256_blendv_epi8(d, _mm256_sub_epi64(zero, d), isNeg));
        }
      }
      bae_store_tile(jb, kb, m, spos, sneg, wpr, posJ, negJ);
    }
  }
finish:;
  int64_t lanes[4];
  _mm256_storeu_si256((__m256i *)lanes, totalv);
  return lanes[0] + lanes[1] + lanes[2] + lanes[3];
}

// The AVX2 pairs of tiles in [tile0, tile1) with kb in [kbLo, kbHi): the byte form where it can run, else the
// popcount form, over the part of each tile row jb in that kb range (contiguous tile indices).
static int64_t cov_avx2_kb_range(const uint64_t *colBits, int64_t m, int64_t wpc, const int64_t *counts,
                                 int64_t n, int64_t tile0, int64_t tile1, int64_t kbLo, int64_t kbHi,
                                 uint64_t *spos, uint64_t *sneg, int64_t wpr) {
  int64_t total = 0;
  if (wpc <= AVX2_BYTE_WORDS &&
      cov_avx2_bytes(colBits, m, wpc, counts, n, tile0, tile1, kbLo, kbHi, spos, sneg, wpr, &total))
    return total;
  const int64_t blocks = (m + 63) / 64;
  if (kbLo <= 0 && kbHi >= blocks)
    return cov_avx2_popcount(colBits, m, wpc, counts, n, tile0, tile1, spos, sneg, wpr);
  for (int64_t jb = 0; jb < blocks && jb < kbHi; jb++) {
    const int64_t rowStart = jb * blocks - jb * (jb - 1) / 2 - jb;  // tile (jb, kb) is rowStart + kb
    int64_t a = rowStart + (kbLo > jb ? kbLo : jb), b = rowStart + kbHi;
    if (a < tile0) a = tile0;
    if (b > tile1) b = tile1;
    if (a < b) total += cov_avx2_popcount(colBits, m, wpc, counts, n, a, b, spos, sneg, wpr);
  }
  return total;
}

int64_t bae_cov_avx2(const uint64_t *colBits, int64_t m, int64_t wpc, const int64_t *counts, int64_t n,
                     int64_t tile0, int64_t tile1, uint64_t *spos, uint64_t *sneg, int64_t wpr) {
  return cov_avx2_kb_range(colBits, m, wpc, counts, n, tile0, tile1, 0, (m + 63) / 64, spos, sneg, wpr);
}

// AVX-512: eight pairs (j, k..k+7) at a time. Each pair's AND-popcount is accumulated in a vector over
// the column words; an add/shuffle tree reduces the eight vectors to one vector of eight n11 values, and
// the sign test and |d| run on that vector.
#define AVX_COV_TARGET __attribute__((target("avx512f,avx512dq,avx512vpopcntdq")))
// Short columns (n <= 64 * COV_KT_WORDS = 2048): the tile's 64 k columns are first interleaved by groups of
// eight, kT[q][w][l] = word w of column 64 kb + 8 q + l, so one vector holds word w of eight columns and
// ANDs with column j's word w broadcast: popcounts land per pair, with no horizontal sums, and each kT
// load serves four rows j. The same pairs, signs and |d| as the form below.
#define COV_KT_WORDS 32
AVX_COV_TARGET static void cov_tile_interleaved(const uint64_t *colBits, int64_t m, int64_t wpc,
                                                const int64_t *counts, int64_t n, int64_t jb, int64_t kb,
                                                uint64_t posJ[64], uint64_t negJ[64], __m512i *totalv) {
  uint64_t kT[8 * COV_KT_WORDS * 8] __attribute__((aligned(64)));
  int64_t kCount[64] __attribute__((aligned(64)));
  int groups = 0;
  for (; groups < 8 && kb * 64 + 8 * groups < m; groups++)
    for (int l = 0; l < 8; l++) {
      int64_t k = kb * 64 + 8 * groups + l;
      for (int64_t w = 0; w < wpc; w++) kT[(groups * wpc + w) * 8 + l] = k < m ? colBits[k * wpc + w] : 0;
      kCount[8 * groups + l] = k < m ? counts[k] : 0;
    }
  const __m512i nv = _mm512_set1_epi64(n), lane = _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0);
  const __m512i kLimit = _mm512_set1_epi64(m - kb * 64);  // local k below this are columns of H
  for (int jj = 0; jj < 64 && jb * 64 + jj < m; jj += 4) {
    // rows jj..jj+3; rows past m re-read row jj and are dropped
    int rows = m - (jb * 64 + jj) < 4 ? (int)(m - (jb * 64 + jj)) : 4;
    const uint64_t *cj[4];
    __m512i cjv[4];
    for (int r = 0; r < 4; r++) {
      int64_t j = jb * 64 + jj + (r < rows ? r : 0);
      cj[r] = colBits + j * wpc;
      cjv[r] = _mm512_set1_epi64(counts[j]);
    }
    for (int q = kb == jb ? (jj + 1) / 8 : 0; q < groups; q++) {
      const uint64_t *kq = kT + q * wpc * 8;
      __m512i a[4] = {_mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512(),
                      _mm512_setzero_si512()};
      for (int64_t w = 0; w < wpc; w++) {
        __m512i v = _mm512_load_si512(kq + 8 * w);
        for (int r = 0; r < 4; r++)
          a[r] = _mm512_add_epi64(a[r], _mm512_popcnt_epi64(_mm512_and_si512(_mm512_set1_epi64((long long)cj[r][w]), v)));
      }
      __m512i kLocal = _mm512_add_epi64(_mm512_set1_epi64(8 * q), lane), ck = _mm512_load_si512(kCount + 8 * q);
      __mmask8 real = _mm512_cmplt_epi64_mask(kLocal, kLimit);
      for (int r = 0; r < rows; r++) {
        __mmask8 valid = kb == jb ? real & _mm512_cmpgt_epi64_mask(kLocal, _mm512_set1_epi64(jj + r)) : real;
        __m512i d = _mm512_sub_epi64(_mm512_mullo_epi64(nv, a[r]), _mm512_mullo_epi64(cjv[r], ck));
        posJ[jj + r] |= (uint64_t)_mm512_mask_cmpgt_epi64_mask(valid, d, _mm512_setzero_si512()) << (8 * q);
        negJ[jj + r] |= (uint64_t)_mm512_mask_cmplt_epi64_mask(valid, d, _mm512_setzero_si512()) << (8 * q);
        *totalv = _mm512_mask_add_epi64(*totalv, valid, *totalv, _mm512_abs_epi64(d));
      }
    }
  }
}

AVX_COV_TARGET
int64_t bae_cov_avx512(const uint64_t *colBits, int64_t m, int64_t wpc, const int64_t *counts,
                                int64_t n, int64_t tile0, int64_t tile1, uint64_t *spos, uint64_t *sneg,
                                int64_t wpr) {
  __m512i totalv = _mm512_setzero_si512();
  const __m512i nv = _mm512_set1_epi64(n);
  const __m512i lane = _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0);
  const int64_t fullChunks = wpc / 8;
  const __mmask8 tailMask = (__mmask8)((1u << (wpc % 8)) - 1);
  for (int64_t jb = 0, tile = 0; jb * 64 < m; jb++) {
    for (int64_t kb = jb; kb * 64 < m; kb++, tile++) {
      if (tile < tile0) continue;
      if (tile >= tile1) return _mm512_reduce_add_epi64(totalv);
      uint64_t posJ[64] = {0}, negJ[64] = {0};
      if (wpc <= COV_KT_WORDS) {
        cov_tile_interleaved(colBits, m, wpc, counts, n, jb, kb, posJ, negJ, &totalv);
        bae_store_tile(jb, kb, m, spos, sneg, wpr, posJ, negJ);
        continue;
      }
      for (int jj = 0; jj < 64; jj++) {
        int64_t j = jb * 64 + jj;
        if (j >= m) break;
        const uint64_t *cj = colBits + j * wpc;
        const __m512i cjv = _mm512_set1_epi64(counts[j]);
        int kStart = kb == jb ? jj + 1 : 0;
        for (int k8 = kStart & ~7; k8 < 64; k8 += 8) {
          int64_t kBase = kb * 64 + k8;
          if (kBase >= m) break;
          // lanes with k in [kStart, 64) and k < m are real pairs; others point at column j and are masked
          __m512i kIdx = _mm512_add_epi64(_mm512_set1_epi64(kBase), lane);
          __mmask8 valid = _mm512_cmplt_epi64_mask(kIdx, _mm512_set1_epi64(m)) &
                           _mm512_cmpge_epi64_mask(_mm512_add_epi64(_mm512_set1_epi64(k8), lane),
                                                   _mm512_set1_epi64(kStart));
          const uint64_t *ck[8];
          for (int t = 0; t < 8; t++) ck[t] = (valid >> t) & 1 ? colBits + (kBase + t) * wpc : cj;
          __m512i acc[8];
          for (int t = 0; t < 8; t++) acc[t] = _mm512_setzero_si512();
          int64_t w = 0;
          for (int64_t c = 0; c < fullChunks; c++, w += 8) {
            __m512i x = _mm512_loadu_si512(cj + w);
            for (int t = 0; t < 8; t++)
              acc[t] = _mm512_add_epi64(acc[t], _mm512_popcnt_epi64(_mm512_and_si512(x, _mm512_loadu_si512(ck[t] + w))));
          }
          if (tailMask) {
            __m512i x = _mm512_maskz_loadu_epi64(tailMask, cj + w);
            for (int t = 0; t < 8; t++)
              acc[t] = _mm512_add_epi64(acc[t], _mm512_popcnt_epi64(
                  _mm512_and_si512(x, _mm512_maskz_loadu_epi64(tailMask, ck[t] + w))));
          }
          __m512i n11 = bae_hsum8(acc);
          __m512i ckv = _mm512_maskz_loadu_epi64(valid, counts + kBase);
          __m512i d = _mm512_sub_epi64(_mm512_mullo_epi64(nv, n11), _mm512_mullo_epi64(cjv, ckv));
          d = _mm512_maskz_mov_epi64(valid, d);
          __mmask8 pos = _mm512_cmpgt_epi64_mask(d, _mm512_setzero_si512());
          __mmask8 neg = _mm512_cmplt_epi64_mask(d, _mm512_setzero_si512());
          posJ[jj] |= (uint64_t)pos << k8;
          negJ[jj] |= (uint64_t)neg << k8;
          totalv = _mm512_add_epi64(totalv, _mm512_abs_epi64(d));
        }
      }
      bae_store_tile(jb, kb, m, spos, sneg, wpr, posJ, negJ);
    }
  }
  return _mm512_reduce_add_epi64(totalv);
}

#else
int64_t bae_cov_popcnt(const uint64_t *colBits, int64_t m, int64_t wpc, const int64_t *counts, int64_t n,
                       int64_t tile0, int64_t tile1, uint64_t *spos, uint64_t *sneg, int64_t wpr) {
  return bae_cov_portable(colBits, m, wpc, counts, n, tile0, tile1, spos, sneg, wpr);
}
int64_t bae_cov_avx2(const uint64_t *colBits, int64_t m, int64_t wpc, const int64_t *counts, int64_t n,
                     int64_t tile0, int64_t tile1, uint64_t *spos, uint64_t *sneg, int64_t wpr) {
  return bae_cov_portable(colBits, m, wpc, counts, n, tile0, tile1, spos, sneg, wpr);
}
int64_t bae_cov_avx512(const uint64_t *colBits, int64_t m, int64_t wpc, const int64_t *counts, int64_t n,
                       int64_t tile0, int64_t tile1, uint64_t *spos, uint64_t *sneg, int64_t wpr) {
  return bae_cov_portable(colBits, m, wpc, counts, n, tile0, tile1, spos, sneg, wpr);
}
#endif

typedef int64_t (*cov_fn)(const uint64_t *, int64_t, int64_t, const int64_t *, int64_t, int64_t, int64_t,
                          uint64_t *, uint64_t *, int64_t);
typedef struct {
  cov_fn fn;
  const uint64_t *colBits;
  int64_t m, wpc, n, tile0, tile1, wpr;
  const int64_t *counts;
  uint64_t *spos, *sneg;
  int64_t partial[64];  // one sum per part; integer, so the total does not depend on the split
  int64_t kbCut[65];    // AVX2 with short columns: part p takes the tiles with kb in [kbCut[p], kbCut[p + 1])
  int byKb;
} cov_job;

static void cov_part(void *ctx, int p, int parts) {
  cov_job *c = ctx;
#if BAE_X86
  if (c->byKb) {
    c->partial[p] = cov_avx2_kb_range(c->colBits, c->m, c->wpc, c->counts, c->n, c->tile0, c->tile1,
                                      c->kbCut[p], c->kbCut[p + 1], c->spos, c->sneg, c->wpr);
    return;
  }
#endif
  int64_t t0, t1;
  bae_split(c->tile0, c->tile1, p, parts, 1, &t0, &t1);
  c->partial[p] = c->fn(c->colBits, c->m, c->wpc, c->counts, c->n, t0, t1, c->spos, c->sneg, c->wpr);
}

// Cuts tile columns into `parts` runs of about equal work (a column's tiles in range, plus two for its tables),
// so that each column's tables are built by one thread only.
static void split_by_tile_column(int64_t m, int64_t tile0, int64_t tile1, int parts, int64_t kbCut[65]) {
  const int64_t blocks = (m + 63) / 64;
  int64_t work = 0;
  for (int pass = 0; pass < 2; pass++) {
    int64_t done = 0;
    int p = 1;
    kbCut[0] = 0;
    for (int64_t kb = 0; kb < blocks; kb++) {
      int64_t tiles = 0;
      for (int64_t jb = 0; jb <= kb; jb++) {
        int64_t tile = jb * blocks - jb * (jb - 1) / 2 + (kb - jb);
        tiles += tile >= tile0 && tile < tile1;
      }
      done += tiles ? tiles + 2 : 0;
      while (pass == 1 && p < parts && done * parts >= work * p) kbCut[p++] = kb + 1;
    }
    while (p <= parts) kbCut[p++] = blocks;
    work = done;
  }
}

int64_t bae_covariance_signs_mt(const uint64_t *colBits, int64_t m, int64_t wpc, const int64_t *counts,
                                int64_t n, int64_t tile0, int64_t tile1, uint64_t *spos, uint64_t *sneg,
                                int64_t wpr, int threads) {
  cov_fn fn;
  switch (bae_kernels_path_of(BAE_KERNEL_COVARIANCE)) {
  case BAE_PATH_AVX512: fn = bae_cov_avx512; break;
  case BAE_PATH_AVX2: fn = n < ((int64_t)1 << 31) ? bae_cov_avx2 : bae_cov_popcnt; break;
  case BAE_PATH_POPCNT: fn = bae_cov_popcnt; break;
  default: fn = bae_cov_portable; break;
  }
  int64_t tiles = tile1 > tile0 ? tile1 - tile0 : 0;
  int parts = threads < 1 ? 1 : threads > 64 ? 64 : threads;
  if (parts > tiles) parts = tiles > 0 ? (int)tiles : 1;
  cov_job job = {fn, colBits, m, wpc, n, tile0, tile1, wpr, counts, spos, sneg, {0}, {0}, 0};
#if BAE_X86
  if (fn == bae_cov_avx2 && wpc <= AVX2_BYTE_WORDS && parts > 1) {
    job.byKb = 1;
    split_by_tile_column(m, tile0, tile1, parts, job.kbCut);
  }
#endif
  bae_parallel(cov_part, &job, parts);
  int64_t total = 0;
  for (int p = 0; p < parts; p++) total += job.partial[p];
  return total;
}

int64_t bae_covariance_signs(const uint64_t *colBits, int64_t m, int64_t wpc, const int64_t *counts,
                             int64_t n, int64_t tile0, int64_t tile1, uint64_t *spos, uint64_t *sneg,
                             int64_t wpr) {
  return bae_covariance_signs_mt(colBits, m, wpc, counts, n, tile0, tile1, spos, sneg, wpr, 1);
}
