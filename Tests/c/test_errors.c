/*
 * test_errors.c - every documented error path: NULL pointers, zero/negative sizes,
 * mismatched shapes, NaN/Inf data, out-of-range class indices and targets, bad options,
 * unknown enum values, count mismatches. Each must return the documented status, set a
 * non-empty mb_last_error() naming the argument, and change nothing (the model's
 * parameters and epoch count, the history, the output buffers). Also mb_last_error()'s
 * own contract (initially "", kept by successful calls, per thread) and *_free(NULL).
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ref.h"

#define INV MB_ERR_INVALID_ARGUMENT

/* ---- the fixture: a trained 3-4-3 softmax model and a history with content ----------- */

enum { FM = 8, FIN = 3, FOUT = 3 };
static mb_model *fx_model;
static mb_history *fx_hist;
static float fx_x[FM * FIN];
static float fx_y[FM * FOUT];
static int32_t fx_yc[FM];
static float *fx_params;
static int64_t fx_np, fx_epochs, fx_hist_batches, fx_hist_epochs;
static int fx_callback_calls;

static int count_callback(const mb_progress *p, void *user_data)
{
    (void)p;
    (void)user_data;
    fx_callback_calls++;
    return 0;
}

static int64_t hist_count(const mb_history *h, int epochs)
{
    int64_t c = -1;
    if ((epochs ? mb_history_epoch_costs(h, NULL, 0, &c) : mb_history_batch_costs(h, NULL, 0, &c)) !=
        MB_OK)
        return -1;
    return c;
}

static int fixture_setup(void)
{
    int64_t sizes[] = {FIN, 4, FOUT};
    mb_train_options o;
    fx_model = make_model(sizes, 3, MB_ACTIVATION_TANH, MB_LOSS_CROSS_ENTROPY, 3);
    if (!fx_model || mb_history_create(&fx_hist) != MB_OK)
        return 0;
    tdata_fill(fx_x, FM * FIN, 1, -1, 1);
    tdata_soft(fx_y, FM, FOUT, 2);
    tdata_classes(fx_yc, FM, FOUT, 3);
    mb_train_options_init(&o);
    o.epochs = 2;
    o.batch_size = 3;
    if (mb_train(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &o, fx_hist) != MB_OK)
        return 0;
    fx_params = model_params(fx_model, &fx_np);
    fx_epochs = model_epochs(fx_model);
    fx_hist_batches = hist_count(fx_hist, 0);
    fx_hist_epochs = hist_count(fx_hist, 1);
    return fx_params != NULL && fx_epochs == 2 && fx_hist_batches == 6 && fx_hist_epochs == 2;
}

static int fx_unchanged(void)
{
    return model_same(fx_model, fx_params, fx_np, fx_epochs) &&
           hist_count(fx_hist, 0) == fx_hist_batches && hist_count(fx_hist, 1) == fx_hist_epochs &&
           fx_callback_calls == 0;
}

/* The call fails with `status`, a message naming `arg` (NULL: any non-empty message), and
   the fixture is unchanged. */
