/*
 * test_resume.c - exact resume: training N epochs, saving, loading into a fresh model and
 * training M more gives bit-identical weights and history to N + M epochs in one call, for
 * every update rule and schedule (the model file's training-state sections, format 2).
 * Also: the options struct's struct_size contract and the rule's state across calls.
 */
#define _POSIX_C_SOURCE 200809L
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "ref.h"

#define M_ROWS 200
#define M_VAL 60
#define N_IN 6
#define N_OUT 3

static float X[M_ROWS * N_IN], XV[M_VAL * N_IN];
static int32_t Y[M_ROWS], YV[M_VAL];

static void make_data(void)
{
    int64_t i;
    tdata_fill(X, M_ROWS * N_IN, 3, -1, 1);
    tdata_fill(XV, M_VAL * N_IN, 4, -1, 1);
    for (i = 0; i < M_ROWS; i++)
        Y[i] = (X[i * N_IN] + X[i * N_IN + 1] > 0) + (X[i * N_IN + 2] > 0.5f);
    for (i = 0; i < M_VAL; i++)
        YV[i] = (XV[i * N_IN] + XV[i * N_IN + 1] > 0) + (XV[i * N_IN + 2] > 0.5f);
}

static mb_model *new_model(void)
{
    int64_t sizes[] = {N_IN, 16, N_OUT};
    mb_model_options mo;
    mb_model *model = NULL;
    mb_model_options_init(&mo);
    mo.loss = MB_LOSS_CROSS_ENTROPY;
    mo.seed = 5;
    return mb_model_create(sizes, 3, &mo, &model) == MB_OK ? model : NULL;
}

typedef struct {
    const char *name;
    mb_optimizer optimizer;
    float momentum;
    int nesterov;
    mb_schedule schedule;
    float learning_rate;
    mb_monitor monitor;
    /* RMSprop centred (centered), AMSGrad (amsgrad), or a warm-up of this many epochs */
    int centered, amsgrad;
    int64_t warmup_epochs;
} config;

static void options_for(const config *c, mb_train_options *o, int64_t epochs)
{
    mb_train_options_init(o);
    o->epochs = epochs;
    o->batch_size = 16;
    o->threads = 2;
    o->seed = 11;
    o->optimizer = c->optimizer;
    o->momentum = c->momentum;
    o->nesterov = c->nesterov;
    o->learning_rate = c->learning_rate;
    o->schedule = c->schedule;
    o->gamma = c->schedule == MB_SCHEDULE_EXPONENTIAL ? 0.8 : 0.5;
    o->step_epochs = 2;
    o->cosine_epochs = 7; /* the whole run's length: a resumed call's default differs */
    o->l2 = 0.01f;
    o->clip_norm = 5.0f;
    o->patience = c->schedule == MB_SCHEDULE_ADAPTIVE ? 1 : 50;
    o->min_delta = c->schedule == MB_SCHEDULE_ADAPTIVE ? 0.05 : 0.0;
    o->monitor = c->monitor;
    if (c->schedule == MB_SCHEDULE_MULTI_STEP) { /* one milestone in each part of 3 + 4, one twice */
        static const int64_t milestones[] = {5, 2, 5};
        o->milestones = milestones;
        o->milestone_count = 3;
    }
    if (c->schedule == MB_SCHEDULE_ONE_CYCLE) { /* 0.10.0: the momentum cycled too, its peak at epoch 1.8 */
        o->pct_start = 0.4;
        o->cycle_momentum = 1;
        o->base_momentum = 0.8;
        if (c->optimizer == MB_OPTIMIZER_ADAM) { /* three linear phases, ending at 1.8, 3.6 (across the resume) and 6 */
            o->three_phase = 1;
            o->anneal_strategy = MB_ANNEAL_LINEAR;
        }
    }
    if (c->schedule == MB_SCHEDULE_PLATEAU) { /* 0.11.0: reductions and a cooldown in each part */
        o->plateau_patience = 0;
        o->plateau_threshold = 0.3;
        o->plateau_cooldown = 1;
        if (c->monitor == MB_MONITOR_VALIDATION_SCORE) {
            o->plateau_threshold_mode = MB_THRESHOLD_ABS;
            o->plateau_threshold = 0.05;
            o->plateau_cooldown = 0;
            o->min_learning_rate = 0.003;
        }
    }
    if (c->schedule == MB_SCHEDULE_CYCLIC) { /* 0.11.0: cycles of 2 + 1 epochs, the 2nd and 3rd
                                                 across the resume; halved, the momentum cycled */
        o->min_learning_rate = c->learning_rate / 10;
        o->cyclic_step_size_up = 2;
        o->cyclic_step_size_down = 1;
        o->cyclic_mode = c->optimizer == MB_OPTIMIZER_ADAM ? MB_CYCLIC_EXP_RANGE : MB_CYCLIC_TRIANGULAR2;
        o->gamma = 0.9;
        o->cycle_momentum = 1;
        o->base_momentum = 0.8;
        o->max_momentum = 0.9;
    }
    if (c->schedule == MB_SCHEDULE_COSINE_RESTARTS) { /* cycles of 1, 2, 4 epochs */
        o->cosine_epochs = 1;
        o->restart_multiplier = 2;
    }
    if (c->optimizer == MB_OPTIMIZER_ADADELTA) { /* PyTorch's defaults (the C ones are RMSprop's) */
        o->rho = 0.9f;
        o->epsilon = 1e-6f;
    }
    o->centered = c->centered;
    o->amsgrad = c->amsgrad;
    /* 0.10.0: PyTorch's coupled weight decay, on the rules that run with a step schedule */
    o->coupled_weight_decay = c->schedule == MB_SCHEDULE_STEP ? 0.01f : 0.0f;
    /* and NAdam's and RAdam's decoupled decay where the schedule is not the step one */
    if ((c->optimizer == MB_OPTIMIZER_NADAM || c->optimizer == MB_OPTIMIZER_RADAM) && c->schedule != MB_SCHEDULE_STEP)
        o->decoupled_weight_decay = 1;
    o->warmup_epochs = c->warmup_epochs;
    o->validation_x = XV;
    o->validation_y = YV;
    o->validation_y_type = MB_TARGETS_CLASS_INDEX;
    o->validation_m = M_VAL;
}

static int64_t n_params(const mb_model *m)
{
    mb_model_info info;
    return mb_model_get_info(m, &info) == MB_OK ? info.n_parameters : 0;
}

typedef mb_status (*history_fn)(const mb_history *, double *, int64_t, int64_t *);

/* Whether two histories' series are bit-identical. */
static int same_series(const mb_history *a, const mb_history *b, history_fn fn)
{
    int64_t na = 0, nb = 0;
    double *pa, *pb;
    int same;
    if (fn(a, NULL, 0, &na) != MB_OK || fn(b, NULL, 0, &nb) != MB_OK || na != nb || na == 0)
        return 0;
    pa = (double *)malloc(sizeof(double) * (size_t)na);
    pb = (double *)malloc(sizeof(double) * (size_t)nb);
    same = pa && pb && fn(a, pa, na, &na) == MB_OK && fn(b, pb, nb, &nb) == MB_OK &&
           memcmp(pa, pb, sizeof(double) * (size_t)na) == 0;
    free(pa);
    free(pb);
    return same;
}

