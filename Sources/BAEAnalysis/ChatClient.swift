// A small synchronous client for OpenAI-compatible `/v1/chat/completions` endpoints: a per-request
// timeout, retries with capped exponential back-off on transport errors, HTTP 429 and 5xx, an optional
// answer cache, and credentials that never leave the configured host (ChatClient+Credentials). Built on
// URLSession (FoundationNetworking on Linux), driven synchronously from the caller's thread; one client
// may be used from several threads at once.
import Foundation

#if canImport(FoundationNetworking)
  import FoundationNetworking
#endif

/// One chat message.
public struct ChatMessage: Codable, Sendable, Equatable {
  /// "system", "user" or "assistant", as the chat API names the speaker.
  public var role: String
  /// The message text.
  public var content: String
  /// A message `content` spoken by `role`.
  public init(role: String, content: String) {
    self.role = role
    self.content = content
  }
}

/// A synchronous OpenAI-compatible chat client.
public final class ChatClient: @unchecked Sendable {
  /// The full endpoint, `…/v1/chat/completions`, without `user:pass@` (safe to show and to write).
  public let endpoint: URL
  /// The model name sent in every request (the server may serve several).
  public let model: String
  /// Seconds per attempt.
  public let timeout: Double
  /// Extra attempts after the first.
  public let retries: Int
  /// First back-off in seconds (doubled on each retry).
  public let backoff: Double
  /// Longest back-off in seconds, also for a server's `Retry-After`.
  public let maxBackoff: Double
  /// Sampling temperature sent with every request (0: deterministic where the server allows).
  public let temperature: Double
  /// Token budget per answer (a call may ask for less).
  public let maxTokens: Int
  /// Answers already paid for; consulted before and filled after every request (nil: no cache).
  public let cache: JudgeCache?
  /// Same-origin 307/308 redirects followed per request.
  public static let maxRedirects = 5
  /// The Authorization header value: Bearer BAE_JUDGE_API_KEY, else Basic from the URL's `user:pass@`.
  private let authorization: String?
  /// Strings that must never appear in an error (a server may echo request headers).
  private let secrets: [String]
  private let session: URLSession
  private let counters = Counters()

  /// Requests sent so far (all calls, all threads), for reports and tests.
  public var attemptsMade: Int { counters.read { $0.attempts } }
  /// Answers taken from `cache` instead of the server.
  public var cacheHits: Int { counters.read { $0.hits } }
  /// Every back-off slept, in seconds, in order.
  public var backoffsSlept: [Double] { counters.read { $0.slept } }

