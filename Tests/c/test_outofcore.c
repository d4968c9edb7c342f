/*
 * test_outofcore.c - predicting from .npy files and shuffling them, through the header only:
 * mb_predict_npy, mb_predict_dataset and mb_predict_classes_dataset give what mb_predict and
 * mb_predict_classes give in memory, bit for bit; mb_shuffle_npy writes the order its
 * contract states, recomputed here from the generator's reference (ref.h), with pairs kept;
 * every bad argument gets its status and a message, and leaves no file behind.
 */
#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "ref.h"

enum { M = 1000, N = 5, OUT = 3 };

static char g_dir[64];
static float g_x[M * N];
static int64_t g_labels[M];

static void path(char *out, const char *name) { snprintf(out, 256, "%s/%s", g_dir, name); }

/* The number of entries in the test directory (a failed call must add none). */
static int entries(void)
{
    DIR *d = opendir(g_dir);
    int n = 0;
    if (d == NULL) return -1;
    for (struct dirent *e = readdir(d); e != NULL; e = readdir(d))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) n++;
    closedir(d);
    return n;
}

/* Reads a .npy file of format 1.0 as the library writes it: the header text into `header`,
 * the data (at most `cap` bytes) into `data`; returns the data's length, or -1. */
static long read_npy(const char *name, char *header, size_t header_cap, void *data, size_t cap)
{
    char p[256];
    path(p, name);
    FILE *f = fopen(p, "rb");
    if (f == NULL) return -1;
    unsigned char prefix[10];
    long got = -1;
    if (fread(prefix, 1, 10, f) == 10 && memcmp(prefix, "\x93NUMPY\x01\x00", 8) == 0) {
        size_t len = (size_t)prefix[8] | (size_t)prefix[9] << 8;
        if (len < header_cap && fread(header, 1, len, f) == len && (10 + len) % 64 == 0) {
            header[len] = '\0';
            got = (long)fread(data, 1, cap, f);
        }
    }
    fclose(f);
    return got;
}

static mb_model *new_model(mb_loss loss, int64_t outputs)
{
    int64_t sizes[] = {N, 16, 9, outputs};
    mb_model_options o;
    mb_model_options_init(&o);
    o.hidden_activation = MB_ACTIVATION_TANH;
    o.loss = loss;
    o.seed = 5;
    mb_model *model = NULL;
    CHECK_STATUS(mb_model_create(sizes, 4, &o, &model), MB_OK);
    return model;
}

/* Budgets that make chunks of 256 rows, 512 rows and all rows (the activations of 256 rows
 * are 4 x (16 + 9 + outputs) x 256 bytes). */
static size_t budget_for(int64_t rows, int64_t outputs)
{
    return (size_t)(4 * (16 + 9 + outputs) * 256 + rows * (4 * N + 4 * outputs) + 64);
}

static void test_predict_npy_equals_memory(void)
{
    static float expected[M * OUT], got[M * OUT];
    static int32_t classes[M], got_classes[M];
    char x_path[256], out_path[256], header[256];
    path(x_path, "x.npy");
    path(out_path, "p.npy");
    mb_model *model = new_model(MB_LOSS_CROSS_ENTROPY, OUT);
    CHECK_STATUS(mb_predict(model, g_x, M, N, expected), MB_OK);
    CHECK_STATUS(mb_predict_classes(model, g_x, M, N, classes), MB_OK);
    const size_t budgets[] = {budget_for(256, OUT), budget_for(512, OUT), 0, SIZE_MAX};
    for (size_t b = 0; b < sizeof budgets / sizeof *budgets; b++) {
        memset(got, 0, sizeof got);
        CHECK_STATUS(mb_predict_npy(model, x_path, out_path, 0, budgets[b]), MB_OK);
        CHECK(read_npy("p.npy", header, sizeof header, got, sizeof got + 1) == (long)sizeof got);
        CHECK(strstr(header, "{'descr': '<f4', 'fortran_order': False, 'shape': (1000, 3), }") == header);
        CHECK(memcmp(got, expected, sizeof got) == 0);
        CHECK_STATUS(mb_predict_npy(model, x_path, out_path, 1, budgets[b]), MB_OK);
        CHECK(read_npy("p.npy", header, sizeof header, got_classes, sizeof got_classes + 1) == (long)sizeof got_classes);
        CHECK(strstr(header, "{'descr': '<i4', 'fortran_order': False, 'shape': (1000,), }") == header);
        CHECK(memcmp(got_classes, classes, sizeof classes) == 0);
    }
    mb_model_free(model);
}

