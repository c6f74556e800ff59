// Small collective benchmarks (used by scripts/bench_mpi.sh through the test bundle). Every rank
// runs the same number of iterations: the count is derived from an all-reduced probe time.

/// Timing of one collective at one message size.
public struct CollectiveTiming: Sendable, Codable, Equatable {
  /// "allreduce" or "allgather".
  public let operation: String
  /// Bytes per rank (the buffer each rank passes).
  public let bytes: Int
  /// Timed calls (after one warm-up call).
  public let iterations: Int
  /// Mean seconds per call, the slowest rank's mean.
  public let secondsPerCall: Double
  /// `bytes / secondsPerCall`, bytes per second.
  public var algorithmBandwidth: Double { Double(bytes) / secondsPerCall }
}

extension Communicator {
  /// Times in-place float32 `allreduce(.sum)` for each size in `byteSizes` (rounded down to whole
  /// floats, at least one), repeating each until about `targetSeconds` have passed.
  public func benchmarkAllreduce(
    byteSizes: [Int], targetSeconds: Double = 0.2,
    maxIterations: Int = 100_000
  ) throws -> [CollectiveTiming] {
    try byteSizes.map { bytes in
      let count = max(1, bytes / MemoryLayout<Float>.stride)
      // Zeros stay zero under repeated summation, so no reset (which would be timed) is needed.
      var buffer = [Float](repeating: 0, count: count)
      return try buffer.withUnsafeMutableBufferPointer { buffer in
        try time(
          "allreduce", bytes: count * MemoryLayout<Float>.stride,
          targetSeconds: targetSeconds, maxIterations: maxIterations
        ) {
          try allreduce(buffer, .sum)
        }
      }
    }
  }

  /// Times `allgather` of `bytesPerRank` bytes from every rank.
  public func benchmarkAllgather(
    bytesPerRank: Int, targetSeconds: Double = 0.2,
    maxIterations: Int = 100_000
  ) throws -> CollectiveTiming {
    let send = [UInt8](repeating: UInt8(truncatingIfNeeded: rank), count: bytesPerRank)
    var recv = [UInt8](repeating: 0, count: bytesPerRank * size)
    return try send.withUnsafeBufferPointer { send in
      try recv.withUnsafeMutableBufferPointer { recv in
        try time(
          "allgather", bytes: bytesPerRank, targetSeconds: targetSeconds,
          maxIterations: maxIterations
        ) { try allgather(send, into: recv) }
      }
    }
  }

  private func time(
    _ operation: String, bytes: Int, targetSeconds: Double, maxIterations: Int,
    _ call: () throws -> Void
  ) throws -> CollectiveTiming {
    try call()  // warm-up: connection set-up and first-touch of buffers
    // Probe with doubling batches until one takes a tenth of the target; the decision uses the
    // all-reduced time, so every rank stops at the same batch size.
    var batch = 1
    var probe = try allreduceMax(measure(batch, call))
    while probe < targetSeconds / 10 && batch < maxIterations {
      batch *= 2
      probe = try allreduceMax(measure(batch, call))
    }
    let perCall = max(probe / Double(batch), 1e-9)
    let iterations = max(1, min(maxIterations, Int(targetSeconds / perCall)))
    try barrier()
    let total = try allreduceMax(measure(iterations, call))
    return CollectiveTiming(
      operation: operation, bytes: bytes, iterations: iterations,
      secondsPerCall: total / Double(iterations))
  }

  private func measure(_ iterations: Int, _ call: () throws -> Void) throws -> Double {
    let clock = ContinuousClock()
    let start = clock.now
    for _ in 0..<iterations { try call() }
    let elapsed = clock.now - start
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
  }
}
