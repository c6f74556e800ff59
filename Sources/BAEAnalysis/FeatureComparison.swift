// Feature reports of several kinds side by side (issue 9 item 1): per report the interpretable-feature
// count, the judge's score distribution and the mean score with a percentile-bootstrap confidence
// interval over the judged features. Written as compare.json and compare.md (`bae features-compare`);
// scripts/plot_features_compare.py draws compare.png from the JSON.
import BAEIO
import BAERandom
import BAETrain
import Foundation

/// Several feature reports compared.
public struct FeatureComparison: Codable, Sendable {
  /// One report's row of the comparison.
  public struct Entry: Codable, Sendable {
    /// Name shown for the report.
    public var label: String
    /// Path of the report.json.
    public var report: String
    /// bae, relu, topk, batchtopk, jumprelu or random.
    public var kind: String
    /// beta, activation or zscore.
    public var scoring: String
    /// Tokens the report scanned.
    public var rows: Int
    /// Features of the report.
    public var features: Int
    /// Features with at least describe + 1 samples.
    public var interpretable: Int
    /// interpretable / features.
    public var interpretableFraction: Double
    /// Features that never fire.
    public var dead: Int
    /// Features firing on more than half of the tokens.
    public var dense: Int
    /// Features with min(p, 1 − p) < 1e-3.
    public var nearConstant: Int
    /// Median number of tokens assigned to a feature (all features).
    public var medianAssigned: Double
    /// Features the judge scored.
    public var judged: Int
    /// Features whose judging failed.
    public var judgeFailures: Int
    /// The judge model (nil: no judge).
    public var judgeModel: String?
    /// Mean judge score over the judged features.
    public var meanScore: Double?
    /// [lower, upper] percentile-bootstrap interval of the mean score (nil: fewer than 2 judged).
    public var meanScoreCI: [Double]?
    /// Judged features per score bin [0,0.2), [0.2,0.4), [0.4,0.6), [0.6,0.8), [0.8,1].
    public var scoreHistogram: [Int]
    /// Every judged feature's score, in feature order (for plots and further tests).
    public var scores: [Double]
  }

  /// Bootstrap resamples behind each interval.
  public var bootstrapSamples: Int
  /// Confidence of the intervals.
  public var confidence: Double
  /// Bootstrap seed (report i uses seed + i).
  public var seed: UInt64
  /// One entry per report, in the order given.
  public var entries: [Entry]

  /// Compares `reports` (label, path shown, report).
  public init(
    reports: [(label: String, path: String, report: FeatureReport)], bootstrapSamples: Int = 2000,
    confidence: Double = 0.95, seed: UInt64 = 0
  ) {
    self.bootstrapSamples = bootstrapSamples
    self.confidence = confidence
    self.seed = seed
    entries = reports.enumerated().map { i, item in
      let r = item.report
      let scores = r.features.compactMap { $0.judge?.score }
      let assigned = r.features.map { Double($0.assigned) }.sorted()
      let median =
        assigned.isEmpty
        ? 0 : (assigned[(assigned.count - 1) / 2] + assigned[assigned.count / 2]) / 2
      return Entry(
        label: item.label, report: item.path, kind: r.settings.kind ?? "bae", scoring: r.settings.scoring ?? "beta",
        rows: r.settings.rows, features: r.settings.features, interpretable: r.summary.interpretable,
        interpretableFraction: r.settings.features > 0
          ? Double(r.summary.interpretable) / Double(r.settings.features) : 0,
        dead: r.summary.activity.dead, dense: r.summary.activity.dense,
        nearConstant: r.summary.activity.nearConstant, medianAssigned: median, judged: scores.count,
        judgeFailures: r.summary.judgeFailures, judgeModel: r.settings.judgeModel,
        meanScore: scores.isEmpty ? nil : scores.reduce(0, +) / Double(scores.count),
        meanScoreCI: Self.bootstrapMeanInterval(
          scores, samples: bootstrapSamples, confidence: confidence, seed: seed &+ UInt64(i)),
        scoreHistogram: r.summary.scoreHistogram, scores: scores)
    }
  }

  /// The percentile-bootstrap interval of the mean of `xs`: `samples` resamples of xs.count values
  /// drawn with replacement; the (1 − c)/2 and (1 + c)/2 quantiles of their means. Nil below 2 values.
  public static func bootstrapMeanInterval(_ xs: [Double], samples: Int, confidence: Double, seed: UInt64)
    -> [Double]?
  {
    guard xs.count >= 2, samples >= 1 else { return nil }
    var g = SplitMix64(seed: seed, epoch: 0, stream: 7)
    let n = xs.count
    var means = (0..<samples).map { _ in
      var s = 0.0
      for _ in 0..<n { s += xs[Int(g.next(below: UInt64(n)))] }
      return s / Double(n)
    }
    means.sort()
    let lo = Int((Double(samples - 1) * (1 - confidence) / 2).rounded())
    let hi = Int((Double(samples - 1) * (1 + confidence) / 2).rounded())
    return [means[lo], means[hi]]
  }

  /// The comparison as a Markdown page.
  public func markdown() -> String {
    var o = "# Feature comparison (ComSem)\n\n"
    o +=
      "| report | kind | ranking | rows | features | interpretable | dead | dense | median assigned | judged | mean score [\(Int(confidence * 100)) % CI] |\n"
    o += "|---|---|---|---|---|---|---|---|---|---|---|\n"
    for e in entries {
      let mean = e.meanScore.map { String(format: "%.3f", $0) } ?? "n/a"
      let ci = e.meanScoreCI.map { String(format: " [%.3f, %.3f]", $0[0], $0[1]) } ?? ""
      o += String(
        format: "| %@ | %@ | %@ | %d | %d | %d (%.1f %%) | %d | %d | %.0f | %d | %@%@ |\n", e.label, e.kind, e.scoring,
        e.rows, e.features, e.interpretable, 100 * e.interpretableFraction, e.dead, e.dense, e.medianAssigned,
        e.judged, mean, ci)
    }
    o +=
      "\nJudge score distribution (judged features per bin):\n\n| report | 0–0.2 | 0.2–0.4 | 0.4–0.6 | 0.6–0.8 | 0.8–1 |\n"
    o += "|---|---|---|---|---|---|\n"
    for e in entries {
      let h = e.scoreHistogram.count == 5 ? e.scoreHistogram : [0, 0, 0, 0, 0]
      o += "| \(e.label) | " + h.map(String.init).joined(separator: " | ") + " |\n"
    }
    o += String(
      format:
        "\nIntervals: percentile bootstrap of the mean over the judged features, %d resamples, seed %llu. Interpretable = at least describe + 1 samples; the random-code baseline assigns every token to random features, so its count shows what the rule alone yields and its scores what the judge gives to unrelated samples.\n",
      bootstrapSamples, seed)
    return o
  }

  /// Writes `dir/compare.json` and `dir/compare.md`.
  public func write(to dir: URL) throws {
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    try ModelFiles.saveJSON(self, to: dir.appendingPathComponent("compare.json"))
    try AtomicFile.write(Data(markdown().utf8), to: dir.appendingPathComponent("compare.md"))
  }
}
