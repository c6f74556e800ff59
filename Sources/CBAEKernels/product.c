// The H·S product behind bae_signed_popcount_product: out_ij = popcount(h_i AND S+_j) −
// popcount(h_i AND S−_j), one implementation per ISA path, each over a range of output columns.
#include "kernels_internal.h"

// Blocked so a block of S rows (JB rows * wpr words * 2 planes) stays in L2 while every code row
// streams past it.
#define JB 64

static inline int64_t popcount_portable(uint64_t x) {
  x = x - ((x >> 1) & 0x5555555555555555ULL);
  x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
  x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0FULL;
  return (int64_t)((x * 0x0101010101010101ULL) >> 56);
}

void bae_product_portable(const uint64_t *rowBits, int64_t n, const uint64_t *spos, const uint64_t *sneg,
                          int64_t m, int64_t wpr, float *out, int64_t ldo, int64_t jLo, int64_t jHi) {
  (void)m;
  for (int64_t j0 = jLo; j0 < jHi; j0 += JB) {
    int64_t j1 = j0 + JB < jHi ? j0 + JB : jHi;
    for (int64_t i = 0; i < n; i++) {
      const uint64_t *h = rowBits + i * wpr;
      for (int64_t j = j0; j < j1; j++) {
        const uint64_t *sp = spos + j * wpr, *sn = sneg + j * wpr;
        int64_t s = 0;
        for (int64_t w = 0; w < wpr; w++) s += popcount_portable(h[w] & sp[w]) - popcount_portable(h[w] & sn[w]);
        out[i * ldo + j] = (float)s;
      }
    }
  }
}

#if BAE_X86
__attribute__((target("popcnt")))
void bae_product_popcnt(const uint64_t *rowBits, int64_t n, const uint64_t *spos, const uint64_t *sneg,
                        int64_t m, int64_t wpr, float *out, int64_t ldo, int64_t jLo, int64_t jHi) {
  (void)m;
  for (int64_t j0 = jLo; j0 < jHi; j0 += JB) {
    int64_t j1 = j0 + JB < jHi ? j0 + JB : jHi;
    for (int64_t i = 0; i < n; i++) {
      const uint64_t *h = rowBits + i * wpr;
      for (int64_t j = j0; j < j1; j++) {
        const uint64_t *sp = spos + j * wpr, *sn = sneg + j * wpr;
        int64_t s = 0;
        for (int64_t w = 0; w < wpr; w++)
          s += __builtin_popcountll(h[w] & sp[w]) - __builtin_popcountll(h[w] & sn[w]);
        out[i * ldo + j] = (float)s;
      }
    }
  }
}

// AVX2: two code rows share each load of S+_j. Nibble-table (vpshufb) byte counts add up in bytes
// for up to 28 vectors (<= 8 each, so no byte overflows), then vpsadbw folds them to 64 bits.
// S+_j, S−_j and Z_j (the k with S_jk = 0: the diagonal, exact zeros, constant columns) partition
// the m bits, and h_i has no bits past m, so with P = |h_i ∩ S+_j|, Q = |h_i ∩ S−_j|, Z = |h_i ∩ Z_j|:
// P − Q = 2P − |h_i| + Z. Z_j is nearly empty (a few words), so only the S+ plane streams: half the
// popcounts of the two-plane form, which still runs for the rare j whose Z_j spans many words.
// Only the ceil(m/64) words that can hold bits are read (rounded up to whole vectors inside wpr).
#define AVX2_TARGET __attribute__((target("avx2,popcnt")))
#define AVX2_FLUSH 28
// Words of Z_j handled sparsely; more fall back to the two-plane form. Exact zeros d_jk = 0 are common
// for columns whose count shares powers of two with N (at N = 512, c_j = 128 gives d = 0 whenever
// n11 = c_k / 4, an integer for every c_k divisible by 4): ~7 % of rows span 7-21 words in the benchmark
// codes, and on AVX-512 one such row sends its whole group of eight to the two-plane form.
#define ZCAP 16