  /// `baseURL` is the server root (`http://host:port`), its `/v1`, or the full `/v1/chat/completions`.
  /// `user:pass@` in it becomes a Basic Authorization header (unless `apiKey` is set) and is dropped from
  /// the URL itself.
  public init(
    baseURL: String, model: String, apiKey: String?, timeout: Double = 60, retries: Int = 3,
    backoff: Double = 1, maxBackoff: Double = 30, temperature: Double = 0, maxTokens: Int = 48,
    cache: JudgeCache? = nil
  ) throws {
    guard var c = URLComponents(string: baseURL), let scheme = c.scheme?.lowercased(),
      scheme == "http" || scheme == "https",
      let host = c.host, !host.isEmpty
    else { throw ChatError.badURL(Self.redactedString(baseURL)) }
    let user = c.user, password = c.password
    c.user = nil
    c.password = nil
    guard var url = c.url else { throw ChatError.badURL(Self.redactedString(baseURL)) }
    let path = url.path.hasSuffix("/") ? String(url.path.dropLast()) : url.path
    if !path.hasSuffix("/chat/completions") {
      if !path.hasSuffix("/v1") { url.appendPathComponent("v1") }
      url.appendPathComponent("chat")
      url.appendPathComponent("completions")
    }
    precondition(
      timeout > 0 && retries >= 0 && backoff >= 0 && maxBackoff >= 0,
      "timeout \(timeout), retries \(retries), backoff \(backoff), maxBackoff \(maxBackoff)")
    endpoint = url
    self.model = model
    let key = apiKey.flatMap { $0.isEmpty ? nil : $0 }
    var secrets = [key].compactMap { $0 }
    if let key {
      authorization = "Bearer \(key)"
    } else if let user {
      let pair = "\(user):\(password ?? "")"
      let token = Data(pair.utf8).base64EncodedString()
      authorization = "Basic \(token)"
      secrets += [pair, token] + [password].compactMap { $0 }
    } else {
      authorization = nil
    }
    self.secrets = secrets
    self.timeout = timeout
    self.retries = retries
    self.backoff = backoff
    self.maxBackoff = maxBackoff
    self.temperature = temperature
    self.maxTokens = maxTokens
    self.cache = cache
    // The deadline is enforced in `perform`: swift-corelibs-foundation truncates these intervals to whole
    // seconds (0.5 s would become an immediate timeout), so the session only gets a looser backstop.
    let cfg = URLSessionConfiguration.ephemeral
    cfg.timeoutIntervalForRequest = timeout.rounded(.up) + 1
    cfg.timeoutIntervalForResource = timeout.rounded(.up) + 1
    cfg.requestCachePolicy = .reloadIgnoringLocalCacheData
    cfg.httpShouldSetCookies = false
    session = URLSession(configuration: cfg)
  }

  deinit { session.invalidateAndCancel() }

  struct Request: Encodable {
    var model: String
    var messages: [ChatMessage]
    var temperature: Double
    // The chat API's JSON key, encoded as named.
    // swift-format-ignore: AlwaysUseLowerCamelCase
    var max_tokens: Int
  }

