// What the single-process trainer tests share: a scratch directory per test and the synthetic
// (rows, 12) set with a little noise that they train on.
import BAEIO
import Foundation
import XCTest

@testable import BAETrain

class TrainerTestCase: XCTestCase {
  static let rows = 1000, dim = 12, latent = 48, batch = 100

  var dir: URL!

  override func setUpWithError() throws {
    dir = FileManager.default.temporaryDirectory.appendingPathComponent("bae-\(Self.self)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

  /// A synthetic (rows, 12) set of 7 fair bits with noise 0.05, written once per test into `dir`.
  func dataset(_ name: String = "data.npy", rows: Int = TrainerTestCase.rows, seed: UInt64 = 21) throws -> URL {
    let url = dir.appendingPathComponent(name)
    if !FileManager.default.fileExists(atPath: url.path) {
      try Npy.write(
        SyntheticData.generate(bits: 7, dim: Self.dim, rows: rows, noise: 0.05, seed: seed),
        shape: [rows, Self.dim], to: url)
    }
    return url
  }
}
