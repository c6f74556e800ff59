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

public final class Trainer {
  public let config: BAEConfig
  public let model: BinaryAutoencoder
  let adam: Adam
  let gradients: AlignedBuffer<Float>
  let workspace: StepWorkspace
  let data: TrainingData
  let reader: DatasetReader
  let collectives: TimedCollectives
  let log: RunLog
  /// Every rank's local rows per global batch (identical everywhere).
  let rowsPerRank: [Int]
  let batch: AlignedBuffer<Float>
  let outputDirectory: URL
  public private(set) var step: Int
  public let totalSteps: Int
  /// Set asynchronously (signal handler); agreed on by all ranks at the next step boundary.
  public let stopRequest: StopRequest
  let checkpoints: CheckpointStore
  /// Called on every rank after each step with that step's (global) record; for tests and tools.
  public var onStep: ((StepRecord) -> Void)?

  /// Resolves the config against the data (width, latent default), validates it once, initialises or
  /// loads the model, and positions the sampler (fresh, or from the newest checkpoint with `resume`).
  public init(config given: BAEConfig, collectives: Collectives, log: RunLog, resume: Bool = false,
              stopRequest: StopRequest = StopRequest()) throws {
    // settings that do not depend on the data are checked before the data is opened
    var early = given
    early.inputDim = max(1, given.inputDim)
    early.latentDim = given.latentDim == 0 ? 1 : given.latentDim
    try early.validate()
    let data = try TrainingData.open(given)
    var config = given
    config.inputDim = data.inputDim
    if config.latentDim == 0 { config.latentDim = 4 * config.inputDim }
    try config.validate()
    self.data = data
    self.log = log
    self.stopRequest = stopRequest
    self.collectives = TimedCollectives(collectives)
    outputDirectory = URL(fileURLWithPath: config.out.isEmpty ? "runs/bae" : config.out)
    checkpoints = CheckpointStore(directory: outputDirectory)

    let layout = ParameterLayout(inputDim: config.inputDim, latentDim: config.latentDim, bitsPerFeature: config.bitsPerFeature)
    model = BinaryAutoencoder(layout: layout)
    adam = Adam(count: layout.count, lr: config.lr, beta1: config.beta1, beta2: config.beta2, epsilon: config.adamEpsilon)
    gradients = AlignedBuffer(count: layout.count)
    let world = collectives.worldSize
    rowsPerRank = (0..<world).map { GlobalBatchSampler.slice(globalBatch: config.batchSize, rank: $0, readers: world).count }
    let local = max(1, rowsPerRank[collectives.rank])
    workspace = StepWorkspace(layout: layout, capacity: local, globalCapacity: config.batchSize,
                              covariance: config.covarianceWeight != 0)
    batch = AlignedBuffer(count: local * config.inputDim)

    var sampler = GlobalBatchSampler(rows: data.trainRows, globalBatch: config.batchSize, seed: config.seed,
                                     order: config.batchOrder == .sequential ? .sequential : .shuffled,
                                     blockRows: data.source.rowsPerBlock,
                                     windowBlocks: TrainingData.shuffleWindowFrames)
    totalSteps = config.steps > 0 ? config.steps : config.epochs * sampler.batchesPerEpoch
    step = 0
    let latest = resume ? try checkpoints.latestComplete() : nil
    if let latest {
      let restored = try checkpoints.load(latest, expecting: config, model: model, adam: adam)
      step = restored.step
      sampler.state = restored.sampler
      log.info("resumed from \(latest.path) at step \(step)")
    } else {
      if resume {
        log.info("--resume: no complete checkpoint (step_*/DONE) in \(outputDirectory.path); starting from step 0")
      }
      if let initFrom = config.initFrom {
        try model.load(try ModelFiles.readTensors(URL(fileURLWithPath: initFrom)), source: initFrom)
      } else {
        model.initialise(seed: config.seed, decoderBias: config.decoderBias)
      }
    }
    self.config = config
    reader = DatasetReader(source: data.source, rank: collectives.rank, readers: world, sampler: sampler)
  }

  deinit { reader.close() }

