// The token sidecar: which token each activation row came from, so features can be read back as
// text. One TSV line per row, in row order, with a header line; text is escaped so it stays on one line.
import BAEIO
import Foundation

/// The token behind one activation row.
public struct TokenRecord: Equatable, Sendable {
  public var tokenId: Int
  public var documentId: Int
  /// Position of the token in its document (0-based).
  public var position: Int
  /// The decoded text of the token.
  public var text: String

  public init(tokenId: Int, documentId: Int, position: Int, text: String) {
    self.tokenId = tokenId
    self.documentId = documentId
    self.position = position
    self.text = text
  }
}

/// Reads and writes token TSVs (`token_id<TAB>document_id<TAB>position<TAB>text`; in `text`,
/// backslash, tab, newline and carriage return are written as `\\`, `\t`, `\n`, `\r`).
public enum TokenTable {
  public static let columns = ["token_id", "document_id", "position", "text"]

  static func escape(_ s: String) -> String {
    var o = ""
    o.reserveCapacity(s.utf8.count)
    for c in s.unicodeScalars {
      switch c {
      case "\\": o += "\\\\"
      case "\t": o += "\\t"
      case "\n": o += "\\n"
      case "\r": o += "\\r"
      default: o.unicodeScalars.append(c)
      }
    }
    return o
  }

  /// Undoes the TSV text escaping (\\, \t, \n, \r); any other escape is a typed error naming the line.
  public static func unescape(_ s: Substring, file: String, line: Int) throws -> String {
    guard s.contains("\\") else { return String(s) }
    var o = ""
    var it = s.unicodeScalars.makeIterator()
    while let c = it.next() {
      guard c == "\\" else { o.unicodeScalars.append(c); continue }
      switch it.next() {
      case "\\": o += "\\"
      case "t": o += "\t"
      case "n": o += "\n"
      case "r": o += "\r"
      case let x: throw StoreError.badTokens(file: file, line: line, detail: "unknown escape \\\(x.map(String.init) ?? "<end>") in text")
      }
    }
    return o
  }

  /// Reads a tokens TSV. Columns are found by their header names, in any order; extra columns are ignored.
  public static func read(_ url: URL) throws -> [TokenRecord] {
    let file = url.path
    let data: Data
    do { data = try Data(contentsOf: url) } catch {
      throw StoreError.io(file: file, operation: "read", reason: error.localizedDescription)
    }
    guard let text = String(data: data, encoding: .utf8) else {
      throw StoreError.badTokens(file: file, line: 1, detail: "the file is not UTF-8")
    }
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    if lines.last == "" { lines.removeLast() }
    guard let head = lines.first else { throw StoreError.badTokens(file: file, line: 1, detail: "the file is empty") }
    let names = head.split(separator: "\t", omittingEmptySubsequences: false).map { String($0).trimmingCharacters(in: .whitespacesAndNewlines) }
    var col: [Int] = []
    for c in columns {
      guard let i = names.firstIndex(of: c) else {
        throw StoreError.badTokens(file: file, line: 1, detail: "header lacks column \(c) (found \(names.joined(separator: ",")))")
      }
      col.append(i)
    }
    var out: [TokenRecord] = []
    out.reserveCapacity(lines.count - 1)
    for (n, line) in lines.dropFirst().enumerated() {
      let lineNo = n + 2
      let f = line.split(separator: "\t", omittingEmptySubsequences: false)
      guard f.count == names.count else {
        throw StoreError.badTokens(file: file, line: lineNo, detail: "\(f.count) fields, the header has \(names.count)")
      }
      func int(_ k: Int) throws -> Int {
        guard let v = Int(f[col[k]]) else {
          throw StoreError.badTokens(file: file, line: lineNo, detail: "\(columns[k]) \"\(f[col[k]])\" is not an integer")
        }
        return v
      }
      var t = f[col[3]]
      if t.hasSuffix("\r") { t = t.dropLast() }
      out.append(TokenRecord(tokenId: try int(0), documentId: try int(1), position: try int(2),
                             text: try unescape(t, file: file, line: lineNo)))
    }
    return out
  }

  /// The TSV bytes of `records` (header line first).
  public static func encode(_ records: some Collection<TokenRecord>) -> Data {
    var s = columns.joined(separator: "\t") + "\n"
    for r in records { s += "\(r.tokenId)\t\(r.documentId)\t\(r.position)\t\(escape(r.text))\n" }
    return Data(s.utf8)
  }

  /// Writes `records` atomically to `url`.
  public static func write(_ records: some Collection<TokenRecord>, to url: URL) throws {
    do { try AtomicFile.write(encode(records), to: url) } catch {
      throw StoreError.io(file: url.path, operation: "write", reason: "\(error)")
    }
  }
}