static void check_resume(const config *c)
{
    const int64_t n = 3, m = 4;
    char path[] = "/tmp/mb_resume_XXXXXX";
    mb_model *whole = new_model(), *first = new_model(), *resumed = NULL;
    mb_history *h_whole = NULL, *h_parts = NULL;
    mb_train_options o;
    float *pw = NULL, *pr = NULL;
    int64_t np;
    int fd = mkstemp(path);
    check_current_test_ = c->name;
    if (!CHECK(whole && first && fd >= 0))
        goto done;
    close(fd);
    mb_history_create(&h_whole);
    mb_history_create(&h_parts);
    options_for(c, &o, n + m);
    CHECK_STATUS(mb_train(whole, X, Y, MB_TARGETS_CLASS_INDEX, M_ROWS, N_IN, &o, h_whole), MB_OK);
    options_for(c, &o, n);
    CHECK_STATUS(mb_train(first, X, Y, MB_TARGETS_CLASS_INDEX, M_ROWS, N_IN, &o, h_parts), MB_OK);
    CHECK_STATUS(mb_model_save(first, path), MB_OK);
    mb_model_free(first);
    first = NULL;
    CHECK_STATUS(mb_model_load(path, &resumed), MB_OK);
    if (!CHECK(resumed != NULL))
        goto done;
    options_for(c, &o, m);
    CHECK_STATUS(mb_train(resumed, X, Y, MB_TARGETS_CLASS_INDEX, M_ROWS, N_IN, &o, h_parts), MB_OK);
    np = n_params(whole);
    pw = (float *)malloc(sizeof(float) * (size_t)np);
    pr = (float *)malloc(sizeof(float) * (size_t)np);
    if (CHECK(pw && pr)) {
        CHECK_STATUS(mb_model_get_parameters(whole, pw, np), MB_OK);
        CHECK_STATUS(mb_model_get_parameters(resumed, pr, np), MB_OK);
        if (!CHECK(memcmp(pw, pr, sizeof(float) * (size_t)np) == 0))
            printf("    %s: weights differ after resume (w[0] %.9g vs %.9g)\n", c->name, pw[0], pr[0]);
    }
    CHECK(same_series(h_whole, h_parts, mb_history_batch_costs));
    CHECK(same_series(h_whole, h_parts, mb_history_epoch_costs));
    CHECK(same_series(h_whole, h_parts, mb_history_validation_costs));
    CHECK(same_series(h_whole, h_parts, mb_history_validation_scores));
    CHECK(same_series(h_whole, h_parts, mb_history_learning_rates));
    if (c->schedule == MB_SCHEDULE_PLATEAU) { /* the schedule reduced the rate in both parts */
        double rates[7];
        int64_t count = 0;
        if (CHECK_STATUS(mb_history_learning_rates(h_whole, rates, 7, &count), MB_OK) && CHECK(count == 7)) {
            if (!CHECK(rates[0] > rates[n - 1] && rates[n] > rates[n + m - 1]))
                printf("    %s: rates %g %g %g %g %g %g %g\n", c->name, rates[0], rates[1], rates[2], rates[3],
                       rates[4], rates[5], rates[6]);
        }
    }
done:
    unlink(path);
    free(pw);
    free(pr);
    mb_model_free(whole);
    mb_model_free(first);
    mb_model_free(resumed);
    mb_history_free(h_whole);
    mb_history_free(h_parts);
}

static void test_resume_is_exact_for_every_rule_and_schedule(void)
{
    static const config configs[] = {
        {"sgd", MB_OPTIMIZER_SGD, 0, 0, MB_SCHEDULE_CONSTANT, 0.1f, MB_MONITOR_COST, 0, 0, 0},
        {"momentum+step", MB_OPTIMIZER_SGD, 0.9f, 0, MB_SCHEDULE_STEP, 0.05f, MB_MONITOR_COST, 0, 0, 0},
        {"nesterov+exponential", MB_OPTIMIZER_SGD, 0.9f, 1, MB_SCHEDULE_EXPONENTIAL, 0.05f, MB_MONITOR_COST, 0, 0, 0},
        {"rmsprop+inverse-time", MB_OPTIMIZER_RMSPROP, 0, 0, MB_SCHEDULE_INVERSE_TIME, 0.05f, MB_MONITOR_COST, 0, 0, 0},
        {"adam+cosine", MB_OPTIMIZER_ADAM, 0, 0, MB_SCHEDULE_COSINE, 0.01f, MB_MONITOR_COST, 0, 0, 0},
        {"adamw+adaptive", MB_OPTIMIZER_ADAMW, 0, 0, MB_SCHEDULE_ADAPTIVE, 0.01f, MB_MONITOR_COST, 0, 0, 0},
        {"adagrad+step", MB_OPTIMIZER_ADAGRAD, 0, 0, MB_SCHEDULE_STEP, 0.05f, MB_MONITOR_COST, 0, 0, 0},
        {"adamax+cosine", MB_OPTIMIZER_ADAMAX, 0, 0, MB_SCHEDULE_COSINE, 0.01f, MB_MONITOR_COST, 0, 0, 0},
        /* 0.6.0's AMSGrad and warm-up (the warm-up crosses the resume: epochs 0..5 of 3 + 4),
           0.7.0's rules and RMSprop's forms */
        {"amsgrad+exponential", MB_OPTIMIZER_ADAMW, 0, 0, MB_SCHEDULE_EXPONENTIAL, 0.01f, MB_MONITOR_COST, 0, 1, 0},
        {"adam+cosine, warm-up", MB_OPTIMIZER_ADAM, 0, 0, MB_SCHEDULE_COSINE, 0.01f, MB_MONITOR_COST, 0, 0, 5},
        {"nadam+step", MB_OPTIMIZER_NADAM, 0, 0, MB_SCHEDULE_STEP, 0.01f, MB_MONITOR_COST, 0, 0, 0},
        {"radam+cosine", MB_OPTIMIZER_RADAM, 0, 0, MB_SCHEDULE_COSINE, 0.01f, MB_MONITOR_COST, 0, 0, 0},
        {"nadam+multi-step", MB_OPTIMIZER_NADAM, 0, 0, MB_SCHEDULE_MULTI_STEP, 0.01f, MB_MONITOR_COST, 0, 0, 0},
        {"radam+cosine restarts", MB_OPTIMIZER_RADAM, 0, 0, MB_SCHEDULE_COSINE_RESTARTS, 0.01f, MB_MONITOR_COST, 0, 0, 0},
        {"rmsprop centred, momentum", MB_OPTIMIZER_RMSPROP, 0.5f, 0, MB_SCHEDULE_CONSTANT, 0.005f, MB_MONITOR_COST, 1, 0,
         0},
        {"rmsprop centred+exponential, warm-up", MB_OPTIMIZER_RMSPROP, 0, 0, MB_SCHEDULE_EXPONENTIAL, 0.005f,
         MB_MONITOR_COST, 1, 0, 3},
        /* 0.9.0's one-cycle with 0.10.0's momentum cycle: plain SGD gets a momentum buffer */
        {"sgd+one-cycle, cycled momentum", MB_OPTIMIZER_SGD, 0, 0, MB_SCHEDULE_ONE_CYCLE, 0.05f, MB_MONITOR_COST, 0, 0,
         0},
        {"adam+one-cycle, cycled beta1, three linear phases", MB_OPTIMIZER_ADAM, 0, 0, MB_SCHEDULE_ONE_CYCLE, 0.01f, MB_MONITOR_COST, 0, 0, 0},
        /* early stopping's state on the validation score (the file's "STPS" section) */
        {"sgd, validation score", MB_OPTIMIZER_SGD, 0, 0, MB_SCHEDULE_CONSTANT, 0.1f,
         MB_MONITOR_VALIDATION_SCORE, 0, 0, 0},
        {"adam+adaptive, validation score", MB_OPTIMIZER_ADAM, 0, 0, MB_SCHEDULE_ADAPTIVE, 0.01f,
         MB_MONITOR_VALIDATION_SCORE, 0, 0, 0},
        /* 0.11.0's plateau schedule (the file's "PLAT" section), on the cost and on the score */
        {"momentum+plateau", MB_OPTIMIZER_SGD, 0.9f, 0, MB_SCHEDULE_PLATEAU, 0.05f, MB_MONITOR_COST, 0, 0, 0},
        {"adam+plateau, validation score", MB_OPTIMIZER_ADAM, 0, 0, MB_SCHEDULE_PLATEAU, 0.01f,
         MB_MONITOR_VALIDATION_SCORE, 0, 0, 0},
        /* 0.11.0's Adadelta (PyTorch's rate, rho and epsilon) */
        {"adadelta+exponential", MB_OPTIMIZER_ADADELTA, 0, 0, MB_SCHEDULE_EXPONENTIAL, 1.0f, MB_MONITOR_COST, 0, 0, 0},
        /* 0.11.0's cyclic schedule with its momentum cycle (plain SGD gets a momentum buffer) */
        {"sgd+cyclic triangular2, cycled momentum", MB_OPTIMIZER_SGD, 0, 0, MB_SCHEDULE_CYCLIC, 0.05f, MB_MONITOR_COST,
         0, 0, 0},
        {"adam+cyclic exp_range, cycled beta1", MB_OPTIMIZER_ADAM, 0, 0, MB_SCHEDULE_CYCLIC, 0.01f, MB_MONITOR_COST, 0,
         0, 0},
    };
    size_t i;
    for (i = 0; i < sizeof configs / sizeof configs[0]; i++)
        check_resume(&configs[i]);
    check_current_test_ = "test_resume_is_exact_for_every_rule_and_schedule";
}

