// Buffers for one training step at a fixed maximum local batch; allocated once, reused every step.
// Which buffers exist depends on the model's kind: a BAE needs the bit planes, an SAE the code mask,
// AuxK its own reconstruction.
import BAETensor
import CBAEKernels

/// Scratch memory for the phases of one step on up to `capacity` local rows out of a global
/// minibatch of at most `globalCapacity` rows.
public final class StepWorkspace: @unchecked Sendable {
  /// Most local rows one step may have (n_r).
  public let capacity: Int
  /// Most global rows one step may have (N).
  public let globalCapacity: Int
  /// The parameter layout the buffers are sized for.
  public let layout: ParameterLayout
  /// Words per row-packed code row (multiple of 8).
  public let rowWords: Int

  /// z (BAE: then h as 0/1 in place): (capacity, m)
  public let codes: AlignedBuffer<Float>
  /// SAE code a = z ⊙ M: (capacity, d'); BAE multi-bit decoder input v: (capacity, d')
  public let activations: AlignedBuffer<Float>
  /// SAE pass mask M (∂a/∂z) as 0/1: (capacity, d')
  public let mask: AlignedBuffer<Float>
  /// x̂, then ∂L/∂x̂ in place: (capacity, d)
  public let reconstruction: AlignedBuffer<Float>
  /// ∂L/∂a (or ∂L/∂v): (capacity, d')
  public let valueGrad: AlignedBuffer<Float>
  /// ∂L/∂h then ∂L/∂z in place for a multi-bit BAE: (capacity, m)
  public let codeGrad: AlignedBuffer<Float>
  /// AuxK: a_aux (capacity, d'), its mask, and ê − e then ∂L_aux/∂ê (capacity, d)
  public let auxActivations: AlignedBuffer<Float>
  /// AuxK pass mask of `auxActivations`, 0/1: (capacity, d').
  public let auxMask: AlignedBuffer<Float>
  /// AuxK ê − e, then ∂L_aux/∂ê in place: (capacity, d).
  public let auxResidual: AlignedBuffer<Float>
  /// H·S from popcounts, then the count digits' rows β_b·S: (capacity + countDigits, m)
  public let covarianceProduct: AlignedBuffer<Float>
  /// row-packed local codes, then (covariance) the binary digits of the global counts as countDigits more
  /// code rows for N·q = S·c: (capacity + countDigits) × rowWords
  public let localBits: AlignedBuffer<UInt64>
  /// Most count-digit rows a step appends (the bit width of globalCapacity; 0 without covariance).
  public let countDigits: Int
  /// row-packed global codes: globalCapacity × rowWords
  public let globalBits: AlignedBuffer<UInt64>
  /// column-packed global codes: m × ceil(globalCapacity/64)
  public let columnBits: AlignedBuffer<UInt64>
  /// column-packed local codes (when local rows are whole words): m × ceil(capacity/64)
  public let localColumnBits: AlignedBuffer<UInt64>
  /// sign planes of C: [S⁺ rows | S⁻ rows], each m × rowWords, one buffer so one all-reduce sums both
  public let signPlanes: AlignedBuffer<UInt64>
  /// per-bit (BAE) or per-latent (SAE: a ≠ 0) count, local then global after the all-reduce: (m)
  public let counts: AlignedBuffer<Int64>
  /// BatchTopK: the candidate keys of the radix selection: (capacity, d')
  public let selectionKeys: AlignedBuffer<UInt32>
  /// AuxK: per-latent count of positive activations (what "fired" means for the dead set), local
  /// then global; differs from `counts` only for TopK without ReLU.
  public let positiveCounts: AlignedBuffer<Int64>
  /// BatchTopK in training: the smallest selected positive activation of the global batch (set by the
  /// code phase, identical on every rank; nil when nothing positive was selected).
  public internal(set) var selectedThreshold: Double? = nil
  /// The local moments (`Moments`), all-reduced in place by the global-statistics phase: (4 + d)
  public let moments: AlignedBuffer<Double>
  /// Per-column partials of the moments' two sums (Σ(x̂−x)², Σx²): (2, d)
  let columnMoments: AlignedBuffer<Double>
  /// BAE: λ_e·H'(p_j)/N per bit, then q = S·p for the covariance gradient: (2, m)
  let bitTerms: AlignedBuffer<Float>
  /// Σ|d_jk| over this rank's tiles, all-reduced in place: (1)
  let pairSum: AlignedBuffer<Int64>
  /// N·q = S·c from the count digits' product rows: (m)
  let signCountSums: AlignedBuffer<Int64>
  /// The gather's per-rank word counts for the last `rowsPerRank` seen (recomputed only when it changes).
  var gatherPlan: (rowsPerRank: [Int], wordCounts: [Int]) = ([], [])
  /// Threads every non-BLAS phase of the step uses (bit kernels, elementwise passes, moments, Adam);
  /// results do not depend on it. The trainer sets it from `--blas-threads`.
  public var kernelThreads = 1
  /// The sparse decoder's buffers, policy and last choice (SparseDecoder.swift).
  public let sparseDecoder: SparseDecoderState
  /// AuxK: whether this step has dead latents (then the aux buffers hold this step's values).
  public internal(set) var auxActive = false
  /// When set, each step adds its phases' times here (benchmarks); nil in training.
  public var phases: StepPhases? = nil

