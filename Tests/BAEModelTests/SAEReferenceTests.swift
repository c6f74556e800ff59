import BAETensor
import Foundation
import XCTest

// The SAE baselines against the independent PyTorch reference (scripts/reference_sae.py, fixtures in
// Fixtures/sae): code, every loss term, ∂L/∂a, ∂L/∂z, every parameter gradient, and a 10-step Adam
// trajectory with the post-step state (unit-norm decoder, BatchTopK θ, AuxK counters). BatchTopK's
// selection is also checked over 2 and 3 simulated ranks against the single-rank one.
@testable import BAEModel

final class SAEReferenceTests: XCTestCase {
  static func fixtures() throws -> [ReferenceFixture] {
    let dir = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("sae")
    let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".json") }.sorted()
    return try files.map { f in
      let data = try Data(contentsOf: dir.appendingPathComponent(f))
      return ReferenceFixture(name: f, json: try JSONSerialization.jsonObject(with: data) as! [String: Any])
    }
  }

  /// The fixture's ModelConfig: its config keys are ModelConfig's own field names.
  static func modelConfig(_ f: ReferenceFixture) throws -> ModelConfig {
    var merged = try JSONSerialization.jsonObject(with: JSONEncoder().encode(ModelConfig())) as! [String: Any]
    for (k, v) in f.config where merged[k] != nil { merged[k] = v }
    let c = try JSONDecoder().decode(ModelConfig.self, from: JSONSerialization.data(withJSONObject: merged))
    try c.validate()
    return c
  }

  static func model(_ f: ReferenceFixture) throws -> Autoencoder {
    let m = Autoencoder(config: try modelConfig(f))
    for t in m.layout.tensors {
      let v = f.array(t.name)
      precondition(v.count == t.range.count, "\(f.name): \(t.name) has \(v.count) values")
      for (o, x) in zip(t.range, v) { m.parameters[o] = x }
    }
    if !m.bufferLayout.rowsSinceFired.isEmpty, let since = f.json["initialRowsSinceFired"] as? [NSNumber] {
      for (o, v) in zip(m.bufferLayout.rowsSinceFired, since) {
        m.buffers[o] = Swift.min(v.doubleValue, Double(m.config.deadAfterRows))
      }
    }
    return m
  }

  func testEverySAEKindMatchesTheReferenceForwardAndGradients() throws {
    let all = try Self.fixtures()
    XCTAssertGreaterThanOrEqual(all.count, 10, "the SAE fixtures are missing")
    var kinds = Set<Architecture>()
    for f in all {
      let model = try Self.model(f)
      kinds.insert(model.architecture)
      let n = f.int("rows"), d = model.inputDim, dl = model.latentDim
      let xb = f.input()
      let x = Matrix(xb, rows: n, cols: d)
      let step = TrainingStep(model: model, rowsPerRank: [n], collectives: SingleProcess())
      let ws = step.workspace
      let batch = BatchContext(rowsPerRank: [n], collectives: SingleProcess())
      let moments = try model.forward(x, ws, batch: batch)
      if f.json["z"] != nil {
        assertClose(Array(ws.codes.buffer[0..<(n * dl)]), f.array("z"), tol: 1e-5, "\(f.name): z")
      }
      if f.json["a"] != nil {
        assertClose(Array(ws.activations.buffer[0..<(n * dl)]), f.array("a"), tol: 1e-5, "\(f.name): a")
      }
      if f.json["selected"] != nil {
        // the pass mask M is the selection with z > 0 (or the bare selection without ReLU)
        let sel = f.array("selected"), z = Array(ws.codes.buffer[0..<(n * dl)])
        let relu = model.architecture == .batchtopk || model.config.topkReLU
        let expected = (0..<(n * dl)).map { Float(sel[$0] != 0 && (!relu || z[$0] > 0) ? 1 : 0) }
        XCTAssertEqual(Array(ws.mask.buffer[0..<(n * dl)]), expected, "\(f.name): selection")
      }
      assertClose(Array(ws.reconstruction.buffer[0..<(n * d)]), f.array("xhat"), tol: 1e-5, "\(f.name): xhat")
      let s = try model.globalStatistics(ws, localMoments: moments, batch: batch, covariance: false)
      let w = LossWeights.scheduled(model.config, step: 0, entropy: s.entropy)
      assertClose(s.mse(inputDim: d), f.scalar("mse"), rel: 1e-5, "\(f.name): mse")
      assertClose(s.sparsityLoss, f.scalar("sparsity"), rel: 1e-5, "\(f.name): sparsity")
      assertClose(s.auxLoss, f.scalar("aux"), rel: 1e-5, "\(f.name): aux")
      assertClose(w.loss(s, inputDim: d), f.scalar("loss"), rel: 1e-5, "\(f.name): loss")

      let grads = AlignedBuffer<Float>(count: model.layout.count)
      model.backward(x, ws, statistics: s, weights: w, into: grads)
      assertClose(Array(ws.valueGrad.buffer[0..<(n * dl)]), f.array("grad_z"), tol: 1e-5, "\(f.name): ∂L/∂z")
      for t in model.layout.tensors {
        assertClose(Array(grads.buffer[t.range]), f.array("grad." + t.name), tol: 1e-5, "\(f.name): ∂L/∂\(t.name)")
      }
    }
    XCTAssertEqual(kinds, [.relu, .topk, .batchtopk, .jumprelu], "every SAE kind has fixtures")
  }

  func testTenAdamStepsFollowTheReferenceTrajectory() throws {
    for f in try Self.fixtures() {
      let model = try Self.model(f)
      let n = f.int("rows"), d = model.inputDim
      let xb = f.input()
      let x = Matrix(xb, rows: n, cols: d)
      let step = TrainingStep(model: model, rowsPerRank: [n], collectives: SingleProcess())
      let losses = f.list("losses")
      var thetas: [Double] = []
      for (i, ref) in losses.enumerated() {
        let o = try step.run(x, step: i, rowsPerRank: [n])
        assertClose(o.loss, ref, rel: 2e-5, "\(f.name): loss at step \(i + 1)")
        if let t = model.batchThreshold { thetas.append(t) }
      }
      for t in model.layout.tensors {
        assertClose(
          Array(model.parameters.buffer[t.range]), f.array("final." + t.name), tol: 2e-5, "\(f.name): final \(t.name)")
      }
      if model.architecture == .batchtopk {
        let ref = f.list("thresholds")
        XCTAssertEqual(thetas.count, ref.count, "\(f.name): θ per step")
        for (a, b) in zip(thetas, ref) { assertClose(a, b, rel: 1e-5, "\(f.name): θ") }
      }
      if let since = f.json["final.rowsSinceFired"] as? [NSNumber] {
        let limit = Double(model.config.deadAfterRows)
        let ours = model.bufferLayout.rowsSinceFired.map { model.buffers[$0] }
        XCTAssertEqual(ours, since.map { Swift.min($0.doubleValue, limit) }, "\(f.name): AuxK counters")
      }
    }
  }

  func testBatchTopKSelectionIsTheSameOverSimulatedRanks() throws {
    for f in try Self.fixtures() where f.config["architecture"] as? String == "batchtopk" {
      let n = f.int("rows")
      let xAll = f.array("x")
      var single: [Float] = []
      for world in [1, 2, 3] {
        let shared = SharedMemoryWorld(size: world)
        let rowsPerRank = (0..<world).map { r in (r + 1) * n / world - r * n / world }
        final class Box: @unchecked Sendable {
          var masks = [[Float]]()
          let lock = NSLock()
        }
        let box = Box()
        box.masks = Array(repeating: [], count: world)
        let done = DispatchGroup()
        for r in 0..<world {
          done.enter()
          let model = try Self.model(f)
          Thread {
            defer { done.leave() }
            let comm = SharedMemoryRank(shared, rank: r)
            let d = model.inputDim, dl = model.latentDim, rows = rowsPerRank[r], first = r * n / world
            let xb = AlignedBuffer<Float>(count: max(1, rows) * d)
            for i in 0..<(rows * d) { xb[i] = xAll[first * d + i] }
            let ws = StepWorkspace(config: model.config, capacity: max(1, rows), globalCapacity: n)
            _ = try! model.forward(
              Matrix(xb, rows: rows, cols: d), ws, batch: BatchContext(rowsPerRank: rowsPerRank, collectives: comm))
            box.lock.lock()
            box.masks[r] = Array(ws.mask.buffer[0..<(rows * dl)])
            box.lock.unlock()
          }.start()
        }
        done.wait()
        let joined = box.masks.flatMap { $0 }
        if world == 1 {
          single = joined
        } else {
          XCTAssertEqual(joined, single, "\(f.name): selection over \(world) ranks")
        }
      }
      let total = single.reduce(0, +)
      XCTAssertGreaterThan(total, 0, "\(f.name): something selected")
    }
  }
}
