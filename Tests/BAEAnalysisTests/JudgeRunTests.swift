import XCTest

// The judge pass over a whole report: requests in flight bounded by --judge-concurrency (seen by the
// server), results independent of the concurrency, and the answer cache (a second run asks nothing, a
// torn last line costs one request, corrupt lines are skipped).
@testable import BAEAnalysis

final class JudgeRunTests: XCTestCase {
  var dir: URL!

  override func setUpWithError() throws {
    dir = FileManager.default.temporaryDirectory.appendingPathComponent("bae-judge-run-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

  /// `features` interpretable features: feature j has 5 "cat" samples to describe, then 3 tests of which
  /// the first j % 4 are "cat" (so the deterministic judge scores (j % 4) / 3, capped at 1).
  static func report(features: Int) -> FeatureReport {
    func ctx(_ row: Int, _ token: String) -> TokenContext {
      TokenContext(
        row: row, tokenId: row, documentId: 1, position: row % 50, token: token, before: "the ", after: " sat")
    }
    let fs = (0..<features).map { j -> FeatureReport.Feature in
      let describe = (0..<5).map {
        FeatureReport.Sample(role: "describe", row: 10 * j + $0, context: ctx(10 * j + $0, "cat"))
      }
      let test = (0..<3).map { k in
        FeatureReport.Sample(role: "test", row: 10 * j + 5 + k, context: ctx(10 * j + 5 + k, k < j % 4 ? "cat" : "dog"))
      }
      return .init(
        index: j, activity: FeatureActivity(rate: 0.1), assigned: 8, interpretable: true,
        samples: describe + test, judge: nil, judgeError: nil)
    }
    let settings = FeatureReport.Settings(
      model: "m", data: "d", tokens: ["t"], rows: 10 * features, inputDim: 2,
      features: features, bitsPerFeature: 1, topK: 1, describeCount: 5, testCount: 3,
      contextWindow: 1, denseRate: 0.5, nearConstantRate: 0.01)
    var r = FeatureReport(
      settings: settings, corpus: .init(entropyBits: 1, mse: 0, fvu: nil, l0: 1),
      summary: .init(
        activity: ActivitySummary([]), interpretable: 0, judged: 0, judgeFailures: 0,
        meanScore: nil, scoreHistogram: []),
      features: fs)
    r.updateSummary()
    return r
  }

  func client(_ server: LocalChatServer, cache: JudgeCache? = nil) throws -> ChatClient {
    try ChatClient(baseURL: server.baseURL, model: "judge-m", apiKey: "sekret", timeout: 20, retries: 0, cache: cache)
  }

  func testConcurrencyIsBoundedAndReached() throws {
    var scores: [[Double]] = []
    for n in [1, 3] {
      let server = try LocalChatServer(gate: n, handler: JudgeTests.deterministic)
      defer { server.stop() }
      var report = Self.report(features: 7)
      try FeatureReportBuilder.judge(&report, with: FeatureJudge(client: try client(server)), concurrency: n)
      XCTAssertEqual(server.maxInFlight, n, "concurrency \(n)")
      XCTAssertEqual(server.requests.count, 7 * 4)
      XCTAssertEqual(report.settings.judgeConcurrency, n)
      XCTAssertEqual(report.settings.judgeRequests, 28)
      XCTAssertEqual(report.summary.judged, 7)
      scores.append(report.features.map { $0.judge?.score ?? -1 })
    }
    XCTAssertEqual(scores[0], [0, 1, 2, 3, 0, 1, 2].map { Double($0) / 3 })
    XCTAssertEqual(scores[0], scores[1], "results must not depend on the concurrency")
  }

  func testGiveUpWithConcurrencyStopsHandingOut() throws {
    let server = try LocalChatServer { _, _ in .init(status: 400, body: "no") }
    defer { server.stop() }
    var report = Self.report(features: 20)
    XCTAssertThrowsError(
      try FeatureReportBuilder.judge(
        &report, with: FeatureJudge(client: try client(server)),
        concurrency: 2, giveUpAfter: 3)
    ) {
      guard case AnalysisError.judgeGaveUp(3, _) = $0 else { return XCTFail("\($0)") }
    }
    // 3 failures stop it; at most one more feature was already in flight
    XCTAssertTrue((3...4).contains(report.summary.judgeFailures), "\(report.summary.judgeFailures)")
    XCTAssertTrue((3...4).contains(server.requests.count))
  }

  func testCacheAnswersASecondRun() throws {
    let server = try LocalChatServer(handler: JudgeTests.deterministic)
    defer { server.stop() }
    let file = dir.appendingPathComponent("out/judge_cache.jsonl")
    var first = Self.report(features: 5)
    try FeatureReportBuilder.judge(
      &first, with: FeatureJudge(client: try client(server, cache: JudgeCache(url: file))), concurrency: 2)
    XCTAssertEqual(server.requests.count, 20)
    XCTAssertEqual(first.settings.judgeCacheHits, 0)
    let text = try String(contentsOf: file, encoding: .utf8)
    XCTAssertEqual(text.split(separator: "\n").count, 20)
    XCTAssertFalse(text.contains("sekret"), "the cache must not hold the key")

    var second = Self.report(features: 5)
    let cache = try JudgeCache(url: file)
    XCTAssertEqual([cache.count, cache.skippedLines], [20, 0])
    try FeatureReportBuilder.judge(
      &second, with: FeatureJudge(client: try client(server, cache: cache)), concurrency: 2)
    XCTAssertEqual(server.requests.count, 20, "a second run must not pay again")
    XCTAssertEqual(second.settings.judgeCacheHits, 20)
    XCTAssertEqual(second.settings.judgeRequests, 0)
    XCTAssertEqual(second.features.map(\.judge), first.features.map(\.judge))

    // another model name misses the cache: the key covers the model
    let other = try ChatClient(
      baseURL: server.baseURL, model: "judge-other", apiKey: nil, timeout: 20, retries: 0,
      cache: try JudgeCache(url: file))
    _ = try other.complete(
      FeatureJudge.describePrompt([
        TokenContext(
          row: 0, tokenId: 0, documentId: 1, position: 0,
          token: "cat", before: "", after: "")
      ]))
    XCTAssertEqual([other.cacheHits, other.attemptsMade], [0, 1])
  }

  func testTornAndCorruptLinesAreTolerated() throws {
    let server = try LocalChatServer(handler: JudgeTests.deterministic)
    defer { server.stop() }
    let file = dir.appendingPathComponent("judge_cache.jsonl")
    var first = Self.report(features: 3)
    try FeatureReportBuilder.judge(&first, with: FeatureJudge(client: try client(server, cache: JudgeCache(url: file))))
    XCTAssertEqual(server.requests.count, 12)
    // an interrupted write: the last line loses its second half and its newline; a line in the middle is garbage
    var lines = try String(contentsOf: file, encoding: .utf8).split(separator: "\n").map(String.init)
    lines[4] = "{\"key\": garbage"
    let last = lines.removeLast()
    try Data((lines.joined(separator: "\n") + "\n" + last.prefix(last.count / 2)).utf8).write(to: file)

    let cache = try JudgeCache(url: file)
    XCTAssertEqual([cache.count, cache.skippedLines], [10, 2])
    var second = Self.report(features: 3)
    try FeatureReportBuilder.judge(&second, with: FeatureJudge(client: try client(server, cache: cache)))
    XCTAssertEqual(server.requests.count, 14, "only the two lost answers are asked again")
    XCTAssertEqual(second.features.map(\.judge), first.features.map(\.judge))
    // the new records start on their own line: a third load reads all 12 answers
    let third = try JudgeCache(url: file)
    XCTAssertEqual([third.count, third.skippedLines], [12, 2])
  }

  func testUnwritableCacheIsATypedError() throws {
    let blocker = dir.appendingPathComponent("file")
    try Data("x".utf8).write(to: blocker)
    let path = blocker.appendingPathComponent("judge_cache.jsonl")
    XCTAssertThrowsError(try JudgeCache(url: path)) {
      guard case JudgeCacheError.unwritable(path.path, _) = $0 else { return XCTFail("\($0)") }
    }
  }
}
