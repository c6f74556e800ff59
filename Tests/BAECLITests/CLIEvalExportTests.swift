// `bae eval` pinned to closed-form numbers on hand-built models, and `bae export --format saelens`
// for every architecture: the folder SAELens reads, and the flipped-bit BAE form reconstructing
// exactly what the native model does.
import BAEIO
import Foundation
import XCTest

final class CLIEvalExportTests: XCTestCase {
  /// Four rows in two dimensions whose metrics are worked out by hand below.
  static let rows: [Float] = [1, 2, -1, 3, 2, -2, 3, 1]

  /// A run directory with identity encoder and decoder, zero biases: x̂ = code(x).
  func handModel(_ dir: URL, architecture: String, extra: [String: Any] = [:]) throws -> URL {
    let run = dir.appendingPathComponent("hand-\(architecture)")
    try FileManager.default.createDirectory(at: run, withIntermediateDirectories: true)
    var w = SafeTensorsWriter()
    w.add("encoder.weight", shape: [2, 2], floats: [1, 0, 0, 1])
    w.add("encoder.bias", shape: [2], floats: [0, 0])
    w.add("decoder.weight", shape: [2, 2], floats: [1, 0, 0, 1])
    w.add("decoder.bias", shape: [2], floats: [0, 0])
    try w.write(to: run.appendingPathComponent("model.safetensors"))
    var cfg: [String: Any] = ["architecture": architecture, "inputDim": 2, "latentDim": 2]
    for (k, v) in extra { cfg[k] = v }
    try JSONSerialization.data(withJSONObject: cfg).write(to: run.appendingPathComponent("config.json"))
    return run
  }

  func evalJSON(_ model: URL, _ data: URL) throws -> [String: Any] {
    let r = try CLI.succeed(["eval", "--model", model.path, "--data", data.path, "--json"])
    return try jsonObject(Data(r.stdout.utf8), what: "bae eval --json")
  }

  func testEvalNumbersMatchClosedFormsForAnSAEAndABAE() throws {
    let dir = try makeTemporaryDirectory(self, "eval")
    let data = dir.appendingPathComponent("x.npy")
    try Npy.write(Self.rows, shape: [4, 2], to: data)

    // ReLU SAE: x̂ = max(x, 0); errors 0, 1, 4, 0 → SSE 5
    let relu = try evalJSON(try handModel(dir, architecture: "relu"), data)
    XCTAssertEqual(relu["rows"] as? Int, 4)
    XCTAssertEqual(relu["mse"] as! Double, 5.0 / 8, accuracy: 1e-12)
    // Σ‖x − x̄‖² = 8.75 + 14 = 22.75
    XCTAssertEqual(relu["fvu"] as! Double, 5 / 22.75, accuracy: 1e-12)
    XCTAssertEqual(relu["explainedVariance"] as! Double, 1 - 5 / 22.75, accuracy: 1e-12)
    // cos: 1, 9/(3√10), 4/(2√8), 1
    let c2: Double = 3 / Double(10).squareRoot(), c3: Double = 2 / Double(8).squareRoot()
    let cos: Double = (2 + c2 + c3) / 4
    XCTAssertEqual(relu["meanCosine"] as! Double, cos, accuracy: 1e-7)
    XCTAssertEqual(relu["l0"] as! Double, 1.5, accuracy: 1e-12)
    XCTAssertEqual(relu["dead"] as? Int, 0)
    XCTAssertEqual(relu["dense"] as? [String: Int], ["0.01": 2, "0.1": 2, "0.5": 2])
    let hb: Double = -(0.75 * log2(0.75) + 0.25 * log2(0.25))
    XCTAssertEqual(relu["codeEntropyBits"] as! Double, 2 * hb, accuracy: 1e-9)
    XCTAssertNil(relu["denseTwoSided"], "two-sided density is a BAE number")
    let hist = relu["rateHistogram"] as! [String: Any]
    let counts = hist["counts"] as! [Int], edges = hist["edges"] as! [Double]
    XCTAssertEqual(counts.reduce(0, +), 2)
    XCTAssertEqual(edges.count, counts.count + 1)
    // log10 0.75 = −0.125 lies in the last bin [−0.5, 0)
    XCTAssertEqual(counts.last, 2)

    // BAE: h = 1[x > 0], x̂ = h; errors 1, 5, 5, 4 → SSE 15; p = (0.75, 0.75), min(p, 1 − p) = 0.25
    let bae = try evalJSON(try handModel(dir, architecture: "bae"), data)
    XCTAssertEqual(bae["mse"] as! Double, 15.0 / 8, accuracy: 1e-12)
    XCTAssertEqual(bae["fvu"] as! Double, 15 / 22.75, accuracy: 1e-12)
    XCTAssertEqual(bae["denseTwoSided"] as? [String: Int], ["0.01": 2, "0.1": 2, "0.5": 0])
    XCTAssertEqual(bae["dense"] as? [String: Int], ["0.01": 2, "0.1": 2, "0.5": 2])
    XCTAssertEqual(bae["constant"] as? Int, 0)

    // JumpReLU θ = 1.5: only 2, 3, 3, 2 pass → x̂ rows (0,2) (0,3) (2,0) (3,0); errors 1, 1, 4, 1 → SSE 7
    let jump = try evalJSON(try handModel(dir, architecture: "jumprelu", extra: ["threshold": 1.5]), data)
    XCTAssertEqual(jump["mse"] as! Double, 7.0 / 8, accuracy: 1e-12)
    XCTAssertEqual(jump["l0"] as! Double, 1.0, accuracy: 1e-12)

    // the text summary and eval.json say the same
    let out = dir.appendingPathComponent("eval-out")
    let text = try CLI.succeed([
      "eval", "--model", dir.appendingPathComponent("hand-relu").path, "--data", data.path, "--out", out.path,
    ])
    XCTAssertTrue(text.stdout.contains("dead 0 of 2"), text.transcript)
    let file = try jsonObject(Data(contentsOf: out.appendingPathComponent("eval.json")), what: "eval.json")
    XCTAssertEqual(file["mse"] as! Double, 5.0 / 8, accuracy: 1e-12)
  }

