/*
 * test_dataset.c - datasets in .npy files, through the header only: training from a file
 * equals training from memory (exact shuffle), both shuffles train, and every bad file or
 * argument gets its documented status, a message, and leaves the model unchanged.
 * (numpy-written files of every version and dtype are tested from Python.)
 */
#define _XOPEN_SOURCE 700
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "ref.h"

enum { M = 500, N = 4 };

static char g_dir[64];
static float g_x[M * N];
static int32_t g_y[M];

static void path(char *out, const char *name) { snprintf(out, 256, "%s/%s", g_dir, name); }

/* Writes <dir>/name as a version 1.0 .npy file (ref.h). */
static void write_npy(const char *name, const char *descr, const char *shape, const void *data,
                      size_t bytes, int fortran)
{
    char p[256];
    path(p, name);
    if (npy_write(p, descr, shape, data, bytes, fortran) != 0) printf("    could not write %s\n", p);
}

static void write_good_files(void)
{
    write_npy("x.npy", "<f4", "(500, 4)", g_x, sizeof g_x, 0);
    write_npy("y.npy", "<i4", "(500,)", g_y, sizeof g_y, 0);
}

static mb_dataset *open_files(const char *xn, const char *yn, mb_file_shuffle shuffle)
{
    char xp[256], yp[256];
    path(xp, xn);
    path(yp, yn);
    mb_dataset_options o;
    mb_dataset_options_init(&o);
    o.shuffle = shuffle;
    o.block_bytes = 256;
    mb_dataset *d = NULL;
    mb_status s = mb_dataset_open_npy(xp, yp, &o, &d);
    if (s != MB_OK) printf("    open %s %s: %s %s\n", xn, yn, mb_status_name(s), mb_last_error());
    return d;
}

static mb_model *new_model(void)
{
    int64_t sizes[] = {N, 8, 2};
    mb_model_options o;
    mb_model_options_init(&o);
    o.hidden_activation = MB_ACTIVATION_TANH;
    o.seed = 3;
    mb_model *model = NULL;
    mb_model_create(sizes, 3, &o, &model);
    return model;
}

static mb_train_options train_options(void)
{
    mb_train_options t;
    mb_train_options_init(&t);
    t.epochs = 3;
    t.batch_size = 32;
    t.learning_rate = 0.2f;
    t.seed = 11;
    return t;
}

static int64_t n_params(const mb_model *model)
{
    mb_model_info info;
    mb_model_get_info(model, &info);
    return info.n_parameters;
}

static void test_info(void)
{
    write_good_files();
    mb_dataset *d = open_files("x.npy", "y.npy", MB_FILE_SHUFFLE_EXACT);
    CHECK(d != NULL);
    mb_dataset_info info;
    CHECK_STATUS(mb_dataset_get_info(d, &info), MB_OK);
    CHECK(info.m == M && info.n_features == N && info.y_columns == 1);
    CHECK(info.y_type == MB_TARGETS_CLASS_INDEX && info.x_version == 1 && info.y_version == 1);
    mb_dataset_free(d);
    mb_dataset_free(NULL);
}

static void test_exact_file_training_equals_memory(void)
{
    write_good_files();
    mb_dataset *d = open_files("x.npy", "y.npy", MB_FILE_SHUFFLE_EXACT);
    mb_model *a = new_model(), *b = new_model();
    mb_history *ha, *hb;
    mb_history_create(&ha);
    mb_history_create(&hb);
    mb_train_options t = train_options();
    CHECK_STATUS(mb_train_dataset(a, d, &t, ha), MB_OK);
    CHECK_STATUS(mb_train(b, g_x, g_y, MB_TARGETS_CLASS_INDEX, M, N, &t, hb), MB_OK);
    int64_t p = n_params(a);
    float *pa = malloc(sizeof(float) * (size_t)p), *pb = malloc(sizeof(float) * (size_t)p);
    mb_model_get_parameters(a, pa, p);
    mb_model_get_parameters(b, pb, p);
    CHECK(memcmp(pa, pb, sizeof(float) * (size_t)p) == 0);
    double ca[200], cb[200];
    int64_t na = 0, nb = 0;
    mb_history_batch_costs(ha, ca, 200, &na);
    mb_history_batch_costs(hb, cb, 200, &nb);
    CHECK(na == 3 * 16 && na == nb && memcmp(ca, cb, sizeof(double) * (size_t)na) == 0);
    double cost_file, acc_file, cost_mem, acc_mem;
    CHECK_STATUS(mb_evaluate_dataset(a, d, &cost_file, &acc_file), MB_OK);
    CHECK_STATUS(mb_evaluate(a, g_x, g_y, MB_TARGETS_CLASS_INDEX, M, N, &cost_mem, &acc_mem), MB_OK);
    CHECK(cost_file == cost_mem && acc_file == acc_mem);
    free(pa);
    free(pb);
    mb_history_free(ha);
    mb_history_free(hb);
    mb_model_free(a);
    mb_model_free(b);
    mb_dataset_free(d);
}

