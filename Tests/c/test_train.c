/*
 * test_train.c - mb_train and its helpers: one step against mb_gradient, mini-batch
 * training against a step-by-step simulation (reference permutation + mb_gradient),
 * history, progress callback, cancellation, divergence, determinism, continuing,
 * convergence on moons, mb_auto_batch_size, mb_working_memory, threads.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ref.h"

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

/* ---- progress recording ------------------------------------------------------------- */

typedef struct progress_log {
    int64_t n;
    int64_t stop_at; /* return nonzero at this epoch (0: never) */
    int stop_value;
    mb_progress rec[64];
} progress_log;

static int record_progress(const mb_progress *p, void *user_data)
{
    progress_log *log = (progress_log *)user_data;
    if (log->n < 64)
        log->rec[log->n] = *p;
    log->n++;
    return (log->stop_at > 0 && p->epoch == log->stop_at) ? log->stop_value : 0;
}

/* ---- history helpers ------------------------------------------------------------------ */

static int64_t history_count(const mb_history *h, int epochs)
{
    int64_t c = -1;
    mb_status s = epochs ? mb_history_epoch_costs(h, NULL, 0, &c)
                         : mb_history_batch_costs(h, NULL, 0, &c);
    return s == MB_OK ? c : -1;
}

/* malloc'd copy of the costs (at least one element); *count receives their number */
static double *history_get(const mb_history *h, int epochs, int64_t *count)
{
    int64_t c = history_count(h, epochs), c2 = -1;
    double *out;
    if (c < 0)
        return NULL;
    out = (double *)malloc(sizeof(double) * (size_t)(c + 1));
    if (!out)
        return NULL;
    if ((epochs ? mb_history_epoch_costs(h, out, c + 1, &c2)
                : mb_history_batch_costs(h, out, c + 1, &c2)) != MB_OK ||
        c2 != c) {
        free(out);
        return NULL;
    }
    *count = c;
    return out;
}

/* ---- simulation of mb_train with mb_gradient ---------------------------------------- */

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

/* Moons data, float32 one-hot targets too. */
typedef struct moons {
    int64_t m;
    float *x;
    int32_t *y;
    float *onehot;
} moons;
#define MOONS_INIT {0, NULL, NULL, NULL}

static int moons_make(moons *d, int64_t m, float noise, uint64_t seed)
{
    int64_t i;
    d->m = m;
    d->x = (float *)malloc(sizeof(float) * (size_t)(m * 2));
    d->y = (int32_t *)malloc(sizeof(int32_t) * (size_t)m);
    d->onehot = (float *)calloc((size_t)(m * 2), sizeof(float));
    if (!d->x || !d->y || !d->onehot || mb_make_moons(m, noise, seed, d->x, d->y) != MB_OK)
        return 0;
    for (i = 0; i < m; i++)
        d->onehot[i * 2 + d->y[i]] = 1.0f;
    return 1;
}

static void moons_free(moons *d)
{
    free(d->x);
    free(d->y);
    free(d->onehot);
}

static mb_model *moons_model(int64_t hidden, mb_loss loss, uint64_t seed)
{
    int64_t sizes[3];
    sizes[0] = 2;
    sizes[1] = hidden;
    sizes[2] = loss == MB_LOSS_CROSS_ENTROPY ? 2 : 1;
    return make_model(sizes, 3, MB_ACTIVATION_TANH, loss, seed);
}

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

