// `bae --version`: the version, the commit the binary was built from, and the native library versions
// (the facts a checkpoint records). The commit is fixed at build time, so running `bae` from inside
// another git repository must not change it.
import Foundation
import XCTest

final class CLIVersionTests: XCTestCase {
  /// The repository holding this test file (Tests/BAECLITests/ is two levels below it).
  static let sourceRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()

  /// Runs git with `arguments`; nil when git is missing or fails.
  static func git(_ arguments: [String]) -> String? {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["git"] + arguments
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    guard (try? p.run()) != nil else { return nil }
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    guard p.terminationStatus == 0 else { return nil }
    return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
  }

  /// `--version` output as label → value ("bae" → version, "commit" → hash, "Open MPI" → text, …).
  static func fields(_ stdout: String) -> [String: String] {
    var out: [String: String] = [:]
    for line in stdout.split(separator: "\n") {
      if let colon = line.range(of: ": ") {
        out[String(line[..<colon.lowerBound])] = String(line[colon.upperBound...])
      } else if let space = line.firstIndex(of: " ") {
        out[String(line[..<space])] = String(line[line.index(after: space)...])
      }
    }
    return out
  }

  func testVersionNamesVersionCommitAndLibraries() throws {
    let r = try CLI.succeed(["--version"])
    let f = Self.fields(r.stdout)
    XCTAssertEqual(r.stdout.split(separator: "\n").count, 5, r.transcript)
    let version = try XCTUnwrap(f["bae"], r.transcript)
    XCTAssertNotNil(version.range(of: #"^\d+\.\d+\.\d+$"#, options: .regularExpression), r.transcript)
    let commit = try XCTUnwrap(f["commit"], r.transcript)
    XCTAssertTrue(
      commit == "unknown" || commit.range(of: "^[0-9a-f]{40,64}$", options: .regularExpression) != nil,
      r.transcript)
    XCTAssertTrue(f["Open MPI"]?.hasPrefix("Open MPI v") == true, r.transcript)
    XCTAssertTrue(f["OpenBLAS"]?.hasPrefix("OpenBLAS ") == true, r.transcript)
    XCTAssertNotNil(f["zstd"]?.range(of: #"^\d+\.\d+\.\d+$"#, options: .regularExpression), r.transcript)
    XCTAssertTrue(r.stderr.isEmpty, r.transcript)
  }

  func testVersionStatesWhatACheckpointRecords() throws {
    let dir = try makeTemporaryDirectory(self, "version-ckpt")
    let data = dir.appendingPathComponent("x.npy"), out = dir.appendingPathComponent("run")
    try CLI.succeed(["synth", "--bits", "4", "--dim", "8", "--rows", "256", "--seed", "1", "--out", data.path])
    try CLI.succeed([
      "train", "--data", data.path, "--latent-dim", "16", "--batch-size", "64", "--steps", "2",
      "--checkpoint-every", "2", "--out", out.path,
    ])
    let info = try jsonObject(
      try Data(contentsOf: out.appendingPathComponent("step_00000002/config.json")),
      what: "checkpoint config.json")
    let versions = try XCTUnwrap(info["versions"] as? [String: String], "\(info)")
    let f = Self.fields(try CLI.succeed(["--version"]).stdout)
    XCTAssertEqual(f["commit"], info["gitCommit"] as? String)
    XCTAssertEqual(f["Open MPI"], versions["mpi"])
    XCTAssertEqual(f["OpenBLAS"], versions["openblas"])
    XCTAssertEqual(f["zstd"], versions["zstd"])
  }

  func testCommitIsTheBuiltTreesHEADWhereverBaeRuns() throws {
    // a BAE_BINARY inside this source tree (scripts/test.sh's `.build/release/bae`) was built from it; one
    // elsewhere may come from another tree, whose commit is not this HEAD
    if let env = ProcessInfo.processInfo.environment["BAE_BINARY"], !env.isEmpty {
      let binary = URL(fileURLWithPath: env).standardizedFileURL.resolvingSymlinksInPath().path
      let root = Self.sourceRoot.standardizedFileURL.resolvingSymlinksInPath().path
      if !binary.hasPrefix(root + "/") {
        throw XCTSkip("BAE_BINARY=\(env) lies outside \(root): it may have been built from another tree")
      }
    }
    guard FileManager.default.fileExists(atPath: Self.sourceRoot.appendingPathComponent(".git").path),
      let head = Self.git(["-C", Self.sourceRoot.path, "rev-parse", "HEAD"])
    else {
      throw XCTSkip("\(Self.sourceRoot.path) is not a git checkout (or git is missing): the build recorded \"unknown\"")
    }
    // a directory inside an unrelated repository: the old run-time lookup would have reported its HEAD
    let other = try makeTemporaryDirectory(self, "other-repo")
    guard Self.git(["-C", other.path, "init", "-q"]) != nil,
      Self.git([
        "-C", other.path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "x",
      ]) != nil,
      let otherHead = Self.git(["-C", other.path, "rev-parse", "HEAD"])
    else {
      throw XCTSkip("cannot make a scratch git repository in \(other.path)")
    }
    XCTAssertNotEqual(otherHead, head)
    let r = try CLI.run(["--version"], in: other)
    XCTAssertEqual(r.status, 0, r.transcript)
    XCTAssertEqual(
      Self.fields(r.stdout)["commit"], head,
      "the commit must be the one `bae` was built from (rebuild if you committed since):\n\(r.transcript)")
  }
}
