// The one run configuration: the model's hyper-parameters (`ModelConfig`, the model layer's) plus the
// run's own settings (data, batches, cadence, paths, threads). Codable as ONE flat JSON object (config
// files, config.json, checkpoints), documented per field, validated once, never mutated after start.
import BAEModel
import BAEStore
import Foundation

/// Everything a training run needs; defaults are the reference implementation's.
public struct TrainConfig: Equatable, Sendable {
  /// The model: architecture, shape, loss weights, optimizer.
  public var model = ModelConfig()
  /// Global minibatch size in rows (summed over all ranks).
  public var batchSize: Int = 512
  /// Number of optimizer steps; 0 means use `epochs`.
  public var steps: Int = 0
  /// Number of passes over the training split when `steps` is 0.
  public var epochs: Int = 1
  /// Row order within each epoch.
  public var batchOrder: BatchOrder = .shuffled
  /// Seed for initialisation and shuffling.
  public var seed: UInt64 = 0
  /// Fraction of rows (the last ones, in file order) held out for validation; 0 = none.
  public var validationFraction: Double = 0.2
  /// Evaluate the validation split every this many steps (0 = only at the end).
  public var validateEvery: Int = 0
  /// Path to a `.npy` file or a dataset directory.
  public var data: String = ""
  /// Output directory (model, config, metrics, checkpoints).
  public var out: String = ""
  /// Start from these weights (a model.safetensors of the same architecture) instead of a random init.
  public var initFrom: String? = nil
  /// Rows containing NaN/Inf: false = error naming the row; true = skip and count them.
  public var skipNonFinite: Bool = false
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
  /// Input map: `centered` trains on s·(x − μ) (μ the training mean, s giving x − μ a mean row norm
  /// of √d), `mean-norm` on s·x (s giving x a mean row norm of √d), `none` on raw x (the reference
  /// path). Saved weights are always in raw units (the map is folded back into them).
  public var inputNormalization: InputNormalization = .centered
  /// b_dec's start: `mean` (the training mean, in raw units) or `uniform` (nn.Linear, the reference).
  public var decoderBiasInit: DecoderBiasInit = .mean
  /// The factor s the run applied (1 with `none`): written by the trainer (measured on a fresh start,
  /// taken from the checkpoint on resume); a value read from a config file is ignored.
  public var inputScale: Double = 0

  public init() {}

  /// The largest step or epoch count accepted (a size product above it could overflow).
  public static let maxSteps = 1 << 40
}

extension TrainConfig: Codable {
  enum CodingKeys: String, CodingKey, CaseIterable {
    case batchSize, steps, epochs, batchOrder, seed, validationFraction, validateEvery, data, out, initFrom,
      skipNonFinite, checkpointEvery, keepLast, keepEvery, logEvery, blasThreads, divergenceCheckEvery,
      inputNormalization, decoderBiasInit, inputScale
  }

  public init(from decoder: Decoder) throws {
    model = try ModelConfig(from: decoder)
    let c = try decoder.container(keyedBy: CodingKeys.self)
    batchSize = try c.decode(Int.self, forKey: .batchSize)
    steps = try c.decode(Int.self, forKey: .steps)
    epochs = try c.decode(Int.self, forKey: .epochs)
    batchOrder = try c.decode(BatchOrder.self, forKey: .batchOrder)
    seed = try c.decode(UInt64.self, forKey: .seed)
    validationFraction = try c.decode(Double.self, forKey: .validationFraction)
    validateEvery = try c.decode(Int.self, forKey: .validateEvery)
    data = try c.decode(String.self, forKey: .data)
    out = try c.decode(String.self, forKey: .out)
    initFrom = try c.decodeIfPresent(String.self, forKey: .initFrom)
    skipNonFinite = try c.decode(Bool.self, forKey: .skipNonFinite)
    checkpointEvery = try c.decode(Int.self, forKey: .checkpointEvery)
    keepLast = try c.decode(Int.self, forKey: .keepLast)
    keepEvery = try c.decode(Int.self, forKey: .keepEvery)
    logEvery = try c.decode(Int.self, forKey: .logEvery)
    blasThreads = try c.decode(Int.self, forKey: .blasThreads)
    divergenceCheckEvery = try c.decode(Int.self, forKey: .divergenceCheckEvery)
    // absent in files written before these fields existed: those runs trained on raw inputs
    inputNormalization = try c.decodeIfPresent(InputNormalization.self, forKey: .inputNormalization) ?? .none
    decoderBiasInit = try c.decodeIfPresent(DecoderBiasInit.self, forKey: .decoderBiasInit) ?? .uniform
    inputScale = try c.decodeIfPresent(Double.self, forKey: .inputScale) ?? 1
  }

