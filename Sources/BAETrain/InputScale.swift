// Input scale (Method.md, "Input normalisation"): the one scalar s that gives the training rows a mean
// norm of √d, and the data mean for b_dec, both measured exactly and identically on every rank over a
// fixed sample of training rows; and the fold that turns a model trained on s·x into raw units.
import BAEModel
import BAEStore
import BAETensor
import Foundation

/// How input rows are mapped before the model sees them (an affine map folded back into the saved weights).
public enum InputNormalization: String, Codable, CaseIterable, Sendable {
  /// Raw inputs (the reference implementation's path).
  case none
  /// Every row times one scalar s, so that the mean row norm of the training rows is √d.
  case meanNorm = "mean-norm"
  /// The training mean μ subtracted first, then s so that the mean norm of x − μ is √d.
  case centered
}

/// How b_dec starts (the other parameters keep PyTorch's nn.Linear init).
public enum DecoderBiasInit: String, Codable, CaseIterable, Sendable {
  /// U(−1/√d', 1/√d') like the rest of nn.Linear (the reference).
  case uniform
  /// The mean of the sampled training rows (in the training space, i.e. times s).
  case mean
}

/// Mean row norm and mean row of a fixed sample of training rows.
public struct InputMoments: Equatable, Sendable {
  /// Rows sampled.
  public var rows: Int
  /// Mean Euclidean row norm (raw units).
  public var meanNorm: Double
  /// Mean row (raw units): (d).
  public var mean: [Double]

  /// At most this many training rows, evenly spaced, are measured.
  public static let sampleRows = 16_384
  /// Sample rows per block: blocks are the unit of work per rank and of the exact reduction.
  static let blockRows = 256

  /// The sampled rows: all of `rows` if it has at most `sampleRows`, else `sampleRows` evenly spaced
  /// ones. A function of the range only (never of the rank count).
  public static func sample(_ rows: Range<Int>) -> [Int] {
    let n = rows.count, k = Swift.min(n, sampleRows)
    return (0..<k).map { rows.lowerBound + $0 * n / k }
  }

  /// Measures the sample exactly and rank-count independently (see `blockSums`): the mean row, then
  /// the mean norm of x − `center(mean)` (a second pass over the same rows).
  public static func measure(
    source: any RowSource, rows: Range<Int>, collectives: Collectives, path: String,
    center: ([Double]) -> [Double]? = { _ in nil }
  ) throws -> InputMoments {
    let d = source.inputDim
    let index = sample(rows)
    let n = Double(index.count)
    let sums = try blockSums(source: source, index: index, width: d, collectives: collectives, path: path) {
      row, out in
      for k in 0..<d { out[k] += Double(row[k]) }
    }
    let mean = sums.map { $0 / n }
    let shift = center(mean).map { $0.map { Float($0) } } ?? [Float](repeating: 0, count: d)
    let norm = try blockSums(source: source, index: index, width: 1, collectives: collectives, path: path) {
      row, out in
      var sq = 0.0
      for k in 0..<d {
        let v = Double(row[k] - shift[k])
        sq += v * v
      }
      out[0] += sq.squareRoot()
    }
    return InputMoments(rows: index.count, meanNorm: norm[0] / n, mean: mean)
  }

  /// Σ over `index` rows of `add(row)` (a `width`-vector), exact and independent of the rank count:
  /// rank r sums the blocks b ≡ r (mod R) in row order, every block's sums sit in their own slots of
  /// one buffer (all other ranks contribute 0 there, so the all-reduce adds x + 0 only and rounds
  /// nothing), and every rank then adds the blocks in block order. A non-finite value fails every
  /// rank alike, naming the lowest such row.
  static func blockSums(
    source: any RowSource, index: [Int], width: Int, collectives: Collectives, path: String,
    add: (UnsafeBufferPointer<Float>, inout [Double]) -> Void
  ) throws -> [Double] {
    let d = source.inputDim
    let blocks = (index.count + blockRows - 1) / blockRows
    var sums = [Double](repeating: 0, count: blocks * width)  // (blocks, width)
    var firstBad = [-Double.infinity]  // max over ranks of −row = the lowest bad row
    var x = [Float](repeating: 0, count: blockRows * d)
    var acc = [Double](repeating: 0, count: width)
    for b in stride(from: collectives.rank, to: blocks, by: collectives.worldSize) {
      let part = Array(index[(b * blockRows)..<Swift.min(index.count, (b + 1) * blockRows)])
      try x.withUnsafeMutableBufferPointer {
        try source.readRows(part, into: UnsafeMutableBufferPointer(rebasing: $0[0..<(part.count * d)]))
      }
      for k in 0..<width { acc[k] = 0 }
      x.withUnsafeBufferPointer { xs in
        for (i, row) in part.enumerated() {
          let r = UnsafeBufferPointer(rebasing: xs[(i * d)..<((i + 1) * d)])
          if firstBad[0] == -Double.infinity && r.contains(where: { !$0.isFinite }) { firstBad[0] = -Double(row) }
          add(r, &acc)
        }
      }
      for k in 0..<width { sums[b * width + k] = acc[k] }
    }
    try firstBad.withUnsafeMutableBufferPointer { try collectives.max($0) }
    if firstBad[0] > -Double.infinity {
      let r = Int(-firstBad[0])
      var row = [Float](repeating: 0, count: d)
      try row.withUnsafeMutableBufferPointer { try source.readRows([r], into: $0) }
      let c = row.firstIndex { !$0.isFinite } ?? 0
      throw TrainDataError.nonFinite(path: path, row: r, column: c, value: row[c], rows: nil, step: nil)
    }
    try sums.withUnsafeMutableBufferPointer { try collectives.sum($0) }
    var total = [Double](repeating: 0, count: width)
    for b in 0..<blocks { for k in 0..<width { total[k] += sums[b * width + k] } }
    return total
  }
}

