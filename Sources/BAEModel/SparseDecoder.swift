// The sparse decoder (Documentation/Method.md, "Sparse decoder"): when few entries of the decoder input
// a: (n, d') differ from a per-latent centre μ (0 for an SAE, the rounded mean code for a BAE),
// x̂ = (b_dec + W_dec·μ) + Σ_{j∈S_i} (a_ij − μ_j)·w_j adds columns of W_dec (read in place), and ∂W_dec,
// ∂a (SAE) and ∂W_enc (SAE) follow the same pattern S, instead of dense GEMMs. Each step picks sparse by
// the measured density |S|/(n·d'), else the lookup-table products of a 1-bit BAE (LUTDecoder.swift), else
// dense GEMMs; all give the same results up to float rounding.
import BAETensor
import CBAEKernels

/// The decoder's implementation in one step: dense GEMMs, gather/scatter over the code's pattern, or
/// lookup tables of subset sums for x̂ and ∂W_dec (a 1-bit BAE).
public enum DecoderPath: String, Sendable, Codable {
  case dense, sparse, lut
}

/// How each step chooses its decoder path.
public enum DecoderPolicy: Sendable, Equatable {
  /// Sparse when the pattern density |S|/(n·d') is at most `crossover` (nil: the measured crossover, against
  /// the LUT path where that applies, else against dense), else LUT for a 1-bit BAE with at least
  /// `lutMinimumRows` local rows, else dense.
  case automatic(crossover: Double?)
  /// Always this path (tests and benchmarks; `.sparse` still falls back to dense where the sparse
  /// decoder does not apply: a multi-bit BAE; `.lut` falls back to dense for every model but a 1-bit BAE).
  case always(DecoderPath)

  /// The densities where the sparse step stops beating the other paths, measured on the project's
  /// machine with `bae bench step --decoder-sweep` (Documentation/Benchmarks.md, "Sparse kernels on cache
  /// lines"): the LUT step from 0.154–0.160 at d = 576, d' = 2304 on 1 thread (AVX2 and AVX-512), 0.138–0.147
  /// on 2, and 0.161 at d = 2048, d' = 8192; the dense step from 0.39 at d = 576 (0.25 kept: an SAE's
  /// sparse ∂a, a gather-dot, crosses its GEMM earlier). Since the sparse kernels read W_dec in place,
  /// neither moves with the decoder's size the way the old W_decᵀ gathers did.
  public static let measuredLUTCrossover = 0.14
  public static let measuredDenseCrossover = 0.25
  /// The crossover that applies: against the LUT path when `lut` (a 1-bit BAE with enough rows), else dense.
  public static func measuredCrossover(lut: Bool) -> Double { lut ? measuredLUTCrossover : measuredDenseCrossover }
  /// Local rows from which the LUT products beat the GEMMs they replace: their tables cost 256 adds per
  /// group of 8 latents and output column against n lookups, and at n = 512 (d = 576, d' = 2304) they ran
  /// in a half to a third of the sgemm time (Benchmarks.md, "LUT decoder"): break-even near n ≈ 100–130.
  public static let lutMinimumRows = 128
  /// The default: automatic at the measured crossover.
  public static let standard = DecoderPolicy.automatic(crossover: nil)
}

/// The sparse decoder's buffers (allocated once with the step workspace) and what the last forward chose.
public final class SparseDecoderState: @unchecked Sendable {
  /// How steps choose their path; tests and benchmarks override it.
  public var policy = DecoderPolicy.standard
  /// The path the last forward took (the backward of the same step takes it too).
  public internal(set) var path = DecoderPath.dense
  /// The last forward's pattern density |S|/(n·d') (0 when the sparse decoder does not apply).
  public internal(set) var density = 0.0
  /// Whether the sparse decoder can run for this model at all (every SAE; a BAE with k = 1).
  public let applies: Bool
  /// Whether the LUT decoder can run for this model (a BAE with k = 1: its decoder input is bits).
  public let lutApplies: Bool

