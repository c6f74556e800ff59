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

  /// The most rows one frame may hold (the unit of decoding; the default is 256).
  static let maxRowsPerFrame = 1 << 20

  func validate() throws {
    // a frame is one buffer: 2^31 rows failed to allocate (SIGABRT), 2^63 − 1 overflowed (SIGILL)
    guard (1...Self.maxRowsPerFrame).contains(rowsPerFrame) else {
      throw ValidationError("--rows-per-frame \(rowsPerFrame): must be in 1…\(Self.maxRowsPerFrame)")
    }
    let levels = zstdLevels
    guard levels.contains(level) else {
      throw ValidationError(
        "--level \(level): zstd \(zstdVersionString) takes \(levels.lowerBound)...\(levels.upperBound)")
    }
  }
}