static void test_working_memory(void)
{
    /* n_in is the widest layer so the input layer's counting shows */
    int64_t sizes[] = {20, 3, 5, 2};
    mb_model *a = make_model(sizes, 4, MB_ACTIVATION_RELU, MB_LOSS_CROSS_ENTROPY, 0);
    size_t w1 = 0, w2 = 0, w3 = 0, w256 = 0, w512 = 0;
    int64_t np = 3 * 20 + 3 + 5 * 3 + 5 + 2 * 5 + 2;
    if (!CHECK(a != NULL))
        return;
    CHECK_STATUS(mb_working_memory(a, 1, &w1), MB_OK);
    CHECK_STATUS(mb_working_memory(a, 2, &w2), MB_OK);
    CHECK_STATUS(mb_working_memory(a, 3, &w3), MB_OK);
    CHECK_STATUS(mb_working_memory(a, 256, &w256), MB_OK);
    CHECK_STATUS(mb_working_memory(a, 512, &w512), MB_OK);
    CHECK(w2 > w1 && w3 > w2);
    CHECK(w3 - w2 == w2 - w1);              /* affine in batch_size up to 256 */
    CHECK(w256 == w1 + 255 * (w2 - w1));
    /* beyond 256 rows only the gathered batch (n_in + n_out floats per row) grows: forward
       and backward take 256 rows at a time */
    CHECK(w512 == w256 + 256 * 4 * (20 + 2));
    /* gradient, updated parameters, parameters at the start: 3 n_parameters floats; and the
       largest weight matrix of at most 2^17 floats (here layer 1's, 3 x 20) */
    CHECK(w1 - (w2 - w1) == (size_t)(12 * np + 4 * 60));
    {
        /* per example: the gathered batch (n_in + n_out), the activations of every layer,
           two buffers of the widest layer; the header leaves open whether "every layer" and
           "widest" include the input layer. */
        size_t slope = w2 - w1;
        size_t io = 20 + 2, acts_no_in = 3 + 5 + 2, acts_all = 20 + 3 + 5 + 2;
        size_t wide_no_in = 5, wide_all = 20;
        int ok = slope == 4 * (io + acts_no_in + 2 * wide_no_in) ||
                 slope == 4 * (io + acts_no_in + 2 * wide_all) ||
                 slope == 4 * (io + acts_all + 2 * wide_no_in) ||
                 slope == 4 * (io + acts_all + 2 * wide_all);
        if (!CHECK(ok))
            printf("    bytes per example %zu matches no reading of the documented formula\n",
                   slope);
        else
            NOTE("working memory per example: %zu bytes (activations %s the input layer, "
                 "widest layer %s it)",
                 slope,
                 (slope == 4 * (io + acts_all + 2 * wide_no_in) ||
                  slope == 4 * (io + acts_all + 2 * wide_all)) ? "include" : "exclude",
                 (slope == 4 * (io + acts_no_in + 2 * wide_all) ||
                  slope == 4 * (io + acts_all + 2 * wide_all)) ? "counting" : "not counting");
    }
    mb_model_free(a);
}

static void test_auto_batch_size_rule(void)
{
    int64_t sizes[] = {2, 16, 2};
    mb_model *a = make_model(sizes, 3, MB_ACTIVATION_TANH, MB_LOSS_CROSS_ENTROPY, 0);
    size_t w64 = 0, w128 = 0, w256 = 0, w512 = 0;
    int64_t bs = 0;
    if (!CHECK(a != NULL))
        return;
    CHECK_STATUS(mb_working_memory(a, 64, &w64), MB_OK);
    CHECK_STATUS(mb_working_memory(a, 128, &w128), MB_OK);
    CHECK_STATUS(mb_working_memory(a, 256, &w256), MB_OK);
    CHECK_STATUS(mb_working_memory(a, 512, &w512), MB_OK);
    CHECK(w64 < w128 && w128 < w256 && w256 < w512);
    CHECK_STATUS(mb_auto_batch_size(a, 1, 0, &bs), MB_OK);
    CHECK(bs == 1);
    CHECK_STATUS(mb_auto_batch_size(a, 1999, 0, &bs), MB_OK);
    CHECK(bs == 1999);
    CHECK_STATUS(mb_auto_batch_size(a, 1999, 1, &bs), MB_OK); /* below 2000: always m */
    CHECK(bs == 1999);
    CHECK_STATUS(mb_auto_batch_size(a, 2000, 0, &bs), MB_OK);
    CHECK(bs == 512);
    CHECK_STATUS(mb_auto_batch_size(a, INT64_C(1) << 40, 0, &bs), MB_OK);
    CHECK(bs == 512);
    CHECK_STATUS(mb_auto_batch_size(a, 5000, w512, &bs), MB_OK);
    CHECK(bs == 512);
    CHECK_STATUS(mb_auto_batch_size(a, 5000, w512 - 1, &bs), MB_OK);
    CHECK(bs == 256);
    CHECK_STATUS(mb_auto_batch_size(a, 5000, w256, &bs), MB_OK);
    CHECK(bs == 256);
    CHECK_STATUS(mb_auto_batch_size(a, 5000, w256 - 1, &bs), MB_OK);
    CHECK(bs == 128);
    CHECK_STATUS(mb_auto_batch_size(a, 5000, w128 - 1, &bs), MB_OK);
    CHECK(bs == 64);
    CHECK_STATUS(mb_auto_batch_size(a, 5000, w64, &bs), MB_OK);
    CHECK(bs == 64);
    bs = 12345;
    CHECK_ERR(mb_auto_batch_size(a, 5000, w64 - 1, &bs), MB_ERR_INVALID_ARGUMENT);
    mb_model_free(a);
}

