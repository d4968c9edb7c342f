/*
 * example_mpi.c - training one model across MPI processes with libminibatch.
 *
 * Every process (rank) runs this same program. Each builds the same data and the same
 * model, then they train together: each mini-batch is cut into shards, each rank computes
 * the gradients of its own shards, and the ranks exchange them. In deterministic mode the
 * result is bit-identical to one process training with the same number of shards, however
 * many ranks run it.
 *
 *   mpicc -std=c99 example_mpi.c -I include -L <lib> -lminibatch_mpi -lminibatch -o example_mpi
 *   mpirun -np 2 ./example_mpi
 */
#include <stdio.h>

#include "minibatch_mpi.h"

enum { M = 1000 }; /* examples */

/* Prints the error and stops every rank (a rank that simply returned would leave the others
 * waiting for it). */
static void fail(const char *what, mb_status status)
{
    fprintf(stderr, "%s: %s: %s\n", what, mb_status_name(status), mb_last_error());
    MPI_Abort(MPI_COMM_WORLD, 1);
}

int main(int argc, char **argv)
{
    static float x[M * 2];
    static int32_t y[M];
    const int64_t layers[] = {2, 64, 64, 2}; /* 2 inputs, two hidden layers of 64, 2 classes */
    mb_communicator comm;
    mb_model_options model_options;
    mb_train_options options;
    mb_model *model = NULL;
    mb_history *history = NULL;
    double costs[20];
    int64_t n_costs = 0, i;
    mb_status s;

    MPI_Init(&argc, &argv);

    /* The communicator: MPI_COMM_WORLD's ranks and collectives, for the library. */
    s = mb_mpi_communicator(MPI_COMM_WORLD, &comm);
    if (s != MB_OK) {
        fprintf(stderr, "mb_mpi_communicator: %s\n", mb_status_name(s));
        MPI_Abort(MPI_COMM_WORLD, 1);
    }

    /* The whole data set on every rank, the same everywhere (same seed); each rank reads
     * only its own rows of each mini-batch. */
    if ((s = mb_make_moons(M, 0.2f, 42, x, y)) != MB_OK)
        fail("mb_make_moons", s);

    /* The same model on every rank: same sizes, same seed, so the same initial weights. */
    mb_model_options_init(&model_options);
    model_options.hidden_activation = MB_ACTIVATION_TANH;
    model_options.loss = MB_LOSS_CROSS_ENTROPY;
    model_options.seed = 1;
    if ((s = mb_model_create(layers, 4, &model_options, &model)) != MB_OK)
        fail("mb_model_create", s);
    if ((s = mb_history_create(&history)) != MB_OK)
        fail("mb_history_create", s);

    /* The same options on every rank, plus the communicator. `shards` fixes how each batch
     * is cut, and with it the result: 4 shards give the same weights on 1, 2 or 4 ranks
     * (a batch is cut into at most that many: a shard needs enough work to be worth
     * sending, see the header's "The layout"; this model's batches of 256 make 4). */
    mb_train_options_init(&options);
    options.epochs = 10;
    options.batch_size = 256;
    options.learning_rate = 0.2f;
    options.seed = 7;
    options.threads = 1; /* threads per rank */
    options.shards = 4;
    options.communicator = &comm;
    options.distributed_mode = MB_DISTRIBUTED_DETERMINISTIC;

    /* Every rank makes the same call; every rank gets the same status and the same model. */
    if ((s = mb_train(model, x, y, MB_TARGETS_CLASS_INDEX, M, 2, &options, history)) != MB_OK)
        fail("mb_train", s);

    if (comm.rank == 0) {
        if ((s = mb_history_epoch_costs(history, costs, 20, &n_costs)) != MB_OK)
            fail("mb_history_epoch_costs", s);
        printf("trained on %d ranks\n", comm.size);
        for (i = 0; i < n_costs; i++)
            printf("epoch %2lld  cost %.6f\n", (long long)(i + 1), costs[i]);
    }

    mb_history_free(history);
    mb_model_free(model);
    mb_mpi_communicator_free(&comm); /* before MPI_Finalize */
    MPI_Finalize();
    return 0;
}
