/*
 * mpi_fixtures.c - what the tests of test_mpi share (mpi_fixtures.h): the ranks, the data,
 * the models, the options, training and its outcome, the comparisons with one process and
 * the layout of rows over the ranks. The files: mpi_fixtures_files.c.
 */
#define _XOPEN_SOURCE 700
#include <stdlib.h>

#include "mpi_fixtures.h"

mb_communicator g_comm;
int R = 1;   /* ranks */
int K = 0;   /* this rank */
int ODD = 0; /* the rank made to differ in the error tests: the last one */
char g_dir[256];

/* ---- data: the same on every rank -------------------------------------------------------- */

float g_moons_x[MOONS_M * 2];
int32_t g_moons_y[MOONS_M];
float g_moons_yf[MOONS_M];
float g_val_x[MOONS_VAL_M * 2];
int32_t g_val_y[MOONS_VAL_M];
float g_moons_soft[MOONS_M * 2]; /* probabilities (MOONS_M, 2) */
float g_moons_weight[MOONS_M];   /* sample weights in [0, 2), every 7th 0 */
float *g_w1_x;     /* (W1_M, W1_N): uniform [0, 1) */
int32_t *g_w1_y;   /* (W1_M): classes 0 .. 9 */

const data k_moons = {g_moons_x, g_moons_y, MB_TARGETS_CLASS_INDEX, MOONS_M, 2, NULL};
const data k_moons_float = {g_moons_x, g_moons_yf, MB_TARGETS_FLOAT32, MOONS_M, 2, NULL};
data g_w1;   /* W1-small in memory */
data g_file; /* its first FILE_M rows in memory (the file's contents) */

void make_data(void)
{
    int64_t i;
    CHECK_STATUS(mb_make_moons(MOONS_M, 0.2f, 7, g_moons_x, g_moons_y), MB_OK);
    CHECK_STATUS(mb_make_moons(MOONS_VAL_M, 0.2f, 8, g_val_x, g_val_y), MB_OK);
    for (i = 0; i < MOONS_M; i++)
        g_moons_yf[i] = (float)g_moons_y[i];
    tdata_soft(g_moons_soft, MOONS_M, 2, 103);
    tdata_fill(g_moons_weight, MOONS_M, 104, 0.0, 2.0);
    for (i = 0; i < MOONS_M; i += 7)
        g_moons_weight[i] = 0.0f;
    g_w1_x = (float *)malloc(sizeof(float) * W1_M * W1_N);
    g_w1_y = (int32_t *)malloc(sizeof(int32_t) * W1_M);
    tdata_fill(g_w1_x, (int64_t)W1_M * W1_N, 101, 0.0, 1.0);
    tdata_classes(g_w1_y, W1_M, 10, 102);
    g_w1.x = g_w1_x;
    g_w1.y = g_w1_y;
    g_w1.y_type = MB_TARGETS_CLASS_INDEX;
    g_w1.m = W1_M;
    g_w1.n = W1_N;
    g_file = g_w1;
    g_file.m = FILE_M;
}

/* ---- models ------------------------------------------------------------------------------ */

/* The moons models are wide enough (1,000-1,300 parameters) for batches of 100 rows and up
 * to make 3-4 shards under the layout's work rule (shards_of). */
const spec k_moons_ce = {"2-256-2 cross-entropy", {2, 256, 2, 0}, 3, MB_ACTIVATION_TANH,
                         MB_LOSS_CROSS_ENTROPY, 1};
const spec k_moons_bce = {"2-256-1 binary cross-entropy", {2, 256, 1, 0}, 3,
                          MB_ACTIVATION_RELU, MB_LOSS_BINARY_CROSS_ENTROPY, 2};
const spec k_deep = {"2-64-64-2", {2, 64, 64, 2}, 4, MB_ACTIVATION_TANH,
                     MB_LOSS_CROSS_ENTROPY, 3};
const spec k_wide = {"2-256-256-2", {2, 256, 256, 2}, 4, MB_ACTIVATION_RELU,
                     MB_LOSS_CROSS_ENTROPY, 4};
const spec k_w1 = {"W1-small 784-128-10", {784, 128, 10, 0}, 3, MB_ACTIVATION_RELU,
                   MB_LOSS_CROSS_ENTROPY, 5};