static void test_train_auto_batch_resolution(void)
{
    moons d = MOONS_INIT;
    int64_t sizes[] = {2, 4, 2};
    mb_model *a = make_model(sizes, 3, MB_ACTIVATION_TANH, MB_LOSS_CROSS_ENTROPY, 0);
    mb_train_options o;
    progress_log log;
    size_t w128 = 0;
    if (!CHECK(moons_make(&d, 2500, 0.1f, 14)) || !CHECK(a != NULL))
        goto done;
    mb_train_options_init(&o);
    o.epochs = 1;
    o.progress = record_progress;
    o.user_data = &log;
    /* no budget: 512, ceil(2500 / 512) = 5 batches */
    memset(&log, 0, sizeof log);
    CHECK_STATUS(mb_train(a, d.x, d.y, MB_TARGETS_CLASS_INDEX, d.m, 2, &o, NULL), MB_OK);
    CHECK(log.n == 1 && log.rec[0].batch_size == 512 && log.rec[0].batches == 5);
    /* dropping the last batch: 4 */
    o.last_batch = MB_LAST_BATCH_DROP;
    memset(&log, 0, sizeof log);
    CHECK_STATUS(mb_train(a, d.x, d.y, MB_TARGETS_CLASS_INDEX, d.m, 2, &o, NULL), MB_OK);
    CHECK(log.n == 1 && log.rec[0].batch_size == 512 && log.rec[0].batches == 4);
    /* a budget that fits 128 only */
    o.last_batch = MB_LAST_BATCH_KEEP;
    CHECK_STATUS(mb_working_memory(a, 128, &w128), MB_OK);
    o.memory_budget = w128;
    memset(&log, 0, sizeof log);
    CHECK_STATUS(mb_train(a, d.x, d.y, MB_TARGETS_CLASS_INDEX, d.m, 2, &o, NULL), MB_OK);
    CHECK(log.n == 1 && log.rec[0].batch_size == 128 && log.rec[0].batches == 20);
    /* below 2000 examples: one batch of m */
    memset(&log, 0, sizeof log);
    o.memory_budget = 0;
    CHECK_STATUS(mb_train(a, d.x, d.y, MB_TARGETS_CLASS_INDEX, 100, 2, &o, NULL), MB_OK);
    CHECK(log.n == 1 && log.rec[0].batch_size == 100 && log.rec[0].batches == 1);
    /* an explicit batch size ignores the budget */
    o.batch_size = 500;
    o.memory_budget = 1;
    memset(&log, 0, sizeof log);
    CHECK_STATUS(mb_train(a, d.x, d.y, MB_TARGETS_CLASS_INDEX, d.m, 2, &o, NULL), MB_OK);
    CHECK(log.n == 1 && log.rec[0].batch_size == 500 && log.rec[0].batches == 5);
    CHECK(model_epochs(a) == 5);
done:
    moons_free(&d);
    mb_model_free(a);
}

/* After MB_ERR_DIVERGED the kept weights are finite and are the last that gave a finite cost:
   their full-batch cost is the last batch cost in the history. */