static void test_block_shuffle_learns(void)
{
    write_good_files();
    mb_dataset *d = open_files("x.npy", "y.npy", MB_FILE_SHUFFLE_BLOCK);
    mb_model *a = new_model();
    mb_train_options t = train_options();
    t.epochs = 60;
    double before, after, accuracy;
    mb_evaluate_dataset(a, d, &before, NULL);
    CHECK_STATUS(mb_train_dataset(a, d, &t, NULL), MB_OK);
    CHECK_STATUS(mb_evaluate_dataset(a, d, &after, &accuracy), MB_OK);
    CHECK(after < 0.5 * before);
    CHECK(accuracy > 0.9);
    mb_model_free(a);
    mb_dataset_free(d);
}

static void test_open_errors(void)
{
    char xp[256], yp[256];
    write_good_files();
    path(xp, "x.npy");
    path(yp, "y.npy");
    mb_dataset *d = (mb_dataset *)&d;
    CHECK_ERR_ARG(mb_dataset_open_npy(NULL, yp, NULL, &d), MB_ERR_INVALID_ARGUMENT, "x_path");
    CHECK(d == NULL);
    CHECK_ERR_ARG(mb_dataset_open_npy(xp, NULL, NULL, &d), MB_ERR_INVALID_ARGUMENT, "y_path");
    CHECK_ERR_ARG(mb_dataset_open_npy(xp, yp, NULL, NULL), MB_ERR_INVALID_ARGUMENT, "dataset");
    mb_dataset_options o;
    mb_dataset_options_init(&o);
    o.shuffle = (mb_file_shuffle)7;
    CHECK_ERR_ARG(mb_dataset_open_npy(xp, yp, &o, &d), MB_ERR_INVALID_ARGUMENT, "shuffle");
    mb_dataset_options_init(&o);
    o.block_bytes = 0;
    CHECK_ERR_ARG(mb_dataset_open_npy(xp, yp, &o, &d), MB_ERR_INVALID_ARGUMENT, "block_bytes");
    mb_dataset_options_init(&o);
    CHECK(o.page_cache == MB_PAGE_CACHE_AUTO);
    o.page_cache = (mb_page_cache)3;
    CHECK_ERR_ARG(mb_dataset_open_npy(xp, yp, &o, &d), MB_ERR_INVALID_ARGUMENT, "page_cache");

    char missing[256];
    path(missing, "missing.npy");
    CHECK_ERR(mb_dataset_open_npy(missing, yp, NULL, &d), MB_ERR_IO);
    CHECK(strstr(mb_last_error(), "missing.npy") != NULL);

    static double f8[M * N];
    write_npy("f8.npy", "<f8", "(500, 4)", f8, sizeof f8, 0);
    path(xp, "f8.npy");
    CHECK_ERR(mb_dataset_open_npy(xp, yp, NULL, &d), MB_ERR_INVALID_ARGUMENT);
    CHECK(strstr(mb_last_error(), "<f8") != NULL);

    write_npy("fortran.npy", "<f4", "(500, 4)", g_x, sizeof g_x, 1);
    path(xp, "fortran.npy");
    CHECK_ERR(mb_dataset_open_npy(xp, yp, NULL, &d), MB_ERR_INVALID_ARGUMENT);
    CHECK(strstr(mb_last_error(), "Fortran") != NULL);

    write_npy("short.npy", "<f4", "(500, 4)", g_x, sizeof g_x - 10, 0);
    path(xp, "short.npy");
    CHECK_ERR(mb_dataset_open_npy(xp, yp, NULL, &d), MB_ERR_FORMAT);
    CHECK(strstr(mb_last_error(), "truncated") != NULL);

    write_npy("y499.npy", "<i4", "(499,)", g_y, sizeof g_y - 4, 0);
    path(xp, "x.npy");
    path(yp, "y499.npy");
    CHECK_ERR(mb_dataset_open_npy(xp, yp, NULL, &d), MB_ERR_INVALID_ARGUMENT);
    CHECK(strstr(mb_last_error(), "rows") != NULL);

    /* A header may claim any shape: sizes that cannot exist are refused, never wrapped. */
    write_npy("huge.npy", "<f4", "(4611686018427387904, 4611686018427387904)", g_x, sizeof g_x, 0);
    path(xp, "huge.npy");
    CHECK_ERR(mb_dataset_open_npy(xp, yp, NULL, &d), MB_ERR_FORMAT);
    write_npy("huge2.npy", "<f4", "(2305843009213693952, 4)", g_x, sizeof g_x, 0);
    path(xp, "huge2.npy");
    CHECK_ERR(mb_dataset_open_npy(xp, yp, NULL, &d), MB_ERR_FORMAT);
    write_npy("negative.npy", "<f4", "(-5, 4)", g_x, sizeof g_x, 0);
    path(xp, "negative.npy");
    CHECK_ERR(mb_dataset_open_npy(xp, yp, NULL, &d), MB_ERR_INVALID_ARGUMENT);
    path(xp, "x.npy");

    /* A FIFO with no writer, a directory, a device: MB_ERR_IO at once, never a blocked
     * read, and a directory is not "bad magic". */
    char fifo[256], dir[256];
    path(fifo, "pipe.npy");
    path(dir, "");
    if (CHECK(mkfifo(fifo, 0600) == 0)) {
        CHECK_ERR(mb_dataset_open_npy(fifo, yp, NULL, &d), MB_ERR_IO);
        CHECK(strstr(mb_last_error(), "FIFO") != NULL);
        CHECK_ERR(mb_dataset_open_npy(xp, fifo, NULL, &d), MB_ERR_IO);
        unlink(fifo);
    }
    CHECK_ERR(mb_dataset_open_npy(dir, yp, NULL, &d), MB_ERR_IO);
    CHECK(strstr(mb_last_error(), "directory") != NULL);
    CHECK_ERR(mb_dataset_open_npy("/dev/zero", yp, NULL, &d), MB_ERR_IO);

    FILE *f = fopen(missing, "wb");
    fputs("PK\x03\x04 not a numpy file", f);
    fclose(f);
    path(yp, "y.npy");
    CHECK_ERR(mb_dataset_open_npy(missing, yp, NULL, &d), MB_ERR_FORMAT);
    CHECK(strstr(mb_last_error(), "bad magic") != NULL);
    /* A file cut short is told from a foreign one (until 0.12.3 a file ending after a good
     * magic and version said "bad magic"). */
    {
        static const struct { const char *bytes; size_t length; const char *says; } cut[] = {
            {"", 0, "empty"},
            {"\x93NUM", 4, "truncated header"},
            {"\x93NUMPY\x01\x00", 8, "truncated header"},
            {"\x93NUMPY\x01\x00\x76", 9, "truncated header"},
            {"\x93NUMPY\x02\x00\x76\x00", 10, "truncated header"},
            {"\x93NUMPY\x09\x00\x76\x00", 10, "version"},
            {"\x93NUMPX\x01\x00\x76\x00", 10, "bad magic"},
        };
        for (size_t i = 0; i < sizeof cut / sizeof cut[0]; i++) {
            f = fopen(missing, "wb");
            if (!CHECK(f != NULL))
                break;
            fwrite(cut[i].bytes, 1, cut[i].length, f);
            fclose(f);
            CHECK_ERR(mb_dataset_open_npy(missing, yp, NULL, &d), MB_ERR_FORMAT);
            if (!CHECK(strstr(mb_last_error(), cut[i].says) != NULL))
                printf("  %zu bytes: %s\n", cut[i].length, mb_last_error());
        }
    }
    unlink(missing);
    CHECK(d == NULL);
}