  /// CSR pattern: rowStart (capacity + 1), columnIndex (capacity·d'), and each entry's a_ij − μ_j (capacity·d')
  let rowStart: AlignedBuffer<Int64>
  let columnIndex: AlignedBuffer<Int32>
  let rowValue: AlignedBuffer<Float>
  /// CSC pattern: columnStart (d' + 1), rowIndex (capacity·d'), and the entries' values in that order
  let columnStart: AlignedBuffer<Int64>
  let rowIndex: AlignedBuffer<Int32>
  let columnValue: AlignedBuffer<Float>
  /// BAE: the centre μ (rounded local mean code, 0/1): (d');
  /// Σ_i ∂x̂_i: (d)
  let center: AlignedBuffer<Float>
  /// BAE: μ packed as one code row (row words)
  let centerBits: AlignedBuffer<UInt64>
  let columnSum: AlignedBuffer<Float>
  /// LUT: column-packed local code h: (d', ceil(capacity/64)) words
  let lutColumnBits: AlignedBuffer<UInt64>
  /// Floats of scratch one thread needs for any product of the sparse or LUT path at up to `capacity` rows
  let scratchPerThread: Int
  /// Per-thread scratch, `scratchPerThread` each: the sparse kernels' blocks of W_dec columns or ∂W_dec
  /// sums, the LUT products' tables, gathered W_dec rows and running sums; grown (once) to the step's threads
  var scratch: AlignedBuffer<Float>

  init(layout: ParameterLayout, architecture: Architecture, capacity: Int) {
    let d = layout.inputDim, dl = layout.latentDim
    let bae = architecture == .bae
    applies = !bae || layout.bitsPerFeature == 1
    let on = applies
    rowStart = AlignedBuffer(count: on ? capacity + 1 : 0)
    columnIndex = AlignedBuffer(count: on ? capacity * dl : 0)
    rowValue = AlignedBuffer(count: on ? capacity * dl : 0)
    columnStart = AlignedBuffer(count: on ? dl + 1 : 0)
    rowIndex = AlignedBuffer(count: on ? capacity * dl : 0)
    columnValue = AlignedBuffer(count: on ? capacity * dl : 0)
    center = AlignedBuffer(count: on && bae ? dl : 0)
    centerBits = AlignedBuffer(count: on && bae ? Int(bae_row_words(Int64(layout.codeBits))) : 0)
    columnSum = AlignedBuffer(count: on && bae ? d : 0)
    lutApplies = bae && layout.bitsPerFeature == 1
    lutColumnBits = AlignedBuffer(count: lutApplies ? dl * ((capacity + 63) / 64) : 0)
    scratchPerThread = Self.scratchFloats(
      inputDim: d, latentDim: dl, capacity: capacity, sparse: on, lut: lutApplies)
    scratch = AlignedBuffer(count: scratchPerThread)
  }

  /// Per-thread scratch: the sparse kernels' (bae_sparse_scratch_floats) and the LUT products' for x̂
  /// ((n, d') code rows) and ∂W_dec ((d', n) code columns), n ≤ capacity.
  static func scratchFloats(inputDim d: Int, latentDim dl: Int, capacity: Int, sparse: Bool, lut: Bool) -> Int {
    let columns = sparse ? Int(bae_sparse_scratch_floats(Int64(d), Int64(dl), Int64(capacity))) : 0
    guard lut else { return columns }
    return max(
      columns,
      Int(max(bae_lut_scratch_floats(Int64(capacity), Int64(dl)), bae_lut_scratch_floats(Int64(dl), Int64(capacity)))))
  }

  /// Grows the per-thread scratch to `threads` (the first step at a new thread count allocates; later
  /// steps do not).
  func reserveScratch(threads: Int) {
    let need = threads * scratchPerThread
    if scratch.count < need { scratch = AlignedBuffer(count: need) }
  }