  func testEvalRefusesBadInputWithTheTrainingErrors() throws {
    let dir = try makeTemporaryDirectory(self, "eval-bad")
    let model = try handModel(dir, architecture: "relu")
    let nan = dir.appendingPathComponent("nan.npy")
    try Npy.write([1, 2, .nan, 3], shape: [2, 2], to: nan)
    try CLI.fail(["eval", "--model", model.path, "--data", nan.path], mentioning: [nan.path, "row 1", "column 0"])
    let wide = dir.appendingPathComponent("wide.npy")
    try Npy.write([Float](repeating: 1, count: 6), shape: [2, 3], to: wide)
    try CLI.fail(
      ["eval", "--model", model.path, "--data", wide.path], mentioning: [wide.path, "width 3", "inputDim 2"])
    try CLI.fail(
      ["eval", "--model", dir.appendingPathComponent("nope").path, "--data", wide.path],
      mentioning: ["config.json", "missing"])
    // absurd sizes in config.json are refused by field before anything is allocated
    let absurd = try handModel(dir, architecture: "relu", extra: ["latentDim": 4_611_686_018_427_387_904])
    try CLI.fail(["eval", "--model", absurd.path, "--data", wide.path], mentioning: ["latentDim", "config.json"])
  }

  func testExportWritesASAELensFolderForEveryArchitecture() throws {
    let dir = try makeTemporaryDirectory(self, "export")
    let data = dir.appendingPathComponent("s.npy")
    try CLI.succeed(["synth", "--bits", "6", "--dim", "12", "--rows", "1200", "--seed", "2", "--out", data.path])
    for arch in ["bae", "relu", "topk", "batchtopk", "jumprelu"] {
      let run = dir.appendingPathComponent("run-\(arch)")
      var args = [
        "train", "--data", data.path, "--architecture", arch, "--latent-dim", "24", "--steps", "30",
        "--lr", "2e-3", "--out", run.path,
      ]
      if arch == "topk" || arch == "batchtopk" { args += ["--k", "4"] }
      if arch == "jumprelu" { args += ["--threshold", "0.05"] }
      try CLI.succeed(args)
      let out = dir.appendingPathComponent("export-\(arch)")
      try CLI.succeed(["export", "--format", "saelens", "--model", run.path, "--out", out.path, "--layer", "15"])
      let cfg = try jsonObject(Data(contentsOf: out.appendingPathComponent("cfg.json")), what: "cfg.json")
      for key in [
        "d_in", "d_sae", "dtype", "device", "apply_b_dec_to_input", "normalize_activations", "architecture", "metadata",
      ] {
        XCTAssertNotNil(cfg[key], "\(arch): cfg.json lacks \(key)")
      }
      XCTAssertEqual(cfg["d_in"] as? Int, 12)
      XCTAssertEqual(cfg["d_sae"] as? Int, 24)
      let meta = cfg["metadata"] as! [String: Any]
      let version = (meta["sae_lens_version"] as! String).split(separator: ".").compactMap { Int($0) }
      XCTAssertGreaterThanOrEqual(version.first ?? 0, 6, "\(arch): sae_lens_version ≥ 6")
      XCTAssertNotNil(meta["hook_name"])
      XCTAssertEqual(meta["hook_layer"] as? Int, 15)
      let w = try SafeTensorsFile(contentsOf: out.appendingPathComponent("sae_weights.safetensors"))
      XCTAssertEqual(w.tensors["W_enc"]?.shape, [12, 24])
      XCTAssertEqual(w.tensors["W_dec"]?.shape, [24, 12])
      XCTAssertEqual(w.tensors["b_enc"]?.shape, [24])
      XCTAssertEqual(w.tensors["b_dec"]?.shape, [12])
      XCTAssertEqual(w.tensors["threshold"] != nil, arch == "jumprelu" || arch == "batchtopk", arch)
      let sp = try SafeTensorsFile(contentsOf: out.appendingPathComponent("sparsity.safetensors"))
      XCTAssertEqual(sp.tensors["sparsity"]?.shape, [24])
      XCTAssertTrue(try sp.floats("sparsity").allSatisfy { $0 <= 0 }, "log10 densities")
      if arch == "bae" { try checkFlippedBitForm(run: run, export: out, data: data) }
    }
  }

