// Where a run starts: rank 0 chooses the checkpoint to resume from (the newest intact one, falling
// back past damaged ones), checks it belongs to this data and sampler, and broadcasts its step so
// every rank loads the same one; a fresh run refuses an --out holding another run's checkpoints.
import BAEIO
import BAEModel
import BAEStore
import Foundation

/// How a run treats its --out directory and its time limits (set by the command line, not part of
/// the config, since none of them changes what is trained).
public struct RunOptions: Sendable {
  /// Continue from the newest intact checkpoint in --out.
  public var resume = false
  /// Resume even when the checkpoint's data fingerprint differs from the current data.
  public var allowNewData = false
  /// A fresh run into an --out holding another run: delete its checkpoints and metrics first.
  public var overwrite = false
  /// Seconds one step may take before `onStepTimeout` is called (0 = no watchdog).
  public var stepTimeout: Double = 0
  /// Called from the watchdog thread with (step, seconds) when a step overruns `stepTimeout`.
  public var onStepTimeout: (@Sendable (Int, Double) -> Void)?

  public init(
    resume: Bool = false, allowNewData: Bool = false, overwrite: Bool = false,
    stepTimeout: Double = 0, onStepTimeout: (@Sendable (Int, Double) -> Void)? = nil
  ) {
    self.resume = resume
    self.allowNewData = allowNewData
    self.overwrite = overwrite
    self.stepTimeout = stepTimeout
    self.onStepTimeout = onStepTimeout
  }
}

/// A checkpoint chosen to resume from, already loaded into the model and optimizer.
struct ResumePoint {
  var url: URL
  var step: Int
  var sampler: SamplerState
  var runID: String?
  /// The input map the checkpoint was trained with.
  var input: InputTransform
  /// The warning counters at the checkpoint.
  var healthCounts: [Int]
}

/// What a checkpoint must match to be resumed from.
struct ResumeRequirements {
  var config: TrainConfig
  var dataFingerprint: String
  var batchesPerEpoch: Int
  var allowNewData: Bool
}

extension Trainer {
  /// Steps of the run: `steps`, or epochs × batches per epoch, overflow-checked against the step limit.
  static func totalSteps(_ config: TrainConfig, batchesPerEpoch: Int) throws(ConfigError) -> Int {
    if config.steps > 0 { return config.steps }
    let (product, overflow) = config.epochs.multipliedReportingOverflow(by: batchesPerEpoch)
    guard !overflow, product <= TrainConfig.maxSteps else {
      throw ConfigError(
        field: "epochs",
        "is \(config.epochs): × \(batchesPerEpoch) batches per epoch exceeds the limit of 2^40 steps; lower --epochs or give --steps"
      )
    }
    return product
  }

  /// Where every model starts: nil for a fresh run (after refusing an --out that holds another run,
  /// unless --overwrite), else one loaded point per model, all at the same step. Rank 0 picks the
  /// step, every other rank loads the step rank 0 broadcast.
  static func resumePoints(
    _ runs: [ModelRun], options: RunOptions, dataFingerprint: String, batchesPerEpoch: Int,
    collectives: Collectives, log: RunLog
  ) throws -> [ResumePoint]? {
    guard options.resume else {
      _ = try collectives.onRoot("checking --out") {
        for run in runs { try refuseAnotherRun(run.checkpoints, overwrite: options.overwrite) }
      }
      return nil
    }
    let needs = runs.map {
      ResumeRequirements(
        config: $0.config, dataFingerprint: dataFingerprint, batchesPerEpoch: batchesPerEpoch,
        allowNewData: options.allowNewData)
    }
    let chosen =
      try collectives.onRoot("choosing the checkpoint to resume from") {
        try newestIntact(runs, needs: needs, log: log)
      } ?? nil
    let step = try collectives.broadcastFromRoot(chosen?[0].step ?? -1)
    guard step >= 0 else { return nil }
    return try collectives.onEveryRank("loading checkpoint step \(step)") {
      if let chosen { return chosen }
      return try zip(runs, needs).map { run, need in
        let url = run.checkpoints.directory.appendingPathComponent(CheckpointStore.name(step: step))
        return try load(url, store: run.checkpoints, needs: need, model: run.model, adam: run.adam, log: log)
      }
    }
  }

  /// The newest step at which every model has a complete checkpoint that loads (a sweep checkpoints
  /// all models at the same steps; a crash between two models' writes leaves the older step common).
  /// Damaged steps are skipped with a warning; a refusal (other settings, other data, impossible
  /// sampler position) is thrown, never skipped.
  static func newestIntact(_ runs: [ModelRun], needs: [ResumeRequirements], log: RunLog) throws -> [ResumePoint]? {
    let perModel = try runs.map { Set(try $0.checkpoints.completed().map(\.step)) }
    let common = perModel.dropFirst().reduce(perModel[0]) { $0.intersection($1) }
    var problems: [String] = []
    for step in common.sorted(by: >) {
      do {
        let points = try zip(runs, needs).map { run, need in
          let url = run.checkpoints.directory.appendingPathComponent(CheckpointStore.name(step: step))
          return try load(url, store: run.checkpoints, needs: need, model: run.model, adam: run.adam, log: log)
        }
        if !problems.isEmpty {
          log.warning("resuming from \(CheckpointStore.name(step: step)) instead: the newer checkpoints are damaged")
        }
        return points
      } catch let e where isRefusal(e) {
        throw e
      } catch {
        problems.append("\(CheckpointStore.name(step: step)): \(error)")
        log.warning("checkpoint \(CheckpointStore.name(step: step)) is damaged (\(error)); trying the previous one")
      }
    }
    let directories = runs.map(\.checkpoints.directory.path)
    if !problems.isEmpty {
      throw ResumeError.noIntactCheckpoint(directory: directories.joined(separator: ", "), problems: problems)
    }
    if perModel.contains(where: { !$0.isEmpty }) {
      throw ResumeError.noCommonStep(
        directories: directories, steps: perModel.map { $0.sorted().suffix(3).map { $0 } })
    }
    return nil
  }

