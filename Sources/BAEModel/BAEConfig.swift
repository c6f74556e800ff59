// The one training configuration: Codable (JSON config files, checkpoints), documented per field,
// validated once by `validate()`, never mutated after training starts.
import Foundation

/// Gradient estimator for the step function h = 1[z > 0] (spec §2).
public enum Estimator: String, Codable, Sendable, CaseIterable {
  /// ∂L/∂z = g − g² (the reference default).
  case sign_s
  /// ∂L/∂z = g (plain straight-through).
  case sign
}

/// Order in which training rows form minibatches.
public enum BatchOrderSetting: String, Codable, Sendable, CaseIterable {
  case shuffled, sequential
}

/// Everything a training run needs; defaults are the reference implementation's (spec §4).
public struct BAEConfig: Codable, Equatable, Sendable {
  // Model
  /// Width d of the input hidden states. 0 means "take it from the data".
  public var inputDim: Int = 0
  /// Number of features d' (code bits per row = latentDim × bitsPerFeature). Default 4·d when 0.
  public var latentDim: Int = 0
  /// Bits per feature k (multi-bit variant, spec §5); 1 is the standard BAE.
  public var bitsPerFeature: Int = 1
  /// Whether the decoder has a bias b_dec (on in the reference).
  public var decoderBias: Bool = true

  // Loss
  /// λ_e: weight of the minibatch entropy term H (bits). 0 turns it off.
  public var entropyWeight: Double = 1e-7
  /// λ_c: weight of the covariance term D. 0 turns it off (and skips its computation).
  public var covarianceWeight: Double = 1e-7
  /// Optimizer step (0-based) from which λ_e applies; before it the entropy term is off.
  public var entropyStartStep: Int = 0
  /// If H < threshold the entropy term is dropped for that step (reference: 0 = never).
  public var entropyThreshold: Double = 0
  /// Gradient estimator at the binarisation.
  public var estimator: Estimator = .sign_s

  // Optimisation (Adam, PyTorch semantics)
  /// Learning rate (> 0).
  public var lr: Double = 5e-4
  public var beta1: Double = 0.9
  public var beta2: Double = 0.999
  public var adamEpsilon: Double = 1e-8
  /// Global minibatch size in rows (summed over all ranks).
  public var batchSize: Int = 512
  /// Number of optimizer steps; 0 means use `epochs`.
  public var steps: Int = 0
  /// Number of passes over the training split when `steps` is 0.
  public var epochs: Int = 1
  /// Row order within each epoch.
  public var batchOrder: BatchOrderSetting = .shuffled
  /// Seed for initialisation and shuffling.
  public var seed: UInt64 = 0
  /// Fraction of rows (the last ones, in file order) held out for validation; 0 = none.
  public var validationFraction: Double = 0.2
  /// Evaluate the validation split every this many steps (0 = only at the end).
  public var validateEvery: Int = 0

  // Data and output
  /// Path to a `.npy` file or a dataset directory.
  public var data: String = ""
  /// Output directory (model, config, metrics, checkpoints).
  public var out: String = ""
  /// Start from these weights (safetensors with spec §9 key names) instead of a random init.
  public var initFrom: String? = nil
  /// Rows containing NaN/Inf: false = error naming the row; true = skip and count them.
  public var skipNonFinite: Bool = false

  // Checkpoints and logging
  /// Write a checkpoint every N steps (0 = only the final model).
  public var checkpointEvery: Int = 0
  /// Keep the newest N checkpoints (0 = keep all).
  public var keepLast: Int = 3
  /// Additionally keep every checkpoint whose step is a multiple of M (0 = none).
  public var keepEvery: Int = 0
  /// Print a progress line every N steps.
  public var logEvery: Int = 10
  /// BLAS threads per rank (0 = leave OpenBLAS's default).
  public var blasThreads: Int = 0
  /// Check that replicas agree (parameter checksum min/max across ranks) every K steps (0 = never).
  public var divergenceCheckEvery: Int = 100

  public init() {}

  /// Total code bits per row: latentDim × bitsPerFeature.
  public var codeBits: Int { latentDim * bitsPerFeature }
}

/// A configuration or input that cannot be used, with the offending field and what to do.
public struct ConfigError: Error, CustomStringConvertible, Equatable {
  public let field: String
  public let message: String
  public init(field: String, _ message: String) { self.field = field; self.message = message }
  public var description: String { "invalid config field '\(field)': \(message)" }
}

