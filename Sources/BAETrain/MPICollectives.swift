// Adapts the typed MPI communicator to the model's `Collectives`, through which the training step and the
// trainer's start-up agreement run; the launcher (Sources/bae/Launch.swift) uses BAEComm directly.
import BAEComm
import BAEModel

public final class MPICollectives: Collectives {
  public let comm: Communicator
  public init(_ comm: Communicator) { self.comm = comm }
  public var rank: Int { comm.rank }
  public var worldSize: Int { comm.size }
  public func sum(_ x: UnsafeMutableBufferPointer<Float>) throws { try comm.allreduce(x, .sum) }
  public func sum(_ x: UnsafeMutableBufferPointer<Double>) throws { try comm.allreduce(x, .sum) }
  public func sum(_ x: UnsafeMutableBufferPointer<Int64>) throws { try comm.allreduce(x, .sum) }
  public func sum(_ x: UnsafeMutableBufferPointer<UInt64>) throws { try comm.allreduce(x, .sum) }
  public func max(_ x: UnsafeMutableBufferPointer<Double>) throws { try comm.allreduce(x, .max) }
  public func gather(
    _ local: UnsafeBufferPointer<UInt64>, into global: UnsafeMutableBufferPointer<UInt64>,
    counts: [Int]
  ) throws {
    try comm.allgatherv(local, counts: counts, into: global)
  }
}
