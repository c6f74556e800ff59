// The model flags shared by every command that trains (`train`, `entropy-position`): one declaration,
// help text that reads its defaults from `ModelConfig()`, so the two cannot drift.
import ArgumentParser
import BAEModel

private let defaults = ModelConfig()

struct ModelOptions: ParsableArguments {
  @Option(help: "bae (default), relu, topk, batchtopk or jumprelu (Documentation/Baselines.md).") var architecture:
    Architecture?
  @Option(help: "Number of features d' (default 4·d).") var latentDim: Int?
  @Option(parsing: .unconditional, help: "Adam learning rate (default \(defaults.lr)).") var lr: Double?
  @Option(
    parsing: .unconditional,
    help: "bae: λ_e, weight of the minibatch entropy term (default \(defaults.entropyWeight); 0 = off).")
  var entropyWeight: Double?
  @Option(
    parsing: .unconditional,
    help: "bae: λ_c, weight of the covariance term (default \(defaults.covarianceWeight); 0 = off).")
  var covarianceWeight: Double?
  @Option(help: "bae: step from which λ_e applies (default \(defaults.entropyStartStep)).") var entropyStartStep: Int?
  @Option(
    parsing: .unconditional,
    help: "bae: drop the entropy term in steps where H < this (default \(defaults.entropyThreshold)).")
  var entropyThreshold: Double?
  @Option(help: "bae: gradient estimator sign_s (g − g², default) or sign (g).") var estimator: Estimator?
  @Option(help: "bae: bits per feature k (multi-bit BAE; default \(defaults.bitsPerFeature)).") var bitsPerFeature: Int?
  @Option(help: "topk/batchtopk: active latents per row (default \(defaults.k)).") var k: Int?
  @Flag(help: "topk: select the k largest z without a ReLU (the reference's form).") var noRelu = false
  @Option(parsing: .unconditional, help: "relu: L1 weight λ (default \(defaults.l1Weight)).") var l1Weight: Double?
  @Option(help: "relu: L1 form sum (default, λ·Σ|a|) or decoder-norm (λ·Σ|a_j|·‖W_dec[:, j]‖).") var l1Form: L1Form?
  @Option(
    parsing: .unconditional,
    help: "topk: AuxK loss weight α (default \(defaults.auxkWeight) = off; Gao et al. use 1/32).") var auxkWeight:
    Double?
  @Option(help: "topk: latents in the AuxK reconstruction (default d/2).") var auxkK: Int?
  @Option(help: "topk AuxK: rows without firing after which a latent is dead (default \(defaults.deadAfterRows)).")
  var deadAfterRows: Int?
  @Flag(help: "SAEs: unit-norm decoder columns (renormalised after each step, parallel gradient removed).")
  var unitNormDecoder = false
  @Option(
    parsing: .unconditional, help: "jumprelu: θ (default \(defaults.threshold); the initial θ with --learn-threshold).")
  var threshold: Double?
  @Flag(help: "jumprelu: learn a per-latent θ (straight-through estimator, L0 penalty).") var learnThreshold = false
  @Option(parsing: .unconditional, help: "jumprelu: STE bandwidth ε (default \(defaults.bandwidth)).") var bandwidth:
    Double?
  @Option(parsing: .unconditional, help: "jumprelu: L0 penalty λ_0 (default \(defaults.l0Weight)).") var l0Weight:
    Double?
  @Option(
    parsing: .unconditional,
    help: "batchtopk: momentum of the running inference threshold (default \(defaults.thresholdMomentum)).")
  var thresholdMomentum: Double?
  @Flag(help: "No decoder bias b_dec.") var noDecoderBias = false

  /// Overrides `c` with every flag given.
  func apply(to c: inout ModelConfig) throws {
    if let v = architecture { c.architecture = v }
    if let v = latentDim {
      // in a config file 0 means "default 4·d"; on the command line a value must be given explicitly
      guard v >= 1 else {
        throw ConfigError(field: "latentDim", "is \(v); give --latent-dim N with N ≥ 1 or omit it for 4·d")
      }
      c.latentDim = v
    }
    if let v = lr { c.lr = v }
    if let v = entropyWeight { c.entropyWeight = v }
    if let v = covarianceWeight { c.covarianceWeight = v }
    if let v = entropyStartStep { c.entropyStartStep = v }
    if let v = entropyThreshold { c.entropyThreshold = v }
    if let v = estimator { c.estimator = v }
    if let v = bitsPerFeature { c.bitsPerFeature = v }
    if let v = k { c.k = v }
    if noRelu { c.topkReLU = false }
    if let v = l1Weight { c.l1Weight = v }
    if let v = l1Form { c.l1Form = v }
    if let v = auxkWeight { c.auxkWeight = v }
    if let v = auxkK { c.auxkK = v }
    if let v = deadAfterRows { c.deadAfterRows = v }
    if unitNormDecoder { c.unitNormDecoder = true }
    if let v = threshold { c.threshold = v }
    if learnThreshold { c.learnThreshold = true }
    if let v = bandwidth { c.bandwidth = v }
    if let v = l0Weight { c.l0Weight = v }
    if let v = thresholdMomentum { c.thresholdMomentum = v }
    if noDecoderBias { c.decoderBias = false }
  }
}

extension Architecture: ExpressibleByArgument {}
extension Estimator: ExpressibleByArgument {}
extension L1Form: ExpressibleByArgument {}
