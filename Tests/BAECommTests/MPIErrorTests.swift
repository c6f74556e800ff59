import CMPI
// Real MPI failures come back as typed errors (not crashes), and version queries work.
import XCTest

@testable import BAEComm

final class MPIErrorTests: XCTestCase {
  func testInvalidRootThrowsMPIErrorNamingTheFunction() throws {
    let comm = try Communicator.world()
    var values: [Int32] = [1, 2, 3]
    // root == size is out of range on every rank, so every rank gets the same error.
    XCTAssertThrowsError(
      try values.withUnsafeMutableBufferPointer {
        try comm.broadcast($0, root: comm.size)
      }
    ) { error in
      guard let error = error as? MPIError else { return XCTFail("expected MPIError, got \(error)") }
      XCTAssertEqual(error.function, "MPI_Bcast")
      XCTAssertEqual(error.errorClass, MPI_ERR_ROOT)
      XCTAssertFalse(error.message.isEmpty)
      XCTAssertTrue(error.description.contains("MPI_Bcast"), error.description)
      XCTAssertTrue(error.description.contains(error.message), error.description)
    }
    // An empty buffer still makes the call, so the error is reported there too.
    XCTAssertThrowsError(
      try comm.broadcast(
        UnsafeMutableBufferPointer<Float>(start: nil, count: 0),
        root: -1)
    ) { error in
      XCTAssertEqual((error as? MPIError)?.errorClass, MPI_ERR_ROOT)
    }
    // The error did not break the communicator.
    XCTAssertEqual(try comm.allreduceSum(1), comm.size)
    XCTAssertEqual(values, [1, 2, 3])
  }

  func testInvalidRootThroughArrayAndCodableBroadcasts() throws {
    let comm = try Communicator.world()
    var array: [UInt8] = [9]
    XCTAssertThrowsError(try comm.broadcast(&array, root: comm.size + 3)) { error in
      XCTAssertEqual((error as? MPIError)?.function, "MPI_Bcast")
    }
    XCTAssertThrowsError(try comm.broadcast(root: -2) { 42 }) { error in
      XCTAssertEqual((error as? MPIError)?.errorClass, MPI_ERR_ROOT)
    }
  }

  func testErrorTextComesFromTheLibrary() throws {
    _ = try Communicator.world()  // MPI_Error_string needs a live MPI
    let error = MPIError(function: "MPI_Allreduce", code: MPI_ERR_COUNT)
    XCTAssertEqual(error.errorClass, MPI_ERR_COUNT)
    XCTAssertTrue(error.message.lowercased().contains("count"), error.message)
    XCTAssertTrue(error.description.hasPrefix("MPI_Allreduce failed with MPI error"))
  }

  func testVersions() throws {
    let library = try MPIRuntime.libraryVersion
    XCTAssertTrue(library.contains("Open MPI"), library)
    XCTAssertFalse(library.hasSuffix("\n"))
    let standard = try MPIRuntime.standardVersion
    XCTAssertTrue(standard.hasPrefix("3."), standard)
  }
}
