/*
 * test_model.c - model options, create, info, layers, parameters, initialisation,
 * predict, predict_classes, evaluate and gradient, against a double-precision reference
 * network (ref.h) and central finite differences.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ref.h"

static void test_model_options_defaults(void)
{
    mb_model_options o;
    memset(&o, 0x5A, sizeof o);
    mb_model_options_init(&o);
    CHECK(o.hidden_activation == MB_ACTIVATION_RELU);
    CHECK(o.activations == NULL);
    CHECK(o.loss == MB_LOSS_CROSS_ENTROPY);
    CHECK(o.init == MB_INIT_AUTO);
    CHECK(o.seed == 0);
}

static void test_create_null_options_equals_defaults(void)
{
    int64_t sizes[] = {4, 6, 3};
    mb_model_options o;
    mb_model *a = NULL, *b = NULL;
    mb_model_info ia, ib;
    mb_layer_info la;
    mb_model_options_init(&o);
    CHECK_STATUS(mb_model_create(sizes, 3, NULL, &a), MB_OK);
    CHECK_STATUS(mb_model_create(sizes, 3, &o, &b), MB_OK);
    if (!CHECK(a && b))
        goto done;
    CHECK(models_equal(a, b));
    CHECK_STATUS(mb_model_get_info(a, &ia), MB_OK);
    CHECK_STATUS(mb_model_get_info(b, &ib), MB_OK);
    CHECK(ia.loss == MB_LOSS_CROSS_ENTROPY && ib.loss == MB_LOSS_CROSS_ENTROPY);
    CHECK(ia.n_parameters == ib.n_parameters && ia.epochs_trained == 0);
    CHECK_STATUS(mb_model_layer(a, 0, &la), MB_OK);
    CHECK(la.activation == MB_ACTIVATION_RELU);
done:
    mb_model_free(a);
    mb_model_free(b);
}

static void check_layers(const mb_model *model, const ref_net *net)
{
    int64_t l;
    mb_model_info info;
    CHECK_STATUS(mb_model_get_info(model, &info), MB_OK);
    CHECK(info.n_layers == net->n_layers);
    CHECK(info.n_inputs == net->sizes[0]);
    CHECK(info.n_outputs == net->sizes[net->n_layers - 1]);
    CHECK(info.n_parameters == ref_n_params(net));
    CHECK(info.epochs_trained == 0);
    CHECK(info.loss == net->loss);
    for (l = 0; l + 1 < net->n_layers; l++) {
        mb_layer_info li;
        mb_activation want;
        memset(&li, 0x77, sizeof li);
        CHECK_STATUS(mb_model_layer(model, l, &li), MB_OK);
        CHECK(li.n_in == net->sizes[l]);
        CHECK(li.n_out == net->sizes[l + 1]);
        CHECK(li.weight_offset == ref_w_offset(net, l));
        CHECK(li.bias_offset == ref_b_offset(net, l));
        if (l + 2 < net->n_layers)
            want = net->hidden[l];
        else
            want = net->loss == MB_LOSS_BINARY_CROSS_ENTROPY ? MB_ACTIVATION_SIGMOID
                                                            : MB_ACTIVATION_LINEAR;
        if (!CHECK(li.activation == want))
            printf("    layer %lld: activation %d, expected %d\n", (long long)l,
                   (int)li.activation, (int)want);
    }
}

static void test_create_info_and_layers(void)
{
    static const int64_t s1[] = {3, 5, 4, 2};
    static const int64_t s2[] = {7, 1};
    static const int64_t s3[] = {2, 9, 1};
    static const int64_t s4[] = {1, 1};
    static const int64_t s5[] = {6, 3, 3, 3, 4};
    struct {
        const int64_t *s;
        int64_t n;
        mb_activation h;
        mb_loss loss;
    } cases[] = {
        {s1, 4, MB_ACTIVATION_TANH, MB_LOSS_CROSS_ENTROPY},
        {s1, 4, MB_ACTIVATION_RELU, MB_LOSS_MSE},
        {s1, 4, MB_ACTIVATION_SIGMOID, MB_LOSS_BINARY_CROSS_ENTROPY},
        {s2, 2, MB_ACTIVATION_RELU, MB_LOSS_MSE},
        {s2, 2, MB_ACTIVATION_RELU, MB_LOSS_BINARY_CROSS_ENTROPY},
        {s3, 3, MB_ACTIVATION_LINEAR, MB_LOSS_MSE},
        {s4, 2, MB_ACTIVATION_RELU, MB_LOSS_MSE},
        {s5, 5, MB_ACTIVATION_TANH, MB_LOSS_CROSS_ENTROPY},
        {s2, 2, MB_ACTIVATION_RELU, MB_LOSS_POISSON},
        {s5, 5, MB_ACTIVATION_LEAKY_RELU, MB_LOSS_CROSS_ENTROPY},
        {s1, 4, MB_ACTIVATION_ELU, MB_LOSS_MSE},
        {s1, 4, MB_ACTIVATION_SELU, MB_LOSS_BINARY_CROSS_ENTROPY},
        {s5, 5, MB_ACTIVATION_GELU, MB_LOSS_CROSS_ENTROPY},
        {s1, 4, MB_ACTIVATION_SILU, MB_LOSS_MSE},
    };
    size_t i;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ref_net net;
        mb_model *model = make_model(cases[i].s, cases[i].n, cases[i].h, cases[i].loss, 1);
        if (!CHECK(model != NULL)) {
            printf("    case %d: %s\n", (int)i, mb_last_error());
            continue;
        }
        make_ref_net(&net, cases[i].s, cases[i].n, cases[i].h, cases[i].loss);
        check_layers(model, &net);
        mb_model_free(model);
    }
}

static void test_per_layer_activations(void)
{
    int64_t sizes[] = {3, 4, 5, 4, 2};
    mb_activation acts[3] = {MB_ACTIVATION_TANH, MB_ACTIVATION_SIGMOID, MB_ACTIVATION_RELU};
    mb_model_options o;
    mb_model *model = NULL;
    ref_net net;
    mb_model_options_init(&o);
    o.hidden_activation = MB_ACTIVATION_LINEAR; /* ignored: activations wins */
    o.activations = acts;
    o.loss = MB_LOSS_MSE;
    o.seed = 5;
    CHECK_STATUS(mb_model_create(sizes, 5, &o, &model), MB_OK);
    if (!CHECK(model != NULL))
        return;
    /* the array is read during create only */
    acts[0] = MB_ACTIVATION_LINEAR;
    acts[1] = MB_ACTIVATION_LINEAR;
    acts[2] = MB_ACTIVATION_LINEAR;
    make_ref_net(&net, sizes, 5, MB_ACTIVATION_TANH, MB_LOSS_MSE);
    net.hidden[1] = MB_ACTIVATION_SIGMOID;
    net.hidden[2] = MB_ACTIVATION_RELU;
    check_layers(model, &net);
    {
        enum { M = 11 };
        float x[M * 3], out[M * 2];
        double want[M * 2];
        int64_t np = 0, i;
        float *p = model_params(model, &np);
        tdata_fill(x, M * 3, 8, -2, 2);
        CHECK_STATUS(mb_predict(model, x, M, 3, out), MB_OK);
        if (CHECK(p != NULL) && CHECK(ref_eval(&net, p, x, NULL, MB_TARGETS_FLOAT32, M, want,
                                               NULL, NULL, NULL) == 0)) {
            int ok = 1;
            for (i = 0; i < M * 2; i++)
                ok &= CHECK_NEAR(out[i], want[i], 1e-5, 1e-6);
            (void)ok;
        }
        free(p);
    }
    mb_model_free(model);
}

