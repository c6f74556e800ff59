// Rank-0 checkpoints: one directory per step (step_00001200/) holding model.safetensors,
// optimizer.safetensors, config.json and sampler.json, each written under a temporary name, fsynced
// and renamed; the DONE marker is written last, so resume never picks a half-written checkpoint.
import BAEIO
import BAEModel
import BAEStore
import Foundation

/// What a checkpoint's config.json holds besides the resolved config.
public struct CheckpointInfo: Codable, Sendable {
  public var step: Int
  public var worldSize: Int
  public var config: TrainConfig
  public var sampler: SamplerState
  public var versions: [String: String]
  public var gitCommit: String
  /// The run that wrote it (pruning touches only the run's own checkpoints); nil in older checkpoints.
  public var runID: String?
  /// `DataFingerprint` of the training data; nil in older checkpoints.
  public var dataFingerprint: String?
  /// The warning counters (steps in a row with FVU > 1, with every bit constant); nil in older checkpoints.
  public var healthCounts: [Int]?
}

public struct CheckpointStore {
  public let directory: URL
  public init(directory: URL) { self.directory = directory }

  public static func name(step: Int) -> String { String(format: "step_%08d", step) }

  /// Completed checkpoints (with DONE), oldest first.
  public func completed() throws -> [(step: Int, url: URL)] {
    guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { return [] }
    return names.compactMap { name -> (Int, URL)? in
      guard name.hasPrefix("step_"), name.count == 13, let s = Int(name.dropFirst(5)) else { return nil }
      let url = directory.appendingPathComponent(name)
      guard FileManager.default.fileExists(atPath: url.appendingPathComponent("DONE").path) else { return nil }
      return (s, url)
    }.sorted { $0.0 < $1.0 }
  }

  public func latestComplete() throws -> URL? { try completed().last?.url }

  /// Writes step `step` (rank 0 only; other ranks return at once — no collectives in here).
  public func write(
    step: Int, model: Autoencoder, adam: Adam, config: TrainConfig, sampler: SamplerState,
    worldSize: Int, isRoot: Bool, runID: String? = nil, dataFingerprint: String? = nil,
    input: InputTransform? = nil, healthCounts: [Int]? = nil
  ) throws {
    guard isRoot else { return }
    let dir = directory.appendingPathComponent(Self.name(step: step))
    let fm = FileManager.default
    // a directory without DONE is from an interrupted write: start it afresh
    if fm.fileExists(atPath: dir.path) { try fm.removeItem(at: dir) }
    try fm.createDirectory(at: dir, withIntermediateDirectories: true)
    // model.safetensors in raw units (eval, export, features read it); with an input map the
    // training-space parameters and μ, which resume needs bit for bit, go into optimizer.safetensors
    let input = input ?? .identity(width: model.inputDim)
    try ModelFiles.saveWeights(model.rawUnits(input), to: dir.appendingPathComponent("model.safetensors"))
    var opt = SafeTensorsWriter(metadata: ["format": "pt", "optimizer": "Adam"])
    let m = UnsafeBufferPointer(adam.m.buffer), v = UnsafeBufferPointer(adam.v.buffer)
    let p = UnsafeBufferPointer(model.parameters.buffer)
    for t in model.layout.tensors {
      opt.add("exp_avg." + t.name, shape: t.shape, borrowing: UnsafeBufferPointer(rebasing: m[t.range]))
      opt.add("exp_avg_sq." + t.name, shape: t.shape, borrowing: UnsafeBufferPointer(rebasing: v[t.range]))
      if !input.isIdentity {
        opt.add("training." + t.name, shape: t.shape, borrowing: UnsafeBufferPointer(rebasing: p[t.range]))
      }
    }
    if !input.isIdentity { opt.add("input_shift", shape: [input.shift.count], floats: input.shift) }
    opt.add("step", shape: [], int64s: [Int64(adam.step)])
    // untrained state (BatchTopK θ, AuxK counters) as exact float64 bit patterns
    for t in model.bufferLayout.tensors {
      opt.add(
        "model_state." + t.name, shape: t.shape, int64s: t.range.map { Int64(bitPattern: model.buffers[$0].bitPattern) }
      )
    }
    try opt.write(to: dir.appendingPathComponent("optimizer.safetensors"))
    let info = CheckpointInfo(
      step: step, worldSize: worldSize, config: config, sampler: sampler,
      versions: RunEnvironment.versions, gitCommit: RunEnvironment.gitCommit,
      runID: runID, dataFingerprint: dataFingerprint, healthCounts: healthCounts)
    try ModelFiles.saveJSON(info, to: dir.appendingPathComponent("config.json"))
    try ModelFiles.saveJSON(sampler, to: dir.appendingPathComponent("sampler.json"))
    try AtomicFile.write(Data("step \(step)\n".utf8), to: dir.appendingPathComponent("DONE"))
    try AtomicFile.fsyncDirectory(directory)
  }

  /// Reads a checkpoint's config.json.
  public func readInfo(_ dir: URL) throws -> CheckpointInfo {
    let infoURL = dir.appendingPathComponent("config.json")
    guard let data = FileManager.default.contents(atPath: infoURL.path) else {
      throw RunDirectoryError.missingFile(
        path: infoURL.path,
        hint: "although DONE exists; delete \(dir.lastPathComponent) to resume from the previous checkpoint")
    }
    do { return try JSONDecoder().decode(CheckpointInfo.self, from: data) } catch {
      throw RunDirectoryError.unreadable(path: infoURL.path, reason: "\(error)")
    }
  }

