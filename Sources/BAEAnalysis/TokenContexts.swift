// Contexts of selected rows, read back from token TSVs in one streaming pass: a ring of the last W
// tokens gives the left context, pending rows collect the next W tokens of the same document.
// Memory: W records plus the selected rows' contexts; a TSV is never loaded whole.
import BAEStore
import Foundation

/// One token with the text around it (same document only).
public struct TokenContext: Codable, Sendable, Equatable {
  /// Global row (index into the dataset / activations).
  public var row: Int
  /// The model's vocabulary id of the token.
  public var tokenId: Int
  /// The document (sequence) the token came from.
  public var documentId: Int
  /// Position of the token inside its document.
  public var position: Int
  /// The token's own text.
  public var token: String
  /// Texts of up to `window` preceding tokens of the same document, concatenated.
  public var before: String
  /// Texts of up to `window` following tokens of the same document, concatenated.
  public var after: String

  /// A context: the token `token` of row `row`, with `before` and `after` from the same document.
  public init(row: Int, tokenId: Int, documentId: Int, position: Int, token: String, before: String, after: String) {
    self.row = row
    self.tokenId = tokenId
    self.documentId = documentId
    self.position = position
    self.token = token
    self.before = before
    self.after = after
  }
}

/// Reads token TSVs into per-row contexts, and finds the token files that belong to a data set.
public enum TokenContexts {
  /// The token files of `data`: `explicit` when given, else a dataset directory's sidecars, else
  /// P.tokens.tsv beside P.npy; nil when there are none. The one lookup every command uses.
  public static func tokenFiles(forData data: URL, explicit: String?) throws -> [URL]? {
    if let explicit { return [URL(fileURLWithPath: explicit)] }
    var isDir: ObjCBool = false
    if FileManager.default.fileExists(atPath: data.path, isDirectory: &isDir), isDir.boolValue {
      return try sidecars(ofDataset: data)
    }
    let sibling = data.deletingPathExtension().appendingPathExtension("tokens.tsv")
    return FileManager.default.fileExists(atPath: sibling.path) ? [sibling] : nil
  }

  /// The token sidecars of a dataset directory in shard order, or nil when it has none.
  /// A dataset with tokens on some shards only is an error (rows would be misnumbered).
  public static func sidecars(ofDataset dir: URL) throws -> [URL]? {
    let m = try DatasetManifest.read(directory: dir)
    let named = m.shards.compactMap(\.tokens)
    if named.isEmpty { return nil }
    guard named.count == m.shards.count else {
      throw StoreError.badManifest(
        file: dir.appendingPathComponent(DatasetManifest.fileName).path,
        detail:
          "\(named.count) of \(m.shards.count) shards have a tokens sidecar; pass --tokens with a TSV for all rows, or re-pack with --tokens"
      )
    }
    return named.map { dir.appendingPathComponent($0) }
  }

  /// Reads `files` (token TSVs whose lines, concatenated in order, are rows 0, 1, 2, …) and returns the
  /// context of every row in `rows`. `expectedRows` (the dataset's row count) is checked when given.
  public static func collect(
    rows wanted: Set<Int>, from files: [URL], window: Int,
    expectedRows: Int? = nil
  ) throws -> [Int: TokenContext] {
    precondition(window >= 0, "window \(window) must be >= 0")
    var out: [Int: TokenContext] = [:]
    var ring: [TokenRecord] = []  // the last `window` records, oldest first
    var open: [(row: Int, remaining: Int)] = []  // rows still collecting right context
    var row = 0
    for url in files {
      try TokenTable.forEachRecord(url) { rec in
        // right context of pending rows: same document only
        var k = 0
        while k < open.count {
          let r = open[k].row
          if out[r]!.documentId == rec.documentId && open[k].remaining > 0 {
            out[r]!.after += rec.text
            open[k].remaining -= 1
          } else {
            open[k].remaining = 0
          }
          if open[k].remaining == 0 { open.remove(at: k) } else { k += 1 }
        }
        if wanted.contains(row) {
          let before = ring.reversed().prefix { $0.documentId == rec.documentId }.reversed().map(\.text).joined()
          out[row] = TokenContext(
            row: row, tokenId: rec.tokenId, documentId: rec.documentId, position: rec.position,
            token: rec.text, before: before, after: "")
          if window > 0 { open.append((row, window)) }
        }
        if window > 0 {
          if ring.count == window { ring.removeFirst() }
          ring.append(rec)
        }
        row += 1
      }
    }
    if let n = expectedRows, n != row {
      throw StoreError.badTokens(
        file: files.map(\.path).joined(separator: ", "), line: row + 1,
        detail:
          "\(row) token lines in total but the data has \(n) rows; use the TSV written together with these activations")
    }
    if let missing = wanted.first(where: { $0 >= row }) {
      throw StoreError.badTokens(
        file: files.map(\.path).joined(separator: ", "), line: row + 1,
        detail: "row \(missing) was requested but the TSV has only \(row) lines")
    }
    return out
  }
}