#define EXPECT_FAIL(expr, status, arg)                                 \
    do {                                                               \
        check_status_((expr), (status), 1, (arg), __FILE__, __LINE__, #expr); \
        check_record_(fx_unchanged(), __FILE__, __LINE__, "fixture unchanged after: " #expr); \
    } while (0)
#define EXPECT_INVALID(expr, arg) EXPECT_FAIL(expr, INV, arg)

/* ---- mb_last_error -------------------------------------------------------------------- */

static void *fresh_thread_error(void *arg)
{
    const char *e = mb_last_error();
    int *empty = (int *)arg;
    *empty = e != NULL && e[0] == '\0';
    /* a failure in this thread must not show in the other */
    (void)mb_random(0, 0, NULL, 1);
    return NULL;
}

static void test_last_error_initially_empty(void)
{
    /* runs first: no call has failed on this thread yet */
    CHECK(mb_last_error() != NULL);
    CHECK(strcmp(mb_last_error(), "") == 0);
}

static void test_last_error_kept_by_success_and_per_thread(void)
{
    char saved[512];
    uint64_t r[2];
    pthread_t t;
    int empty = 0;
    CHECK_ERR(mb_random(0, 0, NULL, 2), INV);
    strncpy(saved, mb_last_error(), sizeof saved - 1);
    saved[sizeof saved - 1] = '\0';
    CHECK(saved[0] != '\0');
    CHECK_STATUS(mb_random(0, 0, r, 2), MB_OK);
    CHECK(strcmp(mb_last_error(), saved) == 0);
    CHECK(strcmp(mb_version(), MB_VERSION_STRING) == 0);
    CHECK(strcmp(mb_last_error(), saved) == 0);
    if (CHECK(pthread_create(&t, NULL, fresh_thread_error, &empty) == 0)) {
        pthread_join(t, NULL);
        CHECK(empty);
        CHECK(strcmp(mb_last_error(), saved) == 0);
    }
    /* a new failure replaces the message */
    CHECK_ERR(mb_permutation(0, 0, 0, NULL), INV);
    CHECK(mb_last_error()[0] != '\0');
}

/* ---- functions without a model -------------------------------------------------------- */

static void test_random_errors(void)
{
    uint64_t out[4] = {1, 2, 3, 4};
    EXPECT_INVALID(mb_random(1, 2, NULL, 4), "out");
    EXPECT_INVALID(mb_random(1, 2, out, 0), "count");
    EXPECT_INVALID(mb_random(1, 2, out, -1), "count");
    EXPECT_INVALID(mb_random(1, 2, out, INT64_MIN), "count");
    CHECK(out[0] == 1 && out[1] == 2 && out[2] == 3 && out[3] == 4);
}

static void test_permutation_errors(void)
{
    int64_t perm[3] = {7, 7, 7};
    EXPECT_INVALID(mb_permutation(3, 0, 0, NULL), "perm");
    EXPECT_INVALID(mb_permutation(0, 0, 0, perm), "m");
    EXPECT_INVALID(mb_permutation(-3, 0, 0, perm), "m");
    CHECK(perm[0] == 7 && perm[1] == 7 && perm[2] == 7);
}

static void test_shuffle_errors(void)
{
    float x[6] = {0, 1, 2, 3, 4, 5}, x0[6];
    int32_t y[3] = {0, 1, 2};
    memcpy(x0, x, sizeof x);
    EXPECT_INVALID(mb_shuffle(NULL, 8, y, 4, 3, 1, 1), "x");
    EXPECT_INVALID(mb_shuffle(x, 0, y, 4, 3, 1, 1), "x_row_bytes");
    EXPECT_INVALID(mb_shuffle(x, SIZE_MAX, y, 4, 3, 1, 1), "18446744073709551615 as a size_t");
    EXPECT_INVALID(mb_shuffle(x, 8, NULL, 4, 3, 1, 1), "y");
    EXPECT_INVALID(mb_shuffle(x, 8, y, 0, 3, 1, 1), "y_row_bytes");
    EXPECT_INVALID(mb_shuffle(x, 8, y, 4, 0, 1, 1), "m");
    EXPECT_INVALID(mb_shuffle(x, 8, y, 4, -1, 1, 1), "m");
    EXPECT_INVALID(mb_shuffle(x, 8, NULL, 0, 0, 1, 1), "m");
    CHECK(memcmp(x, x0, sizeof x) == 0 && y[0] == 0 && y[1] == 1 && y[2] == 2);
}

static void test_shuffle_into_errors(void)
{
    float x[6] = {0, 1, 2, 3, 4, 5}, xo[6], xo0[6];
    int32_t y[3] = {0, 1, 2}, yo[3] = {9, 9, 9};
    memset(xo, 0xAB, sizeof xo);
    memcpy(xo0, xo, sizeof xo);
    EXPECT_INVALID(mb_shuffle_into(NULL, 8, y, 4, 3, 1, 1, xo, yo), "x");
    EXPECT_INVALID(mb_shuffle_into(x, 8, y, 4, 3, 1, 1, NULL, yo), "x_out");
    EXPECT_INVALID(mb_shuffle_into(x, 8, y, 4, 3, 1, 1, xo, NULL), "y_out");
    EXPECT_INVALID(mb_shuffle_into(x, 8, NULL, 0, 3, 1, 1, xo, yo), "y");
    EXPECT_INVALID(mb_shuffle_into(x, 0, y, 4, 3, 1, 1, xo, yo), "x_row_bytes");
    EXPECT_INVALID(mb_shuffle_into(x, 8, y, 0, 3, 1, 1, xo, yo), "y_row_bytes");
    EXPECT_INVALID(mb_shuffle_into(x, 8, y, 4, 0, 1, 1, xo, yo), "m");
    EXPECT_INVALID(mb_shuffle_into(x, 8, y, 4, -2, 1, 1, xo, yo), "m");
    CHECK(memcmp(xo, xo0, sizeof xo) == 0 && yo[0] == 9 && yo[1] == 9 && yo[2] == 9);
}

static void test_partition_errors(void)
{
    int64_t st[4] = {-9, -9, -9, -9}, ct[4] = {-9, -9, -9, -9}, nb = -9;
    EXPECT_INVALID(mb_partition(0, 1, MB_LAST_BATCH_KEEP, NULL, NULL, 0, &nb), "m");
    EXPECT_INVALID(mb_partition(-1, 1, MB_LAST_BATCH_KEEP, NULL, NULL, 0, &nb), "m");
    EXPECT_INVALID(mb_partition(10, 0, MB_LAST_BATCH_KEEP, NULL, NULL, 0, &nb), "batch_size");
    EXPECT_INVALID(mb_partition(10, MB_BATCH_AUTO, MB_LAST_BATCH_KEEP, NULL, NULL, 0, &nb),
                   "batch_size");
    EXPECT_INVALID(mb_partition(10, -5, MB_LAST_BATCH_KEEP, NULL, NULL, 0, &nb), "batch_size");
    EXPECT_INVALID(mb_partition(10, 11, MB_LAST_BATCH_KEEP, NULL, NULL, 0, &nb), "batch_size");
    EXPECT_INVALID(mb_partition(10, 3, (mb_last_batch)99, NULL, NULL, 0, &nb), "last_batch");
    EXPECT_INVALID(mb_partition(10, 3, (mb_last_batch)-1, NULL, NULL, 0, &nb), "last_batch");
    EXPECT_INVALID(mb_partition(10, 3, MB_LAST_BATCH_KEEP, NULL, NULL, 0, NULL), "n_batches");
    EXPECT_INVALID(mb_partition(10, 3, MB_LAST_BATCH_KEEP, st, NULL, 4, &nb), "counts");
    EXPECT_INVALID(mb_partition(10, 3, MB_LAST_BATCH_KEEP, NULL, ct, 4, &nb), "starts");
    EXPECT_INVALID(mb_partition(10, 3, MB_LAST_BATCH_KEEP, st, ct, 3, &nb), "capacity");
    EXPECT_INVALID(mb_partition(10, 3, MB_LAST_BATCH_KEEP, st, ct, 0, &nb), "capacity");
    EXPECT_INVALID(mb_partition(10, 3, MB_LAST_BATCH_KEEP, st, ct, -4, &nb), "capacity");
    EXPECT_INVALID(mb_partition(10, 3, MB_LAST_BATCH_DROP, st, ct, 2, &nb), "capacity");
    CHECK(nb == -9);
    CHECK(st[0] == -9 && st[3] == -9 && ct[0] == -9 && ct[3] == -9);
}

static void test_make_moons_errors(void)
{
    float x[8];
    int32_t y[4] = {5, 5, 5, 5};
    float x0[8];
    memset(x, 0, sizeof x);
    memcpy(x0, x, sizeof x);
    EXPECT_INVALID(mb_make_moons(4, 0.1f, 0, NULL, y), "x");
    EXPECT_INVALID(mb_make_moons(4, 0.1f, 0, x, NULL), "y");
    EXPECT_INVALID(mb_make_moons(1, 0.1f, 0, x, y), "m");
    EXPECT_INVALID(mb_make_moons(0, 0.1f, 0, x, y), "m");
    EXPECT_INVALID(mb_make_moons(-4, 0.1f, 0, x, y), "m");
    EXPECT_INVALID(mb_make_moons(4, -0.1f, 0, x, y), "noise");
    EXPECT_INVALID(mb_make_moons(4, NAN, 0, x, y), "noise");
    EXPECT_INVALID(mb_make_moons(4, INFINITY, 0, x, y), "noise");
    EXPECT_INVALID(mb_make_moons(4, -INFINITY, 0, x, y), "noise");
    /* (0.12.3) noise that can overflow a float coordinate: 3.4e38 gave Inf with MB_OK */
    EXPECT_INVALID(mb_make_moons(4, 3.4e38f, 0, x, y), "noise");
    EXPECT_INVALID(mb_make_moons(4, 1.01e37f, 0, x, y), "noise");
    CHECK(memcmp(x, x0, sizeof x) == 0 && y[0] == 5 && y[3] == 5);
    {
        /* the largest noise taken: every coordinate finite, for many seeds */
        static float big[2 * 4096];
        static int32_t labels[4096];
        int finite = 1;
        for (uint64_t seed = 0; seed < 16; seed++) {
            CHECK_STATUS(mb_make_moons(4096, 1e37f, seed, big, labels), MB_OK);
            for (int i = 0; i < 2 * 4096; i++) finite &= isfinite(big[i]) != 0;
        }
        CHECK(finite);
    }
}

/* ---- models ------------------------------------------------------------------------- */

static void expect_create_fails(const int64_t *sizes, int64_t n, const mb_model_options *o,
                                mb_status want, const char *arg, int line)
{
    mb_model *m = (mb_model *)&fx_params; /* a non-NULL sentinel, never dereferenced */
    mb_status s = mb_model_create(sizes, n, o, &m);
    check_status_(s, want, 1, arg, __FILE__, line, "mb_model_create");
    if (!check_record_(m == NULL, __FILE__, line, "*model == NULL after a failed create"))
        if (m != (mb_model *)&fx_params)
            mb_model_free(m);
}
#define EXPECT_CREATE_FAILS(sizes, n, o, want, arg) \
    expect_create_fails(sizes, n, o, want, arg, __LINE__)

static void test_model_create_errors(void)
{
    int64_t ok[] = {2, 3, 2};
    int64_t zero[] = {2, 0, 2}, neg[] = {2, -3, 2}, big[] = {2, INT64_C(2147483648), 2};
    int64_t first0[] = {0, 3, 2}, last0[] = {2, 3, 0}, huge[] = {2, INT64_MAX, 2};
    int64_t one_out[] = {2, 3, 1};
    mb_model_options o;
    mb_activation acts_bad[1] = {(mb_activation)99};
    mb_activation acts_neg[1] = {(mb_activation)-1};
    mb_model *m = NULL;
    EXPECT_INVALID(mb_model_create(NULL, 3, NULL, &m), "layer_sizes");
    EXPECT_INVALID(mb_model_create(ok, 3, NULL, NULL), "model");
    EXPECT_CREATE_FAILS(NULL, 3, NULL, INV, "layer_sizes");
    EXPECT_CREATE_FAILS(ok, 1, NULL, INV, "n_layers");
    EXPECT_CREATE_FAILS(ok, 0, NULL, INV, "n_layers");
    EXPECT_CREATE_FAILS(ok, -3, NULL, INV, "n_layers");
    EXPECT_CREATE_FAILS(zero, 3, NULL, INV, "layer_sizes");
    EXPECT_CREATE_FAILS(neg, 3, NULL, INV, "layer_sizes");
    EXPECT_CREATE_FAILS(big, 3, NULL, INV, "layer_sizes");
    EXPECT_CREATE_FAILS(huge, 3, NULL, INV, "layer_sizes");
    EXPECT_CREATE_FAILS(first0, 3, NULL, INV, "layer_sizes");
    EXPECT_CREATE_FAILS(last0, 3, NULL, INV, "layer_sizes");
    /* cross-entropy needs at least 2 outputs */
    EXPECT_CREATE_FAILS(one_out, 3, NULL, INV, NULL);
    mb_model_options_init(&o);
    o.loss = MB_LOSS_CROSS_ENTROPY;
    EXPECT_CREATE_FAILS(one_out, 3, &o, INV, NULL);
    /* unknown enum values */
    mb_model_options_init(&o);
    o.hidden_activation = (mb_activation)99;
    EXPECT_CREATE_FAILS(ok, 3, &o, INV, "hidden_activation");
    o.hidden_activation = (mb_activation)-1;
    EXPECT_CREATE_FAILS(ok, 3, &o, INV, "hidden_activation");
    /* also where no layer uses it: no hidden layer (the first two sizes of ok) */
    o.hidden_activation = (mb_activation)9; /* one past MB_ACTIVATION_SILU (0.5.0) */
    EXPECT_CREATE_FAILS(ok, 2, &o, INV, "hidden_activation");
    mb_model_options_init(&o);
    o.loss = (mb_loss)99;
    EXPECT_CREATE_FAILS(ok, 3, &o, INV, "loss");
    o.loss = (mb_loss)-1;
    EXPECT_CREATE_FAILS(ok, 3, &o, INV, "loss");
    mb_model_options_init(&o);
    o.init = (mb_init)99;
    EXPECT_CREATE_FAILS(ok, 3, &o, INV, "init");
    o.init = (mb_init)4; /* one past MB_INIT_LECUN (0.9.0) */
    EXPECT_CREATE_FAILS(ok, 3, &o, INV, "init");
    o.init = (mb_init)-1;
    EXPECT_CREATE_FAILS(ok, 3, &o, INV, "init");
    mb_model_options_init(&o);
    o.activations = acts_bad;
    EXPECT_CREATE_FAILS(ok, 3, &o, INV, "activations");
    o.activations = acts_neg;
    EXPECT_CREATE_FAILS(ok, 3, &o, INV, "activations");
    CHECK(fx_unchanged());
}

static void test_model_create_too_big(void)
{
    /* valid sizes whose parameters cannot be allocated: (2^31-1)^2 + (2^31-1) floats */
    int64_t s[] = {INT64_C(2147483647), INT64_C(2147483647)};
    mb_model *m = (mb_model *)&fx_params;
    mb_status st = mb_model_create(s, 2, NULL, &m);
    if (!CHECK_ERR(st, MB_ERR_OUT_OF_MEMORY))
        NOTE("a 2^31-1 x 2^31-1 model: %s", mb_status_name(st));
    CHECK(m == NULL);
    if (m != NULL && m != (mb_model *)&fx_params)
        mb_model_free(m);
    /* three such layers: more than 2^63 parameters; either status is acceptable */
    {
        int64_t s3[] = {INT64_C(2147483647), INT64_C(2147483647), INT64_C(2147483647)};
        m = (mb_model *)&fx_params;
        st = mb_model_create(s3, 3, NULL, &m);
        CHECK(st == MB_ERR_OUT_OF_MEMORY || st == INV);
        CHECK(mb_last_error()[0] != '\0');
        CHECK(m == NULL);
        if (m != NULL && m != (mb_model *)&fx_params)
            mb_model_free(m);
    }
}

static void test_model_getters_errors(void)
{
    mb_model_info info;
    mb_layer_info li;
    float out[64];
    float out0[64];
    memset(&info, 0x3C, sizeof info);
    memset(&li, 0x3C, sizeof li);
    memset(out, 0x3C, sizeof out);
    memcpy(out0, out, sizeof out);
    EXPECT_INVALID(mb_model_get_info(NULL, &info), "model");
    EXPECT_INVALID(mb_model_get_info(fx_model, NULL), "info");
    EXPECT_INVALID(mb_model_layer(NULL, 0, &li), "model");
    EXPECT_INVALID(mb_model_layer(fx_model, 0, NULL), "info");
    EXPECT_INVALID(mb_model_layer(fx_model, -1, &li), "layer");
    EXPECT_INVALID(mb_model_layer(fx_model, 2, &li), "layer"); /* n_layers - 1 */
    EXPECT_INVALID(mb_model_layer(fx_model, 100, &li), "layer");
    EXPECT_INVALID(mb_model_get_parameters(NULL, out, fx_np), "model");
    EXPECT_INVALID(mb_model_get_parameters(fx_model, NULL, fx_np), "out");
    EXPECT_INVALID(mb_model_get_parameters(fx_model, out, fx_np - 1), "count");
    EXPECT_INVALID(mb_model_get_parameters(fx_model, out, fx_np + 1), "count");
    EXPECT_INVALID(mb_model_get_parameters(fx_model, out, 0), "count");
    EXPECT_INVALID(mb_model_get_parameters(fx_model, out, -1), "count");
    {
        unsigned char pattern[sizeof info];
        memset(pattern, 0x3C, sizeof pattern);
        CHECK(memcmp(&info, pattern, sizeof info) == 0);
        CHECK(memcmp(&li, pattern, sizeof li) == 0);
    }
    CHECK(memcmp(out, out0, sizeof out) == 0);
}

static void test_set_parameters_errors(void)
{
    float *p = (float *)malloc(sizeof(float) * (size_t)(fx_np + 1));
    if (!CHECK(p != NULL))
        return;
    memcpy(p, fx_params, sizeof(float) * (size_t)fx_np);
    p[fx_np] = 0;
    EXPECT_INVALID(mb_model_set_parameters(NULL, p, fx_np), "model");
    EXPECT_INVALID(mb_model_set_parameters(fx_model, NULL, fx_np), "params");
    EXPECT_INVALID(mb_model_set_parameters(fx_model, p, fx_np - 1), "count");
    EXPECT_INVALID(mb_model_set_parameters(fx_model, p, fx_np + 1), "count");
    EXPECT_INVALID(mb_model_set_parameters(fx_model, p, 0), "count");
    EXPECT_INVALID(mb_model_set_parameters(fx_model, p, -1), "count");
    {
        int64_t pos[3];
        size_t i;
        float bad[3];
        pos[0] = 0;
        pos[1] = fx_np / 2;
        pos[2] = fx_np - 1;
        bad[0] = NAN;
        bad[1] = INFINITY;
        bad[2] = -INFINITY;
        for (i = 0; i < 9; i++) {
            memcpy(p, fx_params, sizeof(float) * (size_t)fx_np);
            p[pos[i % 3]] = bad[i / 3];
            EXPECT_INVALID(mb_model_set_parameters(fx_model, p, fx_np), "params");
        }
    }
    free(p);
}

/* ---- predict ------------------------------------------------------------------------ */

static void test_predict_errors(void)
{
    float out[FM * FOUT], out0[FM * FOUT], xb[FM * FIN];
    int32_t cls[FM], cls0[FM];
    memset(out, 0x3C, sizeof out);
    memcpy(out0, out, sizeof out);
    memset(cls, 0x3C, sizeof cls);
    memcpy(cls0, cls, sizeof cls);
    EXPECT_INVALID(mb_predict(NULL, fx_x, FM, FIN, out), "model");
    EXPECT_INVALID(mb_predict(fx_model, NULL, FM, FIN, out), "x");
    EXPECT_INVALID(mb_predict(fx_model, fx_x, FM, FIN, NULL), "out");
    EXPECT_INVALID(mb_predict(fx_model, fx_x, 0, FIN, out), "m");
    EXPECT_INVALID(mb_predict(fx_model, fx_x, -1, FIN, out), "m");
    EXPECT_INVALID(mb_predict(fx_model, fx_x, FM, FIN - 1, out), "n_features");
    EXPECT_INVALID(mb_predict(fx_model, fx_x, FM, FIN + 1, out), "n_features");
    EXPECT_INVALID(mb_predict(fx_model, fx_x, FM, 0, out), "n_features");
    EXPECT_INVALID(mb_predict(fx_model, fx_x, FM, -3, out), "n_features");
    memcpy(xb, fx_x, sizeof xb);
    xb[FM * FIN - 1] = NAN;
    EXPECT_INVALID(mb_predict(fx_model, xb, FM, FIN, out), "x");
    xb[FM * FIN - 1] = INFINITY;
    EXPECT_INVALID(mb_predict(fx_model, xb, FM, FIN, out), "x");
    xb[FM * FIN - 1] = fx_x[FM * FIN - 1];
    xb[0] = -INFINITY;
    EXPECT_INVALID(mb_predict(fx_model, xb, FM, FIN, out), "x");
    CHECK(memcmp(out, out0, sizeof out) == 0);

    EXPECT_INVALID(mb_predict_classes(NULL, fx_x, FM, FIN, cls), "model");
    EXPECT_INVALID(mb_predict_classes(fx_model, NULL, FM, FIN, cls), "x");
    EXPECT_INVALID(mb_predict_classes(fx_model, fx_x, FM, FIN, NULL), "out");
    EXPECT_INVALID(mb_predict_classes(fx_model, fx_x, 0, FIN, cls), "m");
    EXPECT_INVALID(mb_predict_classes(fx_model, fx_x, -1, FIN, cls), "m");
    EXPECT_INVALID(mb_predict_classes(fx_model, fx_x, FM, FIN + 1, cls), "n_features");
    EXPECT_INVALID(mb_predict_classes(fx_model, xb, FM, FIN, cls), "x");
    CHECK(memcmp(cls, cls0, sizeof cls) == 0);
    /* models without classes */
    {
        int64_t s_mse[] = {FIN, 2}, s_bce2[] = {FIN, 2};
        mb_model *mse = make_model(s_mse, 2, MB_ACTIVATION_RELU, MB_LOSS_MSE, 0);
        mb_model *bce2 = make_model(s_bce2, 2, MB_ACTIVATION_RELU, MB_LOSS_BINARY_CROSS_ENTROPY, 0);
        if (CHECK(mse && bce2)) {
            EXPECT_INVALID(mb_predict_classes(mse, fx_x, FM, FIN, cls), NULL);
            EXPECT_INVALID(mb_predict_classes(bce2, fx_x, FM, FIN, cls), NULL);
            CHECK(memcmp(cls, cls0, sizeof cls) == 0);
            mb_model_free(mse);
            mse = make_model(s_mse, 2, MB_ACTIVATION_RELU, MB_LOSS_POISSON, 0);
            if (CHECK(mse != NULL))
                EXPECT_INVALID(mb_predict_classes(mse, fx_x, FM, FIN, cls), "poisson");
            CHECK(memcmp(cls, cls0, sizeof cls) == 0);
        }
        mb_model_free(mse);
        mb_model_free(bce2);
    }
}

/* ---- evaluate and gradient: the shared data checks -------------------------------------- */

typedef enum { F_EVALUATE, F_GRADIENT, F_TRAIN } target_fn;

static mb_status call_fn(target_fn fn, mb_model *model, const float *x, const void *y,
                         mb_targets yt, int64_t m, int64_t nf, const mb_train_options *o)
{
    double cost = 0, acc = 0;
    float grad[256];
    int64_t np = model_n_params(model);
    switch (fn) {
    case F_EVALUATE: return mb_evaluate(model, x, y, yt, m, nf, &cost, &acc);
    case F_GRADIENT: return mb_gradient(model, x, y, yt, m, nf, &cost, grad, np);
    default: return mb_train(model, x, y, yt, m, nf, o, fx_hist);
    }
}

/* NaN / Inf / out-of-range data for evaluate, gradient and train against the fixture. */
static void check_data_errors(target_fn fn)
{
    static const char *names[] = {"mb_evaluate", "mb_gradient", "mb_train"};
    float xb[FM * FIN], yb[FM * FOUT];
    int32_t yc[FM];
    mb_train_options o;
    mb_train_options_init(&o);
    o.epochs = 1;
    o.batch_size = 4;
    o.progress = count_callback;
#define DATA_FAIL(expr, arg)                                                                 \
    do {                                                                                     \
        check_status_((expr), INV, 1, (arg), __FILE__, __LINE__, names[fn]);                 \
        check_record_(fx_unchanged(), __FILE__, __LINE__, "fixture unchanged");             \
    } while (0)
    DATA_FAIL(call_fn(fn, fx_model, fx_x, fx_y, MB_TARGETS_FLOAT32, 0, FIN, &o), "m");
    DATA_FAIL(call_fn(fn, fx_model, fx_x, fx_y, MB_TARGETS_FLOAT32, -2, FIN, &o), "m");
    DATA_FAIL(call_fn(fn, fx_model, fx_x, fx_y, MB_TARGETS_FLOAT32, FM, FIN - 1, &o), "n_features");
    DATA_FAIL(call_fn(fn, fx_model, fx_x, fx_y, MB_TARGETS_FLOAT32, FM, FIN + 1, &o), "n_features");
    DATA_FAIL(call_fn(fn, fx_model, fx_x, fx_y, MB_TARGETS_FLOAT32, FM, 0, &o), "n_features");
    DATA_FAIL(call_fn(fn, fx_model, fx_x, fx_y, (mb_targets)99, FM, FIN, &o), "y_type");
    DATA_FAIL(call_fn(fn, fx_model, fx_x, fx_y, (mb_targets)-1, FM, FIN, &o), "y_type");
    /* NaN / Inf in X: first and last element */
    memcpy(xb, fx_x, sizeof xb);
    xb[FM * FIN - 1] = NAN;
    DATA_FAIL(call_fn(fn, fx_model, xb, fx_y, MB_TARGETS_FLOAT32, FM, FIN, &o), "x");
    DATA_FAIL(call_fn(fn, fx_model, xb, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &o), "x");
    xb[FM * FIN - 1] = INFINITY;
    DATA_FAIL(call_fn(fn, fx_model, xb, fx_y, MB_TARGETS_FLOAT32, FM, FIN, &o), "x");
    memcpy(xb, fx_x, sizeof xb);
    xb[0] = -INFINITY;
    DATA_FAIL(call_fn(fn, fx_model, xb, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &o), "x");
    /* NaN / Inf in float targets */
    memcpy(yb, fx_y, sizeof yb);
    yb[FM * FOUT - 1] = NAN;
    DATA_FAIL(call_fn(fn, fx_model, fx_x, yb, MB_TARGETS_FLOAT32, FM, FIN, &o), "y");
    yb[FM * FOUT - 1] = INFINITY;
    DATA_FAIL(call_fn(fn, fx_model, fx_x, yb, MB_TARGETS_FLOAT32, FM, FIN, &o), "y");
    memcpy(yb, fx_y, sizeof yb);
    yb[0] = -INFINITY;
    DATA_FAIL(call_fn(fn, fx_model, fx_x, yb, MB_TARGETS_FLOAT32, FM, FIN, &o), "y");
    /* softmax targets: non-negative weights summing to 1 */
    memcpy(yb, fx_y, sizeof yb);
    yb[FM * FOUT - 3] = -0.5f;
    yb[FM * FOUT - 2] += 0.5f;
    DATA_FAIL(call_fn(fn, fx_model, fx_x, yb, MB_TARGETS_FLOAT32, FM, FIN, &o), "y");
    memcpy(yb, fx_y, sizeof yb);
    yb[0] += 1.0f; /* row sums to 2 */
    DATA_FAIL(call_fn(fn, fx_model, fx_x, yb, MB_TARGETS_FLOAT32, FM, FIN, &o), "y");
    /* class indices out of range: -1, n_outputs, big */
    memcpy(yc, fx_yc, sizeof yc);
    yc[FM - 1] = -1;
    DATA_FAIL(call_fn(fn, fx_model, fx_x, yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &o), "y");
    yc[FM - 1] = FOUT;
    DATA_FAIL(call_fn(fn, fx_model, fx_x, yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &o), "y");
    yc[FM - 1] = INT32_MAX;
    DATA_FAIL(call_fn(fn, fx_model, fx_x, yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &o), "y");
    memcpy(yc, fx_yc, sizeof yc);
    yc[0] = INT32_MIN;
    DATA_FAIL(call_fn(fn, fx_model, fx_x, yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &o), "y");
    /* class indices for models they do not fit, and binary targets out of [0, 1] */
    {
        int64_t s_mse[] = {FIN, 2}, s_bce1[] = {FIN, 1}, s_bce2[] = {FIN, 2};
        mb_model *mse = make_model(s_mse, 2, MB_ACTIVATION_RELU, MB_LOSS_MSE, 0);
        mb_model *bce1 = make_model(s_bce1, 2, MB_ACTIVATION_RELU, MB_LOSS_BINARY_CROSS_ENTROPY, 0);
        mb_model *bce2 = make_model(s_bce2, 2, MB_ACTIVATION_RELU, MB_LOSS_BINARY_CROSS_ENTROPY, 0);
        int32_t bits[FM] = {0, 1, 1, 0, 1, 0, 0, 1};
        float y01[FM * 2];
        float *pm = NULL, *p1 = NULL, *p2 = NULL;
        int64_t i;
        if (CHECK(mse && bce1 && bce2)) {
            pm = model_params(mse, NULL);
            p1 = model_params(bce1, NULL);
            p2 = model_params(bce2, NULL);
            DATA_FAIL(call_fn(fn, mse, fx_x, bits, MB_TARGETS_CLASS_INDEX, FM, FIN, &o), "y_type");
            DATA_FAIL(call_fn(fn, bce2, fx_x, bits, MB_TARGETS_CLASS_INDEX, FM, FIN, &o), "y_type");
            bits[3] = 2;
            DATA_FAIL(call_fn(fn, bce1, fx_x, bits, MB_TARGETS_CLASS_INDEX, FM, FIN, &o), "y");
            bits[3] = -1;
            DATA_FAIL(call_fn(fn, bce1, fx_x, bits, MB_TARGETS_CLASS_INDEX, FM, FIN, &o), "y");
            for (i = 0; i < FM * 2; i++)
                y01[i] = (float)(i % 2);
            y01[5] = 1.5f;
            DATA_FAIL(call_fn(fn, bce2, fx_x, y01, MB_TARGETS_FLOAT32, FM, FIN, &o), "y");
            y01[5] = -0.25f;
            DATA_FAIL(call_fn(fn, bce2, fx_x, y01, MB_TARGETS_FLOAT32, FM, FIN, &o), "y");
            y01[5] = NAN;
            DATA_FAIL(call_fn(fn, bce1, fx_x, y01, MB_TARGETS_FLOAT32, FM, FIN, &o), "y");
            y01[5] = 1.0f;
            y01[0] = INFINITY;
            DATA_FAIL(call_fn(fn, mse, fx_x, y01, MB_TARGETS_FLOAT32, FM, FIN, &o), "y");
            y01[0] = NAN;
            DATA_FAIL(call_fn(fn, mse, fx_x, y01, MB_TARGETS_FLOAT32, FM, FIN, &o), "y");
            CHECK(pm && p1 && p2);
            if (pm && p1 && p2) {
                CHECK(model_same(mse, pm, model_n_params(mse), 0));
                CHECK(model_same(bce1, p1, model_n_params(bce1), 0));
                CHECK(model_same(bce2, p2, model_n_params(bce2), 0));
            }
        }
        free(pm);
        free(p1);
        free(p2);
        mb_model_free(mse);
        mb_model_free(bce1);
        mb_model_free(bce2);
    }
    /* Poisson: float targets >= 0 only */
    {
        int64_t s_poisson[] = {FIN, 2};
        mb_model *poisson = make_model(s_poisson, 2, MB_ACTIVATION_RELU, MB_LOSS_POISSON, 0);
        int32_t zeros[FM] = {0};
        float counts[FM * 2];
        float *pp = NULL;
        int64_t i;
        if (CHECK(poisson != NULL)) {
            pp = model_params(poisson, NULL);
            for (i = 0; i < FM * 2; i++)
                counts[i] = (float)(i % 3);
            DATA_FAIL(call_fn(fn, poisson, fx_x, zeros, MB_TARGETS_CLASS_INDEX, FM, FIN, &o),
                      "MB_LOSS_POISSON takes MB_TARGETS_FLOAT32");
            counts[9] = -0.5f;
            DATA_FAIL(call_fn(fn, poisson, fx_x, counts, MB_TARGETS_FLOAT32, FM, FIN, &o),
                      "y[4][1] = -0.5 is negative");
            counts[9] = -INFINITY;
            DATA_FAIL(call_fn(fn, poisson, fx_x, counts, MB_TARGETS_FLOAT32, FM, FIN, &o), "y");
            if (CHECK(pp != NULL))
                CHECK(model_same(poisson, pp, model_n_params(poisson), 0));
        }
        free(pp);
        mb_model_free(poisson);
    }
#undef DATA_FAIL
}

static void test_evaluate_errors(void)
{
    double cost = 123.0, acc = 456.0;
    EXPECT_INVALID(mb_evaluate(NULL, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &cost, &acc),
                   "model");
    EXPECT_INVALID(mb_evaluate(fx_model, NULL, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &cost, &acc),
                   "x");
    EXPECT_INVALID(mb_evaluate(fx_model, fx_x, NULL, MB_TARGETS_CLASS_INDEX, FM, FIN, &cost, &acc),
                   "y");
    EXPECT_INVALID(mb_evaluate(fx_model, fx_x, NULL, MB_TARGETS_FLOAT32, FM, FIN, &cost, &acc), "y");
    CHECK(cost == 123.0 && acc == 456.0);
    check_data_errors(F_EVALUATE);
}

static void test_gradient_errors(void)
{
    double cost = 123.0;
    float g[64];
    float g0[64];
    memset(g, 0x3C, sizeof g);
    memcpy(g0, g, sizeof g);
    EXPECT_INVALID(mb_gradient(NULL, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &cost, g, fx_np),
                   "model");
    EXPECT_INVALID(
        mb_gradient(fx_model, NULL, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &cost, g, fx_np), "x");
    EXPECT_INVALID(
        mb_gradient(fx_model, fx_x, NULL, MB_TARGETS_CLASS_INDEX, FM, FIN, &cost, g, fx_np), "y");
    EXPECT_INVALID(
        mb_gradient(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, NULL, g, fx_np), "cost");
    EXPECT_INVALID(
        mb_gradient(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &cost, NULL, fx_np),
        "grad");
    EXPECT_INVALID(
        mb_gradient(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &cost, g, fx_np - 1),
        "count");
    EXPECT_INVALID(
        mb_gradient(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &cost, g, fx_np + 1),
        "count");
    EXPECT_INVALID(mb_gradient(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &cost, g, 0),
                   "count");
    EXPECT_INVALID(mb_gradient(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &cost, g, -1),
                   "count");
    CHECK(cost == 123.0);
    CHECK(memcmp(g, g0, sizeof g) == 0);
    check_data_errors(F_GRADIENT);
}

/* ---- training ------------------------------------------------------------------------- */

static void test_train_errors(void)
{
    mb_train_options o, b;
    mb_train_options_init(&o);
    o.epochs = 2;
    o.batch_size = 4;
    o.progress = count_callback;
#define TRAIN(model, x, y, yt, m, nf, opts) mb_train(model, x, y, yt, m, nf, opts, fx_hist)
    EXPECT_INVALID(TRAIN(NULL, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &o), "model");
    EXPECT_INVALID(TRAIN(fx_model, NULL, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &o), "x");
    EXPECT_INVALID(TRAIN(fx_model, fx_x, NULL, MB_TARGETS_CLASS_INDEX, FM, FIN, &o), "y");
    EXPECT_INVALID(TRAIN(fx_model, fx_x, NULL, MB_TARGETS_FLOAT32, FM, FIN, &o), "y");
    /* epochs */
    b = o;
    b.epochs = 0;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "epochs");
    b.epochs = -1;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "epochs");
    b.epochs = INT64_MIN;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "epochs");
    /* batch size: 0, negative other than MB_BATCH_AUTO, > m */
    b = o;
    b.batch_size = 0;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "batch_size");
    b.batch_size = -2;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "batch_size");
    b.batch_size = INT64_MIN;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "batch_size");
    b.batch_size = FM + 1;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "batch_size");
    b.batch_size = INT64_MAX;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "batch_size");
    /* learning rate: 0, -0, negative, NaN, Inf */
    b = o;
    b.learning_rate = 0.0f;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "learning_rate");
    b.learning_rate = -0.0f;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "learning_rate");
    b.learning_rate = -0.1f;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "learning_rate");
    b.learning_rate = NAN;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "learning_rate");
    b.learning_rate = INFINITY;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "learning_rate");
    b.learning_rate = -INFINITY;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "learning_rate");
    /* an unknown distributed_mode, without a communicator too (it was accepted there) */
    b = o;
    b.distributed_mode = (mb_distributed_mode)2;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "distributed_mode");
    /* unknown last_batch */
    b = o;
    b.last_batch = (mb_last_batch)99;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "last_batch");
    b.last_batch = (mb_last_batch)-1;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "last_batch");
    /* unknown optimizer: one past MB_OPTIMIZER_ADADELTA (0.11.0), and negative; the rules'
       hyperparameters out of range */
    b = o;
    b.optimizer = (mb_optimizer)9;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "optimizer");
    b.optimizer = (mb_optimizer)-1;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "optimizer");
    b = o;
    b.optimizer = MB_OPTIMIZER_ADAGRAD;
    b.epsilon = 0.0f;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "epsilon");
    b.epsilon = NAN;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "epsilon");
    b = o;
    b.optimizer = MB_OPTIMIZER_ADAMAX;
    b.beta1 = 1.0f;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "beta1");
    b.beta1 = 0.9f;
    b.beta2 = -0.5f;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "beta2");
    b.beta2 = 0.999f;
    b.epsilon = INFINITY;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "epsilon");
    /* 0.7.0: NAdam's momentum_decay finite and >= 0, its betas; RAdam's; RMSprop's
       momentum in [0, 1) and centered 0 or 1 */
    b = o;
    b.optimizer = MB_OPTIMIZER_NADAM;
    b.momentum_decay = -0.004;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "momentum_decay");
    b.momentum_decay = INFINITY;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "momentum_decay");
    b.momentum_decay = NAN;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "momentum_decay");
    b.momentum_decay = 0.004;
    b.beta2 = 1.0f;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "beta2");
    b = o;
    b.optimizer = MB_OPTIMIZER_RADAM;
    b.beta1 = -0.1f;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "beta1");
    b.beta1 = 0.9f;
    b.epsilon = 0.0f;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "epsilon");
    b = o;
    b.optimizer = MB_OPTIMIZER_RMSPROP;
    b.momentum = 1.0f;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "momentum");
    b.momentum = NAN;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "momentum");
    b.momentum = 0.9f;
    b.centered = 2;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "centered");
    b.centered = -1;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "centered");
    /* nesterov: 0 or 1 with SGD (the header said "nonzero" until 0.12.3; the library has
     * always refused other values) */
    b = o;
    b.optimizer = MB_OPTIMIZER_SGD;
    b.momentum = 0.9f;
    b.nesterov = 2;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "nesterov");
    b.nesterov = -1;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "nesterov");
    /* 0.9.0: schedule_per_batch 0 or 1, with any schedule */
    b = o;
    b.schedule_per_batch = 2;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "schedule_per_batch");
    b.schedule_per_batch = -1;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "schedule_per_batch");
    /* 0.7.0's schedules: one past MB_SCHEDULE_CYCLIC (0.11.0); multi-step's milestones
       (pointer and count together, at most 2^20, each >= 0), gamma > 0; cosine with
       restarts' first cycle >= 1 and multiplier >= 1 */
    {
        static const int64_t milestones[] = {3, -1};
        b = o;
        b.schedule = (mb_schedule)11;
        EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "schedule");
        b.schedule = MB_SCHEDULE_MULTI_STEP;
        b.milestone_count = 2;
        EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "milestones");
        b.milestones = milestones;
        b.milestone_count = -1;
        EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "milestone_count");
        b.milestone_count = ((int64_t)1 << 20) + 1;
        EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "milestone_count");
        b.milestone_count = 0;
        EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "milestones");
        b.milestone_count = 2;
        EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "milestones[1]");
        b.milestone_count = 1;
        b.gamma = -0.1;
        EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "gamma");
        b = o;
        b.schedule = MB_SCHEDULE_COSINE_RESTARTS;
        b.cosine_epochs = 0;
        EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "cosine_epochs");
        b.cosine_epochs = 5;
        b.restart_multiplier = 0;
        EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "restart_multiplier");
        b.restart_multiplier = 2;
        b.min_learning_rate = NAN;
        EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "min_learning_rate");
        /* 0.9.0's one-cycle: pct_start in [0, 1], the factors finite and > 0, the period >= 0 */
        b = o;
        b.schedule = MB_SCHEDULE_ONE_CYCLE;
        CHECK(b.pct_start == 0.3 && b.div_factor == 25 && b.final_div_factor == 1e4);
        b.pct_start = 1.5;
        EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "pct_start");
        b.pct_start = NAN;
        EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "pct_start");
        b.pct_start = 0.3;
        b.div_factor = 0;
        EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "div_factor");
        CHECK(strncmp(mb_last_error(), "div_factor", 10) == 0); /* (not final_div_factor) */
        b.div_factor = 25;
        b.final_div_factor = INFINITY;
        EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "final_div_factor");
        b.final_div_factor = 1e4;
        b.cosine_epochs = -1;
        EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "cosine_epochs");
        b.cosine_epochs = 0;
        /* 0.10.0's momentum cycle: 0 or 1 (with any schedule); its ends in (0, 1) as floats;
         * not with Adagrad or NAdam */
        CHECK(b.cycle_momentum == 0 && b.base_momentum == 0.85 && b.max_momentum == 0.95);
        b.cycle_momentum = 2;
        EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "cycle_momentum");
        b.schedule = MB_SCHEDULE_CONSTANT;
        b.cycle_momentum = -1;
        EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "cycle_momentum");
        b.schedule = MB_SCHEDULE_ONE_CYCLE;
        b.cycle_momentum = 1;
        b.base_momentum = 0;
        EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "base_momentum");
        b.base_momentum = 0.85;
        b.max_momentum = NAN;
        EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "max_momentum");
        b.max_momentum = 1.0;
        EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "max_momentum");
        b.max_momentum = 0.95;
        b.optimizer = MB_OPTIMIZER_ADAGRAD;
        EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "Adagrad");
        b.optimizer = MB_OPTIMIZER_NADAM;
        EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "NAdam");
        /* 0.10.0's three phases and annealing: 0 or 1 and MB_ANNEAL_COS or MB_ANNEAL_LINEAR,
         * with any schedule */
        b = o;
        CHECK(b.three_phase == 0 && b.anneal_strategy == MB_ANNEAL_COS);
        b.three_phase = 2;
        EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "three_phase");
        b.three_phase = 0;
        b.anneal_strategy = (mb_anneal_strategy)2;
        EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "anneal_strategy");
        b.anneal_strategy = (mb_anneal_strategy)-1;
        EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "anneal_strategy");
    }
    /* validation_sample_weight (0.7.0): with validation_x only; each finite and >= 0, not all 0 */
    {
        float weights[FM];
        int64_t i;
        for (i = 0; i < FM; i++)
            weights[i] = 1.0f;
        b = o;
        b.validation_sample_weight = weights;
        EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "validation_sample_weight");
        b.validation_x = fx_x;
        b.validation_y = fx_yc;
        b.validation_y_type = MB_TARGETS_CLASS_INDEX;
        b.validation_m = FM;
        weights[3] = -1.0f;
        EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "validation_sample_weight[3]");
        weights[3] = NAN;
        EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "validation_sample_weight[3]");
        for (i = 0; i < FM; i++)
            weights[i] = 0.0f;
        EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "every weight is zero");
    }
    /* Adagrad's lr_decay and initial_accumulator_value (0.6.0): finite and >= 0 */
    b = o;
    b.optimizer = MB_OPTIMIZER_ADAGRAD;
    b.lr_decay = -0.5f;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "lr_decay");
    b.lr_decay = INFINITY;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "lr_decay");
    b.lr_decay = 0.0f;
    b.initial_accumulator_value = NAN;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b),
                   "initial_accumulator_value");
    b.initial_accumulator_value = -1.0f;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b),
                   "initial_accumulator_value");
    /* clip_value (0.6.0): finite and >= 0 */
    b = o;
    b.clip_value = -1.0f;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "clip_value");
    b.clip_value = NAN;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "clip_value");
    b.clip_value = INFINITY;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "clip_value");
    /* coupled_weight_decay (0.10.0): finite and >= 0, with any rule */
    b = o;
    CHECK(b.coupled_weight_decay == 0);
    b.coupled_weight_decay = -0.01f;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "coupled_weight_decay");
    b.coupled_weight_decay = NAN;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "coupled_weight_decay");
    b.optimizer = MB_OPTIMIZER_ADAMW;
    b.coupled_weight_decay = INFINITY;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "coupled_weight_decay");
    /* decoupled_weight_decay (0.10.0): 0 or 1 with any rule; NAdam's and RAdam's decay then
     * weight_decay, finite and >= 0 */
    b = o;
    CHECK(b.decoupled_weight_decay == 0);
    b.decoupled_weight_decay = 2;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "decoupled_weight_decay");
    b.decoupled_weight_decay = 1;
    b.optimizer = MB_OPTIMIZER_RADAM;
    b.weight_decay = -1.0f;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "weight_decay");
    b.optimizer = MB_OPTIMIZER_NADAM;
    b.weight_decay = NAN;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "weight_decay");
    /* the plateau schedule (0.11.0): its factor (gamma, 0 for 0.1) in (0, 1), patience and
     * cooldown >= 0, threshold, min_learning_rate and eps finite and >= 0, checked with
     * that schedule only; the threshold mode MB_THRESHOLD_REL or _ABS with any schedule */
    b = o;
    CHECK(b.plateau_patience == 10 && b.plateau_threshold == 1e-4 && b.plateau_threshold_mode == MB_THRESHOLD_REL &&
          b.plateau_cooldown == 0 && b.plateau_eps == 1e-8);
    b.plateau_patience = -1; /* (ignored by another schedule) */
    b.plateau_eps = NAN;
    {
        int64_t sizes[] = {FIN, 4, FOUT};
        mb_model *other = make_model(sizes, 3, MB_ACTIVATION_TANH, MB_LOSS_CROSS_ENTROPY, 3);
        mb_train_options c = b;
        c.progress = NULL; /* (the fixture's callback counts calls: none may happen) */
        if (CHECK(other != NULL))
            CHECK_STATUS(mb_train(other, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &c, NULL), MB_OK);
        mb_model_free(other);
    }
    b.plateau_threshold_mode = (mb_threshold_mode)2;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "plateau_threshold_mode");
    b = o;
    b.schedule = MB_SCHEDULE_PLATEAU;
    b.plateau_threshold_mode = (mb_threshold_mode)-1;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "plateau_threshold_mode");
    b.plateau_threshold_mode = MB_THRESHOLD_ABS;
    b.gamma = 1.0;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "factor");
    b.gamma = -0.1;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "factor");
    b.gamma = NAN;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "factor");
    b.gamma = 0.5;
    b.plateau_patience = -1;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "plateau_patience");
    b.plateau_patience = INT64_MIN;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "plateau_patience");
    b.plateau_patience = 0;
    b.plateau_threshold = -1e-4;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "plateau_threshold");
    b.plateau_threshold = INFINITY;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "plateau_threshold");
    b.plateau_threshold = 0;
    b.plateau_cooldown = -1;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "plateau_cooldown");
    b.plateau_cooldown = 0;
    b.min_learning_rate = -1e-3;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "min_learning_rate");
    b.min_learning_rate = 0;
    b.plateau_eps = -1e-8;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "plateau_eps");
    b.plateau_eps = NAN;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "plateau_eps");
    /* the cyclic schedule (0.11.0): its base_lr (min_learning_rate) finite and >= 0, steps up
     * >= 1, down >= 0 or -1, gamma (0 for 1) in (0, 1], checked with that schedule only;
     * the mode one of three with any schedule; its momentum cycle refused as one-cycle's */
    b = o;
    CHECK(b.cyclic_step_size_up == 2000 && b.cyclic_step_size_down == -1 && b.cyclic_mode == MB_CYCLIC_TRIANGULAR);
    b.cyclic_step_size_up = 0; /* (ignored by another schedule, as gamma's range) */
    b.cyclic_step_size_down = -7;
    b.schedule = MB_SCHEDULE_STEP;
    b.gamma = 0.5;
    {
        int64_t sizes[] = {FIN, 4, FOUT};
        mb_model *other = make_model(sizes, 3, MB_ACTIVATION_TANH, MB_LOSS_CROSS_ENTROPY, 3);
        mb_train_options c = b;
        c.progress = NULL;
        if (CHECK(other != NULL)) {
            CHECK_STATUS(mb_train(other, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &c, NULL), MB_OK);
            /* INT64_MAX steps up and down train (the cycle's arithmetic in double) */
            c.schedule = MB_SCHEDULE_CYCLIC;
            c.cyclic_step_size_up = INT64_MAX;
            c.cyclic_step_size_down = INT64_MAX;
            c.cycle_momentum = 1;
            CHECK_STATUS(mb_train(other, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &c, NULL), MB_OK);
            c.cyclic_mode = MB_CYCLIC_TRIANGULAR2;
            c.cyclic_step_size_up = 1;
            c.cyclic_step_size_down = 0;
            CHECK_STATUS(mb_train(other, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &c, NULL), MB_OK);
        }
        mb_model_free(other);
    }
    b = o;
    b.cyclic_mode = (mb_cyclic_mode)3;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "cyclic_mode");
    b.cyclic_mode = MB_CYCLIC_EXP_RANGE;
    b.schedule = MB_SCHEDULE_CYCLIC;
    b.cyclic_step_size_up = 0;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "cyclic_step_size_up");
    b.cyclic_step_size_up = INT64_MIN;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "cyclic_step_size_up");
    b.cyclic_step_size_up = 4;
    b.cyclic_step_size_down = -2;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "cyclic_step_size_down");
    b.cyclic_step_size_down = 0;
    b.gamma = 1.5;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "gamma");
    b.gamma = -0.5;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "gamma");
    b.gamma = NAN;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "gamma");
    b.gamma = 0.99;
    b.min_learning_rate = -1e-3;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "min_learning_rate");
    b.min_learning_rate = INFINITY;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "min_learning_rate");
    b.min_learning_rate = 1e-3;
    b.cycle_momentum = 1;
    b.optimizer = MB_OPTIMIZER_ADAGRAD;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "cycle_momentum");
    b.optimizer = MB_OPTIMIZER_NADAM;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "cycle_momentum");
    b.optimizer = MB_OPTIMIZER_ADADELTA;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "Adadelta has neither");
    b.optimizer = MB_OPTIMIZER_ADAM;
    b.base_momentum = 1.0;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "base_momentum");
    /* Adadelta (0.11.0): rho in [0, 1], epsilon finite and > 0 */
    b = o;
    b.optimizer = MB_OPTIMIZER_ADADELTA;
    b.rho = 1.5f;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "rho");
    b.rho = -0.1f;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "rho");
    b.rho = NAN;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "rho");
    b.rho = 0.9f;
    b.epsilon = 0;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "epsilon");
    b.epsilon = 1e-6f;
    {
        /* rho's ends are accepted (PyTorch's range) */
        int64_t sizes[] = {FIN, 4, FOUT};
        mb_model *other = make_model(sizes, 3, MB_ACTIVATION_TANH, MB_LOSS_CROSS_ENTROPY, 3);
        mb_train_options c = b;
        c.progress = NULL;
        if (CHECK(other != NULL)) {
            c.rho = 0;
            CHECK_STATUS(mb_train(other, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &c, NULL), MB_OK);
            c.rho = 1;
            CHECK_STATUS(mb_train(other, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &c, NULL), MB_OK);
        }
        mb_model_free(other);
    }
    /* the warm-up (0.6.0): epochs >= 0, start factor in (0, 1] */
    b = o;
    b.warmup_epochs = -1;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "warmup_epochs");
    b.warmup_epochs = INT64_MIN;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "warmup_epochs");
    b.warmup_epochs = 3;
    b.warmup_start_factor = 0.0;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "warmup_start_factor");
    b.warmup_start_factor = 1.0000001;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "warmup_start_factor");
    b.warmup_start_factor = NAN;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "warmup_start_factor");
    b.warmup_start_factor = -INFINITY;
    EXPECT_INVALID(TRAIN(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &b), "warmup_start_factor");
    /* MB_LAST_BATCH_DROP is fine even when batch_size = m; history NULL is fine: the
       fixture is not trained here (it stays unchanged) */
    check_data_errors(F_TRAIN);
