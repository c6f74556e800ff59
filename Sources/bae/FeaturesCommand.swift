// `bae features`: the ComSem feature report of spec §7 (β scores, top-k features per token, 5 samples to
// describe and ≤ 8 to test), with contexts from the token TSVs and an optional judge LLM.
import ArgumentParser
import BAEAnalysis
import Foundation

struct FeaturesCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "features",
    abstract: "Build a feature report (ComSem samples, firing rates, dead/dense summary, optional LLM judge).",
    discussion: """
      Takes any trained run: a BAE ranks a token's features by β = log2(|h − p| + 1e-6), an SAE (relu, topk,
      batchtopk, jumprelu) by raw activation (--sae-scoring zscore: per-latent z-score), among latents
      active on the token. --random-codes is the baseline: seeded Gaussian codes of the model's width
      instead of its code, through the same pipeline. Compare reports with `bae features-compare`.
      Streams --data twice through the model (firing rates, then the top-k assignment) and the token TSVs
      once (contexts), keeping at most describe+test samples per feature. Tokens come from --tokens, else
      the dataset's shard sidecars, else P.tokens.tsv next to a P.npy. Writes REPORT_DIR/report.json and
      REPORT_DIR/report.md. With --judge-url and --judge-model an OpenAI-compatible /v1/chat/completions
      endpoint names and scores each interpretable feature; the key is read from BAE_JUDGE_API_KEY
      (never logged or written; `user:pass@` in --judge-url is sent as Basic auth and stripped from all
      output; redirects to another host are refused). Answers are cached in REPORT_DIR/judge_cache.jsonl,
      so a rerun only asks what is missing; `scripts/judge_server.sh start` runs a local judge.
      See Documentation/Analysis.md.
      """)

  @Option(help: "A directory written by `bae train` (config.json + model.safetensors).") var model: String
  @Option(help: "Dataset directory (bae pack) or a .npy of the same layer.") var data: String
  @Option(help: "Tokens TSV with one line per row of --data (token_id, document_id, position, text).") var tokens:
    String?
  @Option(help: "Features per token by β (top-k).") var top: Int = 10
  @Option(help: "Samples per feature shown to describe it.") var describe: Int = 5
  @Option(help: "Further samples per feature judged against the description (at most).") var test: Int = 8
  @Option(help: "Tokens of context on each side of a sample.") var context: Int = 12
  @Option(help: "Use only the first N rows of --data (0 = all).") var maxRows: Int = 0
  @Option(help: "Rows per encoding chunk.") var chunk: Int = 1024
  @Option(help: "Interpretable features detailed in report.md (report.json has all).") var show: Int = 100
  @Option(help: "Report directory.") var out: String
  @Option(help: "SAE ranking: activation (raw, default) or zscore (per-latent). A BAE always uses β.")
  var saeScoring: FeatureScoring = .activation
  @Flag(help: "Random-code baseline: seeded Gaussian codes of the model's width replace its code.")
  var randomCodes = false
  @Option(help: "Seed of --random-codes.") var randomSeed: UInt64 = 0
  @Option(help: "OpenAI-compatible server (root, /v1, or full /v1/chat/completions URL); off when absent.")
  var judgeUrl: String?
  @Option(help: "Model name sent to the judge.") var judgeModel: String?
  @Option(help: "Seconds per judge request.") var judgeTimeout: Double = 60
  @Option(help: "Retries per judge request (transport errors, HTTP 429 and 5xx).") var judgeRetries: Int = 3
  @Option(
    help:
      "Longest back-off between judge retries, seconds (the first is 1 s, doubled each retry; also caps Retry-After).")
  var judgeMaxBackoff: Double = 30
  @Option(help: "Judge requests in flight at most (1 = one at a time).") var judgeConcurrency: Int = 2
  @Option(help: "Judge answer cache, JSONL (default: REPORT_DIR/judge_cache.jsonl).") var judgeCache: String?
  @Flag(help: "Ask the judge everything again; read and write no answer cache.") var noJudgeCache = false
  @Option(help: "Judge at most N interpretable features, in index order (0 = all).") var judgeMaxFeatures: Int = 50

  /// Most samples per feature for --describe and for --test.
  static let maxSamples = 10_000

  func validate() throws {
    guard top >= 1, describe >= 1, test >= 1, context >= 0, maxRows >= 0, chunk >= 1, show >= 0 else {
      throw ValidationError("--top, --describe, --test, --chunk must be >= 1; --context, --max-rows, --show >= 0")
    }
    guard saeScoring != .beta else {
      throw ValidationError("--sae-scoring must be activation or zscore (β is the BAE's own rule)")
    }
    guard (judgeUrl == nil) == (judgeModel == nil) else {
      throw ValidationError("--judge-url and --judge-model go together")
    }
    guard judgeTimeout > 0, judgeRetries >= 0, judgeMaxFeatures >= 0, judgeMaxBackoff >= 0 else {
      throw ValidationError(
        "--judge-timeout must be > 0, --judge-retries, --judge-max-features and --judge-max-backoff >= 0")
    }
    // samples kept per feature: describe + test overflowed (a trap) at Int.max
    guard describe <= Self.maxSamples, test <= Self.maxSamples else {
      throw ValidationError(
        "--describe \(describe) --test \(test): at most \(Self.maxSamples) samples each (they are kept per feature)")
    }
    // seconds reach Dispatch as nanoseconds: 1e308 or inf trapped there; inf as a back-off was taken silently
    try FlagCheck.seconds(judgeTimeout, "--judge-timeout", in: 0.001...86_400)
    try FlagCheck.seconds(judgeMaxBackoff, "--judge-max-backoff", in: 0...86_400)
    guard judgeRetries <= 100 else {
      throw ValidationError("--judge-retries \(judgeRetries): at most 100 retries per request")
    }
    try FlagCheck.nonEmpty(out, "--out", "a report directory")
    try FlagCheck.nonEmpty(tokens, "--tokens", "a tokens TSV (or omit it to use the dataset's sidecars)")
    try FlagCheck.nonEmpty(judgeUrl, "--judge-url", "the judge server's URL (or omit it for no judge)")
    try FlagCheck.nonEmpty(judgeModel, "--judge-model", "the model name the judge server serves")
    try FlagCheck.nonEmpty(judgeCache, "--judge-cache", "a JSONL file (or omit it for REPORT_DIR/judge_cache.jsonl)")
    guard (1...64).contains(judgeConcurrency) else {
      throw ValidationError("--judge-concurrency must be in 1...64 (requests in flight)")
    }
    guard !(noJudgeCache && judgeCache != nil) else {
      throw ValidationError("--judge-cache and --no-judge-cache exclude each other")
    }
  }

  func run() throws {
    let dataURL = URL(fileURLWithPath: data)
    let tokenFiles = try resolveTokens(dataURL)
    var options = FeatureReportOptions()
    options.topK = top
    options.describeCount = describe
    options.testCount = test
    options.contextWindow = context
    options.chunk = chunk
    options.maxRows = maxRows
    options.saeScoring = saeScoring
    options.randomCodes = randomCodes
    options.randomSeed = randomSeed
    let start = Date()
    var report = try FeatureReportBuilder.build(
      modelDirectory: URL(fileURLWithPath: model), data: dataURL,
      tokens: tokenFiles, options: options, progress: Self.progress)
    let outDir = URL(fileURLWithPath: out)
    var judgeFailure: Error?
    if let url = judgeUrl, let name = judgeModel {
      let cache =
        noJudgeCache
        ? nil
        : try JudgeCache(
          url: judgeCache.map { URL(fileURLWithPath: $0) } ?? outDir.appendingPathComponent("judge_cache.jsonl"))
      let client = try ChatClient(
        baseURL: url, model: name, apiKey: ProcessInfo.processInfo.environment["BAE_JUDGE_API_KEY"],
        timeout: judgeTimeout, retries: judgeRetries, maxBackoff: judgeMaxBackoff, cache: cache)
      do {
        try FeatureReportBuilder.judge(
          &report, with: FeatureJudge(client: client), maxFeatures: judgeMaxFeatures,
          concurrency: judgeConcurrency, progress: Self.progress)
      } catch { judgeFailure = error }
    }
    try report.write(to: outDir, shownFeatures: show)
    let s = report.summary
    print(
      String(
        format:
          "features (%@, %@): %d rows, %d features: %d interpretable, %d dead, %d always on, %d dense, %d near-constant; Ĥ %.2f bits (%.1f s)",
        report.settings.kind ?? "bae", report.settings.scoring ?? "beta", report.settings.rows,
        report.settings.features, s.interpretable, s.activity.dead, s.activity.alwaysOn,
        s.activity.dense, s.activity.nearConstant, report.corpus.entropyBits, Date().timeIntervalSince(start)))
    if s.judged > 0 || s.judgeFailures > 0 {
      let st = report.settings
      print(
        "judge: \(s.judged) features judged, mean score \(s.meanScore.map { String(format: "%.3f", $0) } ?? "n/a"), \(s.judgeFailures) failed; "
          + "\(st.judgeRequests ?? 0) requests sent, \(st.judgeCacheHits ?? 0) answers from the cache")
    }
    print(
      "report: \(outDir.appendingPathComponent("report.md").path)  \(outDir.appendingPathComponent("report.json").path)"
    )
    if let e = judgeFailure { throw e }
  }

  /// --tokens, else the dataset's sidecars, else P.tokens.tsv next to P.npy, else none.
  func resolveTokens(_ dataURL: URL) throws -> [URL]? {
    try TokenContexts.tokenFiles(forData: dataURL, explicit: tokens)
  }

  static func progress(_ phase: String, _ done: Int, _ total: Int) {
    ProgressBar.draw(done: done, total: total, label: phase)
    if done == total { ProgressBar.finish() }
  }
}

extension FeatureScoring: ExpressibleByArgument {}
