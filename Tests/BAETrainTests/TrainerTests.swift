import BAEIO
import BAEModel
import BAETensor
import Foundation
import XCTest

// The single-process trainer: `--batch-order sequential` + `--init-from` gives a trajectory that an
// independent loop over the model phases reproduces exactly; checkpoint + resume is bitwise identical
// to an uninterrupted run; resume refuses changed settings and ignores half-written checkpoints;
// keep-last/keep-every pruning.
@testable import BAETrain

final class TrainerTests: TrainerTestCase {
  /// Strong regularisers so the entropy and covariance terms shape every step; a batch that is not a
  /// multiple of 64; 900 training rows = 9 batches per epoch, so 25 steps cross two epoch boundaries.
  func config(out: String, steps: Int = 25) throws -> TrainConfig {
    var c = TrainConfig()
    c.data = try dataset().path
    c.out = dir.appendingPathComponent(out).path
    c.model.latentDim = Self.latent
    c.batchSize = Self.batch
    c.steps = steps
    c.model.lr = 2e-3
    c.model.entropyWeight = 1e-3
    c.model.covarianceWeight = 1e-3
    c.model.entropyStartStep = 5
    c.validationFraction = 0.1
    c.seed = 4
    c.logEvery = 1_000_000
    return c
  }

  func quietLog() -> RunLog {
    let l = RunLog(rank: 0, worldSize: 1)
    l.quiet = true
    return l
  }

  /// Trains to the end; returns the trainer (for its parameters) and the step records from metrics.jsonl.
  @discardableResult
  func train(_ c: TrainConfig, resume: Bool = false) throws -> (trainer: Trainer, records: [StepRecord]) {
    let t = try Trainer(config: c, collectives: SingleProcess(), log: quietLog(), resume: resume)
    _ = try t.run()
    return (t, try records(c.out))
  }

  /// Every step line of `out`/metrics.jsonl (validation lines skipped), in file order.
  func records(_ out: String) throws -> [StepRecord] {
    let text = try String(
      contentsOf: URL(fileURLWithPath: out).appendingPathComponent("metrics.jsonl"), encoding: .utf8)
    return try text.split(separator: "\n").filter { !$0.contains("\"validation\"") }.map {
      try JSONDecoder().decode(StepRecord.self, from: Data($0.utf8))
    }
  }

  /// Weights from a seeded init, saved with the spec §9 names for `initFrom`.
  func initialWeights(seed: UInt64) throws -> URL {
    let model = Autoencoder(config: .bae(inputDim: Self.dim, latentDim: Self.latent, bitsPerFeature: 1))
    model.initialise(seed: seed)
    let url = dir.appendingPathComponent("init-\(seed).safetensors")
    try ModelFiles.saveWeights(model, to: url)
    return url
  }

  // MARK: sequential order + init-from

  func testSequentialOrderWithInitFromMatchesAHandDrivenLoopStepByStep() throws {
    var c = try config(out: "trainer-a")
    c.batchOrder = .sequential
    c.initFrom = try initialWeights(seed: 77).path
    // the reference path: raw inputs (the hand-driven loop below feeds x as read)
    c.inputNormalization = .none
    c.decoderBiasInit = .uniform
    let a = try train(c)
    XCTAssertEqual(a.records.map(\.step), Array(1...25))

    // with sequential batches and given weights the seed plays no role: another seed, same trajectory
    var c2 = c
    c2.seed = 999
    c2.out = dir.appendingPathComponent("trainer-b").path
    let b = try train(c2)
    XCTAssertEqual(b.records.map(\.loss), a.records.map(\.loss))
    XCTAssertEqual(b.trainer.model.parameters.toArray(), a.trainer.model.parameters.toArray())

    // the same math driven by hand: rows in file order, batch k of each epoch = rows [kB, (k+1)B)
    let x = try Npy.read(try dataset())
    let d = Self.dim, bsz = Self.batch
    let trainRows = Self.rows - Int(Double(Self.rows) * c.validationFraction)
    let batchesPerEpoch = trainRows / bsz
    let mc = ModelConfig.bae(inputDim: d, latentDim: Self.latent, bitsPerFeature: 1)
    let layout = ParameterLayout(mc)
    let model = Autoencoder(config: mc)
    try model.load(try ModelFiles.readTensors(URL(fileURLWithPath: c.initFrom!)), source: c.initFrom!)
    let adam = Adam(
      count: layout.count, lr: c.model.lr, beta1: c.model.beta1, beta2: c.model.beta2, epsilon: c.model.adamEpsilon)
    let ws = StepWorkspace(config: mc, capacity: bsz, globalCapacity: bsz, covariance: true)
    let grads = AlignedBuffer<Float>(count: layout.count)
    let batch = AlignedBuffer<Float>(count: bsz * d)
    for step in 0..<c.steps {
      let first = (step % batchesPerEpoch) * bsz
      for i in 0..<(bsz * d) { batch[i] = x.values[first * d + i] }
      let xm = Matrix(batch, rows: bsz, cols: d)
      let moments = try model.forward(xm, ws)
      let stats = try model.globalStatistics(
        ws, localMoments: moments, batch: BatchContext(rowsPerRank: [bsz], collectives: SingleProcess()),
        covariance: true)
      let weights = LossWeights.scheduled(c.model, step: step, entropy: stats.entropy)
      model.backward(xm, ws, statistics: stats, weights: weights, into: grads)
      adam.update(parameters: model.parameters, gradients: grads)

      let r = a.records[step]
      XCTAssertEqual(r.loss, weights.loss(stats, inputDim: d), "loss at step \(step + 1)")
      XCTAssertEqual(r.mse, stats.mse(inputDim: d), "mse at step \(step + 1)")
      XCTAssertEqual(r.entropy, stats.entropy, "entropy at step \(step + 1)")
      XCTAssertEqual(r.covariance, stats.covariance, "covariance at step \(step + 1)")
      XCTAssertEqual(
        r.entropyWeight, step < c.model.entropyStartStep ? 0 : c.model.entropyWeight, "λ_e schedule at step \(step + 1)"
      )
    }
    XCTAssertEqual(model.parameters.toArray(), a.trainer.model.parameters.toArray(), "final parameters")
    // the regularisers were active: the trajectory is not the plain-MSE one
    XCTAssertNotNil(a.records.last?.covariance)
    XCTAssertGreaterThan(a.records.last!.loss, a.records.last!.mse)
  }