#undef TRAIN
}

static void test_train_auto_batch_budget_too_small(void)
{
    enum { BIG = 2048 };
    float *x = (float *)malloc(sizeof(float) * BIG * FIN);
    int32_t *y = (int32_t *)malloc(sizeof(int32_t) * BIG);
    mb_train_options o;
    size_t w64 = 0;
    int64_t bs = 77;
    if (!CHECK(x && y))
        goto done;
    tdata_fill(x, BIG * FIN, 5, -1, 1);
    tdata_classes(y, BIG, FOUT, 6);
    CHECK_STATUS(mb_working_memory(fx_model, 64, &w64), MB_OK);
    mb_train_options_init(&o);
    o.epochs = 1;
    o.batch_size = MB_BATCH_AUTO;
    o.memory_budget = w64 - 1;
    o.progress = count_callback;
    EXPECT_INVALID(mb_train(fx_model, x, y, MB_TARGETS_CLASS_INDEX, BIG, FIN, &o, fx_hist), NULL);
    EXPECT_INVALID(mb_auto_batch_size(fx_model, BIG, w64 - 1, &bs), NULL);
    o.memory_budget = 1;
    EXPECT_INVALID(mb_train(fx_model, x, y, MB_TARGETS_CLASS_INDEX, BIG, FIN, &o, fx_hist), NULL);
    CHECK(bs == 77);
done:
    free(x);
    free(y);
}

