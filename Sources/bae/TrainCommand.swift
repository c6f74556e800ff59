// `bae train`: a JSON config file plus flag overrides; the same command in one process and under
// mpirun/srun (every rank runs it; rank 0 prints and writes).
import ArgumentParser
import BAEModel
import BAEStore
import BAETrain
import Foundation

struct TrainCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "train",
    abstract: "Train a Binary Autoencoder or an SAE baseline on activations (.npy or a dataset directory).",
    discussion: """
      Flags override values from --config. Under `mpirun -np R` every rank holds a replica and a slice of \
      each global minibatch; entropy and covariance use the whole global batch (exact). Outputs in --out: \
      model.safetensors, config.json, metrics.jsonl, step_XXXXXXXX/ checkpoints.
      SIGTERM or SIGUSR1 on any rank: all ranks stop after the current step, checkpoint, exit 0 (no final \
      validation, no final model: the checkpoint holds it). A second signal exits at once, status 3, without \
      a checkpoint (under MPI the job is aborted); so does a step longer than --step-timeout.
      """)

  @Option(help: "A .npy file (rows, d) or a dataset directory made by `bae pack`.") var data: String?
  @OptionGroup(title: "Model") var modelOptions: ModelOptions
  @Option(help: "Global minibatch rows, summed over ranks (default \(defaults.batchSize)).") var batchSize: Int?
  @Option(help: "Optimizer steps (overrides --epochs).") var steps: Int?
  @Option(help: "Passes over the training split when --steps is not given (default \(defaults.epochs)).") var epochs:
    Int?
  @Option(help: "Seed for init and shuffling (default \(defaults.seed)).") var seed: UInt64?
  @Option(help: "Start from the weights of a model.safetensors of the same architecture and shape.")
  var initFrom: String?
  @Option(help: "shuffled (default) or sequential (file order, for step-by-step comparisons).") var batchOrder:
    BatchOrder?
  @Option(
    parsing: .unconditional,
    help: "Fraction of rows (the last, in file order) held out for validation (default \(defaults.validationFraction))."
  ) var validationFraction: Double?
  @Option(help: "Validate every N steps (default 0 = at the end).") var validateEvery: Int?
  @Option(help: "Checkpoint every N steps (default 0 = final model only).") var checkpointEvery: Int?
  @Option(help: "Keep the newest N checkpoints (default \(defaults.keepLast); 0 = all).") var keepLast: Int?
  @Option(help: "Also keep checkpoints at multiples of M steps (default 0 = none).") var keepEvery: Int?
  @Option(help: "Progress line every N steps (default \(defaults.logEvery)).") var logEvery: Int?
  @Option(
    help: """
      Threads per rank for the GEMMs (one-thread OpenBLAS calls on the kernels' pool) and the step's other \
      phases (default: OpenBLAS's own threading, other phases on one thread).
      """)
  var blasThreads: Int?
  @Option(help: "Check replicas agree every K steps (default \(defaults.divergenceCheckEvery); 0 = never).")
  var divergenceCheckEvery: Int?
  @Option(
    help:
      "centered: train on s·(x − μ), μ the training mean and s giving x − μ a mean row norm of √d; mean-norm: on s·x (mean row norm √d); none: raw inputs (the reference path). The map is folded back into the saved weights (default \(defaults.inputNormalization.rawValue))."
  ) var inputNormalization: InputNormalization?
  @Option(
    help:
      "b_dec's start: mean of the training rows, or uniform (nn.Linear's init, the reference; default \(defaults.decoderBiasInit.rawValue))."
  )
  var decoderBiasInit: DecoderBiasInit?
  @Flag(help: "Drop rows with NaN/Inf and count them instead of failing.") var skipNonFinite = false
  @OptionGroup(title: "Run") var runFlags: RunFlags
  @Option(help: "A JSON config (fields as in config.json); flags override it.") var config: String?
  @Option(help: "Output directory.") var out: String?

  func resolvedConfig() throws -> TrainConfig {
    var c = TrainConfig()
    if let path = config {
      guard let data = FileManager.default.contents(atPath: path) else {
        throw ConfigFileError("--config \(path): cannot read the file")
      }
      do { c = try TrainConfig.decodePartial(data) } catch {
        throw ConfigFileError("--config \(path): not a valid config: \(error)")
      }
    }
    if let v = data { c.data = v }
    try modelOptions.apply(to: &c.model)
    if let v = batchSize { c.batchSize = v }
    if let v = steps { c.steps = v }
    if let v = epochs {
      c.epochs = v
      if steps == nil { c.steps = 0 }
    }
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
    if let v = inputNormalization { c.inputNormalization = v }
    if let v = decoderBiasInit { c.decoderBiasInit = v }
    if skipNonFinite { c.skipNonFinite = true }
    if let v = out { c.out = v }
    if c.out.isEmpty { throw ValidationError("--out DIR is required (or \"out\" in --config)") }
    return c
  }

  func run() throws { try runFlags.train([try resolvedConfig()]) }
}

extension BatchOrder: ExpressibleByArgument {}
extension InputNormalization: ExpressibleByArgument {}
extension DecoderBiasInit: ExpressibleByArgument {}

private let defaults = TrainConfig()

/// A problem with --config or the resolved settings (printed as "Error: ..." without a usage banner).
struct ConfigFileError: Error, CustomStringConvertible {
  let description: String
  init(_ d: String) { description = d }
}