/// The affine map x ↦ s·(x − μ) a run applies to its inputs, as the float values it uses.
public struct InputTransform: Equatable, Sendable {
  /// s.
  public var scale: Float
  /// μ: (d), zeros unless `centered`.
  public var shift: [Float]
  /// Whether the map is the identity.
  public var isIdentity: Bool { scale == 1 && shift.allSatisfy { $0 == 0 } }

  /// The map x ↦ scale·(x − shift).
  public init(scale: Float, shift: [Float]) {
    self.scale = scale
    self.shift = shift
  }

  /// The identity on d-wide rows.
  public static func identity(width d: Int) -> InputTransform {
    InputTransform(scale: 1, shift: .init(repeating: 0, count: d))
  }

  /// Maps `rows` rows of width d in place.
  public func apply(_ x: UnsafeMutableBufferPointer<Float>, rows: Int) {
    guard !isIdentity else { return }
    let d = shift.count
    for r in 0..<rows { for k in 0..<d { x[r * d + k] = (x[r * d + k] - shift[k]) * scale } }
  }
}

extension Autoencoder {
  /// A model with the same config, parameters and state (for writing raw-unit files).
  public func copy() -> Autoencoder {
    let c = Autoencoder(config: config)
    for i in 0..<parameters.count { c.parameters[i] = parameters[i] }
    for i in 0..<buffers.count { c.buffers[i] = buffers[i] }
    return c
  }

  /// Folds an input map into the weights: a model M trained on s·(x − μ) becomes one on raw x with
  /// M'(x) = M(s·(x − μ)) / s + μ, i.e. W_enc' = s·W_enc, b_enc' = b_enc − W_enc'·μ, W_dec' = W_dec / s,
  /// b_dec' = b_dec / s + μ. The codes z, and so every threshold on z (JumpReLU θ, BatchTopK θ), are
  /// unchanged up to float rounding.
  public func foldInput(_ t: InputTransform) {
    let d = inputDim
    for i in layout.encoderWeight { parameters[i] *= t.scale }
    let w = encoderWeight, b = encoderBias
    for j in 0..<codeBits {
      var acc = 0.0
      for k in 0..<d { acc += Double(w[j, k]) * Double(t.shift[k]) }
      b[j] = Float(Double(b[j]) - acc)
    }
    for i in layout.decoderWeight { parameters[i] /= t.scale }
    for (k, i) in layout.decoderBias.enumerated() { parameters[i] = parameters[i] / t.scale + t.shift[k] }
  }

  /// The inverse of `foldInput`: raw-unit weights (e.g. --init-from) moved into the training space.
  public func unfoldInput(_ t: InputTransform) {
    let d = inputDim
    let w = encoderWeight, b = encoderBias
    for j in 0..<codeBits {
      var acc = 0.0
      for k in 0..<d { acc += Double(w[j, k]) * Double(t.shift[k]) }
      b[j] = Float(Double(b[j]) + acc)
    }
    for i in layout.encoderWeight { parameters[i] /= t.scale }
    for i in layout.decoderWeight { parameters[i] *= t.scale }
    for (k, i) in layout.decoderBias.enumerated() { parameters[i] = (parameters[i] - t.shift[k]) * t.scale }
  }

  /// The raw-unit model of one trained on t(x): `self` for the identity, else a folded copy.
  public func rawUnits(_ t: InputTransform) -> Autoencoder {
    guard !t.isIdentity else { return self }
    let c = copy()
    c.foldInput(t)
    return c
  }
}