static void test_auto_batch_and_working_memory_errors(void)
{
    int64_t bs = 77;
    size_t bytes = 77;
    EXPECT_INVALID(mb_auto_batch_size(NULL, 100, 0, &bs), "model");
    EXPECT_INVALID(mb_auto_batch_size(fx_model, 100, 0, NULL), "batch_size");
    EXPECT_INVALID(mb_auto_batch_size(fx_model, 0, 0, &bs), "m");
    EXPECT_INVALID(mb_auto_batch_size(fx_model, -5, 0, &bs), "m");
    CHECK(bs == 77);
    EXPECT_INVALID(mb_working_memory(NULL, 10, &bytes), "model");
    EXPECT_INVALID(mb_working_memory(fx_model, 10, NULL), "bytes");
    EXPECT_INVALID(mb_working_memory(fx_model, 0, &bytes), "batch_size");
    EXPECT_INVALID(mb_working_memory(fx_model, MB_BATCH_AUTO, &bytes), "batch_size");
    EXPECT_INVALID(mb_working_memory(fx_model, -100, &bytes), "batch_size");
    EXPECT_INVALID(mb_working_memory(fx_model, (int64_t)1 << 31, &bytes), "batch_size"); /* the limits' 2^31 - 1 */
    CHECK(bytes == 77);
}

