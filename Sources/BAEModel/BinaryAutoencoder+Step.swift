// The three model phases of a training step: forward on this rank's rows, global statistics over the
// whole minibatch (through `Collectives`), and backward into a flat gradient buffer (spec §2, §3, §5, §6).
import BAETensor
import CBAEKernels
import Foundation

extension BinaryAutoencoder {
  /// Forward on local rows x: (n, d). Leaves z → h (0/1), packed codes, local counts, v and x̂ in `ws`.
  /// Returns the local moments needed for MSE and FVU: [Σ(x̂−x)², Σx², Σx_k for k < d].
  @discardableResult
  public func forward(_ x: Matrix, _ ws: StepWorkspace) -> [Double] {
    let n = x.rows, m = codeBits, d = inputDim
    precondition(x.cols == d && n <= ws.capacity && ws.layout == layout,
                 "forward: x (\(n), \(x.cols)) with d = \(d), workspace capacity \(ws.capacity)")
    // z = x·W_encᵀ + b_enc: (n, m)
    let z = Matrix(ws.codes, rows: n, cols: m)
    let bEnc = encoderBias
    for i in 0..<n { z.row(i).update(from: bEnc.base, count: m) }
    BLAS.gemm(x, .none, encoderWeight, .transposed, into: z, beta: 1)
    // h = 1[z > 0] in place, packed rows, per-bit counts
    ws.counts.zero()
    bae_binarize_inplace(z.base, Int64(n), Int64(m), Int64(m), ws.localBits.baseAddress,
                         Int64(ws.rowWords), ws.counts.baseAddress)
    let v = decoderInput(ws, rows: n)
    // x̂ = v·W_decᵀ + b_dec: (n, d)
    let xhat = Matrix(ws.reconstruction, rows: n, cols: d)
    let bDec = decoderBias
    for i in 0..<n { xhat.row(i).update(from: bDec.base, count: d) }
    BLAS.gemm(v, .none, decoderWeight, .transposed, into: xhat, beta: 1)

    var moments = [Double](repeating: 0, count: 2 + d)
    var sse = 0.0, sumsq = 0.0
    for i in 0..<n {
      let xr = x.row(i), hr = xhat.row(i)
      for k in 0..<d {
        let xv = Double(xr[k])
        let e = Double(hr[k]) - xv
        sse += e * e
        sumsq += xv * xv
        moments[2 + k] += xv
      }
    }
    moments[0] = sse
    moments[1] = sumsq
    return moments
  }

  /// v: (n, d'): the codes themselves for k = 1, else Σ_b h_{j·k+b}·2^b/(2^k − 1).
  func decoderInput(_ ws: StepWorkspace, rows n: Int) -> Matrix {
    let m = codeBits, k = bitsPerFeature, dl = latentDim
    let h = Matrix(ws.codes, rows: n, cols: m)
    if k == 1 { return h }
    let v = Matrix(ws.multiBitValues, rows: n, cols: dl)
    let w = bitWeights
    for i in 0..<n {
      let hr = h.row(i), vr = v.row(i)
      for j in 0..<dl {
        var s: Float = 0
        for b in 0..<k { s += hr[j * k + b] * w[b] }
        vr[j] = s
      }
    }
    return v
  }

  /// Global statistics of the minibatch whose local part went through `forward`.
  /// - rowsPerRank: every rank's local row count (identical on all ranks); their sum is N.
  /// - covariance: whether to compute D and the sign planes of C (needed when λ_c > 0).
  /// After this call `ws.counts` holds GLOBAL counts and `ws.signPlanes` the global sign(C).
  public func globalStatistics(_ ws: StepWorkspace, localMoments: [Double], rowsPerRank: [Int],
                               covariance: Bool, collectives: Collectives) throws -> BatchStatistics {
    let m = codeBits, d = inputDim
    let rank = collectives.rank
    let nLocal = rowsPerRank[rank]
    let n = rowsPerRank.reduce(0, +)
    precondition(localMoments.count == 2 + d, "moments \(localMoments.count) != 2 + d")

    var moments = localMoments
    try moments.withUnsafeMutableBufferPointer { try collectives.sum($0) }
    try collectives.sum(ws.counts.buffer)

    var s = BatchStatistics()
    s.rows = n
    s.sumSquaredError = moments[0]
    var meanSq = 0.0
    for k in 0..<d { meanSq += moments[2 + k] * moments[2 + k] }
    s.totalVariance = n > 0 ? moments[1] - meanSq / Double(n) : 0
    s.entropy = BinaryEntropy.total(counts: UnsafeBufferPointer(ws.counts.buffer), rows: n)

    if covariance {
      precondition(ws.hasCovarianceBuffers && n <= ws.globalCapacity,
                   "covariance needs a workspace built with covariance and global capacity ≥ \(n)")
      let w = ws.rowWords
      let wpc = (n + 63) / 64
      try gatherColumns(ws, rowsPerRank: rowsPerRank, rank: rank, collectives: collectives)
      ws.signPlanes.zero()
      // each rank computes an equal share of the pair triangle's tiles; the sum of disjoint bit sets is their union
      let tiles = CovarianceWork.tileRange(codeBits: m, rank: rank, worldSize: collectives.worldSize)
      let spos = ws.signPlanes.baseAddress, sneg = spos + m * w
      var absSum = [bae_covariance_signs(ws.columnBits.baseAddress, Int64(m), Int64(wpc),
                                         ws.counts.baseAddress, Int64(n),
                                         Int64(tiles.lowerBound), Int64(tiles.upperBound),
                                         spos, sneg, Int64(w))]
      try collectives.sum(ws.signPlanes.buffer)
      try absSum.withUnsafeMutableBufferPointer { try collectives.sum($0) }
      // D = Σ_{j≠k} |C_jk| = 2 Σ_{j<k} |N·n11 − c_j c_k| / (N (N − 1))
      s.covariance = n > 1 ? 2 * Double(absSum[0]) / (Double(n) * Double(n - 1)) : 0
    }
    return s
  }

