// What a model needs and nothing else: its kind, its shape, its loss weights and its optimizer. Run
// settings (paths, cadence, threads) live in BAETrain's TrainConfig. Defaults are stated here once;
// the CLI's help text reads them from `ModelConfig()`.

/// One autoencoder's hyper-parameters; defaults are the reference implementation's.
public struct ModelConfig: Codable, Equatable, Sendable {
  /// The code function (bae, relu, topk, batchtopk, jumprelu).
  public var architecture: Architecture = .bae
  /// Width d of the input hidden states. 0 means "take it from the data".
  public var inputDim: Int = 0
  /// Number of features d' (latents). 0 means 4·d.
  public var latentDim: Int = 0
  /// BAE only: bits per feature k (multi-bit variant); 1 is the standard BAE.
  public var bitsPerFeature: Int = 1
  /// Whether the decoder has a bias b_dec (on in the reference).
  public var decoderBias: Bool = true

  // BAE loss
  /// BAE: λ_e, weight of the minibatch entropy term H (bits). 0 turns it off.
  public var entropyWeight: Double = 1e-7
  /// BAE: λ_c, weight of the covariance term D. 0 turns it off (and skips its computation).
  public var covarianceWeight: Double = 1e-7
  /// BAE: optimizer step (0-based) from which λ_e applies; before it the entropy term is off.
  public var entropyStartStep: Int = 0
  /// BAE: if H < threshold the entropy term is dropped for that step (0 = never).
  public var entropyThreshold: Double = 0
  /// BAE: gradient estimator at the binarisation.
  public var estimator: Estimator = .sign_s

  // SAE knobs (Documentation/Baselines.md)
  /// topk/batchtopk: active latents per row (batchtopk: on average).
  public var k: Int = 32
  /// topk: false selects the k largest z themselves (the reference's form, no ReLU).
  public var topkReLU: Bool = true
  /// relu: λ of the L1 penalty (≥ 0).
  public var l1Weight: Double = 1e-3
  /// relu: which L1 form.
  public var l1Form: L1Form = .sum
  /// topk: α of the AuxK dead-latent loss (0 = off).
  public var auxkWeight: Double = 0
  /// topk: latents in the AuxK reconstruction (0 = d/2).
  public var auxkK: Int = 0
  /// topk with AuxK: a latent is dead after this many training rows without firing.
  public var deadAfterRows: Int = 100_000
  /// SAEs: keep decoder columns at unit norm (gradient's parallel part removed, renormalised per step).
  public var unitNormDecoder: Bool = false
  /// jumprelu: θ (fixed, or the initial value when learned).
  public var threshold: Double = 0.5
  /// jumprelu: learn a per-latent θ with a straight-through estimator and an L0 penalty.
  public var learnThreshold: Bool = false
  /// jumprelu (learned): bandwidth ε of the rectangle kernel, in input units.
  public var bandwidth: Double = 1e-3
  /// jumprelu (learned): λ_0 of the mean-L0 penalty.
  public var l0Weight: Double = 1e-3
  /// batchtopk: momentum β of the running inference threshold.
  public var thresholdMomentum: Double = 0.01

  // Optimisation (Adam, PyTorch semantics)
  /// Learning rate (> 0).
  public var lr: Double = 5e-4
  /// Adam β1.
  public var beta1: Double = 0.9
  /// Adam β2.
  public var beta2: Double = 0.999
  /// Adam ε.
  public var adamEpsilon: Double = 1e-8

  /// The defaults: a standard BAE (k = 1) with the reference's loss weights and optimizer; d and d' still to resolve.
  public init() {}

  /// Encoder outputs per row m: latentDim × bitsPerFeature for a BAE, latentDim for an SAE.
  public var codeBits: Int { architecture == .bae ? latentDim * bitsPerFeature : latentDim }
  /// Effective AuxK width.
  public var auxkLatents: Int { auxkK > 0 ? auxkK : max(1, inputDim / 2) }
  /// Whether the covariance statistics are computed.
  public var usesCovariance: Bool { architecture == .bae && covarianceWeight != 0 }
  /// The largest d·d' (and d'·k) a model may have: 2^40 floats is 4 TiB, far past one rank's memory.
  public static let maxParameters = 1 << 40
}

/// A model setting that cannot be used, with the field and what to do.
public struct ConfigError: Error, CustomStringConvertible, Equatable {
  /// The config key at fault, e.g. "latentDim".
  public let field: String
  /// What is wrong with it and what to do.
  public let message: String
  /// An error for config key `field`, with `message` saying what is wrong and what to do.
  public init(field: String, _ message: String) {
    self.field = field
    self.message = message
  }
  /// "invalid config field '<field>': <message>".
  public var description: String { "invalid config field '\(field)': \(message)" }
}

