// XXH64 (Yann Collet's xxHash, 64-bit variant, seed 0 unless given), written from the published
// algorithm description. Used for the shard header, per-frame and whole-file checksums: fast
// (several GB/s), non-cryptographic, and checkable with the stock `xxhsum -H64` tool.
import Foundation

/// The XXH64 hash of a byte buffer.
public enum XXH64 {
  private static let p1: UInt64 = 0x9E37_79B1_85EB_CA87
  private static let p2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
  private static let p3: UInt64 = 0x1656_67B1_9E37_79F9
  private static let p4: UInt64 = 0x85EB_CA77_C2B2_AE63
  private static let p5: UInt64 = 0x27D4_EB2F_1656_67C5

  @inline(__always) private static func rotl(_ x: UInt64, _ r: UInt64) -> UInt64 { (x << r) | (x >> (64 - r)) }

  @inline(__always) private static func round(_ acc: UInt64, _ input: UInt64) -> UInt64 {
    rotl(acc &+ input &* p2, 31) &* p1
  }

  @inline(__always) private static func merge(_ acc: UInt64, _ v: UInt64) -> UInt64 {
    (acc ^ round(0, v)) &* p1 &+ p4
  }

  /// Hash of `bytes` with `seed`.
  public static func hash(_ bytes: UnsafeRawBufferPointer, seed: UInt64 = 0) -> UInt64 {
    let n = bytes.count
    guard let base = bytes.baseAddress else { return finish(seed &+ p5, total: 0, tail: bytes) }
    var i = 0
    var h: UInt64
    if n >= 32 {
      var v1 = seed &+ p1 &+ p2, v2 = seed &+ p2, v3 = seed, v4 = seed &- p1
      while i + 32 <= n {
        v1 = round(v1, base.loadUnaligned(fromByteOffset: i, as: UInt64.self).littleEndian)
        v2 = round(v2, base.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self).littleEndian)
        v3 = round(v3, base.loadUnaligned(fromByteOffset: i + 16, as: UInt64.self).littleEndian)
        v4 = round(v4, base.loadUnaligned(fromByteOffset: i + 24, as: UInt64.self).littleEndian)
        i += 32
      }
      h = rotl(v1, 1) &+ rotl(v2, 7) &+ rotl(v3, 12) &+ rotl(v4, 18)
      h = merge(h, v1); h = merge(h, v2); h = merge(h, v3); h = merge(h, v4)
    } else {
      h = seed &+ p5
    }
    return finish(h, total: n, tail: UnsafeRawBufferPointer(rebasing: bytes[i...]))
  }

  private static func finish(_ h0: UInt64, total: Int, tail: UnsafeRawBufferPointer) -> UInt64 {
    var h = h0 &+ UInt64(total)
    var i = 0
    let n = tail.count
    if let base = tail.baseAddress {
      while i + 8 <= n {
        h ^= round(0, base.loadUnaligned(fromByteOffset: i, as: UInt64.self).littleEndian)
        h = rotl(h, 27) &* p1 &+ p4
        i += 8
      }
      if i + 4 <= n {
        h ^= UInt64(base.loadUnaligned(fromByteOffset: i, as: UInt32.self).littleEndian) &* p1
        h = rotl(h, 23) &* p2 &+ p3
        i += 4
      }
      while i < n {
        h ^= UInt64(base.load(fromByteOffset: i, as: UInt8.self)) &* p5
        h = rotl(h, 11) &* p1
        i += 1
      }
    }
    h ^= h >> 33; h = h &* p2
    h ^= h >> 29; h = h &* p3
    h ^= h >> 32
    return h
  }

  /// Hash of a byte array.
  public static func hash<C: ContiguousBytes>(_ bytes: C, seed: UInt64 = 0) -> UInt64 {
    bytes.withUnsafeBytes { hash($0, seed: seed) }
  }

  /// 16 lowercase hex digits, as `xxhsum -H64` prints.
  public static func hex(_ h: UInt64) -> String {
    let s = String(h, radix: 16)
    return String(repeating: "0", count: 16 - s.count) + s
  }
}
