// The firing rates a run measured on its validation split, kept beside the model (firing_rates.json)
// so tools that need them (export's flipped-bit transform and sparsity file) do not need the data.
import BAEModel
import Foundation

/// The firing rates measured on the validation split, saved beside the model for export.
public enum FiringRates {
  /// The file's name inside a run directory.
  public static let fileName = "firing_rates.json"

  struct File: Codable {
    var rows: Int
    var rates: [Double]
  }

  /// Writes the rates of `statistics` into the run directory (rank 0).
  public static func write(_ s: SetStatistics, run dir: URL) throws {
    try ModelFiles.saveJSON(File(rows: s.rows, rates: s.rates), to: dir.appendingPathComponent(fileName))
  }

  /// Reads them back, checking the count against the model.
  public static func read(run dir: URL, expected: Int) throws -> [Double] {
    let url = dir.appendingPathComponent(fileName)
    guard let data = FileManager.default.contents(atPath: url.path) else {
      throw RunDirectoryError.missingFile(
        path: url.path, hint: "the run had no validation split; pass --data to measure the firing rates")
    }
    let f: File
    do { f = try JSONDecoder().decode(File.self, from: data) } catch {
      throw RunDirectoryError.unreadable(path: url.path, reason: "\(error)")
    }
    guard f.rates.count == expected, f.rates.allSatisfy({ $0 >= 0 && $0 <= 1 }) else {
      throw RunDirectoryError.tensorSize(path: url.path, name: "rates", found: f.rates.count, expected: expected)
    }
    return f.rates
  }
}
