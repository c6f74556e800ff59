// Builds a feature report from a trained model directory and a dataset in streaming passes:
// rates (pass 1), ComSem samples (pass 2), contexts of the kept samples from the token TSVs (pass 3),
// then optionally the judge. Progress goes to a callback; nothing is printed here.
import BAEModel
import BAEStore
import BAETrain
import Foundation

/// Settings of a feature report.
public struct FeatureReportOptions: Sendable {
  /// Features per token (reference 10).
  public var topK = 10
  /// Samples to describe a feature (reference 5).
  public var describeCount = 5
  /// Samples to test the description (reference ≤ 8).
  public var testCount = 8
  /// Tokens of context shown on each side of a sample.
  public var contextWindow = 12
  /// Rows encoded per chunk.
  public var chunk = 1024
  /// Use only the first N rows (0 = all).
  public var maxRows = 0
  /// How an SAE latent scores a token: its activation (default) or its z-score. A BAE always uses β.
  public var saeScoring: FeatureScoring = .activation
  /// The random-code baseline: rank seeded Gaussian codes of the model's width instead of its code.
  public var randomCodes = false
  /// Seed of the random codes.
  public var randomSeed: UInt64 = 0
  /// The reference settings: top-10 features per token, 5 describe and 8 test samples, 12 tokens of context, all rows.
  public init() {}
}

/// Failures of the analysis itself (inputs are checked by the store and trainer errors).
public enum AnalysisError: Error, CustomStringConvertible {
  case widthMismatch(data: String, found: Int, model: String, expected: Int)
  case judgeNeedsTokens(data: String)
  case judgeGaveUp(consecutiveFailures: Int, last: String)
  case topKBeyondFeatures(topK: Int, features: Int, model: String)

  /// What went wrong and what to do, in one line for the CLI.
  public var description: String {
    switch self {
    case let .widthMismatch(data, found, model, expected):
      return
        "\(data): rows have width \(found) but the model in \(model) expects \(expected); use activations from the model's layer"
    case let .judgeNeedsTokens(data):
      return
        "\(data): the judge needs token contexts but no tokens were found; pass --tokens P.tokens.tsv or pack the dataset with --tokens"
    case let .judgeGaveUp(n, last):
      return "judge failed on \(n) features in a row, stopping (last error: \(last)); the partial report was kept"
    case let .topKBeyondFeatures(topK, features, model):
      return "--top \(topK): the model in \(model) has \(features) features; pass --top between 1 and \(features)"
    }
  }
}

/// `bae features`: scans the data through a model, picks ComSem samples, asks the judge, and builds the report.
public enum FeatureReportBuilder {
  /// Progress: (phase name, done, total).
  public typealias Progress = (String, Int, Int) -> Void

  /// Runs passes 1–3. `tokens` are the TSVs covering all rows in order (nil: no contexts).
  public static func build(
    modelDirectory: URL, data: URL, tokens: [URL]?, options: FeatureReportOptions = .init(),
    progress: Progress = { _, _, _ in }
  ) throws -> FeatureReport {
    let (model, config) = try ModelFiles.load(directory: modelDirectory)
    let source = try openRowSource(data)
    guard source.inputDim == model.inputDim else {
      throw AnalysisError.widthMismatch(
        data: data.path, found: source.inputDim, model: modelDirectory.path, expected: model.inputDim)
    }
    let n = options.maxRows > 0 ? min(options.maxRows, source.rowCount) : source.rowCount
    let width = model.architecture.isBinary ? model.codeBits : model.latentDim
    guard options.topK <= width else {
      throw AnalysisError.topKBeyondFeatures(topK: options.topK, features: width, model: modelDirectory.path)
    }
    let chunk = min(options.chunk, max(1, n))
    let values: any FeatureValueSource =
      options.randomCodes
      ? RandomFeatureValues(features: width, seed: options.randomSeed, chunk: chunk)
      : ModelFeatureValues(model: model, source: source, chunk: chunk)
    progress("rates", 0, n)
    let rates: [Double]
    let corpus: FeatureReport.Corpus
    let scorer: FeatureScorer
    if options.randomCodes {
      // a random code "fires" where it is positive; no reconstruction exists
      rates = try FeatureScanner.moments(values, rows: 0..<n).positiveRates
      corpus = FeatureReport.Corpus(
        entropyBits: rates.map(BinaryEntropy.value).reduce(0, +), mse: nil, fvu: nil, l0: rates.reduce(0, +))
      scorer = .activation(features: width)
    } else {
      let stats = try FeatureScanner.statistics(model, source: source, rows: 0..<n, chunk: options.chunk)
      rates = stats.rates
      corpus = FeatureReport.Corpus(
        entropyBits: stats.entropyBits, mse: stats.mse, fvu: stats.fvu.isFinite ? stats.fvu : nil, l0: stats.l0)
      switch (model.architecture.isBinary, options.saeScoring) {
      case (true, _): scorer = .beta(rates: rates)
      case (false, .zscore):
        let mo = try FeatureScanner.moments(values, rows: 0..<n)
        scorer = .zscore(mean: mo.mean, std: mo.std)
      case (false, _): scorer = .activation(features: width)
      }
    }
    progress("rates", n, n)
    let sampler = try FeatureScanner.sample(
      values, rows: 0..<n, scorer: scorer, topK: options.topK,
      describeCount: options.describeCount, testCount: options.testCount
    ) { progress("samples", $0, $1) }
    var contexts: [Int: TokenContext] = [:]
    if let tokens {
      let wanted = Set(sampler.samples.joined())
      progress("contexts", 0, wanted.count)
      // the TSVs must cover the whole source, even when only a prefix was scanned
      contexts = try TokenContexts.collect(
        rows: wanted, from: tokens, window: options.contextWindow,
        expectedRows: source.rowCount)
      progress("contexts", wanted.count, wanted.count)
    }
    let features = (0..<width).map { j -> FeatureReport.Feature in
      let samples = sampler.samples[j].enumerated().map { i, r in
        FeatureReport.Sample(role: i < options.describeCount ? "describe" : "test", row: r, context: contexts[r])
      }
      return FeatureReport.Feature(
        index: j, activity: FeatureActivity(rate: rates[j]),
        assigned: sampler.assignedCounts[j], interpretable: sampler.isInterpretable(j),
        samples: samples, judge: nil, judgeError: nil)
    }
    let settings = FeatureReport.Settings(
      model: modelDirectory.path, data: data.path, tokens: tokens?.map(\.path) ?? [], rows: n, inputDim: model.inputDim,
      features: width, bitsPerFeature: config.model.bitsPerFeature, topK: options.topK,
      describeCount: options.describeCount, testCount: options.testCount, contextWindow: options.contextWindow,
      denseRate: FeatureActivity.denseRate, nearConstantRate: FeatureActivity.nearConstantRate, judgeURL: nil,
      judgeModel: nil, kind: options.randomCodes ? "random" : model.architecture.rawValue,
      scoring: scorer.scoring.rawValue, randomSeed: options.randomCodes ? options.randomSeed : nil)
    var report = FeatureReport(
      settings: settings, corpus: corpus,
      summary: .init(
        activity: ActivitySummary([]), interpretable: 0, judged: 0, judgeFailures: 0,
        meanScore: nil, scoreHistogram: []),
      features: features)
    report.updateSummary()
    return report
  }
}