const spec k_file_model = {"784-32-10", {784, 32, 10, 0}, 3, MB_ACTIVATION_RELU,
                           MB_LOSS_CROSS_ENTROPY, 6};
const spec k_mse = {"2-256-1 MSE", {2, 256, 1, 0}, 3, MB_ACTIVATION_TANH, MB_LOSS_MSE, 7};
const spec k_small8 = {"8-4-2", {8, 4, 2, 0}, 3, MB_ACTIVATION_TANH,
                       MB_LOSS_CROSS_ENTROPY, 11};
/* a first layer of 784 * 384 = 301056 >= 2^18 weights: shards of at least 64 rows, and plain
 * SGD's fused update */
const spec k_w1_large = {"784-384-10", {784, 384, 10, 0}, 3, MB_ACTIVATION_RELU,
                         MB_LOSS_CROSS_ENTROPY, 8};
const spec k_moons_mse = {"2-256-1 MSE", {2, 256, 1, 0}, 3, MB_ACTIVATION_TANH,
                          MB_LOSS_MSE, 9};
const spec k_moons_soft = {"2-256-2 soft targets", {2, 256, 2, 0}, 3,
                           MB_ACTIVATION_SIGMOID, MB_LOSS_CROSS_ENTROPY, 10};

mb_model *spec_model(const spec *sp)
{
    mb_model *model = make_model(sp->sizes, sp->n_layers, sp->hidden, sp->loss, sp->seed);
    if (!CHECK(model != NULL))
        printf("    could not create %s: %s\n", sp->name, mb_last_error());
    return model;
}

/* ---- options ----------------------------------------------------------------------------- */

mb_train_options base_options(int64_t epochs, int64_t batch_size, float learning_rate)
{
    mb_train_options o;
    memset(&o, 0, sizeof o);
    mb_train_options_init(&o);
    o.epochs = epochs;
    o.batch_size = batch_size;
    o.learning_rate = learning_rate;
    o.seed = 5;
    o.threads = 1;
    o.shards = S;
    return o;
}

/* ---- training and its outcome --------------------------------------------------------------- */

mb_status train(mb_model *model, const data *d, const mb_train_options *o, mb_history *h)
{
    if (d->dataset != NULL)
        return mb_train_dataset(model, d->dataset, o, h);
    return mb_train(model, d->x, d->y, d->y_type, d->m, d->n, o, h);
}

typedef mb_status (*history_fn)(const mb_history *, double *, int64_t, int64_t *);
static const char *const k_hist_names[N_HIST] = {"batch costs", "epoch costs",
                                                 "validation costs", "validation scores",
                                                 "learning rates"};
static const history_fn k_hist_fns[N_HIST] = {
    mb_history_batch_costs, mb_history_epoch_costs, mb_history_validation_costs,
    mb_history_validation_scores, mb_history_learning_rates};

/* Call right after the training call (reads mb_last_error). */
void outcome_fill(outcome *out, mb_status status, const mb_model *model,
                  const mb_history *history)
{
    int i;
    memset(out, 0, sizeof *out);
    out->status = status;
    if (status != MB_OK)
        strncpy(out->message, mb_last_error(), sizeof out->message - 1);
    out->params = model ? model_params(model, &out->n_params) : NULL;
    out->epochs = model ? model_epochs(model) : -1;
    for (i = 0; i < N_HIST; i++) {
        int64_t n = 0;
        if (history == NULL || k_hist_fns[i](history, NULL, 0, &n) != MB_OK)
            n = 0;
        out->hist[i] = (double *)calloc((size_t)n + 1, sizeof(double));
        if (n > 0 && k_hist_fns[i](history, out->hist[i], n, &n) != MB_OK)
            n = 0;
        out->hist_n[i] = n;
    }
}

void outcome_free(outcome *o)
{
    int i;
    free(o->params);
    for (i = 0; i < N_HIST; i++)
        free(o->hist[i]);
    memset(o, 0, sizeof *o);
}

/* Trains a fresh model of `sp` with options o on d: status, model and history in *out. */
void train_fresh(const spec *sp, const data *d, const mb_train_options *o, outcome *out)
{
    mb_model *model = spec_model(sp);
    mb_history *h = NULL;
    mb_status s;
    mb_history_create(&h);
    s = train(model, d, o, h);
    outcome_fill(out, s, model, h);
    mb_history_free(h);
    mb_model_free(model);
}

