// The training loop: one short function of named phases (fetch batch, then for each model: forward,
// global statistics, backward, gradient sync, optimizer step, log; then checkpoint) over a list of
// models that share every global batch: `bae sweep` trains several, `bae train` is a sweep of one. The
// same code runs in one process (`SingleProcess`) and under MPI, where every rank holds a replica of
// each model and a slice of each global batch.
import BAEIO
import BAEModel
import BAEStore
import BAETensor
import Foundation

/// What a finished run reports, per model.
public struct TrainSummary: Sendable {
  /// Steps done (the stop step when stopped).
  public var steps: Int
  /// The last step's record.
  public var lastRecord: StepRecord?
  /// The final validation (nil when stopped or without validation rows).
  public var validation: SetStatistics?
  /// Whether a stop signal ended the run (a checkpoint holds the model).
  public var stoppedEarly: Bool
  /// The model's `out`.
  public var outputDirectory: URL
}

/// Trains a list of autoencoders of any kinds on the same batches: the loop, checkpoints, resume,
/// signals and metrics. It never names an architecture; each model's phases run inside
/// `TrainingStep.run`. Each model's numbers are exactly those of the model trained alone (its
/// collectives run in the same order on every rank; the shared batch is read once).
public final class Trainer {
  /// The models, in the order given.
  public let runs: [ModelRun]
  /// The first model's resolved config; its run settings (data, batches, cadence) are everyone's.
  public var config: TrainConfig { runs[0].config }
  /// The first model's replica.
  public var model: Autoencoder { runs[0].model }
  /// The optimizer state (for tests and tools).
  public var adam: Adam { runs[0].adam }
  var step: TrainingStep { runs[0].step }
  var input: InputTransform { runs[0].input }
  var lastCheckpoint: URL? { runs[0].lastCheckpoint }
  let data: TrainingData
  let reader: DatasetReader
  let collectives: TimedCollectives
  let log: RunLog
  /// Every rank's local rows per global batch (identical everywhere).
  let rowsPerRank: [Int]
  /// This rank's raw rows of the current batch: (n_r, d).
  let batch: AlignedBuffer<Float>
  /// Optimizer steps taken.
  public private(set) var stepsDone: Int
  /// Steps of the run (`steps`, or epochs × batches per epoch).
  public let totalSteps: Int
  /// Set asynchronously (signal handler); agreed on by all ranks at the next step boundary.
  public let stopRequest: StopRequest
  /// `DataFingerprint` of the data, recorded in each checkpoint and checked on resume.
  let dataFingerprint: String
  let options: RunOptions
  /// Called on every rank after each step with the first model's (global) record; for tests and tools.
  public var onStep: ((StepRecord) -> Void)?
  /// Called on every rank after each step with (model index, that model's record).
  public var onModelStep: ((Int, StepRecord) -> Void)?

