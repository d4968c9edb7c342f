/*
 * test_callback.c - what a progress callback may do, per the header: read the model
 * (evaluate, get parameters, save a checkpoint) while training is paused in it.
 */
#define _XOPEN_SOURCE 700
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"

enum { M = 400 };

typedef struct checkpoints {
    mb_model *model;
    const float *x;
    const int32_t *y;
    char dir[64];
    double accuracy[8];
    int calls;
} checkpoints;

static int save_each_epoch(const mb_progress *progress, void *user_data)
{
    checkpoints *c = user_data;
    char path[128];
    snprintf(path, sizeof path, "%s/epoch-%lld.mbm", c->dir, (long long)progress->epoch);
    CHECK_STATUS(mb_model_save(c->model, path), MB_OK);
    CHECK_STATUS(mb_evaluate(c->model, c->x, c->y, MB_TARGETS_CLASS_INDEX, M, 2, NULL, &c->accuracy[c->calls]), MB_OK);
    c->calls++;
    return 0;
}

static void test_checkpoint_from_the_callback(void)
{
    static float x[M * 2];
    static int32_t y[M];
    CHECK_STATUS(mb_make_moons(M, 0.15f, 2, x, y), MB_OK);
    int64_t sizes[] = {2, 8, 2};
    mb_model *model = NULL;
    CHECK_STATUS(mb_model_create(sizes, 3, NULL, &model), MB_OK);
    checkpoints c = {model, x, y, "/tmp/mb-callback-XXXXXX", {0}, 0};
    CHECK(mkdtemp(c.dir) != NULL);
    mb_train_options o;
    mb_train_options_init(&o);
    o.epochs = 3;
    o.batch_size = 32;
    o.learning_rate = 0.3f;
    o.progress = save_each_epoch;
    o.user_data = &c;
    CHECK_STATUS(mb_train(model, x, y, MB_TARGETS_CLASS_INDEX, M, 2, &o, NULL), MB_OK);
    CHECK(c.calls == 3);

    /* The last checkpoint is the trained model, bit for bit. */
    char path[128];
    snprintf(path, sizeof path, "%s/epoch-3.mbm", c.dir);
    mb_model *loaded = NULL;
    CHECK_STATUS(mb_model_load(path, &loaded), MB_OK);
    mb_model_info info;
    mb_model_get_info(model, &info);
    float *a = malloc(sizeof(float) * (size_t)info.n_parameters);
    float *b = malloc(sizeof(float) * (size_t)info.n_parameters);
    mb_model_get_parameters(model, a, info.n_parameters);
    CHECK_STATUS(mb_model_get_parameters(loaded, b, info.n_parameters), MB_OK);
    CHECK(memcmp(a, b, sizeof(float) * (size_t)info.n_parameters) == 0);
    mb_model_get_info(loaded, &info);
    CHECK(info.epochs_trained == 3);
    double accuracy;
    CHECK_STATUS(mb_evaluate(model, x, y, MB_TARGETS_CLASS_INDEX, M, 2, NULL, &accuracy), MB_OK);
    CHECK(accuracy == c.accuracy[2]);
    for (int e = 1; e <= 3; e++) {
        snprintf(path, sizeof path, "%s/epoch-%d.mbm", c.dir, e);
        CHECK(unlink(path) == 0);
    }
    CHECK(rmdir(c.dir) == 0);
    free(a);
    free(b);
    mb_model_free(loaded);
    mb_model_free(model);
}

typedef struct relabel {
    int32_t *labels;
    int64_t row;
    int after_epoch;
    int calls;
} relabel;

/* Writes a label no class has into the caller's y (or validation y) after an epoch: legal C
 * between epochs, where the labels are not being read. */
static int write_bad_label(const mb_progress *progress, void *user_data)
{
    relabel *r = user_data;
    r->calls++;
    if (progress->epoch == r->after_epoch)
        r->labels[r->row] = 1000000000;
    return 0;
}

/* Labels index the outputs: a callback that changes them gets MB_ERR_INVALID_ARGUMENT
 * naming the row before the labels are used again (training read outside the outputs
 * until 0.12.3), and the call puts the model and the history back as they were before it
 * (as for a NaN in X). Training labels and a validation set's, with one thread and two. */
static void test_labels_changed_by_the_callback(void)
{
    static float x[M * 2];
    static int32_t y[M], vy[M];
    CHECK_STATUS(mb_make_moons(M, 0.15f, 2, x, y), MB_OK);
    int64_t sizes[] = {2, 8, 2};
    for (int validation = 0; validation < 2; validation++) {
        for (int threads = 1; threads <= 2; threads++) {
            int32_t *labels = validation ? vy : y;
            memcpy(vy, y, sizeof y);
            mb_model *model = NULL;
            mb_history *history = NULL;
            CHECK_STATUS(mb_model_create(sizes, 3, NULL, &model), MB_OK);
            CHECK_STATUS(mb_history_create(&history), MB_OK);
            float before[42], after[42]; /* 2-8-2: 24 + 18 parameters */
            CHECK_STATUS(mb_model_get_parameters(model, before, 42), MB_OK);
            relabel r = {labels, 123, 2, 0};
            mb_train_options o;
            mb_train_options_init(&o);
            o.epochs = 4;
            o.batch_size = 32;
            o.learning_rate = 0.3f;
            o.threads = threads;
            o.progress = write_bad_label;
            o.user_data = &r;
            if (validation) {
                o.validation_x = x;
                o.validation_y = vy;
                o.validation_y_type = MB_TARGETS_CLASS_INDEX;
                o.validation_m = M;
            }
            CHECK_ERR(mb_train(model, x, y, MB_TARGETS_CLASS_INDEX, M, 2, &o, history), MB_ERR_INVALID_ARGUMENT);
            const char *message = mb_last_error();
            if (!CHECK(strstr(message, validation ? "validation_y[123] = 1000000000" : "y[123] = 1000000000") != NULL &&
                       strstr(message, "changed during training") != NULL))
                printf("  %s\n", message);
            CHECK(r.calls == 2);
            mb_model_info info;
            CHECK_STATUS(mb_model_get_info(model, &info), MB_OK);
            CHECK(info.epochs_trained == 0);
            CHECK_STATUS(mb_model_get_parameters(model, after, 42), MB_OK);
            CHECK(memcmp(before, after, sizeof before) == 0);
            int64_t costs = -1;
            CHECK_STATUS(mb_history_epoch_costs(history, NULL, 0, &costs), MB_OK);
            CHECK(costs == 0);
            CHECK_STATUS(mb_history_batch_costs(history, NULL, 0, &costs), MB_OK);
            CHECK(costs == 0);
            labels[123] = y[122];  /* (any valid class) */
            mb_history_free(history);
            mb_model_free(model);
        }
    }
}

int main(void)
{
    RUN_TEST(test_checkpoint_from_the_callback);
    RUN_TEST(test_labels_changed_by_the_callback);
    return check_summary();
}
