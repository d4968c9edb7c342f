/*
 * test_train.c - mb_train against its definition: one step against mb_gradient, mini-batch
 * training against a step-by-step simulation (reference permutation + mb_gradient), a single
 * example. (test_train_runs.c: runs of mb_train; test_train_limits.c: working memory, the
 * automatic batch size, divergence.)
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ref.h"
#include "train_fixtures.h"

static void test_train_options_defaults(void)
{
    mb_train_options o;
    memset(&o, 0x5A, sizeof o);
    mb_train_options_init(&o);
    CHECK(o.epochs == 10);
    CHECK(o.batch_size == MB_BATCH_AUTO);
    CHECK(o.learning_rate == 0.01f);
    CHECK(o.seed == 0);
    CHECK(o.shuffle != 0);
    CHECK(o.last_batch == MB_LAST_BATCH_KEEP);
    CHECK(o.memory_budget == 0);
    CHECK(o.progress == NULL);
}
/*
 * Trains `sim` (only through mb_gradient and mb_model_set_parameters) the way the header
 * describes mb_train, for epochs [first_epoch, first_epoch + o->epochs). y_row is the byte
 * width of a target row. Batch costs are written to costs (capacity cap), their number to
 * *n_costs. Returns 0 on success.
 */
static int simulate_training(mb_model *sim, const float *x, const void *y, size_t y_row,
                             mb_targets yt, int64_t m, int64_t n_in,
                             const mb_train_options *o, int64_t first_epoch, double *costs,
                             int64_t cap, int64_t *n_costs)
{
    int64_t n = model_n_params(sim), e, i, j, k = 0;
    int64_t *perm = (int64_t *)malloc(sizeof(int64_t) * (size_t)m);
    float *xb = (float *)malloc(sizeof(float) * (size_t)(m * n_in));
    unsigned char *yb = (unsigned char *)malloc(y_row * (size_t)m);
    float *p = model_params(sim, NULL);
    float *g = (float *)malloc(sizeof(float) * (size_t)n);
    int rc = -1;
    if (!perm || !xb || !yb || !p || !g)
        goto done;
    for (e = first_epoch; e < first_epoch + o->epochs; e++) {
        int64_t nb = o->last_batch == MB_LAST_BATCH_KEEP ? (m + o->batch_size - 1) / o->batch_size
                                                         : m / o->batch_size;
        if (o->shuffle)
            ref_permutation(m, o->seed, (uint64_t)e, perm);
        else
            for (i = 0; i < m; i++)
                perm[i] = i;
        for (i = 0; i < nb; i++) {
            int64_t start = i * o->batch_size;
            int64_t cnt = start + o->batch_size <= m ? o->batch_size : m - start;
            double cost = 0;
            for (j = 0; j < cnt; j++) {
                memcpy(xb + j * n_in, x + perm[start + j] * n_in, sizeof(float) * (size_t)n_in);
                memcpy(yb + (size_t)j * y_row, (const unsigned char *)y + (size_t)perm[start + j] * y_row,
                       y_row);
            }
            if (mb_gradient(sim, xb, yb, yt, cnt, n_in, &cost, g, n) != MB_OK)
                goto done;
            for (j = 0; j < n; j++)
                p[j] = p[j] - o->learning_rate * g[j];
            if (mb_model_set_parameters(sim, p, n) != MB_OK)
                goto done;
            if (k < cap)
                costs[k] = cost;
            k++;
        }
    }
    *n_costs = k;
    rc = 0;
done:
    free(perm);
    free(xb);
    free(yb);
    free(p);
    free(g);
    return rc;
}

static int params_close(const mb_model *a, const mb_model *b, double rtol, double atol)
{
    int64_t na = 0, nb = 0, i;
    float *pa = model_params(a, &na), *pb = model_params(b, &nb);
    int ok = pa && pb && na == nb;
    for (i = 0; ok && i < na; i++)
        if (!(fabs((double)pa[i] - pb[i]) <= atol + rtol * fabs((double)pb[i]))) {
            printf("    parameter %d: %.9g vs %.9g\n", (int)i, pa[i], pb[i]);
            ok = 0;
        }
    free(pa);
    free(pb);
    return ok;
}

/* ---- tests --------------------------------------------------------------------------- */