static void check_divergence(const int64_t *sizes, int64_t nl, mb_activation h, int linear)
{
    enum { M = 32 };
    float x[M * 2], y[M];
    int64_t i, n = 0;
    mb_model *a = make_model(sizes, nl, h, MB_LOSS_MSE, 1);
    mb_history *hist = NULL;
    mb_train_options o;
    float *p = NULL, *g = NULL;
    if (!CHECK(a != NULL) || !CHECK_STATUS(mb_history_create(&hist), MB_OK))
        goto done;
    tdata_fill(x, M * 2, 15, -1, 1);
    for (i = 0; i < M; i++)
        y[i] = 3.0f * x[i * 2] - 2.0f * x[i * 2 + 1] + 1.0f;
    mb_train_options_init(&o);
    o.batch_size = M;
    o.shuffle = 0;
    o.epochs = 20;
    o.learning_rate = 1e30f;
    /* for linear regression the first full-batch step is finite (|w| ~ 1e30) and the second
       batch's cost overflows float32 (predictions ~ 1e30, squared errors ~ 1e60): the model
       goes back to the weights before that first step, exactly, and the first epoch's cost,
       theirs, is in the history */
    n = model_n_params(a);
    g = (float *)malloc(sizeof(float) * (size_t)n);
    p = model_params(a, NULL);
    if (!CHECK(g && p))
        goto done;
    {
        double cost0 = 0;
        float *p1 = NULL;
        int64_t ne = 0;
        double *ec;
        CHECK_STATUS(mb_gradient(a, x, y, MB_TARGETS_FLOAT32, M, 2, &cost0, g, n), MB_OK);
        CHECK_ERR(mb_train(a, x, y, MB_TARGETS_FLOAT32, M, 2, &o, hist), MB_ERR_DIVERGED);
        if (linear) {
            p1 = model_params(a, NULL);
            if (CHECK(p1 != NULL)) {
                if (!CHECK(memcmp(p1, p, sizeof(float) * (size_t)n) == 0))
                    printf("    kept weights differ from those before the first (finite) step\n");
            }
            ec = history_get(hist, 1, &ne);
            if (CHECK(ec != NULL) && CHECK(ne >= 1))
                CHECK_NEAR(ec[0], cost0, 1e-6, 1e-9);
            free(ec);
            free(p1);
        }
    }
    free(p);
    p = model_params(a, &n);
    if (!CHECK(p != NULL))
        goto done;
    CHECK(all_finite_f(p, n));
    /* costs recorded before the failure are all finite, and there was at least one; the kept
       weights' cost is the last of them */
    {
        int64_t nb = 0, ne = 0;
        double *bc = history_get(hist, 0, &nb), *ec = history_get(hist, 1, &ne);
        if (CHECK(bc && ec)) {
            int fin = 1;
            double cost = 0;
            CHECK(nb >= 1);
            for (i = 0; i < ne; i++)
                if (!isfinite(ec[i]))
                    fin = 0;
            CHECK(fin);
            CHECK(ne <= 20 && ne <= nb);
            if (CHECK(g != NULL) && nb >= 1 &&
                CHECK_STATUS(mb_gradient(a, x, y, MB_TARGETS_FLOAT32, M, 2, &cost, g, n), MB_OK))
                CHECK_NEAR(cost, bc[nb - 1], 1e-5, 1e-9);
        }
        free(bc);
        free(ec);
    }
    /* the model is still usable, and its outputs are finite */
    {
        float out[M];
        CHECK_STATUS(mb_predict(a, x, M, 2, out), MB_OK);
        CHECK(all_finite_f(out, M));
    }
done:
    free(p);
    free(g);
    mb_history_free(hist);
    mb_model_free(a);
}

static void test_huge_learning_rate_diverges(void)
{
    int64_t lin[] = {2, 1};
    int64_t deep[] = {2, 8, 1};
    check_divergence(lin, 2, MB_ACTIVATION_RELU, 1);
    check_divergence(deep, 3, MB_ACTIVATION_RELU, 0);
    check_divergence(deep, 3, MB_ACTIVATION_TANH, 0);
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
    RUN_TEST(test_train_options_defaults);
    RUN_TEST(test_one_step_equals_gradient_step);
    RUN_TEST(test_minibatch_training_matches_simulation);
    RUN_TEST(test_single_example);
    RUN_TEST(test_same_seed_bit_identical);
    RUN_TEST(test_two_calls_equal_one);
    RUN_TEST(test_options_null_equals_defaults);
    RUN_TEST(test_train_only_reads_data);
    RUN_TEST(test_history_clear_and_append);
    RUN_TEST(test_callback_stop_cancels);
    RUN_TEST(test_full_batch_cost_decreases);
    RUN_TEST(test_moons_accuracy);
    RUN_TEST(test_working_memory);
    RUN_TEST(test_auto_batch_size_rule);
    RUN_TEST(test_train_auto_batch_resolution);
    RUN_TEST(test_huge_learning_rate_diverges);
    RUN_TEST(test_threads_distinct_models);
    return check_summary();
}
