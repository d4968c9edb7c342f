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
 *   mpirun -np 3 ./test_mpi                      every test
 *   mpirun -np 3 ./test_mpi test_fast_mode ...   only the tests named
 */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "minibatch_mpi.h"
#include "mpi_check.h"
#include "ref.h"

/* Shards of every run, distributed and reference: the layout, and so the result. */
enum { S = 4 };

static mb_communicator g_comm;
static int R = 1;   /* ranks */
static int K = 0;   /* this rank */
static int ODD = 0; /* the rank made to differ in the error tests: the last one */
static char g_dir[256];

/* ---- data: the same on every rank -------------------------------------------------------- */

enum { MOONS_M = 1000, MOONS_VAL_M = 200, W1_M = 2048, W1_N = 784, FILE_M = 520 };

static float g_moons_x[MOONS_M * 2];
static int32_t g_moons_y[MOONS_M];
static float g_moons_yf[MOONS_M];
static float g_val_x[MOONS_VAL_M * 2];
static int32_t g_val_y[MOONS_VAL_M];
static float g_moons_soft[MOONS_M * 2]; /* probabilities (MOONS_M, 2) */
static float g_moons_weight[MOONS_M];   /* sample weights in [0, 2), every 7th 0 */
static float *g_w1_x;     /* (W1_M, W1_N): uniform [0, 1) */
static int32_t *g_w1_y;   /* (W1_M): classes 0 .. 9 */

typedef struct data {
    const float *x;
    const void *y;
    mb_targets y_type;
    int64_t m, n;
    const mb_dataset *dataset; /* non-NULL: mb_train_dataset instead */
} data;

static const data k_moons = {g_moons_x, g_moons_y, MB_TARGETS_CLASS_INDEX, MOONS_M, 2, NULL};
static const data k_moons_float = {g_moons_x, g_moons_yf, MB_TARGETS_FLOAT32, MOONS_M, 2, NULL};
static data g_w1;   /* W1-small in memory */
static data g_file; /* its first FILE_M rows in memory (the file's contents) */

/* ---- models ------------------------------------------------------------------------------ */

typedef struct spec {
    const char *name;
    int64_t sizes[4];
    int64_t n_layers;
    mb_activation hidden;
    mb_loss loss;
    uint64_t seed;
} spec;

static const spec k_moons_ce = {"2-32-2 cross-entropy", {2, 32, 2, 0}, 3, MB_ACTIVATION_TANH,
                                MB_LOSS_CROSS_ENTROPY, 1};
static const spec k_moons_bce = {"2-16-1 binary cross-entropy", {2, 16, 1, 0}, 3,
                                 MB_ACTIVATION_RELU, MB_LOSS_BINARY_CROSS_ENTROPY, 2};
static const spec k_deep = {"2-64-64-2", {2, 64, 64, 2}, 4, MB_ACTIVATION_TANH,
                            MB_LOSS_CROSS_ENTROPY, 3};
static const spec k_wide = {"2-256-256-2", {2, 256, 256, 2}, 4, MB_ACTIVATION_RELU,
                            MB_LOSS_CROSS_ENTROPY, 4};
static const spec k_w1 = {"W1-small 784-128-10", {784, 128, 10, 0}, 3, MB_ACTIVATION_RELU,
                          MB_LOSS_CROSS_ENTROPY, 5};
static const spec k_file_model = {"784-32-10", {784, 32, 10, 0}, 3, MB_ACTIVATION_RELU,
                                  MB_LOSS_CROSS_ENTROPY, 6};
static const spec k_mse = {"2-32-1 MSE", {2, 32, 1, 0}, 3, MB_ACTIVATION_TANH, MB_LOSS_MSE, 7};
static const spec k_small8 = {"8-4-2", {8, 4, 2, 0}, 3, MB_ACTIVATION_TANH,
                              MB_LOSS_CROSS_ENTROPY, 11};
/* a first layer of 784 * 384 = 301056 >= 2^18 weights: shards of at least 64 rows, and plain
 * SGD's fused update */
static const spec k_w1_large = {"784-384-10", {784, 384, 10, 0}, 3, MB_ACTIVATION_RELU,
                                MB_LOSS_CROSS_ENTROPY, 8};
static const spec k_moons_mse = {"2-32-1 MSE", {2, 32, 1, 0}, 3, MB_ACTIVATION_TANH,
                                 MB_LOSS_MSE, 9};
static const spec k_moons_soft = {"2-32-2 soft targets", {2, 32, 2, 0}, 3,
                                  MB_ACTIVATION_SIGMOID, MB_LOSS_CROSS_ENTROPY, 10};

static mb_model *spec_model(const spec *sp)
{
    mb_model *model = make_model(sp->sizes, sp->n_layers, sp->hidden, sp->loss, sp->seed);
    if (!CHECK(model != NULL))
        printf("    could not create %s: %s\n", sp->name, mb_last_error());
    return model;
}

/* ---- options ----------------------------------------------------------------------------- */

static mb_train_options base_options(int64_t epochs, int64_t batch_size, float learning_rate)
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

typedef struct rule {
    const char *name;
    mb_optimizer optimizer;
    float momentum;
    int nesterov;
    float learning_rate;
} rule;

static const rule k_rules[] = {
    {"SGD", MB_OPTIMIZER_SGD, 0.0f, 0, 0.1f},
    {"SGD momentum", MB_OPTIMIZER_SGD, 0.9f, 0, 0.05f},
    {"SGD Nesterov", MB_OPTIMIZER_SGD, 0.9f, 1, 0.05f},
    {"RMSprop", MB_OPTIMIZER_RMSPROP, 0.0f, 0, 0.01f},
    {"Adam", MB_OPTIMIZER_ADAM, 0.0f, 0, 0.01f},
    {"AdamW", MB_OPTIMIZER_ADAMW, 0.0f, 0, 0.01f},
};
enum { N_RULES = sizeof k_rules / sizeof k_rules[0] };

static void apply_rule(mb_train_options *o, const rule *r, float rate_scale)
{
    o->optimizer = r->optimizer;
    o->momentum = r->momentum;
    o->nesterov = r->nesterov;
    o->learning_rate = r->learning_rate * rate_scale;
}

