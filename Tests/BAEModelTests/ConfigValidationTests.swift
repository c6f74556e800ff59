// Invalid configurations are rejected once, naming the field.
import BAEModel
import XCTest

final class ConfigValidationTests: XCTestCase {
  func valid() -> BAEConfig { var c = BAEConfig(); c.inputDim = 8; c.latentDim = 32; return c }

  func assertRejected(_ field: String, _ mutate: (inout BAEConfig) -> Void, line: UInt = #line) {
    var c = valid()
    mutate(&c)
    XCTAssertThrowsError(try c.validate(), line: line) { e in
      XCTAssertEqual((e as? ConfigError)?.field, field, "\(e)", line: line)
      XCTAssertTrue("\(e)".contains(field), line: line)
    }
  }

  func testRejectsInvalidFieldsByName() throws {
    XCTAssertNoThrow(try valid().validate())
    assertRejected("latentDim") { $0.latentDim = 0 }
    assertRejected("lr") { $0.lr = 0 }
    assertRejected("lr") { $0.lr = -1e-3 }
    assertRejected("batchSize") { $0.batchSize = 1 }      // covariance on needs n ≥ 2
    assertRejected("bitsPerFeature") { $0.bitsPerFeature = 0 }
    assertRejected("inputDim") { $0.inputDim = 0 }
    assertRejected("validationFraction") { $0.validationFraction = 1 }
    assertRejected("entropyWeight") { $0.entropyWeight = -1 }
    var ok = valid()
    ok.batchSize = 1
    ok.covarianceWeight = 0
    XCTAssertNoThrow(try ok.validate(), "batch 1 is fine without the covariance term")
  }

  func testConfigRoundTripsThroughJSON() throws {
    var c = valid()
    c.estimator = .sign
    c.bitsPerFeature = 2
    c.initFrom = "w.safetensors"
    let back = try JSONDecoder().decode(BAEConfig.self, from: JSONEncoder().encode(c))
    XCTAssertEqual(back, c)
  }
}
