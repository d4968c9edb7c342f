/*
 * test_train_runs.c - runs of mb_train: determinism, continuing (two calls equal one),
 * default options, data only read, history, the progress callback and cancellation,
 * convergence on moons, threads.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ref.h"
#include "train_fixtures.h"

static void test_same_seed_bit_identical(void)
{
    moons d = MOONS_INIT;
    mb_model *a = moons_model(8, MB_LOSS_CROSS_ENTROPY, 1);
    mb_model *b = moons_model(8, MB_LOSS_CROSS_ENTROPY, 1);
    mb_model *c = moons_model(8, MB_LOSS_CROSS_ENTROPY, 1);
    mb_history *ha = NULL, *hb = NULL;
    mb_train_options o;
    if (!CHECK(moons_make(&d, 100, 0.1f, 5)) || !CHECK(a && b && c) ||
        !CHECK_STATUS(mb_history_create(&ha), MB_OK) ||
        !CHECK_STATUS(mb_history_create(&hb), MB_OK))
        goto done;
    mb_train_options_init(&o);
    o.epochs = 5;
    o.batch_size = 10;
    o.learning_rate = 0.1f;
    o.seed = 1234;
    CHECK_STATUS(mb_train(a, d.x, d.y, MB_TARGETS_CLASS_INDEX, d.m, 2, &o, ha), MB_OK);
    CHECK_STATUS(mb_train(b, d.x, d.y, MB_TARGETS_CLASS_INDEX, d.m, 2, &o, hb), MB_OK);
    CHECK(models_equal(a, b));
    {
        int64_t na = 0, nb = 0;
        double *ca = history_get(ha, 0, &na), *cb = history_get(hb, 0, &nb);
        CHECK(ca && cb && na == 50 && nb == 50 && memcmp(ca, cb, sizeof(double) * 50) == 0);
        free(ca);
        free(cb);
    }
    o.seed = 1235;
    CHECK_STATUS(mb_train(c, d.x, d.y, MB_TARGETS_CLASS_INDEX, d.m, 2, &o, NULL), MB_OK);
    CHECK(!models_equal(a, c));
done:
    moons_free(&d);
    mb_history_free(ha);
    mb_history_free(hb);
    mb_model_free(a);
    mb_model_free(b);
    mb_model_free(c);
}

static void test_two_calls_equal_one(void)
{
    moons d = MOONS_INIT;
    mb_model *a = moons_model(8, MB_LOSS_CROSS_ENTROPY, 2);
    mb_model *b = moons_model(8, MB_LOSS_CROSS_ENTROPY, 2);
    mb_history *ha = NULL, *hb = NULL;
    mb_train_options o;
    if (!CHECK(moons_make(&d, 90, 0.2f, 6)) || !CHECK(a && b) ||
        !CHECK_STATUS(mb_history_create(&ha), MB_OK) ||
        !CHECK_STATUS(mb_history_create(&hb), MB_OK))
        goto done;
    mb_train_options_init(&o);
    o.batch_size = 16;
    o.learning_rate = 0.2f;
    o.seed = 42;
    o.epochs = 3;
    CHECK_STATUS(mb_train(a, d.x, d.y, MB_TARGETS_CLASS_INDEX, d.m, 2, &o, ha), MB_OK);
    CHECK(model_epochs(a) == 3);
    CHECK_STATUS(mb_train(a, d.x, d.y, MB_TARGETS_CLASS_INDEX, d.m, 2, &o, ha), MB_OK);
    CHECK(model_epochs(a) == 6);
    o.epochs = 6;
    CHECK_STATUS(mb_train(b, d.x, d.y, MB_TARGETS_CLASS_INDEX, d.m, 2, &o, hb), MB_OK);
    CHECK(model_epochs(b) == 6);
    CHECK(models_equal(a, b));
    {
        int64_t na = 0, nb = 0, ea = 0, eb = 0;
        double *ca = history_get(ha, 0, &na), *cb = history_get(hb, 0, &nb);
        double *xa = history_get(ha, 1, &ea), *xb = history_get(hb, 1, &eb);
        CHECK(ca && cb && na == 36 && nb == 36 && memcmp(ca, cb, sizeof(double) * 36) == 0);
        CHECK(xa && xb && ea == 6 && eb == 6 && memcmp(xa, xb, sizeof(double) * 6) == 0);
        free(ca);
        free(cb);
        free(xa);
        free(xb);
    }
done:
    moons_free(&d);
    mb_history_free(ha);
    mb_history_free(hb);
    mb_model_free(a);
    mb_model_free(b);
}

static void test_options_null_equals_defaults(void)
{
    moons d = MOONS_INIT;
    mb_model *a = moons_model(4, MB_LOSS_CROSS_ENTROPY, 3);
    mb_model *b = moons_model(4, MB_LOSS_CROSS_ENTROPY, 3);
    mb_train_options o;
    if (!CHECK(moons_make(&d, 60, 0.1f, 7)) || !CHECK(a && b))
        goto done;
    mb_train_options_init(&o);
    CHECK_STATUS(mb_train(a, d.x, d.y, MB_TARGETS_CLASS_INDEX, d.m, 2, NULL, NULL), MB_OK);
    CHECK_STATUS(mb_train(b, d.x, d.y, MB_TARGETS_CLASS_INDEX, d.m, 2, &o, NULL), MB_OK);
    CHECK(models_equal(a, b));
    CHECK(model_epochs(a) == 10);
done:
    moons_free(&d);
    mb_model_free(a);
    mb_model_free(b);
}

static void test_train_only_reads_data(void)
{
    moons d = MOONS_INIT;
    float *x0 = NULL;
    int32_t y0[50];
    mb_model *a = moons_model(4, MB_LOSS_CROSS_ENTROPY, 3);
    mb_train_options o;
    if (!CHECK(moons_make(&d, 50, 0.1f, 8)) || !CHECK(a != NULL))
        goto done;
    x0 = (float *)malloc(sizeof(float) * 100);
    if (!CHECK(x0 != NULL))
        goto done;
    memcpy(x0, d.x, sizeof(float) * 100);
    memcpy(y0, d.y, sizeof y0);
    mb_train_options_init(&o);
    o.batch_size = 7;
    o.epochs = 2;
    CHECK_STATUS(mb_train(a, d.x, d.y, MB_TARGETS_CLASS_INDEX, d.m, 2, &o, NULL), MB_OK);
    CHECK(memcmp(x0, d.x, sizeof(float) * 100) == 0 && memcmp(y0, d.y, sizeof y0) == 0);
done:
    free(x0);
    moons_free(&d);
    mb_model_free(a);
}

static void test_history_clear_and_append(void)
{
    moons d = MOONS_INIT;
    mb_model *a = moons_model(4, MB_LOSS_CROSS_ENTROPY, 3);
    mb_history *h = NULL;
    mb_train_options o;
    double buf[8];
    int64_t c = -1;
    if (!CHECK(moons_make(&d, 30, 0.1f, 9)) || !CHECK(a != NULL) ||
        !CHECK_STATUS(mb_history_create(&h), MB_OK))
        goto done;
    CHECK(history_count(h, 0) == 0 && history_count(h, 1) == 0);
    /* a non-NULL buffer with the exact or a larger capacity */
    CHECK_STATUS(mb_history_batch_costs(h, buf, 8, &c), MB_OK);
    CHECK(c == 0);
    mb_train_options_init(&o);
    o.batch_size = 10;
    o.epochs = 2;
    CHECK_STATUS(mb_train(a, d.x, d.y, MB_TARGETS_CLASS_INDEX, d.m, 2, &o, h), MB_OK);
    CHECK(history_count(h, 0) == 6 && history_count(h, 1) == 2);
    CHECK_STATUS(mb_history_batch_costs(h, buf, 6, &c), MB_OK);
    CHECK(c == 6);
    CHECK_STATUS(mb_history_epoch_costs(h, buf, 2, &c), MB_OK);
    CHECK(c == 2);
    o.epochs = 1;
    CHECK_STATUS(mb_train(a, d.x, d.y, MB_TARGETS_CLASS_INDEX, d.m, 2, &o, h), MB_OK);
    CHECK(history_count(h, 0) == 9 && history_count(h, 1) == 3);
    CHECK_STATUS(mb_history_clear(h), MB_OK);
    CHECK(history_count(h, 0) == 0 && history_count(h, 1) == 0);
    CHECK_STATUS(mb_train(a, d.x, d.y, MB_TARGETS_CLASS_INDEX, d.m, 2, &o, h), MB_OK);
    CHECK(history_count(h, 0) == 3 && history_count(h, 1) == 1);
    CHECK(model_epochs(a) == 4);
