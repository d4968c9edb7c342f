/* tanh and the logistic function over a layer's outputs, with the C library's vector math
 * (see include/layers.h, "Vector math").
 *
 * glibc's libmvec (the x86-64 vector ABI's functions: _ZGVeN16v_tanhf is tanhf on 16 floats
 * in a zmm register, _ZGVdN8v_ on 8 in a ymm, _ZGVbN4v_ on 4 in an xmm; tanhf since glibc
 * 2.35, expf since 2.22) is loaded at the first call with dlopen, not linked: a library
 * without it (an older glibc, musl) runs the C library's scalar tanhf and expf instead, the
 * Swift loops' own functions, bit for bit. The width is this CPU's (cpu.h), so the AVX-512
 * functions need AVX-512F, the AVX2 ones AVX2.
 *
 * Measured on this project's machine (an AMD Zen 4, one core, W1: 784-128-10 with tanh or
 * logistic hidden units, 60,000 rows in batches of 256): scalar tanhf took 0.37 s of a
 * 0.62 s epoch (a tanh network trained 1.48 x slower than scikit-learn's, whose numpy tanh
 * is vectorised), expf's logistic 0.11 s of 0.36 s; see bench/activations.py for what the
 * vector functions give. */
#include "layers.h"
#include "cpu.h"

#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <string.h>

/* Bit-identical scalar forms (no contraction into fused multiply-adds). */
#pragma clang fp contract(off)

/* The Swift loops' forms: Activation.forwardPlain (.tanh, .sigmoid) and `logistic`. */
static inline float scalar_logistic(float z)
{
    if (z >= 0)
        return 1 / (1 + expf(-z));
    const float e = expf(z);
    return e / (1 + e);
}

static void bias_add_rows(float *restrict za, const float *restrict bias, size_t rows, size_t width)
{
    for (size_t r = 0; r < rows; r++) {
        float *restrict row = za + r * width;
        for (size_t j = 0; j < width; j++) row[j] = row[j] + bias[j];
    }
}

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
typedef float v16 __attribute__((vector_size(64)));
typedef float v8 __attribute__((vector_size(32)));
typedef float v4 __attribute__((vector_size(16)));
typedef v16 (*v16_function)(v16);
typedef v8 (*v8_function)(v8);
typedef v4 (*v4_function)(v4);

/* libmvec's functions for this CPU's width (NULL: none), found once (find_once). */
static struct {
    int width;
    void *tanh, *exp;
} found;
static pthread_once_t found_once = PTHREAD_ONCE_INIT;

static void find_vector_math(void)
{
    int width = mbm_vector_width();
    const char *tanh_name = width == 512 ? "_ZGVeN16v_tanhf" : width == 256 ? "_ZGVdN8v_tanhf" : "_ZGVbN4v_tanhf";
    const char *exp_name = width == 512 ? "_ZGVeN16v_expf" : width == 256 ? "_ZGVdN8v_expf" : "_ZGVbN4v_expf";
    /* (The library stays loaded for the process: its functions are kept.) */
    void *library = dlopen("libmvec.so.1", RTLD_NOW | RTLD_LOCAL);
    void *tanh_function = library ? dlsym(library, tanh_name) : NULL;
    void *exp_function = library ? dlsym(library, exp_name) : NULL;
    found.width = width;
    found.tanh = tanh_function && exp_function ? tanh_function : NULL;
    found.exp = tanh_function && exp_function ? exp_function : NULL;
}

static void find_once(void) { pthread_once(&found_once, find_vector_math); }

/* f over x (count), in place, L floats at a time; the tail through a padded copy, so that
 * every element goes through the same function whatever its position. */
#define MAP_LANES(V, L, f, x, count)                                                             \
    do {                                                                                         \
        size_t i_ = 0;                                                                           \
        for (; i_ + (L) <= (count); i_ += (L)) {                                                 \
            V v_;                                                                                \
            memcpy(&v_, (x) + i_, sizeof v_);                                                    \
            v_ = (f)(v_);                                                                        \
            memcpy((x) + i_, &v_, sizeof v_);                                                    \
        }                                                                                        \
        if (i_ < (count)) {                                                                      \
            V v_ = {0};                                                                          \
            memcpy(&v_, (x) + i_, ((count) - i_) * sizeof(float));                               \
            v_ = (f)(v_);                                                                        \
            memcpy((x) + i_, &v_, ((count) - i_) * sizeof(float));                               \
        }                                                                                        \
    } while (0)

