// The kinds of autoencoder one trainer trains (Documentation/Baselines.md). The trainer never names
// them: it calls the model's phases, and the model switches on its kind only where the math differs.

/// The code function between encoder and decoder.
public enum Architecture: String, Codable, Sendable, CaseIterable {
  /// Binary Autoencoder: h = 1[z > 0], entropy and covariance terms (Method.md).
  case bae
  /// ReLU SAE with an L1 penalty.
  case relu
  /// TopK SAE: the k largest (ReLU'd) pre-activations per row.
  case topk
  /// BatchTopK SAE: the N·k largest activations of the whole global batch.
  case batchtopk
  /// JumpReLU SAE: a = z·1[z > θ], θ fixed or learned.
  case jumprelu

  /// Whether the code is binary (bits) rather than real-valued activations.
  public var isBinary: Bool { self == .bae }
}

/// Gradient estimator for the step function h = 1[z > 0] (Method.md §2).
public enum Estimator: String, Codable, Sendable, CaseIterable {
  /// ∂L/∂z = g − g² (the reference default). Named as the reference and the CLI spell it.
  // swift-format-ignore: AlwaysUseLowerCamelCase
  case sign_s
  /// ∂L/∂z = g (plain straight-through).
  case sign
}

/// How the ReLU SAE's L1 penalty weights each latent.
public enum L1Form: String, Codable, Sendable, CaseIterable {
  /// λ·Σ|a| over batch and latents (the reference form).
  case sum
  /// λ·Σ|a_j|·‖W_dec[:, j]‖ (the common modern form).
  case decoderNorm = "decoder-norm"
}