// For j in [j0, j1): the words of Z_j = the k < m in neither plane, up to ZCAP of them (zCount > ZCAP: more).
static void zero_sets(const uint64_t *spos, const uint64_t *sneg, int64_t wpr, int64_t words, uint64_t lastValid,
                      int64_t j0, int64_t j1, int zCount[JB], int32_t zWord[JB][ZCAP], uint64_t zBits[JB][ZCAP]) {
  for (int64_t j = j0; j < j1; j++) {
    const uint64_t *sp = spos + j * wpr, *sn = sneg + j * wpr;
    int c = 0;
    for (int64_t w = 0; w < words && c <= ZCAP; w++) {
      uint64_t z = ~(sp[w] | sn[w]) & (w + 1 == words ? lastValid : ~(uint64_t)0);
      if (z == 0) continue;
      if (c < ZCAP) { zWord[j - j0][c] = (int32_t)w; zBits[j - j0][c] = z; }
      c++;
    }
    zCount[j - j0] = c;
  }
}

AVX2_TARGET static inline __m256i popcount_bytes(__m256i v, __m256i table, __m256i low) {
  __m256i lo = _mm256_and_si256(v, low), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low);
  return _mm256_add_epi8(_mm256_shuffle_epi8(table, lo), _mm256_shuffle_epi8(table, hi));
}

