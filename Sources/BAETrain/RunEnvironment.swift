// Versions of the native libraries and the source commit, recorded in every checkpoint.
import BAEBuildInfo
import BAEComm
import BAEStore
import BAETensor
import Foundation

public enum RunEnvironment {
  public static var versions: [String: String] {
    ["openblas": BLAS.configuration, "mpi": (try? MPIRuntime.libraryVersion) ?? "unknown", "zstd": zstdVersionString]
  }

  /// The commit `bae` was built from (recorded at build time; "unknown" for a tree without .git),
  /// not the checkout that happens to contain the working directory.
  public static var gitCommit: String { BuildInfo.gitCommit }
}
