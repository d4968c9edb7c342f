/*
 * test_denormals.c - mb_train_options.denormals (0.12.0):
 *   - MB_DENORMALS_FLUSH (the default) reads and computes subnormal floats as 0 while the
 *     mini-batches run, on every thread of the team: features of 2^-130 give no weight
 *     gradient, so zero weights stay exactly 0; MB_DENORMALS_KEEP keeps IEEE arithmetic's
 *     subnormals, and the same weights move by subnormal amounts (the plain products,
 *     computed here);
 *   - nothing outside the batches sees the setting: the caller's control word (MXCSR) is the
 *     same after the call, flushing or not, whatever the caller had set; the progress
 *     callback runs with the caller's;
 *   - other values of denormals, and a reserved field other than 0, are refused;
 *   - predictions, shared among threads, compute in the caller's mode on each of them.
 * The flushing checks need an x86-64 CPU that honours MXCSR's bits (valgrind's emulated one
 * does not): elsewhere both settings keep subnormals, said and checked as such.
 */
#include <float.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#if defined(__x86_64__)
#include <xmmintrin.h>
/* MXCSR's control bits (rounding, exception masks, FTZ, DAZ), without the exception flags
 * (bits 0-5), which any arithmetic may raise. */
static unsigned control_word(void) { return _mm_getcsr() & ~0x3Fu; }
static void set_control_word(unsigned w) { _mm_setcsr(w | (_mm_getcsr() & 0x3Fu)); }
#define FLUSH_BITS 0x8040u
#endif

/* 2^-130: a subnormal float (the smallest normal is 2^-126). */
static float subnormal(void) { return ldexpf(1.0f, -130); }

/* Whether this machine honours the flushing bits: valgrind's emulated CPU does not (it warns
 * "Setting %mxcsr.fz" and computes subnormals), where the flushing checks are skipped. */
static int flushing_works(void)
{
#if defined(__x86_64__)
    const unsigned saved = control_word();
    set_control_word(saved | FLUSH_BITS);
    volatile float a = subnormal(), one = 1.0f;
    volatile float product = a * one;
    const unsigned seen = control_word();
    set_control_word(saved);
    return product == 0 && (seen & FLUSH_BITS) == FLUSH_BITS;
#else
    return 0;
#endif
}

static int is_subnormal(float v) { return v != 0 && fabsf(v) < FLT_MIN; }

/* Linear regression (2 -> 1, MSE) with W = 0 and b = 0 on rows x = (2^-130, 2^-129), y = 1:
 * the bias learns (its gradient is not subnormal) and W's gradient is (z - y) x, subnormal. */
static void test_linear_model(void)
{
    enum { M = 8 };
    float x[M * 2], y[M];
    for (int i = 0; i < M; i++) {
        x[2 * i] = subnormal();
        x[2 * i + 1] = 2 * subnormal();
        y[i] = 1;
    }
    CHECK(is_subnormal(x[0]) && is_subnormal(x[1]));
    float after[2][3];
    for (int keep = 0; keep < 2; keep++) {
        int64_t sizes[] = {2, 1};
        mb_model_options mo;
        mb_model_options_init(&mo);
        mo.loss = MB_LOSS_MSE;
        mb_model *model = NULL;
        if (!CHECK_STATUS(mb_model_create(sizes, 2, &mo, &model), MB_OK)) return;
        const float zero[3] = {0, 0, 0};
        CHECK_STATUS(mb_model_set_parameters(model, zero, 3), MB_OK);
        mb_train_options o;
        mb_train_options_init(&o);
        CHECK(o.denormals == MB_DENORMALS_FLUSH && o.reserved == 0);
        o.denormals = keep ? MB_DENORMALS_KEEP : MB_DENORMALS_FLUSH;
        o.epochs = 1;
        o.batch_size = M;
        o.learning_rate = 0.5f;
        o.threads = 1;
        CHECK_STATUS(mb_train(model, x, y, MB_TARGETS_FLOAT32, M, 2, &o, NULL), MB_OK);
        CHECK_STATUS(mb_model_get_parameters(model, after[keep], 3), MB_OK);
        mb_model_free(model);
    }
    /* the bias moved, alike in both (its gradient is not subnormal) */
    CHECK(after[0][2] != 0 && after[0][2] == after[1][2]);
    if (flushing_works()) {
        CHECK(after[0][0] == 0 && after[0][1] == 0);
    } else {
        printf("  (this CPU does not flush subnormals (valgrind's, or not x86-64): both settings keep them)\n");
        CHECK(memcmp(after[0], after[1], sizeof after[0]) == 0);
    }
    CHECK(is_subnormal(after[1][0]) && is_subnormal(after[1][1]));
    /* every factor a power of two, so the subnormal steps are exact: the second weight's
     * step is twice the first's, as its feature is */
    CHECK(after[1][1] == 2 * after[1][0]);
}

