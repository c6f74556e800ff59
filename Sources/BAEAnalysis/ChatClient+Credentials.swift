// What keeps the judge's credentials where they belong: URLs are shown without `user:pass@`, the key and
// the Basic credentials are scrubbed from any text that echoes them, and a redirect is followed only
// when it stays on the configured scheme, host and port.
import Foundation

extension ChatClient {
  /// `url` without its user and password (what reports, logs and errors show).
  public static func redacted(_ url: URL) -> URL {
    guard var c = URLComponents(url: url, resolvingAgainstBaseURL: false), c.user != nil || c.password != nil else {
      return url
    }
    c.user = nil
    c.password = nil
    return c.url ?? url
  }

  /// A URL-ish string with anything between `scheme://` and the authority's last `@` removed, for input
  /// that may not even parse as a URL (the `badURL` message echoes it).
  public static func redactedString(_ s: String) -> String {
    guard let schemeEnd = s.range(of: "://") else {
      // no scheme: a bare "user:pass@host" still must not be echoed
      guard let at = s.prefix(while: { $0 != "/" && $0 != "?" && $0 != "#" }).lastIndex(of: "@") else { return s }
      return String(s[s.index(after: at)...])
    }
    let rest = s[schemeEnd.upperBound...]
    let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
    guard let at = rest[..<authorityEnd].lastIndex(of: "@") else { return s }
    return String(s[..<schemeEnd.upperBound]) + String(rest[rest.index(after: at)...])
  }

  /// The origin a request may be sent to with credentials: scheme, host (lower-cased) and port (the
  /// scheme's default when absent). `127.0.0.1` and `localhost` are different origins on purpose: the
  /// check compares what the URL says, not what it resolves to.
  struct Origin: Equatable {
    var scheme: String
    var host: String
    var port: Int

    init?(_ url: URL) {
      guard let scheme = url.scheme?.lowercased(), let host = url.host?.lowercased() else { return nil }
      self.scheme = scheme
      self.host = host
      port = url.port ?? (scheme == "https" ? 443 : 80)
    }
  }

  /// Replaces every occurrence of a secret in `text` (a server may echo the request's headers).
  static func scrub(_ text: String, secrets: [String]) -> String {
    secrets.filter { $0.count >= 4 }.reduce(text) { $0.replacingOccurrences(of: $1, with: "[redacted]") }
  }
}
