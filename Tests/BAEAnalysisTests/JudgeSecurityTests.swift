import XCTest

// Issue 11 items 18, 19, 22: the judge's credentials never follow a redirect to another origin (port or
// host name), `user:pass@` never reaches report.json / report.md / errors, a server echoing the key
// does not put it into an error, and the retry back-off is capped.
@testable import BAEAnalysis

final class JudgeSecurityTests: XCTestCase {
  static let ok = LocalChatServer.completion("Yes")

  func chat(_ c: ChatClient) throws -> String { try c.complete([ChatMessage(role: "user", content: "x")]) }

  func testRedirectToAnotherPortIsRefusedAndTheKeyStaysHome() throws {
    let other = try LocalChatServer { _, _ in .init(status: 200, body: Self.ok) }
    defer { other.stop() }
    for status in [301, 302, 307, 308] {
      let server = try LocalChatServer { _, _ in
        .init(status: status, body: "", headers: ["Location": other.baseURL + "/v1/chat/completions"])
      }
      defer { server.stop() }
      let client = try ChatClient(
        baseURL: server.baseURL, model: "m", apiKey: "sekret-key", timeout: 5, retries: 2, backoff: 0.01)
      XCTAssertThrowsError(try chat(client)) {
        XCTAssertEqual(
          $0 as? ChatError,
          .redirectRefused(
            url: client.endpoint.absoluteString, status: status,
            location: other.baseURL + "/v1/chat/completions"))
      }
      XCTAssertEqual(server.requests.count, 1, "a refused redirect is not retried")
      XCTAssertEqual(server.requests[0].headers["authorization"], "Bearer sekret-key")
    }
    XCTAssertTrue(other.requests.isEmpty, "the other port received \(other.requests.count) request(s)")
  }

  func testRedirectToAnotherHostNameOfTheSameMachineIsRefused() throws {
    // localhost and 127.0.0.1 reach the same socket, but are different origins: the name decides
    let box = PortBox()
    let server = try LocalChatServer { i, _ in
      i == 0
        ? .init(status: 307, body: "", headers: ["Location": "http://localhost:\(box.port)/v1/chat/completions"])
        : .init(status: 200, body: Self.ok)
    }
    defer { server.stop() }
    box.port = server.port
    let client = try ChatClient(baseURL: server.baseURL, model: "m", apiKey: "sekret-key", timeout: 5, retries: 0)
    XCTAssertThrowsError(try chat(client)) {
      guard case let ChatError.redirectRefused(_, status, location) = $0 else { return XCTFail("\($0)") }
      XCTAssertEqual(status, 307)
      XCTAssertEqual(location, "http://localhost:\(server.port)/v1/chat/completions")
    }
    XCTAssertEqual(server.requests.count, 1)
  }

  func testSameOriginTemporaryRedirectKeepsBodyAndKey() throws {
    let server = try LocalChatServer { _, r in
      r.path == "/v1/chat/completions"
        ? .init(status: 307, body: "", headers: ["Location": "/v2/chat/completions"])
        : .init(status: 200, body: Self.ok)
    }
    defer { server.stop() }
    let client = try ChatClient(baseURL: server.baseURL, model: "m", apiKey: "sekret-key", timeout: 5, retries: 0)
    XCTAssertEqual(try chat(client), "Yes")
    let reqs = server.requests
    XCTAssertEqual(reqs.map(\.path), ["/v1/chat/completions", "/v2/chat/completions"])
    XCTAssertEqual(reqs[1].headers["authorization"], "Bearer sekret-key")
    XCTAssertEqual(reqs[1].body, reqs[0].body)
    // a same-origin 302 would turn the POST into a GET: refused as well
    let found = try LocalChatServer { _, _ in
      .init(status: 302, body: "", headers: ["Location": "/v2/chat/completions"])
    }
    defer { found.stop() }
    let c2 = try ChatClient(baseURL: found.baseURL, model: "m", apiKey: nil, timeout: 5, retries: 0)
    XCTAssertThrowsError(try chat(c2)) {
      guard case ChatError.redirectRefused(_, 302, _) = $0 else { return XCTFail("\($0)") }
    }
    // and a same-origin loop ends after maxRedirects hops
    let loop = try LocalChatServer { _, _ in .init(status: 308, body: "", headers: ["Location": "/v1/chat/completions"])
    }
    defer { loop.stop() }
    let c3 = try ChatClient(baseURL: loop.baseURL, model: "m", apiKey: nil, timeout: 5, retries: 0)
    XCTAssertThrowsError(try chat(c3)) {
      guard case ChatError.redirectRefused(_, 308, _) = $0 else { return XCTFail("\($0)") }
    }
    XCTAssertEqual(loop.requests.count, ChatClient.maxRedirects + 1)
  }

