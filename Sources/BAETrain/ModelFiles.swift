// A trained model on disk: `model.safetensors` (the reference's state_dict names and shapes, so a BAE
// loads strictly into the PyTorch module; SAEs add `log_threshold` or `threshold`) and `config.json`
// with the resolved TrainConfig (or a checkpoint's CheckpointInfo wrapping it).
import BAEIO
import BAEModel
import Foundation

/// Reads and writes a trained model's model.safetensors and config.json.
public enum ModelFiles {
  /// Writes model.safetensors (atomically): the trained tensors, plus `kb2f.kernel` (multi-bit BAE)
  /// or `threshold` (1) (BatchTopK's inference threshold).
  public static func saveWeights(_ model: Autoencoder, to url: URL, metadata: [String: String] = [:]) throws {
    var w = SafeTensorsWriter(
      metadata: metadata.merging(["format": "pt", "architecture": model.architecture.rawValue]) { a, _ in a })
    let p = UnsafeBufferPointer(model.parameters.buffer)
    for t in model.layout.tensors {
      w.add(t.name, shape: t.shape, borrowing: UnsafeBufferPointer(rebasing: p[t.range]))
    }
    if model.architecture == .bae && model.bitsPerFeature > 1 {
      w.add("kb2f.kernel", shape: [model.bitsPerFeature], floats: model.bitWeights)
    }
    if model.architecture == .batchtopk {
      w.add("threshold", shape: [1], floats: [Float(model.batchThreshold ?? 0)])
    }
    try w.write(to: url)
  }

  /// Writes a Codable value as pretty, sorted JSON, atomically.
  public static func saveJSON<T: Encodable>(_ value: T, to url: URL) throws {
    let enc = JSONEncoder()
    enc.outputFormatting = [.prettyPrinted, .sortedKeys]
    try AtomicFile.write(enc.encode(value), to: url)
  }

  /// Reads every float tensor of a safetensors file by name.
  public static func readTensors(_ url: URL) throws -> [String: (shape: [Int], values: [Float])] {
    let f = try SafeTensorsFile(contentsOf: url)
    var out: [String: (shape: [Int], values: [Float])] = [:]
    for (name, info) in f.tensors where [.F32, .F16, .BF16].contains(info.dtype) {
      out[name] = (info.shape, try f.floats(name))
    }
    return out
  }

  /// Reads a run's or checkpoint's config.json: a TrainConfig, or a CheckpointInfo wrapping one.
  /// Missing fields keep their defaults (older runs), sizes are checked before anything is allocated.
  public static func readConfig(_ url: URL) throws -> TrainConfig {
    guard let data = FileManager.default.contents(atPath: url.path) else {
      throw RunDirectoryError.missingFile(
        path: url.path, hint: "--model must be a directory written by `bae train` (config.json + model.safetensors)")
    }
    var payload = data
    if let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
      let wrapped = object["config"] as? [String: Any], object["step"] != nil
    {
      payload = (try? JSONSerialization.data(withJSONObject: wrapped)) ?? data
    }
    let config: TrainConfig
    do { config = try TrainConfig.decodePartial(payload, lenient: true) } catch let e as ConfigError {
      throw RunDirectoryError.invalidModel(path: url.path, field: e.field, reason: e.message)
    }
    do {
      try config.model.validate()
      try MemoryBudget.check(config.model, rows: 4096, training: false)
    } catch {
      throw RunDirectoryError.invalidModel(path: url.path, field: error.field, reason: error.message)
    }
    return config
  }

  /// Loads a trained model directory (config.json + model.safetensors).
  public static func load(directory: URL) throws -> (Autoencoder, TrainConfig) {
    let config = try readConfig(directory.appendingPathComponent("config.json"))
    let model = Autoencoder(config: config.model)
    let weights = directory.appendingPathComponent("model.safetensors")
    guard FileManager.default.fileExists(atPath: weights.path) else {
      throw RunDirectoryError.missingFile(
        path: weights.path, hint: "the run has not finished; use a step_XXXXXXXX/ checkpoint directory as --model")
    }
    try model.load(try readTensors(weights), source: weights.path)
    return (model, config)
  }
}
