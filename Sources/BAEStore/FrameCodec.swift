// Turning rows of Float into one compressed frame and back. A frame is the rows converted to the
// shard's dtype, byte-shuffled (all first bytes of every element, then all second bytes, ...: the
// exponent bytes of nearby activations are alike, so zstd finds runs), then one zstd frame with
// zstd's own content checksum. Every C call to zstd goes through `zstdCheck`.
import BAEIO
import CZstd

/// Throws `corruptFrame` (for decoding) naming zstd's message when `code` is a zstd error.
@inline(__always)
func zstdCheck(_ code: Int, file: String, frame: Int, what: String) throws -> Int {
  if ZSTD_isError(code) != 0 {
    let name = String(cString: ZSTD_getErrorName(code))
    throw StoreError.corruptFrame(file: file, frame: frame, detail: "\(what): zstd error \"\(name)\"")
  }
  return code
}

/// Encodes frames (one instance per thread: it owns a zstd compression context).
final class FrameEncoder {
  private let cctx: OpaquePointer
  private var raw: [UInt8] = []

  init(level: Int32) {
    guard let c = ZSTD_createCCtx() else { preconditionFailure("ZSTD_createCCtx returned NULL (out of memory)") }
    cctx = c
    _ = ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level)
    _ = ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1)
  }

  deinit { ZSTD_freeCCtx(cctx) }

  /// Compresses `rows` (n·inputDim floats, row-major) as `dtype`, shuffled or not.
  func encode(_ rows: UnsafeBufferPointer<Float>, dtype: StoreDType, shuffle: Bool) -> [UInt8] {
    let n = rows.count
    let size = dtype.size
    if raw.count < n * size { raw = [UInt8](repeating: 0, count: n * size) }
    raw.withUnsafeMutableBufferPointer { out in
      let o = out.baseAddress!
      switch (dtype, shuffle) {
      case (.f32, true):
        for i in 0..<n {
          let b = rows[i].bitPattern
          o[i] = UInt8(truncatingIfNeeded: b)
          o[n + i] = UInt8(truncatingIfNeeded: b >> 8)
          o[2 * n + i] = UInt8(truncatingIfNeeded: b >> 16)
          o[3 * n + i] = UInt8(truncatingIfNeeded: b >> 24)
        }
      case (.f32, false):
        for i in 0..<n {
          let b = rows[i].bitPattern
          for k in 0..<4 { o[4 * i + k] = UInt8(truncatingIfNeeded: b >> (8 * UInt32(k))) }
        }
      case (.f16, _), (.bf16, _):
        let bf = dtype == .bf16
        for i in 0..<n {
          let h = bf ? HalfPrecision.bfloat16Bits(rows[i]) : HalfPrecision.float16Bits(rows[i])
          if shuffle {
            o[i] = UInt8(truncatingIfNeeded: h)
            o[n + i] = UInt8(truncatingIfNeeded: h >> 8)
          } else {
            o[2 * i] = UInt8(truncatingIfNeeded: h)
            o[2 * i + 1] = UInt8(truncatingIfNeeded: h >> 8)
          }
        }
      }
    }
    let bound = ZSTD_compressBound(n * size)
    var dst = [UInt8](repeating: 0, count: bound)
    let written = raw.withUnsafeBytes { src in
      dst.withUnsafeMutableBytes { d in
        ZSTD_compress2(cctx, d.baseAddress, bound, src.baseAddress, n * size)
      }
    }
    // Compression into a buffer of ZSTD_compressBound cannot fail except for a programmer error.
    precondition(ZSTD_isError(written) == 0, "ZSTD_compress2 failed: \(String(cString: ZSTD_getErrorName(written)))")
    dst.removeLast(bound - written)
    return dst
  }
}

/// Decodes frames (one instance per thread: it owns a zstd decompression context and scratch).
public final class FrameDecoder {
  private let dctx: OpaquePointer
  private var raw: [UInt8] = []

  /// A decoder with its own zstd context; traps only when zstd cannot allocate one.
  public init() {
    guard let d = ZSTD_createDCtx() else { preconditionFailure("ZSTD_createDCtx returned NULL (out of memory)") }
    dctx = d
  }

  deinit { ZSTD_freeDCtx(dctx) }

  /// Throws `corruptFrame` unless the zstd frame header declares exactly `expected` decoded bytes.
  func checkDeclaredSize(_ compressed: UnsafeRawBufferPointer, expected: Int, file: String, frame: Int) throws {
    let declared = ZSTD_getFrameContentSize(compressed.baseAddress, compressed.count)
    guard declared == UInt64(expected) else {
      throw StoreError.corruptFrame(
        file: file, frame: frame,
        detail: "declares \(declared) decoded bytes, expected \(expected)")
    }
  }

  /// Decompresses `compressed` (checked against zstd's content checksum and the expected size)
  /// and converts it to Float into `out` (count = rows·inputDim of the frame).
  func decode(
    _ compressed: UnsafeRawBufferPointer, dtype: StoreDType, shuffled: Bool,
    into out: UnsafeMutableBufferPointer<Float>, file: String, frame: Int
  ) throws {
    let n = out.count
    let expected = n * dtype.size
    try checkDeclaredSize(compressed, expected: expected, file: file, frame: frame)
    if raw.count < expected { raw = [UInt8](repeating: 0, count: expected) }
    let got = try raw.withUnsafeMutableBytes { d in
      try zstdCheck(
        ZSTD_decompressDCtx(dctx, d.baseAddress, expected, compressed.baseAddress, compressed.count),
        file: file, frame: frame, what: "ZSTD_decompressDCtx")
    }
    guard got == expected else {
      throw StoreError.corruptFrame(file: file, frame: frame, detail: "decoded \(got) bytes, expected \(expected)")
    }
    raw.withUnsafeBufferPointer { src in
      let s = src.baseAddress!
      let o = out.baseAddress!
      switch (dtype, shuffled) {
      case (.f32, true):
        let p0 = s, p1 = s + n, p2 = s + 2 * n, p3 = s + 3 * n
        for i in 0..<n {
          let b = UInt32(p0[i]) | UInt32(p1[i]) << 8 | UInt32(p2[i]) << 16 | UInt32(p3[i]) << 24
          o[i] = Float(bitPattern: b)
        }
      case (.f32, false):
        UnsafeMutableRawPointer(o).copyMemory(from: s, byteCount: expected)
      case (.bf16, true):
        let lo = s, hi = s + n
        for i in 0..<n { o[i] = Float(bitPattern: UInt32(lo[i]) << 16 | UInt32(hi[i]) << 24) }
      case (.bf16, false):
        for i in 0..<n { o[i] = Float(bitPattern: UInt32(s[2 * i]) << 16 | UInt32(s[2 * i + 1]) << 24) }
      case (.f16, _):
        HalfPrecision.float16Table.withUnsafeBufferPointer { t in
          if shuffled {
            for i in 0..<n { o[i] = t[Int(s[i]) | Int(s[n + i]) << 8] }
          } else {
            for i in 0..<n { o[i] = t[Int(s[2 * i]) | Int(s[2 * i + 1]) << 8] }
          }
        }
      }
    }
  }
}
