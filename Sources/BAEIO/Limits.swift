// Caps on sizes that come from untrusted files: large enough that no genuine file reaches them,
// small enough that a hostile one cannot make a reader allocate or recurse without bound.
// Documentation/FileFormats.md ("Caps") lists them; the ones a real user could outgrow read an
// environment variable.
import Foundation

/// The caps applied while reading files, with their environment overrides.
public enum Limits {
  /// Deepest nesting of brackets in an `.npy` header literal (a float array's header nests 2).
  public static let npyLiteralDepth = 32

  /// Longest `.npy` header (numpy writes < 200 bytes for a 2-D array; 1 MiB leaves room for
  /// ~100k dimensions). Override: `BAE_MAX_NPY_HEADER_BYTES`.
  public static func npyHeaderBytes() throws -> Int { try value("BAE_MAX_NPY_HEADER_BYTES", default: 1 << 20) }

  /// Longest line of a token TSV (a token's text is a few bytes; 1 MiB). Override:
  /// `BAE_MAX_TOKEN_LINE_BYTES`.
  public static func tokenLineBytes() throws -> Int { try value("BAE_MAX_TOKEN_LINE_BYTES", default: 1 << 20) }

  /// Largest decoded shard frame, in stored bytes (256 rows of width 65,536 in f32 = 64 MiB).
  /// Override: `BAE_MAX_FRAME_BYTES`.
  public static func frameBytes() throws -> Int { try value("BAE_MAX_FRAME_BYTES", default: 64 << 20) }

  /// Largest `manifest.json` (about 250 bytes per shard: 64 MiB is ~250k shards). Override:
  /// `BAE_MAX_MANIFEST_BYTES`.
  public static func manifestBytes() throws -> Int { try value("BAE_MAX_MANIFEST_BYTES", default: 64 << 20) }

  /// The positive integer in environment variable `name`, or `fallback` when it is unset.
  static func value(_ name: String, default fallback: Int) throws -> Int {
    guard let text = ProcessInfo.processInfo.environment[name] else { return fallback }
    guard let n = Int(text), n > 0 else { throw BAEIOError.badLimit(variable: name, value: text) }
    return n
  }
}
