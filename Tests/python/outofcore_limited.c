/*
 * outofcore_limited: the program Tests/python/test_outofcore_memory_limit.py runs inside a
 * memory cgroup. Shuffles X and y .npy files into new files (mb_shuffle_npy), then predicts
 * every row of the shuffled X into a .npy file (mb_predict_npy) and, from a dataset of the
 * shuffled files, into memory (mb_predict_dataset), checks that the two agree bit for bit,
 * and prints its peak resident memory.
 *
 *   outofcore_limited MODEL X.npy Y.npy XS.npy YS.npy PRED.npy SEED BUDGET
 *
 * BUDGET is the memory_budget of every call, bytes (0: the library's default).
 */
#include <minibatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *what, mb_status status)
{
    fprintf(stderr, "outofcore_limited: %s: %s: %s\n", what, mb_status_name(status), mb_last_error());
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 9) {
        fprintf(stderr, "usage: outofcore_limited MODEL X.npy Y.npy XS.npy YS.npy PRED.npy SEED BUDGET\n");
        return 2;
    }
    uint64_t seed = strtoull(argv[7], NULL, 10);
    size_t budget = (size_t)strtoull(argv[8], NULL, 10);
    mb_model *model = NULL;
    mb_status status = mb_model_load(argv[1], &model);
    if (status != MB_OK) return fail("loading the model", status);
    status = mb_shuffle_npy(argv[2], argv[3], argv[4], argv[5], seed, budget, NULL);
    if (status != MB_OK) return fail("shuffling", status);
    status = mb_predict_npy(model, argv[4], argv[6], 0, budget);
    if (status != MB_OK) return fail("predicting into a file", status);

    mb_dataset_options options;
    mb_dataset_options_init(&options);
    options.shuffle = MB_FILE_SHUFFLE_BLOCK; /* bounded memory for any m */
    options.memory_budget = budget;
    mb_dataset *dataset = NULL;
    status = mb_dataset_open_npy(argv[4], argv[5], &options, &dataset);
    if (status != MB_OK) return fail("opening the shuffled files", status);
    mb_dataset_info info;
    mb_model_info model_info;
    mb_dataset_get_info(dataset, &info);
    mb_model_get_info(model, &model_info);
    int64_t count = info.m * model_info.n_outputs;
    float *outputs = malloc(sizeof(float) * (size_t)count);
    float *from_file = malloc(sizeof(float) * (size_t)count);
    if (outputs == NULL || from_file == NULL) return fail("allocating the outputs", MB_ERR_OUT_OF_MEMORY);
    status = mb_predict_dataset(model, dataset, outputs, count);
    if (status != MB_OK) return fail("predicting a dataset", status);
    /* The .npy file's data: after its 10-byte prefix and header, format 1.0. */
    FILE *file = fopen(argv[6], "rb");
    unsigned char prefix[10];
    int same = file != NULL && fread(prefix, 1, 10, file) == 10 &&
               fseek(file, 10 + (long)(prefix[8] | prefix[9] << 8), SEEK_SET) == 0 &&
               fread(from_file, sizeof(float), (size_t)count, file) == (size_t)count &&
               memcmp(outputs, from_file, sizeof(float) * (size_t)count) == 0;
    if (file) fclose(file);
    printf("rows %lld; predictions from the dataset equal the file's: %s\n", (long long)info.m, same ? "yes" : "no");
    FILE *status_file = fopen("/proc/self/status", "r");
    char line[256];
    while (status_file && fgets(line, sizeof line, status_file))
        if (!strncmp(line, "VmHWM:", 6)) printf("peak resident memory:%s", line + 6);
    if (status_file) fclose(status_file);
    free(outputs);
    free(from_file);
    mb_dataset_free(dataset);
    mb_model_free(model);
    return same ? 0 : 1;
}