  /// One model: see `init(configs:…)`.
  public convenience init(
    config: TrainConfig, collectives: Collectives, log: RunLog, options: RunOptions,
    stopRequest: StopRequest = StopRequest()
  ) throws {
    try self.init(configs: [config], collectives: collectives, log: log, options: options, stopRequest: stopRequest)
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

  /// Resolves each config against the data (width, latent default), validates it once, checks that
  /// the models share the run settings and that every rank agrees on configs, data and binary,
  /// initialises or loads the models, and positions the sampler (fresh, or from the newest step at
  /// which every model has an intact checkpoint, with `options.resume`).
  public init(
    configs given: [TrainConfig], collectives: Collectives, log: RunLog, options: RunOptions,
    stopRequest: StopRequest = StopRequest()
  ) throws {
    precondition(!given.isEmpty, "a run needs at least one model")
    // settings that do not depend on the data are checked before the data is opened
    for c in given {
      var early = c
      early.model.inputDim = max(1, c.model.inputDim)
      early.model.latentDim = c.model.latentDim == 0 ? 1 : c.model.latentDim
      if early.model.k > early.model.latentDim { early.model.latentDim = early.model.k }
      try early.validate()
    }
    try Self.checkShared(given)
    let data = try TrainingData.open(given[0])
    var configs = try given.map { c -> TrainConfig in
      if c.model.inputDim != 0 && c.model.inputDim != data.inputDim {
        throw TrainDataError.widthMismatch(path: c.data, found: data.inputDim, expected: c.model.inputDim)
      }
      var r = c
      r.model.inputDim = data.inputDim
      if r.model.latentDim == 0 { r.model.latentDim = 4 * r.model.inputDim }
      try r.validate()
      return r
    }
    let first = configs[0]
    let batchesPerEpoch = data.trainRows.count / first.batchSize
    totalSteps = try Self.totalSteps(first, batchesPerEpoch: batchesPerEpoch)
    dataFingerprint = try DataFingerprint.of(first.data)
    for c in configs { try RunFingerprint(config: c, data: dataFingerprint).agree(collectives) }
    self.data = data
    self.log = log
    self.options = options
    self.stopRequest = stopRequest
    let timed = TimedCollectives(collectives)
    self.collectives = timed

    let world = collectives.worldSize
    rowsPerRank = (0..<world).map {
      GlobalBatchSampler.slice(globalBatch: first.batchSize, rank: $0, readers: world).count
    }
    batch = AlignedBuffer(count: max(1, rowsPerRank[collectives.rank]) * first.model.inputDim)
    let total = totalSteps, perRank = rowsPerRank
    runs = configs.map { c in
      let own = RunLog(rank: log.rank, worldSize: log.worldSize)
      own.quiet = log.quiet
      if configs.count > 1 { own.prefix = "[\(URL(fileURLWithPath: c.out).lastPathComponent)] " }
      return ModelRun(config: c, collectives: timed, rowsPerRank: perRank, totalSteps: total, log: own)
    }

    var sampler = GlobalBatchSampler(
      rows: data.trainRows, globalBatch: first.batchSize, seed: first.seed,
      order: first.batchOrder,
      blockRows: data.source.rowsPerBlock,
      windowBlocks: BatchMixing.windowBlocks(rowsPerBlock: data.source.rowsPerBlock))
    stepsDone = 0
    let points = try Self.resumePoints(
      runs, options: options, dataFingerprint: dataFingerprint, batchesPerEpoch: batchesPerEpoch,
      collectives: collectives, log: log)
    if let points {
      stepsDone = points[0].step
      try sampler.validate(points[0].sampler, source: points[0].url.path)
      sampler.state = points[0].sampler
      for (run, point) in zip(runs, points) {
        run.lastCheckpoint = point.url
        run.runID = point.runID ?? UUID().uuidString
        run.config.inputScale = Double(point.input.scale)  // recorded as Double(Float(s)) already
        run.input = point.input
        run.health.counts = point.healthCounts
      }
      log.info("resumed from \(points[0].url.lastPathComponent) at step \(stepsDone)")
    } else {
      if options.resume {
        log.info("--resume: no complete checkpoint (step_*/DONE) to resume from; starting from step 0")
      }
      var moments = MomentsCache(data: data, collectives: collectives, path: first.data)
      for (i, run) in runs.enumerated() {
        run.input = try Self.initialise(run.model, config: &configs[i], moments: &moments, log: run.log)
        run.config = configs[i]
      }
    }
    reader = DatasetReader(source: data.source, rank: collectives.rank, readers: world, sampler: sampler)
  }

  deinit { reader.close() }

  /// Runs until `totalSteps` or an agreed stop; returns the first model's summary (`runAll` gives each).
  public func run() throws -> TrainSummary { try runAll()[0] }

  /// Runs until `totalSteps` or an agreed stop; writes the final models on rank 0. A stop request
  /// ends with a checkpoint of every model only: no final validation, no final model (the
  /// checkpoints hold them).
  public func runAll() throws -> [TrainSummary] {
    for run in runs {
      try FileManager.default.createDirectory(at: run.outputDirectory, withIntermediateDirectories: true)
      _ = try collectives.onRoot("taking --out \(run.outputDirectory.path)") { try claimOutput(run) }
    }
    defer { for run in runs { run.lock.release() } }
    for run in runs { try run.log.openMetrics(run.outputDirectory.appendingPathComponent("metrics.jsonl")) }
    defer { for run in runs { run.log.close() } }
    if data.skippedNonFinite > 0 { log.info("skipped \(data.skippedNonFinite) rows holding NaN/Inf") }
    for run in runs {
      let c = run.config
      run.log.info(
        "training \(c.model.architecture.rawValue) d=\(c.model.inputDim) d'=\(c.model.latentDim) batch=\(c.batchSize) "
          + "ranks=\(collectives.worldSize) steps=\(stepsDone)..<\(totalSteps) rows=\(data.trainRows.count) train / \(data.validationRows.count) val"
      )
    }
    let watchdog = options.onStepTimeout.flatMap { handler in
      options.stepTimeout > 0 ? StepWatchdog(timeout: options.stepTimeout, onExpire: handler) : nil
    }
    defer { watchdog?.stop() }
    let start = now()
    let firstStep = stepsDone
    var stopped = false
    while stepsDone < totalSteps {
      watchdog?.begin(step: stepsDone + 1)
      let agreed = try trainStep(done: stepsDone - firstStep, runStart: start)
      watchdog?.end()
      try validateIfDue()
      let due = config.checkpointEvery > 0 && stepsDone % config.checkpointEvery == 0
      if agreed.metricsFailed { try stopOnMetricsFailure() }
      if agreed.stop || due {
        watchdog?.begin(step: stepsDone)
        try writeCheckpoints()
        watchdog?.end()
      }
      if agreed.stop {
        stopped = true
        log.info("stop requested: checkpoint written at step \(stepsDone)")
        break
      }
    }
    if stopped {
      return runs.map {
        TrainSummary(
          steps: stepsDone, lastRecord: $0.last, validation: nil, stoppedEarly: true,
          outputDirectory: $0.outputDirectory)
      }
    }
    var summaries: [TrainSummary] = []
    for run in runs {
      let validation = try validate(run)
      if let v = validation { run.log.record(ValidationRecord(step: stepsDone, validation: v), step: stepsDone) }
      try saveFinalModel(run)
      if let v = validation, log.isRoot { try FiringRates.write(v, run: run.outputDirectory) }
      if let failure = run.log.metricsFailure { throw failure }
      summaries.append(
        TrainSummary(
          steps: stepsDone, lastRecord: run.last, validation: validation, stoppedEarly: false,
          outputDirectory: run.outputDirectory))
    }
    return summaries
  }

  /// One optimizer step of every model on one batch and its bookkeeping: fetch once, each model's
  /// phases and log line, then the agreement on stopping (after logging, so a failed metrics line is
  /// part of the same step's agreement).
  func trainStep(done: Int, runStart: Double) throws -> StopAgreement {
    let t0 = now()
    let wait = try fetchBatch()
    var outcomes: [TrainingStep.Outcome] = []
    for (i, run) in runs.enumerated() {
      let t1 = now(), comm0 = collectives.seconds
      let outcome = try run.step.run(x(for: run), step: stepsDone, rowsPerRank: rowsPerRank)
      // the shared fetch is part of every model's step time (its wait is reported as such)
      let fetch = i == 0 ? t1 - t0 : 0
      let record = makeRecord(
        run, outcome, step: stepsDone + 1, elapsed: now() - t1 + fetch, comm: collectives.seconds - comm0,
        wait: i == 0 ? wait : 0, runSeconds: now() - runStart)
      run.last = record
      outcomes.append(outcome)
      logStep(run, record, done: done + 1, runSeconds: now() - runStart)
      if i == 0 { onStep?(record) }
      onModelStep?(i, record)
    }
    stepsDone += 1
    let agreed = try agreeOnStop()
    for (run, outcome) in zip(runs, outcomes) { try checkFinite(run, outcome) }
    try checkReplicas()
    return agreed
  }

  /// A metrics line could not be written: checkpoint if possible, then end with the typed error.
  func stopOnMetricsFailure() throws -> Never {
    var saved: String?
    do {
      try writeCheckpoints()
      saved = runs.first { $0.log.metricsFailure != nil }?.lastCheckpoint?.path
    } catch {
      log.error("checkpoint after the metrics failure also failed: \(error)")
    }
    guard case let .metricsWriteFailed(path, step, reason, _)? = runs.lazy.compactMap(\.log.metricsFailure).first
    else {
      throw TrainingError.rankFailed(phase: "writing metrics.jsonl (rank 0)")
    }
    throw RunLogError.metricsWriteFailed(path: path, step: step, reason: reason, checkpoint: saved)
  }

  // MARK: phases

  /// Fetch: this rank's slice of the next global minibatch, read and checked once for all models.
  /// Returns seconds spent waiting.
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
    for run in runs {
      guard let mapped = run.mapped else { continue }
      for i in 0..<(rows * d) { mapped[i] = batch[i] }
      run.input.apply(mapped.buffer, rows: rows)
    }
    return reader.waitSeconds - w0
  }