static void test_predict_dataset_equals_memory(void)
{
    static float expected[M], got[M + 1];
    static int32_t classes[M], got_classes[M];
    char x_path[256], y_path[256];
    path(x_path, "x.npy");
    path(y_path, "labels.npy");
    /* Logistic regression's one output: values, and classes (output >= 0.5). */
    mb_model *model = new_model(MB_LOSS_BINARY_CROSS_ENTROPY, 1);
    CHECK_STATUS(mb_predict(model, g_x, M, N, expected), MB_OK);
    CHECK_STATUS(mb_predict_classes(model, g_x, M, N, classes), MB_OK);
    const size_t budgets[] = {budget_for(256, 1), 0};
    for (size_t b = 0; b < 2; b++) {
        mb_dataset_options o;
        mb_dataset_options_init(&o);
        o.shuffle = MB_FILE_SHUFFLE_BLOCK;
        o.block_bytes = 1024;
        o.memory_budget = budgets[b] == 0 ? 0 : budgets[b] + 64 * 1024; /* the reader's pools too */
        mb_dataset *data = NULL;
        CHECK_STATUS(mb_dataset_open_npy(x_path, y_path, &o, &data), MB_OK);
        got[M] = 42.0f;
        CHECK_STATUS(mb_predict_dataset(model, data, got, M + 1), MB_OK);
        CHECK(memcmp(got, expected, sizeof expected) == 0);
        CHECK(got[M] == 42.0f); /* only m * n_outputs values are written */
        CHECK_STATUS(mb_predict_classes_dataset(model, data, got_classes, M), MB_OK);
        CHECK(memcmp(got_classes, classes, sizeof classes) == 0);
        CHECK_ERR_ARG(mb_predict_dataset(model, data, got, M - 1), MB_ERR_INVALID_ARGUMENT, "capacity");
        CHECK_ERR_ARG(mb_predict_classes_dataset(model, data, got_classes, -1), MB_ERR_INVALID_ARGUMENT, "capacity");
        CHECK_ERR_ARG(mb_predict_dataset(NULL, data, got, M), MB_ERR_INVALID_ARGUMENT, "model");
        CHECK_ERR_ARG(mb_predict_dataset(model, NULL, got, M), MB_ERR_INVALID_ARGUMENT, "dataset");
        CHECK_ERR_ARG(mb_predict_classes_dataset(model, data, NULL, M), MB_ERR_INVALID_ARGUMENT, "out");
        mb_dataset_free(data);
    }
    /* A model of another width, and one without classes. */
    mb_model *wide = NULL, *regression = new_model(MB_LOSS_MSE, 2);
    int64_t sizes[] = {N + 1, 2};
    mb_model_create(sizes, 2, NULL, &wide);
    mb_dataset *data = NULL;
    CHECK_STATUS(mb_dataset_open_npy(x_path, y_path, NULL, &data), MB_OK);
    CHECK_ERR(mb_predict_dataset(wide, data, got, M * 2), MB_ERR_INVALID_ARGUMENT);
    CHECK_ERR(mb_predict_classes_dataset(regression, data, got_classes, M), MB_ERR_INVALID_ARGUMENT);
    mb_dataset_free(data);
    mb_model_free(wide);
    mb_model_free(regression);
    mb_model_free(model);
}