done:
    moons_free(&d);
    mb_history_free(h);
    mb_model_free(a);
}

static void test_callback_stop_cancels(void)
{
    moons d = MOONS_INIT;
    mb_model *a = moons_model(6, MB_LOSS_CROSS_ENTROPY, 4);
    mb_model *b = moons_model(6, MB_LOSS_CROSS_ENTROPY, 4);
    mb_history *h = NULL;
    mb_train_options o;
    progress_log log;
    if (!CHECK(moons_make(&d, 40, 0.1f, 10)) || !CHECK(a && b) ||
        !CHECK_STATUS(mb_history_create(&h), MB_OK))
        goto done;
    mb_train_options_init(&o);
    o.batch_size = 8;
    o.epochs = 10;
    o.learning_rate = 0.1f;
    o.progress = record_progress;
    memset(&log, 0, sizeof log);
    log.stop_at = 3;
    log.stop_value = 1;
    o.user_data = &log;
    CHECK_ERR(mb_train(a, d.x, d.y, MB_TARGETS_CLASS_INDEX, d.m, 2, &o, h), MB_ERR_CANCELLED);
    CHECK(log.n == 3);
    CHECK(history_count(h, 1) == 3);
    CHECK(history_count(h, 0) == 15);
    CHECK(model_epochs(a) == 3);
    /* the weights are those at the end of epoch 3 */
    o.progress = NULL;
    o.epochs = 3;
    CHECK_STATUS(mb_train(b, d.x, d.y, MB_TARGETS_CLASS_INDEX, d.m, 2, &o, NULL), MB_OK);
    CHECK(models_equal(a, b));
    /* any nonzero value stops; continuing afterwards works, counting from epoch 3 */
    o.progress = record_progress;
    o.epochs = 5;
    memset(&log, 0, sizeof log);
    log.stop_at = 1;
    log.stop_value = -7;
    o.user_data = &log;
    CHECK_ERR(mb_train(a, d.x, d.y, MB_TARGETS_CLASS_INDEX, d.m, 2, &o, h), MB_ERR_CANCELLED);
    CHECK(log.n == 1 && log.rec[0].epochs_trained == 4 && log.rec[0].epochs == 5);
    CHECK(history_count(h, 1) == 4);
    CHECK(model_epochs(a) == 4);
    o.progress = NULL;
    o.epochs = 1;
    CHECK_STATUS(mb_train(b, d.x, d.y, MB_TARGETS_CLASS_INDEX, d.m, 2, &o, NULL), MB_OK);
    CHECK(models_equal(a, b));
    /* stopping at the last epoch still reports CANCELLED */
    o.progress = record_progress;
    o.epochs = 2;
    memset(&log, 0, sizeof log);
    log.stop_at = 2;
    log.stop_value = 1;
    o.user_data = &log;
    CHECK_ERR(mb_train(a, d.x, d.y, MB_TARGETS_CLASS_INDEX, d.m, 2, &o, NULL), MB_ERR_CANCELLED);
    CHECK(model_epochs(a) == 6);
done:
    moons_free(&d);
    mb_history_free(h);
    mb_model_free(a);
    mb_model_free(b);
}

