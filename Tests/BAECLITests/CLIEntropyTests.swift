// `bae entropy` output: the text form is a summary plus a firing-rate histogram (the per-bit rates
// belong to --json), and NaN/Inf rows are refused with the row, column and count, as in training.
import BAEIO
import Foundation
import XCTest

final class CLIEntropyTests: XCTestCase {
  /// The histogram's bins, written out independently of the command: (label, contains p).
  static let bins: [(String, @Sendable (Double) -> Bool)] = [
    ("p = 0 (dead)", { $0 == 0 }), ("0 < p < 0.01", { $0 > 0 && $0 < 0.01 }),
    ("0.01 ≤ p < 0.1", { $0 >= 0.01 && $0 < 0.1 }), ("0.1 ≤ p < 0.3", { $0 >= 0.1 && $0 < 0.3 }),
    ("0.3 ≤ p ≤ 0.7", { $0 >= 0.3 && $0 <= 0.7 }), ("0.7 < p ≤ 0.9", { $0 > 0.7 && $0 <= 0.9 }),
    ("0.9 < p ≤ 0.99", { $0 > 0.9 && $0 <= 0.99 }), ("0.99 < p < 1", { $0 > 0.99 && $0 < 1 }),
    ("p = 1 (always on)", { $0 == 1 }),
  ]

  func testTextOutputIsASummaryAndAHistogramMatchingTheJSONRates() throws {
    let run = try SharedRun.get()
    let json = try CLI.succeed(["entropy", "--model", run.out.path, "--data", run.data.path, "--json"])
    let rates = try XCTUnwrap(try jsonObject(Data(json.stdout.utf8), what: "entropy --json")["rates"] as? [Double])
    XCTAssertEqual(rates.count, SharedRun.latent)

    let text = try CLI.succeed(["entropy", "--model", run.out.path, "--data", run.data.path])
    let lines = text.stdout.split(separator: "\n").map(String.init)
    XCTAssertLessThanOrEqual(
      lines.count, 2 + Self.bins.count + 1, "no per-bit listing in text mode:\n\(text.transcript)")
    XCTAssertFalse(
      lines.contains { $0.split(separator: " ").count > SharedRun.latent / 2 },
      "a line as long as the rate list:\n\(text.transcript)")
    XCTAssertTrue(lines[0].hasPrefix("entropy: "), text.transcript)
    XCTAssertTrue(lines[1].hasPrefix("firing rates of \(SharedRun.latent) code bits: "), text.transcript)
    let sorted = rates.sorted()
    XCTAssertTrue(lines[1].contains(String(format: "min %.4f", sorted[0])), text.transcript)
    XCTAssertTrue(lines[1].contains(String(format: "max %.4f", sorted[sorted.count - 1])), text.transcript)

    var total = 0
    for (label, contains) in Self.bins {
      let line = try XCTUnwrap(lines.first { $0.hasPrefix("  " + label + " ") }, "no bin \(label):\n\(text.transcript)")
      let fields = line.dropFirst(2 + label.count).split(separator: " ")
      let count = try XCTUnwrap(fields.first.flatMap { Int($0) }, line)
      XCTAssertEqual(count, rates.filter(contains).count, "bin \(label):\n\(text.transcript)")
      XCTAssertEqual(fields.count > 1, count > 0, "a bar exactly for non-empty bins: \(line)")
      total += count
    }
    XCTAssertEqual(total, SharedRun.latent)
    XCTAssertTrue(text.stdout.contains("--json"), "text mode says where the rates are:\n\(text.transcript)")
  }

  func testNaNAndInfRowsAreNamedNotAveraged() throws {
    let run = try SharedRun.get()
    let dir = try makeTemporaryDirectory(self, "entropy-nan")
    var a = try Npy.read(run.data)
    a.values[37 * SharedRun.dim + 5] = .nan
    a.values[500 * SharedRun.dim + 3] = -.infinity
    let bad = dir.appendingPathComponent("with-nan.npy")
    try Npy.write(a.values, shape: a.shape, to: bad)
    for extra in [[], ["--json"], ["--chunk", "7"]] {
      let r = try CLI.fail(
        ["entropy", "--model", run.out.path, "--data", bad.path] + extra,
        mentioning: [bad.path, "row 37", "column 5", "2 rows", "NaN/Inf"])
      XCTAssertEqual(r.status, 1, r.transcript)
      XCTAssertFalse(r.stdout.contains("nan"), "no NaN statistics may be printed:\n\(r.transcript)")
      XCTAssertFalse(r.stdout.contains("entropy"), r.transcript)
    }
  }

  func testZeroChunkIsAUsageError() throws {
    let run = try SharedRun.get()
    let r = try CLI.run(["entropy", "--model", run.out.path, "--data", run.data.path, "--chunk", "0"])
    XCTAssertEqual(r.status, 64, r.transcript)
    XCTAssertTrue(r.stderr.contains("--chunk"), r.transcript)
  }
}
