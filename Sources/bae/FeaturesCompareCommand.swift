// `bae features-compare`: feature reports of several kinds (BAE, SAEs, the random-code baseline) side by
// side: interpretable-feature counts, judge score distributions, mean scores with bootstrap intervals.
import ArgumentParser
import BAEAnalysis
import Foundation

struct FeaturesCompareCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "features-compare",
    abstract: "Compare feature reports (interpretable counts, judge scores with bootstrap intervals).",
    discussion: """
      Each REPORT is a `bae features` output directory or its report.json. Writes OUT/compare.json and
      OUT/compare.md; `scripts/plot_features_compare.py OUT/compare.json` draws OUT/compare.png.
      The interval is a percentile bootstrap of the mean judge score over the judged features.
      See Documentation/Analysis.md.
      """)

  @Argument(help: "Feature report directories (or report.json files).") var reports: [String]
  @Option(help: "Comma-separated labels, one per report (default: kind and directory name).") var labels: String?
  @Option(help: "Bootstrap resamples.") var bootstrap: Int = 2000
  @Option(help: "Confidence of the interval, in (0, 1).") var confidence: Double = 0.95
  @Option(help: "Bootstrap seed.") var seed: UInt64 = 0
  @Option(help: "Output directory.") var out: String

  func validate() throws {
    guard !reports.isEmpty else { throw ValidationError("give at least one report") }
    guard bootstrap >= 1, confidence > 0, confidence < 1 else {
      throw ValidationError("--bootstrap must be >= 1 and --confidence in (0, 1)")
    }
    if let l = labels {
      let given = l.split(separator: ",", omittingEmptySubsequences: false)
      guard given.count == reports.count else {
        throw ValidationError("--labels needs one label per report (\(reports.count))")
      }
      guard given.allSatisfy({ !$0.isEmpty }) else {
        throw ValidationError("--labels '\(l)': a label is empty; give one non-empty label per report")
      }
    }
    try FlagCheck.nonEmpty(out, "--out", "an output directory")
  }

  func run() throws {
    let given = labels.map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
    var loaded: [(label: String, path: String, report: FeatureReport)] = []
    for (i, p) in reports.enumerated() {
      var url = URL(fileURLWithPath: p)
      if !p.hasSuffix(".json") { url = url.appendingPathComponent("report.json") }
      let data: Data
      do { data = try Data(contentsOf: url) } catch {
        throw ValidationError(
          "\(url.path): cannot read (\(error.localizedDescription)); pass a `bae features` --out directory")
      }
      let report: FeatureReport
      do { report = try JSONDecoder().decode(FeatureReport.self, from: data) } catch {
        throw ValidationError("\(url.path): not a feature report (\(error)); rebuild it with `bae features`")
      }
      let dirName = url.deletingLastPathComponent().lastPathComponent
      loaded.append((given?[i] ?? "\(report.settings.kind ?? "bae") (\(dirName))", url.path, report))
    }
    let c = FeatureComparison(reports: loaded, bootstrapSamples: bootstrap, confidence: confidence, seed: seed)
    let dir = URL(fileURLWithPath: out)
    try c.write(to: dir)
    print(c.markdown())
    print(
      "compare: \(dir.appendingPathComponent("compare.md").path)  \(dir.appendingPathComponent("compare.json").path)")
  }
}
