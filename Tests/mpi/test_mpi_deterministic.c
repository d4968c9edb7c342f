/*
 * test_mpi_deterministic.c - the tests of test_mpi (test_mpi.c) against the one-process
 * reference, in memory: deterministic mode byte for byte, for every update rule, schedule
 * and option that changes the result; fast mode within a stated tolerance.
 */
#define _XOPEN_SOURCE 700
#include "mpi_fixtures.h"
#include "mpi_tests.h"

/* ---- update rules ------------------------------------------------------------------------ */

typedef struct rule {
    const char *name;
    mb_optimizer optimizer;
    float momentum;
    int nesterov;
    float learning_rate;
} rule;

static const rule k_rules[] = {
    {"SGD", MB_OPTIMIZER_SGD, 0.0f, 0, 0.1f},
    {"SGD momentum", MB_OPTIMIZER_SGD, 0.9f, 0, 0.05f},
    {"SGD Nesterov", MB_OPTIMIZER_SGD, 0.9f, 1, 0.05f},
    {"RMSprop", MB_OPTIMIZER_RMSPROP, 0.0f, 0, 0.01f},
    {"Adam", MB_OPTIMIZER_ADAM, 0.0f, 0, 0.01f},
    {"AdamW", MB_OPTIMIZER_ADAMW, 0.0f, 0, 0.01f},
    {"Adagrad", MB_OPTIMIZER_ADAGRAD, 0.0f, 0, 0.05f},
    {"Adamax", MB_OPTIMIZER_ADAMAX, 0.0f, 0, 0.01f},
    {"NAdam", MB_OPTIMIZER_NADAM, 0.0f, 0, 0.01f},
    {"RAdam", MB_OPTIMIZER_RADAM, 0.0f, 0, 0.01f},
    {"RMSprop momentum", MB_OPTIMIZER_RMSPROP, 0.9f, 0, 0.005f},
    {"Adadelta", MB_OPTIMIZER_ADADELTA, 0.0f, 0, 1.0f},
};
enum { N_RULES = sizeof k_rules / sizeof k_rules[0] };

static void apply_rule(mb_train_options *o, const rule *r, float rate_scale)
{
    o->optimizer = r->optimizer;
    o->momentum = r->momentum;
    o->nesterov = r->nesterov;
    o->learning_rate = r->learning_rate * rate_scale;
    if (r->optimizer == MB_OPTIMIZER_ADADELTA) { /* PyTorch's defaults (the C ones are RMSprop's) */
        o->rho = 0.9f;
        o->epsilon = 1e-6f;
    }
}

/* ---- deterministic mode: bit-identical to one process ------------------------------------- */

/* The reference itself, one process: its result depends on shards, never on threads, and S
 * shards do differ from one (else comparing with S shards would prove less). */
void test_one_process_reference_depends_on_shards_only(void)
{
    outcome a, b, c;
    mb_train_options o = base_options(1, 128, 0.01f);
    o.momentum = 0.9f;
    train_fresh(&k_w1, &g_w1, &o, &a);
    o.threads = 2;
    train_fresh(&k_w1, &g_w1, &o, &b);
    o.threads = 1;
    o.shards = 1;
    train_fresh(&k_w1, &g_w1, &o, &c);
    CHECK_STATUS(a.status, MB_OK);
    expect_identical("one process, 4 shards on 2 threads against 1 thread", &b, &a);
    if (!CHECK(a.params && c.params &&
               memcmp(a.params, c.params, sizeof(float) * (size_t)a.n_params) != 0))
        printf("    [rank %d] 4 shards gave the weights of 1 shard\n", K);
    outcome_free(&a);
    outcome_free(&b);
    outcome_free(&c);
}

void test_deterministic_moons_every_rule(void)
{
    const spec *specs[2] = {&k_moons_ce, &k_moons_bce};
    int s, i;
    for (s = 0; s < 2; s++)
        for (i = 0; i < N_RULES; i++) {
            char label[128];
            mb_train_options o = base_options(3, 256, 0);
            apply_rule(&o, &k_rules[i], 1.0f);
            snprintf(label, sizeof label, "moons %s, %s", specs[s]->name, k_rules[i].name);
            check_against_one_process(label, specs[s], &k_moons, &k_moons, &o,
                                      MB_DISTRIBUTED_DETERMINISTIC, MB_OK);
        }
}

