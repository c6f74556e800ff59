// The feature report: per feature its firing rate, activity class, ComSem samples with their contexts
// and (optionally) the judge's phrase and score; plus corpus statistics and a dead/dense summary.
// Written as report.json (everything) and report.md (a readable page; see FeatureReport+Markdown).
import BAEIO
import BAETrain
import Foundation

/// What `bae features` writes as report.json (and renders as report.md): settings, corpus statistics, per-feature
/// samples and judge scores.
public struct FeatureReport: Codable, Sendable {
  /// What the report was built from and with which settings.
  public struct Settings: Codable, Sendable {
    /// The model's run directory, as given on the command line.
    public var model: String
    /// The activations the report reads (a dataset directory or an .npy), as given.
    public var data: String
    /// Token TSVs the contexts came from (empty: no contexts).
    public var tokens: [String]
    /// Rows of the data scanned (after `--max-rows`).
    public var rows: Int
    /// Width d of a row.
    public var inputDim: Int
    /// Features = code bits of the model (d'·k).
    public var features: Int
    /// Bits per feature k of the model (1 for a plain BAE).
    public var bitsPerFeature: Int
    /// Features each token is assigned to by β (ComSem top-k).
    public var topK: Int
    /// Samples per feature shown to the judge to name the commonality.
    public var describeCount: Int
    /// Further samples per feature judged against that description (at most).
    public var testCount: Int
    /// Tokens of context on each side of a sample (same document only).
    public var contextWindow: Int
    /// Firing rate above which a feature counts as dense (`FeatureActivity.denseRate`).
    public var denseRate: Double
    /// min(p, 1 − p) below which a feature counts as near-constant (`FeatureActivity.nearConstantRate`).
    public var nearConstantRate: Double
    /// The judge's endpoint, never with `user:pass@` (nil: no judge).
    public var judgeURL: String?
    /// The judge model's name (nil: no judge).
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
    /// Fraction of variance unexplained: MSE over the data's per-dimension variance (nil when the variance is 0
    /// or for random codes).
    public var fvu: Double?
    /// Mean active bits per row.
    public var l0: Double
  }

  /// One ComSem sample of a feature.
  public struct Sample: Codable, Sendable {
    /// "describe" (shown to the judge to name the commonality) or "test" (judged Yes/No).
    public var role: String
    /// Global row of the sample (index into the data).
    public var row: Int
    /// The token and its context; nil when no tokens TSV was available.
    public var context: TokenContext?
  }

  /// One feature (code bit): its activity, its ComSem samples and the judge's verdict.
  public struct Feature: Codable, Sendable {
    /// Index of the code bit, 0..<d'·k.
    public var index: Int
    /// The feature's firing rate and activity classes.
    public var activity: FeatureActivity
    /// Tokens that have this feature among their top-k by β (over the whole corpus).
    public var assigned: Int
    /// At least describeCount + 1 samples.
    public var interpretable: Bool
    /// The first describeCount + testCount samples in corpus order.
    public var samples: [Sample]
    /// The judge's description and score (nil: not judged).
    public var judge: JudgeResult?
    /// Why judging this feature failed (after the client's retries).
    public var judgeError: String?
  }

  /// Counts over all features of the report.
  public struct Summary: Codable, Sendable {
    /// Dead, always-on, dense and near-constant counts.
    public var activity: ActivitySummary
    /// Features with enough samples to be judged (`describeCount` + 1 or more).
    public var interpretable: Int
    /// Features the judge answered for.
    public var judged: Int
    /// Features whose judging failed after the client's retries.
    public var judgeFailures: Int
    /// Mean judge score over judged features.
    public var meanScore: Double?
    /// Judged features per score bin [0,0.2), [0.2,0.4), [0.4,0.6), [0.6,0.8), [0.8,1].
    public var scoreHistogram: [Int]
  }

  /// What the report was built from and with which settings.
  public var settings: Settings
  /// Statistics of the model over the whole data.
  public var corpus: Corpus
  /// Counts and the score histogram, derived from `features` by `updateSummary()`.
  public var summary: Summary
  /// Every feature, in index order.
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