  /// Fills `ws.columnBits` with the GLOBAL code matrix in column-packed form (m columns of ⌈N/64⌉ words).
  /// When every rank's row count is a multiple of 64, each rank transposes only its own rows and the
  /// gather moves whole column words (then a copy puts rank r's words of every column in place); this
  /// keeps the transpose cost per rank constant as ranks are added. Otherwise the row-packed codes are
  /// gathered and transposed whole.
  func gatherColumns(_ ws: StepWorkspace, rowsPerRank: [Int], rank: Int, collectives: Collectives) throws {
    let m = codeBits, w = ws.rowWords
    let n = rowsPerRank.reduce(0, +), nLocal = rowsPerRank[rank]
    let wpc = (n + 63) / 64
    if collectives.worldSize == 1 {
      bae_transpose_bits(ws.localBits.baseAddress, Int64(n), Int64(m), Int64(w), ws.columnBits.baseAddress, Int64(wpc))
      return
    }
    if rowsPerRank.allSatisfy({ $0 % 64 == 0 }) {
      let wl = nLocal / 64
      bae_transpose_bits(ws.localBits.baseAddress, Int64(nLocal), Int64(m), Int64(w),
                         ws.localColumnBits.baseAddress, Int64(wl))
      // rank-major blocks (R, m, n_r/64) land in globalBits, then move to column-major (m, N/64)
      try collectives.gather(UnsafeBufferPointer(rebasing: ws.localColumnBits.buffer[0..<(m * wl)]),
                             into: UnsafeMutableBufferPointer(rebasing: ws.globalBits.buffer[0..<(m * wpc)]),
                             counts: rowsPerRank.map { m * ($0 / 64) })
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
    try collectives.gather(UnsafeBufferPointer(rebasing: ws.localBits.buffer[0..<(nLocal * w)]),
                           into: UnsafeMutableBufferPointer(rebasing: ws.globalBits.buffer[0..<(n * w)]),
                           counts: rowsPerRank.map { $0 * w })
    bae_transpose_bits(ws.globalBits.baseAddress, Int64(n), Int64(m), Int64(w), ws.columnBits.baseAddress, Int64(wpc))
  }

  /// Backward for local rows x: (n, d) after `forward` and `globalStatistics`, writing the gradient of
  /// the GLOBAL loss restricted to these rows into `grads` (same layout as the parameters). Summing
  /// `grads` over ranks gives the full-batch gradient: every term is already normalised by the global N.
  public func backward(_ x: Matrix, _ ws: StepWorkspace, statistics s: BatchStatistics,
                       weights: LossWeights, decoderBiasEnabled: Bool = true, into grads: AlignedBuffer<Float>) {
    let n = x.rows, m = codeBits, d = inputDim, dl = latentDim, k = bitsPerFeature
    let bigN = s.rows
    precondition(grads.count == layout.count, "grads \(grads.count) != parameters \(layout.count)")
    let gEncW = Matrix(grads, offset: layout.encoderWeight.lowerBound, rows: m, cols: d)
    let gEncB = Vector(grads, offset: layout.encoderBias.lowerBound, count: m)
    let gDecW = Matrix(grads, offset: layout.decoderWeight.lowerBound, rows: d, cols: dl)
    let gDecB = Vector(grads, offset: layout.decoderBias.lowerBound, count: d)

    // ∂L_r/∂x̂ = 2(x̂ − x)/(N·d), in place over x̂: (n, d)
    let dxhat = Matrix(ws.reconstruction, rows: n, cols: d)
    let scale = Float(2.0 / Double(bigN * d))
    for i in 0..<n {
      let xr = x.row(i), r = dxhat.row(i)
      for c in 0..<d { r[c] = (r[c] - xr[c]) * scale }
    }
    columnSums(dxhat, into: gDecB)
    if !decoderBiasEnabled { gDecB.buffer.update(repeating: 0) }
    // ∂W_dec = ∂x̂ᵀ·v: (d, d')
    let v = decoderInput(ws, rows: n)
    BLAS.gemm(dxhat, .transposed, v, .none, into: gDecW)
    // ∂L/∂v = ∂x̂·W_dec: (n, d')
    let gv = Matrix(ws.valueGrad, rows: n, cols: dl)
    BLAS.gemm(dxhat, .none, decoderWeight, .none, into: gv)

    // g = ∂L/∂h: (n, m)
    let g: Matrix
    if k == 1 {
      g = gv
    } else {
      g = Matrix(ws.codeGrad, rows: n, cols: m)
      let w = bitWeights
      for i in 0..<n {
        let src = gv.row(i), dst = g.row(i)
        for j in 0..<dl { for b in 0..<k { dst[j * k + b] = src[j] * w[b] } }
      }
    }
    if weights.entropy != 0 {
      // ∂(λ_e H)/∂h_ij = λ_e·H'(p_j)/N, the same for every row
      var e = [Float](repeating: 0, count: m)
      for j in 0..<m {
        let p = Double(ws.counts[j]) / Double(bigN)
        e[j] = Float(weights.entropy * BinaryEntropy.derivative(p) / Double(bigN))
      }
      for i in 0..<n {
        let r = g.row(i)
        for j in 0..<m { r[j] += e[j] }
      }
    }
    if weights.covariance != 0 {
      addCovarianceGradient(ws, rows: n, globalRows: bigN, weight: weights.covariance, into: g)
    }
    // estimator: ∂L/∂z = g − g² (sign_s) or g (sign), in place
    if weights.estimator == .sign_s {
      for i in 0..<n {
        let r = g.row(i)
        for j in 0..<m { let t = r[j]; r[j] = t - t * t }
      }
    }
    columnSums(g, into: gEncB)
    // ∂W_enc = (∂L/∂z)ᵀ·x: (m, d)
    BLAS.gemm(g, .transposed, x, .none, into: gEncW)
  }

  /// g += λ_c·(2/(N − 1))·(H·S − 1·qᵀ), q = S·p: the gradient of D = Σ_{j≠k}|C_jk| through the
  /// centred codes (its column-mean part vanishes because Hc's columns sum to zero).
  private func addCovarianceGradient(_ ws: StepWorkspace, rows n: Int, globalRows bigN: Int,
                                     weight: Double, into g: Matrix) {
    let m = codeBits, w = ws.rowWords
    precondition(ws.hasCovarianceBuffers, "covariance gradient without covariance buffers")
    let a = Matrix(ws.covarianceProduct, rows: n, cols: m)
    let spos = ws.signPlanes.baseAddress, sneg = spos + m * w
    bae_signed_popcount_product(ws.localBits.baseAddress, Int64(n), spos, sneg, Int64(m), Int64(w),
                                a.base, Int64(m))
    // q_j = Σ_k p_k S_kj over the set bits of row j's planes (S is symmetric)
    var q = [Float](repeating: 0, count: m)
    let invN = 1.0 / Double(bigN)
    for j in 0..<m {
      var acc = 0.0
      for word in 0..<w {
        var pw = spos[j * w + word], nw = sneg[j * w + word]
        while pw != 0 { let b = pw.trailingZeroBitCount; acc += Double(ws.counts[word * 64 + b]); pw &= pw - 1 }
        while nw != 0 { let b = nw.trailingZeroBitCount; acc -= Double(ws.counts[word * 64 + b]); nw &= nw - 1 }
      }
      q[j] = Float(acc * invN)
    }
    let coef = Float(weight * 2.0 / Double(bigN - 1))
    for i in 0..<n {
      let ar = a.row(i), gr = g.row(i)
      for j in 0..<m { gr[j] += coef * (ar[j] - q[j]) }
    }
  }
}

/// Column sums of a (n, c) matrix into a length-c vector (bias gradients).
func columnSums(_ a: Matrix, into out: Vector) {
  precondition(out.count == a.cols, "columnSums: \(out.count) != \(a.cols)")
  out.buffer.update(repeating: 0)
  for i in 0..<a.rows {
    let r = a.row(i)
    for c in 0..<a.cols { out.base[c] += r[c] }
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
