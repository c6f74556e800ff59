// Facts fixed when `bae` is built: its version and the git commit of the source tree
// (the commit comes from a file that Plugins/BuildInfoPlugin generates on every build).

/// What the binary was built from.
public enum BuildInfo {
  /// The release version of `bae`.
  public static let version = "0.1.0"

  /// Full hash of the commit checked out when this binary was built, or "unknown" when the tree had
  /// no .git of its own (a tarball) or git was not available. Uncommitted changes are not reflected.
  public static let gitCommit: String = generatedGitCommit
}
