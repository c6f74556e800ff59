// Open MPI defines its handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, MPI_IN_PLACE, ...) as cast
// macros over global structs, which Swift cannot import. These static inline functions return
// them so Swift can reach them; no separate C target is needed.
#ifndef BAE_CMPI_SHIM_H
#define BAE_CMPI_SHIM_H
#define OMPI_SKIP_MPICXX 1
#include <mpi.h>

static inline MPI_Comm bae_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype bae_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype bae_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype bae_mpi_int32(void) { return MPI_INT32_T; }
static inline MPI_Datatype bae_mpi_int64(void) { return MPI_INT64_T; }
static inline MPI_Datatype bae_mpi_uint64(void) { return MPI_UINT64_T; }
static inline MPI_Datatype bae_mpi_byte(void) { return MPI_BYTE; }
static inline MPI_Op bae_mpi_op_sum(void) { return MPI_SUM; }
static inline MPI_Op bae_mpi_op_min(void) { return MPI_MIN; }
static inline MPI_Op bae_mpi_op_max(void) { return MPI_MAX; }
static inline MPI_Op bae_mpi_op_lor(void) { return MPI_LOR; }
static inline void *bae_mpi_in_place(void) { return MPI_IN_PLACE; }
static inline MPI_Errhandler bae_mpi_errors_return(void) { return MPI_ERRORS_RETURN; }
// Appended for BAEComm: logical AND for "every rank agrees" flags.
static inline MPI_Op bae_mpi_op_land(void) { return MPI_LAND; }
#endif