static void test_history_errors(void)
{
    double buf[4] = {-1, -1, -1, -1};
    int64_t c = -9;
    EXPECT_INVALID(mb_history_create(NULL), "history");
    EXPECT_INVALID(mb_history_clear(NULL), "history");
    EXPECT_INVALID(mb_history_batch_costs(NULL, buf, 4, &c), "history");
    EXPECT_INVALID(mb_history_batch_costs(fx_hist, buf, 4, NULL), "count");
    EXPECT_INVALID(mb_history_batch_costs(fx_hist, buf, 5, &c), "capacity"); /* 6 costs */
    EXPECT_INVALID(mb_history_batch_costs(fx_hist, buf, 0, &c), "capacity");
    EXPECT_INVALID(mb_history_batch_costs(fx_hist, buf, -1, &c), "capacity");
    EXPECT_INVALID(mb_history_epoch_costs(NULL, buf, 4, &c), "history");
    EXPECT_INVALID(mb_history_epoch_costs(fx_hist, buf, 4, NULL), "count");
    EXPECT_INVALID(mb_history_epoch_costs(fx_hist, buf, 1, &c), "capacity"); /* 2 costs */
    EXPECT_INVALID(mb_history_epoch_costs(fx_hist, buf, -1, &c), "capacity");
    CHECK(c == -9);
    CHECK(buf[0] == -1 && buf[1] == -1 && buf[2] == -1 && buf[3] == -1);
}