/* A caller built against an older header passes a smaller struct: the fields past its
 * struct_size take their defaults; a struct_size below the first version is refused. */
static void test_struct_size(void)
{
    mb_model *a = new_model(), *b = new_model();
    mb_train_options o, old;
    float pa[16 * N_IN + 16 + N_OUT * 16 + N_OUT], pb[16 * N_IN + 16 + N_OUT * 16 + N_OUT];
    int64_t np = 16 * N_IN + 16 + N_OUT * 16 + N_OUT;
    if (!CHECK(a && b && n_params(a) == np))
        goto done;
    mb_train_options_init(&o);
    CHECK(o.struct_size == sizeof(mb_train_options));
    o.epochs = 2;
    o.batch_size = 32;
    CHECK_STATUS(mb_train(a, X, Y, MB_TARGETS_CLASS_INDEX, M_ROWS, N_IN, &o, NULL), MB_OK);
    /* An "old" caller: only the fields up to threads; garbage after them is not read. */
    memset(&old, 0xAB, sizeof old);
    memcpy(&old, &o, offsetof(mb_train_options, optimizer));
    old.struct_size = offsetof(mb_train_options, threads) + sizeof(int);
    CHECK_STATUS(mb_train(b, X, Y, MB_TARGETS_CLASS_INDEX, M_ROWS, N_IN, &old, NULL), MB_OK);
    CHECK_STATUS(mb_model_get_parameters(a, pa, np), MB_OK);
    CHECK_STATUS(mb_model_get_parameters(b, pb, np), MB_OK);
    CHECK(memcmp(pa, pb, sizeof pa) == 0);
    /* A 0.4.0 caller: its struct ended with monitor, padded to 8 bytes (dropout, since 0.5.0,
     * starts at that size); garbage in its padding and after it is not read as a dropout
     * rate: the same weights as without dropout (a fresh model each). */
    {
        mb_model *c = new_model(), *d = new_model();
        float pc[16 * N_IN + 16 + N_OUT * 16 + N_OUT], pd[16 * N_IN + 16 + N_OUT * 16 + N_OUT];
        mb_train_options v4;
        CHECK(offsetof(mb_train_options, dropout) % 8 == 0 &&
              offsetof(mb_train_options, dropout) >= offsetof(mb_train_options, monitor) + sizeof(mb_monitor));
        memset(&v4, 0x7F, sizeof v4);
        memcpy(&v4, &o, offsetof(mb_train_options, monitor) + sizeof(mb_monitor));
        v4.struct_size = offsetof(mb_train_options, dropout);
        if (CHECK(c && d)) {
            CHECK_STATUS(mb_train(c, X, Y, MB_TARGETS_CLASS_INDEX, M_ROWS, N_IN, &v4, NULL), MB_OK);
            CHECK_STATUS(mb_train(d, X, Y, MB_TARGETS_CLASS_INDEX, M_ROWS, N_IN, &o, NULL), MB_OK);
            CHECK_STATUS(mb_model_get_parameters(c, pc, np), MB_OK);
            CHECK_STATUS(mb_model_get_parameters(d, pd, np), MB_OK);
            CHECK(memcmp(pc, pd, sizeof pc) == 0);
            /* the same bytes read as far as dropout: a rate of 1.4e306, refused */
            v4.struct_size = offsetof(mb_train_options, dropout) + sizeof(double);
            CHECK_ERR_ARG(mb_train(c, X, Y, MB_TARGETS_CLASS_INDEX, M_ROWS, N_IN, &v4, NULL),
                          MB_ERR_INVALID_ARGUMENT, "dropout");
        }
        mb_model_free(c);
        mb_model_free(d);
    }
    /* A 0.5.0 caller of Adam: its struct ends with label_smoothing; garbage after it is not
     * read as amsgrad (the same weights as plain Adam), and amsgrad set trains otherwise. */
    {
        mb_model *c = new_model(), *d = new_model(), *e = new_model();
        float pc[16 * N_IN + 16 + N_OUT * 16 + N_OUT], pd[16 * N_IN + 16 + N_OUT * 16 + N_OUT];
        float pe[16 * N_IN + 16 + N_OUT * 16 + N_OUT];
        mb_train_options adam = o, v5;
        adam.optimizer = MB_OPTIMIZER_ADAM;
        adam.beta2 = 0.9f; /* v falls below its running maximum within the run */
        memset(&v5, 0x7F, sizeof v5);
        memcpy(&v5, &adam, offsetof(mb_train_options, amsgrad));
        v5.struct_size = offsetof(mb_train_options, amsgrad);
        CHECK(offsetof(mb_train_options, amsgrad) ==
              offsetof(mb_train_options, label_smoothing) + sizeof(double));
        if (CHECK(c && d && e)) {
            CHECK_STATUS(mb_train(c, X, Y, MB_TARGETS_CLASS_INDEX, M_ROWS, N_IN, &v5, NULL), MB_OK);
            CHECK_STATUS(mb_train(d, X, Y, MB_TARGETS_CLASS_INDEX, M_ROWS, N_IN, &adam, NULL), MB_OK);
            adam.amsgrad = 1;
            CHECK_STATUS(mb_train(e, X, Y, MB_TARGETS_CLASS_INDEX, M_ROWS, N_IN, &adam, NULL), MB_OK);
            CHECK_STATUS(mb_model_get_parameters(c, pc, np), MB_OK);
            CHECK_STATUS(mb_model_get_parameters(d, pd, np), MB_OK);
            CHECK_STATUS(mb_model_get_parameters(e, pe, np), MB_OK);
            CHECK(memcmp(pc, pd, sizeof pc) == 0);
            CHECK(memcmp(pe, pd, sizeof pe) != 0);
        }
        mb_model_free(c);
        mb_model_free(d);
        mb_model_free(e);
    }
    /* Callers of the fields added one by one in 0.6.0 after amsgrad (the warm-up,
     * clip_value, Adagrad's lr_decay and initial_accumulator_value; amsgrad's cut is the
     * block above) and in 0.7.0 (NAdam's momentum_decay, RMSprop's centered, multi-step's
     * milestones and their count, the restarts' multiplier, validation_sample_weight) and in
     * 0.9.0 (schedule_per_batch, one-cycle's pct_start, div_factor and final_div_factor) and
     * 0.10.0 (cycle_momentum, base_momentum, max_momentum, three_phase, anneal_strategy,
     * coupled_weight_decay, decoupled_weight_decay) and 0.11.0 (the plateau schedule's
     * plateau_patience, plateau_threshold, plateau_threshold_mode, plateau_cooldown,
     * plateau_eps; the cyclic schedule's cyclic_mode, cyclic_step_size_up,
     * cyclic_step_size_down) and 0.12.0 (denormals, reserved; a NaN,
     * -1 and pointers that must not be followed as garbage):
     * 0xFF after their struct_size (a negative warmup_epochs, a NaN start factor or
     * clip_value, all refused if read) leaves the later fields at their defaults: the same
     * weights as the full default struct. Read as far as the field, the garbage is refused. */
    {
        /* (each with a rule that reads the field) */
        static const struct {
            size_t end, next;
            const char *name;
            mb_optimizer optimizer;
            mb_schedule schedule;
        } cuts[] = {
            {offsetof(mb_train_options, warmup_epochs), offsetof(mb_train_options, warmup_start_factor),
             "warmup_epochs", MB_OPTIMIZER_SGD, MB_SCHEDULE_CONSTANT},
            {offsetof(mb_train_options, warmup_start_factor), offsetof(mb_train_options, clip_value),
             "warmup_start_factor", MB_OPTIMIZER_SGD, MB_SCHEDULE_CONSTANT},
            {offsetof(mb_train_options, clip_value), offsetof(mb_train_options, lr_decay), "clip_value",
             MB_OPTIMIZER_SGD, MB_SCHEDULE_CONSTANT},
            {offsetof(mb_train_options, lr_decay), offsetof(mb_train_options, initial_accumulator_value),
             "lr_decay", MB_OPTIMIZER_ADAGRAD, MB_SCHEDULE_CONSTANT},
            {offsetof(mb_train_options, initial_accumulator_value), offsetof(mb_train_options, momentum_decay),
             "initial_accumulator_value", MB_OPTIMIZER_ADAGRAD, MB_SCHEDULE_CONSTANT},
            {offsetof(mb_train_options, momentum_decay), offsetof(mb_train_options, centered), "momentum_decay",
             MB_OPTIMIZER_NADAM, MB_SCHEDULE_CONSTANT},
            {offsetof(mb_train_options, centered), offsetof(mb_train_options, milestones), "centered",
             MB_OPTIMIZER_RMSPROP, MB_SCHEDULE_CONSTANT},
            /* (0xFF...: a pointer with the default count 0, refused before it is read) */
            {offsetof(mb_train_options, milestones), offsetof(mb_train_options, milestone_count), "milestones",
             MB_OPTIMIZER_SGD, MB_SCHEDULE_MULTI_STEP},
            {offsetof(mb_train_options, milestone_count), offsetof(mb_train_options, restart_multiplier),
             "milestone_count", MB_OPTIMIZER_SGD, MB_SCHEDULE_MULTI_STEP},
            {offsetof(mb_train_options, restart_multiplier), offsetof(mb_train_options, validation_sample_weight),
             "restart_multiplier", MB_OPTIMIZER_SGD, MB_SCHEDULE_COSINE_RESTARTS},
            /* (a pointer beside the validation set the options give: not followed, refused) */
            {offsetof(mb_train_options, validation_sample_weight), offsetof(mb_train_options, schedule_per_batch),
             "validation_sample_weight", MB_OPTIMIZER_SGD, MB_SCHEDULE_CONSTANT},
            /* 0.9.0 */
            {offsetof(mb_train_options, schedule_per_batch), offsetof(mb_train_options, pct_start), "schedule_per_batch",
             MB_OPTIMIZER_SGD, MB_SCHEDULE_COSINE_RESTARTS},
            {offsetof(mb_train_options, pct_start), offsetof(mb_train_options, div_factor), "pct_start",
             MB_OPTIMIZER_SGD, MB_SCHEDULE_ONE_CYCLE},
            {offsetof(mb_train_options, div_factor), offsetof(mb_train_options, final_div_factor), "div_factor",
             MB_OPTIMIZER_SGD, MB_SCHEDULE_ONE_CYCLE},
            {offsetof(mb_train_options, final_div_factor), offsetof(mb_train_options, cycle_momentum),
             "final_div_factor", MB_OPTIMIZER_SGD, MB_SCHEDULE_ONE_CYCLE},
            /* 0.10.0 (the cycle's ends with cycle_momentum 1 in the caller's part, below) */
            {offsetof(mb_train_options, cycle_momentum), offsetof(mb_train_options, base_momentum), "cycle_momentum",
             MB_OPTIMIZER_ADAM, MB_SCHEDULE_ONE_CYCLE},
            {offsetof(mb_train_options, base_momentum), offsetof(mb_train_options, max_momentum), "base_momentum",
             MB_OPTIMIZER_ADAM, MB_SCHEDULE_ONE_CYCLE},
            {offsetof(mb_train_options, max_momentum), offsetof(mb_train_options, three_phase), "max_momentum",
             MB_OPTIMIZER_SGD, MB_SCHEDULE_ONE_CYCLE},
            {offsetof(mb_train_options, three_phase), offsetof(mb_train_options, anneal_strategy), "three_phase",
             MB_OPTIMIZER_SGD, MB_SCHEDULE_ONE_CYCLE},
            {offsetof(mb_train_options, anneal_strategy), offsetof(mb_train_options, coupled_weight_decay),
             "anneal_strategy", MB_OPTIMIZER_ADAM, MB_SCHEDULE_ONE_CYCLE},
            {offsetof(mb_train_options, coupled_weight_decay), offsetof(mb_train_options, decoupled_weight_decay),
             "coupled_weight_decay", MB_OPTIMIZER_SGD, MB_SCHEDULE_CONSTANT},
            {offsetof(mb_train_options, decoupled_weight_decay), offsetof(mb_train_options, plateau_patience),
             "decoupled_weight_decay", MB_OPTIMIZER_NADAM, MB_SCHEDULE_CONSTANT},
            /* 0.11.0 */
            {offsetof(mb_train_options, plateau_patience), offsetof(mb_train_options, plateau_threshold),
             "plateau_patience", MB_OPTIMIZER_SGD, MB_SCHEDULE_PLATEAU},
            {offsetof(mb_train_options, plateau_threshold), offsetof(mb_train_options, plateau_threshold_mode),
             "plateau_threshold", MB_OPTIMIZER_SGD, MB_SCHEDULE_PLATEAU},
            {offsetof(mb_train_options, plateau_threshold_mode), offsetof(mb_train_options, plateau_cooldown),
             "plateau_threshold_mode", MB_OPTIMIZER_SGD, MB_SCHEDULE_PLATEAU},
            {offsetof(mb_train_options, plateau_cooldown), offsetof(mb_train_options, plateau_eps),
             "plateau_cooldown", MB_OPTIMIZER_SGD, MB_SCHEDULE_PLATEAU},
            {offsetof(mb_train_options, plateau_eps), offsetof(mb_train_options, cyclic_mode), "plateau_eps",
             MB_OPTIMIZER_SGD, MB_SCHEDULE_PLATEAU},
            {offsetof(mb_train_options, cyclic_mode), offsetof(mb_train_options, cyclic_step_size_up), "cyclic_mode",
             MB_OPTIMIZER_SGD, MB_SCHEDULE_CYCLIC},
            {offsetof(mb_train_options, cyclic_step_size_up), offsetof(mb_train_options, cyclic_step_size_down),
             "cyclic_step_size_up", MB_OPTIMIZER_SGD, MB_SCHEDULE_CYCLIC},
            /* (no cut for cyclic_step_size_down: 0xFF... is -1, its default) */
            {offsetof(mb_train_options, denormals), offsetof(mb_train_options, reserved), "denormals",
             MB_OPTIMIZER_SGD, MB_SCHEDULE_CONSTANT},
            {offsetof(mb_train_options, reserved), sizeof(mb_train_options), "reserved", MB_OPTIMIZER_SGD,
             MB_SCHEDULE_CONSTANT},
        };
        size_t k;
        for (k = 0; k < sizeof cuts / sizeof cuts[0]; k++) {
            mb_model *c = new_model(), *d = new_model();
            float pc[16 * N_IN + 16 + N_OUT * 16 + N_OUT], pd[16 * N_IN + 16 + N_OUT * 16 + N_OUT];
            mb_train_options cut, full = o;
            full.optimizer = cuts[k].optimizer;
            full.schedule = cuts[k].schedule;
            if (full.schedule == MB_SCHEDULE_COSINE_RESTARTS)
                full.cosine_epochs = 1;
            if (cuts[k].end > offsetof(mb_train_options, cycle_momentum))
                full.cycle_momentum = 1;
            memset(&cut, 0xFF, sizeof cut);
            memcpy(&cut, &full, cuts[k].end);
            cut.struct_size = cuts[k].end;
            if (CHECK(c && d)) {
                CHECK_STATUS(mb_train(c, X, Y, MB_TARGETS_CLASS_INDEX, M_ROWS, N_IN, &cut, NULL), MB_OK);
                CHECK_STATUS(mb_train(d, X, Y, MB_TARGETS_CLASS_INDEX, M_ROWS, N_IN, &full, NULL), MB_OK);
                CHECK_STATUS(mb_model_get_parameters(c, pc, np), MB_OK);
                CHECK_STATUS(mb_model_get_parameters(d, pd, np), MB_OK);
                CHECK(memcmp(pc, pd, sizeof pc) == 0);
                cut.struct_size = cuts[k].next;
                CHECK_ERR_ARG(mb_train(c, X, Y, MB_TARGETS_CLASS_INDEX, M_ROWS, N_IN, &cut, NULL),
                              MB_ERR_INVALID_ARGUMENT, cuts[k].name);
            }
            mb_model_free(c);
            mb_model_free(d);
        }
    }
    /* RMSprop ignored momentum before 0.7.0: a 0.6.0 caller's struct (struct_size ending at
     * momentum_decay) with momentum 0.9 still trains plain RMSprop; a 0.7.0 caller's gets
     * RMSprop with momentum. */
    {
        mb_model *c = new_model(), *d = new_model(), *e = new_model();
        float pc[16 * N_IN + 16 + N_OUT * 16 + N_OUT], pd[16 * N_IN + 16 + N_OUT * 16 + N_OUT],
            pe[16 * N_IN + 16 + N_OUT * 16 + N_OUT];
        mb_train_options older = o, plain = o, now = o;
        older.optimizer = plain.optimizer = now.optimizer = MB_OPTIMIZER_RMSPROP;
        older.momentum = now.momentum = 0.9f;
        older.struct_size = offsetof(mb_train_options, momentum_decay);
        if (CHECK(c && d && e)) {
            CHECK_STATUS(mb_train(c, X, Y, MB_TARGETS_CLASS_INDEX, M_ROWS, N_IN, &older, NULL), MB_OK);
            CHECK_STATUS(mb_train(d, X, Y, MB_TARGETS_CLASS_INDEX, M_ROWS, N_IN, &plain, NULL), MB_OK);
            CHECK_STATUS(mb_train(e, X, Y, MB_TARGETS_CLASS_INDEX, M_ROWS, N_IN, &now, NULL), MB_OK);
            CHECK_STATUS(mb_model_get_parameters(c, pc, np), MB_OK);
            CHECK_STATUS(mb_model_get_parameters(d, pd, np), MB_OK);
            CHECK_STATUS(mb_model_get_parameters(e, pe, np), MB_OK);
            CHECK(memcmp(pc, pd, sizeof pc) == 0);
            CHECK(memcmp(pe, pd, sizeof pe) != 0);
        }
        mb_model_free(c);
        mb_model_free(d);
        mb_model_free(e);
    }
    /* A struct_size that ends inside a pointer (0.10.0; found by fuzzing: the pointer was
     * the caller's first byte and the default's seven zeros, 0x18, which training retained)
     * is refused, for every pointer of the struct, from its second byte to its eighth. */
    {
        static const size_t pointers[] = {
            offsetof(mb_train_options, progress), offsetof(mb_train_options, user_data),
            offsetof(mb_train_options, validation_x), offsetof(mb_train_options, validation_y),
            offsetof(mb_train_options, sample_weight), offsetof(mb_train_options, validation_dataset),
            offsetof(mb_train_options, communicator), offsetof(mb_train_options, interrupt),
            offsetof(mb_train_options, class_weight), offsetof(mb_train_options, milestones),
            offsetof(mb_train_options, validation_sample_weight),
        };
        size_t k, cut;
        mb_train_options torn = o;
        torn.validation_dataset = (const struct mb_dataset *)(uintptr_t)0x7f0000001018u; /* (never read) */
        torn.interrupt = (mb_interrupt *)(uintptr_t)0x7f0000002018u;
        for (k = 0; k < sizeof pointers / sizeof pointers[0]; k++) {
            if (pointers[k] < offsetof(mb_train_options, threads) + sizeof(int))
                continue; /* (inside the first version's fields: below the least struct_size) */
            for (cut = 1; cut < sizeof(void *); cut++) {
                torn.struct_size = pointers[k] + cut;
                CHECK_ERR_ARG(mb_train(b, X, Y, MB_TARGETS_CLASS_INDEX, M_ROWS, N_IN, &torn, NULL),
                              MB_ERR_INVALID_ARGUMENT, "ends inside the pointer");
            }
        }
    }
    old.struct_size = 8;
    CHECK_ERR_ARG(mb_train(b, X, Y, MB_TARGETS_CLASS_INDEX, M_ROWS, N_IN, &old, NULL),
                  MB_ERR_INVALID_ARGUMENT, "struct_size");
    o.struct_size = 0;
    CHECK_ERR_ARG(mb_train(b, X, Y, MB_TARGETS_CLASS_INDEX, M_ROWS, N_IN, &o, NULL),
                  MB_ERR_INVALID_ARGUMENT, "struct_size");
done:
    mb_model_free(a);
    mb_model_free(b);
}

