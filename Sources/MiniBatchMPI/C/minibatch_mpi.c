/* libminibatch_mpi: an mb_communicator over an MPI communicator (minibatch_mpi.h). Built
 * by the Makefile with mpicc; the Swift MiniBatchMPI module does the same in Swift. */
#include "minibatch_mpi.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The largest count one MPI call takes; larger buffers go in pieces of this many. */
#define PIECE (INT_MAX / 2)

typedef struct {
    MPI_Comm comm;
    int size;
} mpi_state;

static int allreduce_sum(float *data, int64_t count, void *user_data) {
    mpi_state *state = user_data;
    for (int64_t done = 0; done < count;) {
        int n = (int)(count - done < PIECE ? count - done : PIECE);
        if (MPI_Allreduce(MPI_IN_PLACE, data + done, n, MPI_FLOAT, MPI_SUM, state->comm) != MPI_SUCCESS) return 1;
        done += n;
    }
    return 0;
}

static int allgather(const void *send, void *receive, int64_t bytes, void *user_data) {
    mpi_state *state = user_data;
    if (bytes <= PIECE) {
        return MPI_Allgather(send, (int)bytes, MPI_BYTE, receive, (int)bytes, MPI_BYTE, state->comm) != MPI_SUCCESS;
    }
    /* Large blocks: one contiguous MPI type of PIECE bytes per element, plus the rest by
     * broadcasting each rank's tail (rare: a block of more than 1 GiB). */
    int64_t whole = bytes / PIECE, rest = bytes % PIECE;
    MPI_Datatype piece;
    if (MPI_Type_contiguous(PIECE, MPI_BYTE, &piece) != MPI_SUCCESS) return 1;
    MPI_Datatype block;
    MPI_Aint extent = (MPI_Aint)bytes;
    int failed = MPI_Type_create_resized(piece, 0, extent, &block) != MPI_SUCCESS;
    MPI_Type_free(&piece);
    if (failed) return 1;
    MPI_Type_commit(&block);
    /* Piece j of every rank's block, one allgather per piece, then the tails. */
    for (int64_t j = 0; j < whole && !failed; j++) {
        failed = MPI_Allgather((const char *)send + j * PIECE, 1, block, (char *)receive + j * PIECE, 1, block,
                               state->comm) != MPI_SUCCESS;
    }
    MPI_Type_free(&block);
    int rank;
    MPI_Comm_rank(state->comm, &rank);
    if (rest > 0 && !failed) {
        char *own = (char *)receive + (int64_t)rank * bytes + whole * PIECE;
        memcpy(own, (const char *)send + whole * PIECE, (size_t)rest);
        for (int r = 0; r < state->size && !failed; r++) {
            failed = MPI_Bcast((char *)receive + (int64_t)r * bytes + whole * PIECE, (int)rest, MPI_BYTE, r,
                               state->comm) != MPI_SUCCESS;
        }
    }
    return failed;
}

static int broadcast(void *data, int64_t bytes, int root, void *user_data) {
    mpi_state *state = user_data;
    if (root < 0 || root >= state->size) return 1;
    for (int64_t done = 0; done < bytes;) {
        int n = (int)(bytes - done < PIECE ? bytes - done : PIECE);
        if (MPI_Bcast((char *)data + done, n, MPI_BYTE, root, state->comm) != MPI_SUCCESS) return 1;
        done += n;
    }
    return 0;
}

mb_status mb_mpi_communicator(MPI_Comm comm, mb_communicator *out) {
    if (out == NULL || comm == MPI_COMM_NULL) return MB_ERR_INVALID_ARGUMENT;
    int initialized = 0, finalized = 0;
    MPI_Initialized(&initialized);
    MPI_Finalized(&finalized);
    if (!initialized || finalized) return MB_ERR_INVALID_ARGUMENT;
    mpi_state *state = calloc(1, sizeof *state);
    if (state == NULL) return MB_ERR_OUT_OF_MEMORY;
    int rank = 0;
    if (MPI_Comm_dup(comm, &state->comm) != MPI_SUCCESS) {
        free(state);
        return MB_ERR_COMMUNICATION;
    }
    /* MPI's errors on the duplicate return (MB_ERR_COMMUNICATION) instead of ending the
     * process, MPI's default (MPI_ERRORS_ARE_FATAL); the caller's communicator keeps its own. */
    if (MPI_Comm_set_errhandler(state->comm, MPI_ERRORS_RETURN) != MPI_SUCCESS ||
        MPI_Comm_rank(state->comm, &rank) != MPI_SUCCESS || MPI_Comm_size(state->comm, &state->size) != MPI_SUCCESS) {
        MPI_Comm_free(&state->comm);
        free(state);
        return MB_ERR_COMMUNICATION;
    }
    memset(out, 0, sizeof *out);
    out->struct_size = sizeof *out;
    out->rank = rank;
    out->size = state->size;
    out->user_data = state;
    out->allreduce_sum = allreduce_sum;
    out->allgather = allgather;
    out->broadcast = broadcast;
    return MB_OK;
}

void mb_mpi_communicator_free(mb_communicator *communicator) {
    if (communicator == NULL || communicator->user_data == NULL) return;
    mpi_state *state = communicator->user_data;
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Comm_free(&state->comm);
    free(state);
    memset(communicator, 0, sizeof *communicator);
}
