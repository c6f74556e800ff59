// Versions of the native libraries and the source commit, recorded in every checkpoint.
import BAEBuildInfo
import BAEComm
import BAEStore
import BAETensor
import Foundation

/// The facts about the build and its libraries that a checkpoint records and `bae --version` prints.
public enum RunEnvironment {
  /// The linked OpenBLAS configuration, the MPI library version and the zstd version, keyed "openblas", "mpi", "zstd".
  public static var versions: [String: String] {
    ["openblas": BLAS.configuration, "mpi": (try? MPIRuntime.libraryVersion) ?? "unknown", "zstd": zstdVersionString]
  }

  /// The commit `bae` was built from (recorded at build time; "unknown" for a tree without .git),
  /// not the checkout that happens to contain the working directory.
  public static var gitCommit: String { BuildInfo.gitCommit }
}
