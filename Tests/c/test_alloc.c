/*
 * test_alloc.c - training allocates nothing per mini-batch, nor per epoch: the heap
 * allocations a training call makes (everything it sets up: workspaces, the permutation,
 * the thread team, a file dataset's buffers) do not grow with its number of batches.
 *
 * This program defines the C library's allocation functions itself, so every allocation
 * of libminibatch.so, of OpenBLAS and of the C library's own code comes here (the dynamic
 * linker resolves them to the executable first) and is counted while `g_counting` is set,
 * then handed to glibc's allocator (__libc_malloc and friends). Each case trains once
 * uncounted (first-call set-up: Swift runtime metadata, OpenBLAS), then counts a call of 1
 * epoch and a call of 4 epochs with the same options, and a call of 1 epoch on a quarter of
 * the rows (a quarter of the batches): the three counts must be equal.
 *
 * Cases: one thread and a team of two; 4-row shards; one shard of a wide model whose
 * products OpenBLAS would thread (it allocates per threaded call); a history and a progress callback; shards taken in
 * 256-row chunks (batch 1024 on two threads); the fused first-layer update (512x512 first
 * layer: 2^18 weights); a model without a hidden layer (rows read in place); file datasets
 * with the exact and the block shuffle. And saving a model: no allocation the model's size.
 */
#define _XOPEN_SOURCE 700
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "ref.h"

/* --- counting allocator ------------------------------------------------------------------ */
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *ptr, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);
extern void __libc_free(void *ptr);

static int g_counting = 0;
static long g_allocations = 0;
/* The largest allocation counted (bytes). */
static size_t g_largest = 0;

static void counted_size(size_t size)
{
    if (__atomic_load_n(&g_counting, __ATOMIC_RELAXED)) {
        __atomic_fetch_add(&g_allocations, 1, __ATOMIC_RELAXED);
        size_t seen = __atomic_load_n(&g_largest, __ATOMIC_RELAXED);
        while (size > seen && !__atomic_compare_exchange_n(&g_largest, &seen, size, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
        }
    }
}

void *malloc(size_t size)
{
    counted_size(size);
    return __libc_malloc(size);
}

void *calloc(size_t count, size_t size)
{
    counted_size(count * size);
    return __libc_calloc(count, size);
}

void *realloc(void *ptr, size_t size)
{
    counted_size(size);
    return __libc_realloc(ptr, size);
}

void free(void *ptr) { __libc_free(ptr); }

void *memalign(size_t alignment, size_t size)
{
    counted_size(size);
    return __libc_memalign(alignment, size);
}

void *aligned_alloc(size_t alignment, size_t size)
{
    counted_size(size);
    return __libc_memalign(alignment, size);
}

int posix_memalign(void **out, size_t alignment, size_t size)
{
    counted_size(size);
    if (alignment < sizeof(void *) || (alignment & (alignment - 1)) != 0) return 22; /* EINVAL */
    void *p = __libc_memalign(alignment, size);
    if (p == NULL && size != 0) return 12; /* ENOMEM */
    *out = p;
    return 0;
}

static void count_start(void)
{
    __atomic_store_n(&g_allocations, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&g_largest, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&g_counting, 1, __ATOMIC_SEQ_CST);
}

static long count_stop(void)
{
    __atomic_store_n(&g_counting, 0, __ATOMIC_SEQ_CST);
    return __atomic_load_n(&g_allocations, __ATOMIC_SEQ_CST);
}

/* --- data -------------------------------------------------------------------------------- */
enum { M = 4096, N_MAX = 512 };

static float g_x[M * N_MAX];
static int32_t g_labels[M];
static float g_binary[M];
static char g_dir[64];

static void make_data(void)
{
    uint64_t s = 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < (size_t)M * N_MAX; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        g_x[i] = (float)(s >> 40) / (float)(1u << 24);
    }
    for (int i = 0; i < M; i++) {
        g_labels[i] = i % 3;
        g_binary[i] = (float)(i % 2);
    }
}

