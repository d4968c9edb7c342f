/* Trains a 2-16-2 network on the built-in moons with mini-batches of 64 (the README's example). */
#include <minibatch.h>
#include <stdio.h>

int main(void) {
    static float x[2000 * 2]; static int32_t y[2000];
    mb_make_moons(2000, 0.1f, 42, x, y);                      /* built-in dataset */
    int64_t sizes[] = {2, 16, 2};                              /* 2 inputs, 16 hidden, 2 classes */
    mb_model *model;
    if (mb_model_create(sizes, 3, NULL, &model) != MB_OK) { puts(mb_last_error()); return 1; }
    mb_train_options opt; mb_train_options_init(&opt);
    opt.epochs = 200; opt.batch_size = 64; opt.learning_rate = 0.3f;
    mb_status status = mb_train(model, x, y, MB_TARGETS_CLASS_INDEX, 2000, 2, &opt, NULL);
    if (status != MB_OK) printf("%s: %s\n", mb_status_name(status), mb_last_error());
    double cost, accuracy;
    mb_evaluate(model, x, y, MB_TARGETS_CLASS_INDEX, 2000, 2, &cost, &accuracy);
    printf("cost %.4f accuracy %.3f\n", cost, accuracy);
    mb_model_free(model);
    return status == MB_OK && accuracy > 0.95 ? 0 : 1;
}
