import BAERandom
import XCTest

@testable import BAEStore

/// Mixing of a dataset 4× larger than the default window (2^22 rows, documents of 100–300 tokens):
/// the numbers quoted in Documentation/ActivationStore.md. ~1 min in debug, so opt-in:
/// `BAE_MIXING_SCALE=1 swift test --filter BatchMixingScaleTests`.
final class BatchMixingScaleTests: XCTestCase {
  func testDefaultWindowOnADatasetLargerThanIt() throws {
    try XCTSkipUnless(
      ProcessInfo.processInfo.environment["BAE_MIXING_SCALE"] == "1",
      "set BAE_MIXING_SCALE=1 to run (about a minute in debug)")
    let n = 1 << 22
    var g = SplitMix64(state: 3)
    var docs: [Int32] = []
    docs.reserveCapacity(n)
    var doc: Int32 = 0
    while docs.count < n {
      docs += repeatElement(doc, count: min(100 + Int(g.next(below: 201)), n - docs.count))
      doc += 1
    }
    var ratio: [Int: Double] = [:]
    for window in [8, 512, 1024, BatchMixing.windowBlocks(rowsPerBlock: 256)] {
      let s = GlobalBatchSampler(
        rows: 0..<n, globalBatch: 512, seed: 0, order: .shuffled, blockRows: 256, windowBlocks: window)
      let r = BatchMixingReport.measure(sampler: s, documents: docs)
      print(
        String(
          format:
            "window %5d frames: %.1f distinct documents per batch (uniform %.1f), mixing_ratio %.3f, pair rate %.2fx uniform",
          window, r.meanDistinctDocuments, r.uniformDistinctDocuments, r.mixingRatio, r.pairRateRatio))
      ratio[window] = r.mixingRatio
    }
    XCTAssertGreaterThanOrEqual(ratio[4096]!, 0.95)
    XCTAssertLessThan(ratio[8]!, 0.1)
    XCTAssertLessThan(ratio[512]!, ratio[1024]!)
  }
}
