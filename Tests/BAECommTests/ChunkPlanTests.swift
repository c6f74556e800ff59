// The chunk splitter alone (no MPI): ranges cover the count exactly, respect the limit, and an
// empty buffer still yields one (empty) call.
import XCTest

@testable import BAEComm

final class ChunkPlanTests: XCTestCase {
  func testSplitsIntoRangesOfAtMostTheLimit() {
    XCTAssertEqual(Array(ChunkPlan(count: 10, limit: 3)), [0..<3, 3..<6, 6..<9, 9..<10])
    XCTAssertEqual(ChunkPlan(count: 10, limit: 3).chunkCount, 4)
    XCTAssertEqual(Array(ChunkPlan(count: 9, limit: 3)), [0..<3, 3..<6, 6..<9])
    XCTAssertEqual(Array(ChunkPlan(count: 2, limit: 3)), [0..<2])
    XCTAssertEqual(Array(ChunkPlan(count: 5, limit: 1)), [0..<1, 1..<2, 2..<3, 3..<4, 4..<5])
  }

  func testEmptyCountYieldsOneEmptyCall() {
    XCTAssertEqual(Array(ChunkPlan(count: 0, limit: 3)), [0..<0])
    XCTAssertEqual(ChunkPlan(count: 0, limit: 3).chunkCount, 1)
  }

  func testDefaultLimitIsTheCIntMaximum() {
    let count = Int(Int32.max) * 2 + 5
    let chunks = Array(ChunkPlan(count: count))
    XCTAssertEqual(chunks.map(\.count), [Int(Int32.max), Int(Int32.max), 5])
    XCTAssertEqual(chunks.last?.upperBound, count)
  }

  func testRangesAreContiguousForManyShapes() {
    for count in 0...40 {
      for limit in 1...7 {
        let chunks = Array(ChunkPlan(count: count, limit: limit))
        XCTAssertEqual(chunks.count, ChunkPlan(count: count, limit: limit).chunkCount)
        XCTAssertEqual(chunks.first?.lowerBound, 0)
        XCTAssertEqual(chunks.last?.upperBound, count)
        XCTAssertTrue(chunks.allSatisfy { $0.count <= limit })
        for (a, b) in zip(chunks, chunks.dropFirst()) { XCTAssertEqual(a.upperBound, b.lowerBound) }
      }
    }
  }
}
