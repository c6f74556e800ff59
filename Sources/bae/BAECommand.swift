// The `bae` executable: a thin layer of subcommands over BAETrain, BAEStore and BAEModel.
import ArgumentParser

@main
struct BAE: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "bae",
    abstract: "Binary Autoencoder trainer: train, analyse and pack LLM activations.",
    subcommands: [TrainCommand.self, EvalCommand.self, ExportCommand.self, SynthCommand.self, EntropyCommand.self, PositionEntropyCommand.self, FeaturesCommand.self,
                  PackCommand.self,
                  InspectCommand.self,
                  BenchCommand.self])
}