/* The rule's state stays with the model: two calls of Adam equal one; after
 * mb_model_reset_training_state, the second call starts Adam afresh (and differs). */
static void test_state_carries_over_and_resets(void)
{
    mb_model *one = new_model(), *two = new_model(), *reset = new_model();
    mb_train_options o;
    int64_t np = 16 * N_IN + 16 + N_OUT * 16 + N_OUT;
    float p1[16 * N_IN + 16 + N_OUT * 16 + N_OUT], p2[16 * N_IN + 16 + N_OUT * 16 + N_OUT],
        p3[16 * N_IN + 16 + N_OUT * 16 + N_OUT];
    if (!CHECK(one && two && reset))
        goto done;
    mb_train_options_init(&o);
    o.optimizer = MB_OPTIMIZER_ADAM;
    o.batch_size = 32;
    o.epochs = 4;
    CHECK_STATUS(mb_train(one, X, Y, MB_TARGETS_CLASS_INDEX, M_ROWS, N_IN, &o, NULL), MB_OK);
    o.epochs = 2;
    CHECK_STATUS(mb_train(two, X, Y, MB_TARGETS_CLASS_INDEX, M_ROWS, N_IN, &o, NULL), MB_OK);
    CHECK_STATUS(mb_train(two, X, Y, MB_TARGETS_CLASS_INDEX, M_ROWS, N_IN, &o, NULL), MB_OK);
    CHECK_STATUS(mb_train(reset, X, Y, MB_TARGETS_CLASS_INDEX, M_ROWS, N_IN, &o, NULL), MB_OK);
    CHECK_STATUS(mb_model_reset_training_state(reset), MB_OK);
    CHECK_STATUS(mb_train(reset, X, Y, MB_TARGETS_CLASS_INDEX, M_ROWS, N_IN, &o, NULL), MB_OK);
    CHECK_STATUS(mb_model_get_parameters(one, p1, np), MB_OK);
    CHECK_STATUS(mb_model_get_parameters(two, p2, np), MB_OK);
    CHECK_STATUS(mb_model_get_parameters(reset, p3, np), MB_OK);
    CHECK(memcmp(p1, p2, sizeof p1) == 0);
    CHECK(memcmp(p1, p3, sizeof p1) != 0);
    /* No early stopping with a validation set: no best weights to restore. */
    CHECK_ERR_ARG(mb_model_restore_best_weights(one, NULL), MB_ERR_INVALID_ARGUMENT, "best weights");
done:
    mb_model_free(one);
    mb_model_free(two);
    mb_model_free(reset);
}