  var localRows: Int { rowsPerRank[collectives.rank] }
  /// The rows `run` trains on in the current batch: (n_r, d).
  func x(for run: ModelRun) -> Matrix {
    Matrix(run.mapped ?? batch, rows: localRows, cols: config.model.inputDim)
  }

  /// A NaN/Inf loss ends the run, naming the step and the model's last good checkpoint (the loss is
  /// global, so every rank throws at the same step).
  func checkFinite(_ run: ModelRun, _ outcome: TrainingStep.Outcome) throws {
    guard !outcome.loss.isFinite else { return }
    throw TrainingError.nonFiniteLoss(step: stepsDone, lastCheckpoint: run.lastCheckpoint?.path)
  }

  /// What all ranks agreed on after a step.
  struct StopAgreement {
    var stop: Bool
    var metricsFailed: Bool
  }

  /// Stop agreement: a signal on any rank (or a failed metrics write of any model on rank 0) stops
  /// all ranks and all models after the same step.
  func agreeOnStop() throws -> StopAgreement {
    let failed = runs.contains { $0.log.metricsFailure != nil }
    var flags: [Int64] = [stopRequest.isSet ? 1 : 0, failed ? 1 : 0]
    try flags.withUnsafeMutableBufferPointer { try collectives.sum($0) }
    return StopAgreement(stop: flags[0] > 0, metricsFailed: flags[1] > 0)
  }