static void test_predict_npy_errors(void)
{
    char x_path[256], out_path[256], same[256], missing[256], nodir[256];
    path(x_path, "x.npy");
    path(out_path, "p.npy");
    snprintf(same, sizeof same, "%s/../%s/x.npy", g_dir, strrchr(g_dir, '/') + 1);
    path(missing, "missing.npy");
    path(nodir, "no/such/p.npy");
    remove(out_path);
    mb_model *model = new_model(MB_LOSS_CROSS_ENTROPY, OUT), *regression = new_model(MB_LOSS_MSE, OUT);
    int before = entries();
    CHECK_ERR_ARG(mb_predict_npy(NULL, x_path, out_path, 0, 0), MB_ERR_INVALID_ARGUMENT, "model");
    CHECK_ERR_ARG(mb_predict_npy(model, NULL, out_path, 0, 0), MB_ERR_INVALID_ARGUMENT, "x_path");
    CHECK_ERR_ARG(mb_predict_npy(model, x_path, NULL, 0, 0), MB_ERR_INVALID_ARGUMENT, "out_path");
    CHECK_ERR_ARG(mb_predict_npy(model, "", out_path, 0, 0), MB_ERR_INVALID_ARGUMENT, "x_path");
    CHECK_ERR_ARG(mb_predict_npy(model, x_path, x_path, 0, 0), MB_ERR_INVALID_ARGUMENT, "out_path");
    CHECK_ERR_ARG(mb_predict_npy(model, x_path, same, 0, 0), MB_ERR_INVALID_ARGUMENT, "out_path");
    CHECK_ERR(mb_predict_npy(regression, x_path, out_path, 1, 0), MB_ERR_INVALID_ARGUMENT);
    CHECK_ERR_ARG(mb_predict_npy(model, x_path, out_path, 0, 1000), MB_ERR_INVALID_ARGUMENT, "memory_budget");
    CHECK_ERR(mb_predict_npy(model, missing, out_path, 0, 0), MB_ERR_IO);
    CHECK_ERR(mb_predict_npy(model, x_path, nodir, 0, 0), MB_ERR_IO);
    CHECK_ERR(mb_predict_npy(model, x_path, g_dir, 0, 0), MB_ERR_IO);
    CHECK_ERR(mb_predict_npy(model, g_dir, out_path, 0, 0), MB_ERR_IO);
    /* A NaN in the second chunk of 256 rows: after the first was written. */
    static float bad[M * N];
    memcpy(bad, g_x, sizeof bad);
    bad[300 * N + 4] = NAN;
    char bad_path[256];
    path(bad_path, "bad.npy");
    npy_write(bad_path, "<f4", "(1000, 5)", bad, sizeof bad, 0);
    before = entries();
    CHECK_ERR(mb_predict_npy(model, bad_path, out_path, 0, budget_for(256, OUT)), MB_ERR_INVALID_ARGUMENT);
    CHECK(strstr(mb_last_error(), "row 300, column 4") != NULL);
    /* The labels are int64: not X. */
    char labels[256];
    path(labels, "labels.npy");
    CHECK_ERR(mb_predict_npy(model, labels, out_path, 0, 0), MB_ERR_INVALID_ARGUMENT);
    CHECK(entries() == before);
    remove(bad_path);
    mb_model_free(model);
    mb_model_free(regression);
}

/* mb_shuffle_npy's order, as the header states it: K from its definition, then the bucket
 * draws (a linear search for the bucket) and a Fisher-Yates per bucket, all from one
 * stream (seed, 0). */
static int64_t ref_buckets(int64_t m, int64_t row_bytes, int64_t budget)
{
    for (int64_t k = 1; k <= m && 16 * k <= budget; k++)
        if ((m + k - 1) / k * row_bytes + 16 * k <= budget) return k;
    return -1;
}

static void ref_shuffle_order(int64_t m, uint64_t seed, int64_t k, int64_t *order)
{
    if (k == 1) {
        ref_permutation(m, seed, 0, order);
        return;
    }
    int64_t *left = malloc((size_t)k * sizeof *left), *start = malloc((size_t)k * sizeof *start);
    ref_rng r;
    ref_stream(&r, seed, 0);
    for (int64_t b = 0; b < k; b++) {
        start[b] = b * m / k;
        left[b] = (b + 1) * m / k - b * m / k;
    }
    int64_t *fill = calloc((size_t)k, sizeof *fill);
    for (int64_t i = 0; i < m; i++) {
        int64_t j = (int64_t)ref_below(&r, (uint64_t)(m - i)), b = 0;
        while (j >= left[b]) j -= left[b++];
        left[b]--;
        order[start[b] + fill[b]++] = i;
    }
    for (int64_t b = 0; b < k; b++) {
        int64_t *rows = order + start[b];
        for (int64_t i = fill[b] - 1; i > 0; i--) {
            int64_t j = (int64_t)ref_below(&r, (uint64_t)(i + 1)), t = rows[i];
            rows[i] = rows[j];
            rows[j] = t;
        }
    }
    free(left);
    free(start);
    free(fill);
}

