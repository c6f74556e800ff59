// Bad input through the CLI (issue 2, item 10): each case exits non-zero with one error line that
// names the file, row, field or shape at fault — never a crash, never a silent success.
import BAEIO
import Foundation
import XCTest

final class CLIBadInputTests: XCTestCase {
  static let dim = 16, rows = 1024

  /// A clean float32 (rows, 16) synthetic set in `dir`.
  func cleanData(_ dir: URL, name: String = "clean.npy", dim: Int = dim) throws -> URL {
    let url = dir.appendingPathComponent(name)
    try CLI.succeed([
      "synth", "--bits", "6", "--dim", "\(dim)", "--rows", "\(Self.rows)", "--seed", "2", "--out", url.path,
    ])
    return url
  }

  /// The common small training arguments.
  func train(_ data: URL, out: URL, _ extra: [String] = []) -> [String] {
    ["train", "--data", data.path, "--latent-dim", "32", "--batch-size", "128", "--steps", "5", "--out", out.path]
      + extra
  }

  func testNaNRowIsNamedWithRowIndexAndFile() throws {
    let dir = try makeTemporaryDirectory(self, "nan")
    var a = try Npy.read(try cleanData(dir))
    a.values[37 * Self.dim + 5] = .nan
    a.values[500 * Self.dim] = .infinity
    let bad = dir.appendingPathComponent("with-nan.npy")
    try Npy.write(a.values, shape: a.shape, to: bad)
    let out = dir.appendingPathComponent("run")
    let r = try CLI.fail(train(bad, out: out), mentioning: [bad.path, "row 37", "column 5", "--skip-non-finite"])
    XCTAssertEqual(r.status, 1, r.transcript)
    XCTAssertTrue(r.stderr.contains("2 rows"), "the message counts every bad row:\n\(r.transcript)")
    XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent("model.safetensors").path))

    // asked to, the trainer drops and counts them, then trains on the rest
    let ok = try CLI.succeed(train(bad, out: out, ["--skip-non-finite", "--validation-fraction", "0"]))
    XCTAssertTrue(ok.stderr.contains("skipped 2 rows holding NaN/Inf"), ok.transcript)
    XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent("model.safetensors").path))
    let cfg = try jsonObject(try Data(contentsOf: out.appendingPathComponent("config.json")), what: "config.json")
    XCTAssertEqual(cfg["skipNonFinite"] as? Bool, true)
  }

  func testConfigInputDimDisagreeingWithDataNamesInputDim() throws {
    let dir = try makeTemporaryDirectory(self, "width")
    let data = try cleanData(dir)
    let first = dir.appendingPathComponent("first")
    try CLI.succeed(train(data, out: first))
    var cfg = try jsonObject(try Data(contentsOf: first.appendingPathComponent("config.json")), what: "config.json")
    XCTAssertEqual(cfg["inputDim"] as? Int, Self.dim)
    cfg["inputDim"] = 32
    let cfgURL = dir.appendingPathComponent("wide.json")
    try JSONSerialization.data(withJSONObject: cfg).write(to: cfgURL)
    try CLI.fail(
      ["train", "--config", cfgURL.path, "--data", data.path, "--out", dir.appendingPathComponent("second").path],
      mentioning: [data.path, "width 16", "inputDim 32"])
  }

  func testInitFromWeightsOfTheWrongWidthNamesTheShape() throws {
    let dir = try makeTemporaryDirectory(self, "initfrom")
    let narrow = try cleanData(dir)
    let wide = try cleanData(dir, name: "wide.npy", dim: 24)
    let wideRun = dir.appendingPathComponent("wide-run")
    try CLI.succeed(train(wide, out: wideRun))
    let weights = wideRun.appendingPathComponent("model.safetensors").path
    let r = try CLI.fail(
      train(narrow, out: dir.appendingPathComponent("run"), ["--init-from", weights]),
      mentioning: [weights, "initFrom", "encoder.weight", "[32, 24]", "[32, 16]"])
    XCTAssertEqual(r.status, 1, r.transcript)
    // and the entropy command refuses the width mismatch between model and data
    try CLI.fail(
      ["entropy", "--model", wideRun.path, "--data", narrow.path], mentioning: [narrow.path, "width 16", "inputDim 24"])
    // a missing --init-from file is named too
    let missing = dir.appendingPathComponent("missing.safetensors").path
    try CLI.fail(
      train(narrow, out: dir.appendingPathComponent("run2"), ["--init-from", missing]), mentioning: [missing])
  }

  func testInitFromMatchingWeightsStartsFromThem() throws {
    let dir = try makeTemporaryDirectory(self, "initok")
    let data = try cleanData(dir)
    let a = dir.appendingPathComponent("a"), b = dir.appendingPathComponent("b")
    try CLI.succeed(train(data, out: a, ["--batch-order", "sequential", "--seed", "5"]))
    // continuing from a's weights with a different seed: the first step's loss is a's final level,
    // far below a fresh random init's first step
    let weights = a.appendingPathComponent("model.safetensors").path
    try CLI.succeed(train(data, out: b, ["--batch-order", "sequential", "--seed", "9", "--init-from", weights]))
    func firstMSE(_ dir: URL) throws -> Double {
      let line = try String(contentsOf: dir.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(
        separator: "\n")[0]
      return try XCTUnwrap(try jsonObject(Data(line.utf8), what: "metrics")["mse"] as? Double)
    }
    XCTAssertLessThan(try firstMSE(b), try firstMSE(a))
    let cfg = try jsonObject(try Data(contentsOf: b.appendingPathComponent("config.json")), what: "config.json")
    XCTAssertEqual(cfg["initFrom"] as? String, weights)
  }

  func testInvalidConfigValuesAreRejectedNamingTheField() throws {
    let dir = try makeTemporaryDirectory(self, "invalid")
    let data = try cleanData(dir)
    let out = dir.appendingPathComponent("run")
    let cases: [([String], String)] = [
      (["--latent-dim=-1"], "'latentDim'"),
      (["--latent-dim", "0"], "'latentDim'"),
      (["--lr", "0"], "'lr'"),
      (["--lr=-1"], "'lr'"),
      (["--lr", "nan"], "'lr'"),
      (["--batch-size", "1"], "'batchSize'"),  // covariance is on by default
      (["--batch-size", "1", "--covariance-weight", "1e-3"], "'batchSize'"),
      (["--bits-per-feature", "0"], "'bitsPerFeature'"),
      (["--entropy-weight=-1"], "'entropyWeight'"),
    ]
    for (flags, field) in cases {
      let r = try CLI.fail(train(data, out: out) + flags, mentioning: ["invalid config field \(field)"])
      XCTAssertEqual(r.status, 1, r.transcript)
    }
    XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent("model.safetensors").path))
    // a negative value after a space is read as the value (not as an option) and refused by name
    let r = try CLI.fail(train(data, out: out) + ["--lr", "-1"], mentioning: ["invalid config field 'lr'"])
    XCTAssertEqual(r.status, 1, r.transcript)
    // the covariance needs two rows, nothing else does: batch 1 trains with the covariance off
    try CLI.succeed(train(data, out: out) + ["--batch-size", "1", "--covariance-weight", "0", "--steps", "3"])
  }

  func testBenchCommandsRejectOutOfRangeNumbers() throws {
    // λ = 0 once reached the covariance timing with no covariance buffers: a null dereference (signal 11)
    let shape = ["bench", "step", "--dim", "64", "--latent", "128", "--rows", "64", "--repeats", "1"]
    for bad in ["0", "-3", "100000"] { try CLI.fail(shape + ["--threads=\(bad)"], mentioning: ["--threads"]) }
    for bad in ["0", "-1e-7", "nan", "inf"] {
      try CLI.fail(shape + ["--lambda=\(bad)"], mentioning: ["--lambda", "finite number > 0"])
      try CLI.fail(
        ["bench", "scaling", "--dim", "64", "--latent", "128", "--rows", "64", "--lambda=\(bad)"],
        mentioning: ["--lambda"])
    }
    let scaling = ["bench", "scaling", "--dim", "64", "--latent", "128", "--rows", "64", "--repeats", "1"]
    for (flag, bad) in [
      ("--warmup", "-1"), ("--cluster-latency", "-1"), ("--cluster-latency", "nan"), ("--cluster-bandwidth", "0"),
      ("--cluster-bandwidth", "inf"),
    ] {
      try CLI.fail(scaling + ["\(flag)=\(bad)"], mentioning: [flag])
    }
    // --repeats 2^32 was accepted and ran for days (the flag fuzzer's "long" list)
    let small = ["--dim", "64", "--latent", "128", "--rows", "64"]
    for command in [["bench", "step"], ["bench", "scaling"]] {
      try CLI.fail(command + small + ["--repeats=10001"], mentioning: ["--repeats 10001", "10,000"])
    }
    // the decoder sweep's densities: each in (0, 0.5], and only with the sweep
    for bad in ["0", "0.6", "nan", "x1", "0.1,", "-0.1"] {
      try CLI.fail(shape + ["--decoder-sweep", "--densities=\(bad)"], mentioning: ["--densities"])
    }
    try CLI.fail(shape + ["--densities=0.1"], mentioning: ["--densities", "--decoder-sweep"])
  }

  func testBenchStoreAndSynthRejectOutOfRangeNumbers() throws {
    // --dim 0 and a rows·dim overflow once trapped (signal), --seconds inf never ended, --level 100 was clamped silently
    let store = ["bench", "store", "--rows", "64", "--dim", "8", "--seconds", "0.01"]
    for (flag, bad) in [
      ("--dim", "0"), ("--rows", "0"), ("--rows", "99999999999"), ("--max-rows", "0"), ("--seconds", "inf"),
      ("--seconds", "nan"), ("--seconds", "-1"), ("--level", "100"), ("--level", "-200000"),
    ] {
      try CLI.fail(store + ["\(flag)=\(bad)"], mentioning: [flag])
    }
    let dir = try makeTemporaryDirectory(self, "synth-size")
    for (rows, dim) in [("99999999999", "4"), ("99999999", "99999999")] {  // both aborted allocating
      try CLI.fail(
        ["synth", "--bits", "4", "--dim", dim, "--rows", rows, "--out", dir.appendingPathComponent("s.npy").path],
        mentioning: ["--rows \(rows)", "GiB"])
    }
    // --top beyond the model's features once tripped a precondition in the sampler (signal)
    let data = dir.appendingPathComponent("d.npy"), run = dir.appendingPathComponent("run")
    try CLI.succeed(["synth", "--bits", "4", "--dim", "8", "--rows", "256", "--out", data.path])
    try CLI.succeed(train(data, out: run))  // 32 features
    try CLI.fail(
      [
        "features", "--model", run.path, "--data", data.path, "--top", "33", "--out",
        dir.appendingPathComponent("f").path,
      ],
      mentioning: ["--top 33", "32 features"])
    try CLI.fail(
      ["pack", "--level=23", "--input", "x.npy", "--dtype", "f16", "--out", "y"], mentioning: ["--level", "22"])
  }

  func testFlagFuzzerFindingsAreTypedErrors() throws {
    // each found by scripts/fuzz_flags.py: a signal, a hang, or exit 0 with a nonsense value
    let dir = try makeTemporaryDirectory(self, "flag-fuzz")
    let out = dir.appendingPathComponent("out").path
    let run = dir.appendingPathComponent("run").path  // never read: each case fails validation first
    // --dim/--latent/--rows 2^31 failed to allocate (SIGABRT), 2^63 − 1 overflowed (SIGILL)
    let step = ["bench", "step", "--dim", "8", "--latent", "16", "--rows", "32", "--repeats", "1"]
    let scaling = [
      "bench", "scaling", "--dim", "8", "--latent", "16", "--rows", "32", "--repeats", "1", "--ranks", "2",
    ]
    for flag in ["--dim", "--latent", "--rows"] {
      for bad in ["2147483648", "9223372036854775807"] {
        try CLI.fail(step + ["\(flag)=\(bad)"], mentioning: ["\(flag) \(bad)", "GiB"])
        try CLI.fail(scaling + ["\(flag)=\(bad)"], mentioning: ["\(flag) \(bad)", "GiB"])
      }
    }
    try CLI.fail(scaling + ["--ranks=99999999999"], mentioning: ["--ranks", "2…65536"])  // SIGABRT
    // a frame is one buffer: 2^31 rows aborted allocating, 2^20 rows of 1024 floats too (4 GiB)
    let store = ["bench", "store", "--rows", "64", "--dim", "8", "--seconds", "0.01"]
    try CLI.fail(store + ["--rows-per-frame=2147483648"], mentioning: ["--rows-per-frame", "1048576"])
    try CLI.fail(
      store + ["--dim=1024", "--rows-per-frame=1048576"],
      mentioning: ["--rows-per-frame 1048576", "BAE_MAX_FRAME_BYTES"])
    // a step timeout of 1e-320 s hung the run (the watchdog's busy poll); 0 still means never
    try CLI.fail(
      ["train", "--data", "x.npy", "--out", out, "--step-timeout", "1e-320"], mentioning: ["--step-timeout"])
    try CLI.fail(["sweep", "--config", "s.json", "--step-timeout", "0.001"], mentioning: ["--step-timeout"])
    // latentDim 2^36 with batchSize 2^30 overflowed the memory estimate's Int arithmetic (SIGILL)
    let data = dir.appendingPathComponent("d.npy")
    try CLI.succeed(["synth", "--bits", "4", "--dim", "8", "--rows", "64", "--out", data.path])
    try CLI.fail(
      ["train", "--data", data.path, "--latent-dim", "68719476736", "--batch-size", "1073741824", "--out", out],
      mentioning: ["latentDim", "GiB"])
    // features: describe + test overflowed (SIGILL); judge seconds of 1e308 or inf trapped in Dispatch;
    // an infinite back-off and an empty judge model were taken silently; enormous retries never ended
    let features = ["features", "--model", run, "--data", data.path, "--out", out]
    let judge = features + ["--judge-url", "http://127.0.0.1:9", "--judge-model", "m"]
    try CLI.fail(features + ["--describe", "9223372036854775807"], mentioning: ["--describe"])
    try CLI.fail(features + ["--test", "9223372036854775807"], mentioning: ["--test"])
    for bad in ["inf", "1e308", "nan"] {
      try CLI.fail(judge + ["--judge-timeout", bad], mentioning: ["--judge-timeout"])
    }
    try CLI.fail(judge + ["--judge-max-backoff", "inf"], mentioning: ["--judge-max-backoff"])
    try CLI.fail(judge + ["--judge-retries", "99999999999"], mentioning: ["--judge-retries"])
    try CLI.fail(judge + ["--judge-model", ""], mentioning: ["--judge-model is empty"])
    // pack --meta = trapped splitting the pair (SIGILL)
    let pack = ["pack", "--input", data.path, "--dtype", "f16", "--out", out]
    try CLI.fail(pack + ["--meta", "="], mentioning: ["--meta '='", "KEY"])
    try CLI.fail(pack + ["--meta", "=v"], mentioning: ["--meta '=v'"])
    try CLI.fail(pack + ["--tensor", ""], mentioning: ["--tensor is empty"])
    // noise inf wrote rows of ±inf (exit 0)
    try CLI.fail(
      ["synth", "--bits", "4", "--dim", "8", "--rows", "64", "--noise", "inf", "--out", data.path],
      mentioning: ["--noise"])
    // an empty --out (the working directory) or metadata string was taken with exit 0
    for command in [
      ["eval", "--model", run, "--data", data.path], ["export", "--model", run],
      ["entropy-position", "--data", data.path], ["features", "--model", run, "--data", data.path],
      ["features-compare", dir.appendingPathComponent("report").path],
      ["pack", "--input", data.path, "--dtype", "f16"],
    ] {
      try CLI.fail(command + ["--out", ""], mentioning: ["--out is empty"])
    }
    let export = ["export", "--model", run, "--out", out]
    try CLI.fail(export + ["--model-name", ""], mentioning: ["--model-name is empty"])
    try CLI.fail(export + ["--hook-name", ""], mentioning: ["--hook-name is empty"])
    try CLI.fail(["features-compare", "a", "b", "--labels", "x,", "--out", out], mentioning: ["--labels", "empty"])
  }

  func testFortranOrderNpyIsRejectedNamingFileAndOrder() throws {
    let dir = try makeTemporaryDirectory(self, "fortran")
    let url = dir.appendingPathComponent("fortran.npy")
    try HandNpy.write(
      descr: "<f4", fortranOrder: true, shape: [256, 8],
      data: HandNpy.float32((0..<(256 * 8)).map { Float($0 % 7) }), to: url)
    try CLI.fail(train(url, out: dir.appendingPathComponent("run")), mentioning: [url.path, "Fortran", "[256, 8]"])
    try CLI.fail(
      ["pack", "--input", url.path, "--dtype", "f16", "--out", dir.appendingPathComponent("ds").path],
      mentioning: [url.path, "Fortran"])
  }

  func testFloat64NpyIsRejectedNamingFileAndDType() throws {
    let dir = try makeTemporaryDirectory(self, "f64")
    let url = dir.appendingPathComponent("doubles.npy")
    try HandNpy.write(
      descr: "<f8", fortranOrder: false, shape: [256, 8],
      data: HandNpy.float64((0..<(256 * 8)).map { Double($0 % 5) }), to: url)
    try CLI.fail(train(url, out: dir.appendingPathComponent("run")), mentioning: [url.path, "'<f8'", "float32"])
    let big = dir.appendingPathComponent("bigendian.npy")
    try HandNpy.write(descr: ">f4", fortranOrder: false, shape: [256, 8], data: Data(count: 256 * 8 * 4), to: big)
    try CLI.fail(train(big, out: dir.appendingPathComponent("run")), mentioning: [big.path, "big-endian"])
  }

  func testOtherUnusableDataIsNamed() throws {
    let dir = try makeTemporaryDirectory(self, "other")
    let out = dir.appendingPathComponent("run")
    let missing = dir.appendingPathComponent("missing.npy").path
    try CLI.fail(["train", "--data", missing, "--out", out.path], mentioning: [missing, "does not exist"])
    try CLI.fail(["train", "--out", out.path], mentioning: ["--data"])
    let oneD = dir.appendingPathComponent("flat.npy")
    try Npy.write([Float](repeating: 1, count: 64), shape: [64], to: oneD)
    try CLI.fail(["train", "--data", oneD.path, "--out", out.path], mentioning: [oneD.path, "2-D"])
    let data = try cleanData(dir)
    try CLI.fail(
      ["train", "--data", data.path, "--batch-size", "4096", "--out", out.path],
      mentioning: [data.path, "fewer than one global batch", "--batch-size"])
    let text = dir.appendingPathComponent("notes.txt")
    try Data("hello".utf8).write(to: text)
    try CLI.fail(["train", "--data", text.path, "--out", out.path], mentioning: [text.path])
    try CLI.fail(["entropy", "--model", dir.path, "--data", data.path], mentioning: ["config.json", "bae train"])
  }
}