static void test_full_batch_cost_decreases(void)
{
    moons d = MOONS_INIT;
    mb_model *a = moons_model(8, MB_LOSS_CROSS_ENTROPY, 5);
    mb_history *h = NULL;
    mb_train_options o;
    double c0 = 0, c_end = 0;
    if (!CHECK(moons_make(&d, 200, 0.1f, 11)) || !CHECK(a != NULL) ||
        !CHECK_STATUS(mb_history_create(&h), MB_OK))
        goto done;
    CHECK_STATUS(mb_evaluate(a, d.x, d.y, MB_TARGETS_CLASS_INDEX, d.m, 2, &c0, NULL), MB_OK);
    mb_train_options_init(&o);
    o.batch_size = d.m;
    o.epochs = 30;
    o.learning_rate = 0.1f;
    CHECK_STATUS(mb_train(a, d.x, d.y, MB_TARGETS_CLASS_INDEX, d.m, 2, &o, h), MB_OK);
    CHECK_STATUS(mb_evaluate(a, d.x, d.y, MB_TARGETS_CLASS_INDEX, d.m, 2, &c_end, NULL),
                 MB_OK);
    {
        int64_t n = 0, i;
        double *ec = history_get(h, 1, &n);
        if (CHECK(ec != NULL) && CHECK(n == 30)) {
            int dec = 1;
            /* the first epoch's cost is the cost before any update */
            CHECK_NEAR(ec[0], c0, 1e-6, 1e-9);
            for (i = 1; i < n; i++)
                if (!(ec[i] < ec[i - 1]))
                    dec = 0;
            CHECK(dec);
            CHECK(c_end < ec[n - 1]);
        }
        free(ec);
    }
done:
    moons_free(&d);
    mb_history_free(h);
    mb_model_free(a);
}

