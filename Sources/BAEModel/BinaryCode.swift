// The BAE's code function (Method.md): h = 1[z > 0] (multi-bit values v for k > 1), its global
// statistics (entropy from all-reduced counts, covariance signs from the gathered bit-packed codes),
// and its backward: entropy and covariance gradients at h, then the sign_s/sign estimator.
import BAETensor
import CBAEKernels
import Foundation

extension Autoencoder {
  /// h = 1[z > 0] in place over ws.codes, packed rows, per-bit local counts; v for k > 1.
  func binarize(_ ws: StepWorkspace, rows n: Int) {
    let m = codeBits
    ws.counts.zero()
    bae_binarize_inplace_mt(
      ws.codes.baseAddress, Int64(n), Int64(m), Int64(m), ws.localBits.baseAddress,
      Int64(ws.rowWords), ws.counts.baseAddress, Int32(ws.kernelThreads))
    guard bitsPerFeature > 1 else { return }
    let k = bitsPerFeature, dl = latentDim
    let h = Matrix(ws.codes, rows: n, cols: m)
    let v = Matrix(ws.activations, rows: n, cols: dl)
    let w = bitWeights
    ParallelPhase.run(threads: ws.kernelThreads, count: n, cost: m, align: 1) { rows in
      for i in rows {
        let hr = h.row(i), vr = v.row(i)
        for j in 0..<dl {
          var s: Float = 0
          for b in 0..<k { s += hr[j * k + b] * w[b] }
          vr[j] = s
        }
      }
    }
  }

  /// D = Σ_{j≠k}|C_jk| of the global batch; leaves the global sign(C) in `ws.signPlanes`. Each rank
  /// computes an equal share of the pair triangle's tiles; the sum of disjoint bit sets is their union.
  func covarianceStatistics(_ ws: StepWorkspace, batch: BatchContext) throws -> Double {
    let m = codeBits, n = batch.globalRows, w = ws.rowWords
    precondition(
      ws.hasCovarianceBuffers && n <= ws.globalCapacity,
      "covariance needs a workspace built with covariance and global capacity ≥ \(n)")
    let wpc = (n + 63) / 64
    try gatherColumns(ws, rowsPerRank: batch.rowsPerRank, rank: batch.rank, collectives: batch.collectives)
    let tiles = CovarianceWork.tileRange(codeBits: m, rank: batch.rank, worldSize: batch.collectives.worldSize)
    // the kernel overwrites exactly its tiles' words; one rank's share leaves the others' for the sum to fill
    if tiles.count < CovarianceWork.tileCount(codeBits: m) { ws.signPlanes.zero() }
    let spos = ws.signPlanes.baseAddress, sneg = spos + m * w
    ws.pairSum[0] = bae_covariance_signs_mt(
      ws.columnBits.baseAddress, Int64(m), Int64(wpc),
      ws.counts.baseAddress, Int64(n),
      Int64(tiles.lowerBound), Int64(tiles.upperBound),
      spos, sneg, Int64(w), Int32(ws.kernelThreads))
    try batch.collectives.sum(ws.signPlanes.buffer)
    try batch.collectives.sum(ws.pairSum.buffer)
    // D = Σ_{j≠k} |C_jk| = 2 Σ_{j<k} |N·n11 − c_j c_k| / (N (N − 1))
    return n > 1 ? 2 * Double(ws.pairSum[0]) / (Double(n) * Double(n - 1)) : 0
  }

