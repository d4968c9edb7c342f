/*
 * test_interrupt.c - mb_interrupt: a stop request checked after every mini-batch. Stopping
 * after the first batch against training on that batch's rows alone (the permutation's
 * first rows, in order), the counts, the request left set until cleared, a request from
 * another thread and from a signal handler, an update rule's state kept, an options struct
 * from before the field (ignored), and the handle's bad arguments.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "check.h"
#include "ref.h"

enum { M = 120, N_IN = 3, HIDDEN = 6, CLASSES = 3, BATCH = 10 };

static float X[M * N_IN];
static int32_t Y[M];

static void make_data(void)
{
    tdata_fill(X, M * N_IN, 41, -1.0, 1.0);
    tdata_classes(Y, M, CLASSES, 42);
}

static mb_model *new_model(void)
{
    int64_t sizes[3] = {N_IN, HIDDEN, CLASSES};
    mb_model_options mo;
    mb_model *model = NULL;
    mb_model_options_init(&mo);
    mo.hidden_activation = MB_ACTIVATION_TANH;
    mo.seed = 7;
    if (mb_model_create(sizes, 3, &mo, &model) != MB_OK)
        return NULL;
    return model;
}

static void options(mb_train_options *o, int64_t epochs)
{
    mb_train_options_init(o);
    o->epochs = epochs;
    o->batch_size = BATCH;
    o->learning_rate = 0.2f;
    o->seed = 3;
    o->threads = 1;
}

static int64_t history_length(const mb_history *h, int epochs)
{
    int64_t c = -1;
    if ((epochs ? mb_history_epoch_costs(h, NULL, 0, &c) : mb_history_batch_costs(h, NULL, 0, &c)) != MB_OK)
        return -1;
    return c;
}

/* A request made before training stops it after its first mini-batch: the weights are
 * those of one step on the epoch's first BATCH rows (mb_permutation's), the epoch is not
 * counted, the history has that batch's cost and no epoch cost; the request stays set
 * until cleared, and the counts add up over the calls. */
static void test_stop_after_the_first_batch(void)
{
    mb_model *a = new_model(), *b = new_model();
    mb_interrupt *stop = NULL;
    mb_history *h = NULL;
    mb_train_options o;
    int64_t perm[M], batches = -1, examples = -1, per_epoch = -1;
    float xb[BATCH * N_IN];
    int32_t yb[BATCH];
    if (!CHECK(a && b) || !CHECK_STATUS(mb_interrupt_create(&stop), MB_OK) ||
        !CHECK_STATUS(mb_history_create(&h), MB_OK))
        goto done;
    CHECK(mb_interrupt_is_requested(stop) == 0);
    CHECK_STATUS(mb_interrupt_counts(stop, &batches, &examples, &per_epoch), MB_OK);
    CHECK(batches == 0 && examples == 0 && per_epoch == 0);
    mb_interrupt_request_stop(stop);
    CHECK(mb_interrupt_is_requested(stop) == 1);
    options(&o, 5);
    o.interrupt = stop;
    CHECK_ERR(mb_train(a, X, Y, MB_TARGETS_CLASS_INDEX, M, N_IN, &o, h), MB_ERR_CANCELLED);
    CHECK(strstr(mb_last_error(), "interrupted after batch 1 of 12 of epoch 1 of 5") != NULL);
    CHECK(model_epochs(a) == 0);
    CHECK(history_length(h, 0) == 1 && history_length(h, 1) == 0);
    CHECK_STATUS(mb_interrupt_counts(stop, &batches, &examples, &per_epoch), MB_OK);
    CHECK(batches == 1 && examples == BATCH && per_epoch == M / BATCH);

    /* The reference: one step on the permutation's first BATCH rows, in that order. */
    CHECK_STATUS(mb_permutation(M, o.seed, 0, perm), MB_OK);
    for (int k = 0; k < BATCH; k++) {
        memcpy(xb + k * N_IN, X + perm[k] * N_IN, sizeof(float) * N_IN);
        yb[k] = Y[perm[k]];
    }
    options(&o, 1);
    o.shuffle = 0;
    CHECK_STATUS(mb_train(b, xb, yb, MB_TARGETS_CLASS_INDEX, BATCH, N_IN, &o, NULL), MB_OK);
    {
        int64_t n = 0;
        float *pa = model_params(a, &n), *pb = model_params(b, &n);
        CHECK(pa && pb && memcmp(pa, pb, sizeof(float) * (size_t)n) == 0);
        free(pa);
        free(pb);
    }

    /* Still set: the next call stops after its first batch too; cleared, it runs whole. */
    options(&o, 2);
    o.interrupt = stop;
    CHECK_ERR(mb_train(a, X, Y, MB_TARGETS_CLASS_INDEX, M, N_IN, &o, h), MB_ERR_CANCELLED);
    CHECK(history_length(h, 0) == 2);
    mb_interrupt_clear(stop);
    CHECK(mb_interrupt_is_requested(stop) == 0);
    CHECK_STATUS(mb_train(a, X, Y, MB_TARGETS_CLASS_INDEX, M, N_IN, &o, h), MB_OK);
    CHECK(model_epochs(a) == 2);
    CHECK(history_length(h, 0) == 2 + 2 * (M / BATCH) && history_length(h, 1) == 2);
    CHECK_STATUS(mb_interrupt_counts(stop, &batches, NULL, NULL), MB_OK);
    CHECK(batches == 2 + 2 * (M / BATCH));
done:
    mb_history_free(h);
    mb_interrupt_free(stop);
    mb_model_free(a);
    mb_model_free(b);
}

