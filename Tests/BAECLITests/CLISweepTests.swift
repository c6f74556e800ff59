// `bae sweep` end to end: two models from one sweep.json whose directories are byte for byte those of
// `bae train` with the same settings (model.safetensors) and work with `bae eval`; a sweep file whose
// models disagree on a shared run setting fails with the field named.
import Foundation
import XCTest

final class CLISweepTests: XCTestCase {
  func testSweepWritesWhatTrainWritesForEachModel() throws {
    let dir = try makeTemporaryDirectory(self, "sweep")
    let data = dir.appendingPathComponent("x.npy").path
    try CLI.succeed(["synth", "--bits", "6", "--dim", "12", "--rows", "1200", "--seed", "2", "--out", data])
    let a = dir.appendingPathComponent("a").path, b = dir.appendingPathComponent("b").path
    let file = dir.appendingPathComponent("sweep.json")
    try Data(
      """
      {"shared": {"data": "\(data)", "steps": 30, "batchSize": 100, "latentDim": 32, "seed": 5},
       "models": [{"out": "\(a)", "entropyWeight": 1e-3},
                  {"out": "\(b)", "architecture": "topk", "k": 4, "latentDim": 24}]}
      """.utf8
    ).write(to: file)
    let r = try CLI.succeed(["sweep", "--config", file.path])
    XCTAssertTrue(r.stderr.contains("[a] step 30/30") && r.stderr.contains("[b] step 30/30"), r.transcript)
    let aloneA = dir.appendingPathComponent("alone-a").path, aloneB = dir.appendingPathComponent("alone-b").path
    try CLI.succeed([
      "train", "--data", data, "--steps", "30", "--batch-size", "100", "--latent-dim", "32", "--seed", "5",
      "--entropy-weight", "1e-3", "--out", aloneA,
    ])
    try CLI.succeed([
      "train", "--data", data, "--steps", "30", "--batch-size", "100", "--latent-dim", "24", "--seed", "5",
      "--architecture", "topk", "--k", "4", "--out", aloneB,
    ])
    for (s, t) in [(a, aloneA), (b, aloneB)] {
      XCTAssertEqual(
        try Data(contentsOf: URL(fileURLWithPath: s + "/model.safetensors")),
        try Data(contentsOf: URL(fileURLWithPath: t + "/model.safetensors")), "\(s) vs \(t)")
      let e = try CLI.succeed(["eval", "--model", s, "--data", data, "--json"])
      XCTAssertNotNil(try jsonObject(Data(e.stdout.utf8), what: "bae eval --json")["fvu"], e.transcript)
    }
    // a model may not change a shared run setting
    try Data(
      """
      {"shared": {"data": "\(data)", "steps": 5}, "models": [{"out": "\(a)2"}, {"out": "\(b)2", "seed": 9}]}
      """.utf8
    ).write(to: file)
    try CLI.fail(["sweep", "--config", file.path], mentioning: ["models[1].seed", "\"shared\""])
  }
}
