// `bae entropy`: Ĥ(S) of a set of hidden states under a trained BAE, over the whole set (Method.md §7).
// Text output is a summary and a histogram of the firing rates; the per-bit rates are in --json.
import ArgumentParser
import BAEStore
import BAETrain
import Foundation

struct EntropyCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "entropy",
    abstract: "Estimate the entropy (bits) of a set of hidden states with a trained BAE.",
    discussion:
      "Ĥ = Σ_j H_b(p_j) with p_j the firing rate of bit j over ALL rows of --data. Its scale depends on the loss weights the model was trained with (see Documentation/Entropy.md). Prints a summary and a histogram of the firing rates; --json also gives every bit's rate."
  )

  @Option(help: "A directory written by `bae train` (config.json + model.safetensors).") var model: String
  @Option(help: "A .npy file or dataset directory.") var data: String
  @Flag(help: "Print JSON: entropy_bits, rows, mse, fvu, l0, dead_bits, always_on_bits, rates (one per code bit).")
  var json = false
  @Option(help: "Rows per encoding chunk.") var chunk: Int = 4096

  func validate() throws {
    guard chunk > 0 else { throw ValidationError("--chunk must be at least 1 (got \(chunk))") }
  }

  func run() throws {
    let modelDir = URL(fileURLWithPath: model)
    let dataURL = URL(fileURLWithPath: data)
    try Launch.run { collectives, log in
      let (bae, _) = try ModelFiles.load(directory: modelDir)
      let source = try openRowSource(dataURL)
      guard source.inputDim == bae.inputDim else {
        throw TrainDataError.widthMismatch(path: data, found: source.inputDim, expected: bae.inputDim)
      }
      let s = try SetEvaluator.evaluate(
        bae, source: source, rows: 0..<source.rowCount, chunk: chunk,
        collectives: collectives, path: data)
      if !s.mse.isFinite { throw NonFiniteModelError(directory: model) }
      guard collectives.rank == 0 else { return }
      if json {
        let obj: [String: Any] = [
          "entropy_bits": s.entropyBits, "rows": s.rows, "mse": s.mse,
          "fvu": s.fvu.isFinite ? s.fvu : NSNull(), "l0": s.l0,
          "dead_bits": s.deadBits, "always_on_bits": s.alwaysOnBits, "rates": s.rates,
        ]
        let d = try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys])
        print(String(decoding: d, as: UTF8.self))
      } else {
        print(
          String(
            format:
              "entropy: %.4f bits over %d rows (code bits %d, L0 %.2f, dead %d, always on %d, mse %.5g, fvu %.4f)",
            s.entropyBits, s.rows, s.rates.count, s.l0, s.deadBits, s.alwaysOnBits, s.mse, s.fvu))
        for line in RateHistogram(rates: s.rates).lines() { print(line) }
        print("(every bit's rate: bae entropy --json)")
      }
    }
  }
}

/// Finite rows whose reconstruction is not finite: the weights hold NaN/Inf or overflow. (Rows holding
/// NaN/Inf are refused by SetEvaluator with the training's error.)
struct NonFiniteModelError: Error, CustomStringConvertible {
  let directory: String
  var description: String {
    "\(directory)/model.safetensors: the reconstruction of finite rows is not finite; "
      + "the weights hold NaN/Inf or overflow: use an earlier checkpoint or retrain"
  }
}
