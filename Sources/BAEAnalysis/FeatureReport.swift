// The feature report: per feature its firing rate, activity class, ComSem samples with their contexts
// and (optionally) the judge's phrase and score; plus corpus statistics and a dead/dense summary.
// Written as report.json (everything) and report.md (a readable page; see FeatureReport+Markdown).
import BAEIO
import BAETrain
import Foundation

public struct FeatureReport: Codable, Sendable {
  /// What the report was built from and with which settings.
  public struct Settings: Codable, Sendable {
    public var model: String
    public var data: String
    /// Token TSVs the contexts came from (empty: no contexts).
    public var tokens: [String]
    public var rows: Int
    public var inputDim: Int
    /// Features = code bits of the model (d'·k).
    public var features: Int
    public var bitsPerFeature: Int
    public var topK: Int
    public var describeCount: Int
    public var testCount: Int
    /// Tokens of context on each side of a sample (same document only).
    public var contextWindow: Int
    public var denseRate: Double
    public var nearConstantRate: Double
    /// The judge's endpoint, never with `user:pass@` (nil: no judge).
    public var judgeURL: String?
    public var judgeModel: String?
    /// What produced the codes: an architecture (bae, relu, topk, batchtopk, jumprelu) or "random"
    /// (nil in reports written before kinds existed: a BAE).
    public var kind: String?
    /// How tokens were ranked: beta, activation or zscore (FeatureScoring).
    public var scoring: String?
    /// Seed of the random codes (kind "random" only).
    public var randomSeed: UInt64?
    /// Judge requests in flight at most.
    public var judgeConcurrency: Int?
    /// The judge's answer cache file (nil: no cache).
    public var judgeCache: String?
    /// HTTP requests sent to the judge in this run (retries and redirects included).
    public var judgeRequests: Int?
    /// Judge answers taken from the cache instead of the server in this run.
    public var judgeCacheHits: Int?
  }

  /// Whole-corpus statistics of the model on the data.
  public struct Corpus: Codable, Sendable {
    /// Ĥ = Σ_j H_b(p_j) over all rows, bits.
    public var entropyBits: Double
    /// Reconstruction MSE (nil for random codes, which reconstruct nothing).
    public var mse: Double?
    public var fvu: Double?
    /// Mean active bits per row.
    public var l0: Double
  }

  /// One ComSem sample of a feature.
  public struct Sample: Codable, Sendable {
    /// "describe" (shown to the judge to name the commonality) or "test" (judged Yes/No).
    public var role: String
    public var row: Int
    /// The token and its context; nil when no tokens TSV was available.
    public var context: TokenContext?
  }

  public struct Feature: Codable, Sendable {
    public var index: Int
    public var activity: FeatureActivity
    /// Tokens that have this feature among their top-k by β (over the whole corpus).
    public var assigned: Int
    /// At least describeCount + 1 samples.
    public var interpretable: Bool
    /// The first describeCount + testCount samples in corpus order.
    public var samples: [Sample]
    public var judge: JudgeResult?
    /// Why judging this feature failed (after the client's retries).
    public var judgeError: String?
  }

  public struct Summary: Codable, Sendable {
    public var activity: ActivitySummary
    public var interpretable: Int
    public var judged: Int
    public var judgeFailures: Int
    /// Mean judge score over judged features.
    public var meanScore: Double?
    /// Judged features per score bin [0,0.2), [0.2,0.4), [0.4,0.6), [0.6,0.8), [0.8,1].
    public var scoreHistogram: [Int]
  }

  public var settings: Settings
  public var corpus: Corpus
  public var summary: Summary
  public var features: [Feature]

  /// Recomputes `summary` from `features`.
  public mutating func updateSummary() {
    let judged = features.compactMap(\.judge)
    var hist = [Int](repeating: 0, count: 5)
    for j in judged { hist[min(4, Int(j.score * 5))] += 1 }
    summary = Summary(
      activity: ActivitySummary(features.map(\.activity)),
      interpretable: features.filter(\.interpretable).count, judged: judged.count,
      judgeFailures: features.filter { $0.judgeError != nil }.count,
      meanScore: judged.isEmpty ? nil : judged.map(\.score).reduce(0, +) / Double(judged.count),
      scoreHistogram: hist)
  }

  /// Writes `dir/report.json` and `dir/report.md` (atomically; the directory is created).
  /// `shownFeatures` caps the interpretable features detailed in the Markdown page (JSON has all).
  public func write(to dir: URL, shownFeatures: Int = 100) throws {
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    try ModelFiles.saveJSON(self, to: dir.appendingPathComponent("report.json"))
    try AtomicFile.write(Data(markdown(shownFeatures: shownFeatures).utf8), to: dir.appendingPathComponent("report.md"))
  }
}