static void test_save_load_argument_errors(void)
{
    mb_model *m = (mb_model *)&fx_params;
    EXPECT_INVALID(mb_model_save(NULL, "/tmp/unused-minibatch-model.mbm"), "model");
    EXPECT_INVALID(mb_model_save(fx_model, NULL), "path");
    EXPECT_INVALID(mb_model_load("/tmp/unused-minibatch-model.mbm", NULL), "model");
    EXPECT_INVALID(mb_model_load(NULL, &m), "path");
    CHECK(m == NULL);
}

static void test_free_null(void)
{
    mb_model_free(NULL);
    mb_history_free(NULL);
    CHECK(1);
}

static void test_success_paths_still_work(void)
{
    /* After all those failures the fixture still trains normally. */
    mb_train_options o;
    int64_t ec = -1;
    mb_train_options_init(&o);
    o.epochs = 1;
    o.batch_size = FM;
    o.last_batch = MB_LAST_BATCH_DROP;
    o.shuffle = 7; /* any nonzero value */
    CHECK_STATUS(mb_train(fx_model, fx_x, fx_y, MB_TARGETS_FLOAT32, FM, FIN, &o, NULL), MB_OK);
    CHECK(model_epochs(fx_model) == fx_epochs + 1);
    CHECK_STATUS(mb_history_epoch_costs(fx_hist, NULL, 0, &ec), MB_OK);
    CHECK(ec == fx_hist_epochs);
}

