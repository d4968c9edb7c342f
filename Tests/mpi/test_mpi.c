/*
 * test_mpi.c - distributed training (minibatch.h, "Distributed training: data parallelism
 * over processes") over MPI (minibatch_mpi.h), written from the two headers only.
 *
 * Every rank runs this program (mpirun -np R, any R). The reference is the header's own
 * promise: deterministic mode is bit-identical to ONE process training with the same number
 * of shards S and no communicator. So each rank also trains, alone, a copy of each model with
 * options.shards = S, and compares weights, epochs and history byte for byte; the ranks then
 * compare their results with each other over MPI. S = 4 for every R, so the reference does
 * not depend on R. Fast mode is compared to the same reference within a stated tolerance.
 * Errors: every rank must return the same status and the same message, and none may hang
 * (each test runs under an alarm, mpi_check.h).
 *
 * The tests: test_mpi_deterministic.c (in memory: deterministic mode, fast mode),
 * test_mpi_files.c (file datasets), test_mpi_failures.c (errors, divergence, cancel); what
 * they share: mpi_fixtures.h (mpi_fixtures.c, mpi_fixtures_files.c). This file: the test of
 * the contract, the list of the tests in the order they run, and main.
 *
 *   mpirun -np 3 ./test_mpi                      every test
 *   mpirun -np 3 ./test_mpi test_fast_mode ...   only the tests named
 */
#define _XOPEN_SOURCE 700
#define MPI_CHECK_DEFINE /* mpi_check.h's rank and counters are defined here */
#include <stdlib.h>

#include "mpi_fixtures.h"
#include "mpi_tests.h"

/* ---- the tests: contract and setup -------------------------------------------------------- */

static void test_library_has_distributed_options(void)
{
    mb_train_options o;
    memset(&o, 0xAB, sizeof o);
    mb_train_options_init(&o);
    CHECK(mb_version_number() == MB_VERSION_NUMBER);
    /* an older library would leave the distributed fields past its struct_size, and ignore
       them: every other test would then pass without distributing anything */
    if (!CHECK(o.struct_size == sizeof(mb_train_options)))
        printf("    [rank %d] the library's mb_train_options has %zu bytes, the header's %zu: "
               "not the distributed engine\n",
               K, o.struct_size, sizeof(mb_train_options));
    CHECK(o.shards == 0 && o.communicator == NULL &&
          o.distributed_mode == MB_DISTRIBUTED_DETERMINISTIC);
    CHECK(g_comm.struct_size == sizeof(mb_communicator));
    CHECK(g_comm.rank == K && g_comm.size == R);
    CHECK(g_comm.allreduce_sum && g_comm.allgather && g_comm.broadcast);
    {
        /* a root that is no rank fails (nonzero) on every rank instead of ending the process
           (MPI's own error handler, MPI_ERRORS_ARE_FATAL, aborted) */
        char byte = 0;
        CHECK(g_comm.broadcast(&byte, 1, R, g_comm.user_data) != 0);
        CHECK(g_comm.broadcast(&byte, 1, -1, g_comm.user_data) != 0);
        CHECK(g_comm.broadcast(&byte, 1, 0, g_comm.user_data) == 0);
    }
    CHECK_STATUS(mb_mpi_communicator(MPI_COMM_WORLD, NULL), MB_ERR_INVALID_ARGUMENT);
    {
        mb_communicator c;
        CHECK_STATUS(mb_mpi_communicator(MPI_COMM_NULL, &c), MB_ERR_INVALID_ARGUMENT);
        mb_mpi_communicator_free(NULL);
    }
}

/* ---- main ------------------------------------------------------------------------------------ */

typedef struct test_entry {
    const char *name;
    void (*fn)(void);
} test_entry;

#define TEST(fn) {#fn, fn}
static const test_entry k_tests[] = {
    TEST(test_library_has_distributed_options),
    TEST(test_one_process_reference_depends_on_shards_only),
    TEST(test_deterministic_moons_every_rule),
    TEST(test_deterministic_w1_small_every_rule),
    TEST(test_deterministic_l2_and_clip_norm),
    TEST(test_deterministic_dropout),
    TEST(test_deterministic_schedules),
    TEST(test_deterministic_validation_and_early_stopping),
    TEST(test_deterministic_last_batch_kept_and_dropped),
    TEST(test_deterministic_threads_differ_between_ranks),
    TEST(test_deterministic_default_shards_are_threads_times_ranks),
    TEST(test_deterministic_ranks_without_rows),
    TEST(test_deterministic_float_targets),
    TEST(test_deterministic_data_options),
    TEST(test_deterministic_continuing_training),
    TEST(test_deterministic_large_first_layer),
    TEST(test_deterministic_file_dataset),
    TEST(test_rank_reads_only_its_rows),
    TEST(test_fast_mode_close_to_one_process),
    TEST(test_error_options_differ_between_ranks),
    TEST(test_error_each_option_differs),
    TEST(test_error_refused_before_training_on_one_rank),
    TEST(test_error_a_rank_that_will_not_train),
    TEST(test_error_nan_on_one_rank),
    TEST(test_error_bad_file_on_one_rank),
    TEST(test_divergence_stops_every_rank),
    TEST(test_cancel_on_one_rank_stops_every_rank),
};

int main(int argc, char **argv)
{
    size_t t;
    int code, a;
    mb_status s;
    MPI_Init(&argc, &argv);
    check_init();
    K = check_rank_;
    R = check_size_;
    ODD = R - 1;
    s = mb_mpi_communicator(MPI_COMM_WORLD, &g_comm);
    if (s != MB_OK || !make_dir()) {
        printf("[rank %d] setup failed: mb_mpi_communicator %s, directory %s\n", K,
               mb_status_name(s), g_dir);
        printf("0 passed, 1 failed\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    if (K == 0) {
        printf("test_mpi: %d ranks, %d shards, library %s, directory %s\n", R, S, mb_version(),
               g_dir);
        fflush(stdout);
    }
    make_data();
    for (t = 0; t < sizeof k_tests / sizeof k_tests[0]; t++) {
        int wanted = argc <= 1;
        for (a = 1; a < argc; a++)
            wanted = wanted || strcmp(argv[a], k_tests[t].name) == 0;
        if (wanted)
            check_run_(k_tests[t].fn, k_tests[t].name);
    }
    remove_dir();
    code = check_summary();
    mb_mpi_communicator_free(&g_comm);
    free(g_w1_x);
    free(g_w1_y);
    MPI_Finalize();
    return code;
}
