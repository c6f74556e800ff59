// One flat layout shared by parameters, gradients and Adam's m and v, so the gradient all-reduce is a
// single call over one buffer and a checkpoint writes each buffer whole. Every tensor is a named range;
// latent-indexed tensors (encoder rows, decoder columns, thresholds) are the axis a future
// latent-sharded layout would split.

/// A named tensor inside a flat buffer, with its PyTorch (out, in) shape.
public struct TensorSlot: Equatable, Sendable {
  /// The tensor's name in checkpoints and exports (the reference's state_dict name), e.g. "encoder.weight".
  public let name: String
  /// Its elements in the flat buffer.
  public let range: Range<Int>
  /// Its PyTorch shape, (out, in) for weights.
  public let shape: [Int]
}

/// Offsets of the trained tensors of one autoencoder inside one flat Float buffer.
public struct ParameterLayout: Equatable, Sendable {
  /// Input width d.
  public let inputDim: Int
  /// Features d' (the decoder's inputs).
  public let latentDim: Int
  /// Bits per feature k (a multi-bit BAE; 1 otherwise).
  public let bitsPerFeature: Int
  /// Encoder outputs m = d'·k.
  public var codeBits: Int { latentDim * bitsPerFeature }
  /// Whether a learned per-latent log θ follows the decoder bias (JumpReLU).
  public let learnedThreshold: Bool

  /// The layout for d, d' and k; a learned JumpReLU threshold adds log θ after the decoder bias. Traps unless all three
  /// are positive.
  public init(inputDim: Int, latentDim: Int, bitsPerFeature: Int = 1, learnedThreshold: Bool = false) {
    precondition(
      inputDim > 0 && latentDim > 0 && bitsPerFeature > 0,
      "ParameterLayout(d: \(inputDim), d': \(latentDim), k: \(bitsPerFeature))")
    self.inputDim = inputDim
    self.latentDim = latentDim
    self.bitsPerFeature = bitsPerFeature
    self.learnedThreshold = learnedThreshold
  }

  /// The layout of a validated config (inputDim and latentDim resolved).
  public init(_ c: ModelConfig) {
    self.init(
      inputDim: c.inputDim, latentDim: c.latentDim, bitsPerFeature: c.architecture == .bae ? c.bitsPerFeature : 1,
      learnedThreshold: c.architecture == .jumprelu && c.learnThreshold)
  }

  /// encoder.weight: (m, d)
  public var encoderWeight: Range<Int> { 0..<(codeBits * inputDim) }
  /// encoder.bias: (m)
  public var encoderBias: Range<Int> { encoderWeight.upperBound..<(encoderWeight.upperBound + codeBits) }
  /// decoder.weight: (d, d')
  public var decoderWeight: Range<Int> { encoderBias.upperBound..<(encoderBias.upperBound + inputDim * latentDim) }
  /// decoder.bias: (d)
  public var decoderBias: Range<Int> { decoderWeight.upperBound..<(decoderWeight.upperBound + inputDim) }
  /// log_threshold: (d'), empty unless learned.
  public var logThreshold: Range<Int> {
    decoderBias.upperBound..<(decoderBias.upperBound + (learnedThreshold ? latentDim : 0))
  }
  /// Floats in the flat parameter buffer: m·d + m + d·d' + d, plus d' with a learned threshold.
  public var count: Int { logThreshold.upperBound }

  /// The trained tensors with their names (the reference's state_dict names) and shapes.
  public var tensors: [TensorSlot] {
    var t = [
      TensorSlot(name: "encoder.weight", range: encoderWeight, shape: [codeBits, inputDim]),
      TensorSlot(name: "encoder.bias", range: encoderBias, shape: [codeBits]),
      TensorSlot(name: "decoder.weight", range: decoderWeight, shape: [inputDim, latentDim]),
      TensorSlot(name: "decoder.bias", range: decoderBias, shape: [inputDim]),
    ]
    if learnedThreshold { t.append(TensorSlot(name: "log_threshold", range: logThreshold, shape: [latentDim])) }
    return t
  }
}

/// State a model keeps that is not trained by the optimizer, in one flat Double buffer: the BatchTopK
/// inference threshold and the AuxK rows-since-fired counters (exact integers below 2^53).
public struct BufferLayout: Equatable, Sendable {
  /// [θ, 1 once θ has been set]: batchtopk only.
  public let threshold: Range<Int>
  /// rows since each latent last fired: (d'), topk with AuxK only.
  public let rowsSinceFired: Range<Int>

  /// The buffers a model of `c`'s kind needs: θ for batchtopk, counters for topk with AuxK, none otherwise.
  public init(_ c: ModelConfig) {
    threshold = 0..<(c.architecture == .batchtopk ? 2 : 0)
    let auxk = c.architecture == .topk && c.auxkWeight != 0
    rowsSinceFired = threshold.upperBound..<(threshold.upperBound + (auxk ? c.latentDim : 0))
  }
  /// Doubles in the flat state buffer (0 when the kind keeps no state).
  public var count: Int { rowsSinceFired.upperBound }

  /// Named slots, for checkpoints.
  public var tensors: [TensorSlot] {
    var t: [TensorSlot] = []
    if !threshold.isEmpty { t.append(TensorSlot(name: "threshold_state", range: threshold, shape: [2])) }
    if !rowsSinceFired.isEmpty {
      t.append(TensorSlot(name: "rows_since_fired", range: rowsSinceFired, shape: [rowsSinceFired.count]))
    }
    return t
  }
}
