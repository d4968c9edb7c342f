/*
 * test_mpi_failures.c - the tests of test_mpi (test_mpi.c) where training fails or stops:
 * options, models, data or files that differ on one rank, divergence, and a cancel asked by
 * one rank. Every rank must return the same status and message, and none may hang.
 */
#define _XOPEN_SOURCE 700
#include <stdlib.h>
#include <unistd.h>

#include "mpi_fixtures.h"
#include "mpi_tests.h"

/* ---- errors: every rank the same status and message, none hangs ---------------------------- */

/* Runs the distributed call on every rank and checks: status `want` on every rank, a message
 * naming `name` (if not NULL), prefixed "rank <bad_rank>: " (if bad_rank >= 0 and R > 1), the
 * same status and message on every rank, and (if unchanged) model and history as before. */
static void expect_failure_everywhere(const char *label, mb_model *model, const data *d,
                                      const mb_train_options *o, mb_status want,
                                      const char *name, int bad_rank, int unchanged)
{
    int64_t n = 0, epochs = model_epochs(model);
    float *before = model_params(model, &n);
    mb_history *h = NULL;
    outcome out;
    mb_status s;
    mb_history_create(&h);
    s = train(model, d, o, h);
    outcome_fill(&out, s, model, h);
    NOTE("%s: %s \"%s\"", label, mb_status_name(s), out.message);
    if (!CHECK(s == want))
        printf("    [rank %d] %s: %s \"%s\", expected %s\n", K, label, mb_status_name(s),
               out.message, mb_status_name(want));
    else if (!CHECK(out.message[0] != '\0'))
        printf("    [rank %d] %s: no message\n", K, label);
    if (name != NULL && s == want && !CHECK(check_names_(out.message, name)))
        printf("    [rank %d] %s: \"%s\" does not name \"%s\"\n", K, label, out.message, name);
    if (bad_rank >= 0 && R > 1 && s == want) {
        char prefix[32];
        snprintf(prefix, sizeof prefix, "rank %d: ", bad_rank);
        if (!CHECK(strncmp(out.message, prefix, strlen(prefix)) == 0))
            printf("    [rank %d] %s: \"%s\" does not start with \"%s\"\n", K, label,
                   out.message, prefix);
    }
    if (!(CHECK_SAME_INT(s) & CHECK_SAME_STRING(out.message)) && K == 0)
        printf("    (the ranks differ in: %s)\n", label);
    if (!unchanged) { /* (else the models may differ on purpose; each must be as it was) */
        if (!(CHECK_SAME_BYTES(out.params, sizeof(float) * (size_t)out.n_params) &
              CHECK_SAME_INT(out.epochs)) &&
            K == 0)
            printf("    (the ranks' models differ after: %s)\n", label);
    } else {
        if (!CHECK(before != NULL && model_same(model, before, n, epochs)))
            printf("    [rank %d] %s: the model changed\n", K, label);
        if (!CHECK(out.hist_n[0] == 0 && out.hist_n[1] == 0))
            printf("    [rank %d] %s: the history holds %lld batch costs\n", K, label,
                   (long long)out.hist_n[0]);
    }
    outcome_free(&out);
    free(before);
    mb_history_free(h);
}

