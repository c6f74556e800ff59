// The text summary of per-bit firing rates that `bae entropy` prints instead of all d'·k rates.
// The bins are symmetric about 1/2: a bit that almost always fires is as uninformative as one that
// almost never does (Method.md §7), so both ends get the same resolution.
import Foundation

/// Counts of code bits by firing rate p, in fixed bins from "never fires" to "always fires".
struct RateHistogram {
  /// Bin labels, in order.
  static let labels = [
    "p = 0 (dead)", "0 < p < 0.01", "0.01 ≤ p < 0.1", "0.1 ≤ p < 0.3", "0.3 ≤ p ≤ 0.7",
    "0.7 < p ≤ 0.9", "0.9 < p ≤ 0.99", "0.99 < p < 1", "p = 1 (always on)",
  ]

  /// The bin of rate p ∈ [0, 1]: each p falls in exactly one.
  static func bin(_ p: Double) -> Int {
    switch p {
    case ...0: return 0
    case ..<0.01: return 1
    case ..<0.1: return 2
    case ..<0.3: return 3
    case ...0.7: return 4
    case ...0.9: return 5
    case ...0.99: return 6
    case ..<1: return 7
    default: return 8
    }
  }

  let counts: [Int]
  let rates: [Double]

  init(rates: [Double]) {
    self.rates = rates
    var counts = [Int](repeating: 0, count: Self.labels.count)
    for p in rates { counts[Self.bin(p)] += 1 }
    self.counts = counts
  }

  /// One line of quantiles, then one line per bin: label, count, and a bar scaled to the largest bin.
  func lines(barWidth: Int = 40) -> [String] {
    guard !rates.isEmpty else { return ["no code bits"] }
    let sorted = rates.sorted()
    func quantile(_ q: Double) -> Double { sorted[min(sorted.count - 1, Int(q * Double(sorted.count - 1) + 0.5))] }
    let mean = rates.reduce(0, +) / Double(rates.count)
    var out = [
      String(
        format: "firing rates of %d code bits: min %.4f, median %.4f, max %.4f, mean %.4f",
        rates.count, sorted[0], quantile(0.5), sorted[sorted.count - 1], mean)
    ]
    let top = max(1, counts.max() ?? 1)
    let width = Self.labels.map(\.count).max() ?? 0
    for (name, n) in zip(Self.labels, counts) {
      let bar = String(repeating: "#", count: n == 0 ? 0 : max(1, n * barWidth / top))
      let label = name + String(repeating: " ", count: width - name.count)
      out.append("  \(label)  \(String(format: "%7d", n))" + (bar.isEmpty ? "" : "  " + bar))
    }
    return out
  }
}
