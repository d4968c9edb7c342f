#include <mpi.h>

/* MPI's handles are macros (casts of addresses of globals in Open MPI), which Swift does
 * not import: functions that return them. */
static inline MPI_Comm mbmpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Comm mbmpi_comm_null(void) { return MPI_COMM_NULL; }
static inline MPI_Datatype mbmpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype mbmpi_byte(void) { return MPI_BYTE; }
static inline MPI_Op mbmpi_sum(void) { return MPI_SUM; }
static inline void *mbmpi_in_place(void) { return MPI_IN_PLACE; }
static inline int mbmpi_thread_funneled(void) { return MPI_THREAD_FUNNELED; }
static inline MPI_Errhandler mbmpi_errors_return(void) { return MPI_ERRORS_RETURN; }
