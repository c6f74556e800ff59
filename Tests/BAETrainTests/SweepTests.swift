import BAEIO
import BAEModel
import Foundation
import XCTest

// Several models on one stream (`bae sweep`): each model's files are bitwise those of the same model
// trained alone (model.safetensors bytes, every metrics number but the timings, checkpoints); a stop
// checkpoints every model and --resume continues all of them from the newest step they share; a sweep
// file whose models disagree on a shared run setting is refused by name.
@testable import BAETrain

final class SweepTests: TrainerTestCase {
  /// Four models of three kinds, widths, λ, bits and input maps on the same shared settings.
  func sweep(_ prefix: String, steps: Int = 25) throws -> [TrainConfig] {
    var base = TrainConfig()
    base.data = try dataset().path
    base.batchSize = Self.batch
    base.steps = steps
    base.seed = 4
    base.validationFraction = 0.1
    base.checkpointEvery = 5
    base.keepLast = 0
    base.logEvery = 1_000_000
    base.model.lr = 2e-3
    var a = base
    a.model.latentDim = 48
    a.model.entropyWeight = 1e-3
    a.model.covarianceWeight = 1e-3
    var b = base
    b.model.architecture = .topk
    b.model.latentDim = 32
    b.model.k = 6
    b.inputNormalization = .none
    b.decoderBiasInit = .uniform
    var c = base
    c.model.latentDim = 24
    c.model.bitsPerFeature = 2
    c.inputNormalization = .meanNorm
    var d = base
    d.model.architecture = .batchtopk
    d.model.latentDim = 40
    d.model.k = 4
    return [a, b, c, d].enumerated().map { i, cfg in
      var r = cfg
      r.out = dir.appendingPathComponent("\(prefix)-\(i)").path
      return r
    }
  }

  func trainer(_ configs: [TrainConfig], resume: Bool = false, stop: StopRequest = StopRequest()) throws -> Trainer {
    let log = RunLog(rank: 0, worldSize: 1)
    log.quiet = true
    return try Trainer(
      configs: configs, collectives: SingleProcess(), log: log, options: RunOptions(resume: resume), stopRequest: stop)
  }

  /// metrics.jsonl without the timing fields (the only numbers that may differ between two runs).
  func numbers(_ out: String) throws -> [NSDictionary] {
    let text = try String(contentsOfFile: out + "/metrics.jsonl", encoding: .utf8)
    let timings = ["rowsPerSecond", "computeSeconds", "communicationSeconds", "inputWaitSeconds", "elapsedSeconds"]
    return try text.split(separator: "\n").map {
      var o = try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
      for k in timings { o.removeValue(forKey: k) }
      return o as NSDictionary
    }
  }

  func bytes(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

  func assertSameFiles(_ a: String, _ b: String, steps: [Int], _ what: String) throws {
    XCTAssertEqual(
      try bytes(a + "/model.safetensors"), try bytes(b + "/model.safetensors"), "\(what): model.safetensors bytes")
    let na = try numbers(a), nb = try numbers(b)
    XCTAssertEqual(na.count, nb.count, what)
    XCTAssertEqual(na, nb, "\(what): metrics numbers")
    for s in steps {
      let name = "/" + CheckpointStore.name(step: s) + "/optimizer.safetensors"
      XCTAssertEqual(try bytes(a + name), try bytes(b + name), "\(what): checkpoint \(s)")
    }
  }

  func testEveryModelOfASweepIsBitwiseTheModelTrainedAlone() throws {
    let configs = try sweep("sweep")
    let t = try trainer(configs)
    var seen: [Int: Int] = [:]
    t.onModelStep = { i, _ in seen[i, default: 0] += 1 }
    let summaries = try t.runAll()
    XCTAssertEqual(summaries.count, 4)
    XCTAssertEqual(seen, [0: 25, 1: 25, 2: 25, 3: 25])
    for (i, c) in configs.enumerated() {
      var alone = c
      alone.out = dir.appendingPathComponent("alone-\(i)").path
      _ = try trainer([alone]).run()
      try assertSameFiles(c.out, alone.out, steps: [5, 25], "model \(i) (\(c.model.architecture.rawValue))")
      // the directory is a `bae train` run: config.json + model load for eval/export
      let (model, saved) = try ModelFiles.load(directory: URL(fileURLWithPath: c.out))
      XCTAssertEqual(model.latentDim, c.model.latentDim)
      XCTAssertEqual(saved.out, c.out)
    }
  }

  func testAStopCheckpointsEveryModelAndResumeContinuesFromTheStepTheyShare() throws {
    let full = try sweep("full")
    _ = try trainer(full).runAll()
    // stop after step 7: every model checkpoints at 5 (cadence) and 7 (the stop)
    let cut = try sweep("cut")
    let stop = StopRequest()
    let t = try trainer(cut, stop: stop)
    t.onStep = { if $0.step == 7 { stop.set() } }
    let stopped = try t.runAll()
    XCTAssertTrue(stopped.allSatisfy(\.stoppedEarly))
    for c in cut {
      XCTAssertEqual(try CheckpointStore(directory: URL(fileURLWithPath: c.out)).completed().map(\.step), [5, 7])
    }
    // a crash between two models' writes: model 2 lacks step 7, so the sweep resumes all from step 5
    let lost = URL(fileURLWithPath: cut[2].out).appendingPathComponent(CheckpointStore.name(step: 7))
    try FileManager.default.removeItem(at: lost.appendingPathComponent("DONE"))
    let resumed = try trainer(cut, resume: true)
    XCTAssertEqual(resumed.stepsDone, 5)
    _ = try resumed.runAll()
    for (i, (a, b)) in zip(cut, full).enumerated() {
      try assertSameFiles(a.out, b.out, steps: [10, 25], "model \(i) after stop + resume")
    }
  }

  func testModelsMustShareTheRunSettingsAndOwnTheirDirectories() throws {
    var configs = try sweep("bad")
    configs[1].batchSize = 50
    XCTAssertThrowsError(try trainer(configs)) { e in
      XCTAssertEqual((e as? ConfigError)?.field, "models[1].batchSize", "\(e)")
    }
    configs = try sweep("bad")
    configs[3].out = configs[0].out + "/."
    XCTAssertThrowsError(try trainer(configs)) { e in
      XCTAssertEqual((e as? ConfigError)?.field, "models[3].out", "\(e)")
    }
    // sweep.json: shared settings, per-model overrides, each model's own out
    let file = """
      {"shared": {"data": "x.npy", "steps": 10, "latentDim": 16},
       "models": [{"out": "a"}, {"out": "b", "architecture": "topk", "k": 4, "latentDim": 32}]}
      """
    let decoded = try SweepConfig.decode(Data(file.utf8))
    XCTAssertEqual(decoded.map(\.out), ["a", "b"])
    XCTAssertEqual(decoded.map(\.model.latentDim), [16, 32])
    XCTAssertEqual(decoded.map(\.steps), [10, 10])
    XCTAssertEqual(decoded[1].model.architecture, .topk)
    for (text, field) in [
      (#"{"models": [{"out": "a", "latentdim": 3}]}"#, "models[0].latentdim"),
      (#"{"models": [{"steps": 3}]}"#, "models[0].out"),
      (#"{"models": []}"#, "models"),
      (#"{"shared": {}, "model": []}"#, "model"),
      (#"{"models": [{"out": "a"}, {"out": "a"}]}"#, "models[1].out"),
    ] {
      XCTAssertThrowsError(try SweepConfig.decode(Data(text.utf8)), text) { e in
        XCTAssertEqual((e as? ConfigError)?.field, field, "\(text): \(e)")
      }
    }
  }
}
