// AtomicFile: replaces whole files, leaves no temporary files behind, and leaves the old file
// untouched when the write fails.
import BAEIO
import Foundation
import XCTest

final class AtomicFileTests: XCTestCase {
  private func entries(_ directory: URL) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
  }

  func testWritesAndReplaces() throws {
    let directory = try makeScratchDirectory(self)
    let url = directory.appendingPathComponent("state.bin")
    try AtomicFile.write(Data([1, 2, 3]), to: url)
    XCTAssertEqual(try Data(contentsOf: url), Data([1, 2, 3]))
    try AtomicFile.write(Data([9]), to: url)
    XCTAssertEqual(try Data(contentsOf: url), Data([9]))
    XCTAssertEqual(try entries(directory), ["state.bin"])
  }

  func testFailedBodyLeavesOldFileAndNoTemporary() throws {
    struct Interrupted: Error {}
    let directory = try makeScratchDirectory(self)
    let url = directory.appendingPathComponent("ckpt.safetensors")
    try AtomicFile.write(Data("old".utf8), to: url)
    XCTAssertThrowsError(
      try AtomicFile.write(to: url) { sink in
        try sink.write(Data("half of the new".utf8))
        throw Interrupted()
      }
    ) { XCTAssertTrue($0 is Interrupted) }
    XCTAssertEqual(try Data(contentsOf: url), Data("old".utf8))
    XCTAssertEqual(try entries(directory), ["ckpt.safetensors"])
  }

  func testMissingDirectoryThrowsCannotWrite() throws {
    let directory = try makeScratchDirectory(self)
    let url = directory.appendingPathComponent("no/such/dir/file.npy")
    let error = expectBAEIOError { try Npy.write([1], shape: [1], to: url) }
    XCTAssertEqual(error.map(caseName), "cannotWrite")
    XCTAssertTrue(error?.description.contains("no/such/dir") ?? false, error?.description ?? "")
    XCTAssertEqual(
      expectBAEIOError { try AtomicFile.fsyncDirectory(directory.appendingPathComponent("absent")) }.map(caseName),
      "cannotWrite")
    try AtomicFile.fsyncDirectory(directory)
  }
}
