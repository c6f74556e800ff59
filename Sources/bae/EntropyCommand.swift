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
    discussion: "Ĥ = Σ_j H_b(p_j) with p_j the firing rate of bit j over ALL rows of --data. Its scale depends on the loss weights the model was trained with (see Documentation/Entropy.md). Prints a summary and a histogram of the firing rates; --json also gives every bit's rate.")

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
      let s = try SetEvaluator.evaluate(bae, source: source, rows: 0..<source.rowCount, chunk: chunk, collectives: collectives)
      guard collectives.rank == 0 else { return }
      // NaN/Inf inputs make the squared error non-finite (and their codes meaningless): find and name them
      if !s.mse.isFinite {
        throw try EntropyInputError.diagnose(source: source, file: data, modelDirectory: model, chunk: chunk)
      }
      if json {
        let obj: [String: Any] = ["entropy_bits": s.entropyBits, "rows": s.rows, "mse": s.mse,
                                  "fvu": s.fvu.isFinite ? s.fvu : NSNull(), "l0": s.l0,
                                  "dead_bits": s.deadBits, "always_on_bits": s.alwaysOnBits, "rates": s.rates]
        let d = try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys])
        print(String(decoding: d, as: UTF8.self))
      } else {
        print(String(format: "entropy: %.4f bits over %d rows (code bits %d, L0 %.2f, dead %d, always on %d, mse %.5g, fvu %.4f)",
                     s.entropyBits, s.rows, s.rates.count, s.l0, s.deadBits, s.alwaysOnBits, s.mse, s.fvu))
        for line in RateHistogram(rates: s.rates).lines() { print(line) }
        print("(every bit's rate: bae entropy --json)")
      }
    }
  }
}

/// Why a set cannot be evaluated although model and data widths agree.
enum EntropyInputError: Error, CustomStringConvertible {
  /// Rows holding NaN/Inf: the first one found and how many there are.
  case nonFiniteRows(file: String, firstRow: Int, column: Int, value: Float, count: Int)
  /// Every row is finite but the reconstruction is not: the weights hold NaN/Inf or overflow.
  case nonFiniteModel(directory: String)

  var description: String {
    switch self {
    case let .nonFiniteRows(file, row, column, value, count):
      return "\(file): row \(row) column \(column) is \(value) (\(count) rows hold NaN/Inf); "
        + "Ĥ and the MSE are undefined over them: evaluate on rows without NaN/Inf (training refuses them too)"
    case let .nonFiniteModel(directory):
      return "\(directory)/model.safetensors: the reconstruction of finite rows is not finite; "
        + "the weights hold NaN/Inf or overflow: use an earlier checkpoint or retrain"
    }
  }

  /// Scans every row once (only after the evaluation came out non-finite) and names the first bad one.
  static func diagnose(source: any RowSource, file: String, modelDirectory: String, chunk: Int) throws -> Self {
    let d = source.inputDim
    var buffer = [Float](repeating: 0, count: chunk * d)
    var first: (row: Int, column: Int, value: Float)?
    var count = 0
    var start = 0
    while start < source.rowCount {
      let n = min(chunk, source.rowCount - start)
      try buffer.withUnsafeMutableBufferPointer { b in
        try source.readRows(Array(start..<(start + n)), into: UnsafeMutableBufferPointer(rebasing: b[0..<(n * d)]))
      }
      for r in 0..<n {
        guard let c = (0..<d).first(where: { !buffer[r * d + $0].isFinite }) else { continue }
        count += 1
        if first == nil { first = (start + r, c, buffer[r * d + c]) }
      }
      start += n
    }
    guard let first else { return .nonFiniteModel(directory: modelDirectory) }
    return .nonFiniteRows(file: file, firstRow: first.row, column: first.column, value: first.value, count: count)
  }
}
