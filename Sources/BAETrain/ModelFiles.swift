// The trained model on disk: `model.safetensors` with the reference's state_dict names and shapes
// (spec §9, loadable into the PyTorch module) and `config.json` with the resolved config.
import BAEIO
import BAEModel
import Foundation

public enum ModelFiles {
  /// Writes model.safetensors (atomically) into `dir`.
  public static func saveWeights(_ model: BinaryAutoencoder, to url: URL, metadata: [String: String] = [:]) throws {
    var w = SafeTensorsWriter(metadata: metadata.merging(["format": "pt"]) { a, _ in a })
    let p = UnsafeBufferPointer(model.parameters.buffer)
    for t in model.layout.tensors {
      w.add(t.name, shape: t.shape, borrowing: UnsafeBufferPointer(rebasing: p[t.range]))
    }
    if model.bitsPerFeature > 1 {
      w.add("kb2f.kernel", shape: [model.bitsPerFeature], floats: model.bitWeights)
    }
    try w.write(to: url)
  }

  /// Writes a Codable value as pretty, sorted JSON, atomically.
  public static func saveJSON<T: Encodable>(_ value: T, to url: URL) throws {
    let enc = JSONEncoder()
    enc.outputFormatting = [.prettyPrinted, .sortedKeys]
    try AtomicFile.write(enc.encode(value), to: url)
  }

  /// Reads spec §9 tensors from a safetensors file.
  public static func readTensors(_ url: URL) throws -> [String: (shape: [Int], values: [Float])] {
    let f = try SafeTensorsFile(contentsOf: url)
    var out: [String: (shape: [Int], values: [Float])] = [:]
    for name in ["encoder.weight", "encoder.bias", "decoder.weight", "decoder.bias"] {
      guard let info = f.tensors[name] else { continue }
      out[name] = (info.shape, try f.floats(name))
    }
    return out
  }

  /// Loads a trained model directory (config.json + model.safetensors).
  public static func load(directory: URL) throws -> (BinaryAutoencoder, BAEConfig) {
    let cfgURL = directory.appendingPathComponent("config.json")
    guard let data = FileManager.default.contents(atPath: cfgURL.path) else {
      throw DataError(file: cfgURL.path, message: "missing; --model must be a directory written by `bae train` (config.json + model.safetensors)")
    }
    // a run directory holds the config itself; a checkpoint directory wraps it in CheckpointInfo
    let config: BAEConfig
    if let info = try? JSONDecoder().decode(CheckpointInfo.self, from: data) {
      config = info.config
    } else {
      do { config = try JSONDecoder().decode(BAEConfig.self, from: data) } catch {
        throw DataError(file: cfgURL.path, message: "is not a valid BAE config (\(error)); was it written by `bae train`?")
      }
    }
    let model = BinaryAutoencoder(layout: ParameterLayout(inputDim: config.inputDim, latentDim: config.latentDim,
                                                          bitsPerFeature: config.bitsPerFeature))
    let weights = directory.appendingPathComponent("model.safetensors")
    try model.load(try readTensors(weights), source: weights.path)
    return (model, config)
  }
}
