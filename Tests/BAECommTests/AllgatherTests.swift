// All-gather of equal and rank-dependent block sizes, single-call and chunked paths.
import XCTest

@testable import BAEComm

final class AllgatherTests: XCTestCase {
  /// Rank r's block for the allgatherv tests: r + 2 elements (r·1000 + i) when r is even, none
  /// when r is odd (so empty contributions are covered from 2 ranks on), using UInt64 bit patterns.
  private func block(of r: Int) -> [UInt64] {
    r % 2 == 1 ? [] : (0..<(r + 2)).map { UInt64(r * 1000 + $0) | (1 << 63) }
  }

  func testAllgatherFixedSizeBytes() throws {
    let comm = try Communicator.world()
    let perRank = 5
    let mine = (0..<perRank).map { UInt8(truncatingIfNeeded: comm.rank * 10 + $0) }
    let all = try comm.allgather(mine)
    let expected = (0..<comm.size).flatMap { r in
      (0..<perRank).map { UInt8(truncatingIfNeeded: r * 10 + $0) }
    }
    XCTAssertEqual(all, expected)
  }

  func testAllgatherFixedSizeUInt64IntoBuffer() throws {
    let comm = try Communicator.world()
    let mine: [UInt64] = [UInt64(comm.rank), UInt64.max - UInt64(comm.rank)]
    var recv = [UInt64](repeating: 0, count: 2 * comm.size)
    try mine.withUnsafeBufferPointer { send in
      try recv.withUnsafeMutableBufferPointer { try comm.allgather(send, into: $0) }
    }
    XCTAssertEqual(recv, (0..<comm.size).flatMap { [UInt64($0), UInt64.max - UInt64($0)] })
  }

  func testAllgatherCounts() throws {
    let comm = try Communicator.world()
    XCTAssertEqual(try comm.allgatherCounts(3 * comm.rank + 1), (0..<comm.size).map { 3 * $0 + 1 })
  }

  func testAllgathervReconstructsTheConcatenation() throws {
    let comm = try Communicator.world()
    let (values, counts) = try comm.allgatherv(block(of: comm.rank))
    XCTAssertEqual(counts, (0..<comm.size).map { block(of: $0).count })
    XCTAssertEqual(values, (0..<comm.size).flatMap { block(of: $0) })
  }

  func testAllgathervWithGivenCountsIntoBuffer() throws {
    let comm = try Communicator.world()
    let counts = (0..<comm.size).map { block(of: $0).count }
    var recv = [UInt64](repeating: 0, count: counts.reduce(0, +))
    try block(of: comm.rank).withUnsafeBufferPointer { send in
      try recv.withUnsafeMutableBufferPointer { try comm.allgatherv(send, counts: counts, into: $0) }
    }
    XCTAssertEqual(recv, (0..<comm.size).flatMap { block(of: $0) })
  }

  func testChunkedPathsMatchTheConcatenation() throws {
    let world = try Communicator.world()
    let expectedV = (0..<world.size).flatMap { block(of: $0) }
    let fixed = (0..<7).map { Float(world.rank) * 100 + Float($0) }
    let expectedFixed = (0..<world.size).flatMap { r in (0..<7).map { Float(r) * 100 + Float($0) } }
    // Limits below the per-rank count force several rounds; 1 forces one element per rank per round.
    for limit in [1, 2, 3, 5, 6] {
      let comm = world.withChunkLimit(limit)
      let (values, counts) = try comm.allgatherv(block(of: comm.rank))
      XCTAssertEqual(values, expectedV, "allgatherv, chunk limit \(limit)")
      XCTAssertEqual(counts.reduce(0, +), expectedV.count)
      XCTAssertEqual(try comm.allgather(fixed), expectedFixed, "allgather, chunk limit \(limit)")
    }
  }
}
