import BAERandom
import XCTest

@testable import BAEStore

final class GlobalBatchSamplerTests: XCTestCase {
  /// The global sequence, rebuilt from the slices that `readers` independent readers take.
  private func sequence(
    readers: Int, rows: Range<Int>, batch: Int, batches: Int, blockRows: Int = 1,
    windowBlocks: Int = .max, order: BatchOrder = .shuffled
  ) -> [[Int]] {
    var samplers = (0..<readers).map { _ in
      GlobalBatchSampler(
        rows: rows, globalBatch: batch, seed: 42, order: order,
        blockRows: blockRows, windowBlocks: windowBlocks)
    }
    var out: [[Int]] = []
    for _ in 0..<batches {
      var global: [Int] = []
      for r in 0..<readers {
        let g = samplers[r].nextGlobalBatch()
        global += g[GlobalBatchSampler.slice(globalBatch: batch, rank: r, readers: readers)]
      }
      out.append(global)
    }
    return out
  }

  func testSameGlobalSequenceFor1To4Readers() {
    for (blockRows, window) in [(1, Int.max), (16, 3), (7, 2)] {
      let one = sequence(readers: 1, rows: 0..<1000, batch: 60, batches: 40, blockRows: blockRows, windowBlocks: window)
      for readers in 2...4 {
        XCTAssertEqual(
          sequence(
            readers: readers, rows: 0..<1000, batch: 60, batches: 40,
            blockRows: blockRows, windowBlocks: window), one,
          "readers \(readers) blockRows \(blockRows) window \(window)")
      }
    }
  }

  func testSlicesAreDisjointAndCover() {
    for b in [1, 5, 64, 97] {
      for readers in 1...7 {
        var covered: [Int] = []
        for r in 0..<readers {
          let s = GlobalBatchSampler.slice(globalBatch: b, rank: r, readers: readers)
          XCTAssertEqual(s.lowerBound, r * b / readers)
          covered += Array(s)
        }
        XCTAssertEqual(covered, Array(0..<b), "B \(b) readers \(readers)")
      }
    }
  }

  func testEveryRowExactlyOncePerEpoch() {
    for (blockRows, window) in [(1, Int.max), (10, 4), (13, 1), (64, 2)] {
      var s = GlobalBatchSampler(
        rows: 100..<740, globalBatch: 32, seed: 7, order: .shuffled,
        blockRows: blockRows, windowBlocks: window)
      XCTAssertEqual(s.batchesPerEpoch, 20)
      var epochs: [[Int]] = []
      for _ in 0..<2 {
        var seen: [Int] = []
        for _ in 0..<s.batchesPerEpoch { seen += s.nextGlobalBatch() }
        XCTAssertEqual(seen.sorted(), Array(100..<740), "blockRows \(blockRows) window \(window)")
        epochs.append(seen)
      }
      XCTAssertEqual(s.state, SamplerState(epoch: 2, batchInEpoch: 0))
      XCTAssertNotEqual(epochs[0], epochs[1], "epochs must differ")
      XCTAssertNotEqual(epochs[0], Array(100..<740), "shuffled must not be file order")
    }
  }

  func testTailDroppedRowsAtMostOnce() {
    var s = GlobalBatchSampler(rows: 0..<103, globalBatch: 10, seed: 3, order: .shuffled, blockRows: 8, windowBlocks: 3)
    XCTAssertEqual(s.batchesPerEpoch, 10)
    var seen: [Int] = []
    for _ in 0..<10 { seen += s.nextGlobalBatch() }
    XCTAssertEqual(Set(seen).count, 100)
    XCTAssertTrue(seen.allSatisfy { (0..<103).contains($0) })
    XCTAssertEqual(s.state.epoch, 1)
  }

  func testSaveRestoreContinuesIdentically() {
    for order in [BatchOrder.shuffled, .sequential] {
      var a = GlobalBatchSampler(rows: 0..<500, globalBatch: 48, seed: 99, order: order, blockRows: 20, windowBlocks: 3)
      for _ in 0..<17 { _ = a.nextGlobalBatch() }  // crosses an epoch boundary (10 per epoch)
      let saved = try! JSONDecoder().decode(SamplerState.self, from: try! JSONEncoder().encode(a.state))
      XCTAssertEqual(saved, SamplerState(epoch: 1, batchInEpoch: 7))
      var b = GlobalBatchSampler(
        rows: 0..<500, globalBatch: 48, seed: 99, order: order, blockRows: 20,
        windowBlocks: 3, state: saved)
      for i in 0..<25 { XCTAssertEqual(a.nextGlobalBatch(), b.nextGlobalBatch(), "batch \(i) after restore") }
    }
  }

  func testSequentialIsFileOrder() {
    var s = GlobalBatchSampler(rows: 10..<35, globalBatch: 8, seed: 1, order: .sequential)
    XCTAssertEqual(s.nextGlobalBatch(), Array(10..<18))
    XCTAssertEqual(s.nextGlobalBatch(), Array(18..<26))
    XCTAssertEqual(s.nextGlobalBatch(), Array(26..<34))
    XCTAssertEqual(s.nextGlobalBatch(), Array(10..<18), "tail 34 dropped, next epoch restarts")
  }

