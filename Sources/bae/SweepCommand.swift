// `bae sweep`: several models trained on the same global batches in one pass (data read and decoded
// once per step); each model writes the directory `bae train` would. Same launch as `bae train`.
import ArgumentParser
import BAETrain
import Foundation

struct SweepCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "sweep",
    abstract: "Train several models (any architectures, λ, k, widths) on the same batches in one pass.",
    discussion: """
      sweep.json: {"shared": {config fields}, "models": [{config fields, "out": DIR}, …]}. Each model's config \
      is "shared" with its own fields on top (fields as in config.json; Documentation/CLI.md, "bae sweep"). \
      The run settings that define the batches and cadence (data, batchSize, steps, epochs, batchOrder, seed, \
      validationFraction, validateEvery, skipNonFinite, checkpointEvery, keepLast, keepEvery, logEvery, \
      blasThreads, divergenceCheckEvery) must be the same for every model. Each model's outputs are those of \
      `bae train --out DIR`, bitwise the same as training it alone. A stop signal checkpoints every model; \
      --resume restarts all of them from the newest step at which every model has a complete checkpoint.
      """)

  @Option(help: "The sweep file (JSON).") var config: String
  @OptionGroup(title: "Run") var runFlags: RunFlags

  func run() throws {
    guard let data = FileManager.default.contents(atPath: config) else {
      throw ConfigFileError("--config \(config): cannot read the file")
    }
    let configs: [TrainConfig]
    do { configs = try SweepConfig.decode(data) } catch {
      throw ConfigFileError("--config \(config): not a valid sweep file: \(error)")
    }
    try runFlags.train(configs)
  }
}