static void test_init_biases_zero_and_seed(void)
{
    int64_t sizes[] = {5, 7, 6, 3};
    mb_model *a = make_model(sizes, 4, MB_ACTIVATION_RELU, MB_LOSS_CROSS_ENTROPY, 123);
    mb_model *b = make_model(sizes, 4, MB_ACTIVATION_RELU, MB_LOSS_CROSS_ENTROPY, 123);
    mb_model *c = make_model(sizes, 4, MB_ACTIVATION_RELU, MB_LOSS_CROSS_ENTROPY, 124);
    ref_net net;
    int64_t n = 0, l, j;
    float *p;
    if (!CHECK(a && b && c))
        goto done;
    make_ref_net(&net, sizes, 4, MB_ACTIVATION_RELU, MB_LOSS_CROSS_ENTROPY);
    CHECK(models_equal(a, b));
    CHECK(!models_equal(a, c));
    p = model_params(a, &n);
    if (CHECK(p != NULL)) {
        int zero_b = 1, nonzero_w = 1;
        for (l = 0; l < 3; l++) {
            int64_t any = 0;
            for (j = 0; j < sizes[l + 1]; j++)
                if (p[ref_b_offset(&net, l) + j] != 0.0f)
                    zero_b = 0;
            for (j = 0; j < sizes[l + 1] * sizes[l]; j++)
                any += p[ref_w_offset(&net, l) + j] != 0.0f;
            if (any < sizes[l + 1] * sizes[l] - 1)
                nonzero_w = 0;
        }
        CHECK(zero_b);
        CHECK(nonzero_w);
        CHECK(all_finite_f(p, n));
    }
    free(p);
done:
    mb_model_free(a);
    mb_model_free(b);
    mb_model_free(c);
}

/* mean of squares and mean of the weights of layer l */
static void weight_stats(const float *p, const ref_net *net, int64_t l, double *ms, double *mean)
{
    int64_t j, n = net->sizes[l] * net->sizes[l + 1];
    const float *w = p + ref_w_offset(net, l);
    double s = 0, s2 = 0;
    for (j = 0; j < n; j++) {
        s += w[j];
        s2 += (double)w[j] * w[j];
    }
    *ms = s2 / (double)n;
    *mean = s / (double)n;
}

static void check_init_variances(const int64_t *sizes, int64_t n_layers, mb_activation hidden,
                                 const mb_activation *acts, mb_init init, const double *want)
{
    mb_model_options o;
    mb_model *model = NULL;
    ref_net net;
    float *p;
    int64_t l;
    mb_model_options_init(&o);
    o.hidden_activation = hidden;
    o.activations = acts;
    o.init = init;
    o.loss = MB_LOSS_MSE;
    o.seed = 77;
    CHECK_STATUS(mb_model_create(sizes, n_layers, &o, &model), MB_OK);
    if (!CHECK(model != NULL))
        return;
    make_ref_net(&net, sizes, n_layers, hidden, MB_LOSS_MSE);
    p = model_params(model, NULL);
    if (CHECK(p != NULL))
        for (l = 0; l + 1 < n_layers; l++) {
            double ms, mean, nw = (double)(sizes[l] * sizes[l + 1]);
            weight_stats(p, &net, l, &ms, &mean);
            /* standard error of the mean square is want * sqrt(2 / n) */
            if (!CHECK_NEAR(ms, want[l], 6.0 * sqrt(2.0 / nw), 0.0))
                printf("    init %d hidden %d layer %lld\n", (int)init, (int)hidden,
                       (long long)l);
            CHECK_NEAR(mean, 0.0, 0.0, 6.0 * sqrt(want[l] / nw));
        }
    free(p);
    mb_model_free(model);
}