void test_deterministic_w1_small_every_rule(void)
{
    int i;
    for (i = 0; i < N_RULES; i++) {
        char label[128];
        mb_train_options o = base_options(1, 128, 0);
        apply_rule(&o, &k_rules[i], 0.1f);
        snprintf(label, sizeof label, "W1-small, %s", k_rules[i].name);
        check_against_one_process(label, &k_w1, &g_w1, &g_w1, &o, MB_DISTRIBUTED_DETERMINISTIC,
                                  MB_OK);
    }
}

void test_deterministic_l2_and_clip_norm(void)
{
    mb_train_options o = base_options(3, 256, 0.05f);
    o.optimizer = MB_OPTIMIZER_SGD;
    o.momentum = 0.9f;
    o.l2 = 0.5f;
    o.clip_norm = 0.25f; /* below the gradient's norm: clipping happens */
    check_against_one_process("moons, l2 + clip_norm", &k_moons_ce, &k_moons, &k_moons, &o,
                              MB_DISTRIBUTED_DETERMINISTIC, MB_OK);
    o = base_options(1, 128, 0.001f);
    o.optimizer = MB_OPTIMIZER_ADAM;
    o.l2 = 0.1f;
    o.clip_norm = 0.5f;
    check_against_one_process("W1-small, Adam + l2 + clip_norm", &k_w1, &g_w1, &g_w1, &o,
                              MB_DISTRIBUTED_DETERMINISTIC, MB_OK);
}

/* Dropout's masks follow each row's position in its mini-batch, not the shard or rank that
 * computes it: every rank's weights equal one process's, bit for bit, on two hidden layers
 * (k_deep, momentum) and on W1-small (Adam). (One process's fused update, plain SGD with a
 * first layer of 2^18 weights, equals the distributed path only to rounding: checked
 * against the general path in the Swift tests.) */
void test_deterministic_dropout(void)
{
    mb_train_options o = base_options(3, 256, 0.05f);
    o.optimizer = MB_OPTIMIZER_SGD;
    o.momentum = 0.9f;
    o.dropout = 0.3;
    check_against_one_process("moons 2-64-64-2, dropout", &k_deep, &k_moons, &k_moons, &o,
                              MB_DISTRIBUTED_DETERMINISTIC, MB_OK);
    o = base_options(1, 128, 0.001f);
    o.optimizer = MB_OPTIMIZER_ADAM;
    o.dropout = 0.5;
    check_against_one_process("W1-small, Adam + dropout", &k_w1, &g_w1, &g_w1, &o,
                              MB_DISTRIBUTED_DETERMINISTIC, MB_OK);
}

void test_deterministic_schedules(void)
{
    mb_train_options o = base_options(4, 256, 0.2f);
    o.momentum = 0.5f;
    o.schedule = MB_SCHEDULE_STEP;
    o.step_epochs = 1;
    o.gamma = 0.5;
    check_against_one_process("moons, step schedule", &k_moons_ce, &k_moons, &k_moons, &o,
                              MB_DISTRIBUTED_DETERMINISTIC, MB_OK);
    o = base_options(3, 256, 0.5f);
    o.schedule = MB_SCHEDULE_INVERSE_TIME; /* counts the examples seen */
    o.power_t = 0.25;
    check_against_one_process("moons, inverse-time schedule", &k_moons_ce, &k_moons, &k_moons,
                              &o, MB_DISTRIBUTED_DETERMINISTIC, MB_OK);
    o = base_options(4, 256, 0.05f);
    o.optimizer = MB_OPTIMIZER_ADAM;
    o.schedule = MB_SCHEDULE_COSINE;
    check_against_one_process("moons, cosine schedule", &k_moons_ce, &k_moons, &k_moons, &o,
                              MB_DISTRIBUTED_DETERMINISTIC, MB_OK);
}