  /// The exported BAE reconstructs every row exactly as the native model does, and every exported
  /// latent fires on at most half of the rows (the flipped bits).
  func checkFlippedBitForm(run: URL, export: URL, data: URL) throws {
    let x = try Npy.read(data)
    let n = 200, d = 12, m = 24
    let native = try SafeTensorsFile(contentsOf: run.appendingPathComponent("model.safetensors"))
    let we = try native.floats("encoder.weight"), be = try native.floats("encoder.bias")
    let wd = try native.floats("decoder.weight"), bd = try native.floats("decoder.bias")
    let e = try SafeTensorsFile(contentsOf: export.appendingPathComponent("sae_weights.safetensors"))
    let We = try e.floats("W_enc"), Be = try e.floats("b_enc"), Wd = try e.floats("W_dec"), Bd = try e.floats("b_dec")
    var worst = 0.0, scale = 0.0
    var fires = [Int](repeating: 0, count: m)
    for i in 0..<n {
      let row = Array(x.values[(i * d)..<((i + 1) * d)])
      var h = [Float](repeating: 0, count: m), g = [Float](repeating: 0, count: m)
      for j in 0..<m {
        var z: Float = be[j], z2: Float = Be[j]
        for k in 0..<d {
          z += we[j * d + k] * row[k]
          z2 += We[k * m + j] * row[k]
        }
        h[j] = z > 0 ? 1 : 0
        g[j] = z2 > 0 ? 1 : 0
        fires[j] += Int(g[j])
      }
      for k in 0..<d {
        var a: Double = Double(bd[k]), b: Double = Double(Bd[k])
        for j in 0..<m {
          a += Double(wd[k * m + j] * h[j])
          b += Double(Wd[j * d + k] * g[j])
        }
        worst = max(worst, abs(a - b))
        scale = max(scale, abs(a))
      }
    }
    XCTAssertLessThanOrEqual(worst, 1e-5 * max(scale, 1), "flipped-bit form reconstructs like the native BAE")
    // the flips follow the validation split's rates, so on these rows a few latents may sit just above ½
    XCTAssertLessThan(
      fires.filter { $0 > n * 6 / 10 }.count, 3, "flipped latents fire on ≤ ~half of the rows: \(fires)")
  }
}
