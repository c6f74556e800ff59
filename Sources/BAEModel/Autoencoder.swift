// One autoencoder replica of any kind (Documentation/Baselines.md): its parameters in one flat buffer
// laid out by `ParameterLayout`, its untrained state (BatchTopK threshold, AuxK counters) in another.
// x: (n, d)  W_enc: (m, d)  z = x·W_encᵀ + b_enc: (n, m)  a = code(z): (n, d')  x̂ = a·W_decᵀ + b_dec: (n, d)
import BAERandom
import BAETensor
import Foundation

/// Parameters and state of one replica; the math lives in the `Autoencoder+…` extensions.
public final class Autoencoder: @unchecked Sendable {
  /// The resolved, validated hyper-parameters (inputDim and latentDim set).
  public let config: ModelConfig
  /// Where each trained tensor sits in `parameters`.
  public let layout: ParameterLayout
  /// Trained parameters: encoder.weight, encoder.bias, decoder.weight, decoder.bias[, log_threshold].
  public let parameters: AlignedBuffer<Float>
  /// Where each untrained state sits in `buffers` (empty for kinds without one).
  public let bufferLayout: BufferLayout
  /// Untrained state, identical on every rank (updated from global statistics only).
  public let buffers: AlignedBuffer<Double>

  /// The code function (bae, relu, topk, batchtopk, jumprelu).
  public var architecture: Architecture { config.architecture }
  /// Input width d.
  public var inputDim: Int { layout.inputDim }
  /// Features d'.
  public var latentDim: Int { layout.latentDim }
  /// Bits per feature k (1 except for a multi-bit BAE).
  public var bitsPerFeature: Int { layout.bitsPerFeature }
  /// Encoder outputs per row m (d'·k for a BAE, d' for an SAE).
  public var codeBits: Int { layout.codeBits }

  /// Zero parameters for a validated config; use `initialise(seed:)` or `load` next.
  public init(config: ModelConfig) {
    precondition(
      config.inputDim > 0 && config.latentDim > 0,
      "Autoencoder needs a resolved config (d \(config.inputDim), d' \(config.latentDim))")
    self.config = config
    layout = ParameterLayout(config)
    parameters = AlignedBuffer(count: layout.count)
    bufferLayout = BufferLayout(config)
    buffers = AlignedBuffer(count: bufferLayout.count)
  }

  /// PyTorch nn.Linear's default init: weights and biases ~ U(−1/√fan_in, 1/√fan_in),
  /// fan_in = d for the encoder and d' for the decoder, seeded with SplitMix64. Then the kind's own
  /// constraints: unit-norm decoder columns, log θ = log(threshold).
  public func initialise(seed: UInt64) {
    var rng = SplitMix64(seed: seed)
    func fill(_ r: Range<Int>, bound: Double) {
      for i in r { parameters[i] = Float((2 * rng.nextUnit() - 1) * bound) }
    }
    let encBound = 1 / Double(inputDim).squareRoot()
    let decBound = 1 / Double(latentDim).squareRoot()
    fill(layout.encoderWeight, bound: encBound)
    fill(layout.encoderBias, bound: encBound)
    fill(layout.decoderWeight, bound: decBound)
    if config.decoderBias {
      fill(layout.decoderBias, bound: decBound)
    } else {
      for i in layout.decoderBias { parameters[i] = 0 }
    }
    for i in layout.logThreshold { parameters[i] = Float(Foundation.log(config.threshold)) }
    buffers.zero()
    if config.unitNormDecoder { normaliseDecoderColumns() }
  }

  /// W_enc: (m, d), a view into `parameters`.
  public var encoderWeight: Matrix {
    Matrix(parameters, offset: layout.encoderWeight.lowerBound, rows: codeBits, cols: inputDim)
  }
  /// b_enc: (m), a view into `parameters`.
  public var encoderBias: Vector { Vector(parameters, offset: layout.encoderBias.lowerBound, count: codeBits) }
  /// W_dec: (d, d'), a view into `parameters`.
  public var decoderWeight: Matrix {
    Matrix(parameters, offset: layout.decoderWeight.lowerBound, rows: inputDim, cols: latentDim)
  }
  /// b_dec: (d), a view into `parameters` (zero and untrained when the config turns the bias off).
  public var decoderBias: Vector { Vector(parameters, offset: layout.decoderBias.lowerBound, count: inputDim) }
  /// log θ: (d'), JumpReLU with a learned threshold only.
  public var logThreshold: Vector {
    Vector(parameters, offset: layout.logThreshold.lowerBound, count: layout.logThreshold.count)
  }

