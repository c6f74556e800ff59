// The training loop: one short function of named phases (fetch batch, forward, global statistics,
// backward, gradient sync, optimizer step, log, checkpoint). The same code runs in one process
// (`SingleProcess`) and under MPI, where every rank holds a replica and a slice of each global batch.
import BAEIO
import BAEModel
import BAEStore
import BAETensor
import Foundation

/// What a finished run reports.
public struct TrainSummary: Sendable {
  public var steps: Int
  public var lastRecord: StepRecord?
  public var validation: SetStatistics?
  public var stoppedEarly: Bool
  public var outputDirectory: URL
}

/// Trains one autoencoder of any kind: the loop, checkpoints, resume, signals and metrics. It never
/// names an architecture; the model's phases run inside `TrainingStep.run`.
public final class Trainer {
  public let config: TrainConfig
  public var model: Autoencoder { step.model }
  /// The optimizer state (for tests and tools).
  public var adam: Adam { step.adam }
  let step: TrainingStep
  let data: TrainingData
  let reader: DatasetReader
  let collectives: TimedCollectives
  let log: RunLog
  /// Every rank's local rows per global batch (identical everywhere).
  let rowsPerRank: [Int]
  let batch: AlignedBuffer<Float>
  let outputDirectory: URL
  /// Optimizer steps taken.
  public private(set) var stepsDone: Int
  public let totalSteps: Int
  /// Set asynchronously (signal handler); agreed on by all ranks at the next step boundary.
  public let stopRequest: StopRequest
  let checkpoints: CheckpointStore
  /// The newest checkpoint this run wrote or resumed from.
  var lastCheckpoint: URL?
  /// Identifies this run's checkpoints (kept across resumes): pruning touches only these.
  let runID: String
  /// `DataFingerprint` of the data, recorded in each checkpoint and checked on resume.
  let dataFingerprint: String
  let options: RunOptions
  /// rank 0's hold on --out (taken in `run`).
  let lock: RunLock
  /// Called on every rank after each step with that step's (global) record; for tests and tools.
  public var onStep: ((StepRecord) -> Void)?
  /// Whether the run is learning (warnings in the log and in metrics.jsonl).
  var health: TrainingHealth
  /// The map from raw rows to the rows the model trains on (folded back into every saved model).
  let input: InputTransform

  /// Resolves the config against the data (width, latent default), validates it once, checks that
  /// every rank agrees on config, data and binary, initialises or loads the model, and positions the
  /// sampler (fresh, or from the newest intact checkpoint with `options.resume`).
  public init(
    config given: TrainConfig, collectives: Collectives, log: RunLog, options: RunOptions,
    stopRequest: StopRequest = StopRequest()
  ) throws {
    // settings that do not depend on the data are checked before the data is opened
    var early = given
    early.model.inputDim = max(1, given.model.inputDim)
    early.model.latentDim = given.model.latentDim == 0 ? 1 : given.model.latentDim
    if early.model.k > early.model.latentDim { early.model.latentDim = early.model.k }
    try early.validate()
    let data = try TrainingData.open(given)
    var config = given
    config.model.inputDim = data.inputDim
    if config.model.latentDim == 0 { config.model.latentDim = 4 * config.model.inputDim }
    try config.validate()
    let batchesPerEpoch = data.trainRows.count / config.batchSize
    totalSteps = try Self.totalSteps(config, batchesPerEpoch: batchesPerEpoch)
    dataFingerprint = try DataFingerprint.of(config.data)
    try RunFingerprint(config: config, data: dataFingerprint).agree(collectives)
    self.data = data
    self.log = log
    self.options = options
    self.stopRequest = stopRequest
    let timed = TimedCollectives(collectives)
    self.collectives = timed
    outputDirectory = URL(fileURLWithPath: config.out.isEmpty ? "runs/bae" : config.out)
    checkpoints = CheckpointStore(directory: outputDirectory)
    lock = RunLock(directory: outputDirectory)

    let world = collectives.worldSize
    rowsPerRank = (0..<world).map {
      GlobalBatchSampler.slice(globalBatch: config.batchSize, rank: $0, readers: world).count
    }
    let model = Autoencoder(config: config.model)
    step = TrainingStep(model: model, rowsPerRank: rowsPerRank, collectives: timed)
    step.workspace.kernelThreads = max(1, config.blasThreads)
    batch = AlignedBuffer(count: max(1, rowsPerRank[collectives.rank]) * config.model.inputDim)

    var sampler = GlobalBatchSampler(
      rows: data.trainRows, globalBatch: config.batchSize, seed: config.seed,
      order: config.batchOrder,
      blockRows: data.source.rowsPerBlock,
      windowBlocks: BatchMixing.windowBlocks(rowsPerBlock: data.source.rowsPerBlock))
    stepsDone = 0
    let needs = ResumeRequirements(
      config: config, dataFingerprint: dataFingerprint, batchesPerEpoch: batchesPerEpoch,
      allowNewData: options.allowNewData)
    let store = checkpoints
    let point =
      options.resume
      ? try Self.resumePoint(
        store: store, needs: needs, model: model, adam: step.adam, collectives: collectives, log: log)
      : nil
    if !options.resume {
      _ = try collectives.onRoot("checking --out") { try Self.refuseAnotherRun(store, overwrite: options.overwrite) }
    }
    if let point {
      stepsDone = point.step
      try sampler.validate(point.sampler, source: point.url.path)
      sampler.state = point.sampler
      lastCheckpoint = point.url
      runID = point.runID ?? UUID().uuidString
      config.inputScale = Double(point.input.scale)  // the recorded s is Double(Float(s)) already
      input = point.input
      log.info("resumed from \(point.url.path) at step \(stepsDone)")
    } else {
      runID = UUID().uuidString
      if options.resume {
        log.info("--resume: no complete checkpoint (step_*/DONE) in \(outputDirectory.path); starting from step 0")
      }
      input = try Self.initialise(model, config: &config, data: data, collectives: collectives, log: log)
    }
    self.config = config
    health = TrainingHealth(totalSteps: totalSteps)
    reader = DatasetReader(source: data.source, rank: collectives.rank, readers: world, sampler: sampler)
  }