static void test_init_variances(void)
{
    int64_t s[] = {400, 200, 100};
    int64_t s4[] = {300, 200, 100, 10};
    mb_activation acts[2] = {MB_ACTIVATION_RELU, MB_ACTIVATION_TANH};
    double he0 = 2.0 / 400, xa0 = 2.0 / 600, he1 = 2.0 / 200, xa1 = 2.0 / 300;
    double w_auto_relu[2], w_auto_tanh[2], w_he_tanh[2], w_xa_relu[2], w_mixed[3];
    double w_auto_selu[2], w_lecun_relu[2];
    w_auto_relu[0] = he0;
    w_auto_relu[1] = xa1; /* the output layer feeds no ReLU */
    w_auto_tanh[0] = xa0;
    w_auto_tanh[1] = xa1;
    w_he_tanh[0] = he0;
    w_he_tanh[1] = he1;
    w_xa_relu[0] = xa0;
    w_xa_relu[1] = xa1;
    check_init_variances(s, 3, MB_ACTIVATION_RELU, NULL, MB_INIT_AUTO, w_auto_relu);
    check_init_variances(s, 3, MB_ACTIVATION_TANH, NULL, MB_INIT_AUTO, w_auto_tanh);
    check_init_variances(s, 3, MB_ACTIVATION_TANH, NULL, MB_INIT_HE, w_he_tanh);
    check_init_variances(s, 3, MB_ACTIVATION_RELU, NULL, MB_INIT_XAVIER, w_xa_relu);
    w_auto_selu[0] = 1.0 / 400; /* feeds a SELU: LeCun (since 0.9.0) */
    w_auto_selu[1] = xa1;
    w_lecun_relu[0] = 1.0 / 400;
    w_lecun_relu[1] = 1.0 / 200; /* LeCun for every layer, the output's included */
    check_init_variances(s, 3, MB_ACTIVATION_SELU, NULL, MB_INIT_AUTO, w_auto_selu);
    check_init_variances(s, 3, MB_ACTIVATION_RELU, NULL, MB_INIT_LECUN, w_lecun_relu);
    w_mixed[0] = 2.0 / 300;         /* feeds a ReLU: He */
    w_mixed[1] = 2.0 / (200 + 100); /* feeds a tanh: Xavier */
    w_mixed[2] = 2.0 / (100 + 10);  /* output: Xavier */
    check_init_variances(s4, 4, MB_ACTIVATION_LINEAR, acts, MB_INIT_AUTO, w_mixed);
}

/*
 * The initial weights: the k-th weight (weights only, layer by layer) is its layer's
 * standard deviation times N_k, the Box-Muller normals of stream (seed, MB_STREAM_INIT).
 */
static void check_init_exact(const int64_t *sizes, int64_t nl, mb_activation hidden,
                             const mb_activation *acts, mb_init init, uint64_t seed)
{
    mb_model_options o;
    mb_model *model = NULL;
    ref_net net;
    float *p = NULL;
    double *nrm = NULL;
    int64_t l, j, k = 0, nw = 0;
    int ok = 1;
    mb_model_options_init(&o);
    o.hidden_activation = hidden;
    o.activations = acts;
    o.init = init;
    o.loss = MB_LOSS_MSE;
    o.seed = seed;
    CHECK_STATUS(mb_model_create(sizes, nl, &o, &model), MB_OK);
    if (!CHECK(model != NULL))
        return;
    make_ref_net(&net, sizes, nl, hidden, MB_LOSS_MSE);
    for (l = 0; l + 2 < nl; l++)
        net.hidden[l] = acts ? acts[l] : hidden;
    for (l = 0; l + 1 < nl; l++)
        nw += sizes[l] * sizes[l + 1];
    p = model_params(model, NULL);
    nrm = (double *)malloc(sizeof(double) * (size_t)nw);
    if (!CHECK(p && nrm))
        goto done;
    ref_normals(seed, nrm, nw);
    for (l = 0; l + 1 < nl; l++) {
        int hidden_layer = l + 2 < nl;
        int he = init == MB_INIT_HE ||
                 (init == MB_INIT_AUTO && hidden_layer &&
                  (net.hidden[l] == MB_ACTIVATION_RELU || net.hidden[l] == MB_ACTIVATION_LEAKY_RELU));
        int lecun = init == MB_INIT_LECUN ||
                    (init == MB_INIT_AUTO && hidden_layer && net.hidden[l] == MB_ACTIVATION_SELU);
        double var = he      ? 2.0 / (double)sizes[l]
                     : lecun ? 1.0 / (double)sizes[l]
                             : 2.0 / (double)(sizes[l] + sizes[l + 1]);
        const float *w = p + ref_w_offset(&net, l);
        for (j = 0; j < sizes[l] * sizes[l + 1]; j++, k++) {
            double want = sqrt(var) * nrm[k];
            if (!(fabs((double)w[j] - want) <= 2e-6 * fabs(want) + 1e-9)) {
                if (ok)
                    printf("    seed %llu init %d layer %d weight %d: %.9g, expected %.9g\n",
                           (unsigned long long)seed, (int)init, (int)l, (int)j, w[j], want);
                ok = 0;
            }
        }
        for (j = 0; j < sizes[l + 1]; j++)
            if (p[ref_b_offset(&net, l) + j] != 0.0f)
                ok = 0;
    }
    CHECK(ok);
done:
    free(p);
    free(nrm);
    mb_model_free(model);
}

