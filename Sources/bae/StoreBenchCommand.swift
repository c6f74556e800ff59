// `bae bench store`: compression ratios and decode throughput of the shard format (not a test).
import ArgumentParser
import BAEIO
import BAEStore
import Foundation

struct StoreBenchCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "store",
    abstract: "Benchmark shard compression (f32/f16/bf16, with/without byte shuffle) and decode GB/s per core.")

  @Option(name: .long, help: "Rows of synthetic Gaussian data.")
  var rows: Int = 16_384

  @Option(name: .long, help: "Width of synthetic Gaussian data.")
  var dim: Int = 1024

  @Option(name: .long, help: "Also benchmark real activations from this 2-D .npy (first --max-rows rows).")
  var npy: String?

  @Option(name: .long, help: "Rows read from --npy at most.")
  var maxRows: Int = 65_536

  @OptionGroup var frame: FrameOptions

  @Option(name: .long, help: "Seconds of decoding per configuration.")
  var seconds: Double = 0.5

  @Flag(name: .long, help: "Print JSON instead of a table.")
  var json = false

  func validate() throws {
    // the synthetic set is rows·dim floats in memory (and encoded copies): at most 2^30 floats (4 GiB)
    guard rows > 0, dim > 0, rows <= (1 << 30) / dim else {
      throw ValidationError("--rows \(rows) --dim \(dim): both must be ≥ 1 with rows·dim ≤ 2^30 floats (4 GiB)")
    }
    guard maxRows > 0 else { throw ValidationError("--max-rows \(maxRows): must be ≥ 1") }
    try Self.checkFrame(rowsPerFrame: frame.rowsPerFrame, dim: dim, what: "--dim \(dim)")
    guard seconds.isFinite, seconds > 0, seconds <= 3600 else {
      throw ValidationError("--seconds \(seconds): must be a number of seconds in (0, 3600]")
    }
  }

  /// One frame of `rowsPerFrame` rows of `dim` floats within the cap `bae pack` applies (BAE_MAX_FRAME_BYTES):
  /// --rows-per-frame 1048576 with --dim 1024 failed to allocate its 4 GiB frame (SIGABRT).
  static func checkFrame(rowsPerFrame: Int, dim: Int, what: String) throws {
    let cap = try Limits.frameBytes()
    let bytes = 4 * Double(rowsPerFrame) * Double(dim)
    guard bytes <= Double(cap) else {
      throw ValidationError(
        "--rows-per-frame \(rowsPerFrame) with \(what): a frame of \(Int(bytes)) bytes is above the cap of \(cap); use fewer rows per frame (or raise BAE_MAX_FRAME_BYTES)"
      )
    }
  }

  func run() throws {
    var sets: [(String, [Float], Int)] = [
      ("gaussian \(rows)x\(dim)", StoreBenchmark.gaussian(count: rows * dim, seed: 1), dim)
    ]
    if let npy {
      let url = URL(fileURLWithPath: npy)
      let h = try Npy.readHeader(url)
      guard h.shape.count == 2 else { throw ValidationError("--npy \(npy): shape \(h.shape) is not 2-D") }
      try Self.checkFrame(rowsPerFrame: frame.rowsPerFrame, dim: h.shape[1], what: "--npy \(npy) (width \(h.shape[1]))")
      let n = min(h.shape[0], maxRows)
      sets.append(
        ("\(url.lastPathComponent) \(n)x\(h.shape[1])", try Npy.readRows(url, rows: 0..<n).values, h.shape[1]))
    }
    var all: [String: [StoreBenchResult]] = [:]
    for (name, values, d) in sets {
      let r = StoreBenchmark.run(
        values, inputDim: d, rowsPerFrame: frame.rowsPerFrame, level: frame.level, minSeconds: seconds)
      all[name] = r
      if !json {
        print("\(name), \(frame.rowsPerFrame) rows/frame, zstd level \(frame.level)")
        print("  dtype shuffle  vs raw f32  vs raw dtype  decode GB/s/core (f32-equiv)  encode GB/s (all cores)")
        for x in r {
          let name = x.dtype.description.padding(toLength: 5, withPad: " ", startingAt: 0)
          let shuf = (x.shuffle ? "yes" : "no").padding(toLength: 7, withPad: " ", startingAt: 0)
          print(
            "  \(name) \(shuf)"
              + String(
                format: "  %8.2fx  %11.2fx  %14.2f  %24.2f",
                x.ratioVsF32, x.ratioVsDType, x.decodeGBps, x.encodeGBps))
        }
      }
    }
    if json {
      let enc = JSONEncoder()
      enc.outputFormatting = [.prettyPrinted, .sortedKeys]
      print(String(decoding: try enc.encode(all), as: UTF8.self))
    }
  }
}