/* validation_fraction: a held-out split evaluated every epoch; refused beside an explicit
 * validation set, outside [0, 1), or leaving no rows to train on. */
static void test_validation_fraction(void)
{
    mb_model *model = new_model();
    mb_history *history = NULL;
    mb_train_options o;
    double costs[4];
    int64_t count = 0;
    if (!CHECK(model != NULL))
        return;
    mb_history_create(&history);
    mb_train_options_init(&o);
    o.epochs = 2;
    o.batch_size = 32;
    o.validation_fraction = 0.25;
    CHECK_STATUS(mb_train(model, X, Y, MB_TARGETS_CLASS_INDEX, M_ROWS, N_IN, &o, history), MB_OK);
    CHECK_STATUS(mb_history_validation_costs(history, costs, 4, &count), MB_OK);
    CHECK(count == 2 && costs[0] == costs[0] && costs[1] == costs[1]); /* not NaN */
    {
        /* With early stopping, the best epoch's weights are kept and can be restored. */
        int64_t best = 0;
        double cost, accuracy;
        o.patience = 100;
        o.epochs = 3;
        CHECK_STATUS(mb_history_clear(history), MB_OK);
        CHECK_STATUS(mb_train(model, X, Y, MB_TARGETS_CLASS_INDEX, M_ROWS, N_IN, &o, history), MB_OK);
        CHECK_STATUS(mb_history_validation_costs(history, costs, 4, &count), MB_OK);
        CHECK_STATUS(mb_model_restore_best_weights(model, &best), MB_OK);
        /* epochs over the model's life: 2 before (whose weights were not kept: the count
         * starts afresh when early stopping starts keeping them), 3 now */
        CHECK(best >= 3 && best <= 5);
        (void)cost;
        (void)accuracy;
        o.patience = 0;
        o.epochs = 2;
    }
    o.validation_x = XV;
    o.validation_y = YV;
    o.validation_y_type = MB_TARGETS_CLASS_INDEX;
    o.validation_m = M_VAL;
    CHECK_ERR_ARG(mb_train(model, X, Y, MB_TARGETS_CLASS_INDEX, M_ROWS, N_IN, &o, NULL),
                  MB_ERR_INVALID_ARGUMENT, "validation_fraction");
    o.validation_x = NULL;
    o.validation_y = NULL;
    o.validation_m = 0;
    o.validation_fraction = 1.0;
    CHECK_ERR_ARG(mb_train(model, X, Y, MB_TARGETS_CLASS_INDEX, M_ROWS, N_IN, &o, NULL),
                  MB_ERR_INVALID_ARGUMENT, "validation_fraction");
    o.validation_fraction = -0.5;
    CHECK_ERR_ARG(mb_train(model, X, Y, MB_TARGETS_CLASS_INDEX, M_ROWS, N_IN, &o, NULL),
                  MB_ERR_INVALID_ARGUMENT, "validation_fraction");
    o.validation_fraction = 0.999;
    o.batch_size = MB_BATCH_AUTO;
    CHECK_ERR_ARG(mb_train(model, X, Y, MB_TARGETS_CLASS_INDEX, 3, N_IN, &o, NULL),
                  MB_ERR_INVALID_ARGUMENT, "validation_fraction");
    mb_history_free(history);
    mb_model_free(model);
}

