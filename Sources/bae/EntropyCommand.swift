// `bae entropy`: Ĥ(S) of a set of hidden states under a trained BAE, over the whole set (spec §7).
import ArgumentParser
import BAEStore
import BAETrain
import Foundation

struct EntropyCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "entropy",
    abstract: "Estimate the entropy (bits) of a set of hidden states with a trained BAE.",
    discussion: "Ĥ = Σ_j H_b(p_j) with p_j the firing rate of bit j over ALL rows of --data. Its scale depends on the loss weights the model was trained with (see Documentation/Entropy.md).")

  @Option(help: "A directory written by `bae train` (config.json + model.safetensors).") var model: String
  @Option(help: "A .npy file or dataset directory.") var data: String
  @Flag(help: "Print JSON: entropy_bits, rows, mse, fvu, l0, dead_bits, rates.") var json = false
  @Option(help: "Rows per encoding chunk.") var chunk: Int = 4096

  func run() throws {
    let modelDir = URL(fileURLWithPath: model)
    let dataURL = URL(fileURLWithPath: data)
    try Launch.run { collectives, log in
      let (bae, _) = try ModelFiles.load(directory: modelDir)
      let source = try openRowSource(dataURL)
      guard source.inputDim == bae.inputDim else {
        throw TrainDataError.widthMismatch(path: data, found: source.inputDim, expected: bae.inputDim)
      }
      let s = try SetEvaluator.evaluate(bae, source: source, rows: 0..<source.rowCount, chunk: chunk, collectives: collectives)
      guard collectives.rank == 0 else { return }
      if json {
        let obj: [String: Any] = ["entropy_bits": s.entropyBits, "rows": s.rows, "mse": s.mse,
                                  "fvu": s.fvu.isFinite ? s.fvu : NSNull(), "l0": s.l0,
                                  "dead_bits": s.deadBits, "always_on_bits": s.alwaysOnBits, "rates": s.rates]
        let d = try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys])
        print(String(decoding: d, as: UTF8.self))
      } else {
        print(String(format: "entropy: %.4f bits over %d rows (code bits %d, L0 %.2f, dead %d, always on %d, mse %.5g, fvu %.4f)",
                     s.entropyBits, s.rows, s.rates.count, s.l0, s.deadBits, s.alwaysOnBits, s.mse, s.fvu))
        print("per-bit rates: " + s.rates.map { String(format: "%.4f", $0) }.joined(separator: " "))
      }
    }
  }
}