  public func encode(to encoder: Encoder) throws {
    try model.encode(to: encoder)
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(batchSize, forKey: .batchSize)
    try c.encode(steps, forKey: .steps)
    try c.encode(epochs, forKey: .epochs)
    try c.encode(batchOrder, forKey: .batchOrder)
    try c.encode(seed, forKey: .seed)
    try c.encode(validationFraction, forKey: .validationFraction)
    try c.encode(validateEvery, forKey: .validateEvery)
    try c.encode(data, forKey: .data)
    try c.encode(out, forKey: .out)
    try c.encodeIfPresent(initFrom, forKey: .initFrom)
    try c.encode(skipNonFinite, forKey: .skipNonFinite)
    try c.encode(checkpointEvery, forKey: .checkpointEvery)
    try c.encode(keepLast, forKey: .keepLast)
    try c.encode(keepEvery, forKey: .keepEvery)
    try c.encode(logEvery, forKey: .logEvery)
    try c.encode(blasThreads, forKey: .blasThreads)
    try c.encode(divergenceCheckEvery, forKey: .divergenceCheckEvery)
    try c.encode(inputNormalization, forKey: .inputNormalization)
    try c.encode(decoderBiasInit, forKey: .decoderBiasInit)
    try c.encode(inputScale, forKey: .inputScale)
  }
}

extension TrainConfig {
  /// Rejects values that cannot train; call once the input width is known (model.inputDim > 0).
  public func validate() throws(ConfigError) {
    try model.validate()
    if batchSize < 1 { throw ConfigError(field: "batchSize", "is \(batchSize); must be ≥ 1") }
    if batchSize > 1 << 30 { throw ConfigError(field: "batchSize", "is \(batchSize); must be ≤ 2^30 rows") }
    if model.usesCovariance && batchSize < 2 {
      throw ConfigError(
        field: "batchSize",
        "is \(batchSize) but the covariance term (n − 1 normalisation) needs ≥ 2 rows; raise --batch-size or set --covariance-weight 0"
      )
    }
    if steps < 0 || steps > Self.maxSteps { throw ConfigError(field: "steps", "is \(steps); must be in 0 … 2^40") }
    if steps == 0 && epochs < 1 {
      throw ConfigError(field: "epochs", "is \(epochs) and steps is 0; give --steps N or --epochs N")
    }
    if epochs < 0 || epochs > Self.maxSteps { throw ConfigError(field: "epochs", "is \(epochs); must be in 1 … 2^40") }
    if !(validationFraction >= 0 && validationFraction < 1) {
      throw ConfigError(field: "validationFraction", "is \(validationFraction); must be in [0, 1)")
    }
    if validateEvery < 0 { throw ConfigError(field: "validateEvery", "is \(validateEvery); must be ≥ 0") }
    if checkpointEvery < 0 { throw ConfigError(field: "checkpointEvery", "is \(checkpointEvery); must be ≥ 0") }
    if keepLast < 0 { throw ConfigError(field: "keepLast", "is \(keepLast); must be ≥ 0") }
    if keepEvery < 0 { throw ConfigError(field: "keepEvery", "is \(keepEvery); must be ≥ 0") }
    if logEvery < 1 { throw ConfigError(field: "logEvery", "is \(logEvery); must be ≥ 1") }
    if blasThreads < 0 || blasThreads > 1024 {
      throw ConfigError(field: "blasThreads", "is \(blasThreads); must be in 0 … 1024")
    }
    if divergenceCheckEvery < 0 {
      throw ConfigError(field: "divergenceCheckEvery", "is \(divergenceCheckEvery); must be ≥ 0")
    }
    try MemoryBudget.check(model, rows: batchSize, training: true)
  }

  /// Decodes a config file that may give only some fields: the rest keep their defaults. Unknown
  /// keys are rejected by name (unless `lenient`), so a typo cannot silently fall back to a default.
  public static func decodePartial(_ data: Data, lenient: Bool = false) throws -> TrainConfig {
    guard let given = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
      throw ConfigError(field: "(file)", "is not a JSON object of config fields (see a run's config.json)")
    }
    var merged = try JSONSerialization.jsonObject(with: JSONEncoder().encode(TrainConfig())) as! [String: Any]
    let known = Set(merged.keys).union(["initFrom"])
    for (k, v) in given {
      guard known.contains(k) else {
        if lenient { continue }
        throw ConfigError(field: k, "is not a config field; known fields: \(known.sorted().joined(separator: ", "))")
      }
      merged[k] = v
    }
    do {
      return try JSONDecoder().decode(TrainConfig.self, from: JSONSerialization.data(withJSONObject: merged))
    } catch let DecodingError.typeMismatch(_, ctx), let DecodingError.dataCorrupted(ctx) {
      let field = ctx.codingPath.map(\.stringValue).joined(separator: ".")
      throw ConfigError(field: field, "has the wrong type or value (\(ctx.debugDescription))")
    } catch {
      throw ConfigError(field: "(file)", "cannot be read as a config: \(error)")
    }
  }
}