/* 784-128-10 on two threads, W1 = 0, every x = 2^-130: dW1 = dz^T x is subnormal in both
 * shards (each computed by its own thread), and the update is split between the threads.
 * Flushing, W1 stays exactly 0; kept, its weights move (in the first and the second half of
 * its units alike), by subnormal steps. (That each member works in the mode asked for, in
 * every phase, is Swift's everyMemberWorksInTheModeAskedFor: here the update, which reads
 * every shard's gradient, would hide a member that did not flush its gradient.) */
static void test_team(void)
{
    enum { M = 256, N = 784, H = 128, K = 10 };
    float *x = malloc(sizeof(float) * M * N);
    int32_t *y = malloc(sizeof(int32_t) * M);
    int64_t sizes[] = {N, H, K};
    mb_model *model = NULL;
    mb_model_options mo;
    mb_model_options_init(&mo);
    mo.seed = 3;
    if (!CHECK(x && y) || !CHECK_STATUS(mb_model_create(sizes, 3, &mo, &model), MB_OK)) {
        free(x);
        free(y);
        return;
    }
    for (int i = 0; i < M * N; i++) x[i] = subnormal();
    for (int i = 0; i < M; i++) y[i] = i % K;
    mb_model_info info;
    mb_model_get_info(model, &info);
    float *start = malloc(sizeof(float) * (size_t)info.n_parameters);
    float *p = malloc(sizeof(float) * (size_t)info.n_parameters);
    if (!CHECK(start && p)) goto done;
    CHECK_STATUS(mb_model_get_parameters(model, start, info.n_parameters), MB_OK);
    memset(start, 0, sizeof(float) * N * H);            /* W1 */
    for (int j = 0; j < H; j++) start[N * H + j] = 0.5f; /* b1: every unit alive */
    for (int keep = 0; keep < 2; keep++) {
        CHECK_STATUS(mb_model_set_parameters(model, start, info.n_parameters), MB_OK);
        mb_model_reset_training_state(model);
        mb_train_options o;
        mb_train_options_init(&o);
        o.denormals = keep ? MB_DENORMALS_KEEP : MB_DENORMALS_FLUSH;
        o.epochs = 2;
        o.batch_size = 64;
        o.learning_rate = 0.5f;
        o.threads = 2;
        o.shards = 2;
        o.optimizer = MB_OPTIMIZER_SGD;
        o.momentum = 0.9f;
        CHECK_STATUS(mb_train(model, x, y, MB_TARGETS_CLASS_INDEX, M, N, &o, NULL), MB_OK);
        CHECK_STATUS(mb_model_get_parameters(model, p, info.n_parameters), MB_OK);
        long moved[2] = {0, 0}, normal = 0;
        for (int i = 0; i < N * H; i++) {
            if (p[i] != 0) moved[i < N * H / 2 ? 0 : 1]++;
            if (p[i] != 0 && !is_subnormal(p[i])) normal++;
        }
        /* the other parameters trained in both */
        CHECK(memcmp(p + N * H, start + N * H, sizeof(float) * (size_t)(info.n_parameters - N * H)) != 0);
        CHECK(normal == 0);
        if (keep || !flushing_works()) {
            CHECK(moved[0] > 0 && moved[1] > 0);
        } else {
            CHECK(moved[0] == 0 && moved[1] == 0);
        }
    }
done:
    free(start);
    free(p);
    free(x);
    free(y);
    mb_model_free(model);
}