/* Training that meets bad values in a file stops before using them. */
static void test_bad_values_stop_training_cleanly(void)
{
    write_good_files();
    mb_model *model = new_model();
    int64_t p = n_params(model);
    float *before = malloc(sizeof(float) * (size_t)p), *after = malloc(sizeof(float) * (size_t)p);
    mb_model_get_parameters(model, before, p);
    mb_train_options t = train_options();

    static int32_t labels[M];
    memcpy(labels, g_y, sizeof labels);
    labels[M - 1] = 5;
    write_npy("ybad.npy", "<i4", "(500,)", labels, sizeof labels, 0);
    mb_dataset *d = open_files("x.npy", "ybad.npy", MB_FILE_SHUFFLE_EXACT);
    CHECK_ERR(mb_train_dataset(model, d, &t, NULL), MB_ERR_INVALID_ARGUMENT);
    CHECK(strstr(mb_last_error(), "row 499") != NULL);
    mb_model_get_parameters(model, after, p);
    CHECK(memcmp(before, after, sizeof(float) * (size_t)p) == 0);
    mb_dataset_free(d);

    static float xs[M * N];
    memcpy(xs, g_x, sizeof xs);
    xs[N * 300 + 2] = 0.0f / 0.0f;
    write_npy("xnan.npy", "<f4", "(500, 4)", xs, sizeof xs, 0);
    d = open_files("xnan.npy", "y.npy", MB_FILE_SHUFFLE_BLOCK);
    CHECK_ERR(mb_train_dataset(model, d, &t, NULL), MB_ERR_INVALID_ARGUMENT);
    CHECK(strstr(mb_last_error(), "row 300") != NULL);
    mb_model_get_parameters(model, after, p);
    for (int64_t i = 0; i < p; i++) CHECK(after[i] == after[i]);
    mb_model_info info;
    mb_model_get_info(model, &info);
    CHECK(info.epochs_trained == 0);
    mb_dataset_free(d);
    free(before);
    free(after);
    mb_model_free(model);
}

