// The model phases of a training step that every kind shares: encode, decode with the local moments,
// and the decoder/encoder halves of the backward pass. The kind-specific code function sits between
// them (BinaryCode.swift for a BAE, SparseCode.swift for the SAEs).
import BAETensor
import CBAEKernels
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
  /// The ranks that share the batch (a single process, or MPI through BAETrain).
  public let collectives: Collectives
  /// A batch split as `rowsPerRank` over the ranks of `collectives`; traps when the counts do not match the world size.
  public init(rowsPerRank: [Int], collectives: Collectives) {
    precondition(
      rowsPerRank.count == collectives.worldSize, "rowsPerRank \(rowsPerRank.count) != world \(collectives.worldSize)")
    self.rowsPerRank = rowsPerRank
    self.collectives = collectives
    // an index loop: a debug build runs `reduce` unspecialised, and its iterator allocates on every call
    // (KernelThreadsTests counts the step's allocations, and a batch context is made every step)
    var total = 0
    for r in 0..<rowsPerRank.count { total += rowsPerRank[r] }
    globalRows = total
  }
  /// N, the rows of the global batch.
  public let globalRows: Int
  /// This rank's index.
  public var rank: Int { collectives.rank }
  /// Rows this rank holds, n_r.
  public var localRows: Int { rowsPerRank[collectives.rank] }
}

extension Autoencoder {
  /// Forward on local rows x: (n, d). `batch` is given in training (BatchTopK selects over the whole
  /// global batch through it); nil means inference (BatchTopK uses its running threshold θ).
  /// Leaves z, the code, local counts and x̂ in `ws`; returns the local moments (`Moments`).
  public func forward(_ x: Matrix, _ ws: StepWorkspace, batch: BatchContext? = nil) throws -> [Double] {
    try forwardInPlace(x, ws, batch: batch)
    return ws.moments.toArray()
  }

  /// `forward` leaving the local moments in `ws.moments` (the training step's form: no allocation).
  func forwardInPlace(_ x: Matrix, _ ws: StepWorkspace, batch: BatchContext?) throws {
    encode(x, ws)
    ws.phases?.end(.encode)
    try code(ws, rows: x.rows, batch: batch)
    ws.phases?.end(.code)
    decode(x, ws)
    ws.phases?.end(.decode)
  }

