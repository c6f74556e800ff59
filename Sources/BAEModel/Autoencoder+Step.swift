// The model phases of a training step that every kind shares: encode, decode with the local moments,
// and the decoder/encoder halves of the backward pass. The kind-specific code function sits between
// them (BinaryCode.swift for a BAE, SparseCode.swift for the SAEs).
import BAETensor
import Foundation

/// Where the local moments sit in the vector that is all-reduced once per step.
public enum Moments {
  /// [Σ(x̂−x)², Σx², Σx_k for k < d, sparsity sum, AuxK Σ(ê−e)²]
  public static func count(inputDim d: Int) -> Int { 4 + d }
  static let sse = 0, sumSquares = 1, columnSums = 2
  static func sparsity(_ d: Int) -> Int { 2 + d }
  static func auxSSE(_ d: Int) -> Int { 3 + d }
}

/// The rows of one global batch a rank holds, and how to reach the other ranks.
public struct BatchContext {
  /// Every rank's local row count (identical on all ranks); their sum is N.
  public let rowsPerRank: [Int]
  public let collectives: Collectives
  public init(rowsPerRank: [Int], collectives: Collectives) {
    precondition(
      rowsPerRank.count == collectives.worldSize, "rowsPerRank \(rowsPerRank.count) != world \(collectives.worldSize)")
    self.rowsPerRank = rowsPerRank
    self.collectives = collectives
  }
  public var globalRows: Int { rowsPerRank.reduce(0, +) }
  public var rank: Int { collectives.rank }
  public var localRows: Int { rowsPerRank[collectives.rank] }
}

extension Autoencoder {
  /// Forward on local rows x: (n, d). `batch` is given in training (BatchTopK selects over the whole
  /// global batch through it); nil means inference (BatchTopK uses its running threshold θ).
  /// Leaves z, the code, local counts and x̂ in `ws`; returns the local moments (`Moments`).
  public func forward(_ x: Matrix, _ ws: StepWorkspace, batch: BatchContext? = nil) throws -> [Double] {
    encode(x, ws)
    try code(ws, rows: x.rows, batch: batch)
    return decode(x, ws)
  }

  /// z = x·W_encᵀ + b_enc: (n, m) into ws.codes.
  func encode(_ x: Matrix, _ ws: StepWorkspace) {
    let n = x.rows, m = codeBits
    precondition(
      x.cols == inputDim && n <= ws.capacity && ws.layout == layout,
      "encode: x (\(n), \(x.cols)) with d = \(inputDim), workspace capacity \(ws.capacity)")
    let z = Matrix(ws.codes, rows: n, cols: m)
    let bEnc = encoderBias
    for i in 0..<n { z.row(i).update(from: bEnc.base, count: m) }
    BLAS.gemm(x, .none, encoderWeight, .transposed, into: z, beta: 1)
  }

  /// The code function: z → the decoder input, with local per-latent counts in ws.counts.
  func code(_ ws: StepWorkspace, rows n: Int, batch: BatchContext?) throws {
    if architecture == .bae { binarize(ws, rows: n) } else { try sparseCode(ws, rows: n, batch: batch) }
  }

  /// The decoder input a: (n, d'): h (k = 1), the multi-bit values v, or the SAE's activations.
  func decoderInput(_ ws: StepWorkspace, rows n: Int) -> Matrix {
    if architecture == .bae && bitsPerFeature == 1 { return Matrix(ws.codes, rows: n, cols: codeBits) }
    return Matrix(ws.activations, rows: n, cols: latentDim)
  }

  /// x̂ = a·W_decᵀ + b_dec: (n, d) into ws.reconstruction, then the local moments.
  func decode(_ x: Matrix, _ ws: StepWorkspace) -> [Double] {
    let n = x.rows, d = inputDim
    let a = decoderInput(ws, rows: n)
    let xhat = Matrix(ws.reconstruction, rows: n, cols: d)
    if !sparseDecode(ws, rows: n, into: xhat) {
      let bDec = decoderBias
      for i in 0..<n { xhat.row(i).update(from: bDec.base, count: d) }
      BLAS.gemm(a, .none, decoderWeight, .transposed, into: xhat, beta: 1)
    }

    var moments = [Double](repeating: 0, count: Moments.count(inputDim: d))
    var sse = 0.0, sumsq = 0.0
    moments.withUnsafeMutableBufferPointer { mo in
      for i in 0..<n {
        let xr = x.row(i), hr = xhat.row(i)
        for k in 0..<d {
          let xv = Double(xr[k])
          let e = Double(hr[k]) - xv
          sse += e * e
          sumsq += xv * xv
          mo[Moments.columnSums + k] += xv
        }
      }
    }
    moments[Moments.sse] = sse
    moments[Moments.sumSquares] = sumsq
    if architecture != .bae {
      moments[Moments.sparsity(d)] = sparsitySum(ws, rows: n)
      moments[Moments.auxSSE(d)] = auxiliaryForward(x, ws)
    }
    return moments
  }