/* sample_weight: a weight of 2 is the row twice, 0 the row left out (one batch of all rows,
 * plain gradient descent: the same objective; float32 sums round differently, so the
 * weights agree to 1e-5); bad weights are refused. */
static void test_sample_weight(void)
{
    enum { R = 40 };
    static float xd[3 * R * N_IN], w[R];
    static int32_t yd[3 * R];
    int64_t rows = 0, i, j, k, np = 16 * N_IN + 16 + N_OUT * 16 + N_OUT;
    float pw[16 * N_IN + 16 + N_OUT * 16 + N_OUT], pd[16 * N_IN + 16 + N_OUT * 16 + N_OUT];
    mb_model *weighted = new_model(), *repeated = new_model();
    mb_train_options o;
    if (!CHECK(weighted && repeated))
        goto done;
    for (i = 0; i < R; i++) {
        w[i] = (float)(i % 3);
        for (k = 0; k < (int64_t)w[i]; k++, rows++) {
            for (j = 0; j < N_IN; j++)
                xd[rows * N_IN + j] = X[i * N_IN + j];
            yd[rows] = Y[i];
        }
    }
    mb_train_options_init(&o);
    o.epochs = 5;
    o.learning_rate = 0.5f;
    o.shuffle = 0;
    o.threads = 1;
    o.batch_size = R;
    o.sample_weight = w;
    CHECK_STATUS(mb_train(weighted, X, Y, MB_TARGETS_CLASS_INDEX, R, N_IN, &o, NULL), MB_OK);
    o.sample_weight = NULL;
    o.batch_size = rows;
    CHECK_STATUS(mb_train(repeated, xd, yd, MB_TARGETS_CLASS_INDEX, rows, N_IN, &o, NULL), MB_OK);
    CHECK_STATUS(mb_model_get_parameters(weighted, pw, np), MB_OK);
    CHECK_STATUS(mb_model_get_parameters(repeated, pd, np), MB_OK);
    {
        int close = 1;
        for (i = 0; i < np; i++)
            close = close && fabsf(pw[i] - pd[i]) <= 1e-5f * (1 + fabsf(pd[i]));
        CHECK(close);
    }
    o.batch_size = R;
    w[3] = -1;
    o.sample_weight = w;
    CHECK_ERR_ARG(mb_train(weighted, X, Y, MB_TARGETS_CLASS_INDEX, R, N_IN, &o, NULL),
                  MB_ERR_INVALID_ARGUMENT, "sample_weight");
    w[3] = NAN;
    CHECK_ERR_ARG(mb_train(weighted, X, Y, MB_TARGETS_CLASS_INDEX, R, N_IN, &o, NULL),
                  MB_ERR_INVALID_ARGUMENT, "sample_weight");
    memset(w, 0, sizeof w);
    CHECK_ERR_ARG(mb_train(weighted, X, Y, MB_TARGETS_CLASS_INDEX, R, N_IN, &o, NULL),
                  MB_ERR_INVALID_ARGUMENT, "sample_weight");
done:
    mb_model_free(weighted);
    mb_model_free(repeated);
}

