// The lookup-table ("four Russians") product behind the BAE's dense binary decoder (Method.md §10,
// "The LUT decoder"): out = bias + B·src for a bit-packed 0/1 matrix B. The inner dimension is cut into groups
// of 8; a group's 256 subset sums of src rows are tabulated (one vector add per entry) and each output
// row adds one entry per group: rows·(inner/8) adds instead of rows·inner multiply-adds.
// Threads own disjoint output column ranges and each element is summed in one fixed order (bias, then
// groups ascending; each table entry from its smaller subset), so paths, thread counts and layouts agree
// bitwise. Either operand may be stored transposed (the decoder's W_dec and ∂W_dec are): src is gathered
// into a small block per table set, and out's last pass stores 8x8 transposed blocks.
#include "kernels_internal.h"
#pragma clang fp contract(off)  // the same roundings on every path: no fused multiply-adds

#ifndef LUT_G
#define LUT_G 8     // bits per group
#endif
#ifndef LUT_TILE
#define LUT_TILE 32  // output columns per pass (2 AVX-512 or 4 AVX2 accumulators)
#endif
#ifndef LUT_SET
#define LUT_SET 8  // groups whose tables are live at once: 8 x 256 x 32 floats = 256 KiB (L2)
#endif
// (G, TILE, SET) = (8, 32, 8) measured fastest at d = 576 among 4/8 x 16..128 x 2..32 (Benchmarks.md,
// "LUT decoder") and again at d = 2048, d' = 8192 ("LUT decoder at the paper shape"); build with
// -DLUT_TILE=... to time others (scripts/bench_lut_kernels.sh).
#define LUT_ENTRIES (1 << LUT_G)  // subsets of a group
#define LUT_CAT2(a, b) a##_##b
#define LUT_CAT(a, b) LUT_CAT2(a, b)

static int64_t lut_groups(int64_t inner) { return (inner + LUT_G - 1) / LUT_G; }

// One thread's scratch: the live tables, the set's source rows when src is transposed, and the running
// sums of the tile's rows between table sets (rows x TILE, contiguous: a strided output row per row would
// cost a TLB entry each at the paper shape's 8192 rows).
typedef struct {
  float *tab, *block, *partial;
} lut_space;

int64_t bae_lut_scratch_floats(int64_t rows, int64_t inner) {
  const int64_t passes = lut_groups(inner) > LUT_SET;
  return (int64_t)LUT_SET * LUT_ENTRIES * LUT_TILE + (int64_t)LUT_SET * LUT_G * LUT_TILE +
         passes * (rows > 0 ? rows : 0) * LUT_TILE;
}

static lut_space lut_space_at(float *scratch) {
  lut_space sp = {scratch, scratch + (int64_t)LUT_SET * LUT_ENTRIES * LUT_TILE, NULL};
  sp.partial = sp.block + (int64_t)LUT_SET * LUT_G * LUT_TILE;
  return sp;
}

typedef struct {
  const uint64_t *bits;
  int64_t rows, wpb, inner;
  const float *src;
  int64_t lds, cols;
  const float *bias;
  float *out;
  int64_t ldo;
  int layout;
  float *scratch;
  int64_t perThread;
} lut_job;

// Bits [G·q, G·q + G) of a packed row (G divides 64).
static inline unsigned lut_group(const uint64_t *row, int64_t q) {
  return (unsigned)(row[(q * LUT_G) >> 6] >> ((q * LUT_G) & 63)) & (LUT_ENTRIES - 1u);
}

// block[(s·G + h)·TILE + k] = src(G·(q0 + s) + h, kt + k) for the set's whole groups and columns [kt, kt + w),
// in 8x8 register transposes on x86 vector paths (w a multiple of 8 there), then the rest one by one.
static void lut_gather(const lut_job *j, int64_t kt, int64_t w, int64_t q0, int64_t ns, float *block, int vector) {
  for (int64_t s = 0; s < ns; s++) {
    const int64_t c0 = (q0 + s) * LUT_G, bits = j->inner - c0 < LUT_G ? j->inner - c0 : LUT_G;
    float *b = block + s * LUT_G * LUT_TILE;
#if BAE_X86
    if (vector && bits == 8 && w % 8 == 0) {
      for (int64_t k = 0; k < w; k += 8) bae_transpose8_avx2(j->src + (kt + k) * j->lds + c0, j->lds, b + k, LUT_TILE);
      continue;
    }
#else
    (void)vector;
#endif
    for (int64_t h = 0; h < bits; h++)
      for (int64_t k = 0; k < w; k++) b[h * LUT_TILE + k] = j->src[(kt + k) * j->lds + c0 + h];
  }
}

// out(i, kt + k) = blk[(i − i0)·TILE + k] for rows [i0, i1) (at most 8) and k < w, out stored transposed.
static void lut_store_transposed(const lut_job *j, const float *blk, int64_t i0, int64_t i1, int64_t kt, int64_t w,
                                 int vector) {
#if BAE_X86
  if (vector && i1 - i0 == 8 && w % 8 == 0) {
    for (int64_t k = 0; k < w; k += 8) bae_transpose8_avx2(blk + k, LUT_TILE, j->out + (kt + k) * j->ldo + i0, j->ldo);
    return;
  }
#else
  (void)vector;
#endif
  for (int64_t k = 0; k < w; k++)
    for (int64_t i = i0; i < i1; i++) j->out[(kt + k) * j->ldo + i] = blk[(i - i0) * LUT_TILE + k];
}