AVX2_TARGET static inline int64_t lane_sum(__m256i v) {
  __m128i s = _mm_add_epi64(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  return _mm_cvtsi128_si64(s) + _mm_extract_epi64(s, 1);
}

#define LOADV(p) _mm256_loadu_si256((const __m256i *)(p))

// Σ over the vectors of popcount(x AND a) − popcount(x AND b) (b may be NULL: then just the first).
AVX2_TARGET static inline void two_rows(const uint64_t *h0, const uint64_t *h1, const uint64_t *sp,
                                        const uint64_t *sn, int64_t vecs, __m256i table, __m256i low,
                                        int64_t *r0, int64_t *r1) {
  const __m256i zero = _mm256_setzero_si256();
  __m256i s0 = zero, s1 = zero;
  for (int64_t v = 0; v < vecs;) {
    int64_t vEnd = v + AVX2_FLUSH < vecs ? v + AVX2_FLUSH : vecs;
    __m256i p0 = zero, n0 = zero, p1 = zero, n1 = zero;
    if (sn) {
      for (; v < vEnd; v++) {
        __m256i p = LOADV(sp + 4 * v), q = LOADV(sn + 4 * v);
        __m256i x0 = LOADV(h0 + 4 * v), x1 = LOADV(h1 + 4 * v);
        p0 = _mm256_add_epi8(p0, popcount_bytes(_mm256_and_si256(x0, p), table, low));
        n0 = _mm256_add_epi8(n0, popcount_bytes(_mm256_and_si256(x0, q), table, low));
        p1 = _mm256_add_epi8(p1, popcount_bytes(_mm256_and_si256(x1, p), table, low));
        n1 = _mm256_add_epi8(n1, popcount_bytes(_mm256_and_si256(x1, q), table, low));
      }
    } else {
      for (; v < vEnd; v++) {
        __m256i p = LOADV(sp + 4 * v);
        p0 = _mm256_add_epi8(p0, popcount_bytes(_mm256_and_si256(LOADV(h0 + 4 * v), p), table, low));
        p1 = _mm256_add_epi8(p1, popcount_bytes(_mm256_and_si256(LOADV(h1 + 4 * v), p), table, low));
      }
    }
    s0 = _mm256_add_epi64(s0, _mm256_sub_epi64(_mm256_sad_epu8(p0, zero), _mm256_sad_epu8(n0, zero)));
    s1 = _mm256_add_epi64(s1, _mm256_sub_epi64(_mm256_sad_epu8(p1, zero), _mm256_sad_epu8(n1, zero)));
  }
  *r0 = lane_sum(s0);
  *r1 = lane_sum(s1);
}

// Register-blocked form: two code rows against four S rows per step. The nibble split is hoisted out of
// the AND: lo(x AND s) = (x AND 0x0F) AND s and hi(x AND s) = ((x >> 4) AND 0x0F) AND (s >> 4), so each
// row's two masked nibble vectors are made once per row pair (nib) and each S vector is shifted once for
// both rows: per result and vector two ANDs, two vpshufb and two byte adds (8 ops in two_rows). The S rows
// of a block are one list: S+_j for a sparse j, S+_j then S−_j for a dense one (Z_j over ZCAP words), so
// dense j are blocked too. Up to NIB_VECS vectors (m <= 16384); larger m uses two_rows per j.
#define NIB_VECS 64
// Byte sums gain <= 8 per vector (4 per nibble), so 31 vectors fit in a byte before vpsadbw.
#define NIB_FLUSH 31

// nib[4v..4v+3] = the low and high nibbles of h0's vector v, then h1's.
AVX2_TARGET static inline void row_nibbles(const uint64_t *h0, const uint64_t *h1, int64_t vecs, __m256i low,
                                           __m256i *nib) {
  for (int64_t v = 0; v < vecs; v++) {
    __m256i x0 = LOADV(h0 + 4 * v), x1 = LOADV(h1 + 4 * v);
    nib[4 * v] = _mm256_and_si256(x0, low);
    nib[4 * v + 1] = _mm256_and_si256(_mm256_srli_epi16(x0, 4), low);
    nib[4 * v + 2] = _mm256_and_si256(x1, low);
    nib[4 * v + 3] = _mm256_and_si256(_mm256_srli_epi16(x1, 4), low);
  }
}

// The 64-bit lane sums of q[0..3] as four 32-bit integers (each lane and each sum below 2^32).
AVX2_TARGET static inline __m128i lane_sums4(const __m256i q[4]) {
  __m256i x = _mm256_or_si256(q[0], _mm256_slli_epi64(q[1], 32)), y = _mm256_or_si256(q[2], _mm256_slli_epi64(q[3], 32));
  __m256i z = _mm256_add_epi32(_mm256_unpacklo_epi64(x, y), _mm256_unpackhi_epi64(x, y));
  return _mm_add_epi32(_mm256_castsi256_si128(z), _mm256_extracti128_si256(z, 1));
}

// r0[0..3] = Σ_v popcount(h0 AND s[t]) for t < 4, r1 the same for h1, from the rows' nibbles.
AVX2_TARGET static inline void rows2x4(const __m256i *nib, const uint64_t *const s[4], int64_t vecs,
                                       __m256i table, int32_t *r0, int32_t *r1) {
  const __m256i zero = _mm256_setzero_si256();
  __m256i q0[4], q1[4];
  for (int t = 0; t < 4; t++) q0[t] = q1[t] = zero;
  for (int64_t v = 0; v < vecs;) {
    int64_t vEnd = v + NIB_FLUSH < vecs ? v + NIB_FLUSH : vecs;
    __m256i a[4], b[4];
    for (int t = 0; t < 4; t++) a[t] = b[t] = zero;
    for (; v < vEnd; v++) {
      __m256i l0 = nib[4 * v], u0 = nib[4 * v + 1], l1 = nib[4 * v + 2], u1 = nib[4 * v + 3];
      for (int t = 0; t < 4; t++) {
        __m256i sl = LOADV(s[t] + 4 * v), su = _mm256_srli_epi16(sl, 4);
        a[t] = _mm256_add_epi8(a[t], _mm256_shuffle_epi8(table, _mm256_and_si256(l0, sl)));
        a[t] = _mm256_add_epi8(a[t], _mm256_shuffle_epi8(table, _mm256_and_si256(u0, su)));
        b[t] = _mm256_add_epi8(b[t], _mm256_shuffle_epi8(table, _mm256_and_si256(l1, sl)));
        b[t] = _mm256_add_epi8(b[t], _mm256_shuffle_epi8(table, _mm256_and_si256(u1, su)));
      }
    }
    for (int t = 0; t < 4; t++) {
      q0[t] = _mm256_add_epi64(q0[t], _mm256_sad_epu8(a[t], zero));
      q1[t] = _mm256_add_epi64(q1[t], _mm256_sad_epu8(b[t], zero));
    }
  }
  _mm_storeu_si128((__m128i *)r0, lane_sums4(q0));
  _mm_storeu_si128((__m128i *)r1, lane_sums4(q1));
}

// The blocked form's S rows and corrections for one block of columns [j0, j1).
typedef struct {
  const uint64_t *plane[2 * JB + 4];  // S+_j at j − j0, then S−_j of each dense j, padded to groups of four
  int entries, denseCount, extraCount;
  int denseJ[JB], denseNeg[JB];  // a dense j (offset from j0) and its S−_j entry: result P − Q
  // for a sparse j (offset jl): Z minus the diagonal bit added as sign * popcount(h[word] AND bits)
  int extraJ[JB * (ZCAP + 1)], extraSign[JB * (ZCAP + 1)];
  int32_t extraWord[JB * (ZCAP + 1)];
  uint64_t extraBits[JB * (ZCAP + 1)];
} block_plan;

static void plan_block(const uint64_t *spos, const uint64_t *sneg, int64_t wpr, int64_t j0, int64_t j1,
                       const int zCount[JB], const int32_t zWord[JB][ZCAP], const uint64_t zBits[JB][ZCAP],
                       block_plan *b) {
  int count = (int)(j1 - j0);
  b->entries = count;
  b->denseCount = b->extraCount = 0;
  for (int jl = 0; jl < count; jl++) {
    int64_t j = j0 + jl;
    b->plane[jl] = spos + j * wpr;
    if (zCount[jl] > ZCAP) {
      b->denseJ[b->denseCount] = jl;
      b->denseNeg[b->denseCount++] = b->entries;
      b->plane[b->entries++] = sneg + j * wpr;
      continue;
    }
    // the finish adds h_ij for every j: take it back when j is not in Z_j
    int64_t dw = j / 64;
    uint64_t diag = (uint64_t)1 << (j % 64);
    if ((spos[j * wpr + dw] | sneg[j * wpr + dw]) & diag) {
      b->extraJ[b->extraCount] = jl, b->extraSign[b->extraCount] = -1;
      b->extraWord[b->extraCount] = (int32_t)dw, b->extraBits[b->extraCount++] = diag;
    }
    for (int u = 0; u < zCount[jl]; u++) {
      uint64_t bits = zBits[jl][u] & (zWord[jl][u] == dw ? ~diag : ~(uint64_t)0);
      if (bits == 0) continue;
      b->extraJ[b->extraCount] = jl, b->extraSign[b->extraCount] = 1;
      b->extraWord[b->extraCount] = zWord[jl][u], b->extraBits[b->extraCount++] = bits;
    }
  }
  for (int e = b->entries; e % 4; e++) b->plane[e] = b->plane[b->entries - 1];  // padding; counts unused
}

// One code row's outputs for the block: 2P − |h| + h_ij eight at a time, then the plan's corrections.
AVX2_TARGET static void finish_row(const block_plan *b, const int32_t *pop, const uint64_t *h, int64_t words,
                                   int64_t ones, int64_t j0, int64_t j1, float *outRow) {
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), one = _mm256_set1_epi32(1);
  const __m256i o = _mm256_set1_epi32((int32_t)ones);
  for (int64_t j = j0; j < j1; j += 8) {
    int64_t w = j / 64, sh = j % 64;
    uint64_t bits = h[w] >> sh;
    if (sh > 56 && w + 1 < words) bits |= h[w + 1] << (64 - sh);
    __m256i d = _mm256_and_si256(_mm256_srlv_epi32(_mm256_set1_epi32((int32_t)(bits & 0xFF)), lane), one);
    __m256i p = _mm256_loadu_si256((const __m256i *)(pop + (j - j0)));
    __m256 f = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_add_epi32(_mm256_add_epi32(p, p), d), o));
    if (j1 - j >= 8) _mm256_storeu_ps(outRow + j, f);
    else _mm256_maskstore_ps(outRow + j, _mm256_cmpgt_epi32(_mm256_set1_epi32((int32_t)(j1 - j)), lane), f);
  }
  for (int e = 0; e < b->extraCount; e++)
    outRow[j0 + b->extraJ[e]] += (float)(b->extraSign[e] * __builtin_popcountll(h[b->extraWord[e]] & b->extraBits[e]));
  for (int k = 0; k < b->denseCount; k++)
    outRow[j0 + b->denseJ[k]] = (float)(pop[b->denseJ[k]] - pop[b->denseNeg[k]]);
}

