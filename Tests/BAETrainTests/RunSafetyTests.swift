import BAEIO
import BAEModel
import BAEStore
import Foundation
import XCTest

// Run-time robustness of the trainer (issue 11): step-count overflow, resume checks (sampler range,
// data fingerprint, damaged-checkpoint fallback), --out ownership (lock, another run's checkpoints,
// --overwrite, pruning by run id, undeletable checkpoints), metrics without duplicates or torn
// lines, a full metrics device, the stop request's short path, a non-finite loss and the watchdog.
@testable import BAETrain

final class RunSafetyTests: TrainerTestCase {
  /// 900 training rows = 9 batches per epoch.
  func config(out: String, steps: Int, checkpointEvery: Int = 0) throws -> TrainConfig {
    var c = TrainConfig()
    c.data = try dataset().path
    c.out = dir.appendingPathComponent(out).path
    c.model.latentDim = Self.latent
    c.batchSize = Self.batch
    c.steps = steps
    c.checkpointEvery = checkpointEvery
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

  func trainer(_ c: TrainConfig, _ options: RunOptions = RunOptions(), stop: StopRequest = StopRequest()) throws
    -> Trainer
  {
    try Trainer(config: c, collectives: SingleProcess(), log: quietLog(), options: options, stopRequest: stop)
  }

  @discardableResult
  func train(_ c: TrainConfig, _ options: RunOptions = RunOptions()) throws -> TrainSummary {
    try trainer(c, options).run()
  }

  func store(_ c: TrainConfig) -> CheckpointStore { CheckpointStore(directory: URL(fileURLWithPath: c.out)) }

  /// The "step" of every line of metrics.jsonl (step and validation lines), in file order.
  func metricSteps(_ c: TrainConfig) throws -> [Int] {
    let text = try String(
      contentsOf: URL(fileURLWithPath: c.out).appendingPathComponent("metrics.jsonl"), encoding: .utf8)
    return try text.split(separator: "\n").map { line in
      let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
      return try XCTUnwrap(o?["step"] as? Int, "a line without a step: \(line)")
    }
  }

  /// Rewrites one field of a checkpoint's config.json (a CheckpointInfo).
  func edit(_ checkpoint: URL, _ change: (inout [String: Any]) -> Void) throws {
    let url = checkpoint.appendingPathComponent("config.json")
    var o = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
    change(&o)
    try JSONSerialization.data(withJSONObject: o).write(to: url)
  }

  // MARK: step count

  func testEpochsTimesBatchesPastTheStepLimitIsAConfigErrorNamingEpochs() throws {
    var c = try config(out: "epochs", steps: 0)
    c.epochs = TrainConfig.maxSteps  // valid alone; × 9 batches per epoch exceeds the limit
    XCTAssertThrowsError(try trainer(c)) { e in
      XCTAssertEqual((e as? ConfigError)?.field, "epochs", "\(e)")
    }
    c.epochs = 3
    XCTAssertEqual(try trainer(c).totalSteps, 27)
  }

  // MARK: resume checks

  func testResumeRefusesASamplerPositionOutsideTheData() throws {
    let c = try config(out: "sampler", steps: 4, checkpointEvery: 4)
    try train(c)
    let ckpt = try XCTUnwrap(try store(c).latestComplete())
    try edit(ckpt) { o in o["sampler"] = ["epoch": 0, "batchInEpoch": 999] }
    var more = c
    more.steps = 8
    XCTAssertThrowsError(try trainer(more, RunOptions(resume: true))) { e in
      guard case ResumeError.samplerOutOfRange(_, 0, 999, 9)? = e as? ResumeError else { return XCTFail("\(e)") }
    }
  }

  func testResumeRefusesOtherDataUnlessAllowedAndASmallerDatasetEvenThen() throws {
    let c = try config(out: "data", steps: 7, checkpointEvery: 7)
    try train(c)
    var more = c
    more.steps = 10
    // same shape, other values: only the fingerprint tells them apart
    more.data = try dataset("other.npy", seed: 99).path
    XCTAssertThrowsError(try trainer(more, RunOptions(resume: true))) { e in
      guard case ResumeError.otherData? = e as? ResumeError else { return XCTFail("\(e)") }
    }
    XCTAssertEqual(try trainer(more, RunOptions(resume: true, allowNewData: true)).stepsDone, 7)
    // 540 training rows = 5 batches per epoch: the checkpoint's batch 7 does not exist
    more.data = try dataset("small.npy", rows: 600).path
    XCTAssertThrowsError(try trainer(more, RunOptions(resume: true, allowNewData: true))) { e in
      guard case ResumeError.samplerOutOfRange(_, 0, 7, 5)? = e as? ResumeError else { return XCTFail("\(e)") }
    }
    let info = try store(c).readInfo(try XCTUnwrap(try store(c).latestComplete()))
    XCTAssertEqual(info.dataFingerprint, try DataFingerprint.of(c.data))
    XCTAssertNotEqual(
      try DataFingerprint.of(c.data), try DataFingerprint.of(dir.appendingPathComponent("other.npy").path))
  }

  func testDamagedNewestCheckpointFallsBackToThePreviousIntactOne() throws {
    var c = try config(out: "damaged", steps: 6, checkpointEvery: 2)
    c.keepLast = 0
    try train(c)
    let s = store(c)
    XCTAssertEqual(try s.completed().map(\.step), [2, 4, 6])
    let newest = s.directory.appendingPathComponent(CheckpointStore.name(step: 6))
    try Data("not safetensors".utf8).write(to: newest.appendingPathComponent("model.safetensors"))
    let middle = s.directory.appendingPathComponent(CheckpointStore.name(step: 4))
    try Data("{\"step\"".utf8).write(to: middle.appendingPathComponent("config.json"))
    var more = c
    more.steps = 8
    let t = try trainer(more, RunOptions(resume: true))
    XCTAssertEqual(t.stepsDone, 2, "skips the damaged step 6 and step 4")
    XCTAssertEqual(t.lastCheckpoint?.lastPathComponent, "step_00000002")

    let first = s.directory.appendingPathComponent(CheckpointStore.name(step: 2))
    try Data().write(to: first.appendingPathComponent("optimizer.safetensors"))
    XCTAssertThrowsError(try trainer(more, RunOptions(resume: true))) { e in
      guard case let ResumeError.noIntactCheckpoint(_, problems)? = e as? ResumeError else { return XCTFail("\(e)") }
      XCTAssertEqual(problems.count, 3)
    }
  }

  // MARK: --out ownership

  func testANewRunIntoAnotherRunsCheckpointsIsRefusedUnlessOverwrite() throws {
    let c = try config(out: "owned", steps: 4, checkpointEvery: 2)
    try train(c)
    XCTAssertThrowsError(try trainer(c)) { e in
      guard case RunOwnershipError.holdsAnotherRun? = e as? RunOwnershipError else { return XCTFail("\(e)") }
      XCTAssertTrue("\(e)".contains("--resume") && "\(e)".contains("--overwrite"), "\(e)")
    }
    var other = c
    other.steps = 3
    other.checkpointEvery = 3
    try train(other, RunOptions(overwrite: true))
    XCTAssertEqual(try store(c).completed().map(\.step), [3], "only the new run's checkpoints")
    XCTAssertEqual(try metricSteps(c), [1, 2, 3, 3], "steps 1…3 and the final validation; nothing of the old run")
  }

  func testLockOfALiveProcessIsRefusedAStaleOneReplacedAForeignHostRefused() throws {
    let c = try config(out: "locked", steps: 2)
    let out = URL(fileURLWithPath: c.out)
    try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
    let lockURL = out.appendingPathComponent(RunLock.fileName)
    try Data("\(RunLock.hostName) \(getpid()) someone\n".utf8).write(to: lockURL)
    XCTAssertThrowsError(try train(c)) { e in
      guard case RunOwnershipError.locked(_, _, getpid())? = e as? RunOwnershipError else { return XCTFail("\(e)") }
    }
    // a finished child's pid names no live process
    let child = Process()
    child.executableURL = URL(fileURLWithPath: "/bin/true")
    try child.run()
    child.waitUntilExit()
    try Data("\(RunLock.hostName) \(child.processIdentifier) dead\n".utf8).write(to: lockURL)
    XCTAssertEqual(try train(c).steps, 2, "a stale lock is replaced")
    XCTAssertFalse(FileManager.default.fileExists(atPath: lockURL.path), "released at the end")

    try Data("elsewhere.example 4242 x -\n".utf8).write(to: lockURL)
    var again = c
    again.steps = 3
    XCTAssertThrowsError(try train(again, RunOptions(resume: true))) { e in
      guard case RunOwnershipError.lockedElsewhere(lockURL.path, "elsewhere.example", 4242)? = e as? RunOwnershipError
      else {
        return XCTFail("\(e)")
      }
    }
  }

  func testALockOfTheSameSlurmJobOnAnotherNodeIsItsOwnAndReplaced() throws {
    let out = dir.appendingPathComponent("requeued")
    try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
    let lock = RunLock(directory: out)
    try Data("node17.example 4242 old-run 987654\n".utf8).write(to: lock.url)
    setenv("SLURM_JOB_ID", "987654", 1)
    defer { unsetenv("SLURM_JOB_ID") }
    try lock.acquire(runID: "new-run")
    let text = try String(contentsOf: lock.url, encoding: .utf8)
    XCTAssertTrue(text.hasPrefix("\(RunLock.hostName) \(getpid()) new-run 987654"), text)
    lock.release()
    try Data("node17.example 4242 old-run 111\n".utf8).write(to: lock.url)
    XCTAssertThrowsError(try lock.acquire(runID: "new-run")) { e in
      guard case RunOwnershipError.lockedElsewhere? = e as? RunOwnershipError else { return XCTFail("\(e)") }
    }
  }

  func testPruningTouchesOnlyThisRunsCheckpoints() throws {
    var c = try config(out: "prune-own", steps: 4, checkpointEvery: 2)
    c.keepLast = 2
    try train(c)
    // another run's checkpoint, older than ours, in the same directory
    let s = store(c)
    let foreign = s.directory.appendingPathComponent(CheckpointStore.name(step: 1))
    try FileManager.default.copyItem(at: s.directory.appendingPathComponent(CheckpointStore.name(step: 2)), to: foreign)
    try edit(foreign) { o in
      o["runID"] = "another-run"
      o["step"] = 1
    }
    var more = c
    more.steps = 8
    try train(more, RunOptions(resume: true))
    XCTAssertEqual(try s.completed().map(\.step), [1, 6, 8], "own: newest 2 of 2…8; the foreign step 1 stays")
  }

  func testACheckpointThatCannotBeRemovedIsAWarningAndTheOthersGo() throws {
    var c = try config(out: "busy", steps: 8, checkpointEvery: 2)
    c.keepLast = 0
    try train(c)
    let s = store(c)
    let busy = s.directory.appendingPathComponent(CheckpointStore.name(step: 4))
    let warnings = try s.prune(keepLast: 1, keepEvery: 0) { url in
      if url.path.hasPrefix(busy.path) { throw CocoaError(.fileWriteNoPermission) }  // as EBUSY / .nfs files do
      try FileManager.default.removeItem(at: url)
    }
    XCTAssertEqual(warnings.count, 1)
    XCTAssertTrue(warnings[0].contains(busy.path), warnings[0])
    XCTAssertEqual(try s.completed().map(\.step), [4, 8])
  }

  // MARK: metrics

  func testResumeDropsMetricsAfterTheResumedStepAndATornLine() throws {
    let c = try config(out: "metrics", steps: 6, checkpointEvery: 4)
    try train(c)
    XCTAssertEqual(try metricSteps(c), [1, 2, 3, 4, 5, 6, 6])
    let metrics = URL(fileURLWithPath: c.out).appendingPathComponent("metrics.jsonl")
    let h = try FileHandle(forWritingTo: metrics)
    try h.seekToEnd()
    try h.write(contentsOf: Data("{\"step\": 7, \"lo".utf8))  // a line cut short by a crash
    try h.close()
    var more = c
    more.steps = 8
    try train(more, RunOptions(resume: true))
    XCTAssertEqual(
      try metricSteps(c), [1, 2, 3, 4, 5, 6, 7, 8, 8], "steps 5 and 6 of the first run replaced, once each")
  }

  func testAFullMetricsDeviceEndsTheRunWithATypedErrorAfterACheckpoint() throws {
    let c = try config(out: "full", steps: 5)
    let out = URL(fileURLWithPath: c.out)
    try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
    try FileManager.default.createSymbolicLink(
      atPath: out.appendingPathComponent("metrics.jsonl").path,
      withDestinationPath: "/dev/full")
    XCTAssertThrowsError(try train(c)) { e in
      guard case let RunLogError.metricsWriteFailed(_, step, reason, checkpoint)? = e as? RunLogError else {
        return XCTFail("\(e)")
      }
      XCTAssertEqual(step, 1)
      XCTAssertTrue(reason.contains("No space"), reason)
      XCTAssertEqual(checkpoint.map { URL(fileURLWithPath: $0).lastPathComponent }, "step_00000001")
    }
    XCTAssertEqual(try store(c).completed().map(\.step), [1])
  }

  func testRunLogSurvivesAFullDeviceAndAClosedStderr() throws {
    let log = RunLog(rank: 0, worldSize: 1)
    try log.openMetrics(URL(fileURLWithPath: "/dev/full"))
    log.record(["x": 1], step: 3)
    guard case .metricsWriteFailed("/dev/full", 3, _, nil)? = log.metricsFailure else {
      return XCTFail("\(String(describing: log.metricsFailure))")
    }
    XCTAssertNotNil(RunLog.writeAll(-1, Data("x".utf8)), "a bad descriptor is an error value, not a trap")
  }

  // MARK: stopping

  func testStopRequestCheckpointsAndSkipsFinalValidationAndModel() throws {
    let c = try config(out: "stop", steps: 50)
    let stop = StopRequest()
    stop.set()
    let summary = try trainer(c, stop: stop).run()
    XCTAssertTrue(summary.stoppedEarly)
    XCTAssertEqual(summary.steps, 1)
    XCTAssertNil(summary.validation, "no validation pass after a stop request")
    XCTAssertEqual(try store(c).completed().map(\.step), [1])
    XCTAssertFalse(
      FileManager.default.fileExists(
        atPath: URL(fileURLWithPath: c.out).appendingPathComponent("model.safetensors").path),
      "no final model: the checkpoint holds it")
    XCTAssertEqual(try metricSteps(c), [1])
  }

  func testNonFiniteLossStopsNamingTheStepAndTheLastCheckpoint() throws {
    // weights near Float.greatestFiniteMagnitude: the reconstruction overflows to ±inf
    let model = Autoencoder(config: .bae(inputDim: Self.dim, latentDim: Self.latent, bitsPerFeature: 1))
    model.initialise(seed: 1)
    for i in 0..<model.layout.count { model.parameters[i] = (i % 2 == 0 ? 1 : -1) * Float.greatestFiniteMagnitude / 2 }
    let huge = dir.appendingPathComponent("huge.safetensors")
    try ModelFiles.saveWeights(model, to: huge)
    var c = try config(out: "diverge", steps: 20, checkpointEvery: 1)
    c.initFrom = huge.path
    XCTAssertThrowsError(try train(c)) { e in
      guard case TrainingError.nonFiniteLoss(1, nil)? = e as? TrainingError else { return XCTFail("\(e)") }
      XCTAssertTrue("\(e)".contains("no checkpoint was written"), "\(e)")
    }
    XCTAssertEqual(try store(c).completed().map(\.step), [], "nothing checkpointed from non-finite weights")

    // a later divergence names the last good checkpoint: resume from step 1 with the huge weights swapped in
    var ok = try config(out: "diverge-later", steps: 1, checkpointEvery: 1)
    // raw inputs: resume then reads model.safetensors itself (with an input map it reads training.*)
    ok.inputNormalization = .none
    try train(ok)
    let ckpt = try XCTUnwrap(try store(ok).latestComplete())
    try FileManager.default.removeItem(at: ckpt.appendingPathComponent("model.safetensors"))
    try FileManager.default.copyItem(at: huge, to: ckpt.appendingPathComponent("model.safetensors"))
    ok.steps = 5
    XCTAssertThrowsError(try train(ok, RunOptions(resume: true))) { e in
      guard case let TrainingError.nonFiniteLoss(2, last?)? = e as? TrainingError else { return XCTFail("\(e)") }
      XCTAssertEqual(URL(fileURLWithPath: last).lastPathComponent, "step_00000001")
    }
  }

  func testWatchdogReportsTheStepThatOverruns() throws {
    let fired = expectation(description: "watchdog fired")
    let seen = LockedBox()
    let dog = StepWatchdog(timeout: 0.05) { step, seconds in
      seen.set(step, seconds)
      fired.fulfill()
    }
    defer { dog.stop() }
    dog.begin(step: 7)  // never ended: a stuck step
    wait(for: [fired], timeout: 30)
    XCTAssertEqual(seen.step, 7)
    XCTAssertGreaterThanOrEqual(seen.seconds, 0.05)
  }

  /// A tiny timeout (1e-320 s) once made the watching thread spin on its lock, so `begin`/`end` (and
  /// `stop`) starved: the training loop hung and never reached its SIGTERM check. Idle for 0.4 s the
  /// watchdog must use about nothing of the CPU (a spinning thread takes ~0.4 s, or a large share of it
  /// on a loaded machine), and `begin`/`end`/`stop` must return.
  func testWatchdogWithATinyTimeoutDoesNotSpin() throws {
    let dog = StepWatchdog(timeout: 1e-320) { _, _ in }
    let before = processCPUSeconds()
    Thread.sleep(forTimeInterval: 0.4)
    let used = processCPUSeconds() - before
    // a spinning watchdog would starve these calls: fail instead of hanging the test run
    guard used < 0.1 else { return XCTFail("the idle watchdog used \(used) s of CPU in 0.4 s") }
    dog.begin(step: 1)
    dog.end()
    dog.stop()
  }

  /// User + system CPU seconds of this process so far.
  func processCPUSeconds() -> Double {
    var u = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &u)
    return Double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + Double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6
  }
}

/// A thread-safe (step, seconds) pair for the watchdog's callback.
final class LockedBox: @unchecked Sendable {
  private let lock = NSLock()
  private var value: (Int, Double) = (0, 0)
  func set(_ s: Int, _ t: Double) {
    lock.lock()
    value = (s, t)
    lock.unlock()
  }
  var step: Int {
    lock.lock()
    defer { lock.unlock() }
    return value.0
  }
  var seconds: Double {
    lock.lock()
    defer { lock.unlock() }
    return value.1
  }
}
