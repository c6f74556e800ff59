// `bae eval`: the evaluation metrics of any trained run (every architecture) on a data set, in one pass
// of globally reduced statistics; the same command in one process and under mpirun.
import ArgumentParser
import BAEModel
import BAEStore
import BAETrain
import Foundation

struct EvalCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "eval",
    abstract:
      "Evaluate a trained model: MSE, FVU, explained variance, cosine, L0, dead/dense, code entropy, rate histogram.",
    discussion: """
      Works for every architecture (bae, relu, topk, batchtopk with its inference threshold, jumprelu). Under \
      mpirun the rows are split across ranks and every statistic is summed exactly. With --out DIR writes \
      DIR/eval.json (plot the histogram with scripts/plot_eval.py DIR/eval.json). Formulas: Documentation/Evaluation.md.
      """)

  @Option(help: "A run directory (or step_XXXXXXXX checkpoint) written by `bae train`.") var model: String
  @Option(help: "A .npy file or a dataset directory with rows of the model's width.") var data: String
  @Option(help: "Evaluate only the last N rows (e.g. the held-out split; default all).") var lastRows: Int?
  @Option(help: "Rows per encoding chunk.") var chunk: Int = 4096
  @Flag(help: "Print the report as JSON on stdout.") var json = false
  @Option(help: "Write eval.json into this directory.") var out: String?

  func validate() throws {
    guard chunk >= 1 else { throw ValidationError("--chunk must be ≥ 1") }
    if let n = lastRows, n < 1 { throw ValidationError("--last-rows must be ≥ 1") }
    try FlagCheck.nonEmpty(out, "--out", "a directory for eval.json")
  }

  func run() throws {
    let modelDir = URL(fileURLWithPath: model)
    let dataURL = URL(fileURLWithPath: data)
    let this = self
    try Launch.run { collectives, log in
      let (ae, _) = try ModelFiles.load(directory: modelDir)
      guard FileManager.default.fileExists(atPath: dataURL.path) else { throw TrainDataError.missing(path: this.data) }
      let source = try openRowSource(dataURL)
      guard source.inputDim == ae.inputDim else {
        throw TrainDataError.widthMismatch(path: this.data, found: source.inputDim, expected: ae.inputDim)
      }
      let n = source.rowCount
      let rows = this.lastRows.map { max(0, n - $0)..<n } ?? 0..<n
      let s = try SetEvaluator.evaluate(
        ae, source: source, rows: rows, chunk: this.chunk, collectives: collectives, path: this.data)
      let report = EvaluationReport(model: ae, statistics: s)
      guard collectives.rank == 0 else { return }
      let enc = JSONEncoder()
      enc.outputFormatting = [.prettyPrinted, .sortedKeys]
      if let out = this.out {
        let dir = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try ModelFiles.saveJSON(report, to: dir.appendingPathComponent("eval.json"))
        log.info("wrote \(dir.appendingPathComponent("eval.json").path)")
      }
      if this.json {
        print(String(decoding: try enc.encode(report), as: UTF8.self))
        return
      }
      print(Self.summary(report))
    }
  }

  static func summary(_ r: EvaluationReport) -> String {
    func f(_ v: Double?) -> String { v.map { String(format: "%.4f", $0) } ?? "n/a" }
    var lines = [
      "\(r.architecture)  d=\(r.inputDim) d'=\(r.latentDim)  rows \(r.rows)",
      String(
        format: "  mse %.6g  fvu %@  explained variance %@  mean cosine %.4f", r.mse, f(r.fvu), f(r.explainedVariance),
        r.meanCosine),
      String(format: "  L0 %.2f  dead %d of %d  code entropy %.2f bits", r.l0, r.dead, r.codeUnits, r.codeEntropyBits),
      "  dense (p > 0.01 / 0.1 / 0.5): \(r.dense["0.01"] ?? 0) / \(r.dense["0.1"] ?? 0) / \(r.dense["0.5"] ?? 0)",
    ]
    if let t = r.denseTwoSided {
      lines.append(
        "  dense by min(p, 1−p) (> 0.01 / 0.1 / 0.5): \(t["0.01"] ?? 0) / \(t["0.1"] ?? 0) / \(t["0.5"] ?? 0), constant \(r.constant ?? 0)"
      )
    }
    if let th = r.threshold { lines.append(String(format: "  inference threshold θ %.6g", th)) }
    return lines.joined(separator: "\n")
  }
}