  /// Loads a checkpoint into `model` and `adam`, refusing one whose training-defining settings differ.
  public func load(_ dir: URL, expecting config: TrainConfig, model: Autoencoder, adam: Adam) throws
    -> (step: Int, sampler: SamplerState, input: InputTransform)
  {
    try load(dir, info: try readInfo(dir), expecting: config, model: model, adam: adam)
  }

  /// Loads a checkpoint whose config.json was read as `info`.
  /// Returns the input map the checkpoint was trained with (s from its config, μ from `input_shift`).
  public func load(_ dir: URL, info: CheckpointInfo, expecting config: TrainConfig, model: Autoencoder, adam: Adam)
    throws
    -> (step: Int, sampler: SamplerState, input: InputTransform)
  {
    let infoURL = dir.appendingPathComponent("config.json")
    let diffs = Self.differences(info.config, config)
    if !diffs.isEmpty { throw RunDirectoryError.settingsDiffer(path: infoURL.path, differences: diffs) }
    try model.load(try ModelFiles.readTensors(dir.appendingPathComponent("model.safetensors")), source: dir.path)
    let opt = try SafeTensorsFile(contentsOf: dir.appendingPathComponent("optimizer.safetensors"))
    let shift =
      opt.tensors["input_shift"] != nil
      ? try opt.floats("input_shift") : [Float](repeating: 0, count: model.inputDim)
    guard shift.count == model.inputDim else {
      throw RunDirectoryError.tensorSize(
        path: opt.url.path, name: "input_shift", found: shift.count, expected: model.inputDim)
    }
    let input = InputTransform(scale: Float(info.config.inputScale), shift: shift)
    if !input.isIdentity {
      // the exact training-space parameters (model.safetensors holds them folded into raw units)
      for t in model.layout.tensors {
        let w = try opt.floats("training." + t.name)
        guard w.count == t.range.count else {
          throw RunDirectoryError.tensorSize(
            path: opt.url.path, name: "training." + t.name, found: w.count, expected: t.range.count)
        }
        for (o, x) in zip(t.range, w) { model.parameters[o] = x }
      }
    }
    var mv = [Float](repeating: 0, count: model.layout.count), vv = mv
    for t in model.layout.tensors {
      let a = try opt.floats("exp_avg." + t.name), b = try opt.floats("exp_avg_sq." + t.name)
      guard a.count == t.range.count, b.count == t.range.count else {
        throw RunDirectoryError.tensorSize(
          path: opt.url.path, name: "exp_avg." + t.name, found: Swift.min(a.count, b.count), expected: t.range.count)
      }
      mv.replaceSubrange(t.range, with: a)
      vv.replaceSubrange(t.range, with: b)
    }
    for t in model.bufferLayout.tensors {
      let bits = try opt.int64s("model_state." + t.name)
      guard bits.count == t.range.count else {
        throw RunDirectoryError.tensorSize(
          path: opt.url.path, name: "model_state." + t.name, found: bits.count, expected: t.range.count)
      }
      for (o, b) in zip(t.range, bits) { model.buffers[o] = Double(bitPattern: UInt64(bitPattern: b)) }
    }
    let step = try opt.int64s("step").first.map(Int.init) ?? 0
    adam.restore(step: step, m: mv, v: vv)
    return (info.step, info.sampler, input)
  }

  /// Settings that define the trajectory; a resume must agree on all of them: every model field
  /// (architecture, shape, loss weights, optimizer) and the batch-forming run settings.
  static func differences(_ a: TrainConfig, _ b: TrainConfig) -> [String] {
    var out: [String] = []
    for (x, y) in zip(Mirror(reflecting: a.model).children, Mirror(reflecting: b.model).children) {
      let vx = "\(x.value)", vy = "\(y.value)"
      if vx != vy, let name = x.label { out.append("\(name) was \(vx), now \(vy)") }
    }
    func check<T: Equatable>(_ name: String, _ x: T, _ y: T) { if x != y { out.append("\(name) was \(x), now \(y)") } }
    check("batchSize", a.batchSize, b.batchSize)
    check("batchOrder", a.batchOrder, b.batchOrder)
    check("seed", a.seed, b.seed)
    check("validationFraction", a.validationFraction, b.validationFraction)
    check("inputNormalization", a.inputNormalization, b.inputNormalization)
    check("decoderBiasInit", a.decoderBiasInit, b.decoderBiasInit)
    return out
  }

  /// Deletes this run's completed checkpoints (`runID`; nil = every checkpoint) beyond the newest
  /// `keepLast`, except multiples of `keepEvery`. A checkpoint that cannot be removed (EBUSY, NFS
  /// silly-rename `.nfs*` files) is skipped: the returned warnings name it, and the run goes on.
  @discardableResult
  public func prune(
    keepLast: Int, keepEvery: Int, runID: String? = nil,
    remove: (URL) throws -> Void = { try FileManager.default.removeItem(at: $0) }
  ) throws -> [String] {
    guard keepLast > 0 else { return [] }
    let own = try completed().filter { runID == nil || (try? readInfo($0.url))?.runID == runID }
    var warnings: [String] = []
    for (s, url) in own.dropLast(keepLast) where !(keepEvery > 0 && s % keepEvery == 0) {
      do {
        // remove DONE first so a crash mid-delete never leaves a "complete" partial directory
        try remove(url.appendingPathComponent("DONE"))
        try remove(url)
      } catch {
        warnings.append("could not remove old checkpoint \(url.path) (\(error)); leaving it and going on")
      }
    }
    return warnings
  }
}
