/*
 * reference.c - a tiny C client of libminibatch used by the Python tests to check that the
 * binding gives bit-identical results to C (same header, same .so).
 *
 *   reference layout                       struct sizes and offsets, one "name value" per line
 *   reference perm M SEED EPOCH            the permutation, one index per line
 *   reference random SEED STREAM COUNT     the generator outputs, one per line
 *   reference moons M NOISE SEED OUT       writes x (float32 m*2) then y (int32 m) to OUT
 *   reference train JOB OUT                runs the training job in JOB (see read_job),
 *                                          writes the result to OUT (see write_result)
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "minibatch.h"

static void die(const char *what, mb_status st) {
    fprintf(stderr, "%s: %s: %s\n", what, mb_status_name(st), mb_last_error());
    exit(2);
}

static int64_t rd_i64(FILE *f) {
    int64_t v;
    if (fread(&v, sizeof v, 1, f) != 1) { fprintf(stderr, "short job file\n"); exit(3); }
    return v;
}

static void rd(FILE *f, void *p, size_t n) {
    if (n && fread(p, 1, n, f) != n) { fprintf(stderr, "short job file\n"); exit(3); }
}

#define OFF(T, F) printf(#T "." #F " %zu\n", offsetof(T, F))

int main(int argc, char **argv) {
    if (argc < 2) return 1;
    if (!strcmp(argv[1], "layout")) {
        printf("mb_model_options %zu\n", sizeof(mb_model_options));
        OFF(mb_model_options, hidden_activation); OFF(mb_model_options, activations);
        OFF(mb_model_options, loss); OFF(mb_model_options, init); OFF(mb_model_options, seed);
        printf("mb_model_info %zu\n", sizeof(mb_model_info));
        OFF(mb_model_info, n_layers); OFF(mb_model_info, n_inputs); OFF(mb_model_info, n_outputs);
        OFF(mb_model_info, n_parameters); OFF(mb_model_info, epochs_trained); OFF(mb_model_info, loss);
        printf("mb_layer_info %zu\n", sizeof(mb_layer_info));
        OFF(mb_layer_info, n_in); OFF(mb_layer_info, n_out); OFF(mb_layer_info, activation);
        OFF(mb_layer_info, weight_offset); OFF(mb_layer_info, bias_offset);
        printf("mb_progress %zu\n", sizeof(mb_progress));
        OFF(mb_progress, epoch); OFF(mb_progress, epochs); OFF(mb_progress, epochs_trained);
        OFF(mb_progress, batch_size); OFF(mb_progress, batches); OFF(mb_progress, epoch_cost);
        OFF(mb_progress, last_batch_cost); OFF(mb_progress, learning_rate);
        OFF(mb_progress, validation_cost); OFF(mb_progress, validation_score);
        printf("mb_train_options %zu\n", sizeof(mb_train_options));
        OFF(mb_train_options, struct_size);
        OFF(mb_train_options, epochs); OFF(mb_train_options, batch_size);
        OFF(mb_train_options, learning_rate); OFF(mb_train_options, seed);
        OFF(mb_train_options, shuffle); OFF(mb_train_options, last_batch);
        OFF(mb_train_options, memory_budget); OFF(mb_train_options, progress);
        OFF(mb_train_options, user_data); OFF(mb_train_options, threads);
        OFF(mb_train_options, optimizer); OFF(mb_train_options, momentum);
        OFF(mb_train_options, nesterov); OFF(mb_train_options, rho); OFF(mb_train_options, beta1);
        OFF(mb_train_options, beta2); OFF(mb_train_options, epsilon);
        OFF(mb_train_options, weight_decay); OFF(mb_train_options, l2);
        OFF(mb_train_options, clip_norm); OFF(mb_train_options, schedule);
        OFF(mb_train_options, gamma); OFF(mb_train_options, step_epochs);
        OFF(mb_train_options, power_t); OFF(mb_train_options, cosine_epochs);
        OFF(mb_train_options, min_learning_rate); OFF(mb_train_options, patience);
        OFF(mb_train_options, min_delta); OFF(mb_train_options, restore_best);
        OFF(mb_train_options, validation_x); OFF(mb_train_options, validation_y);
        OFF(mb_train_options, validation_y_type); OFF(mb_train_options, validation_m);
        OFF(mb_train_options, validation_fraction); OFF(mb_train_options, sample_weight);
        OFF(mb_train_options, validation_dataset);
        OFF(mb_train_options, shards);
        OFF(mb_train_options, communicator); OFF(mb_train_options, distributed_mode);
        OFF(mb_train_options, interrupt); OFF(mb_train_options, monitor);
        OFF(mb_train_options, dropout); OFF(mb_train_options, class_weight);
        OFF(mb_train_options, class_weight_count); OFF(mb_train_options, label_smoothing);
        OFF(mb_train_options, amsgrad); OFF(mb_train_options, warmup_epochs);
        OFF(mb_train_options, warmup_start_factor); OFF(mb_train_options, clip_value);
        OFF(mb_train_options, lr_decay); OFF(mb_train_options, initial_accumulator_value);
        OFF(mb_train_options, momentum_decay); OFF(mb_train_options, centered);
        OFF(mb_train_options, milestones); OFF(mb_train_options, milestone_count);
        OFF(mb_train_options, restart_multiplier); OFF(mb_train_options, validation_sample_weight);
        OFF(mb_train_options, schedule_per_batch); OFF(mb_train_options, pct_start);
        OFF(mb_train_options, div_factor); OFF(mb_train_options, final_div_factor);
        OFF(mb_train_options, cycle_momentum); OFF(mb_train_options, base_momentum);
        OFF(mb_train_options, max_momentum); OFF(mb_train_options, three_phase);
        OFF(mb_train_options, anneal_strategy); OFF(mb_train_options, coupled_weight_decay);
        OFF(mb_train_options, decoupled_weight_decay); OFF(mb_train_options, plateau_patience);
        OFF(mb_train_options, plateau_threshold); OFF(mb_train_options, plateau_threshold_mode);
        OFF(mb_train_options, plateau_cooldown); OFF(mb_train_options, plateau_eps);
        OFF(mb_train_options, cyclic_mode); OFF(mb_train_options, cyclic_step_size_up);
        OFF(mb_train_options, cyclic_step_size_down); OFF(mb_train_options, denormals);
        OFF(mb_train_options, reserved);
        printf("mb_blas_info %zu\n", sizeof(mb_blas_info));
        OFF(mb_blas_info, struct_size); OFF(mb_blas_info, backend);
        OFF(mb_blas_info, openblas_version); OFF(mb_blas_info, openblas_core);
        OFF(mb_blas_info, openblas_isa); OFF(mb_blas_info, libxsmm_version);
        OFF(mb_blas_info, libxsmm_target); OFF(mb_blas_info, libxsmm_isa);
        OFF(mb_blas_info, cpu_isa); OFF(mb_blas_info, threads); OFF(mb_blas_info, training_forward);
        OFF(mb_blas_info, activations);
        printf("mb_dataset_options %zu\n", sizeof(mb_dataset_options));
        OFF(mb_dataset_options, shuffle); OFF(mb_dataset_options, block_bytes);
        OFF(mb_dataset_options, memory_budget); OFF(mb_dataset_options, page_cache);
        printf("mb_dataset_info %zu\n", sizeof(mb_dataset_info));
        OFF(mb_dataset_info, m); OFF(mb_dataset_info, n_features); OFF(mb_dataset_info, y_columns);
        OFF(mb_dataset_info, y_type); OFF(mb_dataset_info, x_version); OFF(mb_dataset_info, y_version);
        printf("MB_VERSION_NUMBER %d\n", MB_VERSION_NUMBER);
        printf("mb_version_number %d\n", (int)mb_version_number());
        return 0;
    }
    if (!strcmp(argv[1], "perm") && argc == 5) {
        int64_t m = strtoll(argv[2], NULL, 10);
        uint64_t seed = strtoull(argv[3], NULL, 10), epoch = strtoull(argv[4], NULL, 10);
        int64_t *perm = malloc(sizeof(int64_t) * (size_t)m);
        mb_status st = mb_permutation(m, seed, epoch, perm);
        if (st) die("mb_permutation", st);
        for (int64_t i = 0; i < m; i++) printf("%lld\n", (long long)perm[i]);
        free(perm);
        return 0;
    }
    if (!strcmp(argv[1], "random") && argc == 5) {
        uint64_t seed = strtoull(argv[2], NULL, 10), stream = strtoull(argv[3], NULL, 10);
        int64_t count = strtoll(argv[4], NULL, 10);
        uint64_t *out = malloc(sizeof(uint64_t) * (size_t)count);
        mb_status st = mb_random(seed, stream, out, count);
        if (st) die("mb_random", st);
        for (int64_t i = 0; i < count; i++) printf("%llu\n", (unsigned long long)out[i]);
        free(out);
        return 0;
    }
    if (!strcmp(argv[1], "moons") && argc == 6) {
        int64_t m = strtoll(argv[2], NULL, 10);
        float noise = strtof(argv[3], NULL);
        uint64_t seed = strtoull(argv[4], NULL, 10);
        float *x = malloc(sizeof(float) * (size_t)m * 2);
        int32_t *y = malloc(sizeof(int32_t) * (size_t)m);
        mb_status st = mb_make_moons(m, noise, seed, x, y);
        if (st) die("mb_make_moons", st);
        FILE *f = fopen(argv[5], "wb");
        fwrite(x, sizeof(float), (size_t)m * 2, f);
        fwrite(y, sizeof(int32_t), (size_t)m, f);
        fclose(f);
        return 0;
    }
    if (!strcmp(argv[1], "train") && argc == 4) {
        /* Job file: int64 fields, then the data.
         *   m, n_features, n_layers, sizes[n_layers], hidden_activation, loss, init,
         *   model_seed, n_calls, epochs[n_calls], batch_size, learning_rate (float32 bits
         *   in an int64), train_seed, shuffle, last_batch, y_type, y_cols;
         *   x float32[m * n_features]; y int32[m] or float32[m * y_cols]. */
        FILE *f = fopen(argv[2], "rb");
        if (!f) return 3;
        int64_t m = rd_i64(f), n = rd_i64(f), nl = rd_i64(f);
        int64_t *sizes = malloc(sizeof(int64_t) * (size_t)nl);
        for (int64_t i = 0; i < nl; i++) sizes[i] = rd_i64(f);
        mb_model_options mo;
        mb_model_options_init(&mo);
        mo.hidden_activation = (mb_activation)rd_i64(f);
        mo.loss = (mb_loss)rd_i64(f);
        mo.init = (mb_init)rd_i64(f);
        mo.seed = (uint64_t)rd_i64(f);
        int64_t n_calls = rd_i64(f);
        int64_t *epochs = malloc(sizeof(int64_t) * (size_t)n_calls);
        for (int64_t i = 0; i < n_calls; i++) epochs[i] = rd_i64(f);
        mb_train_options to;
        mb_train_options_init(&to);
        to.batch_size = rd_i64(f);
        int64_t lr_bits = rd_i64(f);
        uint32_t lr32 = (uint32_t)lr_bits;
        memcpy(&to.learning_rate, &lr32, 4);
        to.seed = (uint64_t)rd_i64(f);
        to.shuffle = (int)rd_i64(f);
        to.last_batch = (mb_last_batch)rd_i64(f);
        mb_targets yt = (mb_targets)rd_i64(f);
        int64_t ycols = rd_i64(f);
        float *x = malloc(sizeof(float) * (size_t)(m * n));
        rd(f, x, sizeof(float) * (size_t)(m * n));
        size_t ybytes = yt == MB_TARGETS_CLASS_INDEX ? sizeof(int32_t) * (size_t)m
                                                     : sizeof(float) * (size_t)(m * ycols);
        void *y = malloc(ybytes);
        rd(f, y, ybytes);
        fclose(f);

        mb_model *model = NULL;
        mb_status st = mb_model_create(sizes, nl, &mo, &model);
        if (st) die("mb_model_create", st);
        mb_history *h = NULL;
        st = mb_history_create(&h);
        if (st) die("mb_history_create", st);
        mb_status train_status = MB_OK;
        for (int64_t c = 0; c < n_calls && train_status == MB_OK; c++) {
            to.epochs = epochs[c];
            train_status = mb_train(model, x, y, yt, m, n, &to, h);
        }
        mb_model_info info;
        if ((st = mb_model_get_info(model, &info))) die("mb_model_get_info", st);
        float *params = malloc(sizeof(float) * (size_t)info.n_parameters);
        if ((st = mb_model_get_parameters(model, params, info.n_parameters)))
            die("mb_model_get_parameters", st);
        int64_t nb = 0, ne = 0;
        mb_history_batch_costs(h, NULL, 0, &nb);
        mb_history_epoch_costs(h, NULL, 0, &ne);
        double *bc = malloc(sizeof(double) * (size_t)(nb + 1));
        double *ec = malloc(sizeof(double) * (size_t)(ne + 1));
        mb_history_batch_costs(h, bc, nb, &nb);
        mb_history_epoch_costs(h, ec, ne, &ne);
        /* Result: int64 status, epochs_trained, n_parameters, params float32[],
         *         int64 nb, double[nb], int64 ne, double[ne] */
        FILE *o = fopen(argv[3], "wb");
        int64_t s64 = train_status;
        fwrite(&s64, 8, 1, o);
        fwrite(&info.epochs_trained, 8, 1, o);
        fwrite(&info.n_parameters, 8, 1, o);
        fwrite(params, sizeof(float), (size_t)info.n_parameters, o);
        fwrite(&nb, 8, 1, o);
        fwrite(bc, sizeof(double), (size_t)nb, o);
        fwrite(&ne, 8, 1, o);
        fwrite(ec, sizeof(double), (size_t)ne, o);
        fclose(o);
        mb_history_free(h);
        mb_model_free(model);
        return 0;
    }
    fprintf(stderr, "usage: see the comment at the top of reference.c\n");
    return 1;
}
