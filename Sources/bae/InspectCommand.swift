// `bae inspect`: a dataset's manifest, sizes and value statistics; `--verify` checks every checksum.
import ArgumentParser
import BAEStore
import Foundation

struct InspectCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "inspect",
    abstract: "Print a dataset's manifest and statistics; --verify checks every frame and content hash.")

  @Argument(help: "Dataset directory (made by `bae pack`).")
  var dataset: String

  @Flag(name: .long, help: "Decode every frame and re-hash every file (exit code 1 if anything is damaged).")
  var verify = false

  @Flag(name: .long, help: "Print the report as JSON.")
  var json = false

  // Batch mixing (InspectCommand+BatchMixing.swift).
  @Flag(
    name: .long,
    help:
      "Report how the shuffled sampler's first epoch mixes documents (from the token sidecar) against a uniform shuffle."
  )
  var batchMixing = false
  @Option(name: .long, help: "Global batch size for --batch-mixing.")
  var batchSize = 512
  @Option(name: .long, help: "Sampler seed for --batch-mixing (the trainer's --seed).")
  var seed: UInt64 = 0

  func run() throws {
    if batchMixing { return try runBatchMixing() }
    let report = try DatasetInspector.inspect(URL(fileURLWithPath: dataset), verify: verify) { done, total in
      if !json { ProgressBar.draw(done: done, total: total, label: "verify") }
    }
    if verify && !json { ProgressBar.finish() }
    if json {
      let enc = JSONEncoder()
      enc.outputFormatting = [.prettyPrinted, .sortedKeys]
      print(String(decoding: try enc.encode(report), as: UTF8.self))
    } else {
      let m = report.manifest
      print("dataset  \(dataset)")
      print("format   \(m.format) v\(m.version), dtype \(m.dtype), \(m.shuffled ? "byte-shuffled" : "not shuffled")")
      print("rows     \(m.rows) x inputDim \(m.inputDim), \(m.rowsPerFrame) rows/frame, \(m.shards.count) shard(s)")
      if !m.source.isEmpty {
        print("source   " + m.source.keys.sorted().map { "\($0)=\(m.source[$0]!)" }.joined(separator: " "))
      }
      print(
        String(
          format: "size     %.2f MB (raw f32 %.2f MB, %.2fx smaller)", Double(report.compressedBytes) / 1e6,
          Double(report.rawF32Bytes) / 1e6, report.ratioVsF32))
      print(
        String(
          format: "values   mean %.4g  std %.4g  max|x| %.4g  mean row norm %.4g  non-finite %d",
          report.mean, report.std, report.maxAbs, report.meanRowNorm, report.nonFinite)
          + "  (over \(report.statisticsRows) rows\(report.verified ? "" : ", sampled"))")
      for s in m.shards {
        print(
          "  \(s.file)  \(s.rows) rows  \(s.bytes) bytes  xxh64 \(s.xxh64)\(s.tokens.map { "  tokens \($0)" } ?? "")")
      }
      if verify {
        print(
          report.problems.isEmpty
            ? "verify   OK: every frame checksum and content hash matches"
            : "verify   FAILED: \(report.problems.count) problem(s)")
      }
    }
    for p in report.problems { FileHandle.standardError.write(Data("error: \(p)\n".utf8)) }
    if !report.problems.isEmpty { throw ExitCode(1) }
  }
}
