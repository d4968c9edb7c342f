/*
 * test_predict_overflow.c - a prediction whose output is NaN or Inf is an error, through the
 * header only: finite weights and a finite X can still overflow (as the weights a diverged
 * training kept can), and mb_predict and mb_predict_classes then return MB_ERR_DIVERGED
 * naming the row, instead of MB_OK with Inf in out. So do mb_evaluate and
 * mb_evaluate_dataset (they returned MB_OK with a cost of Inf or NaN), and mb_gradient, which
 * leaves grad as it was (it returned the NaN gradient a training step calls divergence).
 */
#define _XOPEN_SOURCE 700
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "ref.h"

/* 2-3-2 with W1 = 1e20 and W2 = 1: row 2 of X below (1e20 x 1e20) overflows, rows 0-1 do not. */
static mb_model *overflowing_model(void)
{
    const int64_t sizes[] = {2, 3, 2};
    mb_model *model = NULL;
    CHECK_STATUS(mb_model_create(sizes, 3, NULL, &model), MB_OK);
    if (model == NULL) return NULL;
    float p[17] = {0};
    for (int i = 0; i < 6; i++) p[i] = 1e20f;
    for (int i = 9; i < 15; i++) p[i] = 1.0f;
    CHECK_STATUS(mb_model_set_parameters(model, p, 17), MB_OK);
    return model;
}

static const float g_x[8] = {0, 0, 1e-20f, 0, 1e20f, 1, 0, 0};
static const int32_t g_y[4] = {0, 1, 0, 1};

static void test_an_overflowing_output_is_diverged(void)
{
    mb_model *model = overflowing_model();
    if (model == NULL) return;
    float out[8];
    int32_t classes[4];
    CHECK_STATUS(mb_predict(model, g_x, 2, 2, out), MB_OK); /* rows 0 and 1 are finite */
    CHECK(isfinite(out[0]) && isfinite(out[1]) && isfinite(out[2]) && isfinite(out[3]));
    CHECK_ERR(mb_predict(model, g_x, 4, 2, out), MB_ERR_DIVERGED);
    CHECK(strstr(mb_last_error(), "row 2") != NULL);
    CHECK_ERR(mb_predict_classes(model, g_x, 4, 2, classes), MB_ERR_DIVERGED);
    CHECK(strstr(mb_last_error(), "row 2") != NULL);
    mb_model_free(model);
}

static void test_evaluation_and_gradient_of_an_overflowing_output_are_diverged(void)
{
    mb_model *model = overflowing_model();
    if (model == NULL) return;
    double cost = -1, accuracy = -1;
    CHECK_STATUS(mb_evaluate(model, g_x, g_y, MB_TARGETS_CLASS_INDEX, 2, 2, &cost, &accuracy), MB_OK);
    CHECK(isfinite(cost) && accuracy >= 0);
    cost = -1;
    CHECK_ERR(mb_evaluate(model, g_x, g_y, MB_TARGETS_CLASS_INDEX, 4, 2, &cost, &accuracy), MB_ERR_DIVERGED);
    CHECK(strstr(mb_last_error(), "row 2") != NULL);
    CHECK(cost == -1);

    float grad[17];
    CHECK_STATUS(mb_gradient(model, g_x, g_y, MB_TARGETS_CLASS_INDEX, 2, 2, &cost, grad, 17), MB_OK);
    CHECK(isfinite(cost));
    for (int i = 0; i < 17; i++) CHECK(isfinite(grad[i]));
    for (int i = 0; i < 17; i++) grad[i] = 7.0f;
    cost = -1;
    CHECK_ERR(mb_gradient(model, g_x, g_y, MB_TARGETS_CLASS_INDEX, 4, 2, &cost, grad, 17), MB_ERR_DIVERGED);
    CHECK(strstr(mb_last_error(), "overflow") != NULL);
    for (int i = 0; i < 17; i++) CHECK(grad[i] == 7.0f); /* left as it was */
    CHECK(cost == -1);

    /* MSE: the same outputs, float targets. */
    const int64_t sizes[] = {2, 3, 2};
    mb_model *mse = NULL;
    mb_model_options o;
    mb_model_options_init(&o);
    o.loss = MB_LOSS_MSE;
    CHECK_STATUS(mb_model_create(sizes, 3, &o, &mse), MB_OK);
    if (mse != NULL) {
        float p[17];
        CHECK_STATUS(mb_model_get_parameters(model, p, 17), MB_OK);
        CHECK_STATUS(mb_model_set_parameters(mse, p, 17), MB_OK);
        const float yv[8] = {0};
        CHECK_ERR(mb_evaluate(mse, g_x, yv, MB_TARGETS_FLOAT32, 4, 2, &cost, NULL), MB_ERR_DIVERGED);
        CHECK_ERR(mb_gradient(mse, g_x, yv, MB_TARGETS_FLOAT32, 4, 2, &cost, grad, 17), MB_ERR_DIVERGED);
        mb_model_free(mse);
    }

    /* From files: the message names the X file and the row. */
    char dir[] = "/tmp/mb-overflow-XXXXXX";
    if (mkdtemp(dir) != NULL) {
        char xp[64], yp[64];
        snprintf(xp, sizeof xp, "%s/x.npy", dir);
        snprintf(yp, sizeof yp, "%s/y.npy", dir);
        CHECK(npy_write(xp, "<f4", "(4, 2)", g_x, sizeof g_x, 0) == 0);
        CHECK(npy_write(yp, "<i4", "(4,)", g_y, sizeof g_y, 0) == 0);
        mb_dataset *ds = NULL;
        CHECK_STATUS(mb_dataset_open_npy(xp, yp, NULL, &ds), MB_OK);
        if (ds != NULL) {
            cost = -1;
            CHECK_ERR(mb_evaluate_dataset(model, ds, &cost, &accuracy), MB_ERR_DIVERGED);
            CHECK(strstr(mb_last_error(), "row 2") != NULL && strstr(mb_last_error(), "x.npy") != NULL);
            CHECK(cost == -1);
            mb_dataset_free(ds);
        }
        unlink(xp);
        unlink(yp);
        rmdir(dir);
    }
    mb_model_free(model);
}