extension ModelConfig {
  /// Rejects values that cannot train; call once the input width is known (inputDim > 0).
  public func validate() throws(ConfigError) {
    if inputDim < 1 { throw ConfigError(field: "inputDim", "is \(inputDim); the data must have at least one column") }
    if latentDim < 1 {
      throw ConfigError(field: "latentDim", "is \(latentDim); give --latent-dim N with N ≥ 1 (default 4 × inputDim)")
    }
    if bitsPerFeature < 1 || bitsPerFeature > 16 {
      throw ConfigError(field: "bitsPerFeature", "is \(bitsPerFeature); use 1 (standard BAE) up to 16")
    }
    if architecture != .bae && bitsPerFeature != 1 {
      throw ConfigError(
        field: "bitsPerFeature",
        "is \(bitsPerFeature) but only a BAE has bits per feature; drop --bits-per-feature for --architecture \(architecture.rawValue)"
      )
    }
    let (enc, o1) = latentDim.multipliedReportingOverflow(by: bitsPerFeature)
    let (par, o2) = enc.multipliedReportingOverflow(by: inputDim)
    if o1 || o2 || par > Self.maxParameters {
      throw ConfigError(
        field: "latentDim",
        "is \(latentDim) with d = \(inputDim) and k = \(bitsPerFeature): the weights would exceed \(Self.maxParameters) floats; choose a smaller --latent-dim"
      )
    }
    if !(lr > 0) || !lr.isFinite {
      throw ConfigError(field: "lr", "is \(lr); the learning rate must be a positive number (reference 5e-4)")
    }
    if !(beta1 >= 0 && beta1 < 1) { throw ConfigError(field: "beta1", "is \(beta1); must be in [0, 1)") }
    if !(beta2 >= 0 && beta2 < 1) { throw ConfigError(field: "beta2", "is \(beta2); must be in [0, 1)") }
    if !(adamEpsilon > 0) || !adamEpsilon.isFinite {
      throw ConfigError(field: "adamEpsilon", "is \(adamEpsilon); must be > 0")
    }
    if !(entropyWeight >= 0) || !entropyWeight.isFinite {
      throw ConfigError(field: "entropyWeight", "is \(entropyWeight); must be ≥ 0")
    }
    if !(covarianceWeight >= 0) || !covarianceWeight.isFinite {
      throw ConfigError(field: "covarianceWeight", "is \(covarianceWeight); must be ≥ 0")
    }
    if entropyStartStep < 0 { throw ConfigError(field: "entropyStartStep", "is \(entropyStartStep); must be ≥ 0") }
    if !entropyThreshold.isFinite {
      throw ConfigError(field: "entropyThreshold", "is \(entropyThreshold); must be a finite number")
    }
    switch architecture {
    case .bae:
      if unitNormDecoder {
        throw ConfigError(field: "unitNormDecoder", "is only for SAEs; a BAE's decoder is unconstrained (Method.md)")
      }
    case .relu:
      if !(l1Weight >= 0) || !l1Weight.isFinite {
        throw ConfigError(field: "l1Weight", "is \(l1Weight); give --l1-weight λ ≥ 0")
      }
    case .topk, .batchtopk:
      if k < 1 || k > latentDim {
        throw ConfigError(field: "k", "is \(k); give --k N with 1 ≤ N ≤ latentDim (\(latentDim))")
      }
      if !(auxkWeight >= 0) || !auxkWeight.isFinite {
        throw ConfigError(field: "auxkWeight", "is \(auxkWeight); must be ≥ 0")
      }
      if architecture == .batchtopk && auxkWeight != 0 {
        throw ConfigError(
          field: "auxkWeight", "AuxK is offered for topk only; use --architecture topk or drop --auxk-weight")
      }
      if auxkK < 0 || auxkK > latentDim {
        throw ConfigError(field: "auxkK", "is \(auxkK); must be in 0 (= d/2) … latentDim")
      }
      if deadAfterRows < 1 || deadAfterRows > 1 << 24 {
        throw ConfigError(field: "deadAfterRows", "is \(deadAfterRows); must be in 1 … 16777216 rows")
      }
      if !(thresholdMomentum > 0 && thresholdMomentum <= 1) {
        throw ConfigError(field: "thresholdMomentum", "is \(thresholdMomentum); must be in (0, 1]")
      }
    case .jumprelu:
      if !(threshold > 0) || !threshold.isFinite {
        throw ConfigError(field: "threshold", "is \(threshold); give --threshold θ > 0")
      }
      if !(bandwidth > 0) || !bandwidth.isFinite {
        throw ConfigError(field: "bandwidth", "is \(bandwidth); must be > 0")
      }
      if !(l0Weight >= 0) || !l0Weight.isFinite { throw ConfigError(field: "l0Weight", "is \(l0Weight); must be ≥ 0") }
    }
  }
}

extension ModelConfig {
  /// A resolved BAE config (λ_e = λ_c = 0 unless set afterwards): for tests, benchmarks and tools.
  public static func bae(inputDim: Int, latentDim: Int, bitsPerFeature: Int = 1) -> ModelConfig {
    var c = ModelConfig()
    c.inputDim = inputDim
    c.latentDim = latentDim
    c.bitsPerFeature = bitsPerFeature
    return c
  }
}
