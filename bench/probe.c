/*
 * probe.c - the machine's two-core matrix-product rate, on command (bench.py's
 * MachineProbe builds it with the C compiler and the system OpenBLAS).
 *
 * On these shared virtual machines both cores sometimes run at about the speed of one for
 * seconds at a time (the host takes them, not a process here): a scalar loop on one core
 * does not slow down, but two cores multiplying matrices together get no more done than
 * one. bench.py asks this process for the rate before and after each timed epoch and
 * repeats epochs that ran while it was down.
 *
 * One thread per core, each multiplying (256, 784) x (784, 128) float32 matrices with
 * single-threaded OpenBLAS (no BLAS thread pool is left spinning between probes). Between
 * probes the threads sleep on a condition variable; on "probe" each wakes, runs one
 * untimed product (so that a core woken from idle is running, and its operands are in
 * cache), then waits at a spinning barrier, and all start the timed products together.
 * The reply is the flops of every thread's timed products over the time from that common
 * start to the last thread's end: what the cores did together, not one after the other.
 * (A probe written in Python measured the interpreter's lock as much as the machine: the
 * second thread often started its products milliseconds after the first.)
 *
 *   usage: probe [threads]     stdin: "probe" or "quit" per line; stdout: GFLOP/s per probe
 */
#define _POSIX_C_SOURCE 200809L
#include <cblas.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { M = 256, K = 784, N = 128, PRODUCTS = 6, MAX_THREADS = 64 };

extern void openblas_set_num_threads(int threads);

typedef struct member {
    pthread_t thread;
    float *a, *b, *c;
} member;

static member g_members[MAX_THREADS];
static int g_threads;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_wake = PTHREAD_COND_INITIALIZER;
static pthread_cond_t g_done = PTHREAD_COND_INITIALIZER;
static long g_generation; /* probes asked for so far; -1: quit */
static int g_finished;    /* threads done with the current probe */
static int g_arrived;     /* threads at the start barrier (atomic) */
static double g_start, g_end;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void product(const member *w)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, w->a, K, w->b, N, 0.0f, w->c, N);
}

static void *run(void *arg)
{
    member *w = (member *)arg;
    long seen = 0;
    for (;;) {
        pthread_mutex_lock(&g_lock);
        while (g_generation == seen) pthread_cond_wait(&g_wake, &g_lock);
        seen = g_generation;
        pthread_mutex_unlock(&g_lock);
        if (seen < 0) return NULL;
        product(w); /* untimed: the core is awake and the operands are in its cache */
        if (__atomic_add_fetch(&g_arrived, 1, __ATOMIC_ACQ_REL) == g_threads) {
            g_start = now();
            __atomic_store_n(&g_arrived, 0, __ATOMIC_RELEASE);
        }
        /* Spin until the last thread has arrived and taken the start time. */
        while (__atomic_load_n(&g_arrived, __ATOMIC_ACQUIRE) != 0) {
        }
        for (int p = 0; p < PRODUCTS; p++) product(w);
        double end = now();
        pthread_mutex_lock(&g_lock);
        if (end > g_end) g_end = end;
        if (++g_finished == g_threads) pthread_cond_signal(&g_done);
        pthread_mutex_unlock(&g_lock);
    }
}

int main(int argc, char **argv)
{
    g_threads = argc > 1 ? atoi(argv[1]) : 2;
    if (g_threads < 1 || g_threads > MAX_THREADS) {
        fprintf(stderr, "probe: threads must be 1 .. %d\n", MAX_THREADS);
        return 2;
    }
    openblas_set_num_threads(1);
    unsigned seed = 1;
    for (int t = 0; t < g_threads; t++) {
        member *w = &g_members[t];
        w->a = (float *)malloc(sizeof(float) * M * K);
        w->b = (float *)malloc(sizeof(float) * K * N);
        w->c = (float *)malloc(sizeof(float) * M * N);
        if (w->a == NULL || w->b == NULL || w->c == NULL) return 1;
        for (int i = 0; i < M * K; i++) w->a[i] = (float)((seed = seed * 1103515245u + 12345u) >> 16 & 0x7fff) / 32768.0f;
        for (int i = 0; i < K * N; i++) w->b[i] = (float)((seed = seed * 1103515245u + 12345u) >> 16 & 0x7fff) / 32768.0f;
        if (pthread_create(&w->thread, NULL, run, w) != 0) return 1;
    }
    const double flops = 2.0 * M * N * K * PRODUCTS * g_threads;
    char line[64];
    while (fgets(line, sizeof line, stdin) != NULL) {
        if (strncmp(line, "quit", 4) == 0) break;
        pthread_mutex_lock(&g_lock);
        g_finished = 0;
        g_end = 0;
        g_generation++;
        pthread_cond_broadcast(&g_wake);
        while (g_finished < g_threads) pthread_cond_wait(&g_done, &g_lock);
        double seconds = g_end - g_start;
        pthread_mutex_unlock(&g_lock);
        printf("%.3f\n", flops / seconds / 1e9);
        fflush(stdout);
    }
    pthread_mutex_lock(&g_lock);
    g_generation = -1;
    pthread_cond_broadcast(&g_wake);
    pthread_mutex_unlock(&g_lock);
    for (int t = 0; t < g_threads; t++) pthread_join(g_members[t].thread, NULL);
    return 0;
}