  /// Bytes the sparse decoder adds to a workspace of `capacity` rows on one thread (for memory estimates).
  public static func bytes(inputDim d: Int, latentDim dl: Int, capacity: Int) -> Int {
    4 * capacity * dl * 4 + (capacity + dl + 2) * 8 + (dl + d) * 4 + (dl + 63) / 64 * 8 + dl * ((capacity + 63) / 64) * 8
      + scratchFloats(inputDim: d, latentDim: dl, capacity: capacity, sparse: true, lut: true) * 4
  }

  var isSparse: Bool { path == .sparse }
  var hasCenter: Bool { center.count > 0 }
}

extension Autoencoder {
  /// Chooses this step's decoder path from the local code; when sparse, builds the pattern, refreshes
  /// W_decᵀ and writes x̂ = base + gather-add into `xhat`: (n, d); when LUT, writes x̂ from tables.
  /// Returns false (nothing written) for the dense path.
  func sparseDecode(_ ws: StepWorkspace, rows n: Int, into xhat: Matrix) -> Bool {
    let sd = ws.sparseDecoder
    sd.path = .dense
    sd.density = 0
    guard sd.applies, n > 0 else { return false }
    let d = inputDim, dl = latentDim, threads = Int32(ws.kernelThreads)
    // the pattern's size from the local counts: a BAE's deviations from the rounded mean, an SAE's nonzeros
    var entries = 0
    if sd.hasCenter {
      for j in 0..<dl {
        let c = Int(ws.counts[j])
        entries += Swift.min(c, n - c)
      }
    } else {
      for j in 0..<dl { entries += Int(ws.counts[j]) }
    }
    sd.density = Double(entries) / Double(n * dl)
    switch sd.policy {
    case .always(let p): sd.path = p == .lut && !sd.lutApplies ? .dense : p
    case .automatic(let crossover):
      let lut = sd.lutApplies && n >= DecoderPolicy.lutMinimumRows
      let limit = crossover ?? DecoderPolicy.measuredCrossover(lut: lut)
      sd.path = sd.density <= limit ? .sparse : lut ? .lut : .dense
    }
    if sd.path == .lut {
      lutDecode(ws, rows: n, into: xhat)
      return true
    }
    guard sd.isSparse else { return false }

    // S: entries of the decoder input away from the centre, with their values a_ij − μ_j: a BAE's from its
    // row-packed bits, an SAE's from its pass mask (whose support holds the activations)
    let values = decoderInput(ws, rows: n)
    var centre: UnsafePointer<Float>? = nil
    if sd.hasCenter {
      for word in 0..<ws.rowWords { sd.centerBits[word] = 0 }
      for j in 0..<dl where 2 * Int(ws.counts[j]) > n { sd.centerBits[j / 64] |= 1 << UInt64(j % 64) }
      for j in 0..<dl { sd.center[j] = 2 * Int(ws.counts[j]) > n ? 1 : 0 }
      centre = UnsafePointer(sd.center.baseAddress)
      _ = bae_sparse_pattern_bits(
        ws.localBits.baseAddress, Int64(n), Int64(dl), Int64(ws.rowWords), sd.centerBits.baseAddress,
        sd.rowStart.baseAddress, sd.columnIndex.baseAddress, sd.rowValue.baseAddress)
    } else {
      _ = bae_sparse_pattern(
        ws.mask.baseAddress, Int64(n), Int64(dl), Int64(dl), nil, sd.rowStart.baseAddress, sd.columnIndex.baseAddress,
        nil)
      bae_sparse_gather_values(
        sd.rowStart.baseAddress, sd.columnIndex.baseAddress, Int64(n), values.base, Int64(values.ld),
        sd.rowValue.baseAddress)
    }
    bae_sparse_columns(
      sd.rowStart.baseAddress, sd.columnIndex.baseAddress, sd.rowValue.baseAddress, Int64(n), Int64(dl),
      sd.columnStart.baseAddress, sd.rowIndex.baseAddress, sd.columnValue.baseAddress)
    // every row: b_dec (+ W_dec·μ for a BAE, once per chunk of outputs) + its entries
    let w = decoderWeight
    sd.reserveScratch(threads: ws.kernelThreads)
    bae_sparse_decode_mt(
      sd.rowStart.baseAddress, sd.columnIndex.baseAddress, sd.rowValue.baseAddress, Int64(n), Int64(dl), centre,
      decoderBias.base, w.base, Int64(w.ld), Int64(d), xhat.base, Int64(xhat.ld), sd.scratch.baseAddress, threads)
    return true
  }