/* The progress callback truncates the X file after the first epoch. */
static int truncate_x(const mb_progress *progress, void *user_data)
{
    (void)progress;
    CHECK(truncate((const char *)user_data, 1000) == 0);
    return 0;
}

/* Appends bytes to X: a file written to while it trains. */
static int grow_x(const mb_progress *progress, void *user_data)
{
    (void)progress;
    FILE *f = fopen((const char *)user_data, "ab");
    CHECK(f != NULL);
    if (f) {
        CHECK(fwrite("more rows", 1, 9, f) == 9);
        fclose(f);
    }
    return 0;
}

static void test_file_changing_size_is_an_io_error(void)
{
    write_good_files();
    char xp[256];
    path(xp, "x.npy");
    for (int run = 0; run < 4; run++) {
        const int shuffle = run % 2;
        write_good_files();
        mb_dataset *d = open_files("x.npy", "y.npy", (mb_file_shuffle)shuffle);
        mb_model *model = new_model();
        mb_train_options t = train_options();
        t.progress = run < 2 ? truncate_x : grow_x; /* shrinks, then grows */
        t.user_data = xp;
        CHECK_ERR(mb_train_dataset(model, d, &t, NULL), MB_ERR_IO);
        CHECK(strstr(mb_last_error(), "changed size") != NULL);
        mb_model_info info;
        mb_model_get_info(model, &info);
        CHECK(info.epochs_trained == 1);
        mb_model_free(model);
        mb_dataset_free(d);
    }
}

/* The progress callback frees the dataset its training reads: the dataset lives until the
 * training call returns, as a model or history freed there does (valgrind checks that
 * nothing is read after it is freed, or leaked). */
static int free_dataset(const mb_progress *progress, void *user_data)
{
    (void)progress;
    mb_dataset **d = (mb_dataset **)user_data;
    mb_dataset_free(*d);
    *d = NULL;
    return 0;
}

static void test_freed_from_the_callback_lives_until_the_call_returns(void)
{
    for (int shuffle = 0; shuffle < 2; shuffle++) {
        write_good_files();
        mb_dataset *d = open_files("x.npy", "y.npy", (mb_file_shuffle)shuffle);
        mb_model *model = new_model();
        mb_train_options t = train_options();
        t.epochs = 3;
        t.progress = free_dataset;
        t.user_data = &d;
        CHECK_STATUS(mb_train_dataset(model, d, &t, NULL), MB_OK);
        mb_model_info info;
        mb_model_get_info(model, &info);
        CHECK(d == NULL && info.epochs_trained == 3);
        mb_model_free(model);
    }
}

