// Broadcast of buffers, arrays of root-only length and Codable values, from rank 0 and from the
// last rank.
import XCTest

@testable import BAEComm

private struct RunInfo: Codable, Equatable {
  var name: String
  var latentDim: Int
  var learningRate: Double
  var layers: [Int]
  var note: String?
}

private struct NotReadable: Error {}

final class BroadcastTests: XCTestCase {
  func testBufferBroadcastFromLastRank() throws {
    let comm = try Communicator.world()
    let root = comm.size - 1
    var values = (0..<9).map { Double(comm.rank) + Double($0) / 8 }
    try values.withUnsafeMutableBufferPointer { try comm.broadcast($0, root: root) }
    XCTAssertEqual(values, (0..<9).map { Double(root) + Double($0) / 8 })
  }

  func testArrayBroadcastResizesOtherRanks() throws {
    let comm = try Communicator.world()
    var bytes: [UInt8] = comm.isRoot ? Array("binary autoencoder".utf8) : [1, 2, 3]
    try comm.broadcast(&bytes)
    XCTAssertEqual(bytes, Array("binary autoencoder".utf8))
    var empty: [Int64] = comm.isRoot ? [] : [7, 7]
    try comm.broadcast(&empty)
    XCTAssertEqual(empty, [])
  }

  func testChunkedBroadcastMatches() throws {
    let comm = try Communicator.world().withChunkLimit(4)
    var values: [Float] = comm.isRoot ? (0..<11).map { Float($0) * 1.5 } : []
    try comm.broadcast(&values)
    XCTAssertEqual(values, (0..<11).map { Float($0) * 1.5 })
  }

  func testCodableValueProducedOnRootOnly() throws {
    let comm = try Communicator.world()
    let expected = RunInfo(
      name: "bae-ρ", latentDim: 4096, learningRate: 0.1 + 0.2,
      layers: [15, 16], note: nil)
    var producedHere = false
    let info = try comm.broadcast {
      producedHere = true
      return expected
    }
    XCTAssertEqual(info, expected)
    XCTAssertEqual(producedHere, comm.isRoot)
  }

  func testRootFailureReachesEveryRank() throws {
    let comm = try Communicator.world()
    XCTAssertThrowsError(try comm.broadcast { () throws -> RunInfo in throw NotReadable() }) { error in
      if comm.isRoot {
        XCTAssertTrue(error is NotReadable, "root rethrows its own error, got \(error)")
      } else {
        XCTAssertEqual(
          error as? CommError,
          .rootFailed(root: 0, operation: "broadcast of RunInfo"))
      }
    }
    // The ranks are still in step: a following collective works.
    XCTAssertEqual(try comm.allreduceSum(1), comm.size)
  }
}
