// zstd's run-time version for checkpoint metadata (the store's codec owns all other zstd calls).
import CZstd

/// The zstd library version linked into this build, e.g. "1.5.4" (`bae --version`, checkpoints).
public var zstdVersionString: String { String(cString: ZSTD_versionString()) }
