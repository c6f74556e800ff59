import COpenBLAS
func _probeBlas() { _ = openblas_get_num_threads() }