/* 2,048 rows (8 passes of 256, shared among threads since 0.12.6) with overflowing rows in
 * the passes 1, 2 and 5: every prediction names the first, row 293, whichever thread met
 * which (with two, the second thread's first pass holds row 293, the first's second pass row
 * 600), from memory and from a file. Before those rows overflow, the outputs are those of
 * the rows predicted a pass at a time, each pass alone on the calling thread. */
static void test_the_first_overflowing_row_is_named(void)
{
    enum { M = 2048 };
    mb_model *model = overflowing_model();
    float *x = calloc(2 * M, sizeof(float)), *out = malloc(sizeof(float) * 2 * M);
    float *alone = malloc(sizeof(float) * 2 * M);
    int32_t *y = calloc(M, sizeof(int32_t)), *classes = malloc(sizeof(int32_t) * M);
    if (model == NULL || !CHECK(x && out && alone && y && classes)) goto done;
    for (int i = 0; i < M; i++) x[2 * i] = (float)(i % 13) / 13;
    /* no row overflows yet: the passes shared among threads give what each gives alone */
    CHECK_STATUS(mb_predict(model, x, M, 2, out), MB_OK);
    for (int start = 0; start < M; start += 256) CHECK_STATUS(mb_predict(model, x + 2 * start, 256, 2, alone + 2 * start), MB_OK);
    CHECK(memcmp(out, alone, sizeof(float) * 2 * M) == 0);
    const int bad[] = {1300, 600, 293};
    for (int k = 0; k < 3; k++) {
        x[2 * bad[k]] = 1e20f;
        x[2 * bad[k] + 1] = 1;
    }
    CHECK_ERR(mb_predict(model, x, M, 2, out), MB_ERR_DIVERGED);
    CHECK(strstr(mb_last_error(), "row 293 ") != NULL);
    CHECK(memcmp(out, alone, sizeof(float) * 2 * 256) == 0); /* the pass before it */
    CHECK_ERR(mb_predict_classes(model, x, M, 2, classes), MB_ERR_DIVERGED);
    CHECK(strstr(mb_last_error(), "row 293 ") != NULL);
    double cost = -1, accuracy = -1;
    CHECK_ERR(mb_evaluate(model, x, y, MB_TARGETS_CLASS_INDEX, M, 2, &cost, &accuracy), MB_ERR_DIVERGED);
    CHECK(strstr(mb_last_error(), "row 293 ") != NULL);
    CHECK(cost == -1);

    char dir[] = "/tmp/mb-overflow-XXXXXX";
    if (!CHECK(mkdtemp(dir) != NULL)) goto done;
    char xp[64], yp[64], op[64];
    snprintf(xp, sizeof xp, "%s/x.npy", dir);
    snprintf(yp, sizeof yp, "%s/y.npy", dir);
    snprintf(op, sizeof op, "%s/out.npy", dir);
    CHECK(npy_write(xp, "<f4", "(2048, 2)", x, sizeof(float) * 2 * M, 0) == 0);
    CHECK(npy_write(yp, "<i4", "(2048,)", y, sizeof(int32_t) * M, 0) == 0);
    CHECK_ERR(mb_predict_npy(model, xp, op, 0, 0), MB_ERR_DIVERGED);
    CHECK(strstr(mb_last_error(), "row 293 ") != NULL && strstr(mb_last_error(), "x.npy") != NULL);
    CHECK(access(op, F_OK) != 0);
    mb_dataset *ds = NULL;
    CHECK_STATUS(mb_dataset_open_npy(xp, yp, NULL, &ds), MB_OK);
    if (ds != NULL) {
        CHECK_ERR(mb_predict_dataset(model, ds, out, 2 * M), MB_ERR_DIVERGED);
        CHECK(strstr(mb_last_error(), "row 293 ") != NULL);
        CHECK_ERR(mb_evaluate_dataset(model, ds, &cost, &accuracy), MB_ERR_DIVERGED);
        CHECK(strstr(mb_last_error(), "row 293 ") != NULL);
        mb_dataset_free(ds);
    }
    unlink(xp);
    unlink(yp);
    rmdir(dir);
done:
    free(x);
    free(out);
    free(alone);
    free(y);
    free(classes);
    mb_model_free(model);
}

int main(void)
{
    RUN_TEST(test_an_overflowing_output_is_diverged);
    RUN_TEST(test_the_first_overflowing_row_is_named);
    RUN_TEST(test_evaluation_and_gradient_of_an_overflowing_output_are_diverged);
    return check_summary();
}