/* One rank (the last) differs in one option or in its model. */
void test_error_options_differ_between_ranks(void)
{
    int odd = K == ODD && R > 1;
    mb_model *model;
    mb_train_options o;
    int64_t other_sizes[3] = {2, 16, 2};
    if (R == 1) {
        NOTE("one rank: nothing can differ");
        return;
    }
    model = spec_model(&k_moons_ce);
    o = base_options(2, 128, 0.1f);
    o.communicator = &g_comm;
    o.batch_size = odd ? 64 : 128;
    expect_failure_everywhere("batch_size differs", model, &k_moons, &o,
                              MB_ERR_INVALID_ARGUMENT, "batch_size", -1, 1);
    o = base_options(2, 128, 0.1f);
    o.communicator = &g_comm;
    o.seed = odd ? 6 : 5;
    expect_failure_everywhere("seed differs", model, &k_moons, &o, MB_ERR_INVALID_ARGUMENT,
                              "seed", -1, 1);
    o = base_options(2, 128, 0.1f);
    o.communicator = &g_comm;
    o.optimizer = odd ? MB_OPTIMIZER_ADAM : MB_OPTIMIZER_SGD;
    expect_failure_everywhere("optimizer differs", model, &k_moons, &o,
                              MB_ERR_INVALID_ARGUMENT, "optimizer", -1, 1);
    o = base_options(2, 128, 0.1f);
    o.communicator = &g_comm;
    o.learning_rate = odd ? 0.2f : 0.1f;
    expect_failure_everywhere("learning_rate differs", model, &k_moons, &o,
                              MB_ERR_INVALID_ARGUMENT, "learning_rate", -1, 1);
    o = base_options(2, 128, 0.1f);
    o.communicator = &g_comm;
    o.shards = odd ? 2 : S;
    expect_failure_everywhere("shards differs", model, &k_moons, &o, MB_ERR_INVALID_ARGUMENT,
                              "shards", -1, 1);
    o = base_options(2, 128, 0.1f);
    o.communicator = &g_comm;
    o.distributed_mode = odd ? MB_DISTRIBUTED_FAST : MB_DISTRIBUTED_DETERMINISTIC;
    expect_failure_everywhere("distributed_mode differs", model, &k_moons, &o,
                              MB_ERR_INVALID_ARGUMENT, "distributed_mode", -1, 1);
    o = base_options(2, 128, 0.1f);
    o.communicator = &g_comm;
    {
        data fewer = k_moons;
        fewer.m = odd ? MOONS_M - 1 : MOONS_M;
        expect_failure_everywhere("rows differ", model, &fewer, &o, MB_ERR_INVALID_ARGUMENT,
                                  NULL, -1, 1);
    }
    mb_model_free(model);

    /* the model: other layer sizes on one rank, then other initial weights */
    model = odd ? make_model(other_sizes, 3, k_moons_ce.hidden, k_moons_ce.loss, 1)
                : spec_model(&k_moons_ce);
    CHECK(model != NULL);
    expect_failure_everywhere("layer sizes differ", model, &k_moons, &o,
                              MB_ERR_INVALID_ARGUMENT, "layer", -1, 1);
    mb_model_free(model);
    model = make_model(k_moons_ce.sizes, 3, k_moons_ce.hidden, k_moons_ce.loss, odd ? 99 : 1);
    CHECK(model != NULL);
    expect_failure_everywhere("parameters differ", model, &k_moons, &o,
                              MB_ERR_INVALID_ARGUMENT, "parameters", -1, 1);
    mb_model_free(model);
}

/* Option `which` set up so that it is in use, with another value on rank `odd`; returns its
 * name (NULL past the last). */
