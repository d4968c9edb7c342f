/* mpi_bench.c: the cost of distributed training over MPI (minibatch.h, minibatch_mpi.h).
 *
 * Every rank runs the same program; rank 0 prints. Each measurement is one human line
 * followed by the same as one JSON line (a line starting with '{'); bench/mpi.py reads those.
 *
 *   collectives  through an mb_communicator's function pointers, as training calls them:
 *                allreduce_sum of n floats and allgather of n * 4 bytes per rank, for
 *                n = 16 (latency), W1's 101,770 parameters and ten times that. Each
 *                repetition: barrier, the call timed on every rank, the slowest rank's time
 *                kept; the median and the minimum over the repetitions.
 *   compute      (--compute) one process, no communicator, threads 1: the epoch time of W1
 *                (784-128-10) and of a model ten times larger (784-1280-10, 1,017,610
 *                parameters), batches 32 to 512: the compute the scaling model divides; and
 *                at np = 1, FAST against DETERMINISTIC with 1 to 8 shards (batch 512): the
 *                cost of summing the shards' gradients in shard order.
 *   train        W1 in MB_DISTRIBUTED_FAST and MB_DISTRIBUTED_DETERMINISTIC (and, at np = 1,
 *                "none": no communicator, the same shards), batches 128
 *                and 512, threads 1, a fixed number of shards (--shards, default 4): the
 *                median epoch time (one mb_train call of one epoch, every rank timed,
 *                the slowest kept), steps per epoch, the collective's time per step
 *                estimated from the collectives above, and the nominal bytes per step per
 *                rank. Skipped (and said so) when the loaded libminibatch predates
 *                distributed training.
 *
 * Data: m rows (default 16,384) of 784 uniform [0, 1) floats from a fixed splitmix64 stream,
 * labels the argmax of a fixed random linear teacher: the same on every rank.
 *
 * Build (bench/mpi.py does): mpicc -std=c99 -O2 -I include bench/mpi_bench.c -o mpi_bench \
 *            -L LIB -lminibatch_mpi -lminibatch -lm -Wl,-rpath,LIB
 * Run:   mpirun -np 2 mpi_bench [--quick] [--compute] [--no-train] [--no-collectives]
 *            [--rows M] [--reps N] [--shards S] [--batches 128,512]
 *            [--compute-batches 32,64,128,256,512]
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h>

#include "minibatch.h"
#include "minibatch_mpi.h"

#define N_FEATURES 784
#define N_CLASSES 10
#define W1_PARAMETERS (784 * 128 + 128 + 128 * 10 + 10) /* 101,770 */
#define MAX_BATCHES 8

static int rank, size;

/* ---- options ---------------------------------------------------------------------- */

typedef struct {
    int quick, compute, train, collectives;
    int64_t rows;
    int reps;           /* timed epochs per measurement */
    int64_t shards;
    int64_t batches[MAX_BATCHES];         /* training */
    int n_batches;
    int64_t compute_batches[MAX_BATCHES]; /* --compute */
    int n_compute_batches;
} bench_options;

/* Reads "a,b,c" into out[0..MAX_BATCHES); returns the count. */
static int parse_list(char *s, int64_t *out) {
    int n = 0;
    while (*s && n < MAX_BATCHES) {
        out[n++] = strtoll(s, &s, 10);
        if (*s == ',') s++;
        else if (*s) return 0;
    }
    return n;
}