#if defined(__x86_64__)
typedef struct seen {
    int calls;
    int changed;
    unsigned expected;
} seen;

static int progress(const mb_progress *pr, void *user_data)
{
    (void)pr;
    seen *s = user_data;
    s->calls++;
    if (control_word() != s->expected) s->changed++;
    return 0;
}
#endif

/* The caller's control word, before, during its callback and after, for both settings and
 * for a caller that flushes subnormals itself. */
static void test_caller_untouched(void)
{
#if defined(__x86_64__)
    enum { M = 64 };
    if (!flushing_works()) {
        printf("  (this CPU does not keep the flushing bits (valgrind's): skipped)\n");
        return;
    }
    float x[M * 2];
    int32_t y[M];
    for (int i = 0; i < M; i++) {
        x[2 * i] = (float)(i % 7) / 7;
        x[2 * i + 1] = (float)(i % 5) / 5;
        y[i] = (i % 7) > 3;
    }
    const unsigned original = control_word();
    for (int own = 0; own < 2; own++) {
        for (int keep = 0; keep < 2; keep++) {
            for (int threads = 1; threads <= 2; threads++) {
                const unsigned caller = own ? (original | FLUSH_BITS) : (original & ~FLUSH_BITS);
                set_control_word(caller);
                int64_t sizes[] = {2, 8, 2};
                mb_model *model = NULL;
                if (!CHECK_STATUS(mb_model_create(sizes, 3, NULL, &model), MB_OK)) continue;
                seen s = {0, 0, caller};
                mb_train_options o;
                mb_train_options_init(&o);
                o.denormals = keep ? MB_DENORMALS_KEEP : MB_DENORMALS_FLUSH;
                o.epochs = 3;
                o.batch_size = 16;
                o.threads = threads;
                o.progress = progress;
                o.user_data = &s;
                CHECK_STATUS(mb_train(model, x, y, MB_TARGETS_CLASS_INDEX, M, 2, &o, NULL), MB_OK);
                CHECK(control_word() == caller);
                CHECK(s.calls == 3 && s.changed == 0);
                /* a refused call leaves it too */
                o.denormals = (mb_denormals)7;
                CHECK_ERR_ARG(mb_train(model, x, y, MB_TARGETS_CLASS_INDEX, M, 2, &o, NULL), MB_ERR_INVALID_ARGUMENT,
                              "denormals");
                CHECK(control_word() == caller);
                mb_model_free(model);
            }
        }
    }
    set_control_word(original);
#else
    printf("  (not x86-64: no control word to check)\n");
#endif
}

#if defined(__x86_64__)
/* In a child process (a fresh team: one made before a fork is not used after it): a linear
 * model (2 -> 1, MSE, W = (1, 1), b = 0) trained on two threads with `trained`, 1,024 rows
 * x = (2^-130, 0) predicted (4 passes of 256 rows) by a caller in the other mode, then again
 * by a caller that flushes subnormals (`flush`) or keeps them: every row must then give 0,
 * or 2^-130 (whichever mode the team's threads were made in, by the training or by the
 * first prediction).
 * The child's exit status is the count of rows that do not. */
static int predicted_in_callers_mode(mb_denormals trained, int flush)
{
    enum { M = 1024 };
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        float *x = calloc(2 * M, sizeof(float)), *y = calloc(M, sizeof(float)), *out = malloc(sizeof(float) * M);
        int64_t sizes[] = {2, 1};
        mb_model_options mo;
        mb_model_options_init(&mo);
        mo.loss = MB_LOSS_MSE;
        mb_model *model = NULL;
        if (!x || !y || !out || mb_model_create(sizes, 2, &mo, &model) != MB_OK) _exit(200);
        mb_train_options o;
        mb_train_options_init(&o);
        o.epochs = 1;
        o.batch_size = 256;
        o.threads = 2;
        o.denormals = trained;
        if (mb_train(model, x, y, MB_TARGETS_FLOAT32, M, 2, &o, NULL) != MB_OK) _exit(201);
        const float p[3] = {1, 1, 0};
        if (mb_model_set_parameters(model, p, 3) != MB_OK) _exit(202);
        for (int i = 0; i < M; i++) x[2 * i] = subnormal();
        /* a prediction in the other mode first (a team made for it has its threads) */
        const unsigned original = control_word();
        set_control_word(flush ? (original & ~FLUSH_BITS) : (original | FLUSH_BITS));
        if (mb_predict(model, x, M, 2, out) != MB_OK) _exit(203);
        set_control_word(flush ? (original | FLUSH_BITS) : (original & ~FLUSH_BITS));
        const mb_status status = mb_predict(model, x, M, 2, out);
        set_control_word(original);
        if (status != MB_OK) _exit(204);
        const float expected = flush ? 0.0f : subnormal();
        int wrong = 0;
        for (int i = 0; i < M; i++) wrong += out[i] != expected;
        _exit(wrong > 199 ? 199 : wrong);
    }
    int status = 0;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
    return WEXITSTATUS(status);
}
#endif