static void check_one_step(const int64_t *sizes, int64_t nl, mb_activation h, mb_loss loss,
                           mb_targets yt, float lr)
{
    enum { M = 20 };
    int64_t n_in = sizes[0], n_out = sizes[nl - 1], n = 0, i;
    mb_model *model = make_model(sizes, nl, h, loss, 3);
    float x[M * 8], y[M * 8];
    int32_t yc[M];
    const void *yy = yt == MB_TARGETS_CLASS_INDEX ? (const void *)yc : (const void *)y;
    float *p0 = NULL, *p1 = NULL, *g = NULL;
    double cost = 0;
    mb_train_options o;
    mb_history *hist = NULL;
    if (!CHECK(model != NULL))
        return;
    tdata_fill(x, M * n_in, 11, -1, 1);
    if (loss == MB_LOSS_CROSS_ENTROPY)
        tdata_soft(y, M, n_out, 12);
    else
        tdata_fill(y, M * n_out, 12, 0, 1);
    tdata_classes(yc, M, n_out == 1 ? 2 : (int32_t)n_out, 13);
    p0 = model_params(model, &n);
    g = (float *)malloc(sizeof(float) * (size_t)n);
    if (!CHECK(p0 && g) || !CHECK_STATUS(mb_history_create(&hist), MB_OK))
        goto done;
    CHECK_STATUS(mb_gradient(model, x, yy, yt, M, n_in, &cost, g, n), MB_OK);
    mb_train_options_init(&o);
    o.epochs = 1;
    o.batch_size = M;
    o.shuffle = 0;
    o.learning_rate = lr;
    CHECK_STATUS(mb_train(model, x, yy, yt, M, n_in, &o, hist), MB_OK);
    p1 = model_params(model, NULL);
    if (CHECK(p1 != NULL)) {
        int ok = 1;
        for (i = 0; i < n; i++) {
            float want = p0[i] - lr * g[i];
            if (!(fabs((double)p1[i] - want) <= 1e-6 * (fabs(p0[i]) + fabs(lr * g[i])) + 1e-9)) {
                if (ok)
                    printf("    loss %d: p[%d] = %.9g after the step, expected %.9g\n",
                           (int)loss, (int)i, p1[i], want);
                ok = 0;
            }
        }
        CHECK(ok);
    }
    CHECK(model_epochs(model) == 1);
    {
        int64_t nc = 0, ne = 0;
        double *bc = history_get(hist, 0, &nc), *ec = history_get(hist, 1, &ne);
        if (CHECK(bc && ec) && CHECK(nc == 1 && ne == 1)) {
            CHECK_NEAR(bc[0], cost, 1e-6, 1e-9);
            CHECK_NEAR(ec[0], cost, 1e-6, 1e-9);
        }
        free(bc);
        free(ec);
    }
done:
    free(p0);
    free(p1);
    free(g);
    mb_history_free(hist);
    mb_model_free(model);
}

static void test_one_step_equals_gradient_step(void)
{
    int64_t s1[] = {3, 5, 4};
    int64_t s2[] = {4, 6, 1};
    int64_t s3[] = {3, 4, 3, 2};
    int64_t s4[] = {2, 1};
    check_one_step(s1, 3, MB_ACTIVATION_TANH, MB_LOSS_CROSS_ENTROPY, MB_TARGETS_FLOAT32, 0.1f);
    check_one_step(s1, 3, MB_ACTIVATION_RELU, MB_LOSS_CROSS_ENTROPY, MB_TARGETS_CLASS_INDEX, 0.5f);
    check_one_step(s2, 3, MB_ACTIVATION_SIGMOID, MB_LOSS_BINARY_CROSS_ENTROPY, MB_TARGETS_FLOAT32, 0.3f);
    check_one_step(s2, 3, MB_ACTIVATION_TANH, MB_LOSS_BINARY_CROSS_ENTROPY, MB_TARGETS_CLASS_INDEX, 0.3f);
    check_one_step(s3, 4, MB_ACTIVATION_TANH, MB_LOSS_MSE, MB_TARGETS_FLOAT32, 0.05f);
    check_one_step(s4, 2, MB_ACTIVATION_RELU, MB_LOSS_MSE, MB_TARGETS_FLOAT32, 0.2f);
}

typedef struct sim_case {
    int64_t m, batch_size, epochs, pre_epochs;
    int shuffle;
    mb_last_batch last;
    uint64_t seed;
} sim_case;