static void test_moons_accuracy(void)
{
    moons d = MOONS_INIT, test = MOONS_INIT;
    mb_model *ce = moons_model(16, MB_LOSS_CROSS_ENTROPY, 7);
    mb_model *bce = moons_model(16, MB_LOSS_BINARY_CROSS_ENTROPY, 7);
    mb_train_options o;
    double acc = 0, cost = 0;
    if (!CHECK(moons_make(&d, 1000, 0.1f, 12)) || !CHECK(moons_make(&test, 400, 0.1f, 13)) ||
        !CHECK(ce && bce))
        goto done;
    mb_train_options_init(&o);
    o.epochs = 100;
    o.batch_size = 50;
    o.learning_rate = 0.5f;
    CHECK_STATUS(mb_train(ce, d.x, d.y, MB_TARGETS_CLASS_INDEX, d.m, 2, &o, NULL), MB_OK);
    CHECK_STATUS(mb_evaluate(ce, d.x, d.y, MB_TARGETS_CLASS_INDEX, d.m, 2, &cost, &acc), MB_OK);
    if (!CHECK(acc >= 0.95))
        printf("    2-16-2 train accuracy %.4f, cost %.4f\n", acc, cost);
    CHECK_STATUS(mb_evaluate(ce, test.x, test.y, MB_TARGETS_CLASS_INDEX, test.m, 2, &cost, &acc),
                 MB_OK);
    if (!CHECK(acc >= 0.95))
        printf("    2-16-2 test accuracy %.4f, cost %.4f\n", acc, cost);
    /* 2-16-1 with binary cross-entropy, trained on float 0/1 targets */
    {
        float *yf = (float *)malloc(sizeof(float) * (size_t)d.m);
        int64_t i;
        if (CHECK(yf != NULL)) {
            for (i = 0; i < d.m; i++)
                yf[i] = (float)d.y[i];
            CHECK_STATUS(mb_train(bce, d.x, yf, MB_TARGETS_FLOAT32, d.m, 2, &o, NULL), MB_OK);
            CHECK_STATUS(mb_evaluate(bce, test.x, test.y, MB_TARGETS_CLASS_INDEX, test.m, 2,
                                     &cost, &acc),
                         MB_OK);
            if (!CHECK(acc >= 0.95))
                printf("    2-16-1 test accuracy %.4f, cost %.4f\n", acc, cost);
        }
        free(yf);
    }
done:
    moons_free(&d);
    moons_free(&test);
    mb_model_free(ce);
    mb_model_free(bce);
}

