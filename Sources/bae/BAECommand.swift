import ArgumentParser
import BAETrain

@main
struct BAE: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "bae",
    abstract: "Binary Autoencoder trainer: train, analyse and pack LLM activations.",
    subcommands: [])
}
