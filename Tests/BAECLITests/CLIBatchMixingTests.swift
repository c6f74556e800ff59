import Foundation
import XCTest

/// `bae inspect DIR --batch-mixing` end to end: pack a dataset with a tokens sidecar, then measure.
final class CLIBatchMixingTests: XCTestCase {
  /// Packs `rows` rows of width 2 in frames of 256 with documents of 100–300 tokens (a fixed
  /// pseudo-random sequence) and returns the dataset directory.
  private func packed(rows: Int, tokens: Bool) throws -> URL {
    let dir = try makeTemporaryDirectory(self, "mixing")
    let npy = dir.appendingPathComponent("x.npy"), tsv = dir.appendingPathComponent("x.tokens.tsv")
    try HandNpy.write(
      descr: "<f4", fortranOrder: false, shape: [rows, 2],
      data: HandNpy.float32((0..<(2 * rows)).map { Float($0 % 97) }), to: npy)
    var lines = "token_id\tdocument_id\tposition\ttext\n"
    var doc = 0, pos = 0, length = 150
    for _ in 0..<rows {
      if pos == length {
        doc += 1
        pos = 0
        length = 100 + (doc * 7919) % 201
      }
      lines += "1\t\(doc)\t\(pos)\tt\n"
      pos += 1
    }
    try Data(lines.utf8).write(to: tsv)
    let ds = dir.appendingPathComponent("dataset")
    try CLI.succeed(
      ["pack", "--input", npy.path, "--dtype", "f16", "--rows-per-frame", "256", "--out", ds.path]
        + (tokens ? ["--tokens", tsv.path] : []))
    return ds
  }

  func testReportsUniformLikeMixingAsJSON() throws {
    let ds = try packed(rows: 12_800, tokens: true)
    let r = try CLI.succeed(["inspect", ds.path, "--batch-mixing", "--batch-size", "512", "--seed", "7", "--json"])
    let j = try jsonObject(Data(r.stdout.utf8), what: "inspect --batch-mixing --json")
    XCTAssertEqual(j["rows"] as? Int, 10_240, "the train split (validation fraction 0.2)")
    XCTAssertEqual(j["batches"] as? Int, 20)
    XCTAssertEqual(j["seed"] as? Int, 7)
    XCTAssertGreaterThanOrEqual(try XCTUnwrap(j["mixing_ratio"] as? Double), 0.9, r.transcript)
    XCTAssertEqual(try XCTUnwrap(j["pair_rate_ratio"] as? Double), 1, accuracy: 0.15, r.transcript)
    let text = try CLI.succeed(["inspect", ds.path, "--batch-mixing"])
    XCTAssertTrue(text.stdout.contains("mixing_ratio"), text.transcript)
  }

  func testRefusesDatasetsWithoutTokensAndOversizedBatches() throws {
    let bare = try packed(rows: 1_000, tokens: false)
    let r = try CLI.fail(["inspect", bare.path, "--batch-mixing"], mentioning: ["no tokens sidecar", "--tokens"])
    XCTAssertEqual(r.status, 1, r.transcript)
    let ds = try packed(rows: 1_000, tokens: true)
    try CLI.fail(
      ["inspect", ds.path, "--batch-mixing", "--batch-size", "900"], mentioning: ["--batch-size 900", "1...800"])
  }
}