  func testShuffledOrderDependsOnTheSeed() throws {
    var c = try config(out: "shuffled-a", steps: 5)
    c.initFrom = try initialWeights(seed: 77).path
    let a = try train(c)
    c.seed = 5
    c.out = dir.appendingPathComponent("shuffled-b").path
    let b = try train(c)
    XCTAssertNotEqual(a.records.map(\.loss), b.records.map(\.loss), "shuffled batches must differ between seeds")
  }

  // MARK: checkpoints and resume

  func testCheckpointThenResumeReproducesTheUninterruptedRunBitwise() throws {
    // shuffled order: the resumed sampler must continue the same permutation mid-epoch
    let full = try train(try config(out: "full", steps: 25))

    var first = try config(out: "interrupted", steps: 13)
    first.checkpointEvery = 13
    try train(first)
    XCTAssertEqual(try CheckpointStore(directory: URL(fileURLWithPath: first.out)).completed().map(\.step), [13])

    var rest = try config(out: "interrupted", steps: 25)
    rest.checkpointEvery = 13
    let t = try Trainer(config: rest, collectives: SingleProcess(), log: quietLog(), resume: true)
    XCTAssertEqual(t.stepsDone, 13, "resumes at the checkpoint's step")
    _ = try t.run()
    XCTAssertEqual(t.model.parameters.toArray(), full.trainer.model.parameters.toArray(), "final parameters bitwise")
    XCTAssertEqual(t.adam.m.toArray(), full.trainer.adam.m.toArray())
    XCTAssertEqual(t.adam.v.toArray(), full.trainer.adam.v.toArray())
    XCTAssertEqual(t.adam.step, 25)
    // metrics.jsonl of the interrupted directory holds steps 1…13 then 14…25, equal to the full run's
    let resumed = try records(rest.out)
    XCTAssertEqual(resumed.map(\.step), Array(1...25))
    XCTAssertEqual(resumed.map(\.loss), full.records.map(\.loss))
  }

  func testResumeRefusesChangedSettingsNamingThem() throws {
    var c = try config(out: "changed", steps: 4)
    c.checkpointEvery = 2
    try train(c)

    var lr = c
    lr.model.lr = 1e-3
    lr.steps = 8
    XCTAssertThrowsError(try Trainer(config: lr, collectives: SingleProcess(), log: quietLog(), resume: true)) { e in
      let s = "\(e)"
      XCTAssertTrue(s.contains("cannot resume"), s)
      XCTAssertTrue(s.contains("lr was 0.002, now 0.001"), s)
      XCTAssertTrue(s.contains("step_00000004"), "names the checkpoint: \(s)")
    }
    var latent = c
    latent.model.latentDim = 32
    XCTAssertThrowsError(try Trainer(config: latent, collectives: SingleProcess(), log: quietLog(), resume: true)) {
      e in
      XCTAssertTrue("\(e)".contains("latentDim was 48, now 32"), "\(e)")
    }
    var both = latent
    both.model.lr = 1e-3
    XCTAssertThrowsError(try Trainer(config: both, collectives: SingleProcess(), log: quietLog(), resume: true)) { e in
      XCTAssertTrue("\(e)".contains("latentDim was 48, now 32") && "\(e)".contains("lr was 0.002, now 0.001"), "\(e)")
    }
    // settings that do not define the trajectory may change: more steps, other logging
    var more = c
    more.steps = 6
    more.logEvery = 3
    let t = try Trainer(config: more, collectives: SingleProcess(), log: quietLog(), resume: true)
    XCTAssertEqual(t.stepsDone, 4)
  }

