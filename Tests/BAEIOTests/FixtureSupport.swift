// Shared helpers for BAEIO tests: fixture paths, the expected-value JSON files written by
// scripts/make_io_fixtures.py, scratch directories, and error-case names.
import BAEIO
import Foundation
import XCTest

enum Fixtures {
  static var directory: URL {
    Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
  }

  static func url(_ name: String) -> URL { directory.appendingPathComponent(name) }

  static func json(_ name: String) throws -> [String: Any] {
    let data = try Data(contentsOf: url(name))
    return try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any], "\(name) is not a JSON object")
  }

  static func bytes(_ name: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: url(name))) }
}

/// JSON arrays of numbers as typed Swift arrays.
func ints(_ value: Any?) -> [Int] { (value as? [Any] ?? []).map { ($0 as! NSNumber).intValue } }
func floatsFromBits(_ value: Any?) -> [Float] { ints(value).map { Float(bitPattern: UInt32($0)) } }
func bitPatterns(_ values: [Float]) -> [UInt32] { values.map(\.bitPattern) }

/// A fresh directory under the system temporary directory, removed by the test's teardown.
func makeScratchDirectory(_ test: XCTestCase) throws -> URL {
  let url = FileManager.default.temporaryDirectory.appendingPathComponent("baeio-test-\(UUID().uuidString)")
  try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
  return url
}

/// The case name of a BAEIOError ("truncated", "badMagic", ...), for table-driven checks.
func caseName(_ error: BAEIOError) -> String {
  Mirror(reflecting: error).children.first?.label ?? String(describing: error)
}

/// Runs `body`, requiring it to throw a BAEIOError; returns it.
func expectBAEIOError<T>(_ body: () throws -> T, file: StaticString = #filePath, line: UInt = #line) -> BAEIOError? {
  do {
    _ = try body()
    XCTFail("expected a BAEIOError, nothing was thrown", file: file, line: line)
  } catch let error as BAEIOError {
    return error
  } catch {
    XCTFail("expected a BAEIOError, got \(type(of: error)): \(error)", file: file, line: line)
  }
  return nil
}
