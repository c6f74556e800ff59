// The CLI end to end: synth → train → entropy on a small problem (d = 16, d' = 64, 2048 rows,
// 100 steps), the files a run leaves behind, config files with flag overrides, packed datasets and
// the step benchmark. Each process trains the shared run once; the tests read its outputs.
import BAEIO
import Foundation
import XCTest

/// One small synth + train run shared by the tests of this file (about a second in release).
final class SharedRun: @unchecked Sendable {
  let directory: URL
  let data: URL
  let out: URL
  let trainResult: CLIResult
  static let steps = 100, rows = 2048, dim = 16, latent = 64

  private static let lock = NSLock()
  nonisolated(unsafe) private static var cached: Result<SharedRun, Error>?

  static func get() throws -> SharedRun {
    lock.lock()
    defer { lock.unlock() }
    if cached == nil { cached = Result { try SharedRun() } }
    return try cached!.get()
  }

  private init() throws {
    directory = FileManager.default.temporaryDirectory.appendingPathComponent("bae-cli-shared-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    data = directory.appendingPathComponent("synth.npy")
    out = directory.appendingPathComponent("run")
    try CLI.succeed([
      "synth", "--bits", "8", "--dim", "\(Self.dim)", "--rows", "\(Self.rows)", "--seed", "1",
      "--out", data.path,
    ])
    trainResult = try CLI.succeed([
      "train", "--data", data.path, "--latent-dim", "\(Self.latent)",
      "--steps", "\(Self.steps)", "--lr", "1e-3", "--seed", "3", "--out", out.path,
    ])
  }

  deinit { try? FileManager.default.removeItem(at: directory) }
}

final class CLITrainingTests: XCTestCase {
  func testSynthWritesFloat32NpyOfTheRequestedShape() throws {
    let dir = try makeTemporaryDirectory(self, "synth")
    let url = dir.appendingPathComponent("nested/x.npy")
    let r = try CLI.succeed([
      "synth", "--bits", "5", "--dim", "12", "--rows", "300", "--noise", "0.1",
      "--seed", "7", "--out", url.path,
    ])
    XCTAssertTrue(r.stderr.contains(url.path), r.transcript)
    let a = try Npy.read(url)
    XCTAssertEqual(a.shape, [300, 12])
    XCTAssertEqual(a.dtype, .float32)
    XCTAssertTrue(a.values.allSatisfy(\.isFinite))
    // without noise a row is a sum of ≤ r unit vectors: |row| ≤ r; with noise 0.1 in 12 dims, well below 5 + 2
    let maxNorm = (0..<300).map { i in a.values[(i * 12)..<((i + 1) * 12)].reduce(0) { $0 + $1 * $1 }.squareRoot() }
      .max()!
    XCTAssertLessThan(maxNorm, 7)
    // seeded: the same command writes the same bytes, another seed different ones
    let again = dir.appendingPathComponent("again.npy"), other = dir.appendingPathComponent("other.npy")
    try CLI.succeed([
      "synth", "--bits", "5", "--dim", "12", "--rows", "300", "--noise", "0.1", "--seed", "7", "--out", again.path,
    ])
    try CLI.succeed([
      "synth", "--bits", "5", "--dim", "12", "--rows", "300", "--noise", "0.1", "--seed", "8", "--out", other.path,
    ])
    XCTAssertEqual(try Data(contentsOf: url), try Data(contentsOf: again))
    XCTAssertNotEqual(try Data(contentsOf: url), try Data(contentsOf: other))
  }

  func testSynthRejectsZeroBits() throws {
    let dir = try makeTemporaryDirectory(self, "synth0")
    let r = try CLI.run([
      "synth", "--bits", "0", "--dim", "4", "--rows", "10", "--out", dir.appendingPathComponent("x.npy").path,
    ])
    XCTAssertEqual(r.status, 64, r.transcript)
    XCTAssertTrue(r.stderr.contains("--bits"), r.transcript)
  }

