// XXH64 (Yann Collet's xxHash, 64-bit variant, seed 0 unless given), written from the published
// algorithm description, one-shot and streaming (one implementation: the one-shot hash is a
// stream of one buffer). Used for the shard header, per-frame and whole-file checksums: fast
// (several GB/s), non-cryptographic, and checkable with the stock `xxhsum -H64` tool.
import Foundation

/// The XXH64 hash of a byte stream.
public struct XXH64: Sendable {
  private static let p1: UInt64 = 0x9E37_79B1_85EB_CA87
  private static let p2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
  private static let p3: UInt64 = 0x1656_67B1_9E37_79F9
  private static let p4: UInt64 = 0x85EB_CA77_C2B2_AE63
  private static let p5: UInt64 = 0x27D4_EB2F_1656_67C5

  private let seed: UInt64
  private var v1: UInt64, v2: UInt64, v3: UInt64, v4: UInt64
  private var total = 0
  /// Up to 31 bytes not yet consumed by a 32-byte stripe.
  private var pending: [UInt8] = []

  /// A fresh stream.
  public init(seed: UInt64 = 0) {
    self.seed = seed
    v1 = seed &+ XXH64.p1 &+ XXH64.p2
    v2 = seed &+ XXH64.p2
    v3 = seed
    v4 = seed &- XXH64.p1
    pending.reserveCapacity(32)
  }

  @inline(__always) private static func rotl(_ x: UInt64, _ r: UInt64) -> UInt64 { (x << r) | (x >> (64 - r)) }

  @inline(__always) private static func round(_ acc: UInt64, _ input: UInt64) -> UInt64 {
    rotl(acc &+ input &* p2, 31) &* p1
  }

  @inline(__always) private static func merge(_ acc: UInt64, _ v: UInt64) -> UInt64 {
    (acc ^ round(0, v)) &* p1 &+ p4
  }

  /// Consumes whole 32-byte stripes of `bytes`; returns how many bytes were consumed.
  private mutating func stripes(_ bytes: UnsafeRawBufferPointer) -> Int {
    guard let base = bytes.baseAddress else { return 0 }
    var i = 0
    var a = v1, b = v2, c = v3, d = v4
    while i + 32 <= bytes.count {
      a = XXH64.round(a, base.loadUnaligned(fromByteOffset: i, as: UInt64.self).littleEndian)
      b = XXH64.round(b, base.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self).littleEndian)
      c = XXH64.round(c, base.loadUnaligned(fromByteOffset: i + 16, as: UInt64.self).littleEndian)
      d = XXH64.round(d, base.loadUnaligned(fromByteOffset: i + 24, as: UInt64.self).littleEndian)
      i += 32
    }
    (v1, v2, v3, v4) = (a, b, c, d)
    return i
  }

  /// Appends `bytes` to the stream.
  public mutating func update(_ bytes: UnsafeRawBufferPointer) {
    total += bytes.count
    var rest = bytes
    if !pending.isEmpty {
      let take = Swift.min(32 - pending.count, rest.count)
      pending += rest[0..<take]
      rest = UnsafeRawBufferPointer(rebasing: rest[take...])
      guard pending.count == 32 else { return }
      _ = pending.withUnsafeBytes { stripes($0) }
      pending.removeAll(keepingCapacity: true)
    }
    let used = stripes(rest)
    pending += rest[used...]
  }

  /// The hash of everything appended so far (the stream can continue).
  public func digest() -> UInt64 {
    var h: UInt64
    if total >= 32 {
      h = XXH64.rotl(v1, 1) &+ XXH64.rotl(v2, 7) &+ XXH64.rotl(v3, 12) &+ XXH64.rotl(v4, 18)
      h = XXH64.merge(h, v1)
      h = XXH64.merge(h, v2)
      h = XXH64.merge(h, v3)
      h = XXH64.merge(h, v4)
    } else {
      h = seed &+ XXH64.p5
    }
    h = h &+ UInt64(total)
    pending.withUnsafeBytes { tail in
      var i = 0
      let n = tail.count
      while i + 8 <= n {
        h ^= XXH64.round(0, tail.loadUnaligned(fromByteOffset: i, as: UInt64.self).littleEndian)
        h = XXH64.rotl(h, 27) &* XXH64.p1 &+ XXH64.p4
        i += 8
      }
      if i + 4 <= n {
        h ^= UInt64(tail.loadUnaligned(fromByteOffset: i, as: UInt32.self).littleEndian) &* XXH64.p1
        h = XXH64.rotl(h, 23) &* XXH64.p2 &+ XXH64.p3
        i += 4
      }
      while i < n {
        h ^= UInt64(tail[i]) &* XXH64.p5
        h = XXH64.rotl(h, 11) &* XXH64.p1
        i += 1
      }
    }
    h ^= h >> 33
    h = h &* XXH64.p2
    h ^= h >> 29
    h = h &* XXH64.p3
    h ^= h >> 32
    return h
  }

  /// Hash of `bytes` with `seed`.
  public static func hash(_ bytes: UnsafeRawBufferPointer, seed: UInt64 = 0) -> UInt64 {
    var stream = XXH64(seed: seed)
    stream.update(bytes)
    return stream.digest()
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