static void test_init_matches_reference(void)
{
    int64_t s1[] = {3, 5, 1};       /* 15 weights: a pair is split across layers */
    int64_t s2[] = {4, 7, 6, 3};
    int64_t s3[] = {1, 1};
    int64_t s4[] = {5, 3, 3, 3, 2};
    mb_activation acts[3] = {MB_ACTIVATION_RELU, MB_ACTIVATION_TANH, MB_ACTIVATION_RELU};
    static const uint64_t seeds[] = {0, 1, 2024, 0xFFFFFFFFFFFFFFFFull};
    size_t i;
    for (i = 0; i < 4; i++) {
        check_init_exact(s1, 3, MB_ACTIVATION_TANH, NULL, MB_INIT_XAVIER, seeds[i]);
        check_init_exact(s2, 4, MB_ACTIVATION_RELU, NULL, MB_INIT_AUTO, seeds[i]);
        check_init_exact(s2, 4, MB_ACTIVATION_SIGMOID, NULL, MB_INIT_HE, seeds[i]);
        check_init_exact(s3, 2, MB_ACTIVATION_RELU, NULL, MB_INIT_AUTO, seeds[i]);
        check_init_exact(s4, 5, MB_ACTIVATION_LINEAR, acts, MB_INIT_AUTO, seeds[i]);
        check_init_exact(s2, 4, MB_ACTIVATION_LEAKY_RELU, NULL, MB_INIT_AUTO, seeds[i]);
        check_init_exact(s2, 4, MB_ACTIVATION_SELU, NULL, MB_INIT_AUTO, seeds[i]);
        check_init_exact(s1, 3, MB_ACTIVATION_RELU, NULL, MB_INIT_LECUN, seeds[i]);
    }
    /* default options: seed 0, ReLU hidden layers, AUTO */
    {
        int64_t s[] = {6, 9, 4};
        mb_model *d = NULL, *e = NULL;
        mb_model_options o;
        CHECK_STATUS(mb_model_create(s, 3, NULL, &d), MB_OK);
        mb_model_options_init(&o);
        o.loss = MB_LOSS_MSE; /* the loss does not change the initial weights */
        CHECK_STATUS(mb_model_create(s, 3, &o, &e), MB_OK);
        CHECK(d && e && models_equal(d, e));
        mb_model_free(d);
        mb_model_free(e);
        check_init_exact(s, 3, MB_ACTIVATION_RELU, NULL, MB_INIT_AUTO, 0);
    }
}

static void test_parameters_round_trip(void)
{
    int64_t sizes[] = {3, 4, 2};
    mb_model *model = make_model(sizes, 3, MB_ACTIVATION_TANH, MB_LOSS_CROSS_ENTROPY, 0);
    int64_t n = 0, i;
    float *p, *q;
    if (!CHECK(model != NULL))
        return;
    n = model_n_params(model);
    CHECK(n == 4 * 3 + 4 + 2 * 4 + 2);
    p = (float *)malloc(sizeof(float) * (size_t)n);
    q = (float *)malloc(sizeof(float) * (size_t)n);
    if (CHECK(p && q)) {
        for (i = 0; i < n; i++)
            p[i] = (float)(i + 1) * 0.125f - 1.0f;
        p[0] = -0.0f;
        p[1] = 1e-40f; /* subnormal but finite */
        p[2] = 3.0e38f;
        CHECK_STATUS(mb_model_set_parameters(model, p, n), MB_OK);
        memset(q, 0, sizeof(float) * (size_t)n);
        CHECK_STATUS(mb_model_get_parameters(model, q, n), MB_OK);
        CHECK(memcmp(p, q, sizeof(float) * (size_t)n) == 0);
        CHECK(model_epochs(model) == 0);
    }
    free(p);
    free(q);
    mb_model_free(model);
}

typedef struct net_case {
    int64_t sizes[5];
    int64_t n;
    mb_activation hidden;
    mb_loss loss;
} net_case;

static const net_case cases[] = {
    {{3, 5, 4}, 3, MB_ACTIVATION_TANH, MB_LOSS_CROSS_ENTROPY},
    {{3, 6, 2}, 3, MB_ACTIVATION_SIGMOID, MB_LOSS_BINARY_CROSS_ENTROPY},
    {{4, 1}, 2, MB_ACTIVATION_RELU, MB_LOSS_BINARY_CROSS_ENTROPY},
    {{3, 4, 4, 2}, 4, MB_ACTIVATION_RELU, MB_LOSS_MSE},
    {{2, 3}, 2, MB_ACTIVATION_RELU, MB_LOSS_MSE},
    {{4, 3}, 2, MB_ACTIVATION_RELU, MB_LOSS_CROSS_ENTROPY},
    {{2, 5, 3, 3}, 4, MB_ACTIVATION_LINEAR, MB_LOSS_CROSS_ENTROPY},
    {{3, 4, 2}, 3, MB_ACTIVATION_TANH, MB_LOSS_POISSON},
    {{4, 1}, 2, MB_ACTIVATION_RELU, MB_LOSS_POISSON},
    {{3, 5, 4}, 3, MB_ACTIVATION_LEAKY_RELU, MB_LOSS_CROSS_ENTROPY},
    {{3, 4, 4, 2}, 4, MB_ACTIVATION_ELU, MB_LOSS_MSE},
    {{3, 6, 2}, 3, MB_ACTIVATION_SELU, MB_LOSS_BINARY_CROSS_ENTROPY},
    {{3, 5, 4}, 3, MB_ACTIVATION_GELU, MB_LOSS_CROSS_ENTROPY},
    {{3, 4, 4, 2}, 4, MB_ACTIVATION_SILU, MB_LOSS_MSE},
};
#define N_CASES (sizeof cases / sizeof cases[0])

/* Random parameters in [-1, 1] (biases included), so outputs are not trivial. */
static mb_model *make_case_model(const net_case *c, ref_net *net, uint64_t seed)
{
    mb_model *model = make_model(c->sizes, c->n, c->hidden, c->loss, seed);
    int64_t n;
    float *p;
    make_ref_net(net, c->sizes, c->n, c->hidden, c->loss);
    if (!model)
        return NULL;
    n = ref_n_params(net);
    p = (float *)malloc(sizeof(float) * (size_t)n);
    if (!p) {
        mb_model_free(model);
        return NULL;
    }
    tdata_fill(p, n, seed + 1000, -1, 1);
    if (mb_model_set_parameters(model, p, n) != MB_OK) {
        mb_model_free(model);
        model = NULL;
    }
    free(p);
    return model;
}

/* Float targets suitable for the case's loss. */
static void case_targets(const net_case *c, float *y, int64_t m, uint64_t seed)
{
    int64_t n_out = c->sizes[c->n - 1];
    if (c->loss == MB_LOSS_CROSS_ENTROPY)
        tdata_soft(y, m, n_out, seed);
    else if (c->loss == MB_LOSS_BINARY_CROSS_ENTROPY)
        tdata_fill(y, m * n_out, seed, 0, 1);
    else if (c->loss == MB_LOSS_POISSON) {
        int64_t i;
        tdata_fill(y, m * n_out, seed, 0, 4);
        for (i = 0; i < m * n_out; i += 5)
            y[i] = 0; /* zero counts: the y log y = 0 term */
    } else
        tdata_fill(y, m * n_out, seed, -2, 2);
}