static const char *differing_option(mb_train_options *o, int which, int odd)
{
    switch (which) {
    case 0: o->epochs = odd ? 3 : 2; return "epochs";
    case 1: o->shuffle = !odd; return "shuffle";
    case 2: o->batch_size = 96; o->last_batch = odd ? MB_LAST_BATCH_DROP : MB_LAST_BATCH_KEEP;
        return "last_batch";
    case 3: o->momentum = odd ? 0.5f : 0.9f; return "momentum";
    case 4: o->momentum = 0.9f; o->nesterov = odd; return "nesterov";
    case 5: o->optimizer = MB_OPTIMIZER_RMSPROP; o->rho = odd ? 0.9f : 0.99f; return "rho";
    case 6: o->optimizer = MB_OPTIMIZER_ADAM; o->beta1 = odd ? 0.8f : 0.9f; return "beta1";
    case 7: o->optimizer = MB_OPTIMIZER_ADAM; o->beta2 = odd ? 0.99f : 0.999f; return "beta2";
    case 8: o->optimizer = MB_OPTIMIZER_ADAM; o->epsilon = odd ? 1e-7f : 1e-8f;
        return "epsilon";
    case 9: o->optimizer = MB_OPTIMIZER_ADAMW; o->weight_decay = odd ? 0.1f : 0.01f;
        return "weight_decay";
    case 10: o->l2 = odd ? 0.2f : 0.1f; return "l2";
    case 11: o->clip_norm = odd ? 2.0f : 1.0f; return "clip_norm";
    case 12: o->schedule = odd ? MB_SCHEDULE_STEP : MB_SCHEDULE_CONSTANT; return "schedule";
    case 13: o->schedule = MB_SCHEDULE_STEP; o->gamma = odd ? 0.5 : 0.1; return "gamma";
    case 14: o->schedule = MB_SCHEDULE_STEP; o->step_epochs = odd ? 2 : 1;
        return "step_epochs";
    case 15: o->schedule = MB_SCHEDULE_INVERSE_TIME; o->power_t = odd ? 0.25 : 0.5;
        return "power_t";
    case 16: o->schedule = MB_SCHEDULE_COSINE; o->cosine_epochs = odd ? 10 : 0;
        return "cosine_epochs";
    case 17: o->schedule = MB_SCHEDULE_COSINE; o->min_learning_rate = odd ? 1e-3 : 0;
        return "min_learning_rate";
    case 18: o->patience = odd ? 2 : 0; return "patience";
    case 19: o->patience = 2; o->min_delta = odd ? 0.1 : 0; return "min_delta";
    case 20:
        o->validation_x = g_val_x;
        o->validation_y = g_val_y;
        o->validation_y_type = MB_TARGETS_CLASS_INDEX;
        o->validation_m = MOONS_VAL_M;
        o->patience = 2;
        o->restore_best = !odd;
        return "restore_best";
    case 21:
        if (!odd) {
            o->validation_x = g_val_x;
            o->validation_y = g_val_y;
            o->validation_y_type = MB_TARGETS_CLASS_INDEX;
            o->validation_m = MOONS_VAL_M;
        }
        return "validation";
    case 22: o->validation_fraction = odd ? 0.2 : 0.1; return "validation_fraction";
    case 23: o->sample_weight = odd ? NULL : g_moons_weight; return "sample_weight";
    /* 0.6.0: AMSGrad on one rank only; Adagrad against Adamax */
    case 24: o->optimizer = MB_OPTIMIZER_ADAM; o->amsgrad = odd; return "amsgrad";
    case 25: o->optimizer = odd ? MB_OPTIMIZER_ADAMAX : MB_OPTIMIZER_ADAGRAD; return "optimizer";
    case 26: o->warmup_epochs = odd ? 3 : 0; return "warmup_epochs";
    case 27: o->warmup_epochs = 3; o->warmup_start_factor = odd ? 0.5 : 0.25; return "warmup_start_factor";
    case 28: o->clip_value = odd ? 0.5f : 0.0f; return "clip_value";
    case 29: o->optimizer = MB_OPTIMIZER_ADAGRAD; o->lr_decay = odd ? 0.1f : 0.0f; return "lr_decay";
    case 30: o->optimizer = MB_OPTIMIZER_ADAGRAD; o->initial_accumulator_value = odd ? 0.1f : 0.0f;
        return "initial_accumulator_value";
    /* 0.7.0: NAdam's momentum decay; RMSprop centred on one rank; NAdam against RAdam */
    case 31: o->optimizer = MB_OPTIMIZER_NADAM; o->momentum_decay = odd ? 0.01 : 0.004; return "momentum_decay";
    case 32: o->optimizer = MB_OPTIMIZER_RMSPROP; o->centered = odd; return "centered";
    case 33: o->optimizer = odd ? MB_OPTIMIZER_RADAM : MB_OPTIMIZER_NADAM; return "optimizer";
    /* 0.7.0's schedules: a milestone, the restart multiplier */
    case 34: {
        static const int64_t even_milestones[] = {2, 4}, odd_milestones[] = {2, 5};
        o->schedule = MB_SCHEDULE_MULTI_STEP;
        o->milestones = odd ? odd_milestones : even_milestones;
        o->milestone_count = 2;
        return "milestones";
    }
    case 35: o->schedule = MB_SCHEDULE_COSINE_RESTARTS; o->cosine_epochs = 2; o->restart_multiplier = odd ? 2 : 1;
        return "restart_multiplier";
    /* 0.9.0: a rate every mini-batch on one rank; one-cycle's parameters */
    case 36: o->schedule = MB_SCHEDULE_COSINE; o->schedule_per_batch = odd; return "schedule_per_batch";
    case 37: o->schedule = MB_SCHEDULE_ONE_CYCLE; o->pct_start = odd ? 0.5 : 0.3; return "pct_start";
    /* (with its value: "final_div_factor is" holds "div_factor is") */
    case 38: o->schedule = MB_SCHEDULE_ONE_CYCLE; o->div_factor = odd ? 10 : 25; return "div_factor is 25.0";
    case 39: o->schedule = MB_SCHEDULE_ONE_CYCLE; o->final_div_factor = odd ? 100 : 1e4; return "final_div_factor";
    /* 0.10.0: one-cycle's momentum cycle on one rank; its ends */
    case 40: o->schedule = MB_SCHEDULE_ONE_CYCLE; o->cycle_momentum = odd; return "cycle_momentum";
    case 41: o->schedule = MB_SCHEDULE_ONE_CYCLE; o->cycle_momentum = 1; o->base_momentum = odd ? 0.8 : 0.85;
        return "base_momentum";
    case 42: o->schedule = MB_SCHEDULE_ONE_CYCLE; o->optimizer = MB_OPTIMIZER_ADAM; o->cycle_momentum = 1;
        o->max_momentum = odd ? 0.9 : 0.95; return "max_momentum";
    case 43: o->schedule = MB_SCHEDULE_ONE_CYCLE; o->three_phase = odd; return "three_phase";
    case 44: o->schedule = MB_SCHEDULE_ONE_CYCLE; o->anneal_strategy = odd ? MB_ANNEAL_LINEAR : MB_ANNEAL_COS;
        return "anneal_strategy";
    /* 0.10.0: PyTorch's coupled weight decay */
    case 45: o->coupled_weight_decay = odd ? 0.01f : 0.0f; return "coupled_weight_decay";
    /* (NAdam's decoupled decay on one rank: the rule's weight_decay differs, 0.01 against none) */
    case 46: o->optimizer = MB_OPTIMIZER_NADAM; o->decoupled_weight_decay = odd; return "weight_decay";
    /* 0.11.0: the plateau schedule's parameters (its factor is gamma) */
    case 47: o->schedule = odd ? MB_SCHEDULE_PLATEAU : MB_SCHEDULE_ADAPTIVE; o->patience = 3; return "schedule";
    case 48: o->schedule = MB_SCHEDULE_PLATEAU; o->gamma = odd ? 0.5 : 0.1; return "gamma";
    case 49: o->schedule = MB_SCHEDULE_PLATEAU; o->plateau_patience = odd ? 3 : 10; return "plateau_patience";
    case 50: o->schedule = MB_SCHEDULE_PLATEAU; o->plateau_threshold = odd ? 0.01 : 1e-4; return "plateau_threshold is";
    case 51: o->schedule = MB_SCHEDULE_PLATEAU; o->plateau_threshold_mode = odd ? MB_THRESHOLD_ABS : MB_THRESHOLD_REL;
        return "plateau_threshold_mode";
    case 52: o->schedule = MB_SCHEDULE_PLATEAU; o->plateau_cooldown = odd ? 2 : 0; return "plateau_cooldown";
    case 53: o->schedule = MB_SCHEDULE_PLATEAU; o->plateau_eps = odd ? 1e-3 : 1e-8; return "plateau_eps";
    case 54: o->schedule = MB_SCHEDULE_PLATEAU; o->min_learning_rate = odd ? 1e-3 : 0; return "min_learning_rate";
    /* 0.11.0: the cyclic schedule's steps and mode */
    case 55: o->schedule = MB_SCHEDULE_CYCLIC; o->cyclic_step_size_up = odd ? 3 : 2; return "cyclic_step_size_up";
    case 56: o->schedule = MB_SCHEDULE_CYCLIC; o->cyclic_step_size_down = odd ? 3 : -1; return "cyclic_step_size_down";
    case 57: o->schedule = MB_SCHEDULE_CYCLIC; o->cyclic_mode = odd ? MB_CYCLIC_TRIANGULAR2 : MB_CYCLIC_TRIANGULAR;
        return "cyclic_mode";
    case 58: o->schedule = MB_SCHEDULE_CYCLIC; o->cycle_momentum = 1; o->base_momentum = odd ? 0.8 : 0.85;
        return "base_momentum";
    case 59: o->denormals = odd ? MB_DENORMALS_KEEP : MB_DENORMALS_FLUSH; return "denormals";
    default: return NULL;
    }
}