AVX2_TARGET
void bae_product_avx2(const uint64_t *rowBits, int64_t n, const uint64_t *spos, const uint64_t *sneg,
                      int64_t m, int64_t wpr, float *out, int64_t ldo, int64_t jLo, int64_t jHi) {
  const __m256i table = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
                                         0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
  const __m256i low = _mm256_set1_epi8(0x0F);
  const int64_t words = (m + 63) / 64;
  int64_t vecs = (words + 3) / 4;
  if (vecs * 4 > wpr) vecs = wpr / 4;  // wpr is a multiple of 8 from bae_row_words; stay inside a row
  const uint64_t lastValid = m % 64 ? ((uint64_t)1 << (m % 64)) - 1 : ~(uint64_t)0;
  const int blocked = vecs <= NIB_VECS;
  int zCount[JB];
  int32_t zWord[JB][ZCAP];
  uint64_t zBits[JB][ZCAP];
  __m256i nib[4 * NIB_VECS];               // 8 KB
  int32_t pop0[2 * JB + 8], pop1[2 * JB + 8];  // popcount(h_i AND plane[e]) for the row pair
  block_plan plan;
  for (int64_t j0 = jLo; j0 < jHi; j0 += JB) {
    int64_t j1 = j0 + JB < jHi ? j0 + JB : jHi;
    zero_sets(spos, sneg, wpr, words, lastValid, j0, j1, zCount, zWord, zBits);
    if (blocked) plan_block(spos, sneg, wpr, j0, j1, zCount, zWord, zBits, &plan);
    for (int64_t i = 0; i < n; i += 2) {
      // an odd last row pairs with itself; its duplicate result is dropped
      const uint64_t *h0 = rowBits + i * wpr, *h1 = i + 1 < n ? h0 + wpr : h0;
      int64_t ones0 = 0, ones1 = 0;
      for (int64_t w = 0; w < words; w++) { ones0 += __builtin_popcountll(h0[w]); ones1 += __builtin_popcountll(h1[w]); }
      if (blocked) {
        row_nibbles(h0, h1, vecs, low, nib);
        for (int g = 0; g < plan.entries; g += 4) rows2x4(nib, plan.plane + g, vecs, table, pop0 + g, pop1 + g);
        finish_row(&plan, pop0, h0, words, ones0, j0, j1, out + i * ldo);
        if (i + 1 < n) finish_row(&plan, pop1, h1, words, ones1, j0, j1, out + (i + 1) * ldo);
        continue;
      }
      for (int64_t j = j0; j < j1; j++) {
        const uint64_t *sp = spos + j * wpr, *sn = sneg + j * wpr;
        int c = zCount[j - j0];
        int64_t r0, r1;
        if (c <= ZCAP) {
          int64_t p0, p1, z0 = 0, z1 = 0;
          two_rows(h0, h1, sp, NULL, vecs, table, low, &p0, &p1);
          for (int t = 0; t < c; t++) {
            z0 += __builtin_popcountll(h0[zWord[j - j0][t]] & zBits[j - j0][t]);
            z1 += __builtin_popcountll(h1[zWord[j - j0][t]] & zBits[j - j0][t]);
          }
          r0 = 2 * p0 - ones0 + z0;
          r1 = 2 * p1 - ones1 + z1;
        } else {
          two_rows(h0, h1, sp, sn, vecs, table, low, &r0, &r1);
        }
        out[i * ldo + j] = (float)r0;
        if (i + 1 < n) out[(i + 1) * ldo + j] = (float)r1;
      }
    }
  }
}