// Plain C over output columns [k0, k1): the reference order every path follows.
static void lut_portable(const lut_job *j, int64_t k0, int64_t k1, lut_space sp) {
  const int64_t groups = lut_groups(j->inner);
  const int srcT = j->layout & BAE_LUT_SOURCE_TRANSPOSED, outT = j->layout & BAE_LUT_OUTPUT_TRANSPOSED;
  for (int64_t kt = k0; kt < k1; kt += LUT_TILE) {
    const int64_t w = k1 - kt < LUT_TILE ? k1 - kt : LUT_TILE;
    for (int64_t q0 = 0; q0 < groups; q0 += LUT_SET) {
      const int64_t ns = groups - q0 < LUT_SET ? groups - q0 : LUT_SET;
      const int last = q0 + ns == groups;
      if (srcT) lut_gather(j, kt, w, q0, ns, sp.block, 0);
      for (int64_t s = 0; s < ns; s++) {
        const int64_t c0 = (q0 + s) * LUT_G, bits = j->inner - c0 < LUT_G ? j->inner - c0 : LUT_G;
        float *t = sp.tab + s * LUT_ENTRIES * LUT_TILE;
        for (int64_t k = 0; k < w; k++) t[k] = 0.0f;
        for (int64_t h = 0; h < bits; h++) {  // T[2^h + b] = T[b] + src row c0 + h, b < 2^h
          const float *src = srcT ? sp.block + (s * LUT_G + h) * LUT_TILE : j->src + (c0 + h) * j->lds + kt;
          for (int64_t b = 0; b < ((int64_t)1 << h); b++)
            for (int64_t k = 0; k < w; k++) t[(((int64_t)1 << h) + b) * LUT_TILE + k] = t[b * LUT_TILE + k] + src[k];
        }
      }
      for (int64_t i = 0; i < j->rows; i++) {
        const uint64_t *r = j->bits + i * j->wpb;
        float *p = sp.partial + i * LUT_TILE;
        float acc[LUT_TILE];
        for (int64_t k = 0; k < w; k++) acc[k] = q0 > 0 ? p[k] : j->bias ? j->bias[kt + k] : 0.0f;
        for (int64_t s = 0; s < ns; s++) {
          const float *e = sp.tab + (s * LUT_ENTRIES + lut_group(r, q0 + s)) * LUT_TILE;
          for (int64_t k = 0; k < w; k++) acc[k] += e[k];
        }
        for (int64_t k = 0; k < w; k++) {
          if (!last) p[k] = acc[k];
          else if (outT) j->out[(kt + k) * j->ldo + i] = acc[k];
          else j->out[i * j->ldo + kt + k] = acc[k];
        }
      }
    }
  }
}

#if BAE_X86
#define LUT_NAME lut_avx2
#define LUT_TARGET __attribute__((target("avx2")))
#define LUT_VW 8
#define LUT_VEC lut_v8
#include "lut_path.h"
#undef LUT_NAME
#undef LUT_TARGET
#undef LUT_VW
#undef LUT_VEC
#define LUT_NAME lut_avx512
#define LUT_TARGET __attribute__((target("avx512f")))
#define LUT_VW 16
#define LUT_VEC lut_v16
#include "lut_path.h"
#endif

int bae_lut_path(void) {
  int p = bae_selected_path();
  return p >= BAE_PATH_AVX512 ? BAE_PATH_AVX512 : p >= BAE_PATH_AVX2 ? BAE_PATH_AVX2 : BAE_PATH_PORTABLE;
}

// Columns [k0, k1) on `path`: whole vectors on the vector path, the last k % width columns in plain C.
static void lut_columns(const lut_job *j, int path, int64_t k0, int64_t k1, lut_space sp) {
  if (j->inner == 0) {  // no groups: out = bias (or 0)
    const int outT = j->layout & BAE_LUT_OUTPUT_TRANSPOSED;
    for (int64_t i = 0; i < j->rows; i++)
      for (int64_t k = k0; k < k1; k++) j->out[outT ? k * j->ldo + i : i * j->ldo + k] = j->bias ? j->bias[k] : 0.0f;
    return;
  }
  int64_t kv = k0;
#if BAE_X86
  if (path == BAE_PATH_AVX512) {
    kv = k0 + (k1 - k0) / 16 * 16;
    lut_avx512(j, k0, kv, sp);
  } else if (path == BAE_PATH_AVX2) {
    kv = k0 + (k1 - k0) / 8 * 8;
    lut_avx2(j, k0, kv, sp);
  }
#else
  (void)path;
#endif
  if (kv < k1) lut_portable(j, kv, k1, sp);
}

typedef struct {
  const lut_job *job;
  int path;
} lut_call;

static void lut_part(void *ctx, int part, int parts) {
  const lut_call *c = ctx;
  int64_t lo, hi;
  bae_split(0, c->job->cols, part, parts, 16, &lo, &hi);
  if (lo < hi) lut_columns(c->job, c->path, lo, hi, lut_space_at(c->job->scratch + (int64_t)part * c->job->perThread));
}

int bae_lut_product_mt(const uint64_t *bits, int64_t rows, int64_t wpb, int64_t inner, const float *src,
                       int64_t lds, int64_t cols, const float *bias, float *out, int64_t ldo, int layout,
                       float *scratch, int64_t scratchFloats, int threads) {
  const int64_t per = bae_lut_scratch_floats(rows, inner);
  int parts = threads < 1 ? 1 : threads;
  if (parts > scratchFloats / per) parts = (int)(scratchFloats / per);
  if (parts > (cols + 15) / 16) parts = (int)((cols + 15) / 16);
  if (parts < 1) return cols > 0 ? -1 : 0;
  lut_job job = {bits, rows, wpb, inner, src, lds, cols, bias, out, ldo, layout, scratch, per};
  lut_call call = {&job, bae_lut_path()};
  if (parts == 1) lut_part(&call, 0, 1);
  else bae_parallel(lut_part, &call, parts);
  return 0;
}
