// The Binary Autoencoder's parameters and the views the math uses (spec §1).
// x: (n, d)  W_enc: (m, d)  z = x·W_encᵀ + b_enc: (n, m)  h = 1[z > 0]
// v: (n, d') (k = 1: v = h; k > 1: v_j = Σ_b h_{j·k+b}·2^b/(2^k − 1))  x̂ = v·W_decᵀ + b_dec: (n, d)
import BAERandom
import BAETensor

/// Parameters of one BAE replica in a single flat buffer laid out by `ParameterLayout`.
public final class BinaryAutoencoder: @unchecked Sendable {
  public let layout: ParameterLayout
  public let parameters: AlignedBuffer<Float>

  public var inputDim: Int { layout.inputDim }
  public var latentDim: Int { layout.latentDim }
  public var bitsPerFeature: Int { layout.bitsPerFeature }
  public var codeBits: Int { layout.codeBits }

  /// Zero parameters; use `initialise(seed:)` or copy weights in.
  public init(layout: ParameterLayout) {
    self.layout = layout
    parameters = AlignedBuffer(count: layout.count)
  }

  /// PyTorch nn.Linear's default init: weights and biases ~ U(−1/√fan_in, 1/√fan_in),
  /// fan_in = d for the encoder and d' for the decoder. Seeded with SplitMix64.
  public func initialise(seed: UInt64, decoderBias: Bool = true) {
    var rng = SplitMix64(seed: seed)
    func fill(_ r: Range<Int>, bound: Double) {
      for i in r { parameters[i] = Float((2 * rng.nextUnit() - 1) * bound) }
    }
    let encBound = 1 / Double(inputDim).squareRoot()
    let decBound = 1 / Double(latentDim).squareRoot()
    fill(layout.encoderWeight, bound: encBound)
    fill(layout.encoderBias, bound: encBound)
    fill(layout.decoderWeight, bound: decBound)
    if decoderBias { fill(layout.decoderBias, bound: decBound) } else {
      for i in layout.decoderBias { parameters[i] = 0 }
    }
  }

  public var encoderWeight: Matrix { Matrix(parameters, offset: layout.encoderWeight.lowerBound, rows: codeBits, cols: inputDim) }
  public var encoderBias: Vector { Vector(parameters, offset: layout.encoderBias.lowerBound, count: codeBits) }
  public var decoderWeight: Matrix { Matrix(parameters, offset: layout.decoderWeight.lowerBound, rows: inputDim, cols: latentDim) }
  public var decoderBias: Vector { Vector(parameters, offset: layout.decoderBias.lowerBound, count: inputDim) }

  /// Copies named tensors (spec §9 names) into the flat buffer; shapes must match exactly.
  public func load(_ tensors: [String: (shape: [Int], values: [Float])], source: String) throws(ConfigError) {
    for t in layout.tensors {
      guard let given = tensors[t.name] else {
        throw ConfigError(field: "initFrom", "\(source) has no tensor '\(t.name)'; expected keys encoder.weight, encoder.bias, decoder.weight, decoder.bias")
      }
      guard given.shape == t.shape, given.values.count == t.range.count else {
        throw ConfigError(field: "initFrom", "\(source): '\(t.name)' has shape \(given.shape) but this model needs \(t.shape) (d = \(inputDim), d' = \(latentDim), k = \(bitsPerFeature)); fix --latent-dim/--bits-per-feature or the data width")
      }
      for (o, v) in zip(t.range, given.values) { parameters[o] = v }
    }
  }

  /// Multi-bit weights 2^b/(2^k − 1) for b = 0..<k (the reference's `kb2f.kernel` buffer).
  public var bitWeights: [Float] {
    let denom = Float((1 << bitsPerFeature) - 1)
    return (0..<bitsPerFeature).map { Float(1 << $0) / denom }
  }

  /// Order-independent checksum of the parameters (for the replica-divergence check).
  public func checksum() -> Double {
    var s = 0.0
    var w = 0.0
    for i in 0..<parameters.count {
      let v = Double(parameters[i])
      s += v
      w += v * Double(i % 7 + 1)
    }
    return s + 1e-3 * w
  }
}
