// A sweep file: run settings shared by every model plus one object of overrides per model, each with
// its own `out` (Documentation/CLI.md, "bae sweep"). Decoded into one full TrainConfig per model.
import BAEModel
import Foundation

/// Reads sweep.json: `{"shared": {config fields}, "models": [{config fields, "out": DIR}, …]}`.
public enum SweepConfig {
  /// One config per model: `shared` with the model's fields on top. Errors name the model and field.
  public static func decode(_ data: Data) throws -> [TrainConfig] {
    guard let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
      throw ConfigError(field: "(file)", "is not a JSON object {\"shared\": {…}, \"models\": [{…}, …]}")
    }
    for key in root.keys where key != "shared" && key != "models" {
      throw ConfigError(field: key, "is not a sweep key; a sweep file has \"shared\" and \"models\" only")
    }
    let shared = root["shared"] as? [String: Any] ?? [:]
    if root["shared"] != nil && !(root["shared"] is [String: Any]) {
      throw ConfigError(field: "shared", "must be an object of config fields")
    }
    guard let models = root["models"] as? [Any], !models.isEmpty else {
      throw ConfigError(field: "models", "must be a non-empty array of objects (one per model, each with \"out\")")
    }
    var configs: [TrainConfig] = []
    for (i, entry) in models.enumerated() {
      guard let own = entry as? [String: Any] else {
        throw ConfigError(field: "models[\(i)]", "must be an object of config fields")
      }
      let merged = shared.merging(own) { _, model in model }
      let c: TrainConfig
      do { c = try TrainConfig.decodePartial(JSONSerialization.data(withJSONObject: merged)) } catch let e
        as ConfigError
      {
        throw ConfigError(field: "models[\(i)].\(e.field)", e.message)
      }
      if c.out.isEmpty {
        throw ConfigError(field: "models[\(i)].out", "is missing; every model needs its own output directory")
      }
      if let j = configs.firstIndex(where: { sameDirectory($0.out, c.out) }) {
        throw ConfigError(
          field: "models[\(i)].out", "is \(c.out), the same directory as models[\(j)]; give each model its own")
      }
      configs.append(c)
    }
    return configs
  }

  static func sameDirectory(_ a: String, _ b: String) -> Bool {
    URL(fileURLWithPath: a).standardizedFileURL.path == URL(fileURLWithPath: b).standardizedFileURL.path
  }
}

extension TrainConfig {
  /// The run settings every model of a sweep shares (they define the batches and the cadence);
  /// `out`, `initFrom`, the input map and every model field may differ.
  static var sharedFields: [(name: String, value: (TrainConfig) -> String)] {
    [
      ("data", { $0.data }), ("batchSize", { "\($0.batchSize)" }), ("steps", { "\($0.steps)" }),
      ("epochs", { "\($0.epochs)" }), ("batchOrder", { $0.batchOrder.rawValue }), ("seed", { "\($0.seed)" }),
      ("validationFraction", { "\($0.validationFraction)" }), ("validateEvery", { "\($0.validateEvery)" }),
      ("skipNonFinite", { "\($0.skipNonFinite)" }), ("checkpointEvery", { "\($0.checkpointEvery)" }),
      ("keepLast", { "\($0.keepLast)" }), ("keepEvery", { "\($0.keepEvery)" }), ("logEvery", { "\($0.logEvery)" }),
      ("blasThreads", { "\($0.blasThreads)" }), ("divergenceCheckEvery", { "\($0.divergenceCheckEvery)" }),
    ]
  }
}

extension Trainer {
  /// Models of one run must agree on the shared run settings and write to distinct directories.
  static func checkShared(_ configs: [TrainConfig]) throws(ConfigError) {
    for (i, c) in configs.enumerated().dropFirst() {
      for f in TrainConfig.sharedFields where f.value(c) != f.value(configs[0]) {
        throw ConfigError(
          field: "models[\(i)].\(f.name)",
          "is \(f.value(c)) but models[0] has \(f.value(configs[0])); models of a sweep share it: set it once in \"shared\""
        )
      }
      if let j = configs[..<i].firstIndex(where: { SweepConfig.sameDirectory($0.out, c.out) }) {
        throw ConfigError(
          field: "models[\(i)].out", "is \(c.out), the same directory as models[\(j)]; give each model its own")
      }
    }
  }
}