extension BAEConfig {
  /// Rejects values that cannot train; call once the input width is known (inputDim > 0).
  public func validate() throws(ConfigError) {
    if inputDim < 1 { throw ConfigError(field: "inputDim", "is \(inputDim); the data must have at least one column") }
    if latentDim < 1 { throw ConfigError(field: "latentDim", "is \(latentDim); give --latent-dim N with N ≥ 1 (reference: 4 × inputDim)") }
    if bitsPerFeature < 1 || bitsPerFeature > 16 {
      throw ConfigError(field: "bitsPerFeature", "is \(bitsPerFeature); use 1 (standard BAE) up to 16")
    }
    if !(lr > 0) || !lr.isFinite { throw ConfigError(field: "lr", "is \(lr); the learning rate must be a positive number (reference 5e-4)") }
    if !(beta1 >= 0 && beta1 < 1) { throw ConfigError(field: "beta1", "is \(beta1); must be in [0, 1)") }
    if !(beta2 >= 0 && beta2 < 1) { throw ConfigError(field: "beta2", "is \(beta2); must be in [0, 1)") }
    if !(adamEpsilon > 0) { throw ConfigError(field: "adamEpsilon", "is \(adamEpsilon); must be > 0") }
    if batchSize < 1 { throw ConfigError(field: "batchSize", "is \(batchSize); must be ≥ 1") }
    if covarianceWeight != 0 && batchSize < 2 {
      throw ConfigError(field: "batchSize", "is \(batchSize) but the covariance term (n − 1 normalisation) needs ≥ 2 rows; raise --batch-size or set --covariance-weight 0")
    }
    if !(entropyWeight >= 0) || !entropyWeight.isFinite { throw ConfigError(field: "entropyWeight", "is \(entropyWeight); must be ≥ 0") }
    if !(covarianceWeight >= 0) || !covarianceWeight.isFinite { throw ConfigError(field: "covarianceWeight", "is \(covarianceWeight); must be ≥ 0") }
    if entropyStartStep < 0 { throw ConfigError(field: "entropyStartStep", "is \(entropyStartStep); must be ≥ 0") }
    if steps < 0 { throw ConfigError(field: "steps", "is \(steps); must be ≥ 0") }
    if steps == 0 && epochs < 1 { throw ConfigError(field: "epochs", "is \(epochs) and steps is 0; give --steps N or --epochs N") }
    if !(validationFraction >= 0 && validationFraction < 1) {
      throw ConfigError(field: "validationFraction", "is \(validationFraction); must be in [0, 1)")
    }
    if checkpointEvery < 0 { throw ConfigError(field: "checkpointEvery", "is \(checkpointEvery); must be ≥ 0") }
    if keepLast < 0 { throw ConfigError(field: "keepLast", "is \(keepLast); must be ≥ 0") }
    if logEvery < 1 { throw ConfigError(field: "logEvery", "is \(logEvery); must be ≥ 1") }
  }
}

extension BAEConfig {
  /// Decodes a config file that may give only some fields: the rest keep their defaults. Unknown
  /// keys are rejected by name, so a typo cannot silently fall back to a default.
  public static func decodePartial(_ data: Data) throws -> BAEConfig {
    guard let given = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
      throw ConfigError(field: "(file)", "is not a JSON object of config fields (see a run's config.json)")
    }
    var merged = try JSONSerialization.jsonObject(with: JSONEncoder().encode(BAEConfig())) as! [String: Any]
    let known = Set(merged.keys).union(["initFrom"])
    for (k, v) in given {
      guard known.contains(k) else {
        throw ConfigError(field: k, "is not a config field; known fields: \(known.sorted().joined(separator: ", "))")
      }
      merged[k] = v
    }
    do {
      return try JSONDecoder().decode(BAEConfig.self, from: JSONSerialization.data(withJSONObject: merged))
    } catch let DecodingError.typeMismatch(_, ctx), let DecodingError.dataCorrupted(ctx) {
      let field = ctx.codingPath.map(\.stringValue).joined(separator: ".")
      throw ConfigError(field: field, "has the wrong type or value (\(ctx.debugDescription))")
    }
  }
}