  /// Runs until `totalSteps` or an agreed stop; writes the final model on rank 0.
  public func run() throws -> TrainSummary {
    try FileManager.default.createDirectory(at: outputDirectory, withIntermediateDirectories: true)
    try log.openMetrics(outputDirectory.appendingPathComponent("metrics.jsonl"))
    defer { log.close() }
    if data.skippedNonFinite > 0 { log.info("skipped \(data.skippedNonFinite) rows holding NaN/Inf") }
    log.info("training d=\(config.inputDim) d'=\(config.latentDim) k=\(config.bitsPerFeature) batch=\(config.batchSize) "
             + "ranks=\(collectives.worldSize) steps=\(step)..<\(totalSteps) rows=\(data.trainRows.count) train / \(data.validationRows.count) val")
    let start = now()
    let firstStep = step
    var last: StepRecord?
    var stopped = false
    while step < totalSteps {
      let t0 = now(), comm0 = collectives.seconds
      let wait = try fetchBatch()
      let moments = forward()
      let stats = try globalStatistics(moments)
      let weights = LossWeights.scheduled(config, step: step, entropy: stats.entropy)
      backward(stats, weights)
      try synchronizeGradients()
      optimizerStep()
      step += 1
      let stop = try agreeOnStop()
      let elapsed = now() - t0
      let comm = collectives.seconds - comm0
      let record = makeRecord(stats, weights, elapsed: elapsed, comm: comm, wait: wait, runSeconds: now() - start)
      logStep(record, done: step - firstStep, runSeconds: now() - start)
      onStep?(record)
      last = record
      try checkReplicas()
      try validateIfDue()
      if stop || (config.checkpointEvery > 0 && step % config.checkpointEvery == 0) {
        try writeCheckpoint()
      }
      if stop { stopped = true; log.info("stop requested: checkpoint written at step \(step)"); break }
    }
    let validation = try validate()
    if let v = validation { log.record(ValidationRecord(step: step, validation: v)) }
    try saveFinalModel()
    return TrainSummary(steps: step, lastRecord: last, validation: validation, stoppedEarly: stopped,
                        outputDirectory: outputDirectory)
  }

  // MARK: phases

  /// Fetch: this rank's slice of the next global minibatch. Returns seconds spent waiting.
  func fetchBatch() throws -> Double {
    let w0 = reader.waitSeconds
    let rows = try reader.nextBatch(into: batch.buffer)
    if !(data.source is InMemoryRowSource) {
      // datasets are too large to pre-scan: check each batch (npy input was scanned at open)
      let d = config.inputDim
      for i in 0..<(rows * d) where !batch[i].isFinite {
        throw DataError(file: config.data, message: "step \(step): local row \(i / d) of rank \(collectives.rank)'s slice, column \(i % d) is \(batch[i]); re-pack the dataset without NaN/Inf rows")
      }
    }
    return reader.waitSeconds - w0
  }

  var localRows: Int { rowsPerRank[collectives.rank] }
  var x: Matrix { Matrix(batch, rows: localRows, cols: config.inputDim) }

  /// Forward on local rows: codes, counts, reconstruction.
  func forward() -> [Double] { model.forward(x, workspace) }

  /// Global statistics: all-reduced counts and moments, gathered codes for the covariance signs.
  func globalStatistics(_ moments: [Double]) throws -> BatchStatistics {
    try model.globalStatistics(workspace, localMoments: moments, rowsPerRank: rowsPerRank,
                               covariance: config.covarianceWeight != 0, collectives: collectives)
  }

  /// Backward: local rows' share of the global gradient.
  func backward(_ stats: BatchStatistics, _ weights: LossWeights) {
    model.backward(x, workspace, statistics: stats, weights: weights, decoderBiasEnabled: config.decoderBias,
                   into: gradients)
  }

  /// Gradient sync: one sum over one flat buffer. Every term was already divided by the global N,
  /// so the SUM (not the mean) over ranks is the full-batch gradient.
  func synchronizeGradients() throws { try collectives.sum(gradients.buffer) }

  /// Optimizer: the identical Adam update on every rank.
  func optimizerStep() { adam.update(parameters: model.parameters, gradients: gradients) }

  /// Stop agreement: a signal on any rank stops all ranks after the same step.
  func agreeOnStop() throws -> Bool {
    var flag: [Int64] = [stopRequest.isSet ? 1 : 0]
    try flag.withUnsafeMutableBufferPointer { try collectives.sum($0) }
    return flag[0] > 0
  }

