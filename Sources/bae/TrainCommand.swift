// `bae train`: a JSON config file plus flag overrides; the same command in one process and under
// mpirun/srun (every rank runs it; rank 0 prints and writes).
import ArgumentParser
import BAEModel
import BAETrain
import Foundation

struct TrainCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "train",
    abstract: "Train a Binary Autoencoder on activations (.npy or a dataset directory).",
    discussion: """
      Flags override values from --config. Under `mpirun -np R` every rank holds a replica and a slice of \
      each global minibatch; entropy and covariance use the whole global batch (exact). Outputs in --out: \
      model.safetensors, config.json, metrics.jsonl, step_XXXXXXXX/ checkpoints.
      SIGTERM or SIGUSR1 on any rank: all ranks stop after the current step, checkpoint, exit 0.
      """)

  @Option(help: "A .npy file (rows, d) or a dataset directory made by `bae pack`.") var data: String?
  @Option(help: "Number of features d' (default 4·d).") var latentDim: Int?
  @Option(help: "Global minibatch rows, summed over ranks (default 512).") var batchSize: Int?
  @Option(help: "Optimizer steps (overrides --epochs).") var steps: Int?
  @Option(help: "Passes over the training split when --steps is not given (default 1).") var epochs: Int?
  @Option(parsing: .unconditional, help: "Adam learning rate (default 5e-4).") var lr: Double?
  @Option(parsing: .unconditional, help: "λ_e, weight of the minibatch entropy term (default 1e-7; 0 = off).") var entropyWeight: Double?
  @Option(parsing: .unconditional, help: "λ_c, weight of the covariance term (default 1e-7; 0 = off).") var covarianceWeight: Double?
  @Option(help: "Step from which λ_e applies (default 0).") var entropyStartStep: Int?
  @Option(parsing: .unconditional, help: "Drop the entropy term in steps where H < this (default 0).") var entropyThreshold: Double?
  @Option(help: "Gradient estimator: sign_s (g − g², default) or sign (g).") var estimator: Estimator?
  @Option(help: "Bits per feature k (multi-bit BAE; default 1).") var bitsPerFeature: Int?
  @Option(help: "Seed for init and shuffling (default 0).") var seed: UInt64?
  @Option(help: "Start from weights in a safetensors file (keys encoder.weight, encoder.bias, decoder.weight, decoder.bias).")
  var initFrom: String?
  @Option(help: "shuffled (default) or sequential (file order, for step-by-step comparisons).") var batchOrder: BatchOrderSetting?
  @Option(parsing: .unconditional, help: "Fraction of rows (the last, in file order) held out for validation (default 0.2).") var validationFraction: Double?
  @Option(help: "Validate every N steps (default 0 = at the end).") var validateEvery: Int?
  @Option(help: "Checkpoint every N steps (default 0 = final model only).") var checkpointEvery: Int?
  @Option(help: "Keep the newest N checkpoints (default 3; 0 = all).") var keepLast: Int?
  @Option(help: "Also keep checkpoints at multiples of M steps (default 0 = none).") var keepEvery: Int?
  @Option(help: "Progress line every N steps (default 10).") var logEvery: Int?
  @Option(help: "OpenBLAS threads per rank (default: OpenBLAS's own).") var blasThreads: Int?
  @Option(help: "Check replicas agree every K steps (default 100; 0 = never).") var divergenceCheckEvery: Int?
  @Flag(help: "Drop rows with NaN/Inf and count them instead of failing.") var skipNonFinite = false
  @Flag(help: "Continue from the newest complete checkpoint in --out.") var resume = false
  @Option(help: "A JSON config (fields as in config.json); flags override it.") var config: String?
  @Option(help: "Output directory.") var out: String?

  func resolvedConfig() throws -> BAEConfig {
    var c = BAEConfig()
    if let path = config {
      guard let data = FileManager.default.contents(atPath: path) else {
        throw ConfigFileError("--config \(path): cannot read the file")
      }
      do { c = try BAEConfig.decodePartial(data) } catch {
        throw ConfigFileError("--config \(path): not a valid config: \(error)")
      }
    }
    if let v = data { c.data = v }
    if let v = latentDim {
      // in a config file 0 means "default 4·d"; on the command line a value must be given explicitly
      guard v >= 1 else { throw ConfigError(field: "latentDim", "is \(v); give --latent-dim N with N ≥ 1 or omit it for 4·d") }
      c.latentDim = v
    }
    if let v = batchSize { c.batchSize = v }
    if let v = steps { c.steps = v }
    if let v = epochs { c.epochs = v; if steps == nil { c.steps = 0 } }
    if let v = lr { c.lr = v }
    if let v = entropyWeight { c.entropyWeight = v }
    if let v = covarianceWeight { c.covarianceWeight = v }
    if let v = entropyStartStep { c.entropyStartStep = v }
    if let v = entropyThreshold { c.entropyThreshold = v }
    if let v = estimator { c.estimator = v }
    if let v = bitsPerFeature { c.bitsPerFeature = v }
    if let v = seed { c.seed = v }
    if let v = initFrom { c.initFrom = v }
    if let v = batchOrder { c.batchOrder = v }
    if let v = validationFraction { c.validationFraction = v }
    if let v = validateEvery { c.validateEvery = v }
    if let v = checkpointEvery { c.checkpointEvery = v }
    if let v = keepLast { c.keepLast = v }
    if let v = keepEvery { c.keepEvery = v }
    if let v = logEvery { c.logEvery = v }
    if let v = blasThreads { c.blasThreads = v }
    if let v = divergenceCheckEvery { c.divergenceCheckEvery = v }
    if skipNonFinite { c.skipNonFinite = true }
    if let v = out { c.out = v }
    if c.out.isEmpty { throw ValidationError("--out DIR is required (or \"out\" in --config)") }
    return c
  }

  func run() throws {
    let cfg = try resolvedConfig()
    let resume = self.resume
    try Launch.run { collectives, log in
      if cfg.blasThreads > 0 { BAETensorThreads.set(cfg.blasThreads) }
      let stop = StopRequest()
      Signals.onStop { stop.set() }
      let trainer = try Trainer(config: cfg, collectives: collectives, log: log, resume: resume, stopRequest: stop)
      let summary = try trainer.run()
      if let r = summary.lastRecord {
        log.info(String(format: "done: %d steps, loss %.6g, mse %.5g, fvu %.4f, H %.2f bits", summary.steps, r.loss, r.mse, r.fvu, r.entropy))
      }
      if let v = summary.validation {
        log.info(String(format: "validation: %d rows, mse %.5g, fvu %.4f, Ĥ %.2f bits, L0 %.1f, dead %d",
                        v.rows, v.mse, v.fvu, v.entropyBits, v.l0, v.deadBits))
      }
      log.info("outputs: \(summary.outputDirectory.path)/{model.safetensors,config.json,metrics.jsonl}")
    }
  }
}

extension Estimator: ExpressibleByArgument {}
extension BatchOrderSetting: ExpressibleByArgument {}

/// A problem with --config or the resolved settings (printed as "Error: ..." without a usage banner).
struct ConfigFileError: Error, CustomStringConvertible {
  let description: String
  init(_ d: String) { description = d }
}
