// Running the built `bae` binary from tests: locating it next to the test bundle (or $BAE_BINARY),
// running it with captured stdout/stderr/exit code and a timeout, and writing input files by hand
// (including the malformed .npy variants the CLI must reject).
import BAEIO
import Foundation
import XCTest

/// The outcome of one `bae` invocation.
struct CLIResult {
  var arguments: [String]
  var status: Int32
  /// Whether a signal ended the process (a crash), not an exit.
  var signalled = false
  var stdout: String
  var stderr: String

  /// Everything the command printed, for failure messages.
  var transcript: String {
    "$ bae \(arguments.joined(separator: " "))\nexit \(status)\n--- stdout\n\(stdout)\n--- stderr\n\(stderr)"
  }
}

enum CLI {
  /// The `bae` executable: $BAE_BINARY, else the file `bae` in the directory holding the test bundle
  /// (`<scratch>/<config>/BAEPackageTests.xctest` and `<scratch>/<config>/bae` are siblings).
  static let binary: URL? = {
    let fm = FileManager.default
    if let env = ProcessInfo.processInfo.environment["BAE_BINARY"], !env.isEmpty {
      return URL(fileURLWithPath: env)
    }
    var candidates: [URL] = []
    for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
      candidates.append(bundle.bundleURL.deletingLastPathComponent())
    }
    if let exe = Bundle.main.executableURL { candidates.append(exe.deletingLastPathComponent()) }
    candidates.append(Bundle.main.bundleURL)
    if let exe = try? fm.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
      candidates.append(URL(fileURLWithPath: exe).deletingLastPathComponent())
    }
    candidates.append(URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent())
    for dir in candidates {
      // on Linux the bundle is itself an executable file; its directory is the build directory
      var d = dir
      if d.pathExtension == "xctest" { d = d.deletingLastPathComponent() }
      let exe = d.appendingPathComponent("bae")
      if fm.isExecutableFile(atPath: exe.path) { return exe }
    }
    return nil
  }()

  /// The binary or a test failure that says how to provide it.
  static func requireBinary(file: StaticString = #filePath, line: UInt = #line) throws -> URL {
    guard let b = binary else {
      XCTFail(
        "cannot find the `bae` executable next to the test bundle; build with `swift build --build-tests` or set BAE_BINARY",
        file: file, line: line)
      throw CLIError.noBinary
    }
    return b
  }

  /// Runs `bae arguments…` in `directory`, killing it after `timeout` seconds.
  /// The child never sees MPI launcher variables, so it always runs as a world of one.
  static func run(
    _ arguments: [String], in directory: URL? = nil, timeout: TimeInterval = 120,
    file: StaticString = #filePath, line: UInt = #line
  ) throws -> CLIResult {
    let exe = try requireBinary(file: file, line: line)
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("bae-cli-io-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: scratch) }
    let outURL = scratch.appendingPathComponent("stdout"), errURL = scratch.appendingPathComponent("stderr")
    _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
    // files, not pipes: a chatty child can never block on a full pipe while we wait for it
    let outHandle = try FileHandle(forWritingTo: outURL), errHandle = try FileHandle(forWritingTo: errURL)

    let p = Process()
    p.executableURL = exe
    p.arguments = arguments
    if let directory { p.currentDirectoryURL = directory }
    var env = ProcessInfo.processInfo.environment
    for key in env.keys where key.hasPrefix("OMPI_") || key.hasPrefix("PMIX_") || key == "BAE_FORCE_MPI" {
      env.removeValue(forKey: key)
    }
    env["OPENBLAS_NUM_THREADS"] = env["OPENBLAS_NUM_THREADS"] ?? "1"
    p.environment = env
    p.standardOutput = outHandle
    p.standardError = errHandle
    p.standardInput = FileHandle.nullDevice
    let done = DispatchSemaphore(value: 0)
    p.terminationHandler = { _ in done.signal() }
    try p.run()
    if done.wait(timeout: .now() + timeout) == .timedOut {
      p.terminate()
      done.wait()
      XCTFail("bae \(arguments.joined(separator: " ")) did not finish within \(timeout) s", file: file, line: line)
    }
    try outHandle.close()
    try errHandle.close()
    return CLIResult(
      arguments: arguments, status: p.terminationStatus, signalled: p.terminationReason == .uncaughtSignal,
      stdout: String(decoding: try Data(contentsOf: outURL), as: UTF8.self),
      stderr: String(decoding: try Data(contentsOf: errURL), as: UTF8.self))
  }

  /// Runs and asserts exit code 0, returning the result.
  @discardableResult
  static func succeed(
    _ arguments: [String], timeout: TimeInterval = 120,
    file: StaticString = #filePath, line: UInt = #line
  ) throws -> CLIResult {
    let r = try run(arguments, timeout: timeout, file: file, line: line)
    XCTAssertEqual(r.status, 0, "expected success:\n\(r.transcript)", file: file, line: line)
    if r.status != 0 { throw CLIError.unexpectedStatus(r.transcript) }
    return r
  }

  /// Runs and asserts a non-zero exit code whose stderr contains every one of `needles`.
  @discardableResult
  static func fail(
    _ arguments: [String], mentioning needles: [String],
    file: StaticString = #filePath, line: UInt = #line
  ) throws -> CLIResult {
    let r = try run(arguments, file: file, line: line)
    XCTAssertNotEqual(r.status, 0, "expected a failure:\n\(r.transcript)", file: file, line: line)
    for n in needles {
      XCTAssertTrue(r.stderr.contains(n), "stderr should mention \"\(n)\":\n\(r.transcript)", file: file, line: line)
    }
    XCTAssertFalse(
      r.stderr.contains("Fatal error") || r.stderr.contains("Program crashed") || r.signalled,
      "a crash instead of an error message:\n\(r.transcript)", file: file, line: line)
    return r
  }
}

