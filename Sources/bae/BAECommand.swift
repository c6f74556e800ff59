// The `bae` executable: a thin layer of subcommands over BAETrain, BAEStore and BAEModel.
import ArgumentParser
import BAEBuildInfo
import BAETrain

@main
struct BAE: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "bae",
    abstract: "Binary Autoencoder trainer: train, analyse and pack LLM activations.",
    version: versionText,
    subcommands: [
      TrainCommand.self, SweepCommand.self, EvalCommand.self, ExportCommand.self, SynthCommand.self,
      EntropyCommand.self, PositionEntropyCommand.self, FeaturesCommand.self, FeaturesCompareCommand.self,
      PackCommand.self,
      InspectCommand.self,
      BenchCommand.self,
    ])

  /// `bae --version`: the facts a checkpoint records (RunEnvironment), one per line.
  /// MPI_Get_library_version may be called before MPI_Init, so this needs no launcher.
  static var versionText: String {
    let v = RunEnvironment.versions
    return """
      bae \(BuildInfo.version)
      commit \(RunEnvironment.gitCommit)
      Open MPI: \(v["mpi"] ?? "unknown")
      OpenBLAS: \(v["openblas"] ?? "unknown")
      zstd: \(v["zstd"] ?? "unknown")
      """
  }
}