static int on_epoch(const mb_progress *progress, void *user_data)
{
    (void)user_data;
    return progress->epoch_cost == progress->epoch_cost ? 0 : 1;
}

static mb_model *new_model(const int64_t *sizes, int64_t n, mb_loss loss)
{
    mb_model_options o;
    mb_model_options_init(&o);
    o.loss = loss;
    o.seed = 3;
    mb_model *model = NULL;
    CHECK_STATUS(mb_model_create(sizes, n, &o, &model), MB_OK);
    return model;
}

typedef struct train_case {
    const char *name;
    const int64_t *sizes;
    int64_t n_layers;
    mb_loss loss;
    int64_t batch;
    int threads;
    int with_history; /* a history and a progress callback */
    const mb_dataset *dataset; /* NULL: the arrays in memory */
    int64_t m;                 /* rows (of the arrays in memory) */
    int rule;                  /* 0: plain gradient descent; 1: Adam with L2, clipping, a
                                  cosine schedule, a validation set and early stopping;
                                  2: Nesterov momentum; 3: plain gradient descent with
                                  dropout */
} train_case;

/* Allocations of one training call of `epochs` epochs on the first m rows. */
static long allocations(const train_case *c, mb_model *model, int64_t m, int64_t epochs, mb_status *status)
{
    mb_train_options o;
    mb_train_options_init(&o);
    o.epochs = epochs;
    o.batch_size = c->batch;
    o.learning_rate = 0.01f;
    o.threads = c->threads;
    o.seed = 11;
    if (c->rule == 1) {
        o.optimizer = MB_OPTIMIZER_ADAM;
        o.l2 = 0.001f;
        o.clip_norm = 1.0f;
        o.schedule = MB_SCHEDULE_COSINE;
        o.cosine_epochs = 10;
        o.patience = 100;
        o.validation_x = g_x;
        o.validation_y = c->loss == MB_LOSS_CROSS_ENTROPY ? (const void *)g_labels : (const void *)g_binary;
        o.validation_y_type = c->loss == MB_LOSS_CROSS_ENTROPY ? MB_TARGETS_CLASS_INDEX : MB_TARGETS_FLOAT32;
        o.validation_m = 300;
    } else if (c->rule == 2) {
        o.momentum = 0.9f;
        o.nesterov = 1;
    } else if (c->rule == 3) {
        o.dropout = 0.3;
    }
    mb_history *history = NULL;
    if (c->with_history) {
        CHECK_STATUS(mb_history_create(&history), MB_OK);
        o.progress = on_epoch;
    }
    int classes = c->loss == MB_LOSS_CROSS_ENTROPY;
    count_start();
    if (c->dataset != NULL) {
        *status = mb_train_dataset(model, c->dataset, &o, history);
    } else {
        *status = mb_train(model, g_x, classes ? (const void *)g_labels : (const void *)g_binary,
                           classes ? MB_TARGETS_CLASS_INDEX : MB_TARGETS_FLOAT32, m, c->sizes[0], &o,
                           history);
    }
    long n = count_stop();
    mb_history_free(history);
    return n;
}

static void check_case(const train_case *c, int check_fewer_rows)
{
    mb_model *model = new_model(c->sizes, c->n_layers, c->loss);
    if (model == NULL) return;
    mb_status s0, s1, s4, sq;
    allocations(c, model, c->m, 1, &s0); /* first-call set-up, not counted */
    long one = allocations(c, model, c->m, 1, &s1);
    long four = allocations(c, model, c->m, 4, &s4);
    /* A quarter of the rows, but at least two batches (one batch of all rows is batch
     * gradient descent, which takes the rows in place: a different set-up). */
    int64_t fewer = c->m / 4 > 2 * c->batch ? c->m / 4 : 2 * c->batch;
    long quarter = check_fewer_rows ? allocations(c, model, fewer, 1, &sq) : one;
    if (!check_fewer_rows) sq = MB_OK;
    CHECK(s0 == MB_OK && s1 == MB_OK && s4 == MB_OK && sq == MB_OK);
    printf("    %-44s batches/epoch %4lld: allocations in a call of 1 epoch %ld, of 4 epochs %ld",
           c->name, (long long)((c->m + c->batch - 1) / c->batch), one, four);
    if (check_fewer_rows) printf(", of 1 epoch on %lld rows %ld", (long long)fewer, quarter);
    printf("\n");
    CHECK(one > 0); /* the counter sees the library's allocations (its set-up) */
    CHECK(four == one);
    CHECK(quarter == one);
    mb_model_free(model);
}

