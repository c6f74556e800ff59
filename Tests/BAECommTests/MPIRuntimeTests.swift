// MPIRuntime.run inside a process whose MPI was initialised lazily (as in every test binary):
// the body gets its own duplicate communicator, results and errors pass through, and MPI stays
// usable afterwards (finalisation is left to process exit).
import XCTest

@testable import BAEComm

private struct BodyFailed: Error, Equatable {}

final class MPIRuntimeTests: XCTestCase {
  func testRunGivesTheBodyAWorkingDuplicate() throws {
    let world = try Communicator.world()
    let sum = try MPIRuntime.run { comm in
      XCTAssertEqual(comm.rank, world.rank)
      XCTAssertEqual(comm.size, world.size)
      XCTAssertFalse(comm.handle === world.handle, "run must duplicate MPI_COMM_WORLD")
      return try comm.allreduceSum(comm.rank + 1)
    }
    XCTAssertEqual(sum, world.size * (world.size + 1) / 2)
    XCTAssertEqual(try world.allreduceSum(1), world.size)
  }

  func testRunRethrowsTheBodyErrorAndFreesItsCommunicator() throws {
    // Initialise lazily first: otherwise this run would own MPI and finalise it, and later tests
    // in this process could not use MPI any more.
    _ = try Communicator.world()
    var escaped: Communicator?
    XCTAssertThrowsError(
      try MPIRuntime.run { comm -> Int in
        escaped = comm
        throw BodyFailed()
      }
    ) { error in XCTAssertEqual(error as? BodyFailed, BodyFailed()) }
    XCTAssertNil(escaped?.handle.comm, "the body's communicator is freed when run returns")
    let world = try Communicator.world()
    XCTAssertEqual(try world.allreduceSum(1), world.size)
  }

  func testWorldIsInitialisedOnceAndShared() throws {
    let a = try Communicator.world()
    let b = try Communicator.world()
    XCTAssertTrue(a === b)
  }
}
