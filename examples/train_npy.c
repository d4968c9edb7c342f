/*
 * train_npy: trains a network on X and y .npy files without loading them, and prints the
 * cost curve. The example of the file dataset API, and the program the memory-limit test
 * runs inside a cgroup.
 *
 *   train_npy X.npy y.npy [--hidden N] [--epochs N] [--batch N] [--lr X]
 *             [--shuffle exact|block] [--budget BYTES] [--seed N] [--classes N]
 *
 * y holds integer class labels 0 .. N-1 (a softmax output over --classes N classes,
 * default 10) or float targets (mean squared error).
 */
#include <minibatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *what, mb_status status)
{
    fprintf(stderr, "train_npy: %s: %s: %s\n", what, mb_status_name(status), mb_last_error());
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: train_npy X.npy y.npy [--hidden N] [--epochs N] [--batch N] [--lr X] "
                        "[--shuffle exact|block] [--budget BYTES] [--seed N] [--classes N]\n");
        return 2;
    }
    int64_t hidden = 64, classes = 10;
    mb_train_options train;
    mb_train_options_init(&train);
    train.epochs = 1;
    train.batch_size = 128;
    train.learning_rate = 0.1f;
    mb_dataset_options data;
    mb_dataset_options_init(&data);
    for (int i = 3; i < argc; i += 2) {
        const char *flag = argv[i], *value = argv[i + 1];
        if (i + 1 == argc) { fprintf(stderr, "train_npy: %s needs a value\n", flag); return 2; }
        if (!strcmp(flag, "--hidden")) hidden = atoll(value);
        else if (!strcmp(flag, "--epochs")) train.epochs = atoll(value);
        else if (!strcmp(flag, "--batch")) train.batch_size = atoll(value);
        else if (!strcmp(flag, "--lr")) train.learning_rate = (float)atof(value);
        else if (!strcmp(flag, "--seed")) train.seed = strtoull(value, NULL, 10);
        else if (!strcmp(flag, "--classes")) classes = atoll(value);
        else if (!strcmp(flag, "--budget")) data.memory_budget = strtoull(value, NULL, 10);
        else if (!strcmp(flag, "--shuffle")) {
            if (strcmp(value, "exact") && strcmp(value, "block")) {
                fprintf(stderr, "train_npy: --shuffle takes exact or block, not %s\n", value);
                return 2;
            }
            data.shuffle = strcmp(value, "block") ? MB_FILE_SHUFFLE_EXACT : MB_FILE_SHUFFLE_BLOCK;
        }
        else { fprintf(stderr, "train_npy: unknown option %s\n", flag); return 2; }
    }

    mb_dataset *dataset = NULL;
    mb_status status = mb_dataset_open_npy(argv[1], argv[2], &data, &dataset);
    if (status != MB_OK) return fail("opening the dataset", status);
    mb_dataset_info info;
    mb_dataset_get_info(dataset, &info);

    int classify = info.y_type == MB_TARGETS_CLASS_INDEX;
    int64_t sizes[] = {info.n_features, hidden, classify ? classes : info.y_columns};
    mb_model_options model_options;
    mb_model_options_init(&model_options);
    model_options.loss = classify ? MB_LOSS_CROSS_ENTROPY : MB_LOSS_MSE;
    mb_model *model = NULL;
    status = mb_model_create(sizes, 3, &model_options, &model);
    if (status != MB_OK) return fail("creating the model", status);

    mb_history *history = NULL;
    mb_history_create(&history);
    printf("%lld rows x %lld features, network %lld-%lld-%lld, %s shuffle, budget %zu bytes\n",
           (long long)info.m, (long long)info.n_features, (long long)sizes[0], (long long)sizes[1],
           (long long)sizes[2], data.shuffle == MB_FILE_SHUFFLE_BLOCK ? "block" : "exact", data.memory_budget);
    status = mb_train_dataset(model, dataset, &train, history);
    if (status != MB_OK) return fail("training", status);

    int64_t n = 0;
    mb_history_batch_costs(history, NULL, 0, &n);
    double *costs = malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
    mb_history_batch_costs(history, costs, n, &n);
    int64_t tenth = n / 10 > 0 ? n / 10 : 1;
    double first = 0, last = 0;
    for (int64_t i = 0; i < tenth; i++) {
        first += costs[i] / (double)tenth;
        last += costs[n - 1 - i] / (double)tenth;
    }
    printf("batches %lld; mean cost of the first tenth %.6f, of the last tenth %.6f\n", (long long)n, first, last);
    FILE *status_file = fopen("/proc/self/status", "r");
    char line[256];
    while (status_file && fgets(line, sizeof line, status_file))
        if (!strncmp(line, "VmHWM:", 6)) printf("peak resident memory:%s", line + 6);
    if (status_file) fclose(status_file);
    free(costs);
    mb_history_free(history);
    mb_model_free(model);
    mb_dataset_free(dataset);
    return 0;
}