static const int64_t MLP[] = {64, 32, 3};
static const int64_t WIDE[] = {512, 512, 3};
static const int64_t LOGREG[] = {64, 1};
/* Enough work a row for 4-row shards (the layout's rule: 4 rows x 33,539 >= 32,768 + 3 x
 * 33,027 parameters). */
static const int64_t MID[] = {512, 64, 3};

static void test_in_memory_training_allocates_per_call_only(void)
{
    const train_case cases[] = {
        {"64-32-3, batch 64, one thread", MLP, 3, MB_LOSS_CROSS_ENTROPY, 64, 1, 0, NULL, M, 0},
        {"64-32-3, batch 64, two threads", MLP, 3, MB_LOSS_CROSS_ENTROPY, 64, 2, 0, NULL, M, 0},
        {"64-32-3, batch 32, history + progress", MLP, 3, MB_LOSS_CROSS_ENTROPY, 32, 2, 1, NULL, M, 0},
        {"64-32-3, batch 1024 (256-row chunks), two threads", MLP, 3, MB_LOSS_CROSS_ENTROPY, 1024, 2, 0, NULL, M, 0},
        {"64-1 logistic (rows in place), batch 64", LOGREG, 2, MB_LOSS_BINARY_CROSS_ENTROPY, 64, 2, 0, NULL, M, 0},
        {"512-64-3, batch 8 (4-row shards), two threads", MID, 3, MB_LOSS_CROSS_ENTROPY, 8, 2, 0, NULL, M, 0},
        /* One shard whose products OpenBLAS would thread if it could (its threaded
         * products allocate per call): training keeps OpenBLAS on one thread. */
        {"512-512-3, batch 16 (one shard), automatic threads", WIDE, 3, MB_LOSS_CROSS_ENTROPY, 16, 0, 0, NULL, M, 0},
        {"512-512-3, batch 24, one thread", WIDE, 3, MB_LOSS_CROSS_ENTROPY, 24, 1, 0, NULL, M, 0},
        /* The general update: a rule with state, validation after every epoch. */
        {"64-32-3, batch 64, Adam + validation, two threads", MLP, 3, MB_LOSS_CROSS_ENTROPY, 64, 2, 1, NULL, M, 1},
        {"512-64-3, batch 8, Nesterov, two threads", MID, 3, MB_LOSS_CROSS_ENTROPY, 8, 2, 0, NULL, M, 2},
        {"64-32-3, batch 64, dropout, two threads", MLP, 3, MB_LOSS_CROSS_ENTROPY, 64, 2, 1, NULL, M, 3},
        {"64-32-3, batch 1024 (256-row chunks), dropout", MLP, 3, MB_LOSS_CROSS_ENTROPY, 1024, 2, 0, NULL, M, 3},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) check_case(&cases[i], 1);
}

static void test_fused_update_allocates_per_call_only(void)
{
    /* 512 x 512 first-layer weights (2^18: mb_working_memory's threshold) take the fused
     * update (TrainingStep). Fewer rows, to keep it quick under valgrind. */
    const train_case c = {"512-512-3, batch 128, two threads (fused)", WIDE, 3, MB_LOSS_CROSS_ENTROPY, 128, 2, 0,
                          NULL, 1024, 0};
    check_case(&c, 1);
    const train_case d = {"512-512-3, batch 128, dropout (fused)", WIDE, 3, MB_LOSS_CROSS_ENTROPY, 128, 2, 0,
                          NULL, 1024, 3};
    check_case(&d, 1);
}