// AVX-512 VPOPCNTDQ: the same identity P − Q = 2P − |h_i| + Z as the AVX2 path (only S+ streams), with
// two code rows against eight S rows j..j+7 per step: each S+ load serves two rows and each row load eight
// j, the 16 accumulators stay in registers, and one add/shuffle tree per row turns eight 64-bit lane sums
// into the eight results, converted and stored as one vector (not a horizontal sum per output).
#define AVX512_TARGET __attribute__((target("avx512f,avx512dq,avx512vpopcntdq,popcnt")))

// Σ_v popcount(x0 AND a_t) and popcount(x1 AND a_t) for t < 8 (and minus popcount(x AND b_t) when b != NULL).
AVX512_TARGET static inline void rows2x8(const uint64_t *h0, const uint64_t *h1, const uint64_t *const a[8],
                                         const uint64_t *const b[8], int64_t vecs, __m512i r0[8], __m512i r1[8]) {
  for (int t = 0; t < 8; t++) r0[t] = r1[t] = _mm512_setzero_si512();
  for (int64_t w = 0; w < 8 * vecs; w += 8) {
    __m512i x0 = _mm512_loadu_si512(h0 + w), x1 = _mm512_loadu_si512(h1 + w);
    for (int t = 0; t < 8; t++) {
      __m512i s = _mm512_loadu_si512(a[t] + w);
      r0[t] = _mm512_add_epi64(r0[t], _mm512_popcnt_epi64(_mm512_and_si512(x0, s)));
      r1[t] = _mm512_add_epi64(r1[t], _mm512_popcnt_epi64(_mm512_and_si512(x1, s)));
    }
    if (b)
      for (int t = 0; t < 8; t++) {
        __m512i s = _mm512_loadu_si512(b[t] + w);
        r0[t] = _mm512_sub_epi64(r0[t], _mm512_popcnt_epi64(_mm512_and_si512(x0, s)));
        r1[t] = _mm512_sub_epi64(r1[t], _mm512_popcnt_epi64(_mm512_and_si512(x1, s)));
      }
  }
}

