// `bae pack`: .npy / safetensors activations (+ tokens TSV) -> a dataset directory of zstd shards.
import ArgumentParser
import BAEStore
import Foundation

struct PackCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "pack",
    abstract: "Convert activations (.npy or a safetensors tensor) into a compressed, checksummed dataset.")

  @Option(name: .long, help: "Input activations: a 2-D .npy (float32/float16) or a .safetensors file.")
  var input: String

  @Option(
    name: .long,
    help: "Tensor name inside a safetensors input (2-D, F32/F16/BF16); optional when the file holds one tensor.")
  var tensor: String?

  @Option(name: .long, help: "Tokens TSV (token_id, document_id, position, text), one line per row.")
  var tokens: String?

  @Option(name: .long, help: "Stored element type: f32, f16 or bf16.")
  var dtype: String

  @OptionGroup var frame: FrameOptions

  @Option(name: .long, help: "Rows per shard file (rounded down to a multiple of --rows-per-frame).")
  var rowsPerShard: Int = 65_536

  @Flag(name: .long, help: "Store frames without byte shuffling (for benchmarks; larger files).")
  var noShuffle = false

  @Flag(name: .long, help: "Drop rows holding NaN or infinity (and their token lines) instead of refusing the input.")
  var skipNonFinite = false

  @Option(name: .long, parsing: .upToNextOption, help: "Source metadata as KEY=VALUE (e.g. model=smollm2 layer=12).")
  var meta: [String] = []

  @Option(name: .long, help: "Output dataset directory.")
  var out: String

  func validate() throws {
    guard StoreDType(name: dtype) != nil else {
      throw ValidationError("--dtype must be f32, f16 or bf16 (got \(dtype))")
    }
    guard rowsPerShard >= frame.rowsPerFrame else {
      throw ValidationError("--rows-per-shard must be >= --rows-per-frame")
    }
    // "=" has no key: it trapped when the pair was split
    for m in meta where !m.contains("=") || m.hasPrefix("=") {
      throw ValidationError("--meta '\(m)': expected KEY=VALUE with a non-empty KEY")
    }
    try FlagCheck.nonEmpty(out, "--out", "an output dataset directory")
    try FlagCheck.nonEmpty(tensor, "--tensor", "a tensor name (or omit it when the file holds one tensor)")
    try FlagCheck.nonEmpty(tokens, "--tokens", "a tokens TSV (or omit it)")
  }

  func run() throws {
    var source: [String: String] = [:]
    for m in meta {
      let parts = m.split(separator: "=", maxSplits: 1)
      source[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
    }
    let request = DatasetPacker.Request(
      input: URL(fileURLWithPath: input), tensor: tensor, tokens: tokens.map { URL(fileURLWithPath: $0) },
      options: ShardOptions(
        dtype: StoreDType(name: dtype)!, rowsPerFrame: frame.rowsPerFrame, shuffle: !noShuffle,
        level: frame.level),
      rowsPerShard: rowsPerShard, output: URL(fileURLWithPath: out), source: source, skipNonFinite: skipNonFinite)
    let start = Date()
    let manifest = try DatasetPacker.pack(request) { done, total in
      ProgressBar.draw(done: done, total: total, label: "pack")
    }
    ProgressBar.finish()
    let bytes = manifest.shards.reduce(0) { $0 + $1.bytes }
    let raw = manifest.rows * manifest.inputDim * 4
    print(
      "packed \(manifest.rows) rows x \(manifest.inputDim) as \(manifest.dtype) into \(manifest.shards.count) shard(s) in \(out)"
    )
    if let skipped = manifest.source[DatasetPacker.skippedSourceKey] {
      print("skipped non-finite rows: \(skipped) (row numbers of the input; recorded in the manifest's source)")
    }
    print(
      String(
        format: "%.1f MB on disk, %.2fx smaller than raw f32, %.1f s", Double(bytes) / 1e6,
        Double(raw) / Double(max(1, bytes)), Date().timeIntervalSince(start)))
  }
}

/// A one-line progress bar on stderr (only when stderr is a terminal, so logs stay clean).
enum ProgressBar {
  static let isTTY = isatty(2) != 0

  static func draw(done: Int, total: Int, label: String) {
    guard isTTY, total > 0 else { return }
    let width = 30
    let filled = width * done / total
    let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
    FileHandle.standardError.write(Data("\r\(label) [\(bar)] \(done)/\(total)".utf8))
  }

  static func finish() {
    if isTTY { FileHandle.standardError.write(Data("\n".utf8)) }
  }
}
