/* The rate minibatch's matrix backend reaches with a team of threads, for the benchmark's
 * bound (bench/workers.py, BlasProbe): a product of a batch split across the threads by the
 * batch's rows, as training's team splits a batch, every thread running its part at once.
 * Built into the backend probe library beside Sources/CMatrix/matrix.c (bench.py).
 *
 * Before, the bound took the backend's one-thread rate times the threads: a split at no
 * cost, with the other core idle while the rate was measured. Measured this way, both cores
 * run products at once (sharing the L3 and memory and whatever the host takes from either),
 * and each runs the smaller product its share of the rows makes, as numpy's and Debian's
 * OpenBLAS are measured with their own threads on the whole product. Still not counted: the
 * training step's barriers, and the sum of the threads' weight gradients. Each product runs
 * as given: the caller passes it in the layout training runs it in (workers.py,
 * BlasProbe.as_trained). */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "matrix.h"

typedef struct {
    int ta, tb, m, n, k, lda, ldb, ldc, count;
    const float *a, *b;
    float *c;
} part;

static void run_part(const part *p)
{
    for (int i = 0; i < p->count; i++)
        mbm_sgemm(p->ta, p->tb, p->m, p->n, p->k, 1, p->a, p->lda, p->b, p->ldb, 0, p->c, p->ldc);
}

/* The members, made at the first call and kept: a thread new to OpenBLAS touches a buffer
 * of its own (page faults) in its first product, which training's team pays once per
 * training, not per product. Member t waits for a new `round` and runs parts[t]. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static part parts[256];
static pthread_t ids[256];
static int members = 1, round_number, finished;

static void *member(void *argument)
{
    const int t = (int)(size_t)argument;
    int seen = 0;
    /* the products as a training step's, as training's team members run them */
    mbm_set_training_products(1);
    for (;;) {
        pthread_mutex_lock(&lock);
        while (round_number == seen) pthread_cond_wait(&changed, &lock);
        seen = round_number;
        pthread_mutex_unlock(&lock);
        run_part(&parts[t]);
        pthread_mutex_lock(&lock);
        finished++;
        pthread_cond_broadcast(&changed);
        pthread_mutex_unlock(&lock);
    }
    return NULL;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Seconds per call of the row-major C = op(A) op(B), (M, N, K), with A (K, M) if ta else
 * (M, K), B (N, K) if tb else (K, N), C (M, N), split across `threads` threads by the
 * batch's rows: M when A is not transposed (each thread its rows of A and C), K when it is
 * (the weight gradients: each thread its rows of A and B, into a C of its own). Every
 * thread runs `count` calls of its part; they start together, and the time is until the
 * last one finishes. -1 if threads or memory cannot be had. One call at a time. */
double mbm_bench_team_seconds(int threads, int count, int ta, int tb, int m, int n, int k, const float *a,
                              const float *b, float *c)
{
    if (threads < 1 || threads > 256 || count < 1) return -1;
    const int lda = ta ? m : k, ldb = tb ? k : n, rows = ta ? k : m;
    int failed = 0;
    while (members < threads && !failed) {
        if (pthread_create(&ids[members], NULL, member, (void *)(size_t)members) != 0) failed = 1;
        else members++;
    }
    for (int t = 0; t < threads; t++) {
        const int r0 = (int)((long long)t * rows / threads), r1 = (int)((long long)(t + 1) * rows / threads);
        part *p = &parts[t];
        *p = (part){.ta = ta, .tb = tb, .m = m, .n = n, .k = k, .lda = lda, .ldb = ldb, .ldc = n, .count = count,
                    .a = a, .b = b, .c = c};
        if (ta) {
            p->k = r1 - r0;
            p->a = a + (size_t)r0 * lda;
            p->b = b + (size_t)r0 * ldb;
            if (t > 0) p->c = malloc(sizeof(float) * (size_t)m * n);
            if (!p->c) failed = 1;
        } else {
            p->m = r1 - r0;
            p->a = a + (size_t)r0 * lda;
            p->c = c + (size_t)r0 * n;
        }
    }
    /* members past `threads` (from an earlier call with more) run nothing */
    for (int t = threads; t < members; t++) parts[t] = (part){.count = 0};
    double seconds = -1;
    if (!failed) {
        const double t0 = now();
        pthread_mutex_lock(&lock);
        finished = 0;
        round_number++;
        pthread_cond_broadcast(&changed);
        pthread_mutex_unlock(&lock);
        const int was = mbm_set_training_products(1);
        run_part(&parts[0]);
        mbm_set_training_products(was);
        pthread_mutex_lock(&lock);
        while (finished < members - 1) pthread_cond_wait(&changed, &lock);
        pthread_mutex_unlock(&lock);
        seconds = (now() - t0) / count;
    }
    for (int t = 1; t < threads; t++)
        if (ta) free(parts[t].c);
    return seconds;
}