/* Every other option of mb_train_options, each in use, differing on one rank. */
void test_error_each_option_differs(void)
{
    int which, odd = K == ODD && R > 1;
    mb_model *model;
    if (R == 1) {
        NOTE("one rank: nothing can differ");
        return;
    }
    model = spec_model(&k_moons_ce);
    for (which = 0;; which++) {
        mb_train_options o = base_options(2, 128, 0.05f);
        const char *name = differing_option(&o, which, odd);
        char label[64];
        if (name == NULL)
            break;
        o.communicator = &g_comm;
        snprintf(label, sizeof label, "%s differs", name);
        expect_failure_everywhere(label, model, &k_moons, &o, MB_ERR_INVALID_ARGUMENT, name, -1,
                                  1);
    }
    mb_model_free(model);
}

/* Arguments the C layer refuses before training begins, on one rank only (an unknown
 * optimizer, multi-step's milestones NULL with a count, a NULL X): every rank returns that
 * rank's error and none waits for it (0.7.0; before, the other ranks waited in the exchange
 * that opens training). */
void test_error_refused_before_training_on_one_rank(void)
{
    int which;
    for (which = 0; which < 3; which++) {
        mb_model *model = spec_model(&k_moons_ce);
        mb_train_options o = base_options(2, 256, 0.1f);
        data d = k_moons;
        const char *label = which == 0 ? "an unknown optimizer on one rank"
                            : which == 1 ? "milestones NULL with a count on one rank"
                                         : "a NULL X on one rank";
        const char *name = which == 0 ? "optimizer" : which == 1 ? "milestones" : "x";
        o.communicator = &g_comm;
        if (K == ODD) {
            if (which == 0)
                o.optimizer = (mb_optimizer)99;
            else if (which == 1) {
                o.schedule = MB_SCHEDULE_MULTI_STEP;
                o.milestone_count = 2;
            } else
                d.x = NULL;
        }
        expect_failure_everywhere(label, model, &d, &o, MB_ERR_INVALID_ARGUMENT, name, ODD, 1);
        /* the same model then trains on every rank */
        d.x = k_moons.x;
        o = base_options(2, 256, 0.1f);
        o.communicator = &g_comm;
        CHECK_STATUS(train(model, &d, &o, NULL), MB_OK);
        mb_model_free(model);
    }
}

