// The judge path against a local OpenAI-compatible endpoint started by the test itself: prompts,
// phrase and Yes/No parsing, the score, the API key header, a retry after HTTP 500, a timeout, and
// no retry on a 400.
import BAEAnalysis
import XCTest

final class JudgeTests: XCTestCase {
  func sample(_ row: Int, _ token: String) -> TokenContext {
    TokenContext(row: row, tokenId: row, documentId: 1, position: row, token: token, before: "the ", after: " sat")
  }

  /// Deterministic judge: names the phrase "the word cat"; says Yes exactly when the marked token is "cat".
  static func deterministic(_ i: Int, _ r: LocalChatServer.Request) -> LocalChatServer.Reply {
    let u = LocalChatServer.userMessage(r)
    if u.contains("What do the marked tokens have in common") {
      return .init(status: 200, body: LocalChatServer.completion("\"The word cat.\"\nextra line"))
    }
    return .init(status: 200, body: LocalChatServer.completion(u.contains("[[cat]]") ? "Yes." : "no"))
  }

  func testJudgeScoresAFeature() throws {
    let server = try LocalChatServer(handler: Self.deterministic)
    defer { server.stop() }
    let client = try ChatClient(
      baseURL: server.baseURL + "/v1", model: "stub-judge", apiKey: "sekret", timeout: 5, retries: 0)
    XCTAssertEqual(client.endpoint.absoluteString, server.baseURL + "/v1/chat/completions")
    let describe = (0..<5).map { sample($0, "cat") }
    let test = [sample(5, "cat"), sample(6, "dog"), sample(7, "cat"), sample(8, "cow")]
    let r = try FeatureJudge(client: client).judge(describe: describe, test: test)
    XCTAssertEqual(r.phrase, "The word cat")
    XCTAssertEqual(r.verdicts, [true, false, true, false])
    XCTAssertEqual(r.score, 0.5, accuracy: 1e-12)
    let reqs = server.requests
    XCTAssertEqual(reqs.count, 5)
    XCTAssertEqual(reqs[0].path, "/v1/chat/completions")
    XCTAssertEqual(reqs[0].headers["authorization"], "Bearer sekret")
    let first = LocalChatServer.userMessage(reqs[0])
    XCTAssertTrue(first.contains("5. token \"cat\" (position 4): the [[cat]] sat"), first)
    XCTAssertTrue(LocalChatServer.userMessage(reqs[2]).contains("Feature description: The word cat"))
    let body = try JSONSerialization.jsonObject(with: reqs[0].body) as? [String: Any]
    XCTAssertEqual(body?["model"] as? String, "stub-judge")
    // the describe prompt gets the client's budget, a Yes/No prompt only what a verdict needs
    let budgets = try reqs.map {
      try (JSONSerialization.jsonObject(with: $0.body) as? [String: Any])?["max_tokens"] as? Int
    }
    XCTAssertEqual(budgets, [48, 8, 8, 8, 8])
  }

  func testRetriesAfterServerError() throws {
    let server = try LocalChatServer { i, r in
      i == 0 ? .init(status: 500, body: "{\"error\":\"overloaded\"}") : Self.deterministic(i, r)
    }
    defer { server.stop() }
    let client = try ChatClient(baseURL: server.baseURL, model: "m", apiKey: nil, timeout: 5, retries: 2, backoff: 0.01)
    let answer = try client.complete([ChatMessage(role: "user", content: "Sample: [[cat]]")])
    XCTAssertEqual(answer, "Yes.")
    XCTAssertEqual(server.requests.count, 2)
    XCTAssertEqual(client.attemptsMade, 2)
    XCTAssertNil(server.requests[0].headers["authorization"])
  }

  func testServerErrorOnEveryAttemptIsReported() throws {
    let server = try LocalChatServer { _, _ in .init(status: 503, body: "busy") }
    defer { server.stop() }
    let client = try ChatClient(baseURL: server.baseURL, model: "m", apiKey: nil, timeout: 5, retries: 2, backoff: 0.01)
    XCTAssertThrowsError(try client.complete([ChatMessage(role: "user", content: "x")])) {
      XCTAssertEqual(
        $0 as? ChatError, .http(url: client.endpoint.absoluteString, status: 503, body: "busy", attempts: 3))
    }
    XCTAssertEqual(server.requests.count, 3)
  }