  /// Fills `ws.columnBits` with the GLOBAL code matrix in column-packed form (m columns of ⌈N/64⌉ words).
  /// When every rank's row count is a multiple of 64, each rank transposes only its own rows and the
  /// gather moves whole column words (then a copy puts rank r's words of every column in place); this
  /// keeps the transpose cost per rank constant as ranks are added. Otherwise the row-packed codes are
  /// gathered and transposed whole.
  func gatherColumns(_ ws: StepWorkspace, rowsPerRank: [Int], rank: Int, collectives: Collectives) throws {
    let m = codeBits, w = ws.rowWords
    var n = 0  // an index loop, not `reduce`: see BatchContext.init
    for r in 0..<rowsPerRank.count { n += rowsPerRank[r] }
    let nLocal = rowsPerRank[rank]
    let wpc = (n + 63) / 64
    if collectives.worldSize == 1 {
      bae_transpose_bits_mt(
        ws.localBits.baseAddress, Int64(n), Int64(m), Int64(w), ws.columnBits.baseAddress, Int64(wpc),
        Int32(ws.kernelThreads))
      return
    }
    if rowsPerRank.allSatisfy({ $0 % 64 == 0 }) {
      let wl = nLocal / 64
      bae_transpose_bits_mt(
        ws.localBits.baseAddress, Int64(nLocal), Int64(m), Int64(w),
        ws.localColumnBits.baseAddress, Int64(wl), Int32(ws.kernelThreads))
      // rank-major blocks (R, m, n_r/64) land in globalBits, then move to column-major (m, N/64)
      try collectives.gather(
        UnsafeBufferPointer(rebasing: ws.localColumnBits.buffer[0..<(m * wl)]),
        into: UnsafeMutableBufferPointer(rebasing: ws.globalBits.buffer[0..<(m * wpc)]),
        counts: gatherCounts(ws, rowsPerRank: rowsPerRank) { m * ($0 / 64) })
      var blockStart = 0, wordOffset = 0
      for r in rowsPerRank {
        let words = r / 64
        let src = ws.globalBits.baseAddress + blockStart, dst = ws.columnBits.baseAddress + wordOffset
        for j in 0..<m { (dst + j * wpc).update(from: src + j * words, count: words) }
        blockStart += m * words
        wordOffset += words
      }
      return
    }
    // rank order = global row order
    try collectives.gather(
      UnsafeBufferPointer(rebasing: ws.localBits.buffer[0..<(nLocal * w)]),
      into: UnsafeMutableBufferPointer(rebasing: ws.globalBits.buffer[0..<(n * w)]),
      counts: gatherCounts(ws, rowsPerRank: rowsPerRank) { $0 * w })
    bae_transpose_bits_mt(
      ws.globalBits.baseAddress, Int64(n), Int64(m), Int64(w), ws.columnBits.baseAddress, Int64(wpc),
      Int32(ws.kernelThreads))
  }

  /// The gather's per-rank word counts, `words(rows)` for each rank, cached in `ws` while `rowsPerRank`
  /// stays the same (both gather forms are keyed by it alone for a given model), so a step allocates nothing.
  private func gatherCounts(_ ws: StepWorkspace, rowsPerRank: [Int], words: (Int) -> Int) -> [Int] {
    if ws.gatherPlan.rowsPerRank != rowsPerRank { ws.gatherPlan = (rowsPerRank, rowsPerRank.map(words)) }
    return ws.gatherPlan.wordCounts
  }

  /// The covariance gradient's products from the all-reduced sign planes and global counts: H·S for the n
  /// local code rows into `ws.covarianceProduct` (n, m), and N·q = S·c into `ws.signCountSums` (m), exact.
  /// c's binary digits β_b are appended as code rows (row b of the product is then S·β_b, exact) and
  /// one product call covers both: N·q costs L = bit width of N more rows instead of a scan of both planes.
  public func covarianceProduct(_ ws: StepWorkspace, rows n: Int, globalRows bigN: Int) {
    precondition(
      ws.hasCovarianceBuffers && n <= ws.capacity && bigN <= ws.globalCapacity,
      "covariance product needs a workspace built with covariance, capacity ≥ \(n) and global capacity ≥ \(bigN)")
    let m = codeBits, w = ws.rowWords, spos = ws.signPlanes.baseAddress, sneg = spos + m * w
    // every count is ≤ N: its digits fit in bit width(N) ≤ bit width(globalCapacity) = ws.countDigits rows
    let digits = Int(
      bae_count_digit_rows(ws.counts.baseAddress, Int64(m), Int64(w), Int64(bigN), ws.localBits.baseAddress + n * w))
    bae_signed_popcount_product_mt(
      ws.localBits.baseAddress, Int64(n + digits), spos, sneg, Int64(m), Int64(w),
      ws.covarianceProduct.baseAddress, Int64(m), Int32(ws.kernelThreads))
    bae_count_digit_sums(
      ws.covarianceProduct.baseAddress + n * m, Int64(digits), Int64(m), Int64(m), ws.signCountSums.baseAddress)
  }