/* A rank that will not make the call (what it prepared failed) calls mb_train_fail in its
 * place: every rank returns its status and "rank <ODD>: message", the model as it was, and the
 * communicator serves the next call. Then what mb_train_fail refuses without sending. */
void test_error_a_rank_that_will_not_train(void)
{
    static char long_message[2000];
    int which;
    memset(long_message, 'x', sizeof long_message - 1);
    for (which = 0; which < 3; which++) {
        mb_model *model = spec_model(&k_moons_ce);
        mb_train_options o = base_options(2, 256, 0.1f);
        const mb_status want = which == 0 ? MB_ERR_IO : which == 1 ? MB_ERR_OUT_OF_MEMORY : MB_ERR_INVALID_ARGUMENT;
        const char *given = which == 0 ? "could not read part.npy" : which == 1 ? NULL : long_message;
        char expected[1100], message[1100];
        mb_history *h = NULL;
        mb_status s;
        o.communicator = &g_comm;
        mb_history_create(&h);
        if (which == 2) {
            snprintf(expected, sizeof expected, "rank %d: %.1016s", ODD, long_message);
        } else {
            snprintf(expected, sizeof expected, "rank %d: %s", ODD,
                     given ? given : "the training call was not made");
        }
        s = K == ODD ? mb_train_fail(&g_comm, want, given) : train(model, &k_moons, &o, h);
        snprintf(message, sizeof message, "%s", mb_last_error());
        if (!CHECK(s == want && strcmp(message, expected) == 0))
            printf("    [rank %d] mb_train_fail case %d: %s \"%.80s...\" (%zu bytes), expected %s \"%.80s...\"\n",
                   K, which, mb_status_name(s), message, strlen(message), mb_status_name(want), expected);
        CHECK_SAME_INT(s);
        {
            int64_t batches = -1;
            mb_history_batch_costs(h, NULL, 0, &batches);
            CHECK(model_epochs(model) == 0 && batches == 0);
        }
        CHECK_STATUS(train(model, &k_moons, &o, NULL), MB_OK);
        CHECK(model_epochs(model) == 2);
        mb_history_free(h);
        mb_model_free(model);
    }
    {
        mb_communicator small = g_comm;
        small.struct_size = sizeof(size_t);
        CHECK(mb_train_fail(NULL, MB_ERR_IO, "x") == MB_ERR_INVALID_ARGUMENT &&
              strstr(mb_last_error(), "communicator is NULL") != NULL);
        CHECK(mb_train_fail(&small, MB_ERR_IO, "x") == MB_ERR_INVALID_ARGUMENT &&
              strstr(mb_last_error(), "struct_size") != NULL);
        CHECK(mb_train_fail(&g_comm, MB_OK, "x") == MB_ERR_INVALID_ARGUMENT &&
              strstr(mb_last_error(), "status must be an error status") != NULL);
        CHECK(mb_train_fail(&g_comm, (mb_status)10, "x") == MB_ERR_INVALID_ARGUMENT &&
              strstr(mb_last_error(), "got 10") != NULL);
        CHECK(mb_train_fail(&g_comm, (mb_status)-1, "x") == MB_ERR_INVALID_ARGUMENT &&
              strstr(mb_last_error(), "got -1") != NULL);
    }
}

