// Buffers for one training step at a fixed maximum local batch; allocated once, reused every step.
import BAETensor
import CBAEKernels

/// Scratch memory for forward, global statistics and backward of up to `capacity` local rows
/// out of a global minibatch of at most `globalCapacity` rows.
public final class StepWorkspace: @unchecked Sendable {
  public let capacity: Int
  public let globalCapacity: Int
  public let layout: ParameterLayout
  /// Words per row-packed code row (multiple of 8).
  public let rowWords: Int

  /// z, then h as 0/1 in place: (capacity, m)
  public let codes: AlignedBuffer<Float>
  /// decoder input v for k > 1: (capacity, d'); for k = 1 the codes are used directly
  public let multiBitValues: AlignedBuffer<Float>
  /// x̂, then ∂L/∂x̂ in place: (capacity, d)
  public let reconstruction: AlignedBuffer<Float>
  /// ∂L/∂v: (capacity, d')
  public let valueGrad: AlignedBuffer<Float>
  /// ∂L/∂h then ∂L/∂z in place: (capacity, m) (k = 1 shares valueGrad)
  public let codeGrad: AlignedBuffer<Float>
  /// H·S from popcounts: (capacity, m)
  public let covarianceProduct: AlignedBuffer<Float>
  /// row-packed local codes: capacity × rowWords
  public let localBits: AlignedBuffer<UInt64>
  /// row-packed global codes: globalCapacity × rowWords
  public let globalBits: AlignedBuffer<UInt64>
  /// column-packed global codes: m × ceil(globalCapacity/64)
  public let columnBits: AlignedBuffer<UInt64>
  /// column-packed local codes (when local rows are whole words): m × ceil(capacity/64)
  public let localColumnBits: AlignedBuffer<UInt64>
  /// sign planes of C: [S⁺ rows | S⁻ rows], each m × rowWords, one buffer so one all-reduce sums both
  public let signPlanes: AlignedBuffer<UInt64>
  /// per-bit ones count (local, then global after the all-reduce): (m)
  public let counts: AlignedBuffer<Int64>

  public init(layout: ParameterLayout, capacity: Int, globalCapacity: Int? = nil, covariance: Bool = true) {
    precondition(capacity > 0, "StepWorkspace capacity \(capacity)")
    self.layout = layout
    self.capacity = capacity
    self.globalCapacity = globalCapacity ?? capacity
    let m = layout.codeBits, d = layout.inputDim, dl = layout.latentDim
    rowWords = Int(bae_row_words(Int64(m)))
    codes = AlignedBuffer(count: capacity * m)
    multiBitValues = AlignedBuffer(count: layout.bitsPerFeature > 1 ? capacity * dl : 0)
    reconstruction = AlignedBuffer(count: capacity * d)
    valueGrad = AlignedBuffer(count: capacity * dl)
    codeGrad = AlignedBuffer(count: layout.bitsPerFeature > 1 ? capacity * m : 0)
    covarianceProduct = AlignedBuffer(count: covariance ? capacity * m : 0)
    localBits = AlignedBuffer(count: capacity * rowWords)
    globalBits = AlignedBuffer(count: covariance ? self.globalCapacity * rowWords : 0)
    columnBits = AlignedBuffer(count: covariance ? m * ((self.globalCapacity + 63) / 64) : 0)
    localColumnBits = AlignedBuffer(count: covariance ? m * ((capacity + 63) / 64) : 0)
    signPlanes = AlignedBuffer(count: covariance ? 2 * m * rowWords : 0)
    counts = AlignedBuffer(count: m)
  }

  var hasCovarianceBuffers: Bool { signPlanes.count > 0 }
}