/* ---- training and its outcome --------------------------------------------------------------- */

static mb_status train(mb_model *model, const data *d, const mb_train_options *o, mb_history *h)
{
    if (d->dataset != NULL)
        return mb_train_dataset(model, d->dataset, o, h);
    return mb_train(model, d->x, d->y, d->y_type, d->m, d->n, o, h);
}

typedef mb_status (*history_fn)(const mb_history *, double *, int64_t, int64_t *);
enum { N_HIST = 5 };
static const char *const k_hist_names[N_HIST] = {"batch costs", "epoch costs",
                                                 "validation costs", "validation scores",
                                                 "learning rates"};
static const history_fn k_hist_fns[N_HIST] = {
    mb_history_batch_costs, mb_history_epoch_costs, mb_history_validation_costs,
    mb_history_validation_scores, mb_history_learning_rates};

/* What one training call left: its status and message, the model and the history. */
typedef struct outcome {
    mb_status status;
    char message[MPI_CHECK_STRING];
    float *params;
    int64_t n_params;
    int64_t epochs;
    double *hist[N_HIST];
    int64_t hist_n[N_HIST];
} outcome;

/* Call right after the training call (reads mb_last_error). */
static void outcome_fill(outcome *out, mb_status status, const mb_model *model,
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

static void outcome_free(outcome *o)
{
    int i;
    free(o->params);
    for (i = 0; i < N_HIST; i++)
        free(o->hist[i]);
    memset(o, 0, sizeof *o);
}

/* Trains a fresh model of `sp` with options o on d: status, model and history in *out. */
static void train_fresh(const spec *sp, const data *d, const mb_train_options *o, outcome *out)
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
static void expect_same_on_every_rank(const char *label, const outcome *d)
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
static void expect_identical(const char *label, const outcome *d, const outcome *r)
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
static void expect_close(const char *label, const outcome *d, const outcome *r, double wtol,
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
static void check_against_one_process(const char *label, const spec *sp, const data *dist_data,
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
 * n = max(1, min(S, r / 4, r * (n_parameters + n_inputs) / 8192)), r / 64 instead of r / 4
 * for a first layer of 2^18 weights or more. */
static int64_t shards_of(int64_t r, int64_t n_params, int64_t n_inputs, int64_t first_weights)
{
    int64_t n = S, min_rows = first_weights >= ((int64_t)1 << 18) ? 64 : 4;
    int64_t work = r * (n_params + n_inputs);
    if (r / min_rows < n)
        n = r / min_rows;
    if (work / 8192 < n)
        n = work / 8192;
    return n < 1 ? 1 : n;
}

/* owned[i] = 1 for each original row that `rank` trains on in epoch `epoch` (mb_permutation,
 * mb_partition, the shard rule, rank k computing shards [k*n/R, (k+1)*n/R)). */
static void rows_of_rank(int rank, int64_t m, int64_t batch_size, mb_last_batch last,
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

/* ---- files -------------------------------------------------------------------------------- */

static void file_path(char *out, const char *name)
{
    snprintf(out, 512, "%s/%s", g_dir, name);
}

/* Writes <dir>/name holding rows (m, n) float32 or labels (m) int32. */
static void write_x(const char *name, const float *x, int64_t m, int64_t n)
{
    char p[512], shape[64];
    file_path(p, name);
    snprintf(shape, sizeof shape, "(%lld, %lld)", (long long)m, (long long)n);
    if (!CHECK(npy_write(p, "<f4", shape, x, sizeof(float) * (size_t)(m * n), 0) == 0))
        printf("    [rank %d] could not write %s\n", K, p);
}

static void write_y(const char *name, const int32_t *y, int64_t m)
{
    char p[512], shape[64];
    file_path(p, name);
    snprintf(shape, sizeof shape, "(%lld,)", (long long)m);
    if (!CHECK(npy_write(p, "<i4", shape, y, sizeof(int32_t) * (size_t)m, 0) == 0))
        printf("    [rank %d] could not write %s\n", K, p);
}

static mb_dataset *open_dataset(const char *x_name, const char *y_name, mb_file_shuffle shuffle)
{
    char xp[512], yp[512];
    mb_dataset_options o;
    mb_dataset *d = NULL;
    file_path(xp, x_name);
    file_path(yp, y_name);
    mb_dataset_options_init(&o);
    o.shuffle = shuffle;
    o.block_bytes = sizeof(float) * W1_N * 16; /* 16 rows a block: many blocks per epoch */
    if (!CHECK_STATUS(mb_dataset_open_npy(xp, yp, &o, &d), MB_OK))
        printf("    [rank %d] open %s %s: %s\n", K, xp, yp, mb_last_error());
    return d;
}

/* The shared files x.npy, y.npy (FILE_M rows of W1-small), written once by rank 0. */
static void write_shared_files(void)
{
    static int written = 0;
    if (!written && K == 0) {
        write_x("x.npy", g_w1_x, FILE_M, W1_N);
        write_y("y.npy", g_w1_y, FILE_M);
    }
    written = 1;
    MPI_Barrier(MPI_COMM_WORLD);
}

static void rank_file_name(char *out, const char *stem)
{
    snprintf(out, 64, "%s-rank%d.npy", stem, K);
}

/* ---- the tests: contract and setup -------------------------------------------------------- */

static void test_library_has_distributed_options(void)
{
    mb_train_options o;
    memset(&o, 0xAB, sizeof o);
    mb_train_options_init(&o);
    CHECK(mb_version_number() == MB_VERSION_NUMBER);
    /* an older library would leave the distributed fields past its struct_size, and ignore
       them: every test below would then pass without distributing anything */
    if (!CHECK(o.struct_size == sizeof(mb_train_options)))
        printf("    [rank %d] the library's mb_train_options has %zu bytes, the header's %zu: "
               "not the distributed engine\n",
               K, o.struct_size, sizeof(mb_train_options));
    CHECK(o.shards == 0 && o.communicator == NULL &&
          o.distributed_mode == MB_DISTRIBUTED_DETERMINISTIC);
    CHECK(g_comm.struct_size == sizeof(mb_communicator));
    CHECK(g_comm.rank == K && g_comm.size == R);
    CHECK(g_comm.allreduce_sum && g_comm.allgather && g_comm.broadcast);
    CHECK_STATUS(mb_mpi_communicator(MPI_COMM_WORLD, NULL), MB_ERR_INVALID_ARGUMENT);
    {
        mb_communicator c;
        CHECK_STATUS(mb_mpi_communicator(MPI_COMM_NULL, &c), MB_ERR_INVALID_ARGUMENT);
        mb_mpi_communicator_free(NULL);
    }
}

/* ---- deterministic mode: bit-identical to one process ------------------------------------- */

/* The reference itself, one process: its result depends on shards, never on threads, and S
 * shards do differ from one (else comparing with S shards would prove less). */
static void test_one_process_reference_depends_on_shards_only(void)
{
    outcome a, b, c;
    mb_train_options o = base_options(1, 128, 0.01f);
    o.momentum = 0.9f;
    train_fresh(&k_w1, &g_w1, &o, &a);
    o.threads = 2;
    train_fresh(&k_w1, &g_w1, &o, &b);
    o.threads = 1;
    o.shards = 1;
    train_fresh(&k_w1, &g_w1, &o, &c);
    CHECK_STATUS(a.status, MB_OK);
    expect_identical("one process, 4 shards on 2 threads against 1 thread", &b, &a);
    if (!CHECK(a.params && c.params &&
               memcmp(a.params, c.params, sizeof(float) * (size_t)a.n_params) != 0))
        printf("    [rank %d] 4 shards gave the weights of 1 shard\n", K);
    outcome_free(&a);
    outcome_free(&b);
    outcome_free(&c);
}

static void test_deterministic_moons_every_rule(void)
{
    const spec *specs[2] = {&k_moons_ce, &k_moons_bce};
    int s, i;
    for (s = 0; s < 2; s++)
        for (i = 0; i < N_RULES; i++) {
            char label[128];
            mb_train_options o = base_options(3, 256, 0);
            apply_rule(&o, &k_rules[i], 1.0f);
            snprintf(label, sizeof label, "moons %s, %s", specs[s]->name, k_rules[i].name);
            check_against_one_process(label, specs[s], &k_moons, &k_moons, &o,
                                      MB_DISTRIBUTED_DETERMINISTIC, MB_OK);
        }
}

static void test_deterministic_w1_small_every_rule(void)
{
    int i;
    for (i = 0; i < N_RULES; i++) {
        char label[128];
        mb_train_options o = base_options(1, 128, 0);
        apply_rule(&o, &k_rules[i], 0.1f);
        snprintf(label, sizeof label, "W1-small, %s", k_rules[i].name);
        check_against_one_process(label, &k_w1, &g_w1, &g_w1, &o, MB_DISTRIBUTED_DETERMINISTIC,
                                  MB_OK);
    }
}

static void test_deterministic_l2_and_clip_norm(void)
{
    mb_train_options o = base_options(3, 256, 0.05f);
    o.optimizer = MB_OPTIMIZER_SGD;
    o.momentum = 0.9f;
    o.l2 = 0.5f;
    o.clip_norm = 0.25f; /* below the gradient's norm: clipping happens */
    check_against_one_process("moons, l2 + clip_norm", &k_moons_ce, &k_moons, &k_moons, &o,
                              MB_DISTRIBUTED_DETERMINISTIC, MB_OK);
    o = base_options(1, 128, 0.001f);
    o.optimizer = MB_OPTIMIZER_ADAM;
    o.l2 = 0.1f;
    o.clip_norm = 0.5f;
    check_against_one_process("W1-small, Adam + l2 + clip_norm", &k_w1, &g_w1, &g_w1, &o,
                              MB_DISTRIBUTED_DETERMINISTIC, MB_OK);
}

static void test_deterministic_schedules(void)
{
    mb_train_options o = base_options(4, 256, 0.2f);
    o.momentum = 0.5f;
    o.schedule = MB_SCHEDULE_STEP;
    o.step_epochs = 1;
    o.gamma = 0.5;
    check_against_one_process("moons, step schedule", &k_moons_ce, &k_moons, &k_moons, &o,
                              MB_DISTRIBUTED_DETERMINISTIC, MB_OK);
    o = base_options(3, 256, 0.5f);
    o.schedule = MB_SCHEDULE_INVERSE_TIME; /* counts the examples seen */
    o.power_t = 0.25;
    check_against_one_process("moons, inverse-time schedule", &k_moons_ce, &k_moons, &k_moons,
                              &o, MB_DISTRIBUTED_DETERMINISTIC, MB_OK);
    o = base_options(4, 256, 0.05f);
    o.optimizer = MB_OPTIMIZER_ADAM;
    o.schedule = MB_SCHEDULE_COSINE;
    check_against_one_process("moons, cosine schedule", &k_moons_ce, &k_moons, &k_moons, &o,
                              MB_DISTRIBUTED_DETERMINISTIC, MB_OK);
}

static void test_deterministic_validation_and_early_stopping(void)
{
    outcome d, r;
    mb_train_options o = base_options(10, 256, 0.1f);
    o.validation_x = g_val_x;
    o.validation_y = g_val_y;
    o.validation_y_type = MB_TARGETS_CLASS_INDEX;
    o.validation_m = MOONS_VAL_M;
    o.patience = 2;
    o.min_delta = 1e9; /* no epoch after the first improves: stops after epoch 3 */
    o.restore_best = 1;
    train_fresh(&k_moons_ce, &k_moons, &o, &r);
    o.communicator = &g_comm;
    train_fresh(&k_moons_ce, &k_moons, &o, &d);
    CHECK_STATUS(r.status, MB_OK);
    if (!CHECK(r.epochs < 10)) /* the reference did stop early, so the test tests that */
        printf("    one process trained %lld epochs: early stopping did not happen\n",
               (long long)r.epochs);
    CHECK(r.hist_n[2] == r.epochs && r.hist_n[2] > 0 && !isnan(r.hist[2][0]));
    expect_identical("moons, validation set + early stopping", &d, &r);
    outcome_free(&d);
    outcome_free(&r);
}

static void test_deterministic_last_batch_kept_and_dropped(void)
{
    /* 1000 rows in batches of 96: 10 full batches and one of 40, itself in 4 shards */
    mb_train_options o = base_options(2, 96, 0.05f);
    o.optimizer = MB_OPTIMIZER_SGD;
    o.momentum = 0.9f;
    o.last_batch = MB_LAST_BATCH_KEEP;
    check_against_one_process("2-64-64-2, batch 96 of 1000, last batch kept", &k_deep,
                              &k_moons, &k_moons, &o, MB_DISTRIBUTED_DETERMINISTIC, MB_OK);
    o.last_batch = MB_LAST_BATCH_DROP;
    check_against_one_process("2-64-64-2, batch 96 of 1000, last batch dropped", &k_deep,
                              &k_moons, &k_moons, &o, MB_DISTRIBUTED_DETERMINISTIC, MB_OK);
    o = base_options(2, 96, 0.01f);
    o.optimizer = MB_OPTIMIZER_ADAM;
    o.last_batch = MB_LAST_BATCH_KEEP;
    check_against_one_process("2-64-64-2 Adam, last batch kept", &k_deep, &k_moons, &k_moons,
                              &o, MB_DISTRIBUTED_DETERMINISTIC, MB_OK);
}

/* "whatever R and the threads of each rank": rank 0 trains its shards on 2 threads. */
static void test_deterministic_threads_differ_between_ranks(void)
{
    outcome d, r;
    mb_train_options o = base_options(1, 128, 0.01f);
    o.momentum = 0.9f;
    train_fresh(&k_w1, &g_w1, &o, &r);
    o.communicator = &g_comm;
    o.threads = K == 0 ? 2 : 1;
    train_fresh(&k_w1, &g_w1, &o, &d);
    CHECK_STATUS(d.status, MB_OK);
    expect_identical("W1-small, rank 0 on 2 threads, the others on 1", &d, &r);
    outcome_free(&d);
    outcome_free(&r);
}

/* shards = 0: threads (1) times the ranks, so one process with shards = R. */
static void test_deterministic_default_shards_are_threads_times_ranks(void)
{
    outcome d, r;
    mb_train_options o = base_options(1, 128, 0.01f);
    o.momentum = 0.9f;
    o.shards = R;
    train_fresh(&k_w1, &g_w1, &o, &r);
    o.shards = 0;
    o.communicator = &g_comm;
    train_fresh(&k_w1, &g_w1, &o, &d);
    CHECK_STATUS(d.status, MB_OK);
    expect_identical("W1-small, shards 0 (threads 1 x R ranks) against one process with R "
                     "shards",
                     &d, &r);
    outcome_free(&d);
    outcome_free(&r);
}

/* np = 4, batches of 8 rows on a model large enough that the work term does not bind: 2
 * shards per batch (8 / 4), so ranks 0 and 2 compute nothing; the last batch of 4 rows has
 * one shard, on rank 3 alone. */
static void test_deterministic_ranks_without_rows(void)
{
    data small = k_moons;
    mb_train_options o = base_options(2, 8, 0.05f);
    small.m = 100; /* 12 batches of 8 and one of 4 */
    o.momentum = 0.9f;
    check_against_one_process("2-256-256-2, batch 8, SGD momentum", &k_wide, &small, &small, &o,
                              MB_DISTRIBUTED_DETERMINISTIC, MB_OK);
    o.momentum = 0.0f;
    check_against_one_process("2-256-256-2, batch 8, plain SGD", &k_wide, &small, &small, &o,
                              MB_DISTRIBUTED_DETERMINISTIC, MB_OK);
    o.optimizer = MB_OPTIMIZER_ADAM;
    o.learning_rate = 0.001f;
    check_against_one_process("2-256-256-2, batch 8, Adam", &k_wide, &small, &small, &o,
                              MB_DISTRIBUTED_DETERMINISTIC, MB_OK);
    {
        mb_model *model = spec_model(&k_wide);
        unsigned char owned[100];
        int64_t i, mine = 0;
        rows_of_rank(K, 100, 8, MB_LAST_BATCH_KEEP, 5, 0, model, owned);
        for (i = 0; i < 100; i++)
            mine += owned[i];
        if (R == 4)
            CHECK(K == 1 || K == 3 ? mine > 0 : mine == 0); /* the layout this test expects */
        mb_model_free(model);
    }
}

/* Float targets: MSE, and cross-entropy on rows of probabilities. */
static void test_deterministic_float_targets(void)
{
    data soft = k_moons;
    mb_train_options o = base_options(3, 128, 0.05f);
    o.momentum = 0.9f;
    check_against_one_process("moons MSE, float targets", &k_moons_mse, &k_moons_float,
                              &k_moons_float, &o, MB_DISTRIBUTED_DETERMINISTIC, MB_OK);
    soft.y = g_moons_soft;
    soft.y_type = MB_TARGETS_FLOAT32;
    o.optimizer = MB_OPTIMIZER_RMSPROP;
    o.learning_rate = 0.01f;
    check_against_one_process("moons cross-entropy, probability targets", &k_moons_soft, &soft,
                              &soft, &o, MB_DISTRIBUTED_DETERMINISTIC, MB_OK);
}

/* Options that change which rows a batch holds or how its cost is weighed. */
static void test_deterministic_data_options(void)
{
    mb_train_options o = base_options(3, 128, 0.01f);
    o.optimizer = MB_OPTIMIZER_ADAM;
    o.sample_weight = g_moons_weight;
    check_against_one_process("moons, sample_weight", &k_moons_ce, &k_moons, &k_moons, &o,
                              MB_DISTRIBUTED_DETERMINISTIC, MB_OK);
    o = base_options(3, 128, 0.1f);
    o.validation_fraction = 0.2;
    check_against_one_process("moons, validation_fraction 0.2", &k_moons_ce, &k_moons, &k_moons,
                              &o, MB_DISTRIBUTED_DETERMINISTIC, MB_OK);
    o = base_options(3, 100, 0.1f);
    o.shuffle = 0;
    check_against_one_process("moons, shuffle 0", &k_moons_ce, &k_moons, &k_moons, &o,
                              MB_DISTRIBUTED_DETERMINISTIC, MB_OK);
    o = base_options(3, MOONS_M, 0.5f); /* batch gradient descent: rows in stored order */
    check_against_one_process("moons, one batch of all rows", &k_moons_ce, &k_moons, &k_moons,
                              &o, MB_DISTRIBUTED_DETERMINISTIC, MB_OK);
    o = base_options(1, MB_BATCH_AUTO, 0.01f); /* 2048 rows: batches of 512 */
    o.momentum = 0.9f;
    check_against_one_process("W1-small, MB_BATCH_AUTO", &k_w1, &g_w1, &g_w1, &o,
                              MB_DISTRIBUTED_DETERMINISTIC, MB_OK);
    o = base_options(8, 256, 0.5f);
    o.schedule = MB_SCHEDULE_ADAPTIVE;
    o.patience = 1;
    o.min_delta = 0.01;
    check_against_one_process("moons, adaptive schedule", &k_moons_ce, &k_moons, &k_moons, &o,
                              MB_DISTRIBUTED_DETERMINISTIC, MB_OK);
}

/* Two calls of 1 epoch give what one process gives in one call of 2: the epoch count, the
 * update rule's state and the schedule carry over. */
static void test_deterministic_continuing_training(void)
{
    outcome d, r;
    mb_model *model = spec_model(&k_moons_ce);
    mb_history *h = NULL;
    mb_status s;
    mb_train_options o = base_options(2, 128, 0.01f);
    o.optimizer = MB_OPTIMIZER_ADAMW;
    o.schedule = MB_SCHEDULE_EXPONENTIAL;
    train_fresh(&k_moons_ce, &k_moons, &o, &r);
    mb_history_create(&h);
    o.epochs = 1;
    o.communicator = &g_comm;
    s = train(model, &k_moons, &o, h);
    CHECK_STATUS(s, MB_OK);
    s = train(model, &k_moons, &o, h);
    outcome_fill(&d, s, model, h);
    expect_identical("moons AdamW, 1 + 1 epochs against 2", &d, &r);
    outcome_free(&d);
    outcome_free(&r);
    mb_history_free(h);
    mb_model_free(model);
}

/* A first layer of 2^18 weights or more: shards of 64 rows at least; bit-identical with a
 * rule other than plain SGD, and within rounding with plain SGD (the header's exception:
 * one process fuses that layer's update). */
static void test_deterministic_large_first_layer(void)
{
    outcome d, r;
    mb_train_options o = base_options(1, 256, 0.01f);
    o.momentum = 0.9f;
    check_against_one_process("784-384-10, SGD momentum", &k_w1_large, &g_w1, &g_w1, &o,
                              MB_DISTRIBUTED_DETERMINISTIC, MB_OK);
    o.momentum = 0.0f;
    train_fresh(&k_w1_large, &g_w1, &o, &r);
    o.communicator = &g_comm;
    train_fresh(&k_w1_large, &g_w1, &o, &d);
    CHECK_STATUS(d.status, MB_OK);
    expect_close("784-384-10, plain SGD (the fused exception)", &d, &r, 1e-5, 1e-6);
    outcome_free(&d);
    outcome_free(&r);
}

static void test_deterministic_file_dataset(void)
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

static void test_rank_reads_only_its_rows(void)
{
    enum { M8 = 1800, N8 = 8 };
    static float x8[M8 * N8];
    static int32_t y8[M8];
    write_shared_files();
    /* 784-32-10, batches of 64 (4 shards) and a last one of 8 (2 shards: r / 4) */
    check_reads_only_own_rows("784-32-10, batch 64 of 520", &k_file_model, "x.npy", "y.npy",
                              g_w1_x, FILE_M, W1_N, 64, "x-own");
    /* 8-4-2 (46 parameters), batches of 512: n = 512 * 54 / 8192 = 3 shards (the work term
       binds), and a last one of 264 rows: 1 shard */
    tdata_fill(x8, M8 * N8, 105, -1.0, 1.0);
    tdata_classes(y8, M8, 2, 106);
    if (K == 0) {
        write_x("x8.npy", x8, M8, N8);
        write_y("y8.npy", y8, M8);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    check_reads_only_own_rows("8-4-2, batch 512 of 1800", &k_small8, "x8.npy", "y8.npy", x8, M8,
                              N8, 512, "x8-own");
}

/* ---- fast mode ------------------------------------------------------------------------------ */

static void test_fast_mode_close_to_one_process(void)
{
    mb_train_options o = base_options(3, 256, 0.1f);
    check_against_one_process("fast, moons 2-32-2, SGD, 3 epochs", &k_moons_ce, &k_moons,
                              &k_moons, &o, MB_DISTRIBUTED_FAST, MB_OK);
    o.momentum = 0.9f;
    o.learning_rate = 0.05f;
    check_against_one_process("fast, moons 2-32-2, SGD momentum, 3 epochs", &k_moons_ce,
                              &k_moons, &k_moons, &o, MB_DISTRIBUTED_FAST, MB_OK);
    o = base_options(3, 256, 0.01f);
    o.optimizer = MB_OPTIMIZER_ADAM;
    check_against_one_process("fast, moons 2-32-2, Adam, 3 epochs", &k_moons_ce, &k_moons,
                              &k_moons, &o, MB_DISTRIBUTED_FAST, MB_OK);
    o = base_options(1, 128, 0.01f);
    check_against_one_process("fast, W1-small, SGD, 1 epoch", &k_w1, &g_w1, &g_w1, &o,
                              MB_DISTRIBUTED_FAST, MB_OK);
}

/* ---- errors: every rank the same status and message, none hangs ---------------------------- */

/* Runs the distributed call on every rank and checks: status `want` on every rank, a message
 * naming `name` (if not NULL), prefixed "rank <bad_rank>: " (if bad_rank >= 0 and R > 1), the
 * same status and message on every rank, and (if unchanged) model and history as before. */
static void expect_failure_everywhere(const char *label, mb_model *model, const data *d,
                                      const mb_train_options *o, mb_status want,
                                      const char *name, int bad_rank, int unchanged)
{
    int64_t n = 0, epochs = model_epochs(model);
    float *before = model_params(model, &n);
    mb_history *h = NULL;
    outcome out;
    mb_status s;
    mb_history_create(&h);
    s = train(model, d, o, h);
    outcome_fill(&out, s, model, h);
    NOTE("%s: %s \"%s\"", label, mb_status_name(s), out.message);
    if (!CHECK(s == want))
        printf("    [rank %d] %s: %s \"%s\", expected %s\n", K, label, mb_status_name(s),
               out.message, mb_status_name(want));
    else if (!CHECK(out.message[0] != '\0'))
        printf("    [rank %d] %s: no message\n", K, label);
    if (name != NULL && s == want && !CHECK(check_names_(out.message, name)))
        printf("    [rank %d] %s: \"%s\" does not name \"%s\"\n", K, label, out.message, name);
    if (bad_rank >= 0 && R > 1 && s == want) {
        char prefix[32];
        snprintf(prefix, sizeof prefix, "rank %d: ", bad_rank);
        if (!CHECK(strncmp(out.message, prefix, strlen(prefix)) == 0))
            printf("    [rank %d] %s: \"%s\" does not start with \"%s\"\n", K, label,
                   out.message, prefix);
    }
    if (!(CHECK_SAME_INT(s) & CHECK_SAME_STRING(out.message)) && K == 0)
        printf("    (the ranks differ in: %s)\n", label);
    if (!unchanged) { /* (else the models may differ on purpose; each must be as it was) */
        if (!(CHECK_SAME_BYTES(out.params, sizeof(float) * (size_t)out.n_params) &
              CHECK_SAME_INT(out.epochs)) &&
            K == 0)
            printf("    (the ranks' models differ after: %s)\n", label);
    } else {
        if (!CHECK(before != NULL && model_same(model, before, n, epochs)))
            printf("    [rank %d] %s: the model changed\n", K, label);
        if (!CHECK(out.hist_n[0] == 0 && out.hist_n[1] == 0))
            printf("    [rank %d] %s: the history holds %lld batch costs\n", K, label,
                   (long long)out.hist_n[0]);
    }
    outcome_free(&out);
    free(before);
    mb_history_free(h);
}

/* One rank (the last) differs in one option or in its model. */
static void test_error_options_differ_between_ranks(void)
{
    int odd = K == ODD && R > 1;
    mb_model *model;
    mb_train_options o;
    int64_t other_sizes[3] = {2, 16, 2};
    if (R == 1) {
        NOTE("one rank: nothing can differ");
        return;
    }
    model = spec_model(&k_moons_ce);
    o = base_options(2, 128, 0.1f);
    o.communicator = &g_comm;
    o.batch_size = odd ? 64 : 128;
    expect_failure_everywhere("batch_size differs", model, &k_moons, &o,
                              MB_ERR_INVALID_ARGUMENT, "batch_size", -1, 1);
    o = base_options(2, 128, 0.1f);
    o.communicator = &g_comm;
    o.seed = odd ? 6 : 5;
    expect_failure_everywhere("seed differs", model, &k_moons, &o, MB_ERR_INVALID_ARGUMENT,
                              "seed", -1, 1);
    o = base_options(2, 128, 0.1f);
    o.communicator = &g_comm;
    o.optimizer = odd ? MB_OPTIMIZER_ADAM : MB_OPTIMIZER_SGD;
    expect_failure_everywhere("optimizer differs", model, &k_moons, &o,
                              MB_ERR_INVALID_ARGUMENT, "optimizer", -1, 1);
    o = base_options(2, 128, 0.1f);
    o.communicator = &g_comm;
    o.learning_rate = odd ? 0.2f : 0.1f;
    expect_failure_everywhere("learning_rate differs", model, &k_moons, &o,
                              MB_ERR_INVALID_ARGUMENT, "learning_rate", -1, 1);
    o = base_options(2, 128, 0.1f);
    o.communicator = &g_comm;
    o.shards = odd ? 2 : S;
    expect_failure_everywhere("shards differs", model, &k_moons, &o, MB_ERR_INVALID_ARGUMENT,
                              "shards", -1, 1);
    o = base_options(2, 128, 0.1f);
    o.communicator = &g_comm;
    o.distributed_mode = odd ? MB_DISTRIBUTED_FAST : MB_DISTRIBUTED_DETERMINISTIC;
    expect_failure_everywhere("distributed_mode differs", model, &k_moons, &o,
                              MB_ERR_INVALID_ARGUMENT, "distributed_mode", -1, 1);
    o = base_options(2, 128, 0.1f);
    o.communicator = &g_comm;
    {
        data fewer = k_moons;
        fewer.m = odd ? MOONS_M - 1 : MOONS_M;
        expect_failure_everywhere("rows differ", model, &fewer, &o, MB_ERR_INVALID_ARGUMENT,
                                  NULL, -1, 1);
    }
    mb_model_free(model);

    /* the model: other layer sizes on one rank, then other initial weights */
    model = odd ? make_model(other_sizes, 3, k_moons_ce.hidden, k_moons_ce.loss, 1)
                : spec_model(&k_moons_ce);
    CHECK(model != NULL);
    expect_failure_everywhere("layer sizes differ", model, &k_moons, &o,
                              MB_ERR_INVALID_ARGUMENT, "layer", -1, 1);
    mb_model_free(model);
    model = make_model(k_moons_ce.sizes, 3, k_moons_ce.hidden, k_moons_ce.loss, odd ? 99 : 1);
    CHECK(model != NULL);
    expect_failure_everywhere("parameters differ", model, &k_moons, &o,
                              MB_ERR_INVALID_ARGUMENT, "parameters", -1, 1);
    mb_model_free(model);
}

/* Option `which` set up so that it is in use, with another value on rank `odd`; returns its
 * name (NULL past the last). */
static const char *differing_option(mb_train_options *o, int which, int odd)
{
    switch (which) {
    case 0: o->epochs = odd ? 3 : 2; return "epochs";
    case 1: o->shuffle = !odd; return "shuffle";
    case 2: o->batch_size = 96; o->last_batch = odd ? MB_LAST_BATCH_DROP : MB_LAST_BATCH_KEEP;
        return "last_batch";
    case 3: o->momentum = odd ? 0.5f : 0.9f; return "momentum";
    case 4: o->momentum = 0.9f; o->nesterov = odd; return "nesterov";
    case 5: o->optimizer = MB_OPTIMIZER_RMSPROP; o->rho = odd ? 0.9f : 0.99f; return "rho";
    case 6: o->optimizer = MB_OPTIMIZER_ADAM; o->beta1 = odd ? 0.8f : 0.9f; return "beta1";
    case 7: o->optimizer = MB_OPTIMIZER_ADAM; o->beta2 = odd ? 0.99f : 0.999f; return "beta2";
    case 8: o->optimizer = MB_OPTIMIZER_ADAM; o->epsilon = odd ? 1e-7f : 1e-8f;
        return "epsilon";
    case 9: o->optimizer = MB_OPTIMIZER_ADAMW; o->weight_decay = odd ? 0.1f : 0.01f;
        return "weight_decay";
    case 10: o->l2 = odd ? 0.2f : 0.1f; return "l2";
    case 11: o->clip_norm = odd ? 2.0f : 1.0f; return "clip_norm";
    case 12: o->schedule = odd ? MB_SCHEDULE_STEP : MB_SCHEDULE_CONSTANT; return "schedule";
    case 13: o->schedule = MB_SCHEDULE_STEP; o->gamma = odd ? 0.5 : 0.1; return "gamma";
    case 14: o->schedule = MB_SCHEDULE_STEP; o->step_epochs = odd ? 2 : 1;
        return "step_epochs";
    case 15: o->schedule = MB_SCHEDULE_INVERSE_TIME; o->power_t = odd ? 0.25 : 0.5;
        return "power_t";
    case 16: o->schedule = MB_SCHEDULE_COSINE; o->cosine_epochs = odd ? 10 : 0;
        return "cosine_epochs";
    case 17: o->schedule = MB_SCHEDULE_COSINE; o->min_learning_rate = odd ? 1e-3 : 0;
        return "min_learning_rate";
    case 18: o->patience = odd ? 2 : 0; return "patience";
    case 19: o->patience = 2; o->min_delta = odd ? 0.1 : 0; return "min_delta";
    case 20:
        o->validation_x = g_val_x;
        o->validation_y = g_val_y;
        o->validation_y_type = MB_TARGETS_CLASS_INDEX;
        o->validation_m = MOONS_VAL_M;
        o->patience = 2;
        o->restore_best = !odd;
        return "restore_best";
    case 21:
        if (!odd) {
            o->validation_x = g_val_x;
            o->validation_y = g_val_y;
            o->validation_y_type = MB_TARGETS_CLASS_INDEX;
            o->validation_m = MOONS_VAL_M;
        }
        return "validation";
    case 22: o->validation_fraction = odd ? 0.2 : 0.1; return "validation_fraction";
    case 23: o->sample_weight = odd ? NULL : g_moons_weight; return "sample_weight";
    default: return NULL;
    }
}

/* Every other option of mb_train_options, each in use, differing on one rank. */
static void test_error_each_option_differs(void)
{
    int which, odd = K == ODD && R > 1;
    mb_model *model;
    if (R == 1) {
        NOTE("one rank: nothing can differ");
        return;
    }
    model = spec_model(&k_moons_ce);
    for (which = 0;; which++) {
        mb_train_options o = base_options(2, 128, 0.05f);
        const char *name = differing_option(&o, which, odd);
        char label[64];
        if (name == NULL)
            break;
        o.communicator = &g_comm;
        snprintf(label, sizeof label, "%s differs", name);
        expect_failure_everywhere(label, model, &k_moons, &o, MB_ERR_INVALID_ARGUMENT, name, -1,
                                  1);
    }
    mb_model_free(model);
}

/* One rank's X holds a NaN in a row it reads: the last row of batch 1 of epoch 0, which lies
 * in the last shard, always the last rank's. */
static void test_error_nan_on_one_rank(void)
{
    int mode;
    for (mode = 0; mode < 2; mode++) {
        mb_model *model = spec_model(&k_moons_ce);
        mb_train_options o = base_options(2, 256, 0.1f);
        float *x = (float *)malloc(sizeof g_moons_x);
        int64_t perm[MOONS_M];
        data d = k_moons;
        CHECK_STATUS(mb_permutation(MOONS_M, o.seed, 0, perm), MB_OK);
        memcpy(x, g_moons_x, sizeof g_moons_x);
        if (K == ODD)
            x[perm[2 * 256 - 1] * 2 + 1] = NAN;
        d.x = x;
        o.communicator = &g_comm;
        o.distributed_mode = (mb_distributed_mode)mode;
        expect_failure_everywhere(mode ? "NaN in one rank's rows (fast)"
                                       : "NaN in one rank's rows (deterministic)",
                                  model, &d, &o, MB_ERR_INVALID_ARGUMENT, NULL, ODD, 1);
        /* the same model then trains (nothing was left half done on any rank) */
        d.x = g_moons_x;
        CHECK_STATUS(train(model, &d, &o, NULL), MB_OK);
        mb_model_free(model);
        free(x);
    }
}

/* One rank's files are bad: a label out of range in its y, or its X cut short after it was
 * opened. */
static void test_error_bad_file_on_one_rank(void)
{
    char xname[64], yname[64], path[512];
    int32_t *y = (int32_t *)malloc(sizeof(int32_t) * FILE_M);
    mb_train_options o = base_options(2, 64, 0.05f);
    mb_model *model;
    mb_dataset *ds;
    data d;
    int shuffle;
    o.communicator = &g_comm;
    write_shared_files();
    memset(&d, 0, sizeof d);

    /* a label of 10 for 10 classes in the last rank's y */
    memcpy(y, g_w1_y, sizeof(int32_t) * FILE_M);
    if (K == ODD)
        y[FILE_M / 2] = 10;
    rank_file_name(yname, "y-label");
    write_y(yname, y, FILE_M);
    for (shuffle = 0; shuffle < 2; shuffle++) {
        model = spec_model(&k_file_model);
        ds = open_dataset("x.npy", yname, (mb_file_shuffle)shuffle);
        d.dataset = ds;
        expect_failure_everywhere(shuffle ? "bad label in one rank's y (block)"
                                          : "bad label in one rank's y (exact)",
                                  model, &d, &o, MB_ERR_INVALID_ARGUMENT, NULL, ODD, 0);
        mb_dataset_free(ds);
        mb_model_free(model);
    }

    /* the last rank's X loses its second half once open */
    for (shuffle = 0; shuffle < 2; shuffle++) {
        rank_file_name(xname, shuffle ? "x-cut-block" : "x-cut-exact");
        write_x(xname, g_w1_x, FILE_M, W1_N);
        model = spec_model(&k_file_model);
        ds = open_dataset(xname, "y.npy", (mb_file_shuffle)shuffle);
        file_path(path, xname);
        if (K == ODD)
            CHECK(truncate(path, (off_t)(sizeof(float) * FILE_M * W1_N / 2)) == 0);
        MPI_Barrier(MPI_COMM_WORLD);
        d.dataset = ds;
        expect_failure_everywhere(shuffle ? "X cut short on one rank (block)"
                                          : "X cut short on one rank (exact)",
                                  model, &d, &o, MB_ERR_IO, NULL, ODD, 0);
        mb_dataset_free(ds);
        mb_model_free(model);
    }
    free(y);
}

/* A huge learning rate: every rank MB_ERR_DIVERGED with the same last finite weights, those
 * of one process. */
static void test_divergence_stops_every_rank(void)
{
    mb_train_options o = base_options(5, 128, 1e6f);
    outcome d, r;
    train_fresh(&k_mse, &k_moons_float, &o, &r);
    o.communicator = &g_comm;
    train_fresh(&k_mse, &k_moons_float, &o, &d);
    CHECK_STATUS(r.status, MB_ERR_DIVERGED);
    CHECK_STATUS(d.status, MB_ERR_DIVERGED);
    CHECK(d.params != NULL && all_finite_f(d.params, d.n_params));
    if (!CHECK(r.hist_n[0] > 1)) /* at least one step was taken before it diverged */
        printf("    diverged after %lld batches\n", (long long)r.hist_n[0]);
    expect_identical("moons MSE, learning rate 1e6", &d, &r);
    outcome_free(&d);
    /* fast mode: the same stop on every rank (its weights only match one process to
       rounding, which a diverging run magnifies: not compared with it) */
    o.distributed_mode = MB_DISTRIBUTED_FAST;
    train_fresh(&k_mse, &k_moons_float, &o, &d);
    CHECK_STATUS(d.status, MB_ERR_DIVERGED);
    CHECK(d.params != NULL && all_finite_f(d.params, d.n_params));
    expect_same_on_every_rank("fast, moons MSE, learning rate 1e6", &d);
    outcome_free(&d);
    outcome_free(&r);
}

typedef struct stopper {
    int rank;      /* the rank whose callback asks to stop */
    int64_t epoch; /* at this epoch */
    int calls;
} stopper;

static int stop_on_one_rank(const mb_progress *p, void *user_data)
{
    stopper *s = (stopper *)user_data;
    s->calls++;
    return K == s->rank && p->epoch == s->epoch;
}

/* The progress callback asks to stop on rank 1 only (rank 0 when alone), after epoch 2 of 4:
 * every rank stops there, with the weights one process has after 2 epochs. */
static void test_cancel_on_one_rank_stops_every_rank(void)
{
    int mode;
    for (mode = 0; mode < 2; mode++) {
        stopper st;
        mb_train_options o = base_options(2, 256, 0.1f);
        outcome d, r;
        o.momentum = 0.9f;
        train_fresh(&k_moons_ce, &k_moons, &o, &r);
        st.rank = R > 1 ? 1 : 0;
        st.epoch = 2;
        st.calls = 0;
        o.epochs = 4;
        o.progress = stop_on_one_rank;
        o.user_data = &st;
        o.communicator = &g_comm;
        o.distributed_mode = (mb_distributed_mode)mode;
        train_fresh(&k_moons_ce, &k_moons, &o, &d);
        CHECK_STATUS(r.status, MB_OK);
        CHECK_STATUS(d.status, MB_ERR_CANCELLED);
        if (!CHECK(st.calls == 2))
            printf("    [rank %d] the callback was called %d times\n", K, st.calls);
        CHECK(d.epochs == 2);
        r.status = MB_ERR_CANCELLED; /* the rest as after 2 epochs of one process */
        memcpy(r.message, d.message, sizeof r.message);
        if (mode == MB_DISTRIBUTED_DETERMINISTIC)
            expect_identical("cancelled after epoch 2 by one rank", &d, &r);
        else
            expect_close("fast, cancelled after epoch 2 by one rank", &d, &r, 1e-4, 1e-5);
        outcome_free(&d);
        outcome_free(&r);
    }
}

/* ---- main ------------------------------------------------------------------------------------ */

static void make_data(void)
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

/* Rank 0 makes the temporary directory; every rank learns its name. */
static int make_dir(void)
{
    int ok = 1;
    if (K == 0) {
        const char *tmp = getenv("TMPDIR");
        snprintf(g_dir, sizeof g_dir, "%s/mb-mpi-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
        ok = mkdtemp(g_dir) != NULL;
    }
    MPI_Bcast(&ok, 1, MPI_INT, 0, MPI_COMM_WORLD);
    MPI_Bcast(g_dir, sizeof g_dir, MPI_CHAR, 0, MPI_COMM_WORLD);
    return ok;
}

static void remove_dir(void)
{
    static const char *const stems[] = {"x-own", "x8-own", "y-label", "x-cut-exact",
                                        "x-cut-block"};
    char name[64], path[512];
    size_t i;
    for (i = 0; i < sizeof stems / sizeof stems[0]; i++) {
        rank_file_name(name, stems[i]);
        file_path(path, name);
        unlink(path);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    if (K == 0) {
        file_path(path, "x.npy");
        unlink(path);
        file_path(path, "y.npy");
        unlink(path);
        file_path(path, "x8.npy");
        unlink(path);
        file_path(path, "y8.npy");
        unlink(path);
        if (rmdir(g_dir) != 0)
            printf("note: could not remove %s: %s\n", g_dir, strerror(errno));
    }
}

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