  func testUserinfoIsSentAsBasicAuthAndWrittenNowhere() throws {
    let server = try LocalChatServer(handler: JudgeTests.deterministic)
    defer { server.stop() }
    let url = "http://alice:pa55word@127.0.0.1:\(server.port)/v1"
    let client = try ChatClient(baseURL: url, model: "m", apiKey: nil, timeout: 5, retries: 0)
    XCTAssertEqual(client.endpoint.absoluteString, server.baseURL + "/v1/chat/completions")
    var report = JudgeRunTests.report(features: 2)
    try FeatureReportBuilder.judge(&report, with: FeatureJudge(client: client))
    XCTAssertEqual(report.summary.judged, 2)
    XCTAssertEqual(
      server.requests.first?.headers["authorization"], "Basic " + Data("alice:pa55word".utf8).base64EncodedString())
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bae-judge-sec-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: dir) }
    try report.write(to: dir)
    for name in ["report.json", "report.md"] {
      let text = try String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8)
      XCTAssertTrue(text.contains("127.0.0.1:\(server.port)"), name)
      XCTAssertFalse(text.contains("pa55word") || text.contains("alice"), "\(name) holds the credentials")
    }
    // an error names the URL without them too, and an unusable URL is echoed without them
    server.stop()
    XCTAssertThrowsError(try chat(client)) { XCTAssertFalse("\($0)".contains("pa55word"), "\($0)") }
    XCTAssertThrowsError(try ChatClient(baseURL: "ftp://alice:pa55word@example.invalid/v1", model: "m", apiKey: nil)) {
      XCTAssertEqual($0 as? ChatError, .badURL("ftp://example.invalid/v1"))
    }
    XCTAssertEqual(ChatClient.redactedString("alice:pa55word@host:1/x@y"), "host:1/x@y")
  }

  func testAServerEchoingTheKeyDoesNotPutItIntoTheError() throws {
    let server = try LocalChatServer { _, r in .init(status: 401, body: "bad token \(r.headers["authorization"] ?? "")")
    }
    defer { server.stop() }
    let client = try ChatClient(baseURL: server.baseURL, model: "m", apiKey: "sk-live-123456", timeout: 5, retries: 0)
    XCTAssertThrowsError(try chat(client)) {
      XCTAssertEqual(
        $0 as? ChatError,
        .http(
          url: client.endpoint.absoluteString, status: 401,
          body: "bad token Bearer [redacted]", attempts: 1))
      XCTAssertFalse("\($0)".contains("sk-live"))
    }
  }

  func testBackoffIsCapped() throws {
    // four 500s, then an answer: the doubling back-off stops at the cap
    let server = try LocalChatServer { i, _ in
      i < 4 ? .init(status: 500, body: "busy") : .init(status: 200, body: Self.ok)
    }
    defer { server.stop() }
    let client = try ChatClient(
      baseURL: server.baseURL, model: "m", apiKey: nil, timeout: 5, retries: 4,
      backoff: 0.01, maxBackoff: 0.025)
    XCTAssertEqual(try chat(client), "Yes")
    XCTAssertEqual(client.backoffsSlept, [0.01, 0.02, 0.025, 0.025])
    // a Retry-After of 100 s is capped as well
    let limited = try LocalChatServer { i, _ in
      i == 0
        ? .init(status: 429, body: "slow down", headers: ["Retry-After": "100"]) : .init(status: 200, body: Self.ok)
    }
    defer { limited.stop() }
    let c2 = try ChatClient(
      baseURL: limited.baseURL, model: "m", apiKey: nil, timeout: 5, retries: 1, backoff: 0.01, maxBackoff: 0.05)
    XCTAssertEqual(try chat(c2), "Yes")
    XCTAssertEqual(c2.backoffsSlept, [0.05])
    // far retries neither overflow nor exceed the cap
    XCTAssertEqual(ChatClient.backoffDelay(attempt: 2000, base: 1, cap: 30), 30)
    XCTAssertEqual(ChatClient.backoffDelay(attempt: 1, base: 1, cap: 30), 1)
    XCTAssertEqual(ChatClient.backoffDelay(attempt: 3, base: 1, cap: 30, retryAfter: 7), 7)
  }
}

/// The server's own port, for a handler that must name it (known only once the server listens).
final class PortBox: @unchecked Sendable {
  private let lock = NSLock()
  private var value = 0
  var port: Int {
    get {
      lock.lock()
      defer { lock.unlock() }
      return value
    }
    set {
      lock.lock()
      value = newValue
      lock.unlock()
    }
  }
}
