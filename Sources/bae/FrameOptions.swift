// The frame flags of the shard format, shared by `bae pack` (which writes frames) and `bae bench store`
// (which measures them): one declaration, so the two commands cannot drift.
import ArgumentParser
import BAEStore

/// How rows are grouped into zstd frames: `--rows-per-frame` (the unit of decoding) and `--level`.
struct FrameOptions: ParsableArguments {
  @Option(name: .long, help: "Rows per compressed frame (the unit of decoding).")
  var rowsPerFrame: Int = 256

  @Option(name: .long, help: "zstd compression level.")
  var level: Int32 = 1

  func validate() throws {
    guard rowsPerFrame > 0 else { throw ValidationError("--rows-per-frame must be > 0") }
    let levels = zstdLevels
    guard levels.contains(level) else {
      throw ValidationError(
        "--level \(level): zstd \(zstdVersionString) takes \(levels.lowerBound)...\(levels.upperBound)")
    }
  }
}