static void parse(int argc, char **argv, bench_options *o) {
    *o = (bench_options){.quick = 0, .compute = 0, .train = 1, .collectives = 1, .rows = 16384,
                         .reps = 7, .shards = 4, .batches = {128, 512}, .n_batches = 2,
                         .compute_batches = {32, 64, 128, 256, 512}, .n_compute_batches = 5};
    int reps_set = 0, rows_set = 0, compute_set = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--quick")) o->quick = 1;
        else if (!strcmp(a, "--compute")) o->compute = 1;
        else if (!strcmp(a, "--no-train")) o->train = 0;
        else if (!strcmp(a, "--no-collectives")) o->collectives = 0;
        else if (!strcmp(a, "--rows") && v) o->rows = atoll(argv[++i]), rows_set = 1;
        else if (!strcmp(a, "--reps") && v) o->reps = atoi(argv[++i]), reps_set = 1;
        else if (!strcmp(a, "--shards") && v) o->shards = atoll(argv[++i]);
        else if (!strcmp(a, "--batches") && v) o->n_batches = parse_list(argv[++i], o->batches);
        else if (!strcmp(a, "--compute-batches") && v)
            o->n_compute_batches = parse_list(argv[++i], o->compute_batches), compute_set = 1;
        else {
            if (rank == 0) fprintf(stderr, "mpi_bench: unknown or incomplete option %s\n", a);
            MPI_Abort(MPI_COMM_WORLD, 2);
        }
    }
    if (o->quick && !reps_set) o->reps = 3;
    if (o->quick && !rows_set) o->rows = 8192;
    if (o->quick && !compute_set) {
        static const int64_t quick[3] = {32, 128, 512};
        memcpy(o->compute_batches, quick, sizeof quick);
        o->n_compute_batches = 3;
    }
    int bad = o->reps < 1 || o->rows < 1 || o->shards < 0 || o->n_batches < 1 || o->n_compute_batches < 1;
    for (int b = 0; b < o->n_batches; b++) bad |= o->batches[b] < 1 || o->batches[b] > o->rows;
    for (int b = 0; b < o->n_compute_batches; b++) bad |= o->compute_batches[b] < 1 || o->compute_batches[b] > o->rows;
    if (bad) {
        if (rank == 0) fprintf(stderr, "mpi_bench: --reps, --rows >= 1; batches in 1 .. rows; --shards >= 0\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
}

/* ---- small helpers ---------------------------------------------------------------- */

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts t[0..n) and returns its median. */
static double median(double *t, int n) {
    qsort(t, (size_t)n, sizeof *t, compare_doubles);
    return n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
}

/* The slowest rank's value (every rank gets it). */
static double slowest(double t) {
    double out;
    MPI_Allreduce(&t, &out, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    return out;
}

static void check(mb_status status, const char *what) {
    if (status != MB_OK) {
        fprintf(stderr, "mpi_bench rank %d: %s: %s: %s\n", rank, what, mb_status_name(status), mb_last_error());
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
}

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static float uniform(uint64_t *state) { return (float)((splitmix64(state) >> 40) * 0x1p-24); }

/* FNV-1a over bytes: a fingerprint of a model's parameters. */
static uint64_t fnv1a(const void *data, size_t bytes) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < bytes; i++) h = (h ^ ((const unsigned char *)data)[i]) * 0x100000001b3ull;
    return h;
}

/* ---- collectives -------------------------------------------------------------------- */

typedef struct {
    const char *op;
    int64_t n;        /* floats (allreduce) or floats' worth of bytes per rank (allgather) */
    double median_s, min_s;
} collective_time;

#define N_SIZES 3
static const int64_t sizes[N_SIZES] = {16, W1_PARAMETERS, 10 * W1_PARAMETERS};
static collective_time measured[2][N_SIZES]; /* [0] allreduce, [1] allgather */

static void time_collectives(const mb_communicator *comm, const bench_options *o) {
    float *data = malloc(sizeof(float) * (size_t)sizes[N_SIZES - 1]);
    float *gathered = malloc(sizeof(float) * (size_t)sizes[N_SIZES - 1] * (size_t)size);
    if (!data || !gathered) check(MB_ERR_OUT_OF_MEMORY, "collective buffers");
    for (int op = 0; op < 2; op++) {
        for (int k = 0; k < N_SIZES; k++) {
            int64_t n = sizes[k];
            int reps = n <= 1024 ? (o->quick ? 300 : 2000) : n <= W1_PARAMETERS ? (o->quick ? 50 : 300) : (o->quick ? 15 : 60);
            double *t = malloc(sizeof(double) * (size_t)reps);
            for (int64_t i = 0; i < n; i++) data[i] = (float)((rank + 1) * (i % 7));
            for (int r = -3; r < reps; r++) { /* three untimed: first-use set-up */
                MPI_Barrier(MPI_COMM_WORLD);
                double t0 = MPI_Wtime();
                int failed = op == 0 ? comm->allreduce_sum(data, n, comm->user_data)
                                     : comm->allgather(data, gathered, n * 4, comm->user_data);
                double dt = slowest(MPI_Wtime() - t0);
                if (failed) check(MB_ERR_COMMUNICATION, op == 0 ? "allreduce_sum" : "allgather");
                if (r >= 0) t[r] = dt;
                if (op == 0) /* keep the values bounded: the sum grows by `size` each call */
                    for (int64_t i = 0; i < n; i++) data[i] = (float)((rank + 1) * (i % 7));
            }
            double med = median(t, reps);
            measured[op][k] = (collective_time){op == 0 ? "allreduce_sum" : "allgather", n, med, t[0]};
            if (rank == 0) {
                double bytes = (double)n * 4;
                printf("collective %-13s ranks %d  n %8lld floats  %9.0f B/rank  median %9.1f us  min %9.1f us  (%d reps)\n",
                       measured[op][k].op, size, (long long)n, bytes, med * 1e6, t[0] * 1e6, reps);
                printf("{\"kind\":\"collective\",\"op\":\"%s\",\"ranks\":%d,\"n_floats\":%lld,\"bytes_per_rank\":%.0f,"
                       "\"median_s\":%.9g,\"min_s\":%.9g,\"reps\":%d}\n",
                       measured[op][k].op, size, (long long)n, bytes, med, t[0], reps);
                fflush(stdout);
            }
            free(t);
        }
    }
    free(data);
    free(gathered);
}

/* The measured time of `op` for n floats per rank: linear interpolation between the two
 * measured sizes around n (extrapolated along the last segment above them). */
static double collective_estimate(int op, int64_t n) {
    const collective_time *c = measured[op];
    int k = 0;
    while (k < N_SIZES - 2 && n > c[k + 1].n) k++;
    double slope = (c[k + 1].median_s - c[k].median_s) / (double)(c[k + 1].n - c[k].n);
    double t = c[k].median_s + slope * (double)(n - c[k].n);
    return t > 0 ? t : c[0].median_s;
}

/* ---- training ----------------------------------------------------------------------- */

typedef struct {
    float *x;
    int32_t *y;
    int64_t m;
} dataset;

/* Uniform [0, 1) features; labels from a fixed random linear teacher, as bench/bench.py. */
static dataset make_data(int64_t m) {
    dataset d = {malloc(sizeof(float) * (size_t)m * N_FEATURES), malloc(sizeof(int32_t) * (size_t)m), m};
    float *teacher = malloc(sizeof(float) * N_FEATURES * N_CLASSES);
    if (!d.x || !d.y || !teacher) check(MB_ERR_OUT_OF_MEMORY, "data");
    uint64_t s = 42;
    for (int i = 0; i < N_FEATURES * N_CLASSES; i++) teacher[i] = uniform(&s) - 0.5f;
    for (int64_t i = 0; i < (int64_t)m * N_FEATURES; i++) d.x[i] = uniform(&s);
    for (int64_t r = 0; r < m; r++) {
        int best = 0;
        float best_z = -INFINITY;
        for (int c = 0; c < N_CLASSES; c++) {
            float z = 0;
            for (int j = 0; j < N_FEATURES; j++) z += d.x[r * N_FEATURES + j] * teacher[c * N_FEATURES + j];
            if (z > best_z) best_z = z, best = c;
        }
        d.y[r] = best;
    }
    free(teacher);
    return d;
}

typedef struct {
    double median_s, min_s, cost;
    uint64_t fingerprint;
    int same_on_all_ranks;
} epoch_time;

/* Trains a fresh model (seed 0) for one warm-up epoch and `reps` timed epochs, one mb_train
 * call of one epoch each; every rank's time is taken, the slowest kept. */
static epoch_time time_epochs(int64_t hidden, const dataset *d, int64_t batch, const mb_communicator *comm,
                              mb_distributed_mode mode, int64_t shards, int reps) {
    int64_t layers[3] = {N_FEATURES, hidden, N_CLASSES};
    mb_model *model;
    check(mb_model_create(layers, 3, NULL, &model), "mb_model_create");
    mb_history *history;
    check(mb_history_create(&history), "mb_history_create");
    mb_train_options opt;
    mb_train_options_init(&opt);
    opt.epochs = 1;
    opt.batch_size = batch;
    opt.learning_rate = 0.1f;
    opt.threads = 1;
    opt.shards = shards;
    opt.communicator = comm;
    opt.distributed_mode = mode;
    double *t = malloc(sizeof(double) * (size_t)reps);
    for (int r = -1; r < reps; r++) {
        if (comm) MPI_Barrier(MPI_COMM_WORLD);
        double t0 = MPI_Wtime();
        check(mb_train(model, d->x, d->y, MB_TARGETS_CLASS_INDEX, d->m, N_FEATURES, &opt, history), "mb_train");
        double dt = comm ? slowest(MPI_Wtime() - t0) : MPI_Wtime() - t0;
        if (r >= 0) t[r] = dt;
    }
    epoch_time out = {0};
    out.median_s = median(t, reps);
    out.min_s = t[0];
    int64_t n_epochs = 0;
    check(mb_history_epoch_costs(history, NULL, 0, &n_epochs), "mb_history_epoch_costs");
    double *costs = malloc(sizeof(double) * (size_t)n_epochs);
    check(mb_history_epoch_costs(history, costs, n_epochs, &n_epochs), "mb_history_epoch_costs");
    out.cost = costs[n_epochs - 1];
    mb_model_info info;
    check(mb_model_get_info(model, &info), "mb_model_get_info");
    float *p = malloc(sizeof(float) * (size_t)info.n_parameters);
    check(mb_model_get_parameters(model, p, info.n_parameters), "mb_model_get_parameters");
    out.fingerprint = fnv1a(p, sizeof(float) * (size_t)info.n_parameters);
    uint64_t lo = out.fingerprint, hi = out.fingerprint;
    if (comm) {
        MPI_Allreduce(&out.fingerprint, &lo, 1, MPI_UINT64_T, MPI_MIN, MPI_COMM_WORLD);
        MPI_Allreduce(&out.fingerprint, &hi, 1, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD);
    }
    out.same_on_all_ranks = lo == hi;
    free(p);
    free(costs);
    free(t);
    mb_history_free(history);
    mb_model_free(model);
    return out;
}

/* One process, no communicator: the compute that distributed training splits. */
static void time_compute(const dataset *d, const bench_options *o) {
    static const int64_t hiddens[2] = {128, 1280};
    for (int h = 0; h < 2; h++) {
        int64_t params = N_FEATURES * hiddens[h] + hiddens[h] + hiddens[h] * N_CLASSES + N_CLASSES;
        for (int b = 0; b < o->n_compute_batches; b++) {
            int64_t batch = o->compute_batches[b], steps = (d->m + batch - 1) / batch;
            /* one shard of `batch` rows: what a rank with one shard of B/R rows computes */
            epoch_time e = time_epochs(hiddens[h], d, batch, NULL, MB_DISTRIBUTED_DETERMINISTIC, 1, o->reps);
            printf("compute    784-%lld-10 (%lld params)  batch %4lld  rows %lld  steps %lld  shards 1  threads 1  "
                   "epoch median %.4f s  min %.4f s  %.3f us/row  (%d reps)\n",
                   (long long)hiddens[h], (long long)params, (long long)batch, (long long)d->m, (long long)steps,
                   e.median_s, e.min_s, e.median_s / (double)d->m * 1e6, o->reps);
            printf("{\"kind\":\"compute\",\"hidden\":%lld,\"n_parameters\":%lld,\"batch\":%lld,\"rows\":%lld,"
                   "\"steps\":%lld,\"shards\":1,\"threads\":1,\"median_s\":%.9g,\"min_s\":%.9g,\"reps\":%d,"
                   "\"cost\":%.9g}\n",
                   (long long)hiddens[h], (long long)params, (long long)batch, (long long)d->m, (long long)steps,
                   e.median_s, e.min_s, o->reps, e.cost);
            fflush(stdout);
        }
    }
}

/* One rank (a communicator of size 1), batch 512: FAST and DETERMINISTIC with S shards on one
 * thread. Both compute the same S shards; DETERMINISTIC keeps every shard's gradient and sums
 * them in shard order, FAST sums as it goes: the difference is what ordered summation costs,
 * per shard and step (the scaling model charges it to DETERMINISTIC, where S >= R). */
static void time_ordered_sum(const dataset *d, const mb_communicator *comm, const bench_options *o) {
    static const int64_t hiddens[2] = {128, 1280};
    static const int64_t all_shards[4] = {1, 2, 4, 8}, quick_shards[2] = {1, 4};
    const int64_t *shard_counts = o->quick ? quick_shards : all_shards;
    int n_counts = o->quick ? 2 : 4;
    const int64_t batch = 512, steps = (d->m + batch - 1) / batch;
    for (int h = 0; h < 2; h++) {
        int64_t params = N_FEATURES * hiddens[h] + hiddens[h] + hiddens[h] * N_CLASSES + N_CLASSES;
        for (int k = 0; k < n_counts; k++) {
            for (int mode = 0; mode < 2; mode++) {
                mb_distributed_mode m = mode == 0 ? MB_DISTRIBUTED_FAST : MB_DISTRIBUTED_DETERMINISTIC;
                const char *name = mode == 0 ? "fast" : "deterministic";
                epoch_time e = time_epochs(hiddens[h], d, batch, comm, m, shard_counts[k], o->reps);
                printf("shards     784-%lld-10 %-13s ranks 1  batch %lld  rows %lld  steps %lld  shards %lld  "
                       "epoch median %.4f s  min %.4f s  (%d reps)\n",
                       (long long)hiddens[h], name, (long long)batch, (long long)d->m, (long long)steps,
                       (long long)shard_counts[k], e.median_s, e.min_s, o->reps);
                printf("{\"kind\":\"shards\",\"hidden\":%lld,\"n_parameters\":%lld,\"mode\":\"%s\",\"batch\":%lld,"
                       "\"rows\":%lld,\"steps\":%lld,\"shards\":%lld,\"median_s\":%.9g,\"min_s\":%.9g,\"reps\":%d}\n",
                       (long long)hiddens[h], (long long)params, name, (long long)batch, (long long)d->m,
                       (long long)steps, (long long)shard_counts[k], e.median_s, e.min_s, o->reps);
                fflush(stdout);
            }
        }
    }
}

static void time_training(const dataset *d, const mb_communicator *comm, const bench_options *o) {
    /* "none": no communicator, the same shards: the one process that DETERMINISTIC
     * reproduces bit for bit (timed at np = 1 only) */
    static const mb_distributed_mode modes[3] = {MB_DISTRIBUTED_FAST, MB_DISTRIBUTED_DETERMINISTIC,
                                                 MB_DISTRIBUTED_DETERMINISTIC};
    static const char *names[3] = {"fast", "deterministic", "none"};
    const double n = W1_PARAMETERS, R = size;
    for (int b = 0; b < o->n_batches; b++) {
        for (int k = 0; k < (size == 1 ? 3 : 2); k++) {
            int64_t batch = o->batches[b], steps = (d->m + batch - 1) / batch;
            /* The shards of a full batch: the header's rule n = min(S, r / 4, ...). */
            int64_t shards = o->shards ? o->shards : size; /* default: threads (1) x ranks */
            if (shards > batch / 4) shards = batch / 4 > 0 ? batch / 4 : 1;
            int64_t per_rank = (shards + size - 1) / size;
            double step_s, sent, received;
            if (k == 2) {
                step_s = sent = received = 0;
            } else if (modes[k] == MB_DISTRIBUTED_FAST) {
                /* one allreduce of the gradient (+ cost and status: 2 floats, ignored) */
                step_s = size > 1 ? collective_estimate(0, W1_PARAMETERS) : 0;
                sent = received = 2 * (R - 1) / R * n * 4; /* ring */
            } else {
                /* one allgather of ceil(S/R) gradients per rank */
                step_s = size > 1 ? collective_estimate(1, per_rank * W1_PARAMETERS) : 0;
                received = (R - 1) * (double)per_rank * n * 4;
                sent = received; /* a ring forwards what it receives; a root-less algorithm at least its own */
            }
            epoch_time e = time_epochs(128, d, batch, k == 2 ? NULL : comm, modes[k], o->shards, o->reps);
            if (rank == 0) {
                printf("train      W1 %-13s ranks %d  batch %4lld  rows %lld  steps %lld  shards %lld  threads 1  "
                       "epoch median %.4f s  min %.4f s  collective/step %.1f us (x steps = %.4f s)  "
                       "bytes/step/rank sent %.0f received %.0f  cost %.6f  params %016llx%s  (%d reps)\n",
                       names[k], size, (long long)batch, (long long)d->m, (long long)steps, (long long)shards,
                       e.median_s, e.min_s, step_s * 1e6, step_s * (double)steps, sent, received, e.cost,
                       (unsigned long long)e.fingerprint, e.same_on_all_ranks ? "" : " DIFFER ACROSS RANKS", o->reps);
                printf("{\"kind\":\"train\",\"model\":\"W1\",\"mode\":\"%s\",\"ranks\":%d,\"batch\":%lld,\"rows\":%lld,"
                       "\"steps\":%lld,\"shards\":%lld,\"shards_requested\":%lld,\"threads\":1,\"median_s\":%.9g,"
                       "\"min_s\":%.9g,\"reps\":%d,\"collective_per_step_s\":%.9g,\"bytes_sent_per_step\":%.0f,"
                       "\"bytes_received_per_step\":%.0f,\"cost\":%.9g,\"fingerprint\":\"%016llx\","
                       "\"same_on_all_ranks\":%s}\n",
                       names[k], size, (long long)batch, (long long)d->m, (long long)steps, (long long)shards,
                       (long long)o->shards, e.median_s, e.min_s, o->reps, step_s, sent, received, e.cost,
                       (unsigned long long)e.fingerprint, e.same_on_all_ranks ? "true" : "false");
                fflush(stdout);
            }
        }
    }
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    bench_options o;
    parse(argc, argv, &o);

    /* A library that predates distributed training ignores the communicator (its options
     * struct is shorter): every rank would train alone. It does not know status 9. */
    int distributed = strcmp(mb_status_name(MB_ERR_COMMUNICATION), "MB_ERR_COMMUNICATION") == 0;
    mb_blas_info blas = {.struct_size = sizeof blas};
    check(mb_get_blas_info(&blas), "mb_get_blas_info");
    if (rank == 0) {
        printf("library    minibatch %s  backend %s  OpenBLAS core %s  libxsmm target %s  distributed training: %s\n",
               mb_version(), blas.backend, blas.openblas_core, blas.libxsmm_target, distributed ? "yes" : "no");
        printf("{\"kind\":\"library\",\"version\":\"%s\",\"backend\":\"%s\",\"openblas_core\":\"%s\","
               "\"libxsmm_target\":\"%s\",\"distributed\":%s,\"ranks\":%d}\n",
               mb_version(), blas.backend, blas.openblas_core, blas.libxsmm_target, distributed ? "true" : "false", size);
        fflush(stdout);
    }

    mb_communicator comm;
    check(mb_mpi_communicator(MPI_COMM_WORLD, &comm), "mb_mpi_communicator");
    if (o.collectives) time_collectives(&comm, &o);

    dataset d = {0};
    if (o.compute || o.train) d = make_data(o.rows);
    if (o.compute && rank == 0) time_compute(&d, &o); /* one rank: the others wait at the barrier below */
    MPI_Barrier(MPI_COMM_WORLD);
    if (o.compute && size == 1 && distributed) time_ordered_sum(&d, &comm, &o);
    if (o.train) {
        if (distributed) {
            time_training(&d, &comm, &o);
        } else if (rank == 0) {
            printf("train      skipped: the loaded libminibatch has no distributed training\n");
            printf("{\"kind\":\"skipped\",\"what\":\"train\",\"reason\":\"library without distributed training\"}\n");
        }
    }
    free(d.x);
    free(d.y);
    mb_mpi_communicator_free(&comm);
    MPI_Finalize();
    return 0;
}
