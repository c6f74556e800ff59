// zstd's run-time version for checkpoint metadata and its level range (the store's codec owns all other zstd calls).
import CZstd

/// The zstd library version linked into this build, e.g. "1.5.4" (`bae --version`, checkpoints).
public var zstdVersionString: String { String(cString: ZSTD_versionString()) }

/// The compression levels the linked zstd accepts (`--level` is checked against them: zstd itself clamps
/// an out-of-range level silently, so a shard would record a level it was not written with).
public var zstdLevels: ClosedRange<Int32> { ZSTD_minCLevel()...ZSTD_maxCLevel() }
