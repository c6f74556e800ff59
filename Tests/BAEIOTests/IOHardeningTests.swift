import BAEIO
import Foundation
import XCTest

#if canImport(Glibc)
  import Glibc
#endif

/// Hostile npy/safetensors inputs (issue 11): typed errors, never a stack overflow or a blocked open.
final class IOHardeningTests: XCTestCase {
  /// A version 1.0 .npy file with an arbitrary header text and no data.
  private func npy(header: String) -> Data {
    var text = Array(header.utf8)
    while (10 + text.count + 1) % 64 != 0 { text.append(0x20) }
    text.append(0x0A)
    return Data([0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(text.count & 0xFF), UInt8(text.count >> 8)] + text)
  }

  // Issue 11 item 1: thousands of nested brackets overflowed the recursive parser's stack (SIGSEGV).
  func testDeeplyNestedHeaderIsMalformedNotACrash() throws {
    let directory = try makeScratchDirectory(self)
    for (open, close) in [("[", "]"), ("(", ")"), ("{", "}")] {
      let depth = 20_000  // within the 64 KiB of a version 1.0 header
      let shape = String(repeating: open, count: depth) + String(repeating: close, count: depth)
      let url = directory.appendingPathComponent("deep.npy")
      try npy(header: "{'descr': '<f4', 'fortran_order': False, 'shape': \(shape), }").write(to: url)
      let error = expectBAEIOError { try Npy.readHeader(url) }
      guard case .malformedHeader(url.path, let problem)? = error else {
        return XCTFail("\(String(describing: error))")
      }
      XCTAssertTrue(problem.contains("nested deeper than \(Limits.npyLiteralDepth)"), problem)
    }
    // Nesting up to the cap is still parsed (and then refused for what it is: not a tuple of ints).
    let url = directory.appendingPathComponent("ok.npy")
    let inner =
      String(repeating: "(", count: Limits.npyLiteralDepth - 2) + "1,"
      + String(repeating: ")", count: Limits.npyLiteralDepth - 2)
    try npy(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (\(inner),), }").write(to: url)
    guard case .malformedHeader(_, let problem)? = expectBAEIOError({ try Npy.readHeader(url) }) else {
      return XCTFail()
    }
    XCTAssertTrue(problem.contains("is not a tuple of non-negative ints"), problem)
  }

  func testHeaderLengthCapAndItsOverride() throws {
    let directory = try makeScratchDirectory(self)
    let url = directory.appendingPathComponent("a.npy")
    try Npy.write([1, 2, 3, 4], shape: [2, 2], to: url)
    setenv("BAE_MAX_NPY_HEADER_BYTES", "32", 1)
    defer { unsetenv("BAE_MAX_NPY_HEADER_BYTES") }
    guard
      case .limitExceeded(url.path, "header length", 118, 32, "BAE_MAX_NPY_HEADER_BYTES")? = expectBAEIOError({
        try Npy.read(url)
      })
    else {
      return XCTFail()
    }
    setenv("BAE_MAX_NPY_HEADER_BYTES", "-5", 1)
    XCTAssertEqual(expectBAEIOError { try Npy.read(url) }, .badLimit(variable: "BAE_MAX_NPY_HEADER_BYTES", value: "-5"))
    unsetenv("BAE_MAX_NPY_HEADER_BYTES")
    XCTAssertEqual(try Npy.read(url).values, [1, 2, 3, 4])
  }

  // Issue 11 item 7: a FIFO (no writer) blocked open(2) forever; a device was read as a file.
  func testNonRegularFilesAreRefused() throws {
    let directory = try makeScratchDirectory(self)
    let fifo = directory.appendingPathComponent("acts.npy")
    XCTAssertEqual(mkfifo(fifo.path, 0o600), 0)
    let done = DispatchSemaphore(value: 0)
    nonisolated(unsafe) var error: BAEIOError?
    Thread {
      do { _ = try Npy.readHeader(fifo) } catch let e as BAEIOError { error = e } catch {}
      done.signal()
    }.start()
    if done.wait(timeout: .now() + 20) == .timedOut {
      XCTFail("opening a FIFO blocks")
      let fd = open(fifo.path, O_RDWR | O_NONBLOCK)  // release the stuck reader
      if fd >= 0 { close(fd) }
      return
    }
    XCTAssertEqual(error, .notRegularFile(path: fifo.path, kind: "FIFO (named pipe)"))
    XCTAssertEqual(
      expectBAEIOError { try SafeTensorsFile(contentsOf: URL(fileURLWithPath: "/dev/zero")) },
      .notRegularFile(path: "/dev/zero", kind: "character device"))
    XCTAssertEqual(
      expectBAEIOError { try Npy.read(directory) }, .notRegularFile(path: directory.path, kind: "directory"))
  }
}