  /// Global statistics of the minibatch whose local part went through `forward`: all-reduced moments
  /// and counts (after this call `ws.counts` holds GLOBAL counts), then the kind's own terms.
  public func globalStatistics(
    _ ws: StepWorkspace, localMoments: [Double], batch: BatchContext,
    covariance: Bool
  ) throws -> BatchStatistics {
    let d = inputDim, n = batch.globalRows
    precondition(
      localMoments.count == Moments.count(inputDim: d), "moments \(localMoments.count) != \(Moments.count(inputDim: d))"
    )
    var moments = localMoments
    try moments.withUnsafeMutableBufferPointer { try batch.collectives.sum($0) }
    try batch.collectives.sum(ws.counts.buffer)
    if ws.positiveCounts.count > 0 { try batch.collectives.sum(ws.positiveCounts.buffer) }

    var s = BatchStatistics()
    s.rows = n
    s.sumSquaredError = moments[Moments.sse]
    var meanSq = 0.0
    for k in 0..<d { meanSq += moments[Moments.columnSums + k] * moments[Moments.columnSums + k] }
    s.totalVariance = n > 0 ? moments[Moments.sumSquares] - meanSq / Double(n) : 0
    s.entropy = BinaryEntropy.total(counts: UnsafeBufferPointer(ws.counts.buffer), rows: n)
    if architecture == .bae {
      if covariance { s.covariance = try covarianceStatistics(ws, batch: batch) }
    } else {
      s.sparsityLoss = sparsityLoss(globalSum: moments[Moments.sparsity(d)], rows: n)
      s.auxLoss = n > 0 ? config.auxkWeight * moments[Moments.auxSSE(d)] / Double(n * d) : 0
    }
    return s
  }

  /// Backward for local rows x: (n, d) after `forward` and `globalStatistics`, writing the gradient of
  /// the GLOBAL loss restricted to these rows into `grads` (same layout as the parameters). Summing
  /// `grads` over ranks gives the full-batch gradient: every term is already normalised by the global N.
  public func backward(
    _ x: Matrix, _ ws: StepWorkspace, statistics s: BatchStatistics,
    weights: LossWeights, into grads: AlignedBuffer<Float>
  ) {
    let n = x.rows, m = codeBits, d = inputDim, dl = latentDim
    let bigN = s.rows
    precondition(grads.count == layout.count, "grads \(grads.count) != parameters \(layout.count)")
    let gEncW = Matrix(grads, offset: layout.encoderWeight.lowerBound, rows: m, cols: d)
    let gEncB = Vector(grads, offset: layout.encoderBias.lowerBound, count: m)
    let gDecW = Matrix(grads, offset: layout.decoderWeight.lowerBound, rows: d, cols: dl)
    let gDecB = Vector(grads, offset: layout.decoderBias.lowerBound, count: d)

    // AuxK first: it reads x̂ before x̂ becomes ∂L/∂x̂
    let aux = auxiliaryGradient(ws, rows: n, globalRows: bigN)
    // ∂L_r/∂x̂ = 2(x̂ − x)/(N·d), in place over x̂: (n, d)
    let dxhat = Matrix(ws.reconstruction, rows: n, cols: d)
    let scale = Float(2.0 / Double(bigN * d))
    for i in 0..<n {
      let xr = x.row(i), r = dxhat.row(i)
      for c in 0..<d { r[c] = (r[c] - xr[c]) * scale }
    }
    columnSums(dxhat, into: gDecB)
    if !config.decoderBias { gDecB.buffer.update(repeating: 0) }
    // ∂W_dec = ∂x̂ᵀ·a: (d, d'); the sparse form builds ∂W_decᵀ in ∂W_enc's slot (m = d'), written last
    if !sparseDecoderWeightGradient(dxhat, ws, into: gDecW, scratch: Matrix(gEncW.base, rows: dl, cols: d)) {
      BLAS.gemm(dxhat, .transposed, decoderInput(ws, rows: n), .none, into: gDecW)
    }
    // AuxK: ∂W_dec += ∂êᵀ·a_aux (before a_aux's buffer is reused for ∂L_aux/∂a_aux)
    if let aux { BLAS.gemm(aux.residualGrad, .transposed, aux.activations, .none, into: gDecW, beta: 1) }
    // ∂L/∂a = ∂x̂·W_dec: (n, d')
    let ga = Matrix(ws.valueGrad, rows: n, cols: dl)
    if !sparseValueGradient(dxhat, ws, into: ga) { BLAS.gemm(dxhat, .none, decoderWeight, .none, into: ga) }

    // ∂L/∂z: (n, m), in place, through the kind's code function
    let gz: Matrix
    if architecture == .bae {
      gz = binaryCodeBackward(ws, rows: n, globalRows: bigN, weights: weights, upstream: ga)
    } else {
      sparseCodeBackward(ws, rows: n, globalRows: bigN, upstream: ga, aux: aux, into: grads)
      gz = ga
    }
    columnSums(gz, into: gEncB)
    // ∂W_enc = (∂L/∂z)ᵀ·x: (m, d)
    if !sparseEncoderWeightGradient(gz, x, ws, into: gEncW) { BLAS.gemm(gz, .transposed, x, .none, into: gEncW) }
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