/* Requests the stop once `at` batches are done (the counts, read while training runs). */
typedef struct after_batches {
    mb_interrupt *stop;
    int64_t at;
} after_batches;

static void *stop_when_done(void *argument)
{
    after_batches *a = (after_batches *)argument;
    int64_t done = 0;
    while (mb_interrupt_counts(a->stop, &done, NULL, NULL) == MB_OK && done < a->at) {
        struct timespec pause = {0, 100000};
        nanosleep(&pause, NULL);
    }
    mb_interrupt_request_stop(a->stop);
    return NULL;
}

/* Another thread asks for the stop while training runs: the call returns MB_ERR_CANCELLED
 * within an epoch of a long run, having trained at least the batches it waited for. */
static void test_request_from_another_thread(void)
{
    mb_model *a = new_model();
    mb_interrupt *stop = NULL;
    mb_train_options o;
    pthread_t thread;
    after_batches arg;
    int64_t batches = 0;
    if (!CHECK(a) || !CHECK_STATUS(mb_interrupt_create(&stop), MB_OK))
        goto done;
    arg.stop = stop;
    arg.at = 30;
    options(&o, 1000000);
    o.interrupt = stop;
    if (!CHECK(pthread_create(&thread, NULL, stop_when_done, &arg) == 0))
        goto done;
    CHECK_ERR(mb_train(a, X, Y, MB_TARGETS_CLASS_INDEX, M, N_IN, &o, NULL), MB_ERR_CANCELLED);
    pthread_join(thread, NULL);
    CHECK(strstr(mb_last_error(), "interrupted") != NULL);
    CHECK_STATUS(mb_interrupt_counts(stop, &batches, NULL, NULL), MB_OK);
    CHECK(batches >= 30 && model_epochs(a) < 1000000 && model_epochs(a) * (M / BATCH) <= batches);
done:
    mb_interrupt_free(stop);
    mb_model_free(a);
}

/* From a signal handler (async-signal-safe): a timer's SIGALRM stops a long training. */
static mb_interrupt *g_alarm_stop;

static void on_alarm(int signo)
{
    (void)signo;
    mb_interrupt_request_stop(g_alarm_stop);
}

static void test_request_from_a_signal_handler(void)
{
    mb_model *a = new_model();
    mb_train_options o;
    struct sigaction action, previous;
    struct itimerval timer = {{0, 0}, {0, 50000}}, off = {{0, 0}, {0, 0}};
    if (!CHECK(a) || !CHECK_STATUS(mb_interrupt_create(&g_alarm_stop), MB_OK))
        goto done;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_alarm;
    sigemptyset(&action.sa_mask);
    if (!CHECK(sigaction(SIGALRM, &action, &previous) == 0))
        goto done;
    options(&o, 1000000);
    o.interrupt = g_alarm_stop;
    CHECK(setitimer(ITIMER_REAL, &timer, NULL) == 0);
    CHECK_ERR(mb_train(a, X, Y, MB_TARGETS_CLASS_INDEX, M, N_IN, &o, NULL), MB_ERR_CANCELLED);
    setitimer(ITIMER_REAL, &off, NULL);
    sigaction(SIGALRM, &previous, NULL);
    CHECK(model_epochs(a) < 1000000);
done:
    mb_interrupt_free(g_alarm_stop);
    g_alarm_stop = NULL;
    mb_model_free(a);
}