  /// The same with only `resume` set among the run options.
  public convenience init(
    config: TrainConfig, collectives: Collectives, log: RunLog, resume: Bool = false,
    stopRequest: StopRequest = StopRequest()
  ) throws {
    try self.init(
      config: config, collectives: collectives, log: log, options: RunOptions(resume: resume),
      stopRequest: stopRequest)
  }

  deinit { reader.close() }

  /// Runs until `totalSteps` or an agreed stop; writes the final model on rank 0. A stop request
  /// ends with a checkpoint only: no final validation, no final model (the checkpoint holds it).
  public func run() throws -> TrainSummary {
    try FileManager.default.createDirectory(at: outputDirectory, withIntermediateDirectories: true)
    _ = try collectives.onRoot("taking --out") { try claimOutput() }
    defer { lock.release() }
    try log.openMetrics(outputDirectory.appendingPathComponent("metrics.jsonl"))
    defer { log.close() }
    if data.skippedNonFinite > 0 { log.info("skipped \(data.skippedNonFinite) rows holding NaN/Inf") }
    log.info(
      "training \(config.model.architecture.rawValue) d=\(config.model.inputDim) d'=\(config.model.latentDim) batch=\(config.batchSize) "
        + "ranks=\(collectives.worldSize) steps=\(stepsDone)..<\(totalSteps) rows=\(data.trainRows.count) train / \(data.validationRows.count) val"
    )
    let watchdog = options.onStepTimeout.flatMap { handler in
      options.stepTimeout > 0 ? StepWatchdog(timeout: options.stepTimeout, onExpire: handler) : nil
    }
    defer { watchdog?.stop() }
    let start = now()
    let firstStep = stepsDone
    var last: StepRecord?
    var stopped = false
    while stepsDone < totalSteps {
      watchdog?.begin(step: stepsDone + 1)
      let (record, agreed) = try trainStep(done: stepsDone - firstStep, runStart: start)
      last = record
      watchdog?.end()
      try validateIfDue()
      let due = config.checkpointEvery > 0 && stepsDone % config.checkpointEvery == 0
      if agreed.metricsFailed { try stopOnMetricsFailure() }
      if agreed.stop || due {
        watchdog?.begin(step: stepsDone)
        try writeCheckpoint()
        watchdog?.end()
      }
      if agreed.stop {
        stopped = true
        log.info("stop requested: checkpoint written at step \(stepsDone)")
        break
      }
    }
    if stopped {
      return TrainSummary(
        steps: stepsDone, lastRecord: last, validation: nil, stoppedEarly: true, outputDirectory: outputDirectory)
    }
    let validation = try validate()
    if let v = validation { log.record(ValidationRecord(step: stepsDone, validation: v), step: stepsDone) }
    try saveFinalModel()
    if let v = validation, log.isRoot { try FiringRates.write(v, run: outputDirectory) }
    if let failure = log.metricsFailure { throw failure }
    return TrainSummary(
      steps: stepsDone, lastRecord: last, validation: validation, stoppedEarly: false,
      outputDirectory: outputDirectory)
  }

