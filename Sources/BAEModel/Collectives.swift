// The few collective operations a training step needs, as a protocol so the model stays free of MPI:
// a single process uses `SingleProcess` (every reduction is the identity); BAETrain adapts MPI to it.

/// Collectives over the ranks sharing one global minibatch. All ranks call the same methods in the
/// same order (the usual MPI rule); implementations throw on communication failure.
public protocol Collectives: AnyObject {
  var rank: Int { get }
  var worldSize: Int { get }
  /// Element-wise sum across ranks, in place.
  func sum(_ x: UnsafeMutableBufferPointer<Float>) throws
  func sum(_ x: UnsafeMutableBufferPointer<Double>) throws
  func sum(_ x: UnsafeMutableBufferPointer<Int64>) throws
  func sum(_ x: UnsafeMutableBufferPointer<UInt64>) throws
  /// Element-wise maximum across ranks, in place.
  func max(_ x: UnsafeMutableBufferPointer<Double>) throws
  /// Concatenates every rank's `local` words in rank order into `global`; `counts[r]` words come from rank r.
  func gather(_ local: UnsafeBufferPointer<UInt64>, into global: UnsafeMutableBufferPointer<UInt64>, counts: [Int])
    throws
}

/// World of one: reductions are no-ops and gathering is a copy.
public final class SingleProcess: Collectives {
  /// The world of one process.
  public init() {}
  /// Always 0.
  public var rank: Int { 0 }
  /// Always 1.
  public var worldSize: Int { 1 }
  /// No-op: the local values are already the sum.
  public func sum(_ x: UnsafeMutableBufferPointer<Float>) {}
  /// No-op: the local values are already the sum.
  public func sum(_ x: UnsafeMutableBufferPointer<Double>) {}
  /// No-op: the local values are already the sum.
  public func sum(_ x: UnsafeMutableBufferPointer<Int64>) {}
  /// No-op: the local values are already the sum.
  public func sum(_ x: UnsafeMutableBufferPointer<UInt64>) {}
  /// No-op: the local values are already the maximum.
  public func max(_ x: UnsafeMutableBufferPointer<Double>) {}
  /// Copies `local` into `global` (`counts` must be `[local.count]`).
  public func gather(
    _ local: UnsafeBufferPointer<UInt64>, into global: UnsafeMutableBufferPointer<UInt64>, counts: [Int]
  ) {
    precondition(
      counts.count == 1 && counts[0] == local.count && global.count >= local.count,
      "gather counts \(counts) local \(local.count) global \(global.count)")
    _ = UnsafeMutableBufferPointer(rebasing: global[0..<local.count]).initialize(from: local)
  }
}