/* class_weight (since 0.5.0): the rows' weights class_weight[y] times sample_weight, bit
 * for bit the sample weights they stand for (mini-batches of 32, two threads, Adam); bad
 * counts, values and targets are refused, and the model is left as it was. */
static void test_class_weight(void)
{
    static float w[M_ROWS], rows[M_ROWS], yf[M_ROWS * N_OUT];
    const float cw[N_OUT] = {0.5f, 3.0f, 1.25f};
    float bad[N_OUT] = {1.0f, -1.0f, 1.0f};
    int64_t i, np = 16 * N_IN + 16 + N_OUT * 16 + N_OUT;
    float pc[16 * N_IN + 16 + N_OUT * 16 + N_OUT], ps[16 * N_IN + 16 + N_OUT * 16 + N_OUT];
    mb_model *by_class = new_model(), *by_row = new_model();
    mb_train_options o;
    if (!CHECK(by_class && by_row))
        goto done;
    for (i = 0; i < M_ROWS; i++) {
        w[i] = (float)(i % 4) * 0.5f;
        rows[i] = cw[Y[i]] * w[i];
        yf[i * N_OUT + Y[i]] = 1.0f;
    }
    mb_train_options_init(&o);
    o.epochs = 3;
    o.batch_size = 32;
    o.threads = 2;
    o.optimizer = MB_OPTIMIZER_ADAM;
    o.class_weight = cw;
    o.class_weight_count = N_OUT;
    o.sample_weight = w;
    CHECK_STATUS(mb_train(by_class, X, Y, MB_TARGETS_CLASS_INDEX, M_ROWS, N_IN, &o, NULL), MB_OK);
    o.class_weight = NULL;
    o.class_weight_count = 0;
    o.sample_weight = rows;
    CHECK_STATUS(mb_train(by_row, X, Y, MB_TARGETS_CLASS_INDEX, M_ROWS, N_IN, &o, NULL), MB_OK);
    CHECK_STATUS(mb_model_get_parameters(by_class, pc, np), MB_OK);
    CHECK_STATUS(mb_model_get_parameters(by_row, ps, np), MB_OK);
    CHECK(memcmp(pc, ps, sizeof pc) == 0);
    o.sample_weight = NULL;
    o.class_weight = cw;
    o.class_weight_count = N_OUT - 1;
    CHECK_ERR_ARG(mb_train(by_class, X, Y, MB_TARGETS_CLASS_INDEX, M_ROWS, N_IN, &o, NULL),
                  MB_ERR_INVALID_ARGUMENT, "class_weight has 2 entries, but the model has 3 classes");
    /* a count beyond the caller's buffer is refused before the buffer is read (valgrind
     * would see the read) */
    o.class_weight_count = 2147483647;
    CHECK_ERR_ARG(mb_train(by_class, X, Y, MB_TARGETS_CLASS_INDEX, M_ROWS, N_IN, &o, NULL),
                  MB_ERR_INVALID_ARGUMENT, "class_weight has 2147483647 entries, but the model has 3 classes");
    o.class_weight_count = 0;
    CHECK_ERR_ARG(mb_train(by_class, X, Y, MB_TARGETS_CLASS_INDEX, M_ROWS, N_IN, &o, NULL),
                  MB_ERR_INVALID_ARGUMENT, "class_weight_count");
    o.class_weight = bad;
    o.class_weight_count = N_OUT;
    CHECK_ERR_ARG(mb_train(by_class, X, Y, MB_TARGETS_CLASS_INDEX, M_ROWS, N_IN, &o, NULL),
                  MB_ERR_INVALID_ARGUMENT, "class_weight[1] must be finite and >= 0");
    o.class_weight = cw;
    CHECK_ERR_ARG(mb_train(by_class, X, yf, MB_TARGETS_FLOAT32, M_ROWS, N_IN, &o, NULL),
                  MB_ERR_INVALID_ARGUMENT, "class-index targets");
    CHECK_STATUS(mb_model_get_parameters(by_class, ps, np), MB_OK);
    CHECK(memcmp(pc, ps, sizeof pc) == 0);
done:
    mb_model_free(by_class);
    mb_model_free(by_row);
}

