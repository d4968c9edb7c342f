/*
 * test_limits.c - sizes at the edges of what the header allows, crafted arguments and
 * handles used while they train: each gets a status and a message, never a trap, a hang or
 * an allocation the input cannot justify.
 *
 *   - mb_partition of m = INT64_MAX (and INT64_MAX - 1, batch 2): counts without overflow;
 *   - counts whose buffer cannot exist (mb_random, mb_permutation, mb_make_moons): refused;
 *   - epochs = INT64_MAX and 10^9 with a history and a callback that stops after one epoch:
 *     cancelled after that epoch, the history holding one epoch (nothing reserved for 10^9);
 *   - an options struct of 0xFF bytes: refused by its enums before its pointer is followed;
 *   - enum values and sizes in messages as the caller wrote them (-1, SIZE_MAX);
 *   - memory_budget = SIZE_MAX: no limit;
 *   - a model and a history used while they train: MB_ERR_BUSY from the progress callback
 *     (train, set parameters, clear the history) and from another thread (any use), reads
 *     from the callback allowed.
 */
#define _XOPEN_SOURCE 700
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static void test_partition_of_the_largest_m(void)
{
    int64_t n = 0, starts[2], counts[2];
    CHECK_STATUS(mb_partition(INT64_MAX, 1, MB_LAST_BATCH_KEEP, NULL, NULL, 0, &n), MB_OK);
    CHECK(n == INT64_MAX);
    CHECK_STATUS(mb_partition(INT64_MAX - 1, 2, MB_LAST_BATCH_KEEP, NULL, NULL, 0, &n), MB_OK);
    CHECK(n == INT64_MAX / 2);
    CHECK_STATUS(mb_partition(INT64_MAX, 2, MB_LAST_BATCH_KEEP, NULL, NULL, 0, &n), MB_OK);
    CHECK(n == INT64_MAX / 2 + 1);
    CHECK_STATUS(mb_partition(INT64_MAX, 2, MB_LAST_BATCH_DROP, NULL, NULL, 0, &n), MB_OK);
    CHECK(n == INT64_MAX / 2);
    CHECK_STATUS(mb_partition(INT64_MAX, INT32_MAX, MB_LAST_BATCH_KEEP, NULL, NULL, 0, &n), MB_OK);
    CHECK(n == INT64_MAX / INT32_MAX + (INT64_MAX % INT32_MAX != 0));
    /* a buffer too small for that many batches is an error, not a write past it */
    CHECK_ERR_ARG(mb_partition(INT64_MAX, 1, MB_LAST_BATCH_KEEP, starts, counts, 2, &n),
                  MB_ERR_INVALID_ARGUMENT, "capacity");
}

static void test_counts_whose_buffer_cannot_exist(void)
{
    uint64_t r[1];
    int64_t p[1];
    float x[4];
    int32_t y[2];
    CHECK_ERR_ARG(mb_random(1, 2, r, (int64_t)1 << 60), MB_ERR_INVALID_ARGUMENT, "count");
    CHECK_ERR_ARG(mb_random(1, 2, r, INT64_MAX), MB_ERR_INVALID_ARGUMENT, "count");
    CHECK_ERR_ARG(mb_permutation((int64_t)1 << 60, 1, 0, p), MB_ERR_INVALID_ARGUMENT, "m");
    CHECK_ERR_ARG(mb_permutation(INT64_MAX, 1, 0, p), MB_ERR_INVALID_ARGUMENT, "m");
    CHECK_ERR_ARG(mb_make_moons(INT64_MAX, 0.1f, 1, x, y), MB_ERR_INVALID_ARGUMENT, "m");
    CHECK_ERR_ARG(mb_make_moons((int64_t)1 << 62, 0.1f, 1, x, y), MB_ERR_INVALID_ARGUMENT, "m");
    /* the message says how large it may be */
    CHECK_STATUS(mb_random(1, 2, r, INT64_MAX), MB_ERR_INVALID_ARGUMENT);
    CHECK(strstr(mb_last_error(), "at most") != NULL);
}

static int stop_after_one(const mb_progress *progress, void *user_data)
{
    (void)user_data;
    return progress->epoch >= 1;
}