void test_deterministic_validation_and_early_stopping(void)
{
    outcome d, r;
    mb_train_options o = base_options(10, 256, 0.1f);
    o.validation_x = g_val_x;
    o.validation_y = g_val_y;
    o.validation_y_type = MB_TARGETS_CLASS_INDEX;
    o.validation_m = MOONS_VAL_M;
    o.patience = 2;
    o.min_delta = 1e9; /* no epoch after the first improves: stops after epoch 3 */
    o.restore_best = 1;
    train_fresh(&k_moons_ce, &k_moons, &o, &r);
    o.communicator = &g_comm;
    train_fresh(&k_moons_ce, &k_moons, &o, &d);
    CHECK_STATUS(r.status, MB_OK);
    if (!CHECK(r.epochs < 10)) /* the reference did stop early, so the test tests that */
        printf("    one process trained %lld epochs: early stopping did not happen\n",
               (long long)r.epochs);
    CHECK(r.hist_n[2] == r.epochs && r.hist_n[2] > 0 && !isnan(r.hist[2][0]));
    expect_identical("moons, validation set + early stopping", &d, &r);
    outcome_free(&d);
    outcome_free(&r);
}

void test_deterministic_last_batch_kept_and_dropped(void)
{
    /* 1000 rows in batches of 96: 10 full batches and one of 40, itself in 3 shards (the work
     * term: 40 x 4,484 / (32,768 + 3 x 4,482)) */
    mb_train_options o = base_options(2, 96, 0.05f);
    o.optimizer = MB_OPTIMIZER_SGD;
    o.momentum = 0.9f;
    o.last_batch = MB_LAST_BATCH_KEEP;
    check_against_one_process("2-64-64-2, batch 96 of 1000, last batch kept", &k_deep,
                              &k_moons, &k_moons, &o, MB_DISTRIBUTED_DETERMINISTIC, MB_OK);
    o.last_batch = MB_LAST_BATCH_DROP;
    check_against_one_process("2-64-64-2, batch 96 of 1000, last batch dropped", &k_deep,
                              &k_moons, &k_moons, &o, MB_DISTRIBUTED_DETERMINISTIC, MB_OK);
    o = base_options(2, 96, 0.01f);
    o.optimizer = MB_OPTIMIZER_ADAM;
    o.last_batch = MB_LAST_BATCH_KEEP;
    check_against_one_process("2-64-64-2 Adam, last batch kept", &k_deep, &k_moons, &k_moons,
                              &o, MB_DISTRIBUTED_DETERMINISTIC, MB_OK);
}

/* "whatever R and the threads of each rank": rank 0 trains its shards on 2 threads. */
void test_deterministic_threads_differ_between_ranks(void)
{
    outcome d, r;
    mb_train_options o = base_options(1, 128, 0.01f);
    o.momentum = 0.9f;
    train_fresh(&k_w1, &g_w1, &o, &r);
    o.communicator = &g_comm;
    o.threads = K == 0 ? 2 : 1;
    train_fresh(&k_w1, &g_w1, &o, &d);
    CHECK_STATUS(d.status, MB_OK);
    expect_identical("W1-small, rank 0 on 2 threads, the others on 1", &d, &r);
    outcome_free(&d);
    outcome_free(&r);
}

/* shards = 0: threads (1) times the ranks, so one process with shards = R. */
void test_deterministic_default_shards_are_threads_times_ranks(void)
{
    outcome d, r;
    mb_train_options o = base_options(1, 128, 0.01f);
    o.momentum = 0.9f;
    o.shards = R;
    train_fresh(&k_w1, &g_w1, &o, &r);
    o.shards = 0;
    o.communicator = &g_comm;
    train_fresh(&k_w1, &g_w1, &o, &d);
    CHECK_STATUS(d.status, MB_OK);
    expect_identical("W1-small, shards 0 (threads 1 x R ranks) against one process with R "
                     "shards",
                     &d, &r);
    outcome_free(&d);
    outcome_free(&r);
}

/* np = 4, batches of 8 rows on a model large enough that the work term does not bind: 2
 * shards per batch (8 / 4), so ranks 0 and 2 compute nothing; the last batch of 4 rows has
 * one shard, on rank 3 alone. */
