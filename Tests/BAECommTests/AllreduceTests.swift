// All-reduce on the real communicator. Expected values are closed forms in rank and size, so the
// same assertions hold for 1 (plain `swift test`), 2 and 4 ranks (scripts/test_mpi.sh).
import XCTest

@testable import BAEComm

final class AllreduceTests: XCTestCase {
  func testRankAndSizeAreConsistent() throws {
    let comm = try Communicator.world()
    XCTAssertGreaterThanOrEqual(comm.size, 1)
    XCTAssertTrue((0..<comm.size).contains(comm.rank))
    XCTAssertEqual(comm.isRoot, comm.rank == 0)
    // Every rank is counted exactly once and the ranks are 0..<size.
    XCTAssertEqual(try comm.allreduceSum(1), comm.size)
    XCTAssertEqual(try comm.allreduceSum(comm.rank), comm.size * (comm.size - 1) / 2)
    XCTAssertEqual(try comm.allreduceMin(comm.rank), 0)
    XCTAssertEqual(try comm.allreduceMax(comm.rank), comm.size - 1)
  }

  func testScalarSumMinMax() throws {
    let comm = try Communicator.world()
    let n = comm.size
    let r = comm.rank
    XCTAssertEqual(try comm.allreduceSum(Double(r + 1)), Double(n * (n + 1) / 2))
    XCTAssertEqual(try comm.allreduceSum(Float(r + 1)), Float(n * (n + 1) / 2))
    XCTAssertEqual(try comm.allreduceSum(Int64(r + 1) << 40), Int64(n * (n + 1) / 2) << 40)
    XCTAssertEqual(try comm.allreduceSum(UInt64(r + 1)), UInt64(n * (n + 1) / 2))
    XCTAssertEqual(try comm.allreduceMin(Double(r) - 0.5), -0.5)
    XCTAssertEqual(try comm.allreduceMax(Double(r) - 0.5), Double(n - 1) - 0.5)
    XCTAssertEqual(try comm.allreduceMin(UInt64.max - UInt64(r)), UInt64.max - UInt64(n - 1))
    XCTAssertEqual(try comm.allreduceMax(Int64(-r)), 0)
  }

  func testBufferSumMinMaxForEveryElementType() throws {
    let comm = try Communicator.world()
    let n = comm.size
    let r = comm.rank
    let count = 37
    // Element i on rank r is i * (r + 1): sum i·n(n+1)/2, min i (rank 0), max i·n.
    func check<T: MPIReducible & Equatable>(
      _ make: (Int) -> T, _ type: T.Type,
      file: StaticString = #filePath,
      line: UInt = #line
    ) throws {
      for (op, expected) in [(ReduceOp.sum, n * (n + 1) / 2), (.min, 1), (.max, n)] {
        var values = (0..<count).map { make($0 * (r + 1)) }
        try values.withUnsafeMutableBufferPointer { try comm.allreduce($0, op) }
        XCTAssertEqual(
          values, (0..<count).map { make($0 * expected) }, "\(T.self) \(op)",
          file: file, line: line)
      }
    }
    try check({ Float($0) }, Float.self)
    try check({ Double($0) }, Double.self)
    try check({ Int64($0) }, Int64.self)
    try check({ UInt64($0) }, UInt64.self)
    try check({ Int32($0) }, Int32.self)
    try check({ $0 }, Int.self)
  }

  func testArrayAllreduceWithTinyChunkLimitMatchesSingleCall() throws {
    let world = try Communicator.world()
    let r = world.rank
    let original = (0..<23).map { Double($0) * 0.25 + Double(r) }
    var whole = original
    try world.allreduce(&whole, .sum)
    for limit in [1, 3, 22, 23, 100] {
      var chunked = original
      try world.withChunkLimit(limit).allreduce(&chunked, .sum)
      XCTAssertEqual(chunked, whole, "chunk limit \(limit)")
    }
    var empty: [Float] = []
    try world.withChunkLimit(4).allreduce(&empty, .max)
    XCTAssertEqual(empty, [])
  }

  func testLogicalOrAndAnd() throws {
    let comm = try Communicator.world()
    let last = comm.rank == comm.size - 1
    XCTAssertTrue(try comm.allreduceOr(last))
    XCTAssertFalse(try comm.allreduceOr(false))
    XCTAssertTrue(try comm.allreduceOr(true))
    XCTAssertEqual(try comm.allreduceAnd(last), comm.size == 1)
    XCTAssertTrue(try comm.allreduceAnd(true))
    XCTAssertFalse(try comm.allreduceAnd(false))
  }

  func testBarrierReturns() throws {
    let comm = try Communicator.world()
    try comm.barrier()
    try comm.barrier()
    XCTAssertEqual(try comm.allreduceSum(1), comm.size)
  }
}
