/*
 * ref.h - independent reference implementations, written from the text of minibatch.h only:
 * the random generator contract (splitmix64, stream, xoshiro256**, Lemire's bounded
 * integers, Fisher-Yates), CRC-32, and a double-precision forward pass, cost and
 * back-propagation for the documented models. Plus small helpers shared by the tests.
 */
#ifndef MB_TEST_REF_H
#define MB_TEST_REF_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "minibatch.h"

/* ---- random generator ------------------------------------------------------------- */

static inline uint64_t ref_splitmix64(uint64_t *state)
{
    uint64_t z;
    *state += 0x9E3779B97F4A7C15ull;
    z = *state;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static inline uint64_t ref_mix(uint64_t v)
{
    return ref_splitmix64(&v);
}

typedef struct ref_rng {
    uint64_t s[4];
} ref_rng;

static inline void ref_stream(ref_rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t key = ref_mix(ref_mix(seed) ^ stream);
    int i;
    for (i = 0; i < 4; i++)
        r->s[i] = ref_splitmix64(&key);
}

static inline uint64_t ref_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* xoshiro256** 1.0 (Blackman and Vigna, 2018). */
static inline uint64_t ref_next(ref_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = ref_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = ref_rotl(s[3], 45);
    return result;
}

/* 64 x 64 -> 128-bit product from 32-bit halves (no __int128 needed). */
static inline void ref_mul128(uint64_t a, uint64_t b, uint64_t *hi, uint64_t *lo)
{
    uint64_t al = a & 0xFFFFFFFFull, ah = a >> 32, bl = b & 0xFFFFFFFFull, bh = b >> 32;
    uint64_t p0 = al * bl, p1 = al * bh, p2 = ah * bl, p3 = ah * bh;
    uint64_t mid = (p0 >> 32) + (p1 & 0xFFFFFFFFull) + (p2 & 0xFFFFFFFFull);
    *lo = (p0 & 0xFFFFFFFFull) | (mid << 32);
    *hi = p3 + (p1 >> 32) + (p2 >> 32) + (mid >> 32);
}

static inline uint64_t ref_below(ref_rng *r, uint64_t n)
{
    uint64_t hi, lo;
    ref_mul128(ref_next(r), n, &hi, &lo);
    if (lo < n) {
        uint64_t t = (0 - n) % n; /* (2^64 - n) mod n */
        while (lo < t)
            ref_mul128(ref_next(r), n, &hi, &lo);
    }
    return hi;
}

static inline void ref_permutation(int64_t m, uint64_t seed, uint64_t epoch, int64_t *perm)
{
    ref_rng r;
    int64_t i;
    for (i = 0; i < m; i++)
        perm[i] = i;
    ref_stream(&r, seed, epoch);
    for (i = m - 1; i >= 1; i--) {
        int64_t j = (int64_t)ref_below(&r, (uint64_t)(i + 1));
        int64_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

/* Uniform double in [0, 1) as the header defines it for the normal draws. */
static inline double ref_uniform(ref_rng *r)
{
    return (double)(ref_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* The standard normal draws N_0, N_1, ... of stream (seed, MB_STREAM_INIT): each pair of
   uniforms u1, u2 gives r = sqrt(-2 ln(1 - u1)), N = r cos(2 pi u2), then N = r sin(2 pi u2). */
static inline void ref_normals(uint64_t seed, double *out, int64_t count)
{
    ref_rng r;
    int64_t k = 0;
    ref_stream(&r, seed, MB_STREAM_INIT);
    while (k < count) {
        double u1 = ref_uniform(&r), u2 = ref_uniform(&r);
        double rad = sqrt(-2.0 * log(1.0 - u1));
        out[k++] = rad * cos(2.0 * 3.14159265358979323846 * u2);
        if (k < count)
            out[k++] = rad * sin(2.0 * 3.14159265358979323846 * u2);
    }
}

/* ---- CRC-32 (IEEE 802.3, zlib's crc32) --------------------------------------------- */

static inline uint32_t ref_crc32(const unsigned char *p, size_t n)
{
    uint32_t crc = 0xFFFFFFFFu;
    size_t i;
    int k;
    for (i = 0; i < n; i++) {
        crc ^= p[i];
        for (k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

/* ---- reference network ------------------------------------------------------------- */

#define REF_MAX_LAYERS 8

typedef struct ref_net {
    int64_t n_layers;
    int64_t sizes[REF_MAX_LAYERS];
    mb_activation hidden[REF_MAX_LAYERS]; /* hidden[l]: activation of layer l, l < n_layers-2 */
    mb_loss loss;
} ref_net;

static inline int64_t ref_n_params(const ref_net *net)
{
    int64_t l, n = 0;
    for (l = 0; l + 1 < net->n_layers; l++)
        n += net->sizes[l + 1] * net->sizes[l] + net->sizes[l + 1];
    return n;
}

static inline int64_t ref_w_offset(const ref_net *net, int64_t layer)
{
    int64_t l, n = 0;
    for (l = 0; l < layer; l++)
        n += net->sizes[l + 1] * net->sizes[l] + net->sizes[l + 1];
    return n;
}

static inline int64_t ref_b_offset(const ref_net *net, int64_t layer)
{
    return ref_w_offset(net, layer) + net->sizes[layer + 1] * net->sizes[layer];
}

static inline double ref_act(mb_activation a, double z)
{
    switch (a) {
    case MB_ACTIVATION_RELU: return z > 0 ? z : 0;
    case MB_ACTIVATION_TANH: return tanh(z);
    case MB_ACTIVATION_SIGMOID: return 1.0 / (1.0 + exp(-z));
    case MB_ACTIVATION_LEAKY_RELU: return z > 0 ? z : 0.01 * z;
    case MB_ACTIVATION_ELU: return z > 0 ? z : expm1(z);
    case MB_ACTIVATION_SELU:
        return z > 0 ? 1.0507009873554804934193349852946 * z
                     : 1.0507009873554804934193349852946 * 1.6732632423543772848170429916717 * expm1(z);
    case MB_ACTIVATION_GELU: return z * 0.5 * (1.0 + erf(z / sqrt(2.0)));
    case MB_ACTIVATION_SILU: return z / (1.0 + exp(-z));
    default: return z;
    }
}

/* derivative expressed through the activation value a = g(z), or z itself where the
 * activation's derivative is not a function of a (GELU, SiLU) */
static inline double ref_act_deriv(mb_activation act, double a, double z)
{
    switch (act) {
    case MB_ACTIVATION_GELU:
        return 0.5 * (1.0 + erf(z / sqrt(2.0))) + z * exp(-0.5 * z * z) / sqrt(2.0 * 3.14159265358979323846);
    case MB_ACTIVATION_SILU: {
        double s = 1.0 / (1.0 + exp(-z));
        return s * (1.0 + z * (1.0 - s));
    }
    case MB_ACTIVATION_RELU: return a > 0 ? 1.0 : 0.0;
    case MB_ACTIVATION_TANH: return 1.0 - a * a;
    case MB_ACTIVATION_SIGMOID: return a * (1.0 - a);
    case MB_ACTIVATION_LEAKY_RELU: return a > 0 ? 1.0 : 0.01;
    case MB_ACTIVATION_ELU: return a > 0 ? 1.0 : a + 1.0;
    case MB_ACTIVATION_SELU:
        return a > 0 ? 1.0507009873554804934193349852946
                     : a + 1.0507009873554804934193349852946 * 1.6732632423543772848170429916717;
    default: return 1.0;
    }
}

/* Target value of row i, output j as a double (class indices become one-hot / 0-1 labels). */
static inline double ref_target(const ref_net *net, const void *y, mb_targets yt, int64_t i,
                                int64_t j)
{
    int64_t n_out = net->sizes[net->n_layers - 1];
    if (yt == MB_TARGETS_CLASS_INDEX) {
        int32_t c = ((const int32_t *)y)[i];
        if (n_out == 1)
            return (double)c;
        return c == j ? 1.0 : 0.0;
    }
    return (double)((const float *)y)[i * n_out + j];
}

/*
 * Forward pass in double for rows x (m, n_in). Any output pointer may be NULL:
 *   out (m, n_out): the documented outputs (probabilities or values);
 *   cost, acc: the documented cost and accuracy (acc NaN for MSE) against y (may be NULL
 *   if neither cost, acc nor grad is wanted);
 *   grad (n_params): the gradient of the cost.
 * Returns 0 on success, -1 if out of memory.
 */
static inline int ref_eval(const ref_net *net, const float *params, const float *x, const void *y,
                           mb_targets yt, int64_t m, double *out, double *cost, double *acc,
                           double *grad)
{
    double *A[REF_MAX_LAYERS], *Z[REF_MAX_LAYERS]; /* outputs, and z before the activation */
    int64_t L = net->n_layers - 1; /* number of weight layers */
    int64_t n_out = net->sizes[L];
    int64_t l, i, j, k;
    double *dZ = NULL, *dPrev = NULL;
    int rc = -1;
    for (l = 0; l <= L; l++)
        A[l] = Z[l] = NULL;
    for (l = 0; l <= L; l++) {
        A[l] = (double *)malloc(sizeof(double) * (size_t)(m * net->sizes[l]));
        Z[l] = (double *)malloc(sizeof(double) * (size_t)(m * net->sizes[l]));
        if (!A[l] || !Z[l])
            goto done;
    }
    for (i = 0; i < m * net->sizes[0]; i++)
        A[0][i] = x[i];
    for (l = 0; l < L; l++) {
        int64_t n_in = net->sizes[l], n_o = net->sizes[l + 1];
        const float *W = params + ref_w_offset(net, l);
        const float *b = params + ref_b_offset(net, l);
        for (i = 0; i < m; i++) {
            for (j = 0; j < n_o; j++) {
                double z = b[j];
                for (k = 0; k < n_in; k++)
                    z += A[l][i * n_in + k] * (double)W[j * n_in + k];
                Z[l + 1][i * n_o + j] = z;
                if (l + 1 < L)
                    z = ref_act(net->hidden[l], z);
                else if (net->loss == MB_LOSS_BINARY_CROSS_ENTROPY)
                    z = ref_act(MB_ACTIVATION_SIGMOID, z);
                else if (net->loss == MB_LOSS_POISSON)
                    z = exp(z);
                A[l + 1][i * n_o + j] = z;
            }
            if (l + 1 == L && net->loss == MB_LOSS_CROSS_ENTROPY) {
                double mx = A[L][i * n_o], s = 0;
                for (j = 1; j < n_o; j++)
                    if (A[L][i * n_o + j] > mx)
                        mx = A[L][i * n_o + j];
                for (j = 0; j < n_o; j++)
                    s += exp(A[L][i * n_o + j] - mx);
                for (j = 0; j < n_o; j++)
                    A[L][i * n_o + j] = exp(A[L][i * n_o + j] - mx) / s;
            }
        }
    }
    if (out)
        memcpy(out, A[L], sizeof(double) * (size_t)(m * n_out));
    if (cost || acc) {
        double c = 0, hits = 0;
        for (i = 0; i < m; i++) {
            if (net->loss == MB_LOSS_CROSS_ENTROPY) {
                int64_t best = 0, tbest = 0;
                for (j = 0; j < n_out; j++) {
                    double t = ref_target(net, y, yt, i, j);
                    if (t != 0)
                        c -= t * log(A[L][i * n_out + j]);
                    if (A[L][i * n_out + j] > A[L][i * n_out + best])
                        best = j;
                    if (t > ref_target(net, y, yt, i, tbest))
                        tbest = j;
                }
                hits += best == tbest;
            } else {
                for (j = 0; j < n_out; j++) {
                    double a = A[L][i * n_out + j], t = ref_target(net, y, yt, i, j);
                    if (net->loss == MB_LOSS_MSE) {
                        c += (a - t) * (a - t);
                    } else if (net->loss == MB_LOSS_POISSON) {
                        c += (t > 0 ? t * log(t / a) : 0) - t + a;
                    } else {
                        c -= t * log(a) + (1 - t) * log(1 - a);
                        hits += (a >= 0.5) == (t >= 0.5);
                    }
                }
            }
        }
        if (net->loss == MB_LOSS_CROSS_ENTROPY) {
            c /= (double)m;
            hits /= (double)m;
        } else {
            c /= (double)(m * n_out);
            hits /= (double)(m * n_out);
        }
        if (cost)
            *cost = c;
        if (acc)
            *acc = net->loss == MB_LOSS_MSE || net->loss == MB_LOSS_POISSON ? NAN : hits;
    }
    if (grad) {
        int64_t maxw = 0;
        for (l = 0; l <= L; l++)
            if (net->sizes[l] > maxw)
                maxw = net->sizes[l];
        dZ = (double *)malloc(sizeof(double) * (size_t)(m * maxw));
        dPrev = (double *)malloc(sizeof(double) * (size_t)(m * maxw));
        if (!dZ || !dPrev)
            goto done;
        for (i = 0; i < m; i++)
            for (j = 0; j < n_out; j++) {
                double a = A[L][i * n_out + j], t = ref_target(net, y, yt, i, j);
                if (net->loss == MB_LOSS_MSE)
                    dZ[i * n_out + j] = 2.0 * (a - t) / (double)(m * n_out);
                else if (net->loss == MB_LOSS_BINARY_CROSS_ENTROPY ||
                         net->loss == MB_LOSS_POISSON)
                    dZ[i * n_out + j] = (a - t) / (double)(m * n_out);
                else
                    dZ[i * n_out + j] = (a - t) / (double)m;
            }
        for (l = L - 1; l >= 0; l--) {
            int64_t n_in = net->sizes[l], n_o = net->sizes[l + 1];
            double *gW = grad + ref_w_offset(net, l), *gb = grad + ref_b_offset(net, l);
            const float *W = params + ref_w_offset(net, l);
            for (j = 0; j < n_o; j++) {
                double sb = 0;
                for (k = 0; k < n_in; k++) {
                    double s = 0;
                    for (i = 0; i < m; i++)
                        s += dZ[i * n_o + j] * A[l][i * n_in + k];
                    gW[j * n_in + k] = s;
                }
                for (i = 0; i < m; i++)
                    sb += dZ[i * n_o + j];
                gb[j] = sb;
            }
            if (l > 0) {
                double *t;
                for (i = 0; i < m; i++)
                    for (k = 0; k < n_in; k++) {
                        double s = 0;
                        for (j = 0; j < n_o; j++)
                            s += dZ[i * n_o + j] * (double)W[j * n_in + k];
                        dPrev[i * n_in + k] =
                            s * ref_act_deriv(net->hidden[l - 1], A[l][i * n_in + k], Z[l][i * n_in + k]);
                    }
                t = dZ;
                dZ = dPrev;
                dPrev = t;
            }
        }
    }
    rc = 0;
done:
    for (l = 0; l <= L; l++) {
        free(A[l]);
        free(Z[l]);
    }
    free(dZ);
    free(dPrev);
    return rc;
}

/* ---- helpers ------------------------------------------------------------------------ */
/* Writes a version 1.0 .npy file as numpy's format describes it: magic, version, the header
 * dict padded with spaces to a multiple of 64 bytes, then `bytes` bytes of data (which may
 * disagree with `shape`, for tests of bad files). Returns 0, or -1 if it cannot. */
static inline int npy_write(const char *path, const char *descr, const char *shape, const void *data,
                            size_t bytes, int fortran)
{
    char header[256];
    int len = snprintf(header, sizeof header, "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }",
                       descr, fortran ? "True" : "False", shape);
    if (len < 0 || len + 64 > (int)sizeof header) return -1;
    while ((10 + len + 1) % 64 != 0) header[len++] = ' ';
    header[len++] = '\n';
    FILE *f = fopen(path, "wb");
    if (f == NULL) return -1;
    unsigned char hl[2] = {(unsigned char)(len & 0xFF), (unsigned char)(len >> 8)};
    int ok = fwrite("\x93NUMPY\x01\x00", 1, 8, f) == 8 && fwrite(hl, 1, 2, f) == 2 &&
             fwrite(header, 1, (size_t)len, f) == (size_t)len && fwrite(data, 1, bytes, f) == bytes;
    return fclose(f) == 0 && ok ? 0 : -1;
}


/* A deterministic test-data generator, independent of the library. */
typedef struct tdata_rng {
    uint64_t s;
} tdata_rng;

static inline double tdata_uniform(tdata_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * (double)(ref_splitmix64(&r->s) >> 11) * (1.0 / 9007199254740992.0);
}

static inline void tdata_fill(float *p, int64_t n, uint64_t seed, double lo, double hi)
{
    tdata_rng r;
    int64_t i;
    r.s = seed;
    for (i = 0; i < n; i++)
        p[i] = (float)tdata_uniform(&r, lo, hi);
}

static inline void tdata_classes(int32_t *y, int64_t m, int32_t n_classes, uint64_t seed)
{
    tdata_rng r;
    int64_t i;
    r.s = seed;
    for (i = 0; i < m; i++)
        y[i] = (int32_t)(ref_splitmix64(&r.s) % (uint64_t)n_classes);
}

/* Soft targets: non-negative rows summing to 1 (float (m, n)). */
static inline void tdata_soft(float *y, int64_t m, int64_t n, uint64_t seed)
{
    int64_t i, j;
    tdata_fill(y, m * n, seed, 0.05, 1.0);
    for (i = 0; i < m; i++) {
        double s = 0;
        for (j = 0; j < n; j++)
            s += y[i * n + j];
        for (j = 0; j < n; j++)
            y[i * n + j] = (float)(y[i * n + j] / s);
    }
}

static inline int64_t model_n_params(const mb_model *model)
{
    mb_model_info info;
    if (mb_model_get_info(model, &info) != MB_OK)
        return -1;
    return info.n_parameters;
}

static inline int64_t model_epochs(const mb_model *model)
{
    mb_model_info info;
    if (mb_model_get_info(model, &info) != MB_OK)
        return -1;
    return info.epochs_trained;
}

/* malloc'd copy of the parameters (NULL on failure); *n receives their count. */
static inline float *model_params(const mb_model *model, int64_t *n)
{
    int64_t np = model_n_params(model);
    float *p;
    if (np <= 0)
        return NULL;
    p = (float *)malloc(sizeof(float) * (size_t)np);
    if (!p)
        return NULL;
    if (mb_model_get_parameters(model, p, np) != MB_OK) {
        free(p);
        return NULL;
    }
    if (n)
        *n = np;
    return p;
}

/* 1 if the model's parameters are bit-identical to p[0..n) and it has `epochs` epochs. */
static inline int model_same(const mb_model *model, const float *p, int64_t n, int64_t epochs)
{
    int64_t n2 = 0;
    float *q = model_params(model, &n2);
    int same = q != NULL && n2 == n && memcmp(p, q, sizeof(float) * (size_t)n) == 0 &&
               model_epochs(model) == epochs;
    free(q);
    return same;
}

static inline int models_equal(const mb_model *a, const mb_model *b)
{
    int64_t na = 0, nb = 0;
    float *pa = model_params(a, &na), *pb = model_params(b, &nb);
    int same = pa && pb && na == nb && memcmp(pa, pb, sizeof(float) * (size_t)na) == 0;
    free(pa);
    free(pb);
    return same;
}

static inline int all_finite_f(const float *p, int64_t n)
{
    int64_t i;
    for (i = 0; i < n; i++)
        if (!isfinite(p[i]))
            return 0;
    return 1;
}

/* Creates a model (NULL on failure) with one hidden activation for all hidden layers. */
static inline mb_model *make_model(const int64_t *sizes, int64_t n, mb_activation hidden,
                                   mb_loss loss, uint64_t seed)
{
    mb_model_options o;
    mb_model *model = NULL;
    mb_model_options_init(&o);
    o.hidden_activation = hidden;
    o.loss = loss;
    o.seed = seed;
    if (mb_model_create(sizes, n, &o, &model) != MB_OK)
        return NULL;
    return model;
}

static inline void make_ref_net(ref_net *net, const int64_t *sizes, int64_t n,
                                mb_activation hidden, mb_loss loss)
{
    int64_t i;
    memset(net, 0, sizeof *net);
    net->n_layers = n;
    for (i = 0; i < n; i++)
        net->sizes[i] = sizes[i];
    for (i = 0; i + 2 < n; i++)
        net->hidden[i] = hidden;
    net->loss = loss;
}

#endif /* MB_TEST_REF_H */
