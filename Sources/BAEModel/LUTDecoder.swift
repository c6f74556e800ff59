// The LUT decoder of a 1-bit BAE (Documentation/Method.md §10, "The LUT decoder"): x̂ = b_dec + h·W_decᵀ and
// ∂W_dec = ∂x̂ᵀ·h as lookup-table ("four Russians") products over the bit-packed code, bae_lut_product_mt:
// groups of 8 bits index tables of their 256 subset sums, so a row costs one vector add per group
// instead of one multiply-add per latent. ∂h = ∂x̂·W_dec and the encoder stay dense GEMMs.
import BAETensor
import CBAEKernels

extension Autoencoder {
  /// x̂ = b_dec + h·W_decᵀ: (n, d) into `xhat` from the row-packed local code (ws.localBits) and W_dec: (d, d')
  /// read in place (the kernel gathers each table set's 64 latents × 32 outputs into its scratch).
  func lutDecode(_ ws: StepWorkspace, rows n: Int, into xhat: Matrix) {
    let sd = ws.sparseDecoder, d = inputDim, dl = latentDim, threads = ws.kernelThreads
    precondition(sd.lutApplies && xhat.cols == d, "LUT decoder: a 1-bit BAE, x̂ (\(xhat.rows), \(xhat.cols))")
    sd.reserveScratch(threads: threads)
    let w = decoderWeight
    let status = bae_lut_product_mt(
      ws.localBits.baseAddress, Int64(n), Int64(ws.rowWords), Int64(dl), w.base, Int64(w.ld), Int64(d),
      decoderBias.base, xhat.base, Int64(xhat.ld), Int32(BAE_LUT_SOURCE_TRANSPOSED), sd.scratch.baseAddress,
      Int64(sd.scratch.count), Int32(threads))
    precondition(status == 0, "LUT decoder: no scratch (\(sd.scratch.count) floats)")
  }

  /// ∂W_dec = ∂x̂ᵀ·h: (d, d') into `out`: row j of ∂W_decᵀ is Σ_i h_ij·∂x̂_i, a LUT product over the
  /// column-packed code (tables of subset sums of 8 rows of ∂x̂), stored transposed straight into `out`.
  func lutDecoderWeightGradient(_ dxhat: Matrix, _ ws: StepWorkspace, into out: Matrix) {
    let sd = ws.sparseDecoder, n = dxhat.rows, d = inputDim, dl = latentDim, threads = ws.kernelThreads
    precondition(out.rows == d && out.cols == dl, "∂W_dec (\(out.rows), \(out.cols))")
    sd.reserveScratch(threads: threads)
    let wpc = (n + 63) / 64
    bae_transpose_bits_mt(
      ws.localBits.baseAddress, Int64(n), Int64(dl), Int64(ws.rowWords), sd.lutColumnBits.baseAddress, Int64(wpc),
      Int32(threads))
    let status = bae_lut_product_mt(
      sd.lutColumnBits.baseAddress, Int64(dl), Int64(wpc), Int64(n), dxhat.base, Int64(dxhat.ld), Int64(d), nil,
      out.base, Int64(out.ld), Int32(BAE_LUT_OUTPUT_TRANSPOSED), sd.scratch.baseAddress,
      Int64(sd.scratch.count), Int32(threads))
    precondition(status == 0, "LUT decoder: no scratch (\(sd.scratch.count) floats)")
  }
}