/* Collective: every rank has the same status, message, weights, epochs and history. */
void expect_same_on_every_rank(const char *label, const outcome *d)
{
    int i, same = 1;
    same &= CHECK_SAME_INT(d->status);
    same &= CHECK_SAME_STRING(d->message);
    same &= CHECK_SAME_INT(d->epochs);
    same &= CHECK_SAME_BYTES(d->params, sizeof(float) * (size_t)d->n_params);
    for (i = 0; i < N_HIST; i++) {
        same &= CHECK_SAME_INT(d->hist_n[i]);
        same &= CHECK_SAME_BYTES(d->hist[i], sizeof(double) * (size_t)d->hist_n[i]);
    }
    if (!same && K == 0)
        printf("    (the ranks differ in: %s)\n", label);
}

static void first_difference_f(const char *label, const float *a, const float *b, int64_t n)
{
    int64_t i, count = 0, first = -1;
    for (i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], sizeof(float)) != 0) {
            count++;
            if (first < 0)
                first = i;
        }
    if (first >= 0)
        printf("    [rank %d] %s: %lld of %lld parameters differ; first [%lld]: %.9g vs %.9g "
               "(one process)\n",
               K, label, (long long)count, (long long)n, (long long)first, a[first], b[first]);
}

static void first_difference_d(const char *label, const char *what, const double *a,
                               int64_t na, const double *b, int64_t nb)
{
    int64_t i;
    if (na != nb) {
        printf("    [rank %d] %s: %lld %s, one process %lld\n", K, label, (long long)na, what,
               (long long)nb);
        return;
    }
    for (i = 0; i < na; i++)
        if (memcmp(&a[i], &b[i], sizeof(double)) != 0) {
            printf("    [rank %d] %s: %s[%lld] = %.17g, one process %.17g\n", K, label, what,
                   (long long)i, a[i], b[i]);
            return;
        }
}

/* Deterministic mode: d (distributed) is byte for byte r (one process), on every rank. */
void expect_identical(const char *label, const outcome *d, const outcome *r)
{
    int i;
    if (!CHECK(d->status == r->status))
        printf("    [rank %d] %s: distributed %s \"%s\", one process %s \"%s\"\n", K, label,
               mb_status_name(d->status), d->message, mb_status_name(r->status), r->message);
    if (!CHECK(d->params != NULL && r->params != NULL && d->n_params == r->n_params &&
               memcmp(d->params, r->params, sizeof(float) * (size_t)d->n_params) == 0) &&
        d->params && r->params && d->n_params == r->n_params)
        first_difference_f(label, d->params, r->params, d->n_params);
    if (!CHECK(d->epochs == r->epochs))
        printf("    [rank %d] %s: epochs_trained %lld, one process %lld\n", K, label,
               (long long)d->epochs, (long long)r->epochs);
    for (i = 0; i < N_HIST; i++)
        if (!CHECK(d->hist_n[i] == r->hist_n[i] &&
                   memcmp(d->hist[i], r->hist[i], sizeof(double) * (size_t)d->hist_n[i]) == 0))
            first_difference_d(label, k_hist_names[i], d->hist[i], d->hist_n[i], r->hist[i],
                               r->hist_n[i]);
    expect_same_on_every_rank(label, d);
}

/* Fast mode: weights within wtol of one process, costs within relative ctol; the same on
 * every rank. */
void expect_close(const char *label, const outcome *d, const outcome *r, double wtol,
                  double ctol)
{
    int64_t i;
    int j;
    double worst = 0;
    CHECK(d->status == r->status);
    CHECK(d->epochs == r->epochs);
    if (CHECK(d->params && r->params && d->n_params == r->n_params)) {
        for (i = 0; i < d->n_params; i++) {
            double diff = fabs((double)d->params[i] - (double)r->params[i]);
            if (!(diff <= worst)) /* NaN too */
                worst = diff;
        }
        if (!CHECK(worst <= wtol))
            printf("    [rank %d] %s: max |w - w_one_process| = %.3g > %.3g\n", K, label, worst,
                   wtol);
        else
            NOTE("%s: max |w - w_one_process| = %.3g (tolerance %.1g)", label, worst, wtol);
    }
    for (j = 0; j < 2; j++)
        if (CHECK(d->hist_n[j] == r->hist_n[j]))
            for (i = 0; i < d->hist_n[j]; i++)
                if (!CHECK_NEAR(d->hist[j][i], r->hist[j][i], ctol, 0)) {
                    printf("    [rank %d] %s: %s[%lld]\n", K, label, k_hist_names[j],
                           (long long)i);
                    break;
                }
    expect_same_on_every_rank(label, d);
}

