/*
 * test_address_limit.c - under an address-space limit (ulimit -v, RLIMIT_AS) the library's
 * allocations that grow with the caller's sizes fail with MB_ERR_OUT_OF_MEMORY instead of
 * ending the process: found by a hunt that ran the C API under `ulimit -v 2000000`, where
 * Swift arrays (whose failed allocation aborts) held a validation split's rows, a
 * history's costs and the ranks' records.
 *
 * Each case runs in a child process with RLIMIT_AS set and most of what is left reserved
 * (PROT_NONE, never touched), so that a few megabytes stay free: the parent checks that
 * the child exited normally with the status expected (an abort is SIGABRT).
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

/* This process's mapped address space (VmSize) in bytes, -1 if it cannot be read. */
static long mapped_bytes(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long size_kb = -1;
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, "VmSize:", 7) == 0) size_kb = atol(line + 7);
    if (f != NULL) fclose(f);
    return size_kb < 0 ? -1 : size_kb * 1024L;
}

/* In the child: a limit of what is mapped now plus 1 GiB, then all but `headroom` bytes of
 * it reserved (PROT_NONE, never touched). */
static int limit_to(long headroom)
{
    struct rlimit r;
    long mapped = mapped_bytes();
    if (mapped < 0) return -1;
    r.rlim_cur = r.rlim_max = (rlim_t)mapped + (1L << 30);
    if (setrlimit(RLIMIT_AS, &r) != 0) return -1;
    long take = (long)r.rlim_cur - mapped_bytes() - headroom;
    if (take > 0 && mmap(NULL, (size_t)take, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0) == MAP_FAILED)
        return -1;
    return 0;
}

/* Runs `body` in a child; the child's exit status is body's mb_status (255 if the limit
 * could not be set). Returns the status, or -1 - signal if the child was killed. */
static int in_child(int (*body)(void))
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) _exit(body());
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid) return -1000;
    if (WIFSIGNALED(status)) return -1 - WTERMSIG(status);
    return WEXITSTATUS(status);
}

static mb_model *regression_model(void)
{
    const int64_t sizes[] = {1, 1};
    mb_model_options o;
    mb_model *model = NULL;
    mb_model_options_init(&o);
    o.loss = MB_LOSS_MSE;
    return mb_model_create(sizes, 2, &o, &model) == MB_OK ? model : NULL;
}

/* validation_fraction over 4 million rows with 34 MB left: the split's order (8 bytes a row,
 * 32 MB) fits, its flags (a byte a row) do not. They were a Swift [Bool] of m. */
static int split_beyond_the_limit(void)
{
    enum { M = 4000000 };
    float *x = (float *)malloc(sizeof(float) * M), *y = (float *)malloc(sizeof(float) * M);
    mb_model *model = regression_model();
    mb_train_options o;
    if (x == NULL || y == NULL || model == NULL) return 254;
    for (int64_t i = 0; i < M; i++) x[i] = y[i] = (float)(i % 7) / 7;
    mb_train_options_init(&o);
    o.epochs = 1;
    o.batch_size = 4096;
    o.validation_fraction = 0.5;
    if (limit_to(8L * M + M / 2) != 0) return 255;
    mb_status s = mb_train(model, x, y, MB_TARGETS_FLOAT32, M, 1, &o, NULL);
    if (s != MB_OK && strstr(mb_last_error(), "validation split") == NULL) {
        fprintf(stderr, "    unexpected error: %s\n", mb_last_error());
        return 253;
    }
    return (int)s;
}

/* A history of a million batch costs, then, with 14 MB left, a call whose permutation (8 MB)
 * fits but whose costs would grow the history past what is left:
 * the growth is refused (it was a Swift array's reserveCapacity). */
static int history_beyond_the_limit(void)
{
    enum { M = 1000000 };
    float *x = (float *)malloc(sizeof(float) * M), *y = (float *)malloc(sizeof(float) * M);
    mb_model *model = regression_model();
    mb_history *history = NULL;
    mb_train_options o;
    int64_t count = 0;
    if (x == NULL || y == NULL || model == NULL || mb_history_create(&history) != MB_OK) return 254;
    for (int64_t i = 0; i < M; i++) x[i] = y[i] = (float)(i % 7) / 7;
    mb_train_options_init(&o);
    o.epochs = 1;
    o.batch_size = 1;
    o.learning_rate = 0.01f;
    if (mb_train(model, x, y, MB_TARGETS_FLOAT32, M, 1, &o, history) != MB_OK) return 252;
    if (limit_to(14L << 20) != 0) return 255;
    mb_status s = mb_train(model, x, y, MB_TARGETS_FLOAT32, M, 1, &o, history);
    if (s != MB_OK && strstr(mb_last_error(), "history") == NULL) {
        fprintf(stderr, "    unexpected error: %s\n", mb_last_error());
        return 253;
    }
    /* what was recorded is still there, and readable */
    if (mb_history_batch_costs(history, NULL, 0, &count) != MB_OK || count != M) return 251;
    return (int)s;
}

/* A model of 2^20 - 1 layers of one unit (the most the header allows) with 24 MB left: its
 * layers' array (48 bytes a layer, 48 MB) does not fit. It aborted in Swift's allocator. */
static int layers_beyond_the_limit(void)
{
    enum { LAYERS = (1 << 20) - 1 };
    int64_t *sizes = (int64_t *)malloc(sizeof(int64_t) * (LAYERS + 1));
    mb_model_options o;
    mb_model *model = NULL;
    if (sizes == NULL) return 254;
    for (int64_t i = 0; i <= LAYERS; i++) sizes[i] = 1;
    mb_model_options_init(&o);
    o.loss = MB_LOSS_MSE;
    if (limit_to(24L << 20) != 0) return 255;
    mb_status s = mb_model_create(sizes, LAYERS + 1, &o, &model);
    if (s != MB_OK && strstr(mb_last_error(), "layers") == NULL) {
        fprintf(stderr, "    unexpected error: %s\n", mb_last_error());
        return 253;
    }
    return (int)s;
}

static void test_a_validation_split_beyond_the_limit_is_out_of_memory(void)
{
    CHECK_STATUS(in_child(split_beyond_the_limit), MB_ERR_OUT_OF_MEMORY);
}

static void test_a_history_beyond_the_limit_is_out_of_memory(void)
{
    CHECK_STATUS(in_child(history_beyond_the_limit), MB_ERR_OUT_OF_MEMORY);
}

static void test_layers_beyond_the_limit_are_out_of_memory(void)
{
    CHECK_STATUS(in_child(layers_beyond_the_limit), MB_ERR_OUT_OF_MEMORY);
}

int main(void)
{
    const char *valgrind = getenv("VALGRIND"), *sanitize = getenv("SANITIZE");
    if ((valgrind != NULL && strcmp(valgrind, "1") == 0) || (sanitize != NULL && *sanitize != '\0')) {
        /* valgrind and the sanitizers map their own shadow memory: no address-space limit */
        printf("skipped: test_address_limit sets an address-space limit, which valgrind and the sanitizers cannot run under\n");
        printf("0 passed, 0 failed\n");
        return 0;
    }
    RUN_TEST(test_a_validation_split_beyond_the_limit_is_out_of_memory);
    RUN_TEST(test_a_history_beyond_the_limit_is_out_of_memory);
    RUN_TEST(test_layers_beyond_the_limit_are_out_of_memory);
    return check_summary();
}