  /// The request body for `messages`: sorted keys, so equal prompts give equal bytes (the cache key).
  func body(_ messages: [ChatMessage], maxTokens budget: Int) throws -> Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    return try encoder.encode(Request(model: model, messages: messages, temperature: temperature, max_tokens: budget))
  }

  /// Sends `messages` and returns the first choice's content (trimmed), from the cache when it has it.
  /// `maxTokens` lowers the answer budget for this call (never above the client's).
  public func complete(_ messages: [ChatMessage], maxTokens budget: Int? = nil) throws -> String {
    let payload = try body(messages, maxTokens: min(budget ?? maxTokens, maxTokens))
    let key = JudgeCache.key(payload)
    if let hit = cache?.answer(for: key, model: model) {
      counters.update { $0.hits += 1 }
      return hit
    }
    let text = try send(payload)
    try cache?.store(key: key, model: model, answer: text)
    return text
  }

  /// The back-off before retry number `attempt` (1 = the first retry): base·2^(attempt−1), or the
  /// server's Retry-After when longer, never more than `cap`.
  public static func backoffDelay(attempt: Int, base: Double, cap: Double, retryAfter: Double? = nil) -> Double {
    let doubled = base * pow(2, Double(min(max(attempt - 1, 0), 60)))
    return min(cap, max(doubled, retryAfter ?? 0))
  }

  private func send(_ payload: Data) throws -> String {
    var url = endpoint
    var attempt = 0, hops = 0
    while true {
      attempt += 1
      counters.update { $0.attempts += 1 }
      let shown = url.absoluteString
      let retryable: Bool
      let failure: ChatError
      var retryAfter: Double?
      switch perform(url: url, payload: payload) {
      case let .answer(status, body, _) where status == 200:
        do { return try Self.content(of: body, url: shown) } catch let ChatError.badResponse(u, detail) {
          throw ChatError.badResponse(url: u, detail: Self.scrub(detail, secrets: secrets))
        }
      case let .answer(status, _, headers) where (300..<400).contains(status):
        let location = headers["location"]
        let next = location.flatMap { URL(string: $0, relativeTo: url)?.absoluteURL }.map(Self.redacted)
        guard let next, status == 307 || status == 308, Origin(next) == Origin(endpoint), hops < Self.maxRedirects
        else {
          throw ChatError.redirectRefused(
            url: shown, status: status, location: Self.redactedString(location ?? "(no Location)"))
        }
        // a same-origin hop is not a retry: follow it with the same body and credentials
        hops += 1
        attempt -= 1
        url = next
        continue
      case let .answer(status, body, headers):
        retryable = status == 429 || status >= 500
        retryAfter = headers["retry-after"].flatMap { Double($0.trimmingCharacters(in: .whitespaces)) }
        failure = .http(
          url: shown, status: status,
          body: Self.scrub(String(decoding: body.prefix(2000), as: UTF8.self), secrets: secrets), attempts: attempt)
      case let .failure(message):
        retryable = true
        failure = .transport(url: shown, message: Self.scrub(message, secrets: secrets), attempts: attempt)
      }
      guard retryable, attempt <= retries else { throw failure }
      let delay = Self.backoffDelay(attempt: attempt, base: backoff, cap: maxBackoff, retryAfter: retryAfter)
      counters.update { $0.slept.append(delay) }
      Thread.sleep(forTimeInterval: delay)
    }
  }

  private enum Outcome {
    case answer(Int, Data, [String: String])
    case failure(String)
  }

  private final class Box: @unchecked Sendable { var outcome: Outcome = .failure("no answer") }

  /// One HTTP attempt, waited for on this thread until `timeout` seconds have passed, then cancelled.
  /// URLSession never follows a redirect itself (it would copy the Authorization header to any host).
  private func perform(url: URL, payload: Data) -> Outcome {
    var req = URLRequest(
      url: url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: timeout.rounded(.up) + 1)
    req.httpMethod = "POST"
    req.setValue("application/json", forHTTPHeaderField: "Content-Type")
    if let authorization { req.setValue(authorization, forHTTPHeaderField: "Authorization") }
    req.httpBody = payload
    let box = Box()
    let done = DispatchSemaphore(value: 0)
    let task = session.dataTask(with: req) { data, response, error in
      if let error {
        box.outcome = .failure(error.localizedDescription)
      } else if let http = response as? HTTPURLResponse {
        var headers: [String: String] = [:]
        for (k, v) in http.allHeaderFields { headers["\(k)".lowercased()] = "\(v)" }
        box.outcome = .answer(http.statusCode, data ?? Data(), headers)
      } else {
        box.outcome = .failure("not an HTTP response")
      }
      done.signal()
    }
    task.delegate = RedirectRefuser.shared
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
      throw ChatError.badResponse(
        url: url, detail: "body is not a JSON object: \(String(decoding: body.prefix(200), as: UTF8.self))")
    }
    guard let choices = obj["choices"] as? [[String: Any]], let first = choices.first,
      let message = first["message"] as? [String: Any], let content = message["content"] as? String
    else {
      throw ChatError.badResponse(url: url, detail: "no choices[0].message.content")
    }
    return content.trimmingCharacters(in: .whitespacesAndNewlines)
  }
}

/// Hands every redirect back to `ChatClient.send` as the 3xx answer it is.
private final class RedirectRefuser: NSObject, URLSessionTaskDelegate, @unchecked Sendable {
  static let shared = RedirectRefuser()

  func urlSession(
    _ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
    newRequest request: URLRequest, completionHandler: @escaping @Sendable (URLRequest?) -> Void
  ) {
    completionHandler(nil)
  }
}

/// Counters shared by the threads using one client.
private final class Counters: @unchecked Sendable {
  struct Values { var attempts = 0, hits = 0, slept: [Double] = [] }
  private let lock = NSLock()
  private var values = Values()
  func update(_ f: (inout Values) -> Void) {
    lock.lock()
    f(&values)
    lock.unlock()
  }
  func read<T>(_ f: (Values) -> T) -> T {
    lock.lock()
    defer { lock.unlock() }
    return f(values)
  }
}