static void test_shuffle_npy_follows_the_contract(void)
{
    static float xs[M * N];
    static int64_t ys[M], order[M];
    char x_path[256], y_path[256], xo[256], yo[256], header[256];
    path(x_path, "x.npy");
    path(y_path, "labels.npy");
    path(xo, "xs.npy");
    path(yo, "ys.npy");
    const int64_t row_bytes = 4 * N + 8;
    /* K = 1 (in memory), 2, 8 (buffered), and 23 buckets of rows written one at a time. */
    const size_t budgets[] = {0, SIZE_MAX, 20000, 4000, 1600};
    for (size_t b = 0; b < sizeof budgets / sizeof *budgets; b++) {
        int64_t budget = budgets[b] == 0 ? 4 << 20 : budgets[b] == SIZE_MAX ? INT64_MAX / 2 : (int64_t)budgets[b];
        int64_t k = ref_buckets(M, row_bytes, budget);
        CHECK_STATUS(mb_shuffle_npy(x_path, y_path, xo, yo, 17, budgets[b], NULL), MB_OK);
        CHECK(read_npy("xs.npy", header, sizeof header, xs, sizeof xs + 1) == (long)sizeof xs);
        CHECK(strstr(header, "{'descr': '<f4', 'fortran_order': False, 'shape': (1000, 5), }") == header);
        CHECK(read_npy("ys.npy", header, sizeof header, ys, sizeof ys + 1) == (long)sizeof ys);
        CHECK(strstr(header, "{'descr': '<i8', 'fortran_order': False, 'shape': (1000,), }") == header);
        ref_shuffle_order(M, 17, k, order);
        int same = 1;
        for (int64_t i = 0; i < M; i++)
            same &= ys[i] == g_labels[order[i]] && memcmp(xs + i * N, g_x + order[i] * N, 4 * N) == 0;
        CHECK(same);
        if (k == 1) {
            int64_t perm[M];
            CHECK_STATUS(mb_permutation(M, 17, 0, perm), MB_OK);
            CHECK(memcmp(perm, order, sizeof perm) == 0);
        }
    }
    CHECK(ref_buckets(M, row_bytes, 20000) == 2 && ref_buckets(M, row_bytes, 4000) == 8 &&
          ref_buckets(M, row_bytes, 1600) == 23);
    /* X alone, and the same seed twice. */
    static float again[M * N];
    CHECK_STATUS(mb_shuffle_npy(x_path, NULL, xo, NULL, 17, 4000, NULL), MB_OK);
    CHECK(read_npy("xs.npy", header, sizeof header, xs, sizeof xs) == (long)sizeof xs);
    CHECK_STATUS(mb_shuffle_npy(x_path, NULL, xo, NULL, 17, 4000, g_dir), MB_OK);
    CHECK(read_npy("xs.npy", header, sizeof header, again, sizeof again) == (long)sizeof again);
    CHECK(memcmp(xs, again, sizeof xs) == 0);
    ref_shuffle_order(M, 17, ref_buckets(M, 4 * N, 4000), order);
    int same = 1;
    for (int64_t i = 0; i < M; i++) same &= memcmp(xs + i * N, g_x + order[i] * N, 4 * N) == 0;
    CHECK(same);
    remove(xo);
    remove(yo);
}