  /// ∂L/∂z for local rows from the upstream ∂L/∂v (`upstream`, (n, d')): spread over the k bits,
  /// add λ_e·∂H/∂h and λ_c·∂D/∂h, apply the estimator. Returns the (n, m) matrix holding ∂L/∂z.
  func binaryCodeBackward(
    _ ws: StepWorkspace, rows n: Int, globalRows bigN: Int, weights: LossWeights,
    upstream gv: Matrix
  ) -> Matrix {
    let m = codeBits, dl = latentDim, k = bitsPerFeature, threads = ws.kernelThreads
    // g = ∂L/∂h: (n, m)
    let g: Matrix
    if k == 1 {
      g = gv
    } else {
      g = Matrix(ws.codeGrad, rows: n, cols: m)
      let w = bitWeights
      ParallelPhase.run(threads: threads, count: n, cost: m, align: 1) { rows in
        for i in rows {
          let src = gv.row(i), dst = g.row(i)
          for j in 0..<dl { for b in 0..<k { dst[j * k + b] = src[j] * w[b] } }
        }
      }
    }
    let entropy = weights.entropy != 0, covariance = weights.covariance != 0
    let signS = weights.estimator == .sign_s
    // ∂(λ_e H)/∂h_ij = λ_e·H'(p_j)/N, the same for every row: e (m)
    let e = ws.bitTerms.baseAddress, q = e + m
    if entropy {
      for j in 0..<m {
        let p = Double(ws.counts[j]) / Double(bigN)
        e[j] = Float(weights.entropy * BinaryEntropy.derivative(p) / Double(bigN))
      }
    }
    // ∂(λ_c D)/∂h = coef·(H·S − 1·qᵀ) with q = S·p: the gradient of D = Σ_{j≠k}|C_jk| through the
    // centred codes (its column-mean part vanishes because Hc's columns sum to zero)
    if covariance {
      covarianceProduct(ws, rows: n, globalRows: bigN)
      let nq = ws.signCountSums.baseAddress, invN = 1.0 / Double(bigN)
      for j in 0..<m { q[j] = Float(Double(nq[j]) * invN) }
    }
    guard entropy || covariance || signS else { return g }
    // one pass over each row of g: + e, + coef·(H·S − q), then the estimator g − g² (sign_s)
    bae_code_gradient_mt(
      g.base, Int64(n), Int64(m), Int64(g.ld), entropy ? e : nil, covariance ? ws.covarianceProduct.baseAddress : nil,
      q, Float(weights.covariance * 2.0 / Double(bigN - 1)), signS ? 1 : 0, Int32(threads))
    return g
  }
}

/// How the covariance pair triangle is split across ranks: its 64×64 tiles, numbered row by row
/// (the kernel's order), are dealt out in contiguous, equal-sized ranges (within one tile).
public enum CovarianceWork {
  /// Number of 64×64 tiles in the upper triangle of an m × m matrix.
  public static func tileCount(codeBits m: Int) -> Int {
    let blocks = (m + 63) / 64
    return blocks * (blocks + 1) / 2
  }

  /// Rank r's tiles: [⌊r·T/R⌋, ⌊(r+1)·T/R⌋).
  public static func tileRange(codeBits m: Int, rank: Int, worldSize: Int) -> Range<Int> {
    precondition(worldSize > 0 && rank >= 0 && rank < worldSize, "rank \(rank) of \(worldSize)")
    let t = tileCount(codeBits: m)
    return (rank * t / worldSize)..<((rank + 1) * t / worldSize)
  }
}