  /// Replica check: parameter checksums must agree across ranks (min == max).
  func checkReplicas() throws {
    guard config.divergenceCheckEvery > 0, step % config.divergenceCheckEvery == 0, collectives.worldSize > 1 else { return }
    let c = model.checksum()
    var v = [c, -c]  // max of (c, −c) over ranks = (max, −min) in one call
    try v.withUnsafeMutableBufferPointer { try collectives.max($0) }
    v[1] = -v[1]
    if v[0] != v[1] {
      throw TrainingError.replicasDiverged(step: step, minChecksum: v[1], maxChecksum: v[0])
    }
  }

  func validateIfDue() throws {
    guard config.validateEvery > 0, step % config.validateEvery == 0, step < totalSteps else { return }
    if let v = try validate() { log.record(ValidationRecord(step: step, validation: v)) }
  }

  func validate() throws -> SetStatistics? {
    guard !data.validationRows.isEmpty else { return nil }
    return try SetEvaluator.evaluate(model, source: data.source, rows: data.validationRows, collectives: collectives)
  }

  func writeCheckpoint() throws {
    try checkpoints.write(step: step, model: model, adam: adam, config: config, sampler: reader.samplerState,
                          worldSize: collectives.worldSize, isRoot: log.isRoot)
    if log.isRoot {
      try checkpoints.prune(keepLast: config.keepLast, keepEvery: config.keepEvery)
    }
  }

  func saveFinalModel() throws {
    guard log.isRoot else { return }
    try ModelFiles.saveWeights(model, to: outputDirectory.appendingPathComponent("model.safetensors"))
    try ModelFiles.saveJSON(config, to: outputDirectory.appendingPathComponent("config.json"))
  }

  // MARK: logging

  func makeRecord(_ s: BatchStatistics, _ w: LossWeights, elapsed: Double, comm: Double, wait: Double,
                  runSeconds: Double) -> StepRecord {
    let n = Double(s.rows)
    var l0 = 0.0, dead = 0, dense = 0, nearConst = 0
    for j in 0..<model.codeBits {
      let c = Double(workspace.counts[j])
      let p = c / n
      l0 += c
      if c == 0 { dead += 1 }
      if p > 0.5 { dense += 1 }
      if min(p, 1 - p) < 1e-3 { nearConst += 1 }
    }
    return StepRecord(step: step, loss: w.loss(s, inputDim: config.inputDim), mse: s.mse(inputDim: config.inputDim),
                      fvu: s.fvu, entropy: s.entropy, covariance: s.covariance, entropyWeight: w.entropy,
                      l0: l0 / n, deadBits: dead, denseBits: dense, nearConstantBits: nearConst,
                      rowsPerSecond: n / elapsed, computeSeconds: max(0, elapsed - comm - wait),
                      communicationSeconds: comm, inputWaitSeconds: wait, elapsedSeconds: runSeconds)
  }

  func logStep(_ r: StepRecord, done: Int, runSeconds: Double) {
    log.record(r)
    guard step % config.logEvery == 0 || step == totalSteps else { return }
    let rate = Double(done * config.batchSize) / max(runSeconds, 1e-9)
    let eta = Double(totalSteps - step) * config.batchSize.asDouble / max(rate, 1e-9)
    log.info(String(format: "step %d/%d  %.0f tok/s  loss %.6g  mse %.5g  fvu %.4f  H %.2f bits  L0 %.1f  ETA %@",
                    step, totalSteps, rate, r.loss, r.mse, r.fvu, r.entropy, r.l0, formatDuration(eta)))
  }
}

extension Int { var asDouble: Double { Double(self) } }

/// Failures of a run that are not about input files.
public enum TrainingError: Error, CustomStringConvertible {
  case replicasDiverged(step: Int, minChecksum: Double, maxChecksum: Double)
  public var description: String {
    switch self {
    case let .replicasDiverged(step, lo, hi):
      return "replicas diverged at step \(step): parameter checksums range from \(lo) to \(hi); ranks must run the same binary, BLAS and config (set BLAS threads identically)"
    }
  }
}

/// A flag a signal handler can set; read by the loop at step boundaries.
public final class StopRequest: @unchecked Sendable {
  private let lock = NSLock()
  private var flag = false
  public init() {}
  public func set() { lock.lock(); flag = true; lock.unlock() }
  public var isSet: Bool { lock.lock(); defer { lock.unlock() }; return flag }
}
