// The per-token feature values ComSem ranks: a trained model's code (the BAE's bits h, an SAE's
// activations a) or a random-code baseline (seeded Gaussian codes of the same width, one row per token,
// independent of the data). Both are read in chunks of consecutive rows; the same row always gives the
// same values, so the rates pass and the assignment pass agree.
import BAEModel
import BAERandom
import BAEStore
import BAETensor
import Foundation

/// A source of per-token feature values, read in chunks of consecutive rows.
public protocol FeatureValueSource: AnyObject {
  /// Values per token (the model's code bits d'·k for a BAE, its latents d' for an SAE).
  var features: Int { get }
  /// Largest chunk `values(rows:)` accepts.
  var chunkCapacity: Int { get }
  /// Values of rows `rows` (at most `chunkCapacity`), row-major (rows.count, features).
  func values(rows: Range<Int>) throws -> UnsafeBufferPointer<Float>
}

/// A trained model's code of each row of a data source: h for a BAE (k = 1: 0/1 per code bit), the
/// activations a for an SAE (0 where a latent is off).
public final class ModelFeatureValues: FeatureValueSource {
  let model: Autoencoder
  let source: any RowSource
  let workspace: StepWorkspace
  let x: AlignedBuffer<Float>

  /// Encodes rows of `source` with `model`, at most `chunk` rows at a time.
  public init(model: Autoencoder, source: any RowSource, chunk: Int) {
    precondition(source.inputDim == model.inputDim, "source width \(source.inputDim), model inputDim \(model.inputDim)")
    self.model = model
    self.source = source
    workspace = StepWorkspace(config: model.config, capacity: max(1, chunk), covariance: false)
    x = AlignedBuffer(count: workspace.capacity * model.inputDim)
  }

  /// The BAE's code bits d'·k, or the SAE's latents d'.
  public var features: Int { model.architecture.isBinary ? model.codeBits : model.latentDim }
  /// The workspace's row capacity.
  public var chunkCapacity: Int { workspace.capacity }

  /// h (BAE) or a (SAE) of `rows`; valid until the next call.
  public func values(rows: Range<Int>) throws -> UnsafeBufferPointer<Float> {
    let n = rows.count, d = model.inputDim
    precondition(n <= chunkCapacity, "chunk of \(n) rows, capacity \(chunkCapacity)")
    try source.readRows(Array(rows), into: UnsafeMutableBufferPointer(rebasing: x.buffer[0..<(n * d)]))
    _ = try model.forward(Matrix(x, rows: n, cols: d), workspace)
    // BAE: ws.codes holds h (n, d'·k) after the forward; SAE: ws.activations holds a (n, d')
    let out = model.architecture.isBinary ? workspace.codes : workspace.activations
    return UnsafeBufferPointer(start: out.baseAddress, count: n * features)
  }
}

/// The random-code baseline: row r's code is `features` standard normal values drawn from
/// SplitMix64(seed: seed, epoch: r, stream: 0), independent of the data and of the chunking.
public final class RandomFeatureValues: FeatureValueSource {
  /// Width of a code (the compared model's feature count).
  public let features: Int
  /// Seed of every row's generator.
  public let seed: UInt64
  /// Largest chunk `values(rows:)` accepts.
  public let chunkCapacity: Int
  let buffer: AlignedBuffer<Float>

  /// Random codes of width `features`, served `chunk` rows at a time.
  public init(features: Int, seed: UInt64, chunk: Int) {
    precondition(features >= 1, "features \(features) must be >= 1")
    self.features = features
    self.seed = seed
    chunkCapacity = max(1, chunk)
    buffer = AlignedBuffer(count: chunkCapacity * features)
  }

  /// The code of one row (the values `values(rows:)` returns for it).
  public static func code(row: Int, features: Int, seed: UInt64) -> [Float] {
    var g = SplitMix64(seed: seed, epoch: row, stream: 0)
    return (0..<features).map { _ in Float(g.nextGaussian()) }
  }

  /// The codes of `rows`; valid until the next call.
  public func values(rows: Range<Int>) throws -> UnsafeBufferPointer<Float> {
    precondition(rows.count <= chunkCapacity, "chunk of \(rows.count) rows, capacity \(chunkCapacity)")
    let m = features, b = buffer.baseAddress
    for (i, r) in rows.enumerated() {
      var g = SplitMix64(seed: seed, epoch: r, stream: 0)
      for j in 0..<m { b[i * m + j] = Float(g.nextGaussian()) }
    }
    return UnsafeBufferPointer(start: buffer.baseAddress, count: rows.count * m)
  }
}
