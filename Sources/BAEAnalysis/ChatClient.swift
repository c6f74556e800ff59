// A small synchronous client for OpenAI-compatible `/v1/chat/completions` endpoints: one request at a
// time, a per-request timeout, and retries with exponential back-off on transport errors, HTTP 429 and
// 5xx. Built on URLSession (FoundationNetworking on Linux), driven synchronously from the caller's thread.
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// One chat message.
public struct ChatMessage: Codable, Sendable, Equatable {
  public var role: String
  public var content: String
  public init(role: String, content: String) { self.role = role; self.content = content }
}

/// Why a chat call failed after all attempts.
public enum ChatError: Error, CustomStringConvertible, Equatable {
  /// The endpoint answered with an HTTP error that is not worth retrying (4xx other than 429), or the
  /// last retry still failed.
  case http(url: String, status: Int, body: String, attempts: Int)
  /// No answer: connection refused, DNS, timeout, … (after all attempts).
  case transport(url: String, message: String, attempts: Int)
  /// A 200 answer that is not a chat completion.
  case badResponse(url: String, detail: String)
  /// The URL cannot be used.
  case badURL(String)

  public var description: String {
    switch self {
    case let .http(url, status, body, attempts):
      let hint = status == 401 || status == 403 ? "check BAE_JUDGE_API_KEY"
        : status == 404 ? "the URL should be the server root or end in /v1 (the client adds /chat/completions)"
        : "check the server and --judge-model"
      return "judge \(url): HTTP \(status) after \(attempts) attempt(s): \(body.prefix(300)); \(hint)"
    case let .transport(url, message, attempts):
      return "judge \(url): no answer after \(attempts) attempt(s) (\(message)); is the server running? raise --judge-timeout or --judge-retries"
    case let .badResponse(url, detail):
      return "judge \(url): answer is not an OpenAI chat completion (\(detail)); the endpoint must implement /v1/chat/completions"
    case let .badURL(s):
      return "--judge-url \(s) is not an http(s) URL; pass e.g. http://127.0.0.1:8000/v1"
    }
  }
}

/// A synchronous OpenAI-compatible chat client.
public final class ChatClient: @unchecked Sendable {
  /// The full endpoint, `…/v1/chat/completions`.
  public let endpoint: URL
  public let model: String
  /// Seconds per attempt.
  public let timeout: Double
  /// Extra attempts after the first.
  public let retries: Int
  /// First back-off in seconds (doubled on each retry).
  public let backoff: Double
  /// Sampling temperature sent with every request (0: deterministic where the server allows).
  public let temperature: Double
  /// Token budget per answer.
  public let maxTokens: Int
  private let apiKey: String?
  private let session: URLSession
  /// Attempts made so far (all calls), for reports and tests.
  public private(set) var attemptsMade = 0

  /// `baseURL` is the server root (`http://host:port`), its `/v1`, or the full `/v1/chat/completions`.
  public init(baseURL: String, model: String, apiKey: String?, timeout: Double = 60, retries: Int = 3,
              backoff: Double = 1, temperature: Double = 0, maxTokens: Int = 48) throws {
    guard var url = URL(string: baseURL), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
          url.host != nil else { throw ChatError.badURL(baseURL) }
    let path = url.path.hasSuffix("/") ? String(url.path.dropLast()) : url.path
    if !path.hasSuffix("/chat/completions") {
      if !path.hasSuffix("/v1") { url.appendPathComponent("v1") }
      url.appendPathComponent("chat"); url.appendPathComponent("completions")
    }
    precondition(timeout > 0 && retries >= 0 && backoff >= 0, "timeout \(timeout), retries \(retries), backoff \(backoff)")
    endpoint = url
    self.model = model
    self.apiKey = apiKey.flatMap { $0.isEmpty ? nil : $0 }
    self.timeout = timeout
    self.retries = retries
    self.backoff = backoff
    self.temperature = temperature
    self.maxTokens = maxTokens
    // The deadline is enforced in `send`: swift-corelibs-foundation truncates these intervals to whole
    // seconds (0.5 s would become an immediate timeout), so the session only gets a looser backstop.
    let cfg = URLSessionConfiguration.ephemeral
    cfg.timeoutIntervalForRequest = timeout.rounded(.up) + 1
    cfg.timeoutIntervalForResource = timeout.rounded(.up) + 1
    cfg.requestCachePolicy = .reloadIgnoringLocalCacheData
    session = URLSession(configuration: cfg)
  }

  deinit { session.invalidateAndCancel() }

  private struct Request: Encodable {
    var model: String
    var messages: [ChatMessage]
    var temperature: Double
    var max_tokens: Int
  }

  /// Sends `messages` and returns the first choice's content (trimmed).
  public func complete(_ messages: [ChatMessage]) throws -> String {
    var req = URLRequest(url: endpoint, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: timeout.rounded(.up) + 1)
    req.httpMethod = "POST"
    req.setValue("application/json", forHTTPHeaderField: "Content-Type")
    if let k = apiKey { req.setValue("Bearer \(k)", forHTTPHeaderField: "Authorization") }
    req.httpBody = try JSONEncoder().encode(Request(model: model, messages: messages, temperature: temperature,
                                                    max_tokens: maxTokens))
    var attempt = 0
    while true {
      attempt += 1
      attemptsMade += 1
      let result = send(req)
      let retryable: Bool
      let failure: ChatError
      switch result {
      case let .success((status, body)) where status == 200:
        return try Self.content(of: body, url: endpoint.absoluteString)
      case let .success((status, body)):
        retryable = status == 429 || status >= 500
        failure = .http(url: endpoint.absoluteString, status: status,
                        body: String(decoding: body.prefix(2000), as: UTF8.self), attempts: attempt)
      case let .failure(message):
        retryable = true
        failure = .transport(url: endpoint.absoluteString, message: message, attempts: attempt)
      }
      guard retryable, attempt <= retries else { throw failure }
      Thread.sleep(forTimeInterval: backoff * pow(2, Double(attempt - 1)))
    }
  }

  private enum Outcome { case success((Int, Data)), failure(String) }

  private final class Box: @unchecked Sendable { var outcome: Outcome = .failure("no answer") }

  /// One HTTP attempt, waited for on this thread until `timeout` seconds have passed, then cancelled.
  private func send(_ req: URLRequest) -> Outcome {
    let box = Box()
    let done = DispatchSemaphore(value: 0)
    let task = session.dataTask(with: req) { data, response, error in
      if let error {
        box.outcome = .failure(error.localizedDescription)
      } else if let http = response as? HTTPURLResponse {
        box.outcome = .success((http.statusCode, data ?? Data()))
      } else {
        box.outcome = .failure("not an HTTP response")
      }
      done.signal()
    }
    task.resume()
    if done.wait(timeout: .now() + timeout) == .timedOut {
      task.cancel()
      return .failure("timed out after \(timeout) s")
    }
    return box.outcome
  }

  /// choices[0].message.content of a chat completion.
  static func content(of body: Data, url: String) throws -> String {
    guard let obj = try? JSONSerialization.jsonObject(with: body) as? [String: Any] else {
      throw ChatError.badResponse(url: url, detail: "body is not a JSON object: \(String(decoding: body.prefix(200), as: UTF8.self))")
    }
    guard let choices = obj["choices"] as? [[String: Any]], let first = choices.first,
          let message = first["message"] as? [String: Any], let content = message["content"] as? String else {
      throw ChatError.badResponse(url: url, detail: "no choices[0].message.content")
    }
    return content.trimmingCharacters(in: .whitespacesAndNewlines)
  }
}
