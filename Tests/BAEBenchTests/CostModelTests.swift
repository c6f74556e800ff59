import Foundation
import XCTest

@testable import BAEBench
// The scaling cost model's arithmetic (Documentation/Distributed.md): collective formulas, the α/β
// fits on synthetic timings with known answers, the bytes a step exchanges, and the metrics summary.
@testable import BAEComm
@testable import BAETrain

final class CostModelTests: XCTestCase {
  let link = LinkModel(name: "test", latency: 2e-6, bandwidth: 12e9)

  func testCollectiveFormulas() {
    XCTAssertEqual(link.allreduce(bytes: 1e6, ranks: 1), 0)
    // R = 2: ring 2·(1/2)·b/β + 2α beats the tree 2·(α + b/β)
    XCTAssertEqual(link.allreduce(bytes: 1e8, ranks: 2), 1e8 / 12e9 + 4e-6, accuracy: 1e-12)
    // R = 4, large message: ring 2·(3/4)·b/β + 6α
    XCTAssertEqual(link.allreduce(bytes: 1e8, ranks: 4), 1.5 * 1e8 / 12e9 + 6 * 2e-6, accuracy: 1e-12)
    // R = 256, 8 bytes: the tree (2·8 steps) beats the ring's 510 latencies
    XCTAssertEqual(link.allreduce(bytes: 8, ranks: 256), 16 * (2e-6 + 8 / 12e9), accuracy: 1e-12)
    XCTAssertEqual(link.allgather(totalBytes: 4e6, ranks: 4), 0.75 * 4e6 / 12e9 + 3 * 2e-6, accuracy: 1e-12)
  }

  func testFitsRecoverKnownLatencyAndBandwidth() {
    let sizes = [8, 64, 512, 4096, 1 << 20, 1 << 22, 1 << 24]
    let alpha = 0.3e-6, beta = 5e9
    let ar = sizes.map {
      CollectiveTiming(operation: "allreduce", bytes: $0, iterations: 1, secondsPerCall: 2 * alpha + Double($0) / beta)
    }
    let ag = sizes.map {
      CollectiveTiming(operation: "allgather", bytes: $0, iterations: 1, secondsPerCall: alpha + Double($0) / beta)
    }
    let fr = LinkModel.fitAllreduce(ar, name: "ar"), fg = LinkModel.fitAllgather(ag, name: "ag")
    XCTAssertEqual(fr.latency, alpha, accuracy: 0.01 * alpha)
    XCTAssertEqual(fr.bandwidth, beta, accuracy: 1e-3 * beta)
    XCTAssertEqual(fg.latency, alpha, accuracy: 0.01 * alpha)
    XCTAssertEqual(fg.bandwidth, beta, accuracy: 1e-3 * beta)
  }

  func testStepTrafficAtTheBenchmarkShape() {
    let t = StepTraffic(inputDim: 2048, latentDim: 8192, localRows: 512)
    XCTAssertEqual(t.gradientBytes, Double(4 * (2 * 2048 * 8192 + 8192 + 2048)))  // 128 MiB + 40 KiB
    XCTAssertEqual(t.signPlaneBytes, 16 * 1024 * 1024)  // 2 · 8192 rows · 1 KiB
    XCTAssertEqual(t.codeBytesPerRank, 512 * 1024)  // 512 rows · 8192 bits
  }

  func testSummarizeTakesMediansAfterWarmup() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bae-cost-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let url = dir.appendingPathComponent("metrics.jsonl")
    var lines: [String] = []
    for (i, c) in [9.0, 9.0, 1.0, 3.0, 2.0].enumerated() {  // two warm-up steps, then 1, 3, 2
      lines.append(
        #"{"step":\#(i + 1),"loss":1,"mse":1,"fvu":1,"entropy":1,"entropyWeight":0,"l0":1,"deadBits":0,"denseBits":0,"nearConstantBits":0,"rowsPerSecond":1,"computeSeconds":\#(c),"communicationSeconds":0.5,"inputWaitSeconds":0,"elapsedSeconds":1}"#
      )
    }
    lines.append(#"{"step":5,"validation":{}}"#)
    try lines.joined(separator: "\n").write(to: url, atomically: true, encoding: .utf8)
    let run = try WeakScalingRun.summarize(metrics: url, ranks: 2, warmupSteps: 2)
    XCTAssertEqual(run.steps, 3)
    XCTAssertEqual(run.computeSeconds, 2.0, accuracy: 1e-12)
    XCTAssertEqual(run.communicationSeconds, 0.5, accuracy: 1e-12)
    XCTAssertThrowsError(
      try WeakScalingRun.summarize(metrics: dir.appendingPathComponent("none.jsonl"), ranks: 1, warmupSteps: 0))
  }
}
