// Exports a trained run as a SAELens folder (Documentation/Interop.md): cfg.json, sae_weights.safetensors
// (W_enc (d_in, d_sae), b_enc, W_dec (d_sae, d_in), b_dec[, threshold]) and sparsity.safetensors (log10
// feature density). A BAE is first put in SAE form by the flipped-bit transform: every bit with p > 0.5
// becomes 1 − h (encoder row and bias negated, decoder column negated and added to b_dec), which leaves
// every reconstruction unchanged and makes L0 = Σ min(p, 1 − p).
import BAEIO
import BAEModel
import Foundation

/// `bae export --format saelens`: a trained run as a SAELens folder (a BAE after the flipped-bit transform).
public enum SAEExport {
  /// The SAELens version whose folder layout this writes (≥ 6: no legacy renames on load).
  public static let saeLensVersion = "6.5.1"

  /// Tensors in SAELens orientation, after the flipped-bit transform for a BAE.
  public struct Weights {
    /// W_enc: (d_in, d_sae), row-major.
    public var encoder: [Float]
    /// b_enc: (d_sae).
    public var encoderBias: [Float]
    /// W_dec: (d_sae, d_in), row-major.
    public var decoder: [Float]
    /// b_dec: (d_in); for a BAE it absorbs the flipped bits' decoder columns.
    public var decoderBias: [Float]
    /// JumpReLU θ or BatchTopK's inference θ repeated: (d_sae); nil for other kinds.
    public var threshold: [Float]?
    /// BAE with unit-norm rescaling: activation of latent j is scale_j·h_j.
    public var scale: [Float]?
    /// Per latent: whether its bit was flipped (p > 0.5) by the transform; all false for an SAE.
    public var flipped: [Bool]
    public var dIn: Int, dSAE: Int
  }

  /// Transposes a model into SAELens orientation; `rates` (d_sae firing rates) decide the BAE flips.
  public static func weights(_ model: Autoencoder, rates: [Double], unitNormDecoder: Bool) -> Weights {
    precondition(model.bitsPerFeature == 1, "multi-bit BAEs have no SAE form")
    let d = model.inputDim, m = model.latentDim
    precondition(rates.count == m, "rates \(rates.count) != d_sae \(m)")
    let we = model.encoderWeight, be = model.encoderBias, wd = model.decoderWeight, bd = model.decoderBias
    let binary = model.architecture.isBinary
    let flipped = (0..<m).map { binary && rates[$0] > 0.5 }
    var out = Weights(
      encoder: .init(repeating: 0, count: d * m), encoderBias: .init(repeating: 0, count: m),
      decoder: .init(repeating: 0, count: m * d), decoderBias: (0..<d).map { bd[$0] },
      threshold: nil, scale: nil, flipped: flipped, dIn: d, dSAE: m)
    for j in 0..<m {
      let sign: Float = flipped[j] ? -1 : 1
      out.encoderBias[j] = sign * be[j]
      for k in 0..<d {
        out.encoder[k * m + j] = sign * we[j, k]
        out.decoder[j * d + k] = sign * wd[k, j]
        if flipped[j] { out.decoderBias[k] += wd[k, j] }
      }
    }
    if binary && unitNormDecoder {
      var scale = [Float](repeating: 0, count: m)
      for j in 0..<m {
        var s = 0.0
        for k in 0..<d { s += Double(out.decoder[j * d + k]) * Double(out.decoder[j * d + k]) }
        let norm = Float(s.squareRoot())
        scale[j] = norm
        if norm > 0 { for k in 0..<d { out.decoder[j * d + k] /= norm } }
      }
      out.scale = scale
    }
    switch model.architecture {
    case .jumprelu: out.threshold = model.thresholds()
    case .batchtopk: out.threshold = [Float](repeating: Float(model.batchThreshold ?? 0), count: m)
    default: break
    }
    return out
  }

  /// SAELens's architecture name for a kind (a BatchTopK SAE runs as a JumpReLU at inference).
  public static func saeLensArchitecture(_ a: Architecture) -> String {
    switch a {
    case .relu: return "standard"
    case .topk: return "topk"
    case .batchtopk, .jumprelu: return "jumprelu"
    case .bae: return "binary"
    }
  }

  /// Writes the folder. `modelName` / `hookName` go into cfg.json's metadata.
  public static func write(
    _ model: Autoencoder, rates: [Double], to dir: URL, unitNormDecoder: Bool = false,
    modelName: String, hookName: String, layer: Int?
  ) throws {
    let w = weights(model, rates: rates, unitNormDecoder: unitNormDecoder)
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    var st = SafeTensorsWriter(metadata: ["format": "pt"])
    st.add("W_enc", shape: [w.dIn, w.dSAE], floats: w.encoder)
    st.add("b_enc", shape: [w.dSAE], floats: w.encoderBias)
    st.add("W_dec", shape: [w.dSAE, w.dIn], floats: w.decoder)
    st.add("b_dec", shape: [w.dIn], floats: w.decoderBias)
    if let t = w.threshold { st.add("threshold", shape: [w.dSAE], floats: t) }
    if let s = w.scale { st.add("activation_scale", shape: [w.dSAE], floats: s) }
    try st.write(to: dir.appendingPathComponent("sae_weights.safetensors"))
    // density of the exported latents (a flipped bit fires at 1 − p)
    let density = (0..<w.dSAE).map { j -> Float in
      let p = w.flipped[j] ? 1 - rates[j] : rates[j]
      return Float(Foundation.log10(Swift.max(p, 1e-10)))
    }
    var sp = SafeTensorsWriter(metadata: ["format": "pt"])
    sp.add("sparsity", shape: [w.dSAE], floats: density)
    try sp.write(to: dir.appendingPathComponent("sparsity.safetensors"))
    var metadata: [String: Any] = [
      "model_name": modelName, "hook_name": hookName, "sae_lens_version": saeLensVersion,
      "sae_lens_training_version": saeLensVersion, "exported_by": "bae export",
      "source_architecture": model.architecture.rawValue,
    ]
    if let layer { metadata["hook_layer"] = layer }
    if model.architecture.isBinary { metadata["flipped_bits"] = w.flipped.filter { $0 }.count }
    var cfg: [String: Any] = [
      "d_in": w.dIn, "d_sae": w.dSAE, "dtype": "float32", "device": "cpu",
      "apply_b_dec_to_input": false, "normalize_activations": "none",
      "architecture": saeLensArchitecture(model.architecture), "metadata": metadata,
    ]
    if model.architecture == .topk { cfg["k"] = model.config.k }
    let json = try JSONSerialization.data(withJSONObject: cfg, options: [.prettyPrinted, .sortedKeys])
    try AtomicFile.write(json, to: dir.appendingPathComponent("cfg.json"))
  }
}