enum CLIError: Error, CustomStringConvertible {
  case noBinary
  case unexpectedStatus(String)
  case badFile(String)
  var description: String {
    switch self {
    case .noBinary: return "no bae binary"
    case let .unexpectedStatus(t): return "unexpected exit status:\n\(t)"
    case let .badFile(s): return s
    }
  }
}

/// A fresh temporary directory, removed by the test case's teardown.
func makeTemporaryDirectory(_ test: XCTestCase, _ label: String) throws -> URL {
  let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bae-cli-\(label)-\(UUID().uuidString)")
  try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
  test.addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
  return dir
}

/// Hand-written .npy files in layouts BAEIO must refuse (numpy would write these for float64 data
/// or `np.asfortranarray`): a version 1.0 header padded to a multiple of 64 bytes, then raw data.
enum HandNpy {
  static func write(descr: String, fortranOrder: Bool, shape: [Int], data: Data, to url: URL) throws {
    let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
    var header = "{'descr': '\(descr)', 'fortran_order': \(fortranOrder ? "True" : "False"), 'shape': \(shapeText), }"
    let unpadded = 10 + header.utf8.count + 1
    header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
    var bytes = Data([0x93]) + Data("NUMPY".utf8) + Data([1, 0])
    let len = UInt16(header.utf8.count)
    bytes.append(contentsOf: [UInt8(len & 0xFF), UInt8(len >> 8)])
    bytes.append(Data(header.utf8))
    bytes.append(data)
    try bytes.write(to: url)
  }

  /// Little-endian float64 values.
  static func float64(_ values: [Double]) -> Data {
    var d = Data(capacity: values.count * 8)
    for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { d.append(contentsOf: $0) } }
    return d
  }

  /// Little-endian float32 values.
  static func float32(_ values: [Float]) -> Data {
    var d = Data(capacity: values.count * 4)
    for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { d.append(contentsOf: $0) } }
    return d
  }
}

/// Reads a JSON object (one `bae` output file or stdout line).
func jsonObject(_ data: Data, what: String) throws -> [String: Any] {
  guard let o = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
    throw CLIError.badFile("\(what) is not a JSON object: \(String(decoding: data, as: UTF8.self).prefix(300))")
  }
  return o
}
