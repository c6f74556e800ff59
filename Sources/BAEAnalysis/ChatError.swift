// The judge client's typed failures, each with what to do about it.
import Foundation

/// Why a chat call failed after all attempts. URLs in it never carry `user:pass@`, bodies never the key.
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
  /// A redirect that was not followed: to another scheme, host or port (the credentials would go
  /// there), one that turns the POST into a GET (301/302/303), or more than `maxRedirects` in a row.
  case redirectRefused(url: String, status: Int, location: String)

  /// What failed, at which URL, and what to do; credentials are never part of it.
  public var description: String {
    switch self {
    case let .http(url, status, body, attempts):
      let hint =
        status == 401 || status == 403
        ? "check BAE_JUDGE_API_KEY"
        : status == 404
          ? "the URL should be the server root or end in /v1 (the client adds /chat/completions)"
          : "check the server and --judge-model"
      return "judge \(url): HTTP \(status) after \(attempts) attempt(s): \(body.prefix(300)); \(hint)"
    case let .transport(url, message, attempts):
      return
        "judge \(url): no answer after \(attempts) attempt(s) (\(message)); is the server running? raise --judge-timeout or --judge-retries"
    case let .badResponse(url, detail):
      return
        "judge \(url): answer is not an OpenAI chat completion (\(detail)); the endpoint must implement /v1/chat/completions"
    case let .badURL(s):
      return "--judge-url \(s) is not an http(s) URL; pass e.g. http://127.0.0.1:8000/v1"
    case let .redirectRefused(url, status, location):
      return
        "judge \(url): HTTP \(status) redirect to \(location) not followed (only 307/308 to the same scheme, host and port are, so credentials stay on the configured host); pass the final URL as --judge-url"
    }
  }
}
