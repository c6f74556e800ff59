// Loads the PyTorch reference fixtures (scripts/reference_bae.py) and compares arrays the way
// Documentation/Verification.md prescribes: max|a − b| ≤ tol · max|ref| per array.
import BAEModel
import BAETensor
import Foundation
import XCTest

struct ReferenceFixture {
  let name: String
  let json: [String: Any]

  static var all: [ReferenceFixture] {
    get throws {
      let dir = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
      let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".json") }
        .sorted()
      return try files.map { f in
        let data = try Data(contentsOf: dir.appendingPathComponent(f))
        return ReferenceFixture(name: f, json: try JSONSerialization.jsonObject(with: data) as! [String: Any])
      }
    }
  }

  var config: [String: Any] { json["config"] as! [String: Any] }
  func int(_ k: String) -> Int { (config[k] as! NSNumber).intValue }
  func double(_ k: String) -> Double { (config[k] as! NSNumber).doubleValue }
  func scalar(_ k: String) -> Double { (json[k] as! NSNumber).doubleValue }
  func list(_ k: String) -> [Double] { (json[k] as! [NSNumber]).map(\.doubleValue) }
  func array(_ k: String) -> [Float] {
    let a = json[k] as! [String: Any]
    return (a["data"] as! [NSNumber]).map(\.floatValue)
  }
  func shape(_ k: String) -> [Int] { ((json[k] as! [String: Any])["shape"] as! [NSNumber]).map(\.intValue) }

  var estimator: Estimator { Estimator(rawValue: config["estimator"] as! String)! }

  /// A model with the fixture's initial parameters.
  func makeModel() -> Autoencoder {
    let model = Autoencoder(
      config: .bae(inputDim: int("inputDim"), latentDim: int("latentDim"), bitsPerFeature: int("bitsPerFeature")))
    for t in model.layout.tensors {
      let v = array(t.name)
      precondition(v.count == t.range.count, "\(name): \(t.name) has \(v.count) values, layout \(t.range.count)")
      for (o, x) in zip(t.range, v) { model.parameters[o] = x }
    }
    return model
  }

  func input() -> AlignedBuffer<Float> {
    let v = array("x")
    let b = AlignedBuffer<Float>(count: v.count)
    for (i, x) in v.enumerated() { b[i] = x }
    return b
  }

  var baseConfig: ModelConfig {
    var c = ModelConfig.bae(
      inputDim: int("inputDim"), latentDim: int("latentDim"), bitsPerFeature: int("bitsPerFeature"))
    c.entropyWeight = double("entropyWeight")
    c.covarianceWeight = double("covarianceWeight")
    c.entropyStartStep = int("entropyStartStep")
    c.entropyThreshold = double("entropyThreshold")
    c.estimator = estimator
    c.lr = double("lr")
    return c
  }
}

/// max|a − b| ≤ tol · max(|ref|, floor).
func assertClose(
  _ a: [Float], _ ref: [Float], tol: Double, floor: Double = 1e-12, _ what: String,
  file: StaticString = #filePath, line: UInt = #line
) {
  XCTAssertEqual(a.count, ref.count, "\(what): count", file: file, line: line)
  var maxRef = 0.0, maxDiff = 0.0
  for (x, r) in zip(a, ref) {
    maxRef = max(maxRef, abs(Double(r)))
    maxDiff = max(maxDiff, abs(Double(x) - Double(r)))
  }
  XCTAssertLessThanOrEqual(
    maxDiff, tol * max(maxRef, floor),
    "\(what): max|Δ| \(maxDiff) vs max|ref| \(maxRef) (tol \(tol))", file: file, line: line)
}

func assertClose(
  _ a: Double, _ ref: Double, rel: Double, _ what: String, file: StaticString = #filePath, line: UInt = #line
) {
  XCTAssertLessThanOrEqual(
    abs(a - ref), rel * max(abs(ref), 1e-12), "\(what): \(a) vs reference \(ref)", file: file, line: line)
}
