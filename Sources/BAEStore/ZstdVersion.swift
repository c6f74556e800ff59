// zstd's run-time version for checkpoint metadata (the store's codec owns all other zstd calls).
import CZstd

public var zstdVersionString: String { String(cString: ZSTD_versionString()) }
