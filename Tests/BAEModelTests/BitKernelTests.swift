import BAEModel
// The popcount kernels against naive definitions through the legacy path switch (automatic, portable,
// scalar popcnt) and for split pair ranges as ranks use them; BitKernelPathTests covers every ISA path and thread count.
import BAERandom
import CBAEKernels
import XCTest

final class BitKernelTests: XCTestCase {
  override func tearDown() { bae_kernels_force_portable(0) }

  func randomCodes(n: Int, m: Int, seed: UInt64, density: Double) -> [Float] {
    var rng = SplitMix64(seed: seed)
    return (0..<(n * m)).map { _ in rng.nextUnit() < density ? 1 : -1 }
  }

  func testBinarizeTransposeAndSignsAgainstNaive() {
    for (n, m) in [(1, 1), (70, 17), (64, 64), (130, 200), (513, 96), (1100, 131)] {
      for path in [0, 1, 2] {  // automatic (the best path here), portable, scalar popcnt
        bae_kernels_force_portable(Int32(path))
        var z = randomCodes(n: n, m: m, seed: UInt64(n * 1000 + m), density: 0.3)
        let h = z.map { $0 > 0 ? 1 : 0 }
        let w = Int(bae_row_words(Int64(m)))
        var rows = [UInt64](repeating: 0xFFFF, count: n * w)
        var counts = [Int64](repeating: 0, count: m)
        bae_binarize_inplace(&z, Int64(n), Int64(m), Int64(m), &rows, Int64(w), &counts)
        XCTAssertEqual(z, h.map(Float.init))
        for j in 0..<m { XCTAssertEqual(counts[j], Int64((0..<n).map { h[$0 * m + j] }.reduce(0, +))) }
        let wpc = (n + 63) / 64
        var cols = [UInt64](repeating: 0, count: m * wpc)
        bae_transpose_bits(rows, Int64(n), Int64(m), Int64(w), &cols, Int64(wpc))
        for i in 0..<n {
          for j in 0..<m {
            XCTAssertEqual(Int((cols[j * wpc + i / 64] >> UInt64(i % 64)) & 1), h[i * m + j], "transpose (\(i), \(j))")
          }
        }
        // signs over the full range vs split into per-rank block ranges
        var spos = [UInt64](repeating: 0, count: m * w), sneg = spos
        let total = bae_covariance_signs(
          cols, Int64(m), Int64(wpc), counts, Int64(n), 0,
          Int64(CovarianceWork.tileCount(codeBits: m)), &spos, &sneg, Int64(w))
        var naiveTotal: Int64 = 0
        for j in 0..<m {
          for k in 0..<m where k != j {
            var n11: Int64 = 0
            for i in 0..<n { n11 += Int64(h[i * m + j] & h[i * m + k]) }
            let dv = Int64(n) * n11 - counts[j] * counts[k]
            if k > j { naiveTotal += abs(dv) }
            let pos = (spos[j * w + k / 64] >> UInt64(k % 64)) & 1, neg = (sneg[j * w + k / 64] >> UInt64(k % 64)) & 1
            XCTAssertEqual(pos, dv > 0 ? 1 : 0, "S+ (\(j), \(k)) n \(n) m \(m)")
            XCTAssertEqual(neg, dv < 0 ? 1 : 0, "S- (\(j), \(k))")
          }
        }
        XCTAssertEqual(total, naiveTotal)
        for world in [2, 3, 5, 9] {
          var p2 = [UInt64](repeating: 0, count: m * w), n2 = p2
          var t2: Int64 = 0
          for r in 0..<world {
            let b = CovarianceWork.tileRange(codeBits: m, rank: r, worldSize: world)
            var pr = [UInt64](repeating: 0, count: m * w), nr = pr
            t2 += bae_covariance_signs(
              cols, Int64(m), Int64(wpc), counts, Int64(n), Int64(b.lowerBound),
              Int64(b.upperBound), &pr, &nr, Int64(w))
            for i in 0..<pr.count {
              XCTAssertEqual(p2[i] & pr[i], 0, "ranks' pair sets overlap")
              p2[i] &+= pr[i]
              n2[i] &+= nr[i]
            }
          }
          XCTAssertEqual(p2, spos, "union of \(world) ranks' S+")
          XCTAssertEqual(n2, sneg, "union of \(world) ranks' S-")
          XCTAssertEqual(t2, total)
        }
        // H·S
        var out = [Float](repeating: -1, count: n * m)
        bae_signed_popcount_product(rows, Int64(n), spos, sneg, Int64(m), Int64(w), &out, Int64(m))
        for i in 0..<n {
          for j in 0..<m {
            var s = 0
            for k in 0..<m where h[i * m + k] == 1 {
              let pos = (spos[k * w + j / 64] >> UInt64(j % 64)) & 1, neg = (sneg[k * w + j / 64] >> UInt64(j % 64)) & 1
              s += Int(pos) - Int(neg)
            }
            XCTAssertEqual(out[i * m + j], Float(s), "H·S (\(i), \(j))")
          }
        }
      }
    }
  }

  func testTileRangesCoverAllTilesInOrderAndAreBalanced() {
    for m in [1, 64, 65, 1000, 8192] {
      let total = CovarianceWork.tileCount(codeBits: m)
      XCTAssertEqual(total, ((m + 63) / 64) * ((m + 63) / 64 + 1) / 2)
      for world in [1, 2, 3, 7, 16, 256] {
        var next = 0
        for r in 0..<world {
          let t = CovarianceWork.tileRange(codeBits: m, rank: r, worldSize: world)
          XCTAssertEqual(t.lowerBound, next)
          XCTAssertLessThanOrEqual(t.count, (total + world - 1) / world, "m \(m) world \(world): no rank above ⌈T/R⌉")
          next = t.upperBound
        }
        XCTAssertEqual(next, total)
      }
    }
  }
}