/* Distinct handles in distinct threads; one const handle shared by readers. */
typedef struct train_job {
    const moons *d;
    mb_model *model;
    mb_status status;
    float out[200];
    const mb_model *shared;
} train_job;

static void *train_thread(void *arg)
{
    train_job *j = (train_job *)arg;
    mb_train_options o;
    mb_train_options_init(&o);
    o.epochs = 5;
    o.batch_size = 16;
    o.learning_rate = 0.2f;
    o.seed = 3;
    j->status = mb_train(j->model, j->d->x, j->d->y, MB_TARGETS_CLASS_INDEX, j->d->m, 2, &o, NULL);
    if (j->status == MB_OK)
        j->status = mb_predict(j->shared, j->d->x, 100, 2, j->out);
    return NULL;
}

static void test_threads_distinct_models(void)
{
    moons d = MOONS_INIT;
    train_job jobs[2];
    pthread_t t[2];
    int started[2], i;
    mb_model *seq = moons_model(8, MB_LOSS_CROSS_ENTROPY, 9);
    mb_model *shared = moons_model(8, MB_LOSS_CROSS_ENTROPY, 10);
    float want[200];
    memset(jobs, 0, sizeof jobs);
    if (!CHECK(moons_make(&d, 200, 0.1f, 16)) || !CHECK(seq && shared))
        goto done;
    CHECK_STATUS(mb_predict(shared, d.x, 100, 2, want), MB_OK);
    for (i = 0; i < 2; i++) {
        jobs[i].d = &d;
        jobs[i].model = moons_model(8, MB_LOSS_CROSS_ENTROPY, 9);
        jobs[i].shared = shared;
    }
    if (!CHECK(jobs[0].model && jobs[1].model))
        goto done;
    for (i = 0; i < 2; i++)
        started[i] = pthread_create(&t[i], NULL, train_thread, &jobs[i]) == 0;
    for (i = 0; i < 2; i++)
        if (CHECK(started[i]))
            pthread_join(t[i], NULL);
    {
        train_job j0;
        memset(&j0, 0, sizeof j0);
        j0.d = &d;
        j0.model = seq;
        j0.shared = shared;
        train_thread(&j0);
        CHECK_STATUS(j0.status, MB_OK);
    }
    for (i = 0; i < 2; i++) {
        CHECK_STATUS(jobs[i].status, MB_OK);
        CHECK(models_equal(jobs[i].model, seq));
        CHECK(memcmp(jobs[i].out, want, sizeof want) == 0);
    }
done:
    for (i = 0; i < 2; i++)
        mb_model_free(jobs[i].model);
    moons_free(&d);
    mb_model_free(seq);
    mb_model_free(shared);
}

int main(void)
{
    RUN_TEST(test_same_seed_bit_identical);
    RUN_TEST(test_two_calls_equal_one);
    RUN_TEST(test_options_null_equals_defaults);
    RUN_TEST(test_train_only_reads_data);
    RUN_TEST(test_history_clear_and_append);
    RUN_TEST(test_callback_stop_cancels);
    RUN_TEST(test_full_batch_cost_decreases);
    RUN_TEST(test_moons_accuracy);
    RUN_TEST(test_threads_distinct_models);
    return check_summary();
}