/* Predictions shared among threads (0.12.6) compute in the caller's mode on every thread,
 * whatever mode the team's threads were made in: a caller that keeps subnormals after a
 * training and a prediction that flushed them, and one that flushes after both kept them
 * (each in a child process of its own, so each makes its team). Without the caller's mode
 * given to the team, 512 of the 1,024 rows differ in each. */
static void test_predictions_in_the_callers_mode(void)
{
#if defined(__x86_64__)
    if (!flushing_works()) {
        printf("  (this CPU does not keep the flushing bits (valgrind's): skipped)\n");
        return;
    }
    mb_blas_info info = {.struct_size = sizeof info};
    CHECK_STATUS(mb_get_blas_info(&info), MB_OK);
    if (info.threads < 2) printf("  (OpenBLAS has %d thread here: every pass runs on the calling thread)\n", (int)info.threads);
    int wrong = predicted_in_callers_mode(MB_DENORMALS_FLUSH, 0);
    if (!CHECK(wrong == 0)) printf("  caller keeping (after a flushing training and prediction): %d rows of 1024 wrong\n", wrong);
    wrong = predicted_in_callers_mode(MB_DENORMALS_KEEP, 1);
    if (!CHECK(wrong == 0)) printf("  caller flushing (after a keeping training and prediction): %d rows of 1024 wrong\n", wrong);
#else
    printf("  (not x86-64: no control word to check)\n");
#endif
}