AVX512_TARGET
void bae_product_avx512(const uint64_t *rowBits, int64_t n, const uint64_t *spos, const uint64_t *sneg,
                        int64_t m, int64_t wpr, float *out, int64_t ldo, int64_t jLo, int64_t jHi) {
  const int64_t words = (m + 63) / 64;
  int64_t vecs = (words + 7) / 8;
  if (vecs * 8 > wpr) vecs = wpr / 8;
  const uint64_t lastValid = m % 64 ? ((uint64_t)1 << (m % 64)) - 1 : ~(uint64_t)0;
  int zCount[JB];
  int32_t zWord[JB][ZCAP];
  uint64_t zBits[JB][ZCAP];
  for (int64_t j0 = jLo; j0 < jHi; j0 += JB) {
    int64_t j1 = j0 + JB < jHi ? j0 + JB : jHi;
    zero_sets(spos, sneg, wpr, words, lastValid, j0, j1, zCount, zWord, zBits);
    // Z_j always holds j (the pair kernel never sets the diagonal): Z = h_ij + the popcounts of Z_j's other
    // words ("extras", few). Per group of eight S rows: its extras (lane, word, bits) in a list, or
    // dense[group] when some Z_j is too large (the two-plane form, P − Q directly)
    int dense[JB / 8], extraStart[JB / 8 + 1], extraLane[JB * ZCAP];
    int32_t extraWord[JB * ZCAP];
    uint64_t extraBits[JB * ZCAP];
    int extras = 0;
    for (int64_t g = j0; g < j1; g += 8) {
      int q = (int)(g - j0) / 8;
      dense[q] = 0;
      extraStart[q] = extras;
      for (int64_t j = g; j < g + 8 && j < j1; j++) {
        int64_t jl = j - j0;
        if (zCount[jl] > ZCAP) dense[q] = 1;
        else
          for (int u = 0; u < zCount[jl]; u++) {
            uint64_t bits = zBits[jl][u] & (zWord[jl][u] == j / 64 ? ~((uint64_t)1 << (j % 64)) : ~(uint64_t)0);
            if (bits == 0) continue;
            extraLane[extras] = (int)(j - g);
            extraWord[extras] = zWord[jl][u];
            extraBits[extras++] = bits;
          }
      }
      if (dense[q]) extras = extraStart[q];
    }
    extraStart[(j1 - j0 + 7) / 8] = extras;
    const __m512i one = _mm512_set1_epi64(1);
    for (int64_t i = 0; i < n; i += 2) {
      // an odd last row pairs with itself; its duplicate result is dropped
      const uint64_t *h0 = rowBits + i * wpr, *h1 = i + 1 < n ? h0 + wpr : h0;
      int64_t ones0 = 0, ones1 = 0;
      for (int64_t w = 0; w < words; w++) { ones0 += __builtin_popcountll(h0[w]); ones1 += __builtin_popcountll(h1[w]); }
      const __m512i o0 = _mm512_set1_epi64(ones0), o1 = _mm512_set1_epi64(ones1);
      for (int64_t g = j0; g < j1; g += 8) {
        // lanes past j1 re-read row g and their results are dropped
        int lanes = j1 - g < 8 ? (int)(j1 - g) : 8, q = (int)(g - j0) / 8;
        const uint64_t *ap[8], *an[8];
        for (int t = 0; t < 8; t++) {
          int64_t j = t < lanes ? g + t : g;
          ap[t] = spos + j * wpr;
          an[t] = sneg + j * wpr;
        }
        __m512i r0[8], r1[8];
        rows2x8(h0, h1, ap, dense[q] ? an : NULL, vecs, r0, r1);
        __m512i v0 = bae_hsum8(r0), v1 = bae_hsum8(r1);
        if (!dense[q]) {  // P − Q = 2P − |h_i| + h_ij + extras, with g a multiple of 8
          __mmask8 b0 = (__mmask8)(h0[g / 64] >> (g % 64)), b1 = (__mmask8)(h1[g / 64] >> (g % 64));
          v0 = _mm512_sub_epi64(_mm512_add_epi64(_mm512_slli_epi64(v0, 1), _mm512_maskz_mov_epi64(b0, one)), o0);
          v1 = _mm512_sub_epi64(_mm512_add_epi64(_mm512_slli_epi64(v1, 1), _mm512_maskz_mov_epi64(b1, one)), o1);
          for (int e = extraStart[q]; e < extraStart[q + 1]; e++) {
            __mmask8 lane = (__mmask8)(1u << extraLane[e]);
            v0 = _mm512_mask_add_epi64(v0, lane, v0, _mm512_set1_epi64(__builtin_popcountll(h0[extraWord[e]] & extraBits[e])));
            v1 = _mm512_mask_add_epi64(v1, lane, v1, _mm512_set1_epi64(__builtin_popcountll(h1[extraWord[e]] & extraBits[e])));
          }
        }
        __m256 f0 = _mm512_cvtepi64_ps(v0), f1 = _mm512_cvtepi64_ps(v1);
        if (lanes == 8) {
          _mm256_storeu_ps(out + i * ldo + g, f0);
          if (i + 1 < n) _mm256_storeu_ps(out + (i + 1) * ldo + g, f1);
        } else {
          float t0[8], t1[8];
          _mm256_storeu_ps(t0, f0);
          _mm256_storeu_ps(t1, f1);
          for (int t = 0; t < lanes; t++) {
            out[i * ldo + g + t] = t0[t];
            if (i + 1 < n) out[(i + 1) * ldo + g + t] = t1[t];
          }
        }
      }
    }
  }
}

