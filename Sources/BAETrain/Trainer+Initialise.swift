// A fresh run's start: the input map x ↦ s·(x − μ) (measured once, exactly and alike on every rank),
// then the weights in the training space: the seeded init with b_dec at the data mean if asked, or
// --init-from's raw-unit weights moved into the training space.
import BAEModel
import Foundation

extension Trainer {
  /// Resolves `config.inputScale`, initialises `model` and returns the input map; every rank calls it
  /// (it may all-reduce).
  static func initialise(
    _ model: Autoencoder, config: inout TrainConfig, moments cache: inout MomentsCache, log: RunLog
  ) throws -> InputTransform {
    let d = config.model.inputDim
    let mode = config.inputNormalization
    let meanBias = config.decoderBiasInit == .mean && config.model.decoderBias && config.initFrom == nil
    let moments = mode != .none || meanBias ? try cache.moments(centered: mode == .centered) : nil
    var input = InputTransform.identity(width: d)
    if mode != .none, let m = moments {
      guard m.meanNorm > 0, m.meanNorm.isFinite else {
        throw ConfigError(
          field: "inputNormalization",
          "\(mode.rawValue): the \(m.rows) sampled training rows have mean norm \(m.meanNorm)\(mode == .centered ? " around their mean" : ""); use --input-normalization none"
        )
      }
      input.scale = Float(Double(d).squareRoot() / m.meanNorm)
      if mode == .centered { input.shift = m.mean.map { Float($0) } }
    }
    config.inputScale = Double(input.scale)
    model.initialise(seed: config.seed)
    if let initFrom = config.initFrom {
      do { try model.load(try ModelFiles.readTensors(URL(fileURLWithPath: initFrom)), source: initFrom) } catch let e
        as ModelLoadError
      {
        throw RunDirectoryError.initFrom(path: initFrom, problem: "\(e)")
      }
      if !input.isIdentity { model.unfoldInput(input) }
    } else if meanBias, let m = moments {
      // the data mean in the training space: s·(mean − μ) (0 when centred)
      for (k, i) in model.layout.decoderBias.enumerated() {
        model.parameters[i] = (Float(m.mean[k]) - input.shift[k]) * input.scale
      }
    }
    if let m = moments {
      log.info(
        String(
          format: "inputs: %d sampled training rows, mean row norm %.6g%@; input map %@, s = %.6g; b_dec init %@",
          m.rows, m.meanNorm, mode == .centered ? " around the mean" : "", mode.rawValue, config.inputScale,
          config.decoderBiasInit.rawValue))
    }
    return input
  }
}

/// The input moments of a run's training rows, measured at most once per centring (every model of a
/// sweep reads the same rows; every rank asks in the same order, so the collectives match).
struct MomentsCache {
  let data: TrainingData
  let collectives: Collectives
  let path: String
  var measured: [Bool: InputMoments] = [:]

  init(data: TrainingData, collectives: Collectives, path: String) {
    self.data = data
    self.collectives = collectives
    self.path = path
  }

  mutating func moments(centered: Bool) throws -> InputMoments {
    if let m = measured[centered] { return m }
    let m = try InputMoments.measure(
      source: data.source, rows: data.trainRows, collectives: collectives, path: path,
      center: { centered ? $0 : nil })
    measured[centered] = m
    return m
  }
}