  /// Replica check: every model's parameter checksums must agree across ranks (min == max).
  func checkReplicas() throws {
    guard config.divergenceCheckEvery > 0, stepsDone % config.divergenceCheckEvery == 0, collectives.worldSize > 1
    else { return }
    // max of (c, −c) over ranks = (max, −min), for every model in one call
    var v = runs.flatMap { r -> [Double] in
      let c = r.model.checksum()
      return [c, -c]
    }
    try v.withUnsafeMutableBufferPointer { try collectives.max($0) }
    for i in runs.indices where v[2 * i] != -v[2 * i + 1] {
      throw TrainingError.replicasDiverged(step: stepsDone, minChecksum: -v[2 * i + 1], maxChecksum: v[2 * i])
    }
  }

  func validateIfDue() throws {
    guard config.validateEvery > 0, stepsDone % config.validateEvery == 0, stepsDone < totalSteps else { return }
    for run in runs {
      if let v = try validate(run) { run.log.record(ValidationRecord(step: stepsDone, validation: v), step: stepsDone) }
    }
  }

  func validate(_ run: ModelRun) throws -> SetStatistics? {
    guard !data.validationRows.isEmpty else { return nil }
    // raw rows through the raw-unit model: the numbers `bae eval` gives for the saved model
    return try SetEvaluator.evaluate(
      run.model.rawUnits(run.input), source: data.source, rows: data.validationRows, collectives: collectives)
  }

  /// A checkpoint of every model at the current step.
  func writeCheckpoints() throws {
    for run in runs {
      try run.checkpoints.write(
        step: stepsDone, model: run.model, adam: run.adam, config: run.config, sampler: reader.samplerState,
        worldSize: collectives.worldSize, isRoot: log.isRoot, runID: run.runID, dataFingerprint: dataFingerprint,
        input: run.input, healthCounts: run.health.counts)
      run.lastCheckpoint = run.outputDirectory.appendingPathComponent(CheckpointStore.name(step: stepsDone))
      if log.isRoot {
        for w in try run.checkpoints.prune(keepLast: config.keepLast, keepEvery: config.keepEvery, runID: run.runID) {
          run.log.warning(w)
        }
      }
    }
  }

  func saveFinalModel(_ run: ModelRun) throws {
    guard log.isRoot else { return }
    try ModelFiles.saveWeights(
      run.model.rawUnits(run.input), to: run.outputDirectory.appendingPathComponent("model.safetensors"))
    try ModelFiles.saveJSON(run.config, to: run.outputDirectory.appendingPathComponent("config.json"))
  }
}