  /// One optimizer step and its bookkeeping: fetch, the model's phases, log, then the agreement on
  /// stopping (after logging, so a failed metrics line is part of the same step's agreement).
  func trainStep(done: Int, runStart: Double) throws -> (StepRecord, StopAgreement) {
    let t0 = now(), comm0 = collectives.seconds
    let wait = try fetchBatch()
    let outcome = try step.run(x, step: stepsDone, rowsPerRank: rowsPerRank)
    stepsDone += 1
    let record = makeRecord(
      outcome, elapsed: now() - t0, comm: collectives.seconds - comm0, wait: wait,
      runSeconds: now() - runStart)
    logStep(record, done: done + 1, runSeconds: now() - runStart)
    onStep?(record)
    let agreed = try agreeOnStop()
    try checkFinite(outcome)
    try checkReplicas()
    return (record, agreed)
  }

  /// A metrics line could not be written: checkpoint if possible, then end with the typed error.
  func stopOnMetricsFailure() throws -> Never {
    var saved: String?
    do {
      try writeCheckpoint()
      saved = lastCheckpoint?.path
    } catch {
      log.error("checkpoint after the metrics failure also failed: \(error)")
    }
    guard case let .metricsWriteFailed(path, step, reason, _)? = log.metricsFailure else {
      throw TrainingError.rankFailed(phase: "writing metrics.jsonl (rank 0)")
    }
    throw RunLogError.metricsWriteFailed(path: path, step: step, reason: reason, checkpoint: saved)
  }

  // MARK: phases

  /// Fetch: this rank's slice of the next global minibatch. Returns seconds spent waiting.
  func fetchBatch() throws -> Double {
    let w0 = reader.waitSeconds
    let rows = try reader.nextBatch(into: batch.buffer)
    let d = config.model.inputDim
    if !(data.source is InMemoryRowSource) {
      // datasets are too large to pre-scan: check each batch (npy input was scanned at open)
      for i in 0..<(rows * d) where !batch[i].isFinite {
        throw TrainDataError.nonFinite(
          path: config.data, row: i / d, column: i % d, value: batch[i], rows: nil, step: stepsDone + 1)
      }
    }
    input.apply(batch.buffer, rows: rows)
    return reader.waitSeconds - w0
  }

  var localRows: Int { rowsPerRank[collectives.rank] }
  /// This rank's rows of the current batch: (n_r, d).
  var x: Matrix { Matrix(batch, rows: localRows, cols: config.model.inputDim) }

  /// A NaN/Inf loss ends the run, naming the step and the last good checkpoint (the loss is global,
  /// so every rank throws at the same step).
  func checkFinite(_ outcome: TrainingStep.Outcome) throws {
    guard !outcome.loss.isFinite else { return }
    throw TrainingError.nonFiniteLoss(step: stepsDone, lastCheckpoint: lastCheckpoint?.path)
  }

  /// What all ranks agreed on after a step.
  struct StopAgreement {
    var stop: Bool
    var metricsFailed: Bool
  }

  /// Stop agreement: a signal on any rank (or a failed metrics write on rank 0) stops all ranks
  /// after the same step.
  func agreeOnStop() throws -> StopAgreement {
    var flags: [Int64] = [stopRequest.isSet ? 1 : 0, log.metricsFailure == nil ? 0 : 1]
    try flags.withUnsafeMutableBufferPointer { try collectives.sum($0) }
    return StopAgreement(stop: flags[0] > 0, metricsFailed: flags[1] > 0)
  }

  /// Replica check: parameter checksums must agree across ranks (min == max).
  func checkReplicas() throws {
    guard config.divergenceCheckEvery > 0, stepsDone % config.divergenceCheckEvery == 0, collectives.worldSize > 1
    else { return }
    let c = model.checksum()
    var v = [c, -c]  // max of (c, −c) over ranks = (max, −min) in one call
    try v.withUnsafeMutableBufferPointer { try collectives.max($0) }
    v[1] = -v[1]
    if v[0] != v[1] {
      throw TrainingError.replicasDiverged(step: stepsDone, minChecksum: v[1], maxChecksum: v[0])
    }
  }