static void test_predict_matches_reference(void)
{
    size_t ci;
    for (ci = 0; ci < N_CASES; ci++) {
        enum { M = 23 };
        ref_net net;
        const net_case *c = &cases[ci];
        mb_model *model = make_case_model(c, &net, ci);
        int64_t n_in = c->sizes[0], n_out = c->sizes[c->n - 1], i, j;
        float x[M * 8], out[M * 8];
        double want[M * 8];
        float *p;
        if (!CHECK(model != NULL))
            continue;
        p = model_params(model, NULL);
        tdata_fill(x, M * n_in, 50 + ci, -2, 2);
        CHECK_STATUS(mb_predict(model, x, M, n_in, out), MB_OK);
        if (CHECK(p != NULL) && CHECK(ref_eval(&net, p, x, NULL, MB_TARGETS_FLOAT32, M, want,
                                               NULL, NULL, NULL) == 0)) {
            int close = 1;
            for (i = 0; i < M * n_out; i++)
                if (!(fabs(out[i] - want[i]) <= 1e-6 + 1e-5 * fabs(want[i]))) {
                    if (close)
                        printf("    case %d: out[%d] = %.9g, reference %.9g\n", (int)ci,
                               (int)i, out[i], want[i]);
                    close = 0;
                }
            CHECK(close);
            if (c->loss == MB_LOSS_CROSS_ENTROPY) {
                int rows = 1;
                for (i = 0; i < M; i++) {
                    double s = 0;
                    for (j = 0; j < n_out; j++) {
                        s += out[i * n_out + j];
                        if (!(out[i * n_out + j] >= 0 && out[i * n_out + j] <= 1))
                            rows = 0;
                    }
                    if (fabs(s - 1) > 1e-5)
                        rows = 0;
                }
                CHECK(rows);
            }
        }
        free(p);
        mb_model_free(model);
    }
}

static void test_predict_in_chunks(void)
{
    enum { M = 3001 };
    int64_t sizes[] = {2, 8, 3};
    ref_net net;
    net_case c;
    mb_model *model;
    float *x = (float *)malloc(sizeof(float) * M * 2);
    float *out = (float *)malloc(sizeof(float) * M * 3);
    double *want = (double *)malloc(sizeof(double) * M * 3);
    float *p = NULL;
    int64_t i;
    memset(&c, 0, sizeof c);
    memcpy(c.sizes, sizes, sizeof sizes);
    c.n = 3;
    c.hidden = MB_ACTIVATION_TANH;
    c.loss = MB_LOSS_CROSS_ENTROPY;
    model = make_case_model(&c, &net, 9);
    if (!CHECK(model && x && out && want))
        goto done;
    tdata_fill(x, M * 2, 10, -3, 3);
    CHECK_STATUS(mb_predict(model, x, M, 2, out), MB_OK);
    p = model_params(model, NULL);
    if (CHECK(p != NULL) &&
        CHECK(ref_eval(&net, p, x, NULL, MB_TARGETS_FLOAT32, M, want, NULL, NULL, NULL) == 0)) {
        int close = 1;
        for (i = 0; i < M * 3; i++)
            if (!(fabs(out[i] - want[i]) <= 1e-6 + 1e-5 * fabs(want[i])))
                close = 0;
        CHECK(close);
    }
    /* single rows give the same values as the big call */
    {
        int same = 1;
        for (i = 0; i < M; i += 250) {
            float one[3];
            if (mb_predict(model, x + i * 2, 1, 2, one) != MB_OK)
                same = 0;
            else if (fabs(one[0] - out[i * 3]) > 1e-6 || fabs(one[2] - out[i * 3 + 2]) > 1e-6)
                same = 0;
        }
        CHECK(same);
    }
done:
    free(p);
    free(x);
    free(out);
    free(want);
    mb_model_free(model);
}

static void test_predict_classes(void)
{
    size_t ci;
    for (ci = 0; ci < N_CASES; ci++) {
        enum { M = 31 };
        ref_net net;
        const net_case *c = &cases[ci];
        int64_t n_in = c->sizes[0], n_out = c->sizes[c->n - 1], i, j;
        int classes_ok = c->loss == MB_LOSS_CROSS_ENTROPY ||
                         (c->loss == MB_LOSS_BINARY_CROSS_ENTROPY && n_out == 1);
        mb_model *model = make_case_model(c, &net, 70 + ci);
        float x[M * 8], out[M * 8];
        int32_t cls[M];
        if (!CHECK(model != NULL))
            continue;
        tdata_fill(x, M * n_in, 80 + ci, -2, 2);
        CHECK_STATUS(mb_predict(model, x, M, n_in, out), MB_OK);
        if (!classes_ok) {
            CHECK_ERR(mb_predict_classes(model, x, M, n_in, cls), MB_ERR_INVALID_ARGUMENT);
        } else if (CHECK_STATUS(mb_predict_classes(model, x, M, n_in, cls), MB_OK)) {
            int ok = 1;
            for (i = 0; i < M; i++) {
                int32_t want = 0;
                if (n_out == 1) {
                    want = out[i] >= 0.5f;
                } else {
                    for (j = 1; j < n_out; j++)
                        if (out[i * n_out + j] > out[i * n_out + want])
                            want = (int32_t)j;
                }
                if (cls[i] != want)
                    ok = 0;
            }
            CHECK(ok);
        }
        mb_model_free(model);
    }
}