static void test_argument_errors(void)
{
    write_good_files();
    mb_dataset *d = open_files("x.npy", "y.npy", MB_FILE_SHUFFLE_EXACT);
    mb_model *model = new_model();
    mb_train_options t = train_options();
    mb_dataset_info info;
    double cost;
    CHECK_ERR_ARG(mb_dataset_get_info(NULL, &info), MB_ERR_INVALID_ARGUMENT, "dataset");
    CHECK_ERR_ARG(mb_dataset_get_info(d, NULL), MB_ERR_INVALID_ARGUMENT, "info");
    CHECK_ERR_ARG(mb_train_dataset(NULL, d, &t, NULL), MB_ERR_INVALID_ARGUMENT, "model");
    CHECK_ERR_ARG(mb_train_dataset(model, NULL, &t, NULL), MB_ERR_INVALID_ARGUMENT, "dataset");
    CHECK_ERR_ARG(mb_evaluate_dataset(NULL, d, &cost, NULL), MB_ERR_INVALID_ARGUMENT, "model");
    CHECK_ERR_ARG(mb_evaluate_dataset(model, NULL, &cost, NULL), MB_ERR_INVALID_ARGUMENT, "dataset");
    t.batch_size = M + 1;
    CHECK_ERR_ARG(mb_train_dataset(model, d, &t, NULL), MB_ERR_INVALID_ARGUMENT, "batch_size");
    t = train_options();
    t.learning_rate = -1;
    CHECK_ERR_ARG(mb_train_dataset(model, d, &t, NULL), MB_ERR_INVALID_ARGUMENT, "learning_rate");

    int64_t wide[] = {N + 1, 2};
    mb_model *other = NULL;
    mb_model_create(wide, 2, NULL, &other);
    t = train_options();
    CHECK_ERR(mb_train_dataset(other, d, &t, NULL), MB_ERR_INVALID_ARGUMENT);
    CHECK(strstr(mb_last_error(), "features") != NULL);
    mb_model_free(other);

    mb_dataset_options o;
    mb_dataset_options_init(&o);
    o.memory_budget = 1000;
    char xp[256], yp[256];
    path(xp, "x.npy");
    path(yp, "y.npy");
    mb_dataset *tiny = NULL;
    /* Too small for even one row of read-ahead and the exact shuffle's permutation. */
    CHECK_ERR_ARG(mb_dataset_open_npy(xp, yp, &o, &tiny), MB_ERR_INVALID_ARGUMENT, "memory_budget");
    CHECK(tiny == NULL);
    /* Enough to open (batch 1), not for the batch size asked for in training. */
    o.memory_budget = 500 * 12 + 3 * 64 * 28;
    CHECK_STATUS(mb_dataset_open_npy(xp, yp, &o, &tiny), MB_OK);
    t.batch_size = 256;
    CHECK_ERR_ARG(mb_train_dataset(model, tiny, &t, NULL), MB_ERR_INVALID_ARGUMENT, "memory_budget");
    /* nor for an evaluation, read 256 rows at a time: its message says so (until 0.12.5 it
     * named a training's batch size and the exact shuffle's reader "opened for training") */
    cost = -1;
    CHECK_ERR_ARG(mb_evaluate_dataset(model, tiny, &cost, NULL), MB_ERR_INVALID_ARGUMENT,
                  "too small to evaluate this dataset (read in order, 256 rows at a time)");
    CHECK(cost == -1);
    mb_dataset_free(tiny);
    mb_model_free(model);
    mb_dataset_free(d);
}

int main(void)
{
    strcpy(g_dir, "/tmp/mb-dataset-XXXXXX");
    if (mkdtemp(g_dir) == NULL) return 1;
    CHECK_STATUS(mb_make_moons(M, 0.1f, 4, g_x, g_y), MB_OK);
    /* Two more features, so the rows are wider than a label. */
    for (int i = M - 1; i >= 0; i--) {
        float a = g_x[2 * i], b = g_x[2 * i + 1];
        g_x[N * i] = a;
        g_x[N * i + 1] = b;
        g_x[N * i + 2] = a * b;
        g_x[N * i + 3] = a - b;
    }
    RUN_TEST(test_info);
    RUN_TEST(test_exact_file_training_equals_memory);
    RUN_TEST(test_block_shuffle_learns);
    RUN_TEST(test_open_errors);
    RUN_TEST(test_bad_values_stop_training_cleanly);
    RUN_TEST(test_file_changing_size_is_an_io_error);
    RUN_TEST(test_freed_from_the_callback_lives_until_the_call_returns);
    RUN_TEST(test_argument_errors);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    if (system(cmd) != 0) printf("could not remove %s\n", g_dir);
    return check_summary();
}