  /// z = x·W_encᵀ + b_enc: (n, m) into ws.codes.
  func encode(_ x: Matrix, _ ws: StepWorkspace) {
    let n = x.rows, m = codeBits
    precondition(
      x.cols == inputDim && n <= ws.capacity && ws.layout == layout,
      "encode: x (\(n), \(x.cols)) with d = \(inputDim), workspace capacity \(ws.capacity)")
    let z = Matrix(ws.codes, rows: n, cols: m)
    let bEnc = encoderBias
    bae_fill_rows_mt(z.base, Int64(n), Int64(m), bEnc.base, Int32(ws.kernelThreads))
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

  /// x̂ = a·W_decᵀ + b_dec: (n, d) into ws.reconstruction, then the local moments into ws.moments.
  func decode(_ x: Matrix, _ ws: StepWorkspace) {
    let n = x.rows, d = inputDim
    let a = decoderInput(ws, rows: n)
    let xhat = Matrix(ws.reconstruction, rows: n, cols: d)
    if !sparseDecode(ws, rows: n, into: xhat) {
      let bDec = decoderBias
      bae_fill_rows_mt(xhat.base, Int64(n), Int64(d), bDec.base, Int32(ws.kernelThreads))
      BLAS.gemm(a, .none, decoderWeight, .transposed, into: xhat, beta: 1)
    }

    reconstructionMoments(x, xhat, ws)
    let mo = ws.moments.baseAddress
    mo[Moments.sparsity(d)] = 0
    mo[Moments.auxSSE(d)] = 0
    if architecture != .bae {
      mo[Moments.sparsity(d)] = sparsitySum(ws, rows: n)
      mo[Moments.auxSSE(d)] = auxiliaryForward(x, ws)
    }
  }

  /// Σ(x̂−x)², Σx² and the column sums Σ_i x_ik into ws.moments. Threads own column ranges and the two
  /// scalars are summed from per-column partials in column order, so the thread count changes nothing.
  func reconstructionMoments(_ x: Matrix, _ xhat: Matrix, _ ws: StepWorkspace) {
    let n = x.rows, d = inputDim
    precondition(x.ld == d && xhat.ld == d, "moments: x and x̂ must be dense (n, \(d)) matrices")
    let mo = ws.moments.baseAddress, partial = ws.columnMoments.baseAddress  // (2, d): Σe², Σx² per column
    bae_column_moments_mt(
      x.base, xhat.base, Int64(n), Int64(d), partial, partial + d, mo + Moments.columnSums, Int32(ws.kernelThreads))
    var sse = 0.0, sumsq = 0.0
    for k in 0..<d {
      sse += partial[k]
      sumsq += partial[d + k]
    }
    mo[Moments.sse] = sse
    mo[Moments.sumSquares] = sumsq
  }

  /// Global statistics of the minibatch whose local part went through `forward`: all-reduced moments
  /// and counts (after this call `ws.counts` holds GLOBAL counts), then the kind's own terms.
  public func globalStatistics(
    _ ws: StepWorkspace, localMoments: [Double], batch: BatchContext,
    covariance: Bool
  ) throws -> BatchStatistics {
    let d = inputDim
    precondition(
      localMoments.count == Moments.count(inputDim: d), "moments \(localMoments.count) != \(Moments.count(inputDim: d))"
    )
    _ = ws.moments.buffer.update(fromContentsOf: localMoments)
    return try globalStatisticsInPlace(ws, batch: batch, covariance: covariance)
  }

  /// `globalStatistics` over the local moments `forwardInPlace` left in `ws.moments` (all-reduced in place).
  func globalStatisticsInPlace(_ ws: StepWorkspace, batch: BatchContext, covariance: Bool) throws -> BatchStatistics {
    let d = inputDim, n = batch.globalRows
    let moments = ws.moments.buffer
    try batch.collectives.sum(moments)
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
    precondition(x.ld == d, "backward: x must be a dense (n, \(d)) matrix")
    bae_scaled_residual_mt(dxhat.base, x.base, Int64(n * d), scale, Int32(ws.kernelThreads))
    columnSums(dxhat, into: gDecB, threads: ws.kernelThreads)
    if !config.decoderBias { gDecB.buffer.update(repeating: 0) }
    // ∂W_dec = ∂x̂ᵀ·a: (d, d')
    if !sparseDecoderWeightGradient(dxhat, ws, into: gDecW) {
      BLAS.gemm(dxhat, .transposed, decoderInput(ws, rows: n), .none, into: gDecW)
    }
    // AuxK: ∂W_dec += ∂êᵀ·a_aux (before a_aux's buffer is reused for ∂L_aux/∂a_aux)
    if let aux { BLAS.gemm(aux.residualGrad, .transposed, aux.activations, .none, into: gDecW, beta: 1) }
    ws.phases?.end(.decoderGradient)
    // ∂L/∂a = ∂x̂·W_dec: (n, d')
    let ga = Matrix(ws.valueGrad, rows: n, cols: dl)
    if !sparseValueGradient(dxhat, ws, into: ga) { BLAS.gemm(dxhat, .none, decoderWeight, .none, into: ga) }
    ws.phases?.end(.valueGradient)

    // ∂L/∂z: (n, m), in place, through the kind's code function
    let gz: Matrix
    if architecture == .bae {
      gz = binaryCodeBackward(ws, rows: n, globalRows: bigN, weights: weights, upstream: ga)
    } else {
      sparseCodeBackward(ws, rows: n, globalRows: bigN, upstream: ga, aux: aux, into: grads)
      gz = ga
    }
    ws.phases?.end(.codeGradient)
    columnSums(gz, into: gEncB, threads: ws.kernelThreads)
    // ∂W_enc = (∂L/∂z)ᵀ·x: (m, d)
    if !sparseEncoderWeightGradient(gz, x, ws, into: gEncW) { BLAS.gemm(gz, .transposed, x, .none, into: gEncW) }
    ws.phases?.end(.encoderGradient)
  }
}

/// Column sums of a (n, c) matrix into a length-c vector (bias gradients); threads own column ranges
/// and each column is summed in row order, so the thread count changes nothing.
func columnSums(_ a: Matrix, into out: Vector, threads: Int = 1) {
  precondition(out.count == a.cols, "columnSums: \(out.count) != \(a.cols)")
  bae_column_sums_mt(a.base, Int64(a.rows), Int64(a.cols), Int64(a.ld), out.base, Int32(threads))
}