static void check_simulation(const sim_case *sc, mb_loss loss, mb_targets yt)
{
    int64_t sizes[] = {3, 5, 3};
    int64_t m = sc->m, n_out = 3, i, nb_expected;
    mb_model *model = make_model(sizes, 3, MB_ACTIVATION_TANH, loss, 21);
    mb_model *sim = make_model(sizes, 3, MB_ACTIVATION_TANH, loss, 21);
    float *x = (float *)malloc(sizeof(float) * (size_t)(m * 3));
    float *y = (float *)malloc(sizeof(float) * (size_t)(m * n_out));
    int32_t *yc = (int32_t *)malloc(sizeof(int32_t) * (size_t)m);
    const void *yy = yt == MB_TARGETS_CLASS_INDEX ? (const void *)yc : (const void *)y;
    size_t y_row = yt == MB_TARGETS_CLASS_INDEX ? sizeof(int32_t) : sizeof(float) * (size_t)n_out;
    double costs[512];
    int64_t n_costs = 0;
    mb_train_options o;
    mb_history *hist = NULL;
    progress_log log;
    if (!CHECK(model && sim && x && y && yc) || !CHECK_STATUS(mb_history_create(&hist), MB_OK))
        goto done;
    tdata_fill(x, m * 3, 100 + (uint64_t)m, -1, 1);
    if (loss == MB_LOSS_CROSS_ENTROPY)
        tdata_soft(y, m, n_out, 200);
    else if (loss == MB_LOSS_BINARY_CROSS_ENTROPY)
        tdata_fill(y, m * n_out, 200, 0, 1);
    else
        tdata_fill(y, m * n_out, 200, -1, 1);
    tdata_classes(yc, m, (int32_t)n_out, 300);
    mb_train_options_init(&o);
    o.batch_size = sc->batch_size;
    o.shuffle = sc->shuffle;
    o.last_batch = sc->last;
    o.seed = sc->seed;
    o.learning_rate = 0.2f;
    if (sc->pre_epochs > 0) { /* continuing from a model that already trained */
        o.epochs = sc->pre_epochs;
        CHECK_STATUS(mb_train(model, x, yy, yt, m, 3, &o, NULL), MB_OK);
        CHECK(simulate_training(sim, x, yy, y_row, yt, m, 3, &o, 0, costs, 512, &n_costs) == 0);
    }
    o.epochs = sc->epochs;
    o.progress = record_progress;
    memset(&log, 0, sizeof log);
    o.user_data = &log;
    CHECK_STATUS(mb_train(model, x, yy, yt, m, 3, &o, hist), MB_OK);
    o.progress = NULL;
    CHECK(simulate_training(sim, x, yy, y_row, yt, m, 3, &o, sc->pre_epochs, costs, 512,
                            &n_costs) == 0);
    if (!CHECK(params_close(model, sim, 1e-5, 1e-6)))
        printf("    m=%d bs=%d epochs=%d+%d shuffle=%d last=%d loss=%d targets=%d\n", (int)m,
               (int)sc->batch_size, (int)sc->pre_epochs, (int)sc->epochs, sc->shuffle,
               (int)sc->last, (int)loss, (int)yt);
    CHECK(model_epochs(model) == sc->pre_epochs + sc->epochs);
    nb_expected = sc->last == MB_LAST_BATCH_KEEP ? (m + sc->batch_size - 1) / sc->batch_size
                                                 : m / sc->batch_size;
    {
        int64_t nc = 0, ne = 0, e, b;
        double *bc = history_get(hist, 0, &nc), *ec = history_get(hist, 1, &ne);
        if (CHECK(bc && ec) && CHECK(nc == nb_expected * sc->epochs && nc == n_costs) &&
            CHECK(ne == sc->epochs)) {
            int close = 1, means = 1;
            for (i = 0; i < nc; i++)
                if (!(fabs(bc[i] - costs[i]) <= 1e-5 * fabs(costs[i]) + 1e-7))
                    close = 0;
            CHECK(close);
            /* epoch cost = size-weighted mean of its batch costs */
            for (e = 0; e < ne; e++) {
                double s = 0, w = 0;
                for (b = 0; b < nb_expected; b++) {
                    int64_t start = b * sc->batch_size;
                    int64_t cnt = start + sc->batch_size <= m ? sc->batch_size : m - start;
                    s += bc[e * nb_expected + b] * (double)cnt;
                    w += (double)cnt;
                }
                if (!(fabs(ec[e] - s / w) <= 1e-9 * fabs(s / w) + 1e-12))
                    means = 0;
            }
            CHECK(means);
            /* the progress callback saw the same numbers */
            if (CHECK(log.n == sc->epochs))
                for (e = 0; e < ne && e < 64; e++) {
                    const mb_progress *p = &log.rec[e];
                    CHECK(p->epoch == e + 1);
                    CHECK(p->epochs == sc->epochs);
                    CHECK(p->epochs_trained == sc->pre_epochs + e + 1);
                    CHECK(p->batch_size == sc->batch_size);
                    CHECK(p->batches == nb_expected);
                    CHECK(p->epoch_cost == ec[e]);
                    CHECK(p->last_batch_cost == bc[e * nb_expected + nb_expected - 1]);
                }
        }
        free(bc);
        free(ec);
    }
done:
    free(x);
    free(y);
    free(yc);
    mb_history_free(hist);
    mb_model_free(model);
    mb_model_free(sim);
}

