// Invalid configurations are rejected once, naming the field; the flat JSON form round-trips.
import BAEModel
import BAETrain
import XCTest

final class ConfigValidationTests: XCTestCase {
  func valid() -> TrainConfig {
    var c = TrainConfig()
    c.model.inputDim = 8
    c.model.latentDim = 32
    return c
  }

  func assertRejected(_ field: String, _ mutate: (inout TrainConfig) -> Void, line: UInt = #line) {
    var c = valid()
    mutate(&c)
    XCTAssertThrowsError(try c.validate(), line: line) { e in
      XCTAssertEqual((e as? ConfigError)?.field, field, "\(e)", line: line)
    }
  }

  func testRejectsInvalidFieldsByName() throws {
    XCTAssertNoThrow(try valid().validate())
    assertRejected("latentDim") { $0.model.latentDim = 0 }
    assertRejected("lr") { $0.model.lr = 0 }
    assertRejected("lr") { $0.model.lr = -1e-3 }
    assertRejected("batchSize") { $0.batchSize = 1 }  // covariance on needs n ≥ 2
    assertRejected("bitsPerFeature") { $0.model.bitsPerFeature = 0 }
    assertRejected("inputDim") { $0.model.inputDim = 0 }
    assertRejected("validationFraction") { $0.validationFraction = 1 }
    assertRejected("entropyWeight") { $0.model.entropyWeight = -1 }
    // size products that would overflow or exceed any memory are refused before allocation
    assertRejected("latentDim") { $0.model.latentDim = 1 << 62 }
    assertRejected("epochs") { $0.epochs = 1 << 62 }
    assertRejected("steps") { $0.steps = 1 << 62 }
    var ok = valid()
    ok.batchSize = 1
    ok.model.covarianceWeight = 0
    XCTAssertNoThrow(try ok.validate(), "batch 1 is fine without the covariance term")
  }

  func testRejectsInvalidSAESettingsByName() throws {
    func sae(_ a: Architecture, _ mutate: @escaping (inout ModelConfig) -> Void) -> (inout TrainConfig) -> Void {
      { c in
        c.model.architecture = a
        mutate(&c.model)
      }
    }
    assertRejected("k") { sae(.topk) { $0.k = 0 }(&$0) }
    assertRejected("k") { sae(.batchtopk) { $0.k = 33 }(&$0) }  // k > d'
    assertRejected("l1Weight") { sae(.relu) { $0.l1Weight = -1 }(&$0) }
    assertRejected("threshold") { sae(.jumprelu) { $0.threshold = 0 }(&$0) }
    assertRejected("bandwidth") { sae(.jumprelu) { $0.bandwidth = 0 }(&$0) }
    assertRejected("bitsPerFeature") { sae(.relu) { $0.bitsPerFeature = 2 }(&$0) }
    assertRejected("unitNormDecoder") { sae(.bae) { $0.unitNormDecoder = true }(&$0) }
    assertRejected("auxkWeight") { sae(.batchtopk) { $0.auxkWeight = 0.03 }(&$0) }
    for a in Architecture.allCases {
      var c = valid()
      c.model.architecture = a
      XCTAssertNoThrow(try c.validate(), "\(a) with defaults")
    }
  }

  func testConfigRoundTripsThroughFlatJSON() throws {
    var c = valid()
    c.model.estimator = .sign
    c.model.bitsPerFeature = 2
    c.model.architecture = .bae
    c.initFrom = "w.safetensors"
    c.batchSize = 96
    let data = try JSONEncoder().encode(c)
    let object = try JSONSerialization.jsonObject(with: data) as! [String: Any]
    XCTAssertEqual(object["latentDim"] as? Int, 32, "model fields sit at the top level")
    XCTAssertEqual(object["batchSize"] as? Int, 96)
    XCTAssertEqual(try JSONDecoder().decode(TrainConfig.self, from: data), c)
    // a partial file keeps the defaults for the rest and refuses unknown keys by name
    let partial = try TrainConfig.decodePartial(Data(#"{"architecture": "topk", "k": 8}"#.utf8))
    XCTAssertEqual(partial.model.architecture, .topk)
    XCTAssertEqual(partial.model.k, 8)
    XCTAssertEqual(partial.batchSize, TrainConfig().batchSize)
    XCTAssertThrowsError(try TrainConfig.decodePartial(Data(#"{"kk": 8}"#.utf8))) { e in
      XCTAssertEqual((e as? ConfigError)?.field, "kk")
    }
  }
}
