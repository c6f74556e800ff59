import CZstd
func _probeZstd() { _ = ZSTD_versionNumber() }
