import BAEIO
// Wall-clock timing for the benchmarks: medians after one warm-up (the machine is shared and noisy).
import Foundation

/// Monotonic seconds (BAEIO's clock).
func now() -> Double { monotonicSeconds() }

/// The median (upper middle for even counts); NaN for no samples.
func median(_ xs: [Double]) -> Double {
  let s = xs.sorted()
  return s.isEmpty ? .nan : s[s.count / 2]
}

/// Median seconds of `repeats` runs of `body` after one warm-up run (first touch, caches).
func timeMedian(_ repeats: Int, _ body: () throws -> Void) rethrows -> Double {
  try body()
  var ts: [Double] = []
  for _ in 0..<Swift.max(1, repeats) {
    let t = now()
    try body()
    ts.append(now() - t)
  }
  return median(ts)
}