static void test_shuffle_npy_errors(void)
{
    char x[256], y[256], xo[256], yo[256], y99[256], missing[256], nodir[256], dot[256];
    path(x, "x.npy");
    path(y, "labels.npy");
    path(xo, "xs.npy");
    path(yo, "ys.npy");
    path(y99, "y99.npy");
    path(missing, "missing.npy");
    path(nodir, "no/such/xs.npy");
    snprintf(dot, sizeof dot, "%s/./xs.npy", g_dir);
    npy_write(y99, "<f4", "(999,)", g_x, 999 * 4, 0);
    int before = entries();
    CHECK_ERR_ARG(mb_shuffle_npy(NULL, y, xo, yo, 1, 0, NULL), MB_ERR_INVALID_ARGUMENT, "x_in");
    CHECK_ERR_ARG(mb_shuffle_npy(x, y, NULL, yo, 1, 0, NULL), MB_ERR_INVALID_ARGUMENT, "x_out");
    CHECK_ERR_ARG(mb_shuffle_npy(x, y, xo, NULL, 1, 0, NULL), MB_ERR_INVALID_ARGUMENT, "y_out");
    CHECK_ERR_ARG(mb_shuffle_npy(x, NULL, xo, yo, 1, 0, NULL), MB_ERR_INVALID_ARGUMENT, "y_in");
    CHECK_ERR_ARG(mb_shuffle_npy("", y, xo, yo, 1, 0, NULL), MB_ERR_INVALID_ARGUMENT, "x_in");
    CHECK_ERR_ARG(mb_shuffle_npy(x, y, xo, yo, 1, 0, ""), MB_ERR_INVALID_ARGUMENT, "temp_dir");
    CHECK_ERR_ARG(mb_shuffle_npy(x, y, x, yo, 1, 0, NULL), MB_ERR_INVALID_ARGUMENT, "x_out");
    CHECK_ERR_ARG(mb_shuffle_npy(x, y, xo, y, 1, 0, NULL), MB_ERR_INVALID_ARGUMENT, "y_out");
    CHECK_ERR_ARG(mb_shuffle_npy(x, y, xo, dot, 1, 0, NULL), MB_ERR_INVALID_ARGUMENT, "y_out");
    CHECK_ERR(mb_shuffle_npy(x, y99, xo, yo, 1, 0, NULL), MB_ERR_INVALID_ARGUMENT);
    CHECK_ERR_ARG(mb_shuffle_npy(x, y, xo, yo, 1, 1000, NULL), MB_ERR_INVALID_ARGUMENT, "memory_budget");
    CHECK_ERR(mb_shuffle_npy(missing, y, xo, yo, 1, 0, NULL), MB_ERR_IO);
    CHECK_ERR(mb_shuffle_npy(g_dir, NULL, xo, NULL, 1, 0, NULL), MB_ERR_IO);
    CHECK_ERR(mb_shuffle_npy(x, y, nodir, yo, 1, 0, NULL), MB_ERR_IO);
    CHECK_ERR(mb_shuffle_npy(x, y, g_dir, yo, 1, 0, NULL), MB_ERR_IO);
    CHECK_ERR_ARG(mb_shuffle_npy(x, y, xo, yo, 1, 4000, missing), MB_ERR_IO, "temp_dir");
    CHECK_ERR_ARG(mb_shuffle_npy(x, y, xo, yo, 1, 4000, x), MB_ERR_IO, "temp_dir");
    CHECK(entries() == before);
    remove(y99);
}

int main(void)
{
    strcpy(g_dir, "/tmp/mb-outofcore-XXXXXX");
    if (mkdtemp(g_dir) == NULL) return 1;
    tdata_fill(g_x, M * N, 99, -2.0, 2.0);
    for (int64_t i = 0; i < M; i++) g_labels[i] = i; /* each row's own index */
    char p[256];
    path(p, "x.npy");
    npy_write(p, "<f4", "(1000, 5)", g_x, sizeof g_x, 0);
    path(p, "labels.npy");
    npy_write(p, "<i8", "(1000,)", g_labels, sizeof g_labels, 0);
    RUN_TEST(test_predict_npy_equals_memory);
    RUN_TEST(test_predict_dataset_equals_memory);
    RUN_TEST(test_predict_npy_errors);
    RUN_TEST(test_shuffle_npy_follows_the_contract);
    RUN_TEST(test_shuffle_npy_errors);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    if (system(cmd) != 0) printf("could not remove %s\n", g_dir);
    return check_summary();
}
