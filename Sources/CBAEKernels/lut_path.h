// One ISA path of the lookup-table product (lut.c), written once over GCC/Clang vector types and
// compiled for each width: lut.c defines LUT_NAME, LUT_TARGET and LUT_VW (floats per vector), then
// includes this file. Every output element gets the portable path's additions in the portable path's
// order (vector lanes are independent), so every path gives the same bits.
typedef float LUT_VEC __attribute__((vector_size(LUT_VW * 4), aligned(4)));
#define LUT_NV (LUT_TILE / LUT_VW)

// Rows [0, rows) of output columns [kt, kt + nv·VW) over the tables of groups [q0, q0 + ns): running sums
// in sp->partial between sets, the last set's sums into out (through an 8-row block when out is transposed).
LUT_TARGET static inline __attribute__((always_inline)) void LUT_CAT(LUT_NAME, rows)(
    const lut_job *j, const lut_space *sp, int64_t kt, int64_t q0, int64_t ns, int last, const int nv) {
  const int first = q0 == 0, outT = last && (j->layout & BAE_LUT_OUTPUT_TRANSPOSED);
  float blk[8 * LUT_TILE] __attribute__((aligned(64)));  // (8 rows, TILE) awaiting the transposed store
  for (int64_t i = 0; i < j->rows; i++) {
    const uint64_t *r = j->bits + i * j->wpb;
    float *p = sp->partial + i * LUT_TILE;
    LUT_VEC acc[LUT_NV];
    for (int v = 0; v < nv; v++) {
      if (!first) acc[v] = *(const LUT_VEC *)(p + v * LUT_VW);
      else if (j->bias) acc[v] = *(const LUT_VEC *)(j->bias + kt + v * LUT_VW);
      else acc[v] = (LUT_VEC){0};
    }
#if LUT_SET * LUT_G == 64  // a set's bytes are one word of the row (q0 is a multiple of LUT_SET)
    const uint64_t word = r[q0 / LUT_SET];
#endif
    for (int64_t s = 0; s < ns; s++) {
#if LUT_SET * LUT_G == 64
      const unsigned g = (unsigned)(word >> (s * LUT_G)) & (LUT_ENTRIES - 1u);
#else
      const unsigned g = lut_group(r, q0 + s);
#endif
      const LUT_VEC *e = (const LUT_VEC *)(sp->tab + (s * LUT_ENTRIES + g) * LUT_TILE);
      for (int v = 0; v < nv; v++) acc[v] += e[v];
    }
    float *o = !last ? p : outT ? blk + (i & 7) * LUT_TILE : j->out + i * j->ldo + kt;
    for (int v = 0; v < nv; v++) *(LUT_VEC *)(o + v * LUT_VW) = acc[v];
    if (outT && ((i & 7) == 7 || i + 1 == j->rows)) lut_store_transposed(j, blk, i & ~(int64_t)7, i + 1, kt, nv * LUT_VW, 1);
  }
}

// Tables of groups [q0, q0 + ns) for output columns [kt, kt + nv·VW), then their rows: nv is a constant at
// each call (the switch below), so the build's entry loop and the accumulators unroll.
LUT_TARGET static inline __attribute__((always_inline)) void LUT_CAT(LUT_NAME, set)(
    const lut_job *j, const lut_space *sp, int64_t kt, int64_t q0, int64_t ns, int last, const int nv) {
  const int srcT = j->layout & BAE_LUT_SOURCE_TRANSPOSED;
  if (srcT) {
    lut_gather(j, kt, nv * LUT_VW, q0, ns, sp->block, 1);
    const int64_t c1 = (q0 + ns) * LUT_G;  // the next set's block, into L2 while this set's tables are built
    if (c1 + LUT_SET * LUT_G <= j->inner)
      for (int64_t k = 0; k < nv * LUT_VW; k++)
        for (int64_t c = 0; c < LUT_SET * LUT_G; c += 16)
          _mm_prefetch((const char *)(j->src + (kt + k) * j->lds + c1 + c), _MM_HINT_T1);
  }
  // T_s[b] = T_s[b without its highest bit] + src row (that bit): one vector add per entry
  for (int64_t s = 0; s < ns; s++) {
    const int64_t c0 = (q0 + s) * LUT_G, bits = j->inner - c0 < LUT_G ? j->inner - c0 : LUT_G;
    LUT_VEC *t = (LUT_VEC *)(sp->tab + s * LUT_ENTRIES * LUT_TILE);
    for (int v = 0; v < nv; v++) t[v] = (LUT_VEC){0};
    for (int64_t h = 0; h < bits; h++) {  // T[2^h + b] = T[b] + src row c0 + h: independent adds
      const LUT_VEC *w =
          (const LUT_VEC *)(srcT ? sp->block + (s * LUT_G + h) * LUT_TILE : j->src + (c0 + h) * j->lds + kt);
      LUT_VEC wr[LUT_NV];
      for (int v = 0; v < nv; v++) wr[v] = w[v];
      LUT_VEC *hi = t + ((int64_t)1 << h) * LUT_NV;
#pragma clang loop unroll_count(4)
      for (int64_t b = 0; b < ((int64_t)1 << h); b++)
        for (int v = 0; v < nv; v++) hi[b * LUT_NV + v] = t[b * LUT_NV + v] + wr[v];
    }
  }
  LUT_CAT(LUT_NAME, rows)(j, sp, kt, q0, ns, last, nv);
}

// Output columns [k0, k1) (k1 − k0 a multiple of LUT_VW) with the thread's scratch `sp`.
LUT_TARGET static void LUT_NAME(const lut_job *j, int64_t k0, int64_t k1, lut_space sp) {
  const int64_t groups = lut_groups(j->inner);
  for (int64_t kt = k0; kt < k1; kt += LUT_TILE) {
    const int nv = (int)((k1 - kt < LUT_TILE ? k1 - kt : LUT_TILE) / LUT_VW);
    for (int64_t q0 = 0; q0 < groups; q0 += LUT_SET) {
      const int64_t ns = groups - q0 < LUT_SET ? groups - q0 : LUT_SET;
      const int last = q0 + ns == groups;
      switch (nv) {  // a constant count keeps the accumulators in registers
      case LUT_NV: LUT_CAT(LUT_NAME, set)(j, &sp, kt, q0, ns, last, LUT_NV); break;
#if LUT_NV > 1
      case 1: LUT_CAT(LUT_NAME, set)(j, &sp, kt, q0, ns, last, 1); break;
#endif
#if LUT_NV > 2
      case 2: LUT_CAT(LUT_NAME, set)(j, &sp, kt, q0, ns, last, 2); break;
#endif
#if LUT_NV > 3
      case 3: LUT_CAT(LUT_NAME, set)(j, &sp, kt, q0, ns, last, 3); break;
#endif
#if LUT_NV > 4
      case 4: LUT_CAT(LUT_NAME, set)(j, &sp, kt, q0, ns, last, 4); break;
      case 5: LUT_CAT(LUT_NAME, set)(j, &sp, kt, q0, ns, last, 5); break;
      case 6: LUT_CAT(LUT_NAME, set)(j, &sp, kt, q0, ns, last, 6); break;
      case 7: LUT_CAT(LUT_NAME, set)(j, &sp, kt, q0, ns, last, 7); break;
#endif
      default: break;
      }
    }
  }
}
#undef LUT_NV