#else
void bae_product_popcnt(const uint64_t *rowBits, int64_t n, const uint64_t *spos, const uint64_t *sneg,
                        int64_t m, int64_t wpr, float *out, int64_t ldo, int64_t jLo, int64_t jHi) {
  bae_product_portable(rowBits, n, spos, sneg, m, wpr, out, ldo, jLo, jHi);
}
void bae_product_avx2(const uint64_t *rowBits, int64_t n, const uint64_t *spos, const uint64_t *sneg,
                      int64_t m, int64_t wpr, float *out, int64_t ldo, int64_t jLo, int64_t jHi) {
  bae_product_portable(rowBits, n, spos, sneg, m, wpr, out, ldo, jLo, jHi);
}
void bae_product_avx512(const uint64_t *rowBits, int64_t n, const uint64_t *spos, const uint64_t *sneg,
                        int64_t m, int64_t wpr, float *out, int64_t ldo, int64_t jLo, int64_t jHi) {
  bae_product_portable(rowBits, n, spos, sneg, m, wpr, out, ldo, jLo, jHi);
}
#endif

// Automatic by default: the table form (product_tables.c) for n >= BAE_TABLE_MIN_ROWS code rows, else the
// popcount form. At n = 512 the table form takes 0.42-0.46x the CPU time of the popcount form on a step's
// own codes at m = 2304 and 8192 (whose S rows with wide zero sets send the popcount form to both planes;
// Benchmarks.md, "AVX2 H·S product, third pass"). Its table builds do not shrink with n, so with few rows it
// loses: on synthetic codes it measured faster down to n = 128 (0.58x at m = 2304, 0.82-0.89x at m = 8192,
// CPU min) but slower at n = 64, m = 8192 (1.3x); the threshold was set before that pass and not re-tuned.
#define BAE_TABLE_MIN_ROWS 384
static int product_form = BAE_PRODUCT_AUTO;

