// Versions of the native libraries and the source commit, recorded in every checkpoint.
import BAEComm
import BAETensor
import BAEStore
import Foundation

public enum RunEnvironment {
  public static var versions: [String: String] {
    ["openblas": BLAS.configuration, "mpi": (try? MPIRuntime.libraryVersion) ?? "unknown", "zstd": zstdVersionString]
  }

  /// HEAD of the git checkout containing the working directory, read from .git without running git.
  public static var gitCommit: String {
    var dir = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
    for _ in 0..<8 {
      let git = dir.appendingPathComponent(".git")
      if let head = try? String(contentsOf: git.appendingPathComponent("HEAD"), encoding: .utf8) {
        let h = head.trimmingCharacters(in: .whitespacesAndNewlines)
        guard h.hasPrefix("ref: ") else { return h }
        let ref = String(h.dropFirst(5))
        if let v = try? String(contentsOf: git.appendingPathComponent(ref), encoding: .utf8) {
          return v.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        if let packed = try? String(contentsOf: git.appendingPathComponent("packed-refs"), encoding: .utf8),
           let line = packed.split(separator: "\n").first(where: { $0.hasSuffix(" " + ref) }) {
          return String(line.split(separator: " ")[0])
        }
        return "unknown"
      }
      dir.deleteLastPathComponent()
    }
    return "unknown"
  }
}
