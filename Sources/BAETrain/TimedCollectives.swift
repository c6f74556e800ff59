import BAEIO
// Wraps the run's collectives to time them: each step's time is split into compute,
// communication and input wait, and communication is whatever passes through here.
import BAEModel
import Foundation

final class TimedCollectives: Collectives {
  let base: Collectives
  private(set) var seconds: Double = 0
  init(_ base: Collectives) { self.base = base }
  var rank: Int { base.rank }
  var worldSize: Int { base.worldSize }

  private func timed(_ body: () throws -> Void) rethrows {
    let t = DispatchTime.now().uptimeNanoseconds
    defer { seconds += Double(DispatchTime.now().uptimeNanoseconds - t) * 1e-9 }
    try body()
  }
  func sum(_ x: UnsafeMutableBufferPointer<Float>) throws { try timed { try base.sum(x) } }
  func sum(_ x: UnsafeMutableBufferPointer<Double>) throws { try timed { try base.sum(x) } }
  func sum(_ x: UnsafeMutableBufferPointer<Int64>) throws { try timed { try base.sum(x) } }
  func sum(_ x: UnsafeMutableBufferPointer<UInt64>) throws { try timed { try base.sum(x) } }
  func max(_ x: UnsafeMutableBufferPointer<Double>) throws { try timed { try base.max(x) } }
  func gather(_ local: UnsafeBufferPointer<UInt64>, into global: UnsafeMutableBufferPointer<UInt64>, counts: [Int])
    throws
  {
    try timed { try base.gather(local, into: global, counts: counts) }
  }
}

/// Monotonic seconds (BAEIO's clock).
func now() -> Double { monotonicSeconds() }