static void test_predict_classes_ties(void)
{
    int64_t s3[] = {2, 4};
    int64_t s1[] = {2, 1};
    float x[6] = {1, 2, -3, 4, 0.5f, -0.5f};
    float zeros[12];
    int32_t cls[3] = {-1, -1, -1};
    float out[12];
    mb_model *ce = make_model(s3, 2, MB_ACTIVATION_RELU, MB_LOSS_CROSS_ENTROPY, 0);
    mb_model *bce = make_model(s1, 2, MB_ACTIVATION_RELU, MB_LOSS_BINARY_CROSS_ENTROPY, 0);
    memset(zeros, 0, sizeof zeros);
    if (!CHECK(ce && bce))
        goto done;
    /* all-zero parameters: every softmax output is 1/4, the lowest index wins */
    CHECK_STATUS(mb_model_set_parameters(ce, zeros, 12), MB_OK);
    CHECK_STATUS(mb_predict(ce, x, 3, 2, out), MB_OK);
    CHECK_NEAR(out[0], 0.25, 0, 1e-7);
    CHECK_NEAR(out[11], 0.25, 0, 1e-7);
    CHECK_STATUS(mb_predict_classes(ce, x, 3, 2, cls), MB_OK);
    CHECK(cls[0] == 0 && cls[1] == 0 && cls[2] == 0);
    /* a tie between classes 2 and 3 above the others: class 2 */
    {
        float p[12];
        memset(p, 0, sizeof p);
        p[8 + 2] = 1.0f; /* bias of output 2 */
        p[8 + 3] = 1.0f; /* bias of output 3 */
        CHECK_STATUS(mb_model_set_parameters(ce, p, 12), MB_OK);
        CHECK_STATUS(mb_predict_classes(ce, x, 3, 2, cls), MB_OK);
        CHECK(cls[0] == 2 && cls[1] == 2 && cls[2] == 2);
    }
    /* sigmoid output exactly 0.5 counts as class 1 */
    CHECK_STATUS(mb_model_set_parameters(bce, zeros, 3), MB_OK);
    CHECK_STATUS(mb_predict(bce, x, 3, 2, out), MB_OK);
    CHECK(out[0] == 0.5f && out[2] == 0.5f);
    CHECK_STATUS(mb_predict_classes(bce, x, 3, 2, cls), MB_OK);
    CHECK(cls[0] == 1 && cls[1] == 1 && cls[2] == 1);
    {
        float p[3] = {0, 0, -0.001f};
        CHECK_STATUS(mb_model_set_parameters(bce, p, 3), MB_OK);
        CHECK_STATUS(mb_predict_classes(bce, x, 3, 2, cls), MB_OK);
        CHECK(cls[0] == 0 && cls[1] == 0 && cls[2] == 0);
    }
done:
    mb_model_free(ce);
    mb_model_free(bce);
}

static void test_evaluate_matches_reference(void)
{
    size_t ci;
    for (ci = 0; ci < N_CASES; ci++) {
        enum { M = 29 };
        ref_net net;
        const net_case *c = &cases[ci];
        int64_t n_in = c->sizes[0], n_out = c->sizes[c->n - 1];
        mb_model *model = make_case_model(c, &net, 200 + ci);
        float x[M * 8], y[M * 8];
        int32_t yc[M];
        double cost = -1, acc = -1, wcost = 0, wacc = 0;
        float *p;
        if (!CHECK(model != NULL))
            continue;
        p = model_params(model, NULL);
        tdata_fill(x, M * n_in, 300 + ci, -2, 2);
        case_targets(c, y, M, 400 + ci);
        if (!CHECK(p != NULL))
            goto next;
        /* float targets */
        CHECK_STATUS(mb_evaluate(model, x, y, MB_TARGETS_FLOAT32, M, n_in, &cost, &acc), MB_OK);
        CHECK(ref_eval(&net, p, x, y, MB_TARGETS_FLOAT32, M, NULL, &wcost, &wacc, NULL) == 0);
        if (!CHECK_NEAR(cost, wcost, 1e-5, 1e-7))
            printf("    case %d (float targets)\n", (int)ci);
        if (c->loss == MB_LOSS_MSE || c->loss == MB_LOSS_POISSON)
            CHECK(isnan(acc));
        else
            CHECK_NEAR(acc, wacc, 0, 1e-12);
        /* cost or accuracy may be NULL */
        {
            double c2 = -1, a2 = -1;
            CHECK_STATUS(mb_evaluate(model, x, y, MB_TARGETS_FLOAT32, M, n_in, &c2, NULL),
                         MB_OK);
            CHECK(c2 == cost);
            CHECK_STATUS(mb_evaluate(model, x, y, MB_TARGETS_FLOAT32, M, n_in, NULL, &a2),
                         MB_OK);
            CHECK(c->loss == MB_LOSS_MSE || c->loss == MB_LOSS_POISSON ? isnan(a2) : a2 == acc);
            CHECK_STATUS(mb_evaluate(model, x, y, MB_TARGETS_FLOAT32, M, n_in, NULL, NULL),
                         MB_OK);
        }
        /* class-index targets where they apply */
        if (c->loss == MB_LOSS_CROSS_ENTROPY ||
            (c->loss == MB_LOSS_BINARY_CROSS_ENTROPY && n_out == 1)) {
            int32_t nc = c->loss == MB_LOSS_CROSS_ENTROPY ? (int32_t)n_out : 2;
            float onehot[M * 8];
            double c1 = -1, a1 = -1, c2 = -2, a2 = -2;
            int64_t i, j;
            tdata_classes(yc, M, nc, 500 + ci);
            for (i = 0; i < M; i++)
                for (j = 0; j < n_out; j++)
                    onehot[i * n_out + j] =
                        n_out == 1 ? (float)yc[i] : (yc[i] == (int32_t)j ? 1.0f : 0.0f);
            CHECK_STATUS(
                mb_evaluate(model, x, yc, MB_TARGETS_CLASS_INDEX, M, n_in, &c1, &a1), MB_OK);
            CHECK_STATUS(
                mb_evaluate(model, x, onehot, MB_TARGETS_FLOAT32, M, n_in, &c2, &a2), MB_OK);
            CHECK(ref_eval(&net, p, x, yc, MB_TARGETS_CLASS_INDEX, M, NULL, &wcost, &wacc,
                           NULL) == 0);
            if (!CHECK_NEAR(c1, wcost, 1e-5, 1e-7))
                printf("    case %d (class targets)\n", (int)ci);
            CHECK_NEAR(a1, wacc, 0, 1e-12);
            CHECK_NEAR(c1, c2, 1e-6, 1e-9);
            CHECK(a1 == a2);
        }
    next:
        free(p);
        mb_model_free(model);
    }
}

