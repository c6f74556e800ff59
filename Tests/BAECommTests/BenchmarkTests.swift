// The collective benchmark. By default a tiny smoke run (checks the timings are sane); with
// BAE_MPI_BENCH=1 (scripts/bench_mpi.sh) the full size sweep, printed by rank 0.
import Foundation
import XCTest

@testable import BAEComm

final class BenchmarkTests: XCTestCase {
  func testCollectiveBenchmark() throws {
    let comm = try Communicator.world()
    let full = ProcessInfo.processInfo.environment["BAE_MPI_BENCH"] == "1"
    let sizes = full ? (0...23).map { 8 << $0 } : [8, 4096]  // 8 B ... 64 MiB
    let target = full ? 0.3 : 0.01
    let allreduce = try comm.benchmarkAllreduce(byteSizes: sizes, targetSeconds: target)
    let allgather = try comm.benchmarkAllgather(
      bytesPerRank: full ? 512 << 10 : 1024,
      targetSeconds: target)
    XCTAssertEqual(allreduce.map(\.bytes), sizes)
    for timing in allreduce + [allgather] {
      XCTAssertGreaterThan(timing.iterations, 0)
      XCTAssertTrue(timing.secondsPerCall.isFinite && timing.secondsPerCall > 0, "\(timing)")
    }
    // The benchmark ran collectives: every rank agrees on the (max-reduced) timing.
    XCTAssertEqual(try comm.allreduceMax(allgather.secondsPerCall), allgather.secondsPerCall)
    guard full, comm.isRoot else { return }
    print("ranks \(comm.size); \(try MPIRuntime.libraryVersion.split(separator: ",").first ?? "")")
    print("operation  bytes/rank  iterations  time/call       bandwidth")
    for t in allreduce + [allgather] {
      let time =
        t.secondsPerCall < 1e-3
        ? String(format: "%9.2f µs", t.secondsPerCall * 1e6)
        : String(format: "%9.3f ms", t.secondsPerCall * 1e3)
      print(
        String(format: "%-10@ %10d  %10d  ", t.operation as NSString, t.bytes, t.iterations)
          + time + String(format: "  %8.3f GB/s", t.algorithmBandwidth / 1e9))
    }
  }
}