static void test_minibatch_training_matches_simulation(void)
{
    static const sim_case sims[] = {
        {10, 3, 3, 0, 1, MB_LAST_BATCH_KEEP, 5},
        {10, 3, 3, 0, 1, MB_LAST_BATCH_DROP, 5},
        {10, 4, 2, 0, 0, MB_LAST_BATCH_KEEP, 0},
        {10, 4, 2, 0, 0, MB_LAST_BATCH_DROP, 0},
        {7, 1, 2, 0, 1, MB_LAST_BATCH_KEEP, 99},
        {12, 12, 3, 0, 1, MB_LAST_BATCH_KEEP, 1},
        {13, 5, 2, 3, 1, MB_LAST_BATCH_KEEP, 77},
        {13, 5, 2, 2, 1, MB_LAST_BATCH_DROP, 0xFFFFFFFFFFFFFFFFull},
        {40, 7, 2, 0, 1, MB_LAST_BATCH_KEEP, 8},
    };
    size_t i;
    for (i = 0; i < sizeof sims / sizeof sims[0]; i++)
        check_simulation(&sims[i], MB_LOSS_CROSS_ENTROPY, MB_TARGETS_CLASS_INDEX);
    check_simulation(&sims[0], MB_LOSS_CROSS_ENTROPY, MB_TARGETS_FLOAT32);
    check_simulation(&sims[1], MB_LOSS_MSE, MB_TARGETS_FLOAT32);
    check_simulation(&sims[6], MB_LOSS_BINARY_CROSS_ENTROPY, MB_TARGETS_FLOAT32);
}

static void test_single_example(void)
{
    int64_t sizes[] = {2, 3, 2};
    mb_model *a = make_model(sizes, 3, MB_ACTIVATION_TANH, MB_LOSS_CROSS_ENTROPY, 1);
    mb_model *sim = make_model(sizes, 3, MB_ACTIVATION_TANH, MB_LOSS_CROSS_ENTROPY, 1);
    float x[2] = {0.5f, -1.0f};
    int32_t y[1] = {1};
    mb_train_options o;
    progress_log log;
    double costs[8];
    int64_t nc = 0;
    if (!CHECK(a && sim))
        goto done;
    mb_train_options_init(&o);
    o.epochs = 3;
    o.learning_rate = 0.1f;
    o.progress = record_progress;
    memset(&log, 0, sizeof log);
    o.user_data = &log;
    CHECK_STATUS(mb_train(a, x, y, MB_TARGETS_CLASS_INDEX, 1, 2, &o, NULL), MB_OK);
    CHECK(log.n == 3 && log.rec[2].batch_size == 1 && log.rec[2].batches == 1);
    o.batch_size = 1;
    o.progress = NULL;
    CHECK(simulate_training(sim, x, y, sizeof(int32_t), MB_TARGETS_CLASS_INDEX, 1, 2, &o, 0,
                            costs, 8, &nc) == 0);
    CHECK(params_close(a, sim, 1e-5, 1e-6));
    {
        int64_t perm[1] = {5};
        float xs[2] = {1, 2};
        CHECK_STATUS(mb_permutation(1, 3, 3, perm), MB_OK);
        CHECK(perm[0] == 0);
        CHECK_STATUS(mb_shuffle(xs, sizeof xs, NULL, 0, 1, 3, 3), MB_OK);
        CHECK(xs[0] == 1 && xs[1] == 2);
    }
done:
    mb_model_free(a);
    mb_model_free(sim);
}

int main(void)
{
    RUN_TEST(test_train_options_defaults);
    RUN_TEST(test_one_step_equals_gradient_step);
    RUN_TEST(test_minibatch_training_matches_simulation);
    RUN_TEST(test_single_example);
    return check_summary();
}