static void test_evaluate_known_values(void)
{
    /* linear regression y = 2x + 1 with w = 2, b = 1 -> cost 0; w = 0, b = 0 -> mean y^2 */
    int64_t sizes[] = {1, 1};
    mb_model *model = make_model(sizes, 2, MB_ACTIVATION_RELU, MB_LOSS_MSE, 0);
    float x[4] = {0, 1, 2, 3}, y[4] = {1, 3, 5, 7};
    float p[2] = {2, 1}, z[2] = {0, 0};
    double cost = -1, acc = 0;
    if (!CHECK(model != NULL))
        return;
    CHECK_STATUS(mb_model_set_parameters(model, p, 2), MB_OK);
    CHECK_STATUS(mb_evaluate(model, x, y, MB_TARGETS_FLOAT32, 4, 1, &cost, &acc), MB_OK);
    CHECK(cost == 0.0);
    CHECK(isnan(acc));
    CHECK_STATUS(mb_model_set_parameters(model, z, 2), MB_OK);
    CHECK_STATUS(mb_evaluate(model, x, y, MB_TARGETS_FLOAT32, 4, 1, &cost, NULL), MB_OK);
    CHECK_NEAR(cost, (1.0 + 9 + 25 + 49) / 4.0, 1e-7, 0);
    mb_model_free(model);
    /* softmax with zero parameters over 4 classes: cost = ln 4, accuracy = share of class 0 */
    {
        int64_t s2[] = {2, 4};
        float zz[12], xx[8] = {1, 2, 3, 4, 5, 6, 7, 8};
        int32_t yy[4] = {0, 1, 0, 3};
        mb_model *ce = make_model(s2, 2, MB_ACTIVATION_RELU, MB_LOSS_CROSS_ENTROPY, 0);
        memset(zz, 0, sizeof zz);
        if (CHECK(ce != NULL)) {
            CHECK_STATUS(mb_model_set_parameters(ce, zz, 12), MB_OK);
            CHECK_STATUS(
                mb_evaluate(ce, xx, yy, MB_TARGETS_CLASS_INDEX, 4, 2, &cost, &acc), MB_OK);
            CHECK_NEAR(cost, log(4.0), 1e-6, 0);
            CHECK_NEAR(acc, 0.5, 0, 1e-12);
        }
        mb_model_free(ce);
    }
}

static void test_gradient_matches_reference(void)
{
    size_t ci;
    for (ci = 0; ci < N_CASES; ci++) {
        enum { M = 13 };
        ref_net net;
        const net_case *c = &cases[ci];
        int64_t n_in = c->sizes[0], n, i;
        mb_model *model = make_case_model(c, &net, 600 + ci);
        float x[M * 8], y[M * 8];
        float *p = NULL, *g = NULL;
        double *wg = NULL, cost = -1, wcost = 0, gmax = 0;
        if (!CHECK(model != NULL))
            continue;
        n = model_n_params(model);
        p = model_params(model, NULL);
        g = (float *)malloc(sizeof(float) * (size_t)n);
        wg = (double *)malloc(sizeof(double) * (size_t)n);
        if (!CHECK(p && g && wg))
            goto next;
        tdata_fill(x, M * n_in, 700 + ci, -2, 2);
        case_targets(c, y, M, 800 + ci);
        CHECK_STATUS(mb_gradient(model, x, y, MB_TARGETS_FLOAT32, M, n_in, &cost, g, n), MB_OK);
        CHECK(ref_eval(&net, p, x, y, MB_TARGETS_FLOAT32, M, NULL, &wcost, NULL, wg) == 0);
        CHECK_NEAR(cost, wcost, 1e-5, 1e-7);
        for (i = 0; i < n; i++)
            if (fabs(wg[i]) > gmax)
                gmax = fabs(wg[i]);
        {
            int close = 1;
            for (i = 0; i < n; i++)
                if (!(fabs(g[i] - wg[i]) <= 1e-4 * fabs(wg[i]) + 1e-5 * gmax)) {
                    if (close)
                        printf("    case %d: grad[%d] = %.9g, reference %.9g\n", (int)ci,
                               (int)i, g[i], wg[i]);
                    close = 0;
                }
            CHECK(close);
        }
        /* gradient does not change the model */
        CHECK(model_same(model, p, n, 0));
    next:
        free(p);
        free(g);
        free(wg);
        mb_model_free(model);
    }
}

