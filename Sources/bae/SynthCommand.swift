// `bae synth`: the synthetic set of spec §7 (r fair bits × random unit directions + noise) as .npy.
import ArgumentParser
import BAEIO
import BAETrain
import Foundation

struct SynthCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "synth",
    abstract: "Write a synthetic dataset with known entropy (r independent fair bits) as float32 .npy.")

  @Option(help: "Number of independent fair bits r (the true entropy in bits).") var bits: Int
  @Option(help: "Dimension d of each row.") var dim: Int
  @Option(help: "Number of rows.") var rows: Int
  @Option(help: "Standard deviation of added Gaussian noise (default 0).") var noise: Double = 0
  @Option(help: "Seed for directions, bits and noise.") var seed: UInt64 = 0
  @Option(help: "Output .npy path.") var out: String

  func validate() throws {
    guard bits > 0, dim > 0, rows > 0 else { throw ValidationError("--bits, --dim and --rows must be ≥ 1") }
    guard noise >= 0, noise.isFinite else {
      throw ValidationError("--noise \(noise): must be a finite standard deviation ≥ 0 (inf wrote rows of ±inf)")
    }
    // rows × dim values, bits × dim directions and rows × bits codes as floats, before anything is allocated
    let need = 4 * (Double(rows) * Double(dim) + Double(bits) * Double(dim) + Double(rows) * Double(bits))
    guard need <= MemoryBudget.limitBytes else {
      let gib = { (b: Double) in String(format: "%.1f GiB", b / 1_073_741_824) }
      throw ValidationError(
        "--rows \(rows) --dim \(dim) --bits \(bits): about \(gib(need)), more than this machine's \(gib(MemoryBudget.limitBytes)); write fewer rows per file (or set BAE_MEMORY_LIMIT_BYTES)"
      )
    }
  }

  func run() throws {
    let values = SyntheticData.generate(bits: bits, dim: dim, rows: rows, noise: noise, seed: seed)
    let url = URL(fileURLWithPath: out)
    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    try Npy.write(values, shape: [rows, dim], to: url)
    FileHandle.standardError.write(Data("wrote \(out): \(rows) × \(dim), \(bits) fair bits, noise \(noise)\n".utf8))
  }
}