int bae_kernels_set_product_form(int form) {
  if (form != BAE_PRODUCT_TABLES && form != BAE_PRODUCT_POPCOUNT && form != BAE_PRODUCT_AUTO) return -1;
  __atomic_store_n(&product_form, form, __ATOMIC_RELAXED);
  return 0;
}

// The table form where it can run (m <= 32767, scratch memory), else the popcount form.
static void product_avx2_tables_or_popcount(const uint64_t *rowBits, int64_t n, const uint64_t *spos,
                                            const uint64_t *sneg, int64_t m, int64_t wpr, float *out, int64_t ldo,
                                            int64_t jLo, int64_t jHi) {
  if (!bae_product_avx2_tables(rowBits, n, spos, sneg, m, wpr, out, ldo, jLo, jHi))
    bae_product_avx2(rowBits, n, spos, sneg, m, wpr, out, ldo, jLo, jHi);
}

typedef struct {
  bae_product_fn fn;
  const uint64_t *rowBits, *spos, *sneg;
  int64_t n, m, wpr, ldo;
  float *out;
} product_job;

static void product_part(void *ctx, int p, int parts) {
  product_job *j = ctx;
  int64_t j0, j1;
  bae_split(0, j->m, p, parts, 64, &j0, &j1);  // whole 64-column blocks: no shared cache lines in out
  j->fn(j->rowBits, j->n, j->spos, j->sneg, j->m, j->wpr, j->out, j->ldo, j0, j1);
}

void bae_signed_popcount_product_mt(const uint64_t *rowBits, int64_t n, const uint64_t *spos,
                                    const uint64_t *sneg, int64_t m, int64_t wpr, float *out, int64_t ldo,
                                    int threads) {
  bae_product_fn fn;
  switch (bae_kernels_path_of(BAE_KERNEL_PRODUCT)) {
  case BAE_PATH_AVX512: fn = wpr % 8 == 0 ? bae_product_avx512 : bae_product_popcnt; break;
  case BAE_PATH_AVX2: {
    int form = __atomic_load_n(&product_form, __ATOMIC_RELAXED);
    if (form == BAE_PRODUCT_AUTO) form = n >= BAE_TABLE_MIN_ROWS ? BAE_PRODUCT_TABLES : BAE_PRODUCT_POPCOUNT;
    fn = wpr % 4 != 0 ? bae_product_popcnt : form == BAE_PRODUCT_TABLES ? product_avx2_tables_or_popcount : bae_product_avx2;
    break;
  }
  case BAE_PATH_POPCNT: fn = bae_product_popcnt; break;
  default: fn = bae_product_portable; break;
  }
  int64_t blocks = (m + 63) / 64;
  int parts = threads < 1 ? 1 : threads;
  if (parts > blocks) parts = blocks > 0 ? (int)blocks : 1;
  product_job job = {fn, rowBits, spos, sneg, n, m, wpr, ldo, out};
  bae_parallel(product_part, &job, parts);
}

void bae_signed_popcount_product(const uint64_t *rowBits, int64_t n, const uint64_t *spos,
                                 const uint64_t *sneg, int64_t m, int64_t wpr, float *out, int64_t ldo) {
  bae_signed_popcount_product_mt(rowBits, n, spos, sneg, m, wpr, out, ldo, 1);
}
