// The token sidecar: which token each activation row came from, so features can be read back as
// text. One TSV line per row, in row order, with a header line; text is escaped so it stays on one line.
import BAEIO
import Foundation

/// The token behind one activation row.
public struct TokenRecord: Equatable, Sendable {
  /// The model's vocabulary id of the token.
  public var tokenId: Int
  /// The document (sequence) the token came from; ids are the extraction's, starting at 0.
  public var documentId: Int
  /// Position of the token in its document (0-based).
  public var position: Int
  /// The decoded text of the token.
  public var text: String

  /// One token line's fields.
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
  /// The tokens TSV header, in column order.
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
      guard c == "\\" else {
        o.unicodeScalars.append(c)
        continue
      }
      switch it.next() {
      case "\\": o += "\\"
      case "t": o += "\t"
      case "n": o += "\n"
      case "r": o += "\r"
      case let x:
        throw StoreError.badTokens(
          file: file, line: line, detail: "unknown escape \\\(x.map(String.init) ?? "<end>") in text")
      }
    }
    return o
  }

  /// Reads a tokens TSV whole (see `forEachRecord` for the rules).
  public static func read(_ url: URL) throws -> [TokenRecord] {
    var out: [TokenRecord] = []
    try forEachRecord(url) { out.append($0) }
    return out
  }

  /// Streams the records of a tokens TSV in order, holding one line at a time: the project's one
  /// token-file parser (pack, features and entropy-position all read through it).
  ///
  /// Columns are found by their header names, in any order; extra columns are ignored. Lines end
  /// with LF; one CR right before the LF is dropped, so a CRLF file (Windows) reads exactly like
  /// its LF twin (a CR inside text is written escaped, `\r`, so a raw one can only be a line end).
  /// A line longer than `maxLineBytes` (default `Limits.tokenLineBytes()`) is refused, and so is
  /// a FIFO or device: neither can make the reader buffer without end.
  public static func forEachRecord(_ url: URL, maxLineBytes: Int? = nil, _ body: (TokenRecord) throws -> Void) throws {
    let cap = try maxLineBytes ?? StoreError.mapping { try Limits.tokenLineBytes() }
    let file = try StoreError.mapping { try ReadableFile(url) }
    var parser = LineParser(file: file.path)
    var pending: [UInt8] = []
    var lineNo = 0
    func line(_ bytes: UnsafeRawBufferPointer) throws {
      lineNo += 1
      guard bytes.count <= cap else {
        throw StoreError.limitExceeded(
          file: file.path, field: "line \(lineNo) length", found: bytes.count, limit: cap,
          variable: "BAE_MAX_TOKEN_LINE_BYTES")
      }
      var n = bytes.count
      if n > 0, bytes[n - 1] == 0x0D { n -= 1 }
      if let record = try parser.parse(UnsafeRawBufferPointer(rebasing: bytes[0..<n]), line: lineNo) {
        try body(record)
      }
    }
    try StoreError.mapping {
      try file.forEachChunk(chunkBytes: 1 << 20) { chunk in
        var start = 0
        while let nl = chunk[start...].firstIndex(of: 0x0A) {
          if pending.isEmpty {
            try line(UnsafeRawBufferPointer(rebasing: chunk[start..<nl]))
          } else {
            pending += chunk[start..<nl]
            try pending.withUnsafeBytes { try line($0) }
            pending.removeAll(keepingCapacity: true)
          }
          start = nl + 1
        }
        pending += chunk[start...]
        guard pending.count <= cap else {
          throw StoreError.limitExceeded(
            file: file.path, field: "line \(lineNo + 1) length", found: pending.count, limit: cap,
            variable: "BAE_MAX_TOKEN_LINE_BYTES")
        }
      }
    }
    if !pending.isEmpty { try pending.withUnsafeBytes { try line($0) } }
    guard parser.columns != nil else {
      throw StoreError.badTokens(file: file.path, line: 1, detail: "the file is empty")
    }
  }

  /// Turns lines (without their line end) into records; the first line is the header.
  private struct LineParser {
    let file: String
    var columns: [Int]?
    var fieldCount = 0

    mutating func parse(_ bytes: UnsafeRawBufferPointer, line: Int) throws -> TokenRecord? {
      guard let text = String(validating: bytes, as: UTF8.self) else {
        throw StoreError.badTokens(file: file, line: line, detail: "not UTF-8")
      }
      let f = text.split(separator: "\t", omittingEmptySubsequences: false)
      guard let col = columns else {
        let names = f.map { $0.trimmingCharacters(in: .whitespaces) }
        var found: [Int] = []
        for c in TokenTable.columns {
          guard let i = names.firstIndex(of: c) else {
            throw StoreError.badTokens(
              file: file, line: line, detail: "header lacks column \(c) (found \(names.joined(separator: ",")))")
          }
          found.append(i)
        }
        columns = found
        fieldCount = names.count
        return nil
      }
      guard f.count == fieldCount else {
        throw StoreError.badTokens(file: file, line: line, detail: "\(f.count) fields, the header has \(fieldCount)")
      }
      func int(_ k: Int) throws -> Int {
        guard let v = Int(f[col[k]]) else {
          throw StoreError.badTokens(
            file: file, line: line, detail: "\(TokenTable.columns[k]) \"\(f[col[k]])\" is not an integer")
        }
        return v
      }
      return TokenRecord(
        tokenId: try int(0), documentId: try int(1), position: try int(2),
        text: try TokenTable.unescape(f[col[3]], file: file, line: line))
    }
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