void test_deterministic_ranks_without_rows(void)
{
    data small = k_moons;
    mb_train_options o = base_options(2, 8, 0.05f);
    small.m = 100; /* 12 batches of 8 and one of 4 */
    o.momentum = 0.9f;
    check_against_one_process("2-256-256-2, batch 8, SGD momentum", &k_wide, &small, &small, &o,
                              MB_DISTRIBUTED_DETERMINISTIC, MB_OK);
    o.momentum = 0.0f;
    check_against_one_process("2-256-256-2, batch 8, plain SGD", &k_wide, &small, &small, &o,
                              MB_DISTRIBUTED_DETERMINISTIC, MB_OK);
    o.optimizer = MB_OPTIMIZER_ADAM;
    o.learning_rate = 0.001f;
    check_against_one_process("2-256-256-2, batch 8, Adam", &k_wide, &small, &small, &o,
                              MB_DISTRIBUTED_DETERMINISTIC, MB_OK);
    {
        mb_model *model = spec_model(&k_wide);
        unsigned char owned[100];
        int64_t i, mine = 0;
        rows_of_rank(K, 100, 8, MB_LAST_BATCH_KEEP, 5, 0, model, owned);
        for (i = 0; i < 100; i++)
            mine += owned[i];
        if (R == 4)
            CHECK(K == 1 || K == 3 ? mine > 0 : mine == 0); /* the layout this test expects */
        mb_model_free(model);
    }
}

/* Float targets: MSE, and cross-entropy on rows of probabilities. */
void test_deterministic_float_targets(void)
{
    data soft = k_moons;
    mb_train_options o = base_options(3, 128, 0.05f);
    o.momentum = 0.9f;
    check_against_one_process("moons MSE, float targets", &k_moons_mse, &k_moons_float,
                              &k_moons_float, &o, MB_DISTRIBUTED_DETERMINISTIC, MB_OK);
    soft.y = g_moons_soft;
    soft.y_type = MB_TARGETS_FLOAT32;
    o.optimizer = MB_OPTIMIZER_RMSPROP;
    o.learning_rate = 0.01f;
    check_against_one_process("moons cross-entropy, probability targets", &k_moons_soft, &soft,
                              &soft, &o, MB_DISTRIBUTED_DETERMINISTIC, MB_OK);
}

/* Options that change which rows a batch holds or how its cost is weighed. */
void test_deterministic_data_options(void)
{
    mb_train_options o = base_options(3, 128, 0.01f);
    o.optimizer = MB_OPTIMIZER_ADAM;
    o.sample_weight = g_moons_weight;
    check_against_one_process("moons, sample_weight", &k_moons_ce, &k_moons, &k_moons, &o,
                              MB_DISTRIBUTED_DETERMINISTIC, MB_OK);
    o = base_options(3, 128, 0.1f);
    o.validation_fraction = 0.2;
    check_against_one_process("moons, validation_fraction 0.2", &k_moons_ce, &k_moons, &k_moons,
                              &o, MB_DISTRIBUTED_DETERMINISTIC, MB_OK);
    o = base_options(3, 100, 0.1f);
    o.shuffle = 0;
    check_against_one_process("moons, shuffle 0", &k_moons_ce, &k_moons, &k_moons, &o,
                              MB_DISTRIBUTED_DETERMINISTIC, MB_OK);
    o = base_options(3, MOONS_M, 0.5f); /* batch gradient descent: rows in stored order */
    check_against_one_process("moons, one batch of all rows", &k_moons_ce, &k_moons, &k_moons,
                              &o, MB_DISTRIBUTED_DETERMINISTIC, MB_OK);
    o = base_options(1, MB_BATCH_AUTO, 0.01f); /* 2048 rows: batches of 512 */
    o.momentum = 0.9f;
    check_against_one_process("W1-small, MB_BATCH_AUTO", &k_w1, &g_w1, &g_w1, &o,
                              MB_DISTRIBUTED_DETERMINISTIC, MB_OK);
    o = base_options(8, 256, 0.5f);
    o.schedule = MB_SCHEDULE_ADAPTIVE;
    o.patience = 1;
    o.min_delta = 0.01;
    check_against_one_process("moons, adaptive schedule", &k_moons_ce, &k_moons, &k_moons, &o,
                              MB_DISTRIBUTED_DETERMINISTIC, MB_OK);
    /* 0.11.0: the plateau schedule, stepped with the same epoch cost on every rank */
    o = base_options(8, 256, 0.5f);
    o.schedule = MB_SCHEDULE_PLATEAU;
    o.gamma = 0.5;
    o.plateau_patience = 0;
    o.plateau_threshold = 0.05;
    o.plateau_cooldown = 1;
    check_against_one_process("moons, plateau schedule", &k_moons_ce, &k_moons, &k_moons, &o,
                              MB_DISTRIBUTED_DETERMINISTIC, MB_OK);
    /* and the cyclic one, a rate every mini-batch, the momentum cycled */
    o = base_options(3, 128, 0.3f);
    o.schedule = MB_SCHEDULE_CYCLIC;
    o.min_learning_rate = 0.01;
    o.cyclic_step_size_up = 5;
    o.cyclic_mode = MB_CYCLIC_TRIANGULAR2;
    o.schedule_per_batch = 1;
    o.cycle_momentum = 1;
    check_against_one_process("moons, cyclic schedule per mini-batch", &k_moons_ce, &k_moons, &k_moons, &o,
                              MB_DISTRIBUTED_DETERMINISTIC, MB_OK);
}

