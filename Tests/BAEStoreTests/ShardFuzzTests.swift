import BAERandom
import XCTest

@testable import BAEStore

/// Seeded random mutations of small shards: every outcome must be a typed StoreError or rows that
/// are bit-identical to the original. BAE_FUZZ_ITERATIONS / BAE_FUZZ_SEED lengthen the run
/// (scripts/fuzz_store.sh).
final class ShardFuzzTests: XCTestCase {
  func testRandomMutationsNeverCrashOrReturnWrongRows() throws {
    let env = ProcessInfo.processInfo.environment
    let iterations = Int(env["BAE_FUZZ_ITERATIONS"] ?? "") ?? 1200
    let seed = UInt64(env["BAE_FUZZ_SEED"] ?? "") ?? 20_240_601
    let dir = makeTempDir("fuzz")
    defer { try? FileManager.default.removeItem(at: dir) }

    // Two small shards: f32 unshuffled with metadata, bf16 shuffled with a short last frame.
    var originals: [(bytes: [UInt8], frames: [[UInt32]])] = []
    for (i, opt) in [
      ShardOptions(dtype: .f32, rowsPerFrame: 8, shuffle: false),
      ShardOptions(dtype: .bf16, rowsPerFrame: 6),
    ].enumerated() {
      let url = dir.appendingPathComponent("orig\(i).baes")
      let x = gaussianRows(27, 5, seed: UInt64(i) + 1)
      try x.withUnsafeBufferPointer {
        _ = try ShardWriter.write($0, inputDim: 5, options: opt, metadata: ["model": "fuzz", "layer": "\(i)"], to: url)
      }
      originals.append(([UInt8](try Data(contentsOf: url)), try decodeAll(ShardFile(url: url)).map { $0! }))
    }

    var rng = SplitMix64(state: seed)
    let target = dir.appendingPathComponent("mutant.baes")
    var detected = 0, identical = 0, kinds = [Int](repeating: 0, count: 6)
    for it in 0..<iterations {
      let (orig, expected) = originals[it % originals.count]
      var m = orig
      let kind = Int(rng.next(below: 6))
      kinds[kind] += 1
      let headerEnd = 64 + Int(orig[48]) + Int(orig[49]) << 8 + 24 * Int(orig[40]) + 8
      func flip(in range: Range<Int>) {
        let count = 1 + Int(rng.next(below: 3))
        for _ in 0..<count {
          let p = range.lowerBound + Int(rng.next(below: UInt64(range.count)))
          m[p] ^= UInt8(1 + rng.next(below: 255))
        }
      }
      switch kind {
      case 0: m.removeLast(1 + Int(rng.next(below: UInt64(m.count))))  // truncation
      case 1: flip(in: 0..<64)  // fixed header
      case 2: flip(in: 64..<headerEnd)  // metadata, index, checksum
      case 3: flip(in: headerEnd..<m.count)  // frames
      case 4: m += (0..<(1 + Int(rng.next(below: 40)))).map { _ in UInt8(truncatingIfNeeded: rng.next()) }  // appended junk
      default:  // a random slice swapped in
        let p = Int(rng.next(below: UInt64(m.count))), q = Int(rng.next(below: UInt64(m.count)))
        let n = min(16, m.count - max(p, q))
        for k in 0..<n { m[p + k] = orig[q + k] }
        if p == q || n == 0 || m == orig { m[Int(rng.next(below: UInt64(m.count)))] ^= 0xFF }
      }
      try Data(m).write(to: target)
      do {
        let s = try ShardFile(url: target)
        let got = try decodeAll(s)
        XCTAssertEqual(got.count, expected.count, "iteration \(it): frame count changed silently")
        for (k, f) in got.enumerated() {
          if let f {
            XCTAssertEqual(f, expected[k], "iteration \(it) kind \(kind): frame \(k) decoded to different rows")
            identical += 1
          } else {
            detected += 1
          }
        }
      } catch let e as StoreError {
        XCTAssertFalse(e.description.isEmpty)
        XCTAssertTrue(e.description.contains(target.path), "error must name the file: \(e)")
        detected += 1
      }
    }
    XCTAssertGreaterThanOrEqual(iterations, 1000)
    XCTAssertTrue(kinds.allSatisfy { $0 > 0 }, "every mutation kind exercised: \(kinds)")
    XCTAssertGreaterThan(detected, iterations / 2, "most mutations must be detected")
  }

  /// Every frame's bits, or nil for a frame that failed with a typed error (any other error fails).
  private func decodeAll(_ s: ShardFile) throws -> [[UInt32]?] {
    let dec = FrameDecoder()
    var scratch: [UInt8] = []
    return try (0..<s.header.frameCount).map { k in
      var f = [Float](repeating: 0, count: s.header.rowsInFrame(k) * s.header.inputDim)
      do {
        try f.withUnsafeMutableBufferPointer { try s.decodeFrame(k, into: $0, decoder: dec, scratch: &scratch) }
      } catch let e as StoreError {
        guard case .corruptFrame(_, k, _) = e else { throw e }
        return nil
      }
      return f.map(\.bitPattern)
    }
  }
}
