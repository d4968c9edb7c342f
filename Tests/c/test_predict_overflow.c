/*
 * test_predict_overflow.c - a prediction whose output is NaN or Inf is an error, through the
 * header only: finite weights and a finite X can still overflow (as the weights a diverged
 * training kept can), and mb_predict and mb_predict_classes then return MB_ERR_DIVERGED
 * naming the row, instead of MB_OK with Inf in out.
 */
#include <stdint.h>
#include <string.h>

#include "check.h"

static void test_an_overflowing_output_is_diverged(void)
{
    const int64_t sizes[] = {2, 3, 2};
    mb_model *model = NULL;
    CHECK_STATUS(mb_model_create(sizes, 3, NULL, &model), MB_OK);
    if (model == NULL) return;
    /* layer 1: W (3 x 2) = 1e20, b = 0; layer 2: W (2 x 3) = 1, b = 0 */
    float p[17] = {0};
    for (int i = 0; i < 6; i++) p[i] = 1e20f;
    for (int i = 9; i < 15; i++) p[i] = 1.0f;
    CHECK_STATUS(mb_model_set_parameters(model, p, 17), MB_OK);
    const float x[8] = {0, 0, 1e-20f, 0, 1e20f, 1, 0, 0}; /* row 2: 1e20 x 1e20 overflows */
    float out[8];
    int32_t classes[4];
    CHECK_STATUS(mb_predict(model, x, 2, 2, out), MB_OK); /* rows 0 and 1 are finite */
    CHECK(isfinite(out[0]) && isfinite(out[1]) && isfinite(out[2]) && isfinite(out[3]));
    CHECK_ERR(mb_predict(model, x, 4, 2, out), MB_ERR_DIVERGED);
    CHECK(strstr(mb_last_error(), "row 2") != NULL);
    CHECK_ERR(mb_predict_classes(model, x, 4, 2, classes), MB_ERR_DIVERGED);
    CHECK(strstr(mb_last_error(), "row 2") != NULL);
    mb_model_free(model);
}

int main(void)
{
    RUN_TEST(test_an_overflowing_output_is_diverged);
    return check_summary();
}