  func testHalfWrittenCheckpointWithoutDONEIsIgnored() throws {
    var c = try config(out: "half", steps: 10)
    c.checkpointEvery = 5
    try train(c)
    let store = CheckpointStore(directory: URL(fileURLWithPath: c.out))
    XCTAssertEqual(try store.completed().map(\.step), [5, 10])

    // an interrupted write of step 15: files present (one damaged), DONE missing
    let fm = FileManager.default
    let half = store.directory.appendingPathComponent(CheckpointStore.name(step: 15))
    try fm.copyItem(at: store.directory.appendingPathComponent(CheckpointStore.name(step: 10)), to: half)
    try fm.removeItem(at: half.appendingPathComponent("DONE"))
    try Data("{\"truncated".utf8).write(to: half.appendingPathComponent("config.json"))
    XCTAssertEqual(try store.latestComplete()?.lastPathComponent, "step_00000010")

    var more = c
    more.steps = 20
    let t = try Trainer(config: more, collectives: SingleProcess(), log: quietLog(), resume: true)
    XCTAssertEqual(t.stepsDone, 10, "resume takes the newest checkpoint WITH a DONE marker")
    _ = try t.run()
    // step 15 was rewritten from scratch, complete this time
    XCTAssertEqual(try store.completed().map(\.step), [10, 15, 20])
    let info = try JSONDecoder().decode(
      CheckpointInfo.self, from: Data(contentsOf: half.appendingPathComponent("config.json")))
    XCTAssertEqual(info.step, 15)
    let uninterrupted = try train(try config(out: "half-reference", steps: 20))
    XCTAssertEqual(t.model.parameters.toArray(), uninterrupted.trainer.model.parameters.toArray())

    // a directory holding only a half-written checkpoint: resume starts from step 0
    var fresh = try config(out: "only-half", steps: 3)
    fresh.checkpointEvery = 0
    let onlyHalf = URL(fileURLWithPath: fresh.out).appendingPathComponent(CheckpointStore.name(step: 2))
    try fm.createDirectory(at: onlyHalf, withIntermediateDirectories: true)
    try Data("partial".utf8).write(to: onlyHalf.appendingPathComponent("model.safetensors"))
    let f = try Trainer(config: fresh, collectives: SingleProcess(), log: quietLog(), resume: true)
    XCTAssertEqual(f.stepsDone, 0)
  }

  func testKeepLastAndKeepEveryPruning() throws {
    var c = try config(out: "prune", steps: 12)
    c.checkpointEvery = 2
    c.keepLast = 2
    c.keepEvery = 4
    try train(c)
    let dirOf = { (out: String) in CheckpointStore(directory: URL(fileURLWithPath: out)) }
    XCTAssertEqual(try dirOf(c.out).completed().map(\.step), [4, 8, 10, 12], "newest 2 plus multiples of 4")
    let names = try FileManager.default.contentsOfDirectory(atPath: c.out).filter { $0.hasPrefix("step_") }.sorted()
    XCTAssertEqual(names, ["step_00000004", "step_00000008", "step_00000010", "step_00000012"], "no partial leftovers")

    var plain = try config(out: "prune-plain", steps: 12)
    plain.checkpointEvery = 2
    plain.keepLast = 3
    try train(plain)
    XCTAssertEqual(try dirOf(plain.out).completed().map(\.step), [8, 10, 12])

    var all = try config(out: "prune-all", steps: 6)
    all.checkpointEvery = 2
    all.keepLast = 0
    try train(all)
    XCTAssertEqual(try dirOf(all.out).completed().map(\.step), [2, 4, 6], "keepLast 0 keeps everything")

    // every kept checkpoint is loadable: resuming from the newest restores its step
    var resume = c
    resume.steps = 14
    XCTAssertEqual(
      try Trainer(config: resume, collectives: SingleProcess(), log: quietLog(), resume: true).stepsDone, 12)
  }
}