  /// - covariance: allocate the bit-plane buffers of the BAE covariance term.
  public init(config: ModelConfig, capacity: Int, globalCapacity: Int? = nil, covariance: Bool? = nil) {
    precondition(capacity > 0, "StepWorkspace capacity \(capacity)")
    let layout = ParameterLayout(config)
    self.layout = layout
    self.capacity = capacity
    self.globalCapacity = globalCapacity ?? capacity
    let m = layout.codeBits, d = layout.inputDim, dl = layout.latentDim
    let bae = config.architecture == .bae
    let cov = bae && (covariance ?? config.usesCovariance)
    let auxk = config.architecture == .topk && config.auxkWeight != 0
    rowWords = Int(bae_row_words(Int64(m)))
    codes = AlignedBuffer(count: capacity * m)
    activations = AlignedBuffer(count: !bae || layout.bitsPerFeature > 1 ? capacity * dl : 0)
    mask = AlignedBuffer(count: bae ? 0 : capacity * dl)
    reconstruction = AlignedBuffer(count: capacity * d)
    valueGrad = AlignedBuffer(count: capacity * dl)
    codeGrad = AlignedBuffer(count: bae && layout.bitsPerFeature > 1 ? capacity * m : 0)
    auxActivations = AlignedBuffer(count: auxk ? capacity * dl : 0)
    auxMask = AlignedBuffer(count: auxk ? capacity * dl : 0)
    auxResidual = AlignedBuffer(count: auxk ? capacity * d : 0)
    countDigits = cov ? Int.bitWidth - self.globalCapacity.leadingZeroBitCount : 0
    covarianceProduct = AlignedBuffer(count: cov ? (capacity + countDigits) * m : 0)
    localBits = AlignedBuffer(count: bae ? (capacity + countDigits) * rowWords : 0)
    globalBits = AlignedBuffer(count: cov ? self.globalCapacity * rowWords : 0)
    columnBits = AlignedBuffer(count: cov ? m * ((self.globalCapacity + 63) / 64) : 0)
    localColumnBits = AlignedBuffer(count: cov ? m * ((capacity + 63) / 64) : 0)
    signPlanes = AlignedBuffer(count: cov ? 2 * m * rowWords : 0)
    counts = AlignedBuffer(count: m)
    moments = AlignedBuffer(count: Moments.count(inputDim: d))
    columnMoments = AlignedBuffer(count: 2 * d)
    bitTerms = AlignedBuffer(count: bae ? 2 * m : 0)
    pairSum = AlignedBuffer(count: 1)
    signCountSums = AlignedBuffer(count: cov ? m : 0)
    selectionKeys = AlignedBuffer(count: config.architecture == .batchtopk ? capacity * dl : 0)
    positiveCounts = AlignedBuffer(count: auxk ? dl : 0)
    sparseDecoder = SparseDecoderState(layout: layout, architecture: config.architecture, capacity: capacity)
  }

  var hasCovarianceBuffers: Bool { signPlanes.count > 0 }
}