  func testDeterministicInSeedAndEpochOnly() {
    var a = GlobalBatchSampler(rows: 0..<64, globalBatch: 64, seed: 5, order: .shuffled)
    var b = GlobalBatchSampler(
      rows: 0..<64, globalBatch: 64, seed: 5, order: .shuffled,
      state: .init(epoch: 3, batchInEpoch: 0))
    var c = GlobalBatchSampler(rows: 0..<64, globalBatch: 64, seed: 6, order: .shuffled)
    for _ in 0..<3 { _ = a.nextGlobalBatch() }
    XCTAssertEqual(a.nextGlobalBatch(), b.nextGlobalBatch())
    XCTAssertNotEqual(
      c.nextGlobalBatch(), GlobalBatchSampler(rows: 0..<64, globalBatch: 64, seed: 5, order: .shuffled).peek())
  }

  func testWindowedBatchTouchesFewBlocks() {
    // With blocks of 64 rows and windows of 4 blocks, a batch of 32 touches at most 8 blocks
    // (two windows at a boundary), whatever the dataset size.
    var s = GlobalBatchSampler(
      rows: 0..<64_000, globalBatch: 32, seed: 11, order: .shuffled,
      blockRows: 64, windowBlocks: 4)
    for _ in 0..<200 {
      let blocks = Set(s.nextGlobalBatch().map { $0 / 64 })
      XCTAssertLessThanOrEqual(blocks.count, 8)
    }
  }

  func testSplitMix64KnownValues() {
    // Reference values of SplitMix64 from state 0 (the published test vector of the algorithm).
    var g = SplitMix64(state: 0)
    XCTAssertEqual(g.next(), 0xE220_A839_7B1D_CDAF)
    XCTAssertEqual(g.next(), 0x6E78_9E6A_A1B9_65F4)
    var h = SplitMix64(state: 1)
    for _ in 0..<1000 { XCTAssertLessThan(h.next(below: 7), 7) }
  }
}

extension GlobalBatchSampler {
  /// The next batch without advancing (test helper).
  func peek() -> [Int] {
    var c = self
    return c.nextGlobalBatch()
  }
}

final class GlobalBatchSamplerStateTests: XCTestCase {
  func testResumedStateOutOfRangeIsATypedError() throws {
    let s = GlobalBatchSampler(
      rows: 0..<500, globalBatch: 48, seed: 1, order: .shuffled, blockRows: 20, windowBlocks: 3)
    XCTAssertNoThrow(try s.validate(SamplerState(epoch: 4, batchInEpoch: 9), source: "ckpt/sampler.json"))
    // The dataset shrank from 1000 to 500 rows since the checkpoint: batch 12 no longer exists.
    XCTAssertThrowsError(try s.validate(SamplerState(epoch: 0, batchInEpoch: 12), source: "ckpt/sampler.json")) { e in
      XCTAssertEqual(
        e as? SamplerStateError,
        .batchOutOfRange(
          source: "ckpt/sampler.json", batchInEpoch: 12,
          batchesPerEpoch: 10, rows: 500, globalBatch: 48))
    }
    XCTAssertThrowsError(try s.validate(SamplerState(epoch: 0, batchInEpoch: 10), source: "c")) { e in
      guard case .batchOutOfRange(_, 10, 10, _, _)? = e as? SamplerStateError else { return XCTFail("\(e)") }
    }
    XCTAssertThrowsError(try s.validate(SamplerState(epoch: 0, batchInEpoch: -1), source: "c")) { e in
      guard case .batchOutOfRange(_, -1, 10, _, _)? = e as? SamplerStateError else { return XCTFail("\(e)") }
    }
    XCTAssertThrowsError(try s.validate(SamplerState(epoch: -2, batchInEpoch: 0), source: "c")) { e in
      XCTAssertEqual(e as? SamplerStateError, .negativeEpoch(source: "c", epoch: -2))
    }
  }

  func testEpochRowsAndWindowPositionsAgreeWithBatches() {
    var a = GlobalBatchSampler(
      rows: 30..<1054, globalBatch: 64, seed: 3, order: .shuffled, blockRows: 16, windowBlocks: 5)
    var b = a
    var batches: [Int] = []
    for _ in 0..<a.batchesPerEpoch { batches += a.nextGlobalBatch() }
    XCTAssertEqual(b.epochRows(0..<batches.count, epoch: 0), batches)
    XCTAssertEqual(b.epochRows(100..<300, epoch: 0), Array(batches[100..<300]))
    // A window is a run of positions holding exactly the rows of its frames.
    let w = b.windowPositions(containing: 200, epoch: 0)
    XCTAssertTrue(w.contains(200))
    XCTAssertEqual(w.count, 5 * 16)
    let frames = Set(b.epochRows(w, epoch: 0).map { ($0 - 30) / 16 })
    XCTAssertEqual(frames.count, 5)
    XCTAssertEqual(b.state, SamplerState(epoch: 0, batchInEpoch: 0), "epochRows must not move the state")
  }
}
