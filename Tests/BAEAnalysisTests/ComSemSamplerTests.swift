// β, top-k and sample selection on a hand-made case with known answers, plus a brute-force cross-check.
import BAEAnalysis
import XCTest

final class ComSemSamplerTests: XCTestCase {
  // p per feature; |h − p| for h = 1: [0.9, 0.5, 0.1, 1.0, 0.7], for h = 0: [0.1, 0.5, 0.9, 0.0, 0.3]
  let rates = [0.1, 0.5, 0.9, 0.0, 0.3]
  let rowA: [Float] = [1, 0, 1, 0, 0]  // devs 0.9 0.5 0.1 0.0 0.3 -> f0, f1
  let rowB: [Float] = [0, 0, 0, 0, 0]  // devs 0.1 0.5 0.9 0.0 0.3 -> f2, f1
  let rowC: [Float] = [0, 1, 1, 1, 1]  // devs 0.1 0.5 0.1 1.0 0.7 -> f3, f4
  let rowD: [Float] = [1, 1, 0, 0, 1]  // devs 0.9 0.5 0.9 0.0 0.7 -> f0, f2 (tie at 0.9: lower index first)

  func top(_ s: ComSemSampler, _ row: [Float]) -> [Int] { row.withUnsafeBufferPointer { s.topFeatures($0) } }

  func testBetaValues() {
    XCTAssertEqual(ComSemSampler.beta(h: 1, p: 0.1), log2(0.9 + 1e-6), accuracy: 1e-12)
    XCTAssertEqual(ComSemSampler.beta(h: 0, p: 0.25), -2 + log2(1 + 4e-6), accuracy: 1e-9)
    // a dead feature that stays off scores log2(1e-6), the minimum
    XCTAssertEqual(ComSemSampler.beta(h: 0, p: 0), log2(1e-6), accuracy: 1e-12)
    XCTAssertEqual(ComSemSampler.beta(h: 1, p: 1), log2(1e-6), accuracy: 1e-12)
  }

  func testTopFeaturesHandCase() {
    let s = ComSemSampler(rates: rates, topK: 2, describeCount: 2, testCount: 1)
    XCTAssertEqual(top(s, rowA), [0, 1])
    XCTAssertEqual(top(s, rowB), [2, 1])
    XCTAssertEqual(top(s, rowC), [3, 4])
    XCTAssertEqual(top(s, rowD), [0, 2])
    let s3 = ComSemSampler(rates: rates, topK: 3, describeCount: 2, testCount: 1)
    XCTAssertEqual(top(s3, rowD), [0, 2, 4])
    XCTAssertEqual(top(s3, rowC), [3, 4, 1])
  }

  func testSamplesStayInCorpusOrderAndAreCapped() {
    var s = ComSemSampler(rates: rates, topK: 2, describeCount: 2, testCount: 1)
    for (r, codes) in [rowA, rowB, rowC, rowD, rowA, rowB, rowA].enumerated() {
      codes.withUnsafeBufferPointer { s.add(row: r, codes: $0) }
    }
    XCTAssertEqual(s.samples, [[0, 3, 4], [0, 1, 4], [1, 3, 5], [2], [2]])
    XCTAssertEqual(s.assignedCounts, [4, 5, 3, 1, 1])
    XCTAssertEqual(s.rowsSeen, 7)
    XCTAssertEqual((0..<5).map { s.isInterpretable($0) }, [true, true, true, false, false])
    XCTAssertEqual(Array(s.describeSamples(0)), [0, 3])
    XCTAssertEqual(Array(s.testSamples(0)), [4])
    XCTAssertEqual(Array(s.testSamples(3)), [])
  }

  func testReferenceSettingsNeedSixSamples() {
    let s = ComSemSampler(rates: [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5])
    XCTAssertEqual(s.topK, 10)
    XCTAssertEqual(s.minimumSamples, 6)
    XCTAssertEqual(s.capacity, 13)
  }

  /// The insertion-based top-k against a full sort by β (ties by index) on random codes.
  func testTopFeaturesMatchFullSortOnRandomCodes() {
    var rng = SystemRandomNumberGenerator()
    for trial in 0..<50 {
      let m = 40 + trial
      // rates on a coarse grid so ties happen
      let p = (0..<m).map { _ in Double(Int.random(in: 0...10, using: &rng)) / 10 }
      let k = Int.random(in: 1...12, using: &rng)
      let s = ComSemSampler(rates: p, topK: k)
      let h: [Float] = (0..<m).map { _ in Bool.random(using: &rng) ? 1 : 0 }
      let expected = (0..<m).sorted {
        let a = ComSemSampler.beta(h: h[$0], p: p[$0]), b = ComSemSampler.beta(h: h[$1], p: p[$1])
        return a != b ? a > b : $0 < $1
      }.prefix(k)
      XCTAssertEqual(top(s, h), Array(expected), "trial \(trial) k \(k)")
    }
  }

  func testActivityClasses() {
    let a = [0.0, 1.0, 0.7, 0.0005, 0.9995, 0.2].map(FeatureActivity.init(rate:))
    XCTAssertEqual(a.map(\.dead), [true, false, false, false, false, false])
    XCTAssertEqual(a.map(\.alwaysOn), [false, true, false, false, false, false])
    XCTAssertEqual(a.map(\.dense), [false, true, true, false, true, false])
    XCTAssertEqual(a.map(\.nearConstant), [true, true, false, true, true, false])
    XCTAssertEqual(a[4].minorityRate, 0.0005, accuracy: 1e-12)
    let s = ActivitySummary(a)
    XCTAssertEqual([s.dead, s.alwaysOn, s.dense, s.nearConstant, s.sparseAndAlive], [1, 1, 3, 4, 1])
  }
}