/* One rank's X holds a NaN in a row it reads: the last row of batch 1 of epoch 0, which lies
 * in the last shard, always the last rank's. */
void test_error_nan_on_one_rank(void)
{
    int mode;
    for (mode = 0; mode < 2; mode++) {
        mb_model *model = spec_model(&k_moons_ce);
        mb_train_options o = base_options(2, 256, 0.1f);
        float *x = (float *)malloc(sizeof g_moons_x);
        int64_t perm[MOONS_M];
        data d = k_moons;
        CHECK_STATUS(mb_permutation(MOONS_M, o.seed, 0, perm), MB_OK);
        memcpy(x, g_moons_x, sizeof g_moons_x);
        if (K == ODD)
            x[perm[2 * 256 - 1] * 2 + 1] = NAN;
        d.x = x;
        o.communicator = &g_comm;
        o.distributed_mode = (mb_distributed_mode)mode;
        expect_failure_everywhere(mode ? "NaN in one rank's rows (fast)"
                                       : "NaN in one rank's rows (deterministic)",
                                  model, &d, &o, MB_ERR_INVALID_ARGUMENT, NULL, ODD, 1);
        /* the same model then trains (nothing was left half done on any rank) */
        d.x = g_moons_x;
        CHECK_STATUS(train(model, &d, &o, NULL), MB_OK);
        mb_model_free(model);
        free(x);
    }
}

/* One rank's files are bad: a label out of range in its y, or its X cut short after it was
 * opened. */
void test_error_bad_file_on_one_rank(void)
{
    char xname[64], yname[64], path[512];
    int32_t *y = (int32_t *)malloc(sizeof(int32_t) * FILE_M);
    mb_train_options o = base_options(2, 64, 0.05f);
    mb_model *model;
    mb_dataset *ds;
    data d;
    int shuffle;
    o.communicator = &g_comm;
    write_shared_files();
    memset(&d, 0, sizeof d);

    /* a label of 10 for 10 classes in the last rank's y */
    memcpy(y, g_w1_y, sizeof(int32_t) * FILE_M);
    if (K == ODD)
        y[FILE_M / 2] = 10;
    rank_file_name(yname, "y-label");
    write_y(yname, y, FILE_M);
    for (shuffle = 0; shuffle < 2; shuffle++) {
        model = spec_model(&k_file_model);
        ds = open_dataset("x.npy", yname, (mb_file_shuffle)shuffle);
        d.dataset = ds;
        expect_failure_everywhere(shuffle ? "bad label in one rank's y (block)"
                                          : "bad label in one rank's y (exact)",
                                  model, &d, &o, MB_ERR_INVALID_ARGUMENT, NULL, ODD, 0);
        mb_dataset_free(ds);
        mb_model_free(model);
    }

    /* the last rank's X loses its second half once open */
    for (shuffle = 0; shuffle < 2; shuffle++) {
        rank_file_name(xname, shuffle ? "x-cut-block" : "x-cut-exact");
        write_x(xname, g_w1_x, FILE_M, W1_N);
        model = spec_model(&k_file_model);
        ds = open_dataset(xname, "y.npy", (mb_file_shuffle)shuffle);
        file_path(path, xname);
        if (K == ODD)
            CHECK(truncate(path, (off_t)(sizeof(float) * FILE_M * W1_N / 2)) == 0);
        MPI_Barrier(MPI_COMM_WORLD);
        d.dataset = ds;
        expect_failure_everywhere(shuffle ? "X cut short on one rank (block)"
                                          : "X cut short on one rank (exact)",
                                  model, &d, &o, MB_ERR_IO, NULL, ODD, 0);
        mb_dataset_free(ds);
        mb_model_free(model);
    }
    free(y);
}