  static func isRefusal(_ e: any Error) -> Bool {
    if e is ResumeError { return true }
    if case RunDirectoryError.settingsDiffer = e { return true }
    return false
  }

  /// Checks one checkpoint against `needs`, then loads it.
  static func load(
    _ url: URL, store: CheckpointStore, needs: ResumeRequirements, model: Autoencoder, adam: Adam,
    log: RunLog
  ) throws -> ResumePoint {
    let info = try store.readInfo(url)
    let infoPath = url.appendingPathComponent("config.json").path
    let diffs = CheckpointStore.differences(info.config, needs.config)
    if !diffs.isEmpty { throw RunDirectoryError.settingsDiffer(path: infoPath, differences: diffs) }
    if let recorded = info.dataFingerprint, recorded != needs.dataFingerprint {
      guard needs.allowNewData else {
        throw ResumeError.otherData(path: infoPath, recorded: recorded, current: needs.dataFingerprint)
      }
      log.warning(
        "--allow-new-data: resuming \(url.lastPathComponent) (trained on \(recorded)) on other data (\(needs.dataFingerprint))"
      )
    }
    let s = info.sampler
    guard info.step >= 0, s.epoch >= 0, s.batchInEpoch >= 0, s.batchInEpoch < needs.batchesPerEpoch else {
      throw ResumeError.samplerOutOfRange(
        path: infoPath, epoch: s.epoch, batchInEpoch: s.batchInEpoch,
        batchesPerEpoch: needs.batchesPerEpoch)
    }
    let restored = try store.load(url, info: info, expecting: needs.config, model: model, adam: adam)
    return ResumePoint(
      url: url, step: restored.step, sampler: restored.sampler, runID: info.runID, input: restored.input,
      healthCounts: info.healthCounts ?? [])
  }

  /// A fresh run (no --resume) into a directory with complete checkpoints is refused unless
  /// --overwrite (whose deletions happen under the lock, in `claimOutput`).
  static func refuseAnotherRun(_ store: CheckpointStore, overwrite: Bool) throws {
    let existing = try store.completed()
    guard existing.isEmpty || overwrite else {
      throw RunOwnershipError.holdsAnotherRun(
        directory: store.directory.path,
        checkpoints: existing.suffix(3).map(\.url.lastPathComponent))
    }
  }

  /// Rank 0, at the start of `run`, for each model: takes the lock, applies --overwrite, and cuts
  /// metrics.jsonl back to the steps this run has (a resume appends after the checkpoint's step, never
  /// duplicates).
  func claimOutput(_ run: ModelRun) throws {
    try run.lock.acquire(runID: run.runID)
    let fm = FileManager.default
    let outputDirectory = run.outputDirectory
    let log = run.log
    let metrics = outputDirectory.appendingPathComponent("metrics.jsonl")
    if options.overwrite && !options.resume {
      let names = (try? fm.contentsOfDirectory(atPath: outputDirectory.path)) ?? []
      for name in names where name.hasPrefix("step_") {
        try fm.removeItem(at: outputDirectory.appendingPathComponent(name))
      }
      if fm.fileExists(atPath: metrics.path) { try fm.removeItem(at: metrics) }
      if names.contains(where: { $0.hasPrefix("step_") }) {
        log.info("--overwrite: removed the previous run's checkpoints and metrics")
      }
    }
    try MetricsFile.truncate(metrics, afterStep: stepsDone)
  }
}

/// metrics.jsonl maintenance.
enum MetricsFile {
  /// Drops every line whose step is after `step` and any torn line (rewritten atomically, and only
  /// when something is dropped).
  static func truncate(_ url: URL, afterStep step: Int) throws {
    // only a regular file is rewritten (a symlink to a device such as /dev/full is left alone)
    let type = (try? FileManager.default.attributesOfItem(atPath: url.path))?[.type] as? FileAttributeType
    guard type == .typeRegular, let data = FileManager.default.contents(atPath: url.path), !data.isEmpty else { return }
    var kept = Data()
    var dropped = 0
    for line in data.split(separator: 0x0A, omittingEmptySubsequences: false) where !line.isEmpty {
      let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any]
      if let s = object?["step"] as? Int, s <= step {
        kept.append(contentsOf: line)
        kept.append(0x0A)
      } else {
        dropped += 1
      }
    }
    // a last line without its newline was cut short: rewrite so the file ends on a whole line
    if dropped > 0 || data.last != 0x0A { try AtomicFile.write(kept, to: url) }
  }
}