  func validateIfDue() throws {
    guard config.validateEvery > 0, stepsDone % config.validateEvery == 0, stepsDone < totalSteps else { return }
    if let v = try validate() { log.record(ValidationRecord(step: stepsDone, validation: v), step: stepsDone) }
  }

  func validate() throws -> SetStatistics? {
    guard !data.validationRows.isEmpty else { return nil }
    // raw rows through the raw-unit model: the numbers `bae eval` gives for the saved model
    return try SetEvaluator.evaluate(
      model.rawUnits(input), source: data.source, rows: data.validationRows,
      collectives: collectives)
  }

  func writeCheckpoint() throws {
    try checkpoints.write(
      step: stepsDone, model: model, adam: step.adam, config: config, sampler: reader.samplerState,
      worldSize: collectives.worldSize, isRoot: log.isRoot, runID: runID, dataFingerprint: dataFingerprint,
      input: input)
    lastCheckpoint = outputDirectory.appendingPathComponent(CheckpointStore.name(step: stepsDone))
    if log.isRoot {
      for w in try checkpoints.prune(keepLast: config.keepLast, keepEvery: config.keepEvery, runID: runID) {
        log.warning(w)
      }
    }
  }

  func saveFinalModel() throws {
    guard log.isRoot else { return }
    try ModelFiles.saveWeights(
      model.rawUnits(input),
      to: outputDirectory.appendingPathComponent("model.safetensors"))
    try ModelFiles.saveJSON(config, to: outputDirectory.appendingPathComponent("config.json"))
  }

  // MARK: logging

  func makeRecord(_ o: TrainingStep.Outcome, elapsed: Double, comm: Double, wait: Double, runSeconds: Double)
    -> StepRecord
  {
    let s = o.statistics
    let n = Double(s.rows)
    let counts = step.workspace.counts
    var l0 = 0.0, dead = 0, dense = 0, nearConst = 0, constant = 0
    for j in 0..<model.codeBits {
      let c = Double(counts[j])
      let p = c / n
      l0 += c
      if c == 0 { dead += 1 }
      if p > 0.5 { dense += 1 }
      if min(p, 1 - p) < 1e-3 { nearConst += 1 }
      if c == 0 || c == n { constant += 1 }
    }
    let d = config.model.inputDim
    let warnings = health.update(fvu: s.fvu, constantBits: constant, codeBits: model.codeBits)
    for w in warnings.new { log.warning(health.message(w, step: stepsDone, fvu: s.fvu, config: config)) }
    return StepRecord(
      step: stepsDone, loss: o.loss, mse: s.mse(inputDim: d), fvu: s.fvu, entropy: s.entropy,
      covariance: s.covariance, entropyWeight: o.weights.entropy,
      sparsityLoss: model.architecture.isBinary ? nil : s.sparsityLoss,
      auxLoss: model.architecture.isBinary ? nil : s.auxLoss,
      threshold: model.batchThreshold,
      l0: l0 / n, deadBits: dead, denseBits: dense, nearConstantBits: nearConst,
      rowsPerSecond: n / elapsed, computeSeconds: max(0, elapsed - comm - wait),
      communicationSeconds: comm, inputWaitSeconds: wait, elapsedSeconds: runSeconds,
      warnings: warnings.current.isEmpty ? nil : warnings.current)
  }

  func logStep(_ r: StepRecord, done: Int, runSeconds: Double) {
    log.record(r, step: r.step)
    guard stepsDone % config.logEvery == 0 || stepsDone == totalSteps else { return }
    let rate = Double(done * config.batchSize) / max(runSeconds, 1e-9)
    let eta = Double(totalSteps - stepsDone) * config.batchSize.asDouble / max(rate, 1e-9)
    log.info(
      String(
        format: "step %d/%d  %.0f tok/s  loss %.6g  mse %.5g  fvu %.4f  H %.2f bits  L0 %.1f  ETA %@",
        stepsDone, totalSteps, rate, r.loss, r.mse, r.fvu, r.entropy, r.l0, formatDuration(eta)))
  }
}

extension Int { var asDouble: Double { Double(self) } }

/// A flag a signal handler can set; read by the loop at step boundaries.
public final class StopRequest: @unchecked Sendable {
  private let lock = NSLock()
  private var flag = false
  public init() {}
  public func set() {
    lock.lock()
    flag = true
    lock.unlock()
  }
  public var isSet: Bool {
    lock.lock()
    defer { lock.unlock() }
    return flag
  }
}
