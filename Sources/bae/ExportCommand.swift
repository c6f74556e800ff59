// `bae export`: a trained run in a format other tools read (SAELens folders).
import ArgumentParser
import BAEModel
import BAEStore
import BAETrain
import Foundation

struct ExportCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "export",
    abstract: "Export a trained run (any architecture) as a SAELens folder.",
    discussion: """
      Writes OUT/cfg.json, OUT/sae_weights.safetensors and OUT/sparsity.safetensors. Firing rates come from \
      --data if given, else from the run's firing_rates.json (its validation split). A BAE is exported in SAE \
      form by the flipped-bit transform (Documentation/Interop.md); --unit-norm-decoder rescales its decoder \
      columns to unit norm with activations in {0, ‖w_j‖}.
      """)

  @Option(help: "Export format (saelens).") var format: String = "saelens"
  @Option(help: "A run directory written by `bae train`.") var model: String
  @Option(help: "Output directory.") var out: String
  @Option(help: "Data for the firing rates (default: the run's firing_rates.json).") var data: String?
  @Flag(help: "BAE: unit-norm decoder columns, activations in {0, ‖w_j‖} (SAEBench's requirement).")
  var unitNormDecoder = false
  @Option(help: "cfg.json metadata.model_name.") var modelName: String = "SmolLM2-135M-Instruct"
  @Option(help: "cfg.json metadata.hook_name.") var hookName: String = "blocks.15.hook_resid_post"
  @Option(help: "cfg.json metadata.hook_layer.") var layer: Int?

  func validate() throws {
    guard format == "saelens" else { throw ValidationError("--format \(format): only saelens is supported") }
    try FlagCheck.nonEmpty(out, "--out", "the directory to write the SAELens folder to")
    try FlagCheck.nonEmpty(modelName, "--model-name", "the LM's name for cfg.json (or omit it)")
    try FlagCheck.nonEmpty(hookName, "--hook-name", "the hook point for cfg.json (or omit it)")
  }

  func run() throws {
    let dir = URL(fileURLWithPath: model)
    let (ae, _) = try ModelFiles.load(directory: dir)
    if ae.architecture.isBinary && ae.bitsPerFeature > 1 {
      throw ValidationError(
        "--model \(model): a multi-bit BAE (k = \(ae.bitsPerFeature)) has no SAE form; export a k = 1 run")
    }
    let rates: [Double]
    if let data {
      guard FileManager.default.fileExists(atPath: data) else { throw TrainDataError.missing(path: data) }
      let source = try openRowSource(URL(fileURLWithPath: data))
      guard source.inputDim == ae.inputDim else {
        throw TrainDataError.widthMismatch(path: data, found: source.inputDim, expected: ae.inputDim)
      }
      rates = try SetEvaluator.evaluate(
        ae, source: source, rows: 0..<source.rowCount, collectives: SingleProcess(), path: data
      ).rates
    } else {
      rates = try FiringRates.read(run: dir, expected: ae.codeBits)
    }
    try SAEExport.write(
      ae, rates: rates, to: URL(fileURLWithPath: out), unitNormDecoder: unitNormDecoder,
      modelName: modelName, hookName: hookName, layer: layer)
    FileHandle.standardError.write(Data("wrote \(out)/{cfg.json,sae_weights.safetensors,sparsity.safetensors}\n".utf8))
  }
}