static void test_huge_epoch_counts_with_a_history(void)
{
    int64_t sizes[] = {2, 4, 2};
    mb_model *model = NULL;
    mb_history *history = NULL;
    mb_train_options o;
    float x[64 * 2];
    int32_t y[64];
    int64_t count = -1;
    const int64_t epochs[] = {INT64_MAX, 1000000000};
    size_t i;
    if (!CHECK(mb_make_moons(64, 0.1f, 3, x, y) == MB_OK))
        return;
    for (i = 0; i < 2; i++) {
        if (!CHECK(mb_model_create(sizes, 3, NULL, &model) == MB_OK) || !CHECK(mb_history_create(&history) == MB_OK))
            return;
        mb_train_options_init(&o);
        o.epochs = epochs[i];
        o.batch_size = 16;
        o.progress = stop_after_one;
        CHECK_STATUS(mb_train(model, x, y, MB_TARGETS_CLASS_INDEX, 64, 2, &o, history), MB_ERR_CANCELLED);
        CHECK_STATUS(mb_history_epoch_costs(history, NULL, 0, &count), MB_OK);
        CHECK(count == 1);
        CHECK_STATUS(mb_history_batch_costs(history, NULL, 0, &count), MB_OK);
        CHECK(count == 4);
        /* again on the trained model: epochs trained + epochs passes INT64_MAX (the cosine
         * schedule's default period), which trapped */
        o.schedule = MB_SCHEDULE_COSINE;
        CHECK_STATUS(mb_train(model, x, y, MB_TARGETS_CLASS_INDEX, 64, 2, &o, history), MB_ERR_CANCELLED);
        CHECK_STATUS(mb_history_epoch_costs(history, NULL, 0, &count), MB_OK);
        CHECK(count == 2);
        mb_history_free(history);
        mb_model_free(model);
    }
}

static void test_uninitialised_options_are_refused_before_their_pointer_is_read(void)
{
    int64_t sizes[] = {3, 4, 4, 2};
    mb_model_options garbage;
    mb_model *model = (mb_model *)&garbage;
    memset(&garbage, 0xFF, sizeof garbage); /* activations = 0xFFFF...: never followed */
    CHECK_ERR(mb_model_create(sizes, 4, &garbage, &model), MB_ERR_INVALID_ARGUMENT);
    CHECK(model == NULL);
    /* the enum value as the caller wrote it: -1, not 4294967295 */
    CHECK(strstr(mb_last_error(), "-1") != NULL);
    CHECK(strstr(mb_last_error(), "4294967295") == NULL);
}

static void test_size_max_budgets(void)
{
    int64_t sizes[] = {4, 8, 2};
    mb_model *model = NULL;
    int64_t batch = 0;
    mb_dataset_options d;
    mb_dataset *dataset = (mb_dataset *)&d;
    if (!CHECK(mb_model_create(sizes, 3, NULL, &model) == MB_OK))
        return;
    /* SIZE_MAX means no limit, as 0 does */
    CHECK_STATUS(mb_auto_batch_size(model, 100000, SIZE_MAX, &batch), MB_OK);
    CHECK(batch == 512);
    /* block_bytes = SIZE_MAX is too large, and the message prints it as written */
    mb_dataset_options_init(&d);
    d.block_bytes = SIZE_MAX;
    CHECK_ERR_ARG(mb_dataset_open_npy("/nonexistent-x.npy", "/nonexistent-y.npy", &d, &dataset),
                  MB_ERR_INVALID_ARGUMENT, "block_bytes");
    CHECK(strstr(mb_last_error(), "18446744073709551615") != NULL);
    CHECK(dataset == NULL);
    mb_model_free(model);
}

/* --- handles in use -------------------------------------------------------------------- */

enum { M = 256, F = 4 };
static float g_x[M * F];
static int32_t g_y[M];

typedef struct busy_probe {
    mb_model *model;
    mb_history *history;
    int epochs_seen;
    mb_status train_inside, set_inside, clear_inside, get_inside, predict_inside, costs_inside;
} busy_probe;

