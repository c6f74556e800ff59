// One flat layout shared by parameters, gradients and Adam's m and v, so the gradient all-reduce is a
// single call over one buffer and a checkpoint writes each buffer whole.

/// Offsets of the four parameter tensors inside one flat Float buffer, in spec §9 order.
public struct ParameterLayout: Equatable, Sendable {
  public let inputDim: Int       // d
  public let latentDim: Int      // d' (features, decoder inputs)
  public let bitsPerFeature: Int // k
  public var codeBits: Int { latentDim * bitsPerFeature }   // m = d'·k encoder outputs

  public init(inputDim: Int, latentDim: Int, bitsPerFeature: Int) {
    precondition(inputDim > 0 && latentDim > 0 && bitsPerFeature > 0,
                 "ParameterLayout(d: \(inputDim), d': \(latentDim), k: \(bitsPerFeature))")
    self.inputDim = inputDim
    self.latentDim = latentDim
    self.bitsPerFeature = bitsPerFeature
  }

  /// encoder.weight: (m, d)
  public var encoderWeight: Range<Int> { 0..<(codeBits * inputDim) }
  /// encoder.bias: (m)
  public var encoderBias: Range<Int> { encoderWeight.upperBound..<(encoderWeight.upperBound + codeBits) }
  /// decoder.weight: (d, d')
  public var decoderWeight: Range<Int> { encoderBias.upperBound..<(encoderBias.upperBound + inputDim * latentDim) }
  /// decoder.bias: (d)
  public var decoderBias: Range<Int> { decoderWeight.upperBound..<(decoderWeight.upperBound + inputDim) }
  public var count: Int { decoderBias.upperBound }

  /// Spec §9 names with their ranges and PyTorch (out, in) shapes.
  public var tensors: [(name: String, range: Range<Int>, shape: [Int])] {
    [("encoder.weight", encoderWeight, [codeBits, inputDim]),
     ("encoder.bias", encoderBias, [codeBits]),
     ("decoder.weight", decoderWeight, [inputDim, latentDim]),
     ("decoder.bias", decoderBias, [inputDim])]
  }
}