  /// ∂W_dec = ∂x̂ᵀ·a: (d, d') over the pattern when this step is sparse: column j is
  /// μ_j·Σ_i ∂x̂_i + Σ_{i: j∈S_i} (a_ij − μ_j)·∂x̂_i, summed for blocks of columns in per-thread scratch and
  /// stored into `out` (the LUT path builds it from tables). Returns false for the dense path.
  func sparseDecoderWeightGradient(_ dxhat: Matrix, _ ws: StepWorkspace, into out: Matrix) -> Bool {
    let sd = ws.sparseDecoder
    if sd.path == .lut {
      lutDecoderWeightGradient(dxhat, ws, into: out)
      return true
    }
    guard sd.isSparse else { return false }
    let d = inputDim, dl = latentDim, threads = Int32(ws.kernelThreads)
    var centre: UnsafePointer<Float>? = nil, sums: UnsafePointer<Float>? = nil
    if sd.hasCenter {
      columnSums(dxhat, into: Vector(sd.columnSum, count: d))
      centre = UnsafePointer(sd.center.baseAddress)
      sums = UnsafePointer(sd.columnSum.baseAddress)
    }
    sd.reserveScratch(threads: ws.kernelThreads)
    bae_sparse_scatter_columns_mt(
      sd.columnStart.baseAddress, sd.rowIndex.baseAddress, sd.columnValue.baseAddress, Int64(dxhat.rows), Int64(dl),
      centre, sums,
      dxhat.base, Int64(dxhat.ld), Int64(d), out.base, Int64(out.ld), sd.scratch.baseAddress, threads)
    return true
  }

  /// ∂L/∂a = ∂x̂·W_dec only at the pattern's entries (zero elsewhere), for an SAE whose code backward
  /// reads ∂a nowhere else (not a learned JumpReLU threshold, whose estimator reads ∂a near θ).
  /// Returns false when the dense product is needed.
  func sparseValueGradient(_ dxhat: Matrix, _ ws: StepWorkspace, into ga: Matrix) -> Bool {
    let sd = ws.sparseDecoder
    guard sd.isSparse, architecture != .bae, !layout.learnedThreshold else { return false }
    let n = dxhat.rows, d = inputDim
    ga.base.update(repeating: 0, count: n * ga.ld)
    let w = decoderWeight
    sd.reserveScratch(threads: ws.kernelThreads)
    bae_sparse_column_dot_mt(
      sd.columnStart.baseAddress, sd.rowIndex.baseAddress, Int64(latentDim), dxhat.base, Int64(dxhat.ld),
      w.base, Int64(w.ld), Int64(d), ga.base, Int64(ga.ld), sd.scratch.baseAddress, Int32(ws.kernelThreads))
    return true
  }

  /// ∂W_enc = ∂zᵀ·x: (d', d) as a scatter when ∂z is zero off the pattern: an SAE's ∂z is masked by M,
  /// unless AuxK adds its own mask this step. Returns false when the dense product is needed.
  func sparseEncoderWeightGradient(_ gz: Matrix, _ x: Matrix, _ ws: StepWorkspace, into out: Matrix) -> Bool {
    let sd = ws.sparseDecoder
    guard sd.isSparse, architecture != .bae, !ws.auxActive else { return false }
    let d = inputDim, dl = latentDim
    bae_sparse_scatter_mt(
      sd.columnStart.baseAddress, sd.rowIndex.baseAddress, Int64(dl), gz.base, Int64(gz.ld), nil, nil,
      x.base, Int64(x.ld), Int64(d), out.base, Int64(out.ld), Int32(ws.kernelThreads))
    return true
  }
}