static int from_the_callback(const mb_progress *progress, void *user_data)
{
    busy_probe *p = (busy_probe *)user_data;
    mb_train_options o;
    float params[64], out[2 * 2];
    int64_t count = 0;
    (void)progress;
    p->epochs_seen++;
    mb_train_options_init(&o);
    o.epochs = 1;
    o.batch_size = 32;
    p->train_inside = mb_train(p->model, g_x, g_y, MB_TARGETS_CLASS_INDEX, M, F, &o, NULL);
    p->get_inside = mb_model_get_parameters(p->model, params, 4 * 8 + 8 + 8 * 2 + 2);
    p->set_inside = mb_model_set_parameters(p->model, params, 4 * 8 + 8 + 8 * 2 + 2);
    p->predict_inside = mb_predict(p->model, g_x, 2, F, out);
    p->clear_inside = mb_history_clear(p->history);
    p->costs_inside = mb_history_epoch_costs(p->history, NULL, 0, &count);
    return 0;
}

/* Every size is checked before any value is read: float targets whose m * n_outputs passes
 * the header's limit while m * n_features does not are refused by mb_evaluate and
 * mb_gradient before X is scanned (until 0.12.3 they read X's m rows first, past a buffer
 * this small), as mb_predict and mb_train refuse them. */
static void test_sizes_before_values(void)
{
    int64_t sizes[] = {1, 1 << 21};
    mb_model_options mo;
    mb_model_options_init(&mo);
    mo.loss = MB_LOSS_MSE;
    mb_model *model = NULL;
    if (!CHECK_STATUS(mb_model_create(sizes, 2, &mo, &model), MB_OK))
        return;
    static float x[64], y[64], grad[64];
    const int64_t m = (int64_t)1 << 40; /* m * n_outputs = 2^61 */
    double cost = 0;
    CHECK_ERR_ARG(mb_evaluate(model, x, y, MB_TARGETS_FLOAT32, m, 1, &cost, NULL), MB_ERR_INVALID_ARGUMENT,
                  "y (m x n_outputs) is too large");
    CHECK_ERR_ARG(mb_gradient(model, x, y, MB_TARGETS_FLOAT32, m, 1, &cost, grad, 64), MB_ERR_INVALID_ARGUMENT,
                  "too large");
    mb_train_options o;
    mb_train_options_init(&o);
    o.batch_size = 1;
    CHECK_ERR_ARG(mb_train(model, x, y, MB_TARGETS_FLOAT32, m, 1, &o, NULL), MB_ERR_INVALID_ARGUMENT,
                  "y (m x n_outputs) is too large");
    mb_model_free(model);
}

static void test_a_model_in_training_is_busy_from_its_callback(void)
{
    int64_t sizes[] = {F, 8, 2};
    busy_probe p;
    mb_train_options o;
    int64_t count = 0;
    memset(&p, 0, sizeof p);
    if (!CHECK(mb_model_create(sizes, 3, NULL, &p.model) == MB_OK) || !CHECK(mb_history_create(&p.history) == MB_OK))
        return;
    mb_train_options_init(&o);
    o.epochs = 2;
    o.batch_size = 32;
    o.progress = from_the_callback;
    o.user_data = &p;
    CHECK_STATUS(mb_train(p.model, g_x, g_y, MB_TARGETS_CLASS_INDEX, M, F, &o, p.history), MB_OK);
    CHECK(p.epochs_seen == 2);
    CHECK(p.train_inside == MB_ERR_BUSY);
    CHECK(p.set_inside == MB_ERR_BUSY);
    CHECK(p.clear_inside == MB_ERR_BUSY);
    CHECK(p.get_inside == MB_OK);     /* reads from the callback are allowed */
    CHECK(p.predict_inside == MB_OK);
    CHECK(p.costs_inside == MB_OK);
    CHECK(strcmp(mb_status_name(MB_ERR_BUSY), "MB_ERR_BUSY") == 0);
    /* the history was not cleared: both epochs are there */
    CHECK_STATUS(mb_history_epoch_costs(p.history, NULL, 0, &count), MB_OK);
    CHECK(count == 2);
    /* after training the model is free again */
    o.progress = NULL;
    o.epochs = 1;
    CHECK_STATUS(mb_train(p.model, g_x, g_y, MB_TARGETS_CLASS_INDEX, M, F, &o, p.history), MB_OK);
    mb_history_free(p.history);
    mb_model_free(p.model);
}