/* Trains sp on ref_data alone (the reference: no communicator) and on dist_data across the
 * ranks in `mode`, both with *base, and compares. Both must return `want`. */
void check_against_one_process(const char *label, const spec *sp, const data *dist_data,
                               const data *ref_data, const mb_train_options *base,
                               mb_distributed_mode mode, mb_status want)
{
    outcome d, r;
    mb_train_options o = *base;
    o.communicator = NULL;
    train_fresh(sp, ref_data, &o, &r);
    o = *base;
    o.communicator = &g_comm;
    o.distributed_mode = mode;
    train_fresh(sp, dist_data, &o, &d);
    if (!CHECK(r.status == want))
        printf("    [rank %d] %s: one process returned %s \"%s\", expected %s\n", K, label,
               mb_status_name(r.status), r.message, mb_status_name(want));
    if (!CHECK(d.status == want))
        printf("    [rank %d] %s: distributed returned %s \"%s\", expected %s\n", K, label,
               mb_status_name(d.status), d.message, mb_status_name(want));
    if (mode == MB_DISTRIBUTED_DETERMINISTIC)
        expect_identical(label, &d, &r);
    else
        expect_close(label, &d, &r, 1e-4, 1e-5);
    outcome_free(&d);
    outcome_free(&r);
}

/* ---- the layout (header: "The layout") --------------------------------------------------- */

/* Shards of a batch of r rows (header, "The layout"):
 * n = max(1, min(S, r / 4, r * (n_parameters + n_inputs) / (32768 + 3 * n_parameters))),
 * r / 64 instead of r / 4 for a first layer of 2^18 weights or more. */
static int64_t shards_of(int64_t r, int64_t n_params, int64_t n_inputs, int64_t first_weights)
{
    int64_t n = S, min_rows = first_weights >= ((int64_t)1 << 18) ? 64 : 4;
    int64_t work = r * (n_params + n_inputs), shard_work = 32768 + 3 * n_params;
    if (r / min_rows < n)
        n = r / min_rows;
    if (work / shard_work < n)
        n = work / shard_work;
    return n < 1 ? 1 : n;
}

/* owned[i] = 1 for each original row that `rank` trains on in epoch `epoch` (mb_permutation,
 * mb_partition, the shard rule, rank k computing shards [k*n/R, (k+1)*n/R)). */
void rows_of_rank(int rank, int64_t m, int64_t batch_size, mb_last_batch last,
                  uint64_t seed, uint64_t epoch, const mb_model *model,
                  unsigned char *owned)
{
    mb_model_info info;
    mb_layer_info l0;
    int64_t *perm = (int64_t *)malloc(sizeof(int64_t) * (size_t)m);
    int64_t n_batches = 0, b, s, j;
    int64_t *starts = NULL, *counts = NULL;
    memset(owned, 0, (size_t)m);
    CHECK_STATUS(mb_model_get_info(model, &info), MB_OK);
    CHECK_STATUS(mb_model_layer(model, 0, &l0), MB_OK);
    CHECK_STATUS(mb_permutation(m, seed, epoch, perm), MB_OK);
    CHECK_STATUS(mb_partition(m, batch_size, last, NULL, NULL, 0, &n_batches), MB_OK);
    starts = (int64_t *)malloc(sizeof(int64_t) * (size_t)(n_batches + 1));
    counts = (int64_t *)malloc(sizeof(int64_t) * (size_t)(n_batches + 1));
    CHECK_STATUS(mb_partition(m, batch_size, last, starts, counts, n_batches, &n_batches),
                 MB_OK);
    for (b = 0; b < n_batches; b++) {
        int64_t r = counts[b];
        int64_t n = shards_of(r, info.n_parameters, info.n_inputs, l0.n_in * l0.n_out);
        for (s = (int64_t)rank * n / R; s < (int64_t)(rank + 1) * n / R; s++)
            for (j = s * r / n; j < (s + 1) * r / n; j++)
                owned[perm[starts[b] + j]] = 1;
    }
    free(perm);
    free(starts);
    free(counts);
}