/* The validation score as the monitored value (since 0.4.0): training stops where the
 * header's rule, replayed on the history's scores, stops (an epoch improves when its score
 * is above the best so far plus min_delta), and ends with the weights of the first epoch of
 * the highest score. Without a validation set it is refused, and a bad value too. */
static void test_monitor_validation_score(void)
{
    mb_model *model = new_model();
    mb_history *h = NULL;
    mb_train_options o;
    double scores[400], costs[400], best = -1, cost = 0, accuracy = 0;
    int64_t n = 0, i, count = 0, stop = -1, best_epoch = -1, restored = 0, np;
    float before[16 * N_IN + 16 + N_OUT * 16 + N_OUT], after[16 * N_IN + 16 + N_OUT * 16 + N_OUT];
    if (!CHECK(model != NULL) || !CHECK(mb_history_create(&h) == MB_OK))
        goto done;
    np = n_params(model);
    mb_train_options_init(&o);
    CHECK(o.monitor == MB_MONITOR_COST);
    o.epochs = 400;
    o.batch_size = 16;
    o.learning_rate = 0.2f;
    o.seed = 2;
    o.patience = 4;
    o.min_delta = 0.01;
    o.monitor = MB_MONITOR_VALIDATION_SCORE;
    o.validation_x = XV;
    o.validation_y = YV;
    o.validation_y_type = MB_TARGETS_CLASS_INDEX;
    o.validation_m = M_VAL;
    CHECK_STATUS(mb_train(model, X, Y, MB_TARGETS_CLASS_INDEX, M_ROWS, N_IN, &o, h), MB_OK);
    CHECK_STATUS(mb_history_validation_scores(h, scores, 400, &n), MB_OK);
    CHECK_STATUS(mb_history_validation_costs(h, costs, 400, &n), MB_OK);
    for (i = 0; i < n; i++) {
        count = scores[i] > best + o.min_delta ? 0 : count + 1;
        if (scores[i] > best) {
            best = scores[i];
            best_epoch = i;
        }
        if (count >= o.patience) {
            stop = i;
            break;
        }
    }
    if (!CHECK(n < 400 && stop == n - 1))
        printf("    stopped after %lld epochs, the rule at %lld\n", (long long)n, (long long)stop + 1);
    CHECK_STATUS(mb_evaluate(model, XV, YV, MB_TARGETS_CLASS_INDEX, M_VAL, N_IN, &cost, &accuracy), MB_OK);
    CHECK(accuracy == best && cost == costs[best_epoch]);
    CHECK_STATUS(mb_model_restore_best_weights(model, &restored), MB_OK);
    CHECK(restored == best_epoch + 1);
    /* refused: no validation set, a value the enum does not have; the model unchanged */
    CHECK_STATUS(mb_model_get_parameters(model, before, np), MB_OK);
    o.validation_x = NULL;
    o.validation_y = NULL;
    o.validation_m = 0;
    CHECK_ERR_ARG(mb_train(model, X, Y, MB_TARGETS_CLASS_INDEX, M_ROWS, N_IN, &o, NULL),
                  MB_ERR_INVALID_ARGUMENT, "MB_MONITOR_VALIDATION_SCORE needs a validation set");
    o.validation_fraction = 0.25; /* a held-out part of X is one */
    o.epochs = 1;
    CHECK_STATUS(mb_model_reset_training_state(model), MB_OK);
    CHECK_STATUS(mb_train(model, X, Y, MB_TARGETS_CLASS_INDEX, M_ROWS, N_IN, &o, NULL), MB_OK);
    CHECK_STATUS(mb_model_set_parameters(model, before, np), MB_OK);
    o.monitor = (mb_monitor)2;
    CHECK_ERR_ARG(mb_train(model, X, Y, MB_TARGETS_CLASS_INDEX, M_ROWS, N_IN, &o, NULL),
                  MB_ERR_INVALID_ARGUMENT, "monitor");
    CHECK_STATUS(mb_model_get_parameters(model, after, np), MB_OK);
    CHECK(memcmp(before, after, sizeof before) == 0);
done:
    mb_model_free(model);
    mb_history_free(h);
}

/* gamma 0 is the schedule's default factor: 0.1 for the plateau schedule, 1 for the cyclic
 * one (0.11.0): the same rates and weights as those values given. */
static void test_zero_gamma_is_the_default(void)
{
    static const struct {
        mb_schedule schedule;
        double value;
    } cases[] = {{MB_SCHEDULE_PLATEAU, 0.1}, {MB_SCHEDULE_CYCLIC, 1.0}};
    size_t k;
    for (k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        mb_model *a = new_model(), *b = new_model();
        mb_history *ha = NULL, *hb = NULL;
        mb_train_options o;
        float pa[16 * N_IN + 16 + N_OUT * 16 + N_OUT], pb[16 * N_IN + 16 + N_OUT * 16 + N_OUT];
        int64_t np = 16 * N_IN + 16 + N_OUT * 16 + N_OUT;
        mb_history_create(&ha);
        mb_history_create(&hb);
        mb_train_options_init(&o);
        o.epochs = 6;
        o.batch_size = 16;
        o.learning_rate = 0.2f;
        o.schedule = cases[k].schedule;
        o.plateau_patience = 0;
        o.plateau_threshold = 0.5; /* (a reduction after every epoch) */
        o.min_learning_rate = 0.01;
        o.cyclic_step_size_up = 2;
        o.cyclic_mode = MB_CYCLIC_EXP_RANGE;
        if (CHECK(a && b && ha && hb)) {
            o.gamma = 0;
            CHECK_STATUS(mb_train(a, X, Y, MB_TARGETS_CLASS_INDEX, M_ROWS, N_IN, &o, ha), MB_OK);
            o.gamma = cases[k].value;
            CHECK_STATUS(mb_train(b, X, Y, MB_TARGETS_CLASS_INDEX, M_ROWS, N_IN, &o, hb), MB_OK);
            CHECK_STATUS(mb_model_get_parameters(a, pa, np), MB_OK);
            CHECK_STATUS(mb_model_get_parameters(b, pb, np), MB_OK);
            CHECK(memcmp(pa, pb, sizeof pa) == 0);
            CHECK(same_series(ha, hb, mb_history_learning_rates));
        }
        mb_model_free(a);
        mb_model_free(b);
        mb_history_free(ha);
        mb_history_free(hb);
    }
}

int main(void)
{
    make_data();
    RUN_TEST(test_resume_is_exact_for_every_rule_and_schedule);
    RUN_TEST(test_struct_size);
    RUN_TEST(test_state_carries_over_and_resets);
    RUN_TEST(test_validation_fraction);
    RUN_TEST(test_sample_weight);
    RUN_TEST(test_class_weight);
    RUN_TEST(test_monitor_validation_score);
    RUN_TEST(test_zero_gamma_is_the_default);
    return check_summary();
}