  func testTimeoutIsRetriedThenReported() throws {
    // the first answer comes too late, the second in time
    let server = try LocalChatServer { i, r in
      var reply = Self.deterministic(i, r)
      if i == 0 { reply.delay = 2.5 }
      return reply
    }
    defer { server.stop() }
    let client = try ChatClient(
      baseURL: server.baseURL, model: "m", apiKey: nil, timeout: 0.7, retries: 1, backoff: 0.01)
    let t0 = Date()
    XCTAssertEqual(try client.complete([ChatMessage(role: "user", content: "[[dog]]")]), "no")
    XCTAssertEqual(client.attemptsMade, 2)
    XCTAssertLessThan(Date().timeIntervalSince(t0), 3.5)

    let slow = try LocalChatServer { i, r in
      var x = Self.deterministic(i, r)
      x.delay = 2.5
      return x
    }
    defer { slow.stop() }
    let impatient = try ChatClient(
      baseURL: slow.baseURL, model: "m", apiKey: nil, timeout: 0.5, retries: 1, backoff: 0.01)
    XCTAssertThrowsError(try impatient.complete([ChatMessage(role: "user", content: "x")])) {
      guard case let ChatError.transport(_, _, attempts) = $0 else {
        return XCTFail("expected a transport error, got \($0)")
      }
      XCTAssertEqual(attempts, 2)
    }
  }

  func testClientErrorIsNotRetried() throws {
    let server = try LocalChatServer { _, _ in .init(status: 400, body: "{\"error\":\"unknown model\"}") }
    defer { server.stop() }
    let client = try ChatClient(baseURL: server.baseURL, model: "m", apiKey: nil, timeout: 5, retries: 3, backoff: 0.01)
    XCTAssertThrowsError(try client.complete([ChatMessage(role: "user", content: "x")])) {
      guard case let ChatError.http(_, status, body, attempts) = $0 else { return XCTFail("\($0)") }
      XCTAssertEqual([status, attempts], [400, 1])
      XCTAssertTrue(body.contains("unknown model"))
    }
    XCTAssertEqual(server.requests.count, 1)
  }

  func testRefusedConnectionAndBadURL() throws {
    let server = try LocalChatServer { _, _ in .init(status: 200, body: "{}") }
    let port = server.port
    server.stop()
    let client = try ChatClient(
      baseURL: "http://127.0.0.1:\(port)", model: "m", apiKey: nil, timeout: 2, retries: 1, backoff: 0.01)
    XCTAssertThrowsError(try client.complete([ChatMessage(role: "user", content: "x")])) {
      guard case ChatError.transport = $0 else { return XCTFail("\($0)") }
    }
    XCTAssertThrowsError(try ChatClient(baseURL: "ftp://x", model: "m", apiKey: nil)) {
      XCTAssertEqual($0 as? ChatError, .badURL("ftp://x"))
    }
  }

  func testNonCompletionAnswerIsABadResponse() throws {
    let server = try LocalChatServer { _, _ in .init(status: 200, body: "{\"choices\":[]}") }
    defer { server.stop() }
    let client = try ChatClient(baseURL: server.baseURL, model: "m", apiKey: nil, timeout: 5, retries: 0)
    XCTAssertThrowsError(try client.complete([ChatMessage(role: "user", content: "x")])) {
      guard case ChatError.badResponse = $0 else { return XCTFail("\($0)") }
    }
  }

  func testVerdictAndPhraseParsing() {
    XCTAssertTrue(FeatureJudge.parseVerdict("Yes"))
    XCTAssertTrue(FeatureJudge.parseVerdict(" **yes**, it does"))
    XCTAssertFalse(FeatureJudge.parseVerdict("No."))
    XCTAssertFalse(FeatureJudge.parseVerdict("Yesterday"))  // the first word must be "yes"
    XCTAssertFalse(FeatureJudge.parseVerdict(""))
    XCTAssertEqual(FeatureJudge.cleanPhrase("  \"Plural nouns.\"\nBecause…"), "Plural nouns")
    XCTAssertEqual(FeatureJudge.cleanPhrase("**Words ending in \"-ing\"**."), "Words ending in \"-ing\"")
    XCTAssertEqual(FeatureJudge.cleanPhrase("the token \"cat\""), "the token \"cat\"")
  }
}
