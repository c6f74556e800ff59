// Every way a dataset, shard, sidecar or pack input can be bad. Each case names the file (and the
// frame or field), says what was found, and says what to do.
import BAEIO
import Foundation

/// A typed error of the activation store.
public enum StoreError: Error, Equatable, CustomStringConvertible, LocalizedError {
  /// The file could not be opened, read or written (OS-level).
  case io(file: String, operation: String, reason: String)
  /// The file is shorter (or longer) than its header or manifest says.
  case truncated(file: String, expectedBytes: Int, foundBytes: Int)
  /// The first 8 bytes are not the shard magic "BAESHARD".
  case badMagic(file: String, found: String)
  /// A format version this build cannot read.
  case unsupportedVersion(file: String, found: UInt32, supported: UInt32)
  /// A header field is invalid, or the header checksum does not match.
  case corruptHeader(file: String, field: String, detail: String)
  /// One frame failed its checksum, did not decompress, or decompressed to the wrong size.
  case corruptFrame(file: String, frame: Int, detail: String)
  /// manifest.json is missing, unparsable or inconsistent.
  case badManifest(file: String, detail: String)
  /// The manifest lists a shard file that does not exist.
  case missingShard(manifest: String, shard: String)
  /// A shard disagrees with the manifest or with the other shards (width, dtype, rows, frame size).
  case shardMismatch(file: String, field: String, expected: String, found: String)
  /// The whole-file XXH64 differs from the manifest's (found by `--verify`).
  case contentHashMismatch(file: String, expected: String, found: String)
  /// A token sidecar or tokens TSV line is malformed or its row count disagrees.
  case badTokens(file: String, line: Int, detail: String)
  /// A pack input (npy/safetensors) is unusable.
  case badInput(file: String, detail: String)
  /// The path names a FIFO, socket, device or directory where a regular file must be.
  case notRegularFile(file: String, kind: String)
  /// A size read from the file (`field`) is above a cap (`BAEIO.Limits`); `variable` raises it.
  case limitExceeded(file: String, field: String, found: Int, limit: Int, variable: String?)
  /// The pack input holds rows with NaN or ±infinity (`firstRow` is the first one, 0-based).
  case nonFiniteRows(file: String, count: Int, firstRow: Int)

  /// "<file>: <what was found>; <what to do>", as the CLI prints it.
  public var description: String {
    switch self {
    case let .io(file, op, reason):
      return "\(file): cannot \(op): \(reason); check the path and permissions"
    case let .truncated(file, expected, found):
      return
        "\(file): truncated or damaged: expected \(expected) bytes, found \(found); re-copy the file or re-run `bae pack`"
    case let .badMagic(file, found):
      return
        "\(file): not a BAE shard (magic \(found), expected \"BAESHARD\"); point --data at a dataset made by `bae pack`"
    case let .unsupportedVersion(file, found, supported):
      return
        "\(file): shard format version \(found) is not supported (this build reads version \(supported)); re-pack with this build or upgrade bae"
    case let .corruptHeader(file, field, detail):
      return
        "\(file): header field \(field) is corrupt: \(detail); the shard is damaged, re-copy it or re-run `bae pack`"
    case let .corruptFrame(file, frame, detail):
      return
        "\(file): frame \(frame) is corrupt: \(detail); the shard is damaged, re-copy it or re-run `bae pack` (`bae inspect --verify` lists all damaged frames)"
    case let .badManifest(file, detail):
      return "\(file): invalid dataset manifest: \(detail); re-run `bae pack` to rebuild the dataset"
    case let .missingShard(manifest, shard):
      return "\(manifest): lists shard \(shard), which does not exist; copy the missing shard or re-run `bae pack`"
    case let .shardMismatch(file, field, expected, found):
      return
        "\(file): \(field) is \(found) but the dataset expects \(expected); all shards of a dataset must match its manifest, re-pack them together"
    case let .contentHashMismatch(file, expected, found):
      return
        "\(file): content hash XXH64 \(found) differs from the manifest's \(expected); the file changed after packing, re-copy it or re-run `bae pack`"
    case let .badTokens(file, line, detail):
      return
        "\(file): line \(line): \(detail); tokens TSV needs a header `token_id<TAB>document_id<TAB>position<TAB>text` and one line per activation row"
    case let .badInput(file, detail):
      return "\(file): \(detail)"
    case let .notRegularFile(file, kind):
      return BAEIOError.notRegularFile(path: file, kind: kind).description
    case let .limitExceeded(file, field, found, limit, variable):
      return BAEIOError.limitExceeded(path: file, field: field, found: found, limit: limit, variable: variable)
        .description
    case let .nonFiniteRows(file, count, firstRow):
      return
        "\(file): \(count) row(s) hold NaN or infinity, the first is row \(firstRow); fix the extraction, or pass --skip-non-finite to drop them (and their token lines)"
    }
  }

  /// The same text as `description`, for Foundation's error reporting.
  public var errorDescription: String? { description }
}

extension StoreError {
  /// The store's view of a failure in BAEIO's file funnel (same file, same facts).
  init(_ error: BAEIOError) {
    switch error {
    case let .truncated(path, expected, found):
      self = .truncated(file: path, expectedBytes: expected, foundBytes: found)
    case let .notRegularFile(path, kind): self = .notRegularFile(file: path, kind: kind)
    case let .limitExceeded(path, field, found, limit, variable):
      self = .limitExceeded(file: path, field: field, found: found, limit: limit, variable: variable)
    case let .cannotRead(path, reason): self = .io(file: path, operation: "read", reason: reason)
    case let .cannotWrite(path, reason): self = .io(file: path, operation: "write", reason: reason)
    case let .badLimit(variable, value):
      self = .badInput(file: variable, detail: BAEIOError.badLimit(variable: variable, value: value).description)
    default: self = .badInput(file: "", detail: error.description)
    }
  }

  /// Runs `body`, turning BAEIO's errors into StoreErrors.
  static func mapping<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let e as BAEIOError { throw StoreError(e) }
  }
}