  func testSynthTrainEntropyJSON() throws {
    let run = try SharedRun.get()
    XCTAssertTrue(
      run.trainResult.stderr.contains("step \(SharedRun.steps)/\(SharedRun.steps)"), run.trainResult.transcript)
    let r = try CLI.succeed(["entropy", "--model", run.out.path, "--data", run.data.path, "--json"])
    let obj = try jsonObject(Data(r.stdout.utf8), what: "entropy --json")
    let h = try XCTUnwrap(obj["entropy_bits"] as? Double, r.transcript)
    let rates = try XCTUnwrap(obj["rates"] as? [Double], r.transcript)
    XCTAssertEqual(rates.count, SharedRun.latent)
    XCTAssertEqual(obj["rows"] as? Int, SharedRun.rows)
    XCTAssertTrue(rates.allSatisfy { $0 >= 0 && $0 <= 1 })
    // Ĥ is by definition Σ_j H_b(p_j) of the printed rates
    let recomputed = rates.reduce(0.0) { acc, p in
      acc + ((p <= 0 || p >= 1) ? 0 : -(p * log2(p) + (1 - p) * log2(1 - p)))
    }
    XCTAssertEqual(h, recomputed, accuracy: 1e-6 * max(1, h))
    XCTAssertGreaterThan(h, 0)
    XCTAssertLessThanOrEqual(h, Double(SharedRun.latent))
    // the text form agrees with the JSON
    let text = try CLI.succeed(["entropy", "--model", run.out.path, "--data", run.data.path])
    XCTAssertTrue(
      text.stdout.contains(String(format: "entropy: %.4f bits over %d rows", h, SharedRun.rows)), text.transcript)
  }

