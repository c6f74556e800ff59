// `bae train` end to end under hostile conditions (issue 11): an epoch count whose step product
// overflows, stderr on a full device or a closed pipe, and an --out that holds another run.
import BAEIO
import Foundation
import XCTest

final class CLIRunSafetyTests: XCTestCase {
  static let dim = 8

  func data(_ dir: URL) throws -> URL {
    let url = dir.appendingPathComponent("d.npy")
    try CLI.succeed(["synth", "--bits", "4", "--dim", "\(Self.dim)", "--rows", "512", "--seed", "2", "--out", url.path])
    return url
  }

  func train(_ data: URL, out: URL, _ extra: [String] = []) -> [String] {
    [
      "train", "--data", data.path, "--latent-dim", "16", "--batch-size", "64", "--steps", "5", "--log-every", "1",
      "--out", out.path,
    ] + extra
  }

  /// Runs `bae` with stderr going to `stderr` (a device or a pipe's write end); returns the outcome.
  func run(_ arguments: [String], stderr: FileHandle) throws -> (status: Int32, reason: Process.TerminationReason) {
    let p = Process()
    p.executableURL = try CLI.requireBinary()
    p.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    for key in env.keys where key.hasPrefix("OMPI_") || key.hasPrefix("PMIX_") { env.removeValue(forKey: key) }
    p.environment = env
    p.standardOutput = FileHandle.nullDevice
    p.standardError = stderr
    p.standardInput = FileHandle.nullDevice
    try p.run()
    p.waitUntilExit()
    return (p.terminationStatus, p.terminationReason)
  }

  func testEpochsWhoseStepCountOverflowsAreRefusedNamingEpochs() throws {
    let dir = try makeTemporaryDirectory(self, "epochs")
    let d = try data(dir)
    let args = [
      "train", "--data", d.path, "--latent-dim", "16", "--batch-size", "64", "--out",
      dir.appendingPathComponent("r").path,
    ]
    try CLI.fail(args + ["--epochs", "4611686018427387904"], mentioning: ["epochs"])
    // within the per-field limit, but × 6 batches per epoch past it
    try CLI.fail(args + ["--epochs", "\(1 << 40)"], mentioning: ["epochs", "batches per epoch"])
  }

  func testStderrOnAFullDeviceDoesNotEndTheRun() throws {
    let dir = try makeTemporaryDirectory(self, "devfull")
    let d = try data(dir)
    let full = try XCTUnwrap(FileHandle(forWritingAtPath: "/dev/full"))
    let r = try run(train(d, out: dir.appendingPathComponent("r")), stderr: full)
    XCTAssertEqual(r.reason, .exit, "killed by a signal")
    XCTAssertEqual(r.status, 0)
    XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("r/model.safetensors").path))
  }

  func testStderrToAClosedPipeIsNotSIGPIPE() throws {
    let dir = try makeTemporaryDirectory(self, "pipe")
    let d = try data(dir)
    let pipe = Pipe()
    try pipe.fileHandleForReading.close()  // like `bae train 2>&1 | head -1` after head exits
    let r = try run(train(d, out: dir.appendingPathComponent("r")), stderr: pipe.fileHandleForWriting)
    XCTAssertEqual(r.reason, .exit, "killed by SIGPIPE")
    XCTAssertEqual(r.status, 0)
  }

  func testAnOutHoldingAnotherRunNeedsResumeOrOverwrite() throws {
    let dir = try makeTemporaryDirectory(self, "owned")
    let d = try data(dir)
    let out = dir.appendingPathComponent("r")
    try CLI.succeed(train(d, out: out, ["--checkpoint-every", "5"]))
    try CLI.fail(train(d, out: out, ["--checkpoint-every", "5"]), mentioning: [out.path, "--resume", "--overwrite"])
    try CLI.fail(train(d, out: out, ["--resume", "--overwrite"]), mentioning: ["--overwrite"])
    let again = try CLI.succeed(train(d, out: out, ["--checkpoint-every", "5", "--overwrite"]))
    XCTAssertTrue(again.stderr.contains("--overwrite: removed"), again.transcript)
    let lines = try String(contentsOf: out.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(
      separator: "\n")
    XCTAssertEqual(lines.count, 6, "5 steps and the final validation of the new run only")
  }
}