static void test_refusals(void)
{
    enum { M = 16 };
    float x[M * 2];
    int32_t y[M];
    for (int i = 0; i < M; i++) {
        x[2 * i] = (float)i / M;
        x[2 * i + 1] = 1 - (float)i / M;
        y[i] = i & 1;
    }
    int64_t sizes[] = {2, 4, 2};
    mb_model *model = NULL;
    if (!CHECK_STATUS(mb_model_create(sizes, 3, NULL, &model), MB_OK)) return;
    float before[4 * 2 + 4 + 2 * 4 + 2], after[4 * 2 + 4 + 2 * 4 + 2];
    CHECK_STATUS(mb_model_get_parameters(model, before, 22), MB_OK);
    mb_train_options o;
    mb_train_options_init(&o);
    o.denormals = (mb_denormals)2;
    CHECK_ERR_ARG(mb_train(model, x, y, MB_TARGETS_CLASS_INDEX, M, 2, &o, NULL), MB_ERR_INVALID_ARGUMENT, "denormals");
    o.denormals = (mb_denormals)-1;
    CHECK_ERR_ARG(mb_train(model, x, y, MB_TARGETS_CLASS_INDEX, M, 2, &o, NULL), MB_ERR_INVALID_ARGUMENT, "denormals");
    o.denormals = MB_DENORMALS_KEEP;
    o.reserved = 1;
    CHECK_ERR_ARG(mb_train(model, x, y, MB_TARGETS_CLASS_INDEX, M, 2, &o, NULL), MB_ERR_INVALID_ARGUMENT, "reserved");
    o.reserved = INT32_MIN;
    CHECK_ERR_ARG(mb_train(model, x, y, MB_TARGETS_CLASS_INDEX, M, 2, &o, NULL), MB_ERR_INVALID_ARGUMENT, "reserved");
    CHECK_STATUS(mb_model_get_parameters(model, after, 22), MB_OK);
    CHECK(memcmp(before, after, sizeof before) == 0);
    /* flushing, rows' weights with one below 2^-126 (which would read as 0) are scaled by a
     * power of two into the normal range: half the rows weigh 2^-130, half 2^-120, so the
     * small ones hold a normal share of the total (2^-10 of the others'). The same training as
     * the caller's own scaling (2^4) bit for bit, without l2; with l2 the same as keeping
     * subnormals (its divisor stays the caller's total); another than those rows at 0. */
    o.reserved = 0;
    o.denormals = MB_DENORMALS_FLUSH;
    float w[M], scaled[M], zeroed[M], q[5][22];
    for (int i = 0; i < M; i++) {
        w[i] = ldexpf(1.0f, i < M / 2 ? -130 : -120);
        scaled[i] = ldexpf(1.0f, i < M / 2 ? -126 : -116);
        zeroed[i] = i < M / 2 ? 0 : w[i];
    }
    const float *weights[5] = {w, scaled, zeroed, w, w};
    for (int k = 0; k < 5; k++) {
        mb_model *c = NULL;
        if (!CHECK_STATUS(mb_model_create(sizes, 3, NULL, &c), MB_OK)) continue;
        mb_train_options v = o;
        v.sample_weight = weights[k];
        v.epochs = 3;
        v.batch_size = 8; /* (each batch mixes both kinds: the rows are shuffled) */
        v.l2 = k >= 3 ? ldexpf(1.0f, -125) : 0; /* (divided by the total weight, about 2^-117) */
        v.denormals = k == 4 ? MB_DENORMALS_KEEP : MB_DENORMALS_FLUSH;
        CHECK_STATUS(mb_train(c, x, y, MB_TARGETS_CLASS_INDEX, M, 2, &v, NULL), MB_OK);
        CHECK_STATUS(mb_model_get_parameters(c, q[k], 22), MB_OK);
        mb_model_free(c);
    }
    CHECK(memcmp(q[0], q[1], sizeof q[0]) == 0);
    CHECK(memcmp(q[0], q[2], sizeof q[0]) != 0);
    CHECK(memcmp(q[3], q[4], sizeof q[3]) == 0);
    CHECK(memcmp(q[3], q[0], sizeof q[3]) != 0);
    const float classes[2] = {1e-20f, 1};
    for (int i = 0; i < M; i++) w[i] = 1;
    w[2] = 1e-20f; /* row 2 is class 0: 1e-20 x 1e-20 */
    o.sample_weight = w;
    o.class_weight = classes;
    o.class_weight_count = 2;
    CHECK_STATUS(mb_train(model, x, y, MB_TARGETS_CLASS_INDEX, M, 2, &o, NULL), MB_OK);
    o.class_weight = NULL;
    o.class_weight_count = 0;
    CHECK_STATUS(mb_model_get_parameters(model, before, 22), MB_OK);
    w[2] = ldexpf(1.0f, -149);
    w[5] = ldexpf(1.5f, 127);
#if defined(__x86_64__)
    CHECK_ERR_ARG(mb_train(model, x, y, MB_TARGETS_CLASS_INDEX, M, 2, &o, NULL), MB_ERR_INVALID_ARGUMENT,
                  "span more than float's normal range");
    CHECK(strstr(mb_last_error(), "MB_DENORMALS_KEEP") != NULL);
    CHECK_STATUS(mb_model_get_parameters(model, after, 22), MB_OK);
    CHECK(memcmp(before, after, sizeof before) == 0);
#else
    CHECK_STATUS(mb_train(model, x, y, MB_TARGETS_CLASS_INDEX, M, 2, &o, NULL), MB_OK); /* (nothing flushes) */
#endif
    o.denormals = MB_DENORMALS_KEEP;
    CHECK_STATUS(mb_train(model, x, y, MB_TARGETS_CLASS_INDEX, M, 2, &o, NULL), MB_OK);
    mb_model_free(model);
}

int main(void)
{
    RUN_TEST(test_linear_model);
    RUN_TEST(test_team);
    RUN_TEST(test_caller_untouched);
    RUN_TEST(test_predictions_in_the_callers_mode);
    RUN_TEST(test_refusals);
    return check_summary();
}