  func testMetricsHaveOneLinePerStepWithEveryKey() throws {
    let run = try SharedRun.get()
    let text = try String(contentsOf: run.out.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
    let lines = text.split(separator: "\n")
    var steps: [Int] = []
    let keys = [
      "loss", "mse", "fvu", "entropy", "covariance", "l0", "deadBits", "denseBits", "nearConstantBits", "rowsPerSecond",
    ]
    for line in lines {
      let o = try jsonObject(Data(line.utf8), what: "metrics line")
      if o["validation"] != nil { continue }  // the end-of-run validation record
      for k in keys { XCTAssertNotNil(o[k] as? Double, "metrics line lacks numeric \(k): \(line)") }
      XCTAssertTrue(["dense", "sparse", "lut"].contains(o["decoderPath"] as? String ?? ""), "decoderPath: \(line)")
      let density = try XCTUnwrap(o["decoderDensity"] as? Double, "decoderDensity: \(line)")
      XCTAssertTrue(density >= 0 && density <= 1, "decoderDensity \(density)")
      steps.append(try XCTUnwrap(o["step"] as? Int))
      let l0 = try XCTUnwrap(o["l0"] as? Double)
      XCTAssertTrue(l0 >= 0 && l0 <= Double(SharedRun.latent))
      XCTAssertEqual(o["entropyWeight"] as? Double, 1e-7)
    }
    XCTAssertEqual(steps, Array(1...SharedRun.steps), "one line per step, in order")
    XCTAssertLessThanOrEqual(lines.count, SharedRun.steps + 1)
    // training actually trains: the last step's MSE is well below the first
    let first = try jsonObject(Data(lines.first!.utf8), what: "first"),
      last = try jsonObject(Data(lines[SharedRun.steps - 1].utf8), what: "last")
    XCTAssertLessThan(try XCTUnwrap(last["mse"] as? Double), 0.5 * (try XCTUnwrap(first["mse"] as? Double)))
  }

  func testModelSafetensorsHoldsExactlyTheReferenceKeysAndShapes() throws {
    let run = try SharedRun.get()
    let f = try SafeTensorsFile(contentsOf: run.out.appendingPathComponent("model.safetensors"))
    let d = SharedRun.dim, dl = SharedRun.latent
    XCTAssertEqual(Set(f.tensors.keys), ["encoder.weight", "encoder.bias", "decoder.weight", "decoder.bias"])
    XCTAssertEqual(f.tensors["encoder.weight"]?.shape, [dl, d])
    XCTAssertEqual(f.tensors["encoder.bias"]?.shape, [dl])
    XCTAssertEqual(f.tensors["decoder.weight"]?.shape, [d, dl])
    XCTAssertEqual(f.tensors["decoder.bias"]?.shape, [d])
    let cfg = try jsonObject(try Data(contentsOf: run.out.appendingPathComponent("config.json")), what: "config.json")
    XCTAssertEqual(cfg["inputDim"] as? Int, d)
    XCTAssertEqual(cfg["latentDim"] as? Int, dl)
  }

  func testMultiBitModelAddsBitWeightsAndDoublesEncoderRows() throws {
    let run = try SharedRun.get()
    let out = try makeTemporaryDirectory(self, "k2")
    try CLI.succeed([
      "train", "--data", run.data.path, "--latent-dim", "32", "--bits-per-feature", "2",
      "--steps", "10", "--out", out.path,
    ])
    let f = try SafeTensorsFile(contentsOf: out.appendingPathComponent("model.safetensors"))
    XCTAssertEqual(
      Set(f.tensors.keys), ["encoder.weight", "encoder.bias", "decoder.weight", "decoder.bias", "kb2f.kernel"])
    XCTAssertEqual(f.tensors["encoder.weight"]?.shape, [64, SharedRun.dim])
    XCTAssertEqual(f.tensors["encoder.bias"]?.shape, [64])
    XCTAssertEqual(f.tensors["decoder.weight"]?.shape, [SharedRun.dim, 32])
    XCTAssertEqual(f.tensors["kb2f.kernel"]?.shape, [2])
    XCTAssertEqual(try f.floats("kb2f.kernel"), [1.0 / 3.0, 2.0 / 3.0])
    // entropy over k = 2 models counts every code bit
    let r = try CLI.succeed(["entropy", "--model", out.path, "--data", run.data.path, "--json"])
    XCTAssertEqual(
      (try jsonObject(Data(r.stdout.utf8), what: "entropy"))["rates"].flatMap { $0 as? [Double] }?.count, 64)
  }

  func testConfigFileWithFlagOverride() throws {
    let run = try SharedRun.get()
    let dir = try makeTemporaryDirectory(self, "config")
    let out = dir.appendingPathComponent("run")
    // start from a run's config.json (the documented way to write one), change some fields
    var cfg = try jsonObject(try Data(contentsOf: run.out.appendingPathComponent("config.json")), what: "config.json")
    cfg["latentDim"] = 32
    cfg["steps"] = 7
    cfg["lr"] = 0.002
    cfg["batchSize"] = 128
    cfg["entropyWeight"] = 0.001
    cfg["data"] = run.data.path
    cfg["out"] = out.path
    let cfgURL = dir.appendingPathComponent("my.json")
    try JSONSerialization.data(withJSONObject: cfg).write(to: cfgURL)
    // flags win over the file
    try CLI.succeed(["train", "--config", cfgURL.path, "--latent-dim", "48", "--lr", "0.003"])
    let written = try jsonObject(
      try Data(contentsOf: out.appendingPathComponent("config.json")), what: "written config")
    XCTAssertEqual(written["latentDim"] as? Int, 48, "flag overrides the file")
    XCTAssertEqual(written["lr"] as? Double, 0.003, "flag overrides the file")
    XCTAssertEqual(written["steps"] as? Int, 7, "file value kept")
    XCTAssertEqual(written["batchSize"] as? Int, 128, "file value kept")
    XCTAssertEqual(written["entropyWeight"] as? Double, 0.001, "file value kept")
    let lines = try String(contentsOf: out.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
      .split(separator: "\n").filter { !$0.contains("\"validation\"") }
    XCTAssertEqual(lines.count, 7)
    let f = try SafeTensorsFile(contentsOf: out.appendingPathComponent("model.safetensors"))
    XCTAssertEqual(f.tensors["encoder.weight"]?.shape, [48, SharedRun.dim])
  }

  func testUnreadableOrInvalidConfigFileIsNamed() throws {
    let dir = try makeTemporaryDirectory(self, "badconfig")
    let missing = dir.appendingPathComponent("nope.json").path
    let r1 = try CLI.fail(["train", "--config", missing, "--out", dir.path], mentioning: [missing])
    XCTAssertEqual(r1.status, 1, r1.transcript)
    let garbage = dir.appendingPathComponent("garbage.json")
    try Data("{ not json".utf8).write(to: garbage)
    let r2 = try CLI.fail(
      ["train", "--config", garbage.path, "--out", dir.path], mentioning: [garbage.path, "not a valid config"])
    XCTAssertEqual(r2.status, 1, r2.transcript)
    // a partial config is completed from the defaults; an unknown key is refused by name
    let typo = dir.appendingPathComponent("typo.json")
    try Data(#"{"latentdim": 32}"#.utf8).write(to: typo)
    let r3 = try CLI.fail(
      ["train", "--config", typo.path, "--out", dir.path], mentioning: ["'latentdim'", "is not a config field"])
    XCTAssertEqual(r3.status, 1, r3.transcript)
  }

  func testPackedDatasetTrainsAndVerifies() throws {
    let run = try SharedRun.get()
    let dir = try makeTemporaryDirectory(self, "pack")
    let ds = dir.appendingPathComponent("dataset")
    let p = try CLI.succeed([
      "pack", "--input", run.data.path, "--dtype", "f32", "--rows-per-frame", "128",
      "--rows-per-shard", "1024", "--out", ds.path,
    ])
    XCTAssertTrue(p.stdout.contains("packed \(SharedRun.rows) rows x \(SharedRun.dim)"), p.transcript)
    let out = dir.appendingPathComponent("run")
    let t = try CLI.succeed([
      "train", "--data", ds.path, "--latent-dim", "\(SharedRun.latent)", "--steps", "20", "--out", out.path,
    ])
    XCTAssertTrue(t.stderr.contains("d=\(SharedRun.dim) d'=\(SharedRun.latent)"), t.transcript)
    XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent("model.safetensors").path))
    let v = try CLI.succeed(["inspect", ds.path, "--verify"])
    XCTAssertTrue(v.stdout.contains("verify   OK"), v.transcript)
    XCTAssertTrue(v.stdout.contains("2 shard(s)"), v.transcript)
    // the entropy of the packed set equals that of the .npy it came from (f32 is lossless)
    let a = try CLI.succeed(["entropy", "--model", out.path, "--data", ds.path, "--json"])
    let b = try CLI.succeed(["entropy", "--model", out.path, "--data", run.data.path, "--json"])
    XCTAssertEqual(
      try jsonObject(Data(a.stdout.utf8), what: "a")["entropy_bits"] as? Double,
      try jsonObject(Data(b.stdout.utf8), what: "b")["entropy_bits"] as? Double)
  }

  func testInspectVerifyFailsOnADamagedShard() throws {
    let run = try SharedRun.get()
    let dir = try makeTemporaryDirectory(self, "damaged")
    let ds = dir.appendingPathComponent("dataset")
    try CLI.succeed(["pack", "--input", run.data.path, "--dtype", "f16", "--out", ds.path])
    let shard = ds.appendingPathComponent("shard_000000.baes")
    var bytes = try Data(contentsOf: shard)
    bytes[bytes.count / 2] ^= 0xFF
    try bytes.write(to: shard)
    let r = try CLI.run(["inspect", ds.path, "--verify"])
    XCTAssertEqual(r.status, 1, r.transcript)
    XCTAssertTrue(r.stderr.contains("error:"), r.transcript)
  }

  func testBenchStepPrintsRatioLines() throws {
    let r = try CLI.succeed(["bench", "step", "--dim", "64", "--latent", "256", "--rows", "128", "--repeats", "1"])
    for needle in [
      "d=64 d'=256 n=128", "sgemm rate", "ideal step", "efficiency (ideal/actual)", "share of step",
      "dense float covariance", "speed-up",
    ] {
      XCTAssertTrue(r.stdout.contains(needle), "bench output lacks \(needle):\n\(r.transcript)")
    }
    let j = try CLI.succeed([
      "bench", "step", "--dim", "64", "--latent", "256", "--rows", "128", "--repeats", "1", "--json",
    ])
    let o = try jsonObject(Data(j.stdout.utf8), what: "bench --json")
    for k in [
      "sgemmGflops", "idealStepMs", "stepMsNoRegularizer", "denseCoreEfficiency", "covarianceShare",
      "covarianceSpeedup",
    ] {
      let v = try XCTUnwrap(o[k] as? Double, "bench --json lacks \(k)")
      XCTAssertTrue(v.isFinite && v > 0, "\(k) = \(v)")
    }
  }
}
