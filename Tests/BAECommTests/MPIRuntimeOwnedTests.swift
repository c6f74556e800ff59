// MPIRuntime.run in a fresh process where it owns MPI: it initialises, finalises when the body
// returns or throws, and MPI cannot come back; Communicator.abort ends the process with its code. Finalising would break every later test in this
// process, so the test re-runs itself in a child process (a singleton, environment scrubbed of
// the mpirun variables) and checks the child's XCTest result.
import Foundation
import XCTest

@testable import BAEComm

private struct BodyFailed: Error, Equatable {}

final class MPIRuntimeOwnedTests: XCTestCase {
  private static let modeVariable = "BAE_COMM_OWNED_RUN_CHILD"

  func testRunInitialisesAndFinalisesItsOwnMPI() throws {
    if let mode = ProcessInfo.processInfo.environment[Self.modeVariable] {
      if mode == "abort" { try Communicator.world().abort(code: 7) }
      try childBody(throwing: mode == "throws")
      return
    }
    for mode in ["returns", "throws"] {
      let (status, output) = try runChild(mode: mode)
      XCTAssertEqual(status, 0, "child (\(mode)) failed:\n\(output)")
      XCTAssertTrue(output.contains("Executed 1 test, with 0 failures"), "child (\(mode)):\n\(output)")
    }
  }

  func testAbortEndsTheProcessWithTheCode() throws {
    guard ProcessInfo.processInfo.environment[Self.modeVariable] == nil else { return }
    let (status, output) = try runChild(mode: "abort")
    XCTAssertEqual(status, 7, "MPI_Abort(7) should end the child with status 7:\n\(output)")
    XCTAssertFalse(output.contains("Executed 1 test"), "the child must not reach the end of the test")
  }

  /// Runs in the child: the first MPI use of the process is MPIRuntime.run.
  private func childBody(throwing: Bool) throws {
    if throwing {
      XCTAssertThrowsError(
        try MPIRuntime.run { comm -> Int in
          XCTAssertEqual(try comm.allreduceSum(comm.rank + 1), 1)
          throw BodyFailed()
        }
      ) { XCTAssertEqual($0 as? BodyFailed, BodyFailed()) }
    } else {
      let (size, sum) = try MPIRuntime.run { comm in (comm.size, try comm.allreduceSum(comm.rank + 1)) }
      XCTAssertEqual(size, 1, "the child is a singleton")
      XCTAssertEqual(sum, 1)
    }
    // Finalised in both cases: MPI cannot be initialised again, versions still work.
    XCTAssertThrowsError(try Communicator.world()) {
      XCTAssertEqual($0 as? CommError, .alreadyFinalized)
    }
    XCTAssertThrowsError(try MPIRuntime.run { _ in 0 }) {
      XCTAssertEqual($0 as? CommError, .alreadyFinalized)
    }
    XCTAssertTrue(try MPIRuntime.libraryVersion.contains("Open MPI"))
  }

  private func runChild(mode: String) throws -> (Int32, String) {
    let child = Process()
    child.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
    child.arguments = ["BAECommTests.MPIRuntimeOwnedTests/testRunInitialisesAndFinalisesItsOwnMPI"]
    // Without the launcher's variables the child starts as its own singleton job.
    var environment = ProcessInfo.processInfo.environment.filter { key, _ in
      !key.hasPrefix("OMPI_COMM_") && !key.hasPrefix("PMIX_") && !key.hasPrefix("OMPI_MCA_ess")
        && !key.hasPrefix("OMPI_MCA_orte") && !key.hasPrefix("OMPI_MCA_pmix")
    }
    environment[Self.modeVariable] = mode
    child.environment = environment
    let pipe = Pipe()
    child.standardOutput = pipe
    child.standardError = pipe
    try child.run()
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    child.waitUntilExit()
    return (child.terminationStatus, output)
  }
}
