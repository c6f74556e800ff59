import CMPI
func _probeWorld() { _ = bae_mpi_comm_world() }