/* The logistic function from exp(-|z|): 1 / (1 + e) for z >= 0, e / (1 + e) below (no
 * overflow), `scalar_logistic`'s form with the vector exp. */
#define LOGISTIC_LANES(V, L, vexp, x, count)                                                     \
    do {                                                                                         \
        for (size_t i_ = 0; i_ < (count); i_ += (L)) {                                           \
            size_t n_ = (count) - i_ < (L) ? (count) - i_ : (L);                                 \
            V z_ = {0}, t_;                                                                      \
            memcpy(&z_, (x) + i_, n_ * sizeof(float));                                           \
            for (int k_ = 0; k_ < (L); k_++) t_[k_] = z_[k_] >= 0 ? -z_[k_] : z_[k_];            \
            V e_ = (vexp)(t_);                                                                   \
            for (int k_ = 0; k_ < (L); k_++)                                                     \
                z_[k_] = z_[k_] >= 0 ? 1 / (1 + e_[k_]) : e_[k_] / (1 + e_[k_]);                 \
            memcpy((x) + i_, &z_, n_ * sizeof(float));                                           \
        }                                                                                        \
    } while (0)

__attribute__((target("avx512f"))) static void tanh_512(float *x, size_t count)
{
    MAP_LANES(v16, 16, (v16_function)found.tanh, x, count);
}
__attribute__((target("avx2"))) static void tanh_256(float *x, size_t count)
{
    MAP_LANES(v8, 8, (v8_function)found.tanh, x, count);
}
static void tanh_128(float *x, size_t count) { MAP_LANES(v4, 4, (v4_function)found.tanh, x, count); }

__attribute__((target("avx512f"))) static void logistic_512(float *x, size_t count)
{
    LOGISTIC_LANES(v16, 16, (v16_function)found.exp, x, count);
}
__attribute__((target("avx2"))) static void logistic_256(float *x, size_t count)
{
    LOGISTIC_LANES(v8, 8, (v8_function)found.exp, x, count);
}
static void logistic_128(float *x, size_t count) { LOGISTIC_LANES(v4, 4, (v4_function)found.exp, x, count); }

int mbm_vector_math(void)
{
    find_once();
    return found.tanh != NULL;
}

void mbm_bias_tanh(float *za, const float *bias, size_t rows, size_t width)
{
    bias_add_rows(za, bias, rows, width);
    const size_t count = rows * width;
    if (!mbm_vector_math()) {
        for (size_t i = 0; i < count; i++) za[i] = tanhf(za[i]);
        return;
    }
    if (found.width == 512)
        tanh_512(za, count);
    else if (found.width == 256)
        tanh_256(za, count);
    else
        tanh_128(za, count);
}

void mbm_bias_sigmoid(float *za, const float *bias, size_t rows, size_t width)
{
    bias_add_rows(za, bias, rows, width);
    const size_t count = rows * width;
    if (!mbm_vector_math()) {
        for (size_t i = 0; i < count; i++) za[i] = scalar_logistic(za[i]);
        return;
    }
    if (found.width == 512)
        logistic_512(za, count);
    else if (found.width == 256)
        logistic_256(za, count);
    else
        logistic_128(za, count);
}
#else
int mbm_vector_math(void) { return 0; }

void mbm_bias_tanh(float *za, const float *bias, size_t rows, size_t width)
{
    bias_add_rows(za, bias, rows, width);
    for (size_t i = 0; i < rows * width; i++) za[i] = tanhf(za[i]);
}

void mbm_bias_sigmoid(float *za, const float *bias, size_t rows, size_t width)
{
    bias_add_rows(za, bias, rows, width);
    for (size_t i = 0; i < rows * width; i++) za[i] = scalar_logistic(za[i]);
}
#endif