static void check_finite_differences(const net_case *c, uint64_t seed, mb_targets yt)
{
    enum { M = 7 };
    ref_net net;
    int64_t n_in = c->sizes[0], n_out = c->sizes[c->n - 1], n, i;
    mb_model *model = make_case_model(c, &net, seed);
    float x[M * 8], y[M * 8];
    int32_t yc[M];
    const void *yy = yt == MB_TARGETS_CLASS_INDEX ? (const void *)yc : (const void *)y;
    float *p = NULL, *g = NULL, *q = NULL;
    double cost = -1, ecost = -2, gmax = 0;
    int bad = 0;
    if (!CHECK(model != NULL))
        return;
    n = model_n_params(model);
    p = model_params(model, NULL);
    q = model_params(model, NULL);
    g = (float *)malloc(sizeof(float) * (size_t)n);
    if (!CHECK(p && q && g))
        goto done;
    tdata_fill(x, M * n_in, seed + 1, -1.5, 1.5);
    case_targets(c, y, M, seed + 2);
    tdata_classes(yc, M, n_out == 1 ? 2 : (int32_t)n_out, seed + 3);
    CHECK_STATUS(mb_gradient(model, x, yy, yt, M, n_in, &cost, g, n), MB_OK);
    CHECK_STATUS(mb_evaluate(model, x, yy, yt, M, n_in, &ecost, NULL), MB_OK);
    CHECK_NEAR(cost, ecost, 1e-6, 1e-9);
    for (i = 0; i < n; i++)
        if (fabs(g[i]) > gmax)
            gmax = fabs(g[i]);
    for (i = 0; i < n; i++) {
        const double eps = 5e-3;
        double cp = 0, cm = 0, fd;
        float hi = (float)(p[i] + eps), lo = (float)(p[i] - eps);
        q[i] = hi;
        if (mb_model_set_parameters(model, q, n) != MB_OK ||
            mb_evaluate(model, x, yy, yt, M, n_in, &cp, NULL) != MB_OK)
            bad++;
        q[i] = lo;
        if (mb_model_set_parameters(model, q, n) != MB_OK ||
            mb_evaluate(model, x, yy, yt, M, n_in, &cm, NULL) != MB_OK)
            bad++;
        q[i] = p[i];
        fd = (cp - cm) / ((double)hi - (double)lo);
        if (!(fabs(fd - g[i]) <= 1e-2 * fabs(g[i]) + 2e-3 * gmax + 2e-4)) {
            if (!bad)
                printf("    loss %d: d cost / d p[%d]: finite difference %.7g, gradient %.7g\n",
                       (int)c->loss, (int)i, fd, g[i]);
            bad++;
        }
    }
    if (!CHECK(bad == 0))
        printf("    %d of %d parameters disagree\n", bad, (int)n);
    CHECK_STATUS(mb_model_set_parameters(model, p, n), MB_OK);
done:
    free(p);
    free(q);
    free(g);
    mb_model_free(model);
}

static void test_gradient_finite_differences(void)
{
    static const net_case fd_cases[] = {
        {{3, 4, 3}, 3, MB_ACTIVATION_TANH, MB_LOSS_CROSS_ENTROPY},
        {{2, 3, 1}, 3, MB_ACTIVATION_SIGMOID, MB_LOSS_BINARY_CROSS_ENTROPY},
        {{3, 4, 2}, 3, MB_ACTIVATION_TANH, MB_LOSS_BINARY_CROSS_ENTROPY},
        {{3, 4, 3, 2}, 4, MB_ACTIVATION_TANH, MB_LOSS_MSE},
        {{3, 2}, 2, MB_ACTIVATION_RELU, MB_LOSS_MSE},
    };
    size_t i;
    for (i = 0; i < sizeof fd_cases / sizeof fd_cases[0]; i++)
        check_finite_differences(&fd_cases[i], 900 + 10 * i, MB_TARGETS_FLOAT32);
    check_finite_differences(&fd_cases[0], 990, MB_TARGETS_CLASS_INDEX);
    check_finite_differences(&fd_cases[1], 995, MB_TARGETS_CLASS_INDEX);
}

static void test_gradient_class_index_equals_one_hot(void)
{
    enum { M = 9 };
    int64_t sizes[] = {3, 5, 4};
    ref_net net;
    net_case c;
    mb_model *model;
    float x[M * 3], onehot[M * 4], g1[5 * 3 + 5 + 4 * 5 + 4], g2[5 * 3 + 5 + 4 * 5 + 4];
    int32_t yc[M];
    double c1 = 0, c2 = 1;
    int64_t i, n = 5 * 3 + 5 + 4 * 5 + 4;
    memset(&c, 0, sizeof c);
    memcpy(c.sizes, sizes, sizeof sizes);
    c.n = 3;
    c.hidden = MB_ACTIVATION_RELU;
    c.loss = MB_LOSS_CROSS_ENTROPY;
    model = make_case_model(&c, &net, 31);
    if (!CHECK(model != NULL))
        return;
    tdata_fill(x, M * 3, 32, -1, 1);
    tdata_classes(yc, M, 4, 33);
    memset(onehot, 0, sizeof onehot);
    for (i = 0; i < M; i++)
        onehot[i * 4 + yc[i]] = 1.0f;
    CHECK_STATUS(mb_gradient(model, x, yc, MB_TARGETS_CLASS_INDEX, M, 3, &c1, g1, n), MB_OK);
    CHECK_STATUS(mb_gradient(model, x, onehot, MB_TARGETS_FLOAT32, M, 3, &c2, g2, n), MB_OK);
    CHECK_NEAR(c1, c2, 1e-6, 1e-9);
    {
        int close = 1;
        for (i = 0; i < n; i++)
            if (fabs(g1[i] - g2[i]) > 1e-6 + 1e-5 * fabs(g2[i]))
                close = 0;
        CHECK(close);
    }
    mb_model_free(model);
}

int main(void)
{
    RUN_TEST(test_model_options_defaults);
    RUN_TEST(test_create_null_options_equals_defaults);
    RUN_TEST(test_create_info_and_layers);
    RUN_TEST(test_per_layer_activations);
    RUN_TEST(test_init_biases_zero_and_seed);
    RUN_TEST(test_init_variances);
    RUN_TEST(test_init_matches_reference);
    RUN_TEST(test_parameters_round_trip);
    RUN_TEST(test_predict_matches_reference);
    RUN_TEST(test_predict_in_chunks);
    RUN_TEST(test_predict_classes);
    RUN_TEST(test_predict_classes_ties);
    RUN_TEST(test_evaluate_known_values);
    RUN_TEST(test_evaluate_matches_reference);
    RUN_TEST(test_gradient_matches_reference);
    RUN_TEST(test_gradient_class_index_equals_one_hot);
    RUN_TEST(test_gradient_finite_differences);
    return check_summary();
}
