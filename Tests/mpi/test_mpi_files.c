/*
 * test_mpi_files.c - the tests of test_mpi (test_mpi.c) on file datasets in deterministic
 * mode: the exact and the block shuffle against one process (and the exact one against
 * memory), and a rank that reads only the rows it owns.
 */
#define _XOPEN_SOURCE 700
#include <stdlib.h>

#include "mpi_fixtures.h"
#include "mpi_tests.h"

/* ---- deterministic mode on file datasets ------------------------------------------------- */

void test_deterministic_file_dataset(void)
{
    mb_dataset *exact, *block;
    data fe, fb;
    mb_train_options o = base_options(2, 64, 0.001f);
    o.optimizer = MB_OPTIMIZER_ADAM;
    write_shared_files();
    exact = open_dataset("x.npy", "y.npy", MB_FILE_SHUFFLE_EXACT);
    block = open_dataset("x.npy", "y.npy", MB_FILE_SHUFFLE_BLOCK);
    memset(&fe, 0, sizeof fe);
    fe.dataset = exact;
    fb = fe;
    fb.dataset = block;
    /* the exact shuffle: one process from the file, and (header) from memory */
    check_against_one_process("file, exact shuffle", &k_file_model, &fe, &fe, &o,
                              MB_DISTRIBUTED_DETERMINISTIC, MB_OK);
    check_against_one_process("file, exact shuffle, against memory", &k_file_model, &fe,
                              &g_file, &o, MB_DISTRIBUTED_DETERMINISTIC, MB_OK);
    check_against_one_process("file, block shuffle", &k_file_model, &fb, &fb, &o,
                              MB_DISTRIBUTED_DETERMINISTIC, MB_OK);
    o = base_options(2, 100, 0.05f); /* 520 = 5 * 100 + 20: a last batch of 20 rows */
    o.momentum = 0.9f;
    o.nesterov = 1;
    check_against_one_process("file, exact shuffle, Nesterov, batch 100", &k_file_model, &fe,
                              &fe, &o, MB_DISTRIBUTED_DETERMINISTIC, MB_OK);
    check_against_one_process("file, block shuffle, Nesterov, batch 100", &k_file_model, &fb,
                              &fb, &o, MB_DISTRIBUTED_DETERMINISTIC, MB_OK);
    /* a file dataset as the validation set (evaluated by rank 0 alone) */
    o = base_options(2, 64, 0.05f);
    o.validation_dataset = exact;
    check_against_one_process("memory, file validation set", &k_file_model, &g_file, &g_file,
                              &o, MB_DISTRIBUTED_DETERMINISTIC, MB_OK);
    mb_dataset_free(exact);
    mb_dataset_free(block);
}

/* With the exact shuffle a rank reads only its own rows: each rank trains on its own copy of
 * X (name_x, m rows of n features) in which every row it does not own in epoch 0 is NaN, and
 * must get the one-process result on the clean file. */
static void check_reads_only_own_rows(const char *label, const spec *sp, const char *clean_x,
                                      const char *clean_y, const float *x_clean, int64_t m,
                                      int64_t n, int64_t batch_size, const char *own_stem)
{
    mb_train_options o = base_options(1, batch_size, 0.05f);
    mb_model *model = spec_model(sp);
    unsigned char *owned = (unsigned char *)malloc((size_t)m);
    int *count = (int *)calloc((size_t)m, sizeof(int));
    float *x = (float *)malloc(sizeof(float) * (size_t)(m * n));
    char name[64];
    int64_t i, j, mine = 0, bad_rows = 0;
    mb_dataset *clean, *own;
    data dc, dd;
    outcome d, r;
    o.momentum = 0.9f;
    rows_of_rank(K, m, batch_size, MB_LAST_BATCH_KEEP, o.seed, 0, model, owned);
    /* the layout covers each row once over the ranks */
    for (i = 0; i < m; i++) {
        count[i] = owned[i];
        mine += owned[i];
    }
    MPI_Allreduce(MPI_IN_PLACE, count, (int)m, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    for (i = 0; i < m; i++)
        bad_rows += count[i] != 1;
    CHECK(bad_rows == 0);
    NOTE("%s: rank 0 owns %lld of %lld rows in epoch 0", label, (long long)mine, (long long)m);
    memcpy(x, x_clean, sizeof(float) * (size_t)(m * n));
    for (i = 0; i < m; i++)
        if (!owned[i])
            for (j = 0; j < n; j++)
                x[i * n + j] = NAN;
    rank_file_name(name, own_stem);
    write_x(name, x, m, n);
    clean = open_dataset(clean_x, clean_y, MB_FILE_SHUFFLE_EXACT);
    own = open_dataset(name, clean_y, MB_FILE_SHUFFLE_EXACT);
    memset(&dc, 0, sizeof dc);
    dc.dataset = clean;
    dd = dc;
    dd.dataset = own;
    train_fresh(sp, &dc, &o, &r);
    o.communicator = &g_comm;
    train_fresh(sp, &dd, &o, &d);
    if (!CHECK_STATUS(d.status, MB_OK))
        printf("    [rank %d] %s, NaN in the rows it does not own: \"%s\"\n", K, label,
               d.message);
    expect_identical(label, &d, &r);
    outcome_free(&d);
    outcome_free(&r);
    mb_dataset_free(clean);
    mb_dataset_free(own);
    mb_model_free(model);
    free(owned);
    free(count);
    free(x);
}

void test_rank_reads_only_its_rows(void)
{
    enum { M8 = 4904, N8 = 8 };
    static float x8[M8 * N8];
    static int32_t y8[M8];
    write_shared_files();
    /* 784-32-10, batches of 64 (4 shards) and a last one of 8 (1 shard: 8 x 26,234 of work is
       less than two shards' 2 x (32,768 + 3 x 25,450)) */
    check_reads_only_own_rows("784-32-10, batch 64 of 520", &k_file_model, "x.npy", "y.npy",
                              g_w1_x, FILE_M, W1_N, 64, "x-own");
    /* 8-4-2 (46 parameters), batches of 2048: n = 2048 * 54 / (32768 + 3 * 46) = 3 shards
       (the work term binds), and a last one of 808 rows: 1 shard */
    tdata_fill(x8, M8 * N8, 105, -1.0, 1.0);
    tdata_classes(y8, M8, 2, 106);
    if (K == 0) {
        write_x("x8.npy", x8, M8, N8);
        write_y("y8.npy", y8, M8);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    check_reads_only_own_rows("8-4-2, batch 2048 of 4904", &k_small8, "x8.npy", "y8.npy", x8, M8,
                              N8, 2048, "x8-own");
}
