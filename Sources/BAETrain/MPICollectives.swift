// Adapts the typed MPI communicator to the model's `Collectives`, through which the training step and the
// trainer's start-up agreement run; the launcher (Sources/bae/Launch.swift) uses BAEComm directly.
import BAEComm
import BAEModel

/// The model layer's `Collectives` over an MPI communicator: every call is one MPI collective.
public final class MPICollectives: Collectives {
  /// The communicator every rank of the run shares.
  public let comm: Communicator
  /// Collectives over `comm`.
  public init(_ comm: Communicator) { self.comm = comm }
  /// This process's MPI rank.
  public var rank: Int { comm.rank }
  /// The communicator's size R.
  public var worldSize: Int { comm.size }
  /// MPI_Allreduce with MPI_SUM, in place.
  public func sum(_ x: UnsafeMutableBufferPointer<Float>) throws { try comm.allreduce(x, .sum) }
  /// MPI_Allreduce with MPI_SUM, in place.
  public func sum(_ x: UnsafeMutableBufferPointer<Double>) throws { try comm.allreduce(x, .sum) }
  /// MPI_Allreduce with MPI_SUM, in place.
  public func sum(_ x: UnsafeMutableBufferPointer<Int64>) throws { try comm.allreduce(x, .sum) }
  /// MPI_Allreduce with MPI_SUM, in place.
  public func sum(_ x: UnsafeMutableBufferPointer<UInt64>) throws { try comm.allreduce(x, .sum) }
  /// MPI_Allreduce with MPI_MAX, in place.
  public func max(_ x: UnsafeMutableBufferPointer<Double>) throws { try comm.allreduce(x, .max) }
  /// MPI_Allgatherv of every rank's `local` words, in rank order, into `global`; `counts[r]` words come from rank r.
  public func gather(
    _ local: UnsafeBufferPointer<UInt64>, into global: UnsafeMutableBufferPointer<UInt64>,
    counts: [Int]
  ) throws {
    try comm.allgatherv(local, counts: counts, into: global)
  }
}