static void test_file_training_allocates_per_call_only(void)
{
    char xp[128], yp[128], shape[32];
    snprintf(xp, sizeof xp, "%s/x.npy", g_dir);
    snprintf(yp, sizeof yp, "%s/y.npy", g_dir);
    snprintf(shape, sizeof shape, "(%d, 64)", M);
    CHECK(npy_write(xp, "<f4", shape, g_x, sizeof(float) * M * 64, 0) == 0);
    snprintf(shape, sizeof shape, "(%d,)", M);
    CHECK(npy_write(yp, "<i4", shape, g_labels, sizeof g_labels, 0) == 0);
    for (int i = 0; i < 4; i++) {
        /* Each shuffle with one training thread (a background thread reads ahead) and two
         * (the training threads read their own rows). */
        mb_file_shuffle shuffle = i < 2 ? MB_FILE_SHUFFLE_EXACT : MB_FILE_SHUFFLE_BLOCK;
        int threads = 1 + i % 2;
        char name[64];
        snprintf(name, sizeof name, "file, %s shuffle, batch 64, %s", i < 2 ? "exact" : "block",
                 threads == 1 ? "one thread" : "two threads");
        mb_dataset_options o;
        mb_dataset_options_init(&o);
        o.shuffle = shuffle;
        o.block_bytes = 16384;
        mb_dataset *d = NULL;
        CHECK_STATUS(mb_dataset_open_npy(xp, yp, &o, &d), MB_OK);
        if (d == NULL) continue;
        /* A file dataset has all its rows: the fewer-rows count does not apply. */
        const train_case c = {name, MLP, 3, MB_LOSS_CROSS_ENTROPY, 64, threads, 1, d, M, threads == 2 ? 1 : 0};
        check_case(&c, 0);
        mb_dataset_free(d);
    }
}

/* Saving streams the file in blocks: no allocation is the size of the model. A model of
 * 512-2048-3 with Adam's state is a 12.7 MB file; the encoder once built it whole in memory
 * (a failed allocation of it, under a memory limit, ended the process). */
static void test_save_allocates_nothing_the_size_of_the_model(void)
{
    const int64_t sizes[] = {512, 2048, 3};
    mb_model *model = NULL;
    mb_train_options o;
    char path[128];
    snprintf(path, sizeof path, "%s/big.mbm", g_dir);
    if (!CHECK(mb_model_create(sizes, 3, NULL, &model) == MB_OK))
        return;
    mb_train_options_init(&o);
    o.epochs = 1;
    o.batch_size = 256;
    o.optimizer = MB_OPTIMIZER_ADAM;
    CHECK_STATUS(mb_train(model, g_x, g_labels, MB_TARGETS_CLASS_INDEX, 256, 512, &o, NULL), MB_OK);
    CHECK_STATUS(mb_model_save(model, path), MB_OK);  /* first call: set-up uncounted */
    count_start();
    CHECK_STATUS(mb_model_save(model, path), MB_OK);
    count_stop();
    if (!CHECK(g_largest < ((size_t)1 << 20)))
        printf("    largest allocation while saving a 12.7 MB model file: %zu bytes\n", g_largest);
    mb_model_free(model);
}

int main(void)
{
    /* X of width 64 (the MLP, logistic and file cases) is g_x's first 64 * M floats. */
    make_data();
    strcpy(g_dir, "/tmp/mb-alloc-XXXXXX");
    if (mkdtemp(g_dir) == NULL) return 1;
    RUN_TEST(test_in_memory_training_allocates_per_call_only);
    RUN_TEST(test_fused_update_allocates_per_call_only);
    RUN_TEST(test_file_training_allocates_per_call_only);
    RUN_TEST(test_save_allocates_nothing_the_size_of_the_model);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    if (system(cmd) != 0) printf("could not remove %s\n", g_dir);
    return check_summary();
}