  /// The BatchTopK inference threshold θ (nil before the first training step or for other kinds).
  public var batchThreshold: Double? {
    get {
      bufferLayout.threshold.isEmpty || buffers[bufferLayout.threshold.lowerBound + 1] == 0
        ? nil : buffers[bufferLayout.threshold.lowerBound]
    }
    set {
      guard !bufferLayout.threshold.isEmpty else { return }
      buffers[bufferLayout.threshold.lowerBound] = newValue ?? 0
      buffers[bufferLayout.threshold.lowerBound + 1] = newValue == nil ? 0 : 1
    }
  }

  /// Multi-bit weights 2^b/(2^k − 1) for b = 0..<k (the reference's `kb2f.kernel` buffer).
  public var bitWeights: [Float] {
    let denom = Float((1 << bitsPerFeature) - 1)
    return (0..<bitsPerFeature).map { Float(1 << $0) / denom }
  }

  /// Order-independent checksum of parameters and state (for the replica-divergence check).
  public func checksum() -> Double {
    var s = 0.0
    var w = 0.0
    for i in 0..<parameters.count {
      let v = Double(parameters[i])
      s += v
      w += v * Double(i % 7 + 1)
    }
    for i in 0..<buffers.count { s += buffers[i] * 1e-9 }
    return s + 1e-3 * w
  }
}

/// Named tensors that do not fit a model.
public enum ModelLoadError: Error, CustomStringConvertible, Equatable {
  /// `source` lacks a tensor the model needs.
  case missingTensor(source: String, name: String, expected: [String])
  /// A tensor's shape differs from the model's.
  case shapeMismatch(source: String, name: String, found: [Int], expected: [Int])

  /// Which source, which tensor, and what was expected: check that the run and the model kind match.
  public var description: String {
    switch self {
    case let .missingTensor(source, name, expected):
      return
        "\(source) has no tensor '\(name)'; this model needs \(expected.joined(separator: ", ")). Was it written by `bae train` for this architecture?"
    case let .shapeMismatch(source, name, found, expected):
      return
        "\(source): '\(name)' has shape \(found) but this model needs \(expected); the weights belong to a model of another width, or config.json does not match them"
    }
  }
}

extension Autoencoder {
  /// Copies named tensors into the flat buffers; names and shapes must match exactly. `threshold` (1)
  /// restores the BatchTopK inference threshold when present.
  public func load(_ tensors: [String: (shape: [Int], values: [Float])], source: String) throws(ModelLoadError) {
    let names = layout.tensors.map(\.name)
    for t in layout.tensors {
      guard let given = tensors[t.name] else { throw .missingTensor(source: source, name: t.name, expected: names) }
      guard given.shape == t.shape, given.values.count == t.range.count else {
        throw .shapeMismatch(source: source, name: t.name, found: given.shape, expected: t.shape)
      }
      for (o, v) in zip(t.range, given.values) { parameters[o] = v }
    }
    if architecture == .batchtopk, let th = tensors["threshold"] {
      guard th.values.count == 1 else {
        throw .shapeMismatch(source: source, name: "threshold", found: th.shape, expected: [1])
      }
      batchThreshold = Double(th.values[0])
    }
  }

  /// Decoder column j ← column / ‖column‖ for every latent (zero columns stay zero).
  public func normaliseDecoderColumns() {
    let w = decoderWeight, dl = latentDim
    var norms = [Double](repeating: 0, count: dl)
    for r in 0..<w.rows {
      let row = w.row(r)
      for j in 0..<dl { norms[j] += Double(row[j]) * Double(row[j]) }
    }
    let inv = norms.map { $0 > 0 ? Float(1 / $0.squareRoot()) : 0 }
    for r in 0..<w.rows {
      let row = w.row(r)
      for j in 0..<dl where inv[j] > 0 { row[j] *= inv[j] }
    }
  }

  /// ‖W_dec[:, j]‖ for every latent.
  public func decoderColumnNorms() -> [Double] {
    let w = decoderWeight, dl = latentDim
    var norms = [Double](repeating: 0, count: dl)
    for r in 0..<w.rows {
      let row = w.row(r)
      for j in 0..<dl { norms[j] += Double(row[j]) * Double(row[j]) }
    }
    return norms.map { $0.squareRoot() }
  }
}
