// The LUT decoder of a 1-bit BAE (Documentation/Method.md §10, "The LUT decoder"): x̂ = b_dec + h·W_decᵀ and
// ∂W_dec = ∂x̂ᵀ·h as lookup-table ("four Russians") products over the bit-packed code, bae_lut_product_mt:
// groups of 8 bits index tables of their 256 subset sums, so a row costs one vector add per group
// instead of one multiply-add per latent. ∂h = ∂x̂·W_dec and the encoder stay dense GEMMs.
import BAETensor
import CBAEKernels

extension SparseDecoderState {
  /// Grows the per-thread tables to `threads` (the first step at a new thread count allocates; later
  /// steps do not).
  func reserveLUTTables(threads: Int) {
    let need = threads * Int(bae_lut_table_floats())
    if lutTables.count < need { lutTables = AlignedBuffer(count: need) }
  }
}

extension Autoencoder {
  /// x̂ = b_dec + h·W_decᵀ: (n, d) into `xhat` from the row-packed local code (ws.localBits) and
  /// W_decᵀ: (d', d), refreshed here into the sparse decoder's transposed-weight buffer.
  func lutDecode(_ ws: StepWorkspace, rows n: Int, into xhat: Matrix) {
    let sd = ws.sparseDecoder, d = inputDim, dl = latentDim, threads = ws.kernelThreads
    precondition(sd.lutApplies && xhat.cols == d, "LUT decoder: a 1-bit BAE, x̂ (\(xhat.rows), \(xhat.cols))")
    sd.reserveLUTTables(threads: threads)
    let w = decoderWeight
    bae_transpose_f32_mt(
      w.base, Int64(d), Int64(dl), Int64(w.ld), sd.transposedDecoder.baseAddress, Int64(d), Int32(threads))
    let status = bae_lut_product_mt(
      ws.localBits.baseAddress, Int64(n), Int64(ws.rowWords), Int64(dl), sd.transposedDecoder.baseAddress, Int64(d),
      Int64(d), decoderBias.base, xhat.base, Int64(xhat.ld), sd.lutTables.baseAddress, Int64(sd.lutTables.count),
      Int32(threads))
    precondition(status == 0, "LUT decoder: no table scratch (\(sd.lutTables.count) floats)")
  }

  /// ∂W_dec = ∂x̂ᵀ·h: (d, d') into `out`: row j of ∂W_decᵀ is Σ_i h_ij·∂x̂_i, a LUT product over the
  /// column-packed code (tables of subset sums of 8 rows of ∂x̂), built in `scratch` (d', d) and transposed.
  func lutDecoderWeightGradient(_ dxhat: Matrix, _ ws: StepWorkspace, into out: Matrix, scratch: Matrix) {
    let sd = ws.sparseDecoder, n = dxhat.rows, d = inputDim, dl = latentDim, threads = Int32(ws.kernelThreads)
    precondition(
      scratch.rows == dl && scratch.cols == d && scratch.ld == d, "scratch (\(scratch.rows), \(scratch.cols))")
    let wpc = (n + 63) / 64
    bae_transpose_bits_mt(
      ws.localBits.baseAddress, Int64(n), Int64(dl), Int64(ws.rowWords), sd.lutColumnBits.baseAddress, Int64(wpc),
      threads)
    let status = bae_lut_product_mt(
      sd.lutColumnBits.baseAddress, Int64(dl), Int64(wpc), Int64(n), dxhat.base, Int64(dxhat.ld), Int64(d), nil,
      scratch.base, Int64(d), sd.lutTables.baseAddress, Int64(sd.lutTables.count), threads)
    precondition(status == 0, "LUT decoder: no table scratch (\(sd.lutTables.count) floats)")
    bae_transpose_f32_mt(scratch.base, Int64(dl), Int64(d), Int64(d), out.base, Int64(out.ld), threads)
  }
}