/* Two calls of 1 epoch give what one process gives in one call of 2: the epoch count, the
 * update rule's state and the schedule carry over. */
void test_deterministic_continuing_training(void)
{
    outcome d, r;
    mb_model *model = spec_model(&k_moons_ce);
    mb_history *h = NULL;
    mb_status s;
    mb_train_options o = base_options(2, 128, 0.01f);
    o.optimizer = MB_OPTIMIZER_ADAMW;
    o.schedule = MB_SCHEDULE_EXPONENTIAL;
    train_fresh(&k_moons_ce, &k_moons, &o, &r);
    mb_history_create(&h);
    o.epochs = 1;
    o.communicator = &g_comm;
    s = train(model, &k_moons, &o, h);
    CHECK_STATUS(s, MB_OK);
    s = train(model, &k_moons, &o, h);
    outcome_fill(&d, s, model, h);
    expect_identical("moons AdamW, 1 + 1 epochs against 2", &d, &r);
    outcome_free(&d);
    outcome_free(&r);
    mb_history_free(h);
    mb_model_free(model);
}

/* A first layer of 2^18 weights or more: shards of 64 rows at least; bit-identical with a
 * rule other than plain SGD, and within rounding with plain SGD (the header's exception:
 * one process fuses that layer's update). */
void test_deterministic_large_first_layer(void)
{
    outcome d, r;
    mb_train_options o = base_options(1, 256, 0.01f);
    o.momentum = 0.9f;
    check_against_one_process("784-384-10, SGD momentum", &k_w1_large, &g_w1, &g_w1, &o,
                              MB_DISTRIBUTED_DETERMINISTIC, MB_OK);
    o.momentum = 0.0f;
    train_fresh(&k_w1_large, &g_w1, &o, &r);
    o.communicator = &g_comm;
    train_fresh(&k_w1_large, &g_w1, &o, &d);
    CHECK_STATUS(d.status, MB_OK);
    expect_close("784-384-10, plain SGD (the fused exception)", &d, &r, 1e-5, 1e-6);
    outcome_free(&d);
    outcome_free(&r);
}

/* ---- fast mode ------------------------------------------------------------------------------ */

void test_fast_mode_close_to_one_process(void)
{
    mb_train_options o = base_options(3, 256, 0.1f);
    check_against_one_process("fast, moons 2-256-2, SGD, 3 epochs", &k_moons_ce, &k_moons,
                              &k_moons, &o, MB_DISTRIBUTED_FAST, MB_OK);
    o.momentum = 0.9f;
    o.learning_rate = 0.05f;
    check_against_one_process("fast, moons 2-256-2, SGD momentum, 3 epochs", &k_moons_ce,
                              &k_moons, &k_moons, &o, MB_DISTRIBUTED_FAST, MB_OK);
    o = base_options(3, 256, 0.01f);
    o.optimizer = MB_OPTIMIZER_ADAM;
    check_against_one_process("fast, moons 2-256-2, Adam, 3 epochs", &k_moons_ce, &k_moons,
                              &k_moons, &o, MB_DISTRIBUTED_FAST, MB_OK);
    o = base_options(1, 128, 0.01f);
    check_against_one_process("fast, W1-small, SGD, 1 epoch", &k_w1, &g_w1, &g_w1, &o,
                              MB_DISTRIBUTED_FAST, MB_OK);
}
