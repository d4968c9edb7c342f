/* minibatch_mpi.h: distributed training over MPI for libminibatch (minibatch.h).
 *
 * libminibatch_mpi.so turns an MPI communicator into an mb_communicator: its collectives
 * are MPI_Allreduce (MPI_FLOAT, MPI_SUM, in place), MPI_Allgather and MPI_Bcast, counts
 * beyond INT_MAX sent in pieces. libminibatch itself links no MPI; link this library, and
 * your MPI, only where you train across processes:
 *
 *     cc app.c -I<minibatch>/include -L<lib> -lminibatch_mpi -lminibatch $(pkg-config --cflags --libs ompi-c)
 *
 * Every rank calls MPI_Init (or MPI_Init_thread), makes its communicator, and runs the same
 * mb_train or mb_train_dataset call with options.communicator pointing at it; see
 * mb_communicator in minibatch.h for the layout, the two modes and their contracts.
 *
 * Built against Open MPI 4.1 (Debian's libopenmpi-dev); any MPI-3 implementation will do,
 * rebuilt against its mpi.h (MPI_Comm is a handle whose type the implementation picks). */
#ifndef MINIBATCH_MPI_H
#define MINIBATCH_MPI_H

#include <mpi.h>

#include "minibatch.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Fills *out with a communicator over comm (its rank and size, its collectives), after
 * duplicating comm (MPI_Comm_dup: training's messages never mix with the caller's). Call
 * after MPI_Init, collectively (every rank of comm). Free it with
 * mb_mpi_communicator_free before MPI_Finalize. Errors: MB_ERR_INVALID_ARGUMENT if out is
 * NULL, comm is MPI_COMM_NULL or MPI is not initialised; MB_ERR_COMMUNICATION if MPI fails;
 * MB_ERR_OUT_OF_MEMORY. Unlike libminibatch's functions it does not set mb_last_error:
 * the status says what failed. */
mb_status mb_mpi_communicator(MPI_Comm comm, mb_communicator *out);

/* Frees what mb_mpi_communicator made (its duplicate of comm, collectively) and zeroes
 * *communicator. NULL, or a zeroed communicator, does nothing. */
void mb_mpi_communicator_free(mb_communicator *communicator);

#ifdef __cplusplus
}
#endif

#endif /* MINIBATCH_MPI_H */
