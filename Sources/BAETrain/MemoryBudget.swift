// Refuses a model before allocating it when its buffers cannot fit in this machine's memory: sizes in
// config files and on the command line are untrusted, and an allocation failure would kill the process
// with a signal instead of an error. The limit is the physical memory, or BAE_MEMORY_LIMIT_BYTES.
import BAEModel
import Foundation

/// The memory check done before a model is allocated: its buffers against physical memory (or BAE_MEMORY_LIMIT_BYTES).
public enum MemoryBudget {
  /// Bytes the process may plan to use.
  public static var limitBytes: Double {
    if let s = ProcessInfo.processInfo.environment["BAE_MEMORY_LIMIT_BYTES"], let v = Double(s), v > 0 { return v }
    return Double(ProcessInfo.processInfo.physicalMemory)
  }

  /// Floats a model of `c` holds in one copy of its parameters.
  public static func parameterCount(_ c: ModelConfig) -> Double {
    let m = Double(c.codeBits), d = Double(c.inputDim), dl = Double(c.latentDim)
    return m * d + m + d * dl + d + dl
  }

  /// Bytes to train (parameters, gradients, Adam m and v, and a step workspace of `rows` rows) or to
  /// run inference (one copy of the parameters and `rows` rows of workspace).
  public static func bytes(_ c: ModelConfig, rows: Int, training: Bool) -> Double {
    let copies: Double = training ? 4 : 1
    let m = Double(c.codeBits), dl = Double(c.latentDim), d = Double(c.inputDim)
    // the sparse decoder's size is Int arithmetic: a shape far beyond any memory (latentDim 2^36 with
    // batchSize 2^30) overflowed it and trapped. Such a shape is over the limit on its dense part alone.
    let dense = copies * parameterCount(c) * 4 + Double(rows) * (3 * m + 6 * dl + 3 * d) * 4
    if dense > 1e15 { return dense }
    let sparseDecoder = SparseDecoderState.bytes(inputDim: c.inputDim, latentDim: c.latentDim, capacity: rows)
    let workspace = Double(rows) * (3 * m + 6 * dl + 3 * d) * 4 + Double(sparseDecoder)
    return copies * parameterCount(c) * 4 + workspace
  }

  /// Throws when the estimate exceeds the limit, naming latentDim (the size that drives the total).
  public static func check(_ c: ModelConfig, rows: Int, training: Bool) throws(ConfigError) {
    let need = bytes(c, rows: rows, training: training), limit = limitBytes
    guard need <= limit else {
      let gib = { (b: Double) in String(format: "%.1f GiB", b / 1_073_741_824) }
      throw ConfigError(
        field: "latentDim",
        "is \(c.latentDim) with inputDim \(c.inputDim): the model needs about \(gib(need)) but this machine has \(gib(limit)); choose a smaller latentDim (or set BAE_MEMORY_LIMIT_BYTES if the estimate is wrong)"
      )
    }
  }
}