/* A struct_size of SIZE_MAX (a caller's -1) is named as the caller wrote it: -1 and its
 * size_t value (until 0.12.5 these messages said -1 only). */
static void test_struct_size_of_size_max(void)
{
    mb_train_options o;
    mb_train_options_init(&o);
    o.struct_size = SIZE_MAX;
    EXPECT_INVALID(mb_train(fx_model, fx_x, fx_yc, MB_TARGETS_CLASS_INDEX, FM, FIN, &o, fx_hist),
                   "struct_size is -1 (18446744073709551615 as a size_t)");
    mb_blas_info info;
    memset(&info, 0, sizeof info);
    info.struct_size = SIZE_MAX;
    EXPECT_INVALID(mb_get_blas_info(&info), "struct_size is -1 (18446744073709551615 as a size_t)");
}

int main(void)
{
    RUN_TEST(test_last_error_initially_empty);
    if (!fixture_setup()) {
        printf("fixture setup failed: %s\n", mb_last_error());
        printf("0 passed, 1 failed\n");
        return 1;
    }
    RUN_TEST(test_last_error_kept_by_success_and_per_thread);
    RUN_TEST(test_random_errors);
    RUN_TEST(test_permutation_errors);
    RUN_TEST(test_shuffle_errors);
    RUN_TEST(test_shuffle_into_errors);
    RUN_TEST(test_partition_errors);
    RUN_TEST(test_make_moons_errors);
    RUN_TEST(test_model_create_errors);
    RUN_TEST(test_model_create_too_big);
    RUN_TEST(test_model_getters_errors);
    RUN_TEST(test_set_parameters_errors);
    RUN_TEST(test_predict_errors);
    RUN_TEST(test_evaluate_errors);
    RUN_TEST(test_gradient_errors);
    RUN_TEST(test_train_errors);
    RUN_TEST(test_struct_size_of_size_max);
    RUN_TEST(test_train_auto_batch_budget_too_small);
    RUN_TEST(test_auto_batch_and_working_memory_errors);
    RUN_TEST(test_history_errors);
    RUN_TEST(test_save_load_argument_errors);
    RUN_TEST(test_free_null);
    RUN_TEST(test_success_paths_still_work);
    mb_history_free(fx_hist);
    mb_model_free(fx_model);
    free(fx_params);
    return check_summary();
}