/* With Adam, the interrupted call keeps the rule's state of its last batch (its step count
 * included): a call interrupted after its first batch, then a call of one epoch (which runs
 * epoch 0 again, from its first batch), take the same 13 steps as a call on that first
 * batch's rows alone followed by a call on X in epoch 0's order, unshuffled. */
static void test_rule_state_is_kept(void)
{
    mb_model *a = new_model(), *b = new_model();
    mb_interrupt *stop = NULL;
    mb_train_options o;
    int64_t perm[M];
    float xb[BATCH * N_IN];
    int32_t yb[BATCH];
    if (!CHECK(a && b) || !CHECK_STATUS(mb_interrupt_create(&stop), MB_OK))
        goto done;
    mb_interrupt_request_stop(stop);
    options(&o, 1);
    o.optimizer = MB_OPTIMIZER_ADAM;
    o.learning_rate = 0.01f;
    o.interrupt = stop;
    CHECK_ERR(mb_train(a, X, Y, MB_TARGETS_CLASS_INDEX, M, N_IN, &o, NULL), MB_ERR_CANCELLED);
    mb_interrupt_clear(stop);
    CHECK_STATUS(mb_train(a, X, Y, MB_TARGETS_CLASS_INDEX, M, N_IN, &o, NULL), MB_OK);

    CHECK_STATUS(mb_permutation(M, o.seed, 0, perm), MB_OK);
    for (int k = 0; k < BATCH; k++) {
        memcpy(xb + k * N_IN, X + perm[k] * N_IN, sizeof(float) * N_IN);
        yb[k] = Y[perm[k]];
    }
    o.interrupt = NULL;
    o.shuffle = 0;
    CHECK_STATUS(mb_train(b, xb, yb, MB_TARGETS_CLASS_INDEX, BATCH, N_IN, &o, NULL), MB_OK);
    {
        float *xs = (float *)malloc(sizeof(float) * M * N_IN);
        int32_t *ys = (int32_t *)malloc(sizeof(int32_t) * M);
        int64_t n = 0;
        float *pa, *pb;
        if (CHECK(xs && ys)) {
            for (int k = 0; k < M; k++) {
                memcpy(xs + k * N_IN, X + perm[k] * N_IN, sizeof(float) * N_IN);
                ys[k] = Y[perm[k]];
            }
            CHECK_STATUS(mb_train(b, xs, ys, MB_TARGETS_CLASS_INDEX, M, N_IN, &o, NULL), MB_OK);
            pa = model_params(a, &n);
            pb = model_params(b, &n);
            CHECK(pa && pb && memcmp(pa, pb, sizeof(float) * (size_t)n) == 0);
            free(pa);
            free(pb);
        }
        free(xs);
        free(ys);
    }
done:
    mb_interrupt_free(stop);
    mb_model_free(a);
    mb_model_free(b);
}

/* A caller built against a header without the field (struct_size up to distributed_mode)
 * gets the default: no interrupt, whatever the memory past its struct holds. */
static void test_older_struct_ignores_the_field(void)
{
    mb_model *a = new_model();
    mb_interrupt *stop = NULL;
    mb_train_options o;
    if (!CHECK(a) || !CHECK_STATUS(mb_interrupt_create(&stop), MB_OK))
        goto done;
    mb_interrupt_request_stop(stop);
    options(&o, 2);
    o.interrupt = stop;
    o.struct_size = offsetof(mb_train_options, interrupt);
    CHECK_STATUS(mb_train(a, X, Y, MB_TARGETS_CLASS_INDEX, M, N_IN, &o, NULL), MB_OK);
    CHECK(model_epochs(a) == 2);
done:
    mb_interrupt_free(stop);
    mb_model_free(a);
}

static void test_bad_arguments(void)
{
    int64_t count = 0;
    CHECK_ERR_ARG(mb_interrupt_create(NULL), MB_ERR_INVALID_ARGUMENT, "interrupt");
    CHECK_ERR_ARG(mb_interrupt_counts(NULL, &count, &count, &count), MB_ERR_INVALID_ARGUMENT, "interrupt");
    mb_interrupt_request_stop(NULL); /* no-ops */
    mb_interrupt_clear(NULL);
    CHECK(mb_interrupt_is_requested(NULL) == 0);
    mb_interrupt_free(NULL);
}

int main(void)
{
    make_data();
    RUN_TEST(test_stop_after_the_first_batch);
    RUN_TEST(test_request_from_another_thread);
    RUN_TEST(test_request_from_a_signal_handler);
    RUN_TEST(test_rule_state_is_kept);
    RUN_TEST(test_older_struct_ignores_the_field);
    RUN_TEST(test_bad_arguments);
    return check_summary();
}