typedef struct other_thread {
    mb_model *model;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    int training;  /* set by the callback: the other thread may try now */
    int done;      /* set by the other thread: the callback may return */
    mb_status predict_status, train_status, info_status, callback_info_status;
} other_thread;

static int wait_for_the_other_thread(const mb_progress *progress, void *user_data)
{
    other_thread *t = (other_thread *)user_data;
    mb_model_info info;
    (void)progress;
    t->callback_info_status = mb_model_get_info(t->model, &info); /* the callback may read */
    pthread_mutex_lock(&t->lock);
    t->training = 1;
    pthread_cond_broadcast(&t->changed);
    while (!t->done)
        pthread_cond_wait(&t->changed, &t->lock);
    pthread_mutex_unlock(&t->lock);
    return 0;
}

static void *use_while_it_trains(void *arg)
{
    other_thread *t = (other_thread *)arg;
    mb_train_options o;
    float out[2 * 2];
    pthread_mutex_lock(&t->lock);
    while (!t->training)
        pthread_cond_wait(&t->changed, &t->lock);
    pthread_mutex_unlock(&t->lock);
    t->predict_status = mb_predict(t->model, g_x, 2, F, out);
    {
        /* epochs_trained changes as the training runs: read from here it raced with it */
        mb_model_info info;
        t->info_status = mb_model_get_info(t->model, &info);
    }
    mb_train_options_init(&o);
    o.epochs = 1;
    o.batch_size = 32;
    t->train_status = mb_train(t->model, g_x, g_y, MB_TARGETS_CLASS_INDEX, M, F, &o, NULL);
    pthread_mutex_lock(&t->lock);
    t->done = 1;
    pthread_cond_broadcast(&t->changed);
    pthread_mutex_unlock(&t->lock);
    return NULL;
}

static void test_a_model_in_training_is_busy_for_other_threads(void)
{
    int64_t sizes[] = {F, 8, 2};
    other_thread t;
    pthread_t thread;
    mb_train_options o;
    memset(&t, 0, sizeof t);
    pthread_mutex_init(&t.lock, NULL);
    pthread_cond_init(&t.changed, NULL);
    if (!CHECK(mb_model_create(sizes, 3, NULL, &t.model) == MB_OK))
        return;
    if (!CHECK(pthread_create(&thread, NULL, use_while_it_trains, &t) == 0))
        return;
    mb_train_options_init(&o);
    o.epochs = 1;
    o.batch_size = 32;
    o.progress = wait_for_the_other_thread;
    o.user_data = &t;
    CHECK_STATUS(mb_train(t.model, g_x, g_y, MB_TARGETS_CLASS_INDEX, M, F, &o, NULL), MB_OK);
    pthread_join(thread, NULL);
    CHECK(t.predict_status == MB_ERR_BUSY);
    CHECK(t.train_status == MB_ERR_BUSY);
    CHECK(t.info_status == MB_ERR_BUSY);
    CHECK(t.callback_info_status == MB_OK);
    pthread_mutex_destroy(&t.lock);
    pthread_cond_destroy(&t.changed);
    mb_model_free(t.model);
}

int main(void)
{
    int32_t labels[M];
    if (mb_make_moons(M, 0.1f, 5, g_x, labels) != MB_OK)
        return 1;
    /* moons are 2 features: spread them over F columns */
    for (int i = M - 1; i >= 0; i--) {
        float a = g_x[2 * i], b = g_x[2 * i + 1];
        g_x[F * i] = a;
        g_x[F * i + 1] = b;
        g_x[F * i + 2] = a * b;
        g_x[F * i + 3] = a - b;
        g_y[i] = labels[i];
    }
    RUN_TEST(test_partition_of_the_largest_m);
    RUN_TEST(test_counts_whose_buffer_cannot_exist);
    RUN_TEST(test_huge_epoch_counts_with_a_history);
    RUN_TEST(test_uninitialised_options_are_refused_before_their_pointer_is_read);
    RUN_TEST(test_size_max_budgets);
    RUN_TEST(test_sizes_before_values);
    RUN_TEST(test_a_model_in_training_is_busy_from_its_callback);
    RUN_TEST(test_a_model_in_training_is_busy_for_other_threads);
    return check_summary();
}