/* A huge learning rate: every rank MB_ERR_DIVERGED with the same last finite weights, those
 * of one process. */
void test_divergence_stops_every_rank(void)
{
    mb_train_options o = base_options(5, 128, 1e6f);
    outcome d, r;
    train_fresh(&k_mse, &k_moons_float, &o, &r);
    o.communicator = &g_comm;
    train_fresh(&k_mse, &k_moons_float, &o, &d);
    CHECK_STATUS(r.status, MB_ERR_DIVERGED);
    CHECK_STATUS(d.status, MB_ERR_DIVERGED);
    CHECK(d.params != NULL && all_finite_f(d.params, d.n_params));
    if (!CHECK(r.hist_n[0] > 1)) /* at least one step was taken before it diverged */
        printf("    diverged after %lld batches\n", (long long)r.hist_n[0]);
    expect_identical("moons MSE, learning rate 1e6", &d, &r);
    outcome_free(&d);
    /* fast mode: the same stop on every rank (its weights only match one process to
       rounding, which a diverging run magnifies: not compared with it) */
    o.distributed_mode = MB_DISTRIBUTED_FAST;
    train_fresh(&k_mse, &k_moons_float, &o, &d);
    CHECK_STATUS(d.status, MB_ERR_DIVERGED);
    CHECK(d.params != NULL && all_finite_f(d.params, d.n_params));
    expect_same_on_every_rank("fast, moons MSE, learning rate 1e6", &d);
    outcome_free(&d);
    outcome_free(&r);
}

typedef struct stopper {
    int rank;      /* the rank whose callback asks to stop */
    int64_t epoch; /* at this epoch */
    int calls;
} stopper;

static int stop_on_one_rank(const mb_progress *p, void *user_data)
{
    stopper *s = (stopper *)user_data;
    s->calls++;
    return K == s->rank && p->epoch == s->epoch;
}

/* The progress callback asks to stop on rank 1 only (rank 0 when alone), after epoch 2 of 4:
 * every rank stops there, with the weights one process has after 2 epochs. */
void test_cancel_on_one_rank_stops_every_rank(void)
{
    int mode;
    for (mode = 0; mode < 2; mode++) {
        stopper st;
        mb_train_options o = base_options(2, 256, 0.1f);
        outcome d, r;
        o.momentum = 0.9f;
        train_fresh(&k_moons_ce, &k_moons, &o, &r);
        st.rank = R > 1 ? 1 : 0;
        st.epoch = 2;
        st.calls = 0;
        o.epochs = 4;
        o.progress = stop_on_one_rank;
        o.user_data = &st;
        o.communicator = &g_comm;
        o.distributed_mode = (mb_distributed_mode)mode;
        train_fresh(&k_moons_ce, &k_moons, &o, &d);
        CHECK_STATUS(r.status, MB_OK);
        CHECK_STATUS(d.status, MB_ERR_CANCELLED);
        if (!CHECK(st.calls == 2))
            printf("    [rank %d] the callback was called %d times\n", K, st.calls);
        CHECK(d.epochs == 2);
        r.status = MB_ERR_CANCELLED; /* the rest as after 2 epochs of one process */
        memcpy(r.message, d.message, sizeof r.message);
        if (mode == MB_DISTRIBUTED_DETERMINISTIC)
            expect_identical("cancelled after epoch 2 by one rank", &d, &r);
        else
            expect_close("fast, cancelled after epoch 2 by one rank", &d, &r, 1e-4, 1e-5);
        outcome_free(&d);
        outcome_free(&r);
    }
}
