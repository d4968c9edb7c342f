/* tanh and the logistic function over a layer's outputs, with the C library's vector math
 * (see include/layers.h, "Vector math").
 *
 * glibc's libmvec (the x86-64 vector ABI's functions: _ZGVeN16v_tanhf is tanhf on 16 floats
 * in a zmm register, _ZGVdN8v_ on 8 in a ymm, _ZGVbN4v_ on 4 in an xmm; tanhf since glibc
 * 2.35, expf since 2.22) is loaded at the first call with dlopen, not linked: a library
 * without it (an older glibc, musl, another architecture) runs the C library's scalar tanhf
 * and expf instead, the Swift loops' own functions, bit for bit. The width is this CPU's
 * (cpu.h): the AVX-512 functions need AVX-512F (glibc picks its AVX-512DQ form or a
 * fallback), the AVX2 ones AVX2, the SSE ones SSE2. They are called through
 * vector_call.S (a C call through a pointer does not pass a wide vector in registers).
 *
 * Measured on this project's machine (an AMD Zen 4, one core, W1: 784-128-10 with tanh or
 * logistic hidden units, 60,000 rows in batches of 256; bench/activations.py,
 * bench/runs/activations/): with the scalar functions a tanh epoch took 0.586 s, 1.55 x
 * scikit-learn's 0.385 s (whose numpy tanh is vectorised; tanhf was 0.33 s of it), a
 * logistic one 0.358 s (0.88 x); with these 0.256 s and 0.299 s. */
#include "layers.h"
#include "cpu.h"

#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <string.h>

/* Bit-identical scalar forms (no contraction into fused multiply-adds). */
#pragma clang fp contract(off)

/* The Swift loops' form of the logistic: `logistic` in Activation.swift. */
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

static void scalar_tanh(float *x, size_t count)
{
    for (size_t i = 0; i < count; i++) x[i] = tanhf(x[i]);
}

static void scalar_logistics(float *x, size_t count)
{
    for (size_t i = 0; i < count; i++) x[i] = scalar_logistic(x[i]);
}

#if defined(__x86_64__) && defined(__ELF__) && (defined(__clang__) || defined(__GNUC__))
/* vector_call.S */
void mbm_vector_call16(void *function, float *x);
void mbm_vector_call8(void *function, float *x);
void mbm_vector_call4(void *function, float *x);

/* libmvec's functions, per width (index 0: 128, 1: 256, 2: 512; NULL: none), found once. */
static struct {
    void *tanh[3], *exp[3];
} found;
static pthread_once_t found_once = PTHREAD_ONCE_INIT;

static int width_index(int width) { return width == 512 ? 2 : width == 256 ? 1 : 0; }

static void find_vector_math(void)
{
    static const char *const tanh_names[3] = {"_ZGVbN4v_tanhf", "_ZGVdN8v_tanhf", "_ZGVeN16v_tanhf"};
    static const char *const exp_names[3] = {"_ZGVbN4v_expf", "_ZGVdN8v_expf", "_ZGVeN16v_expf"};
    /* (The library stays loaded for the process: its functions are kept.) */
    void *library = dlopen("libmvec.so.1", RTLD_NOW | RTLD_LOCAL);
    if (library == NULL)
        return;
    for (int k = 0; k < 3; k++) {
        void *t = dlsym(library, tanh_names[k]), *e = dlsym(library, exp_names[k]);
        if (t != NULL && e != NULL) {
            found.tanh[k] = t;
            found.exp[k] = e;
        }
    }
}

/* The functions of `width` (128, 256, 512), if libmvec has them and this CPU runs them. */
static int usable(int width)
{
    pthread_once(&found_once, find_vector_math);
    return width <= mbm_vector_width() && found.tanh[width_index(width)] != NULL;
}

/* f over x[0..count), L floats at a time through the width's trampoline; the tail through a
 * padded copy, so that every element goes through the same function whatever its place. */
static void map_lanes(int width, void *f, float *x, size_t count)
{
    const size_t lanes = (size_t)width / 32;
    float buffer[16];
    for (size_t i = 0; i < count; i += lanes) {
        const size_t n = count - i < lanes ? count - i : lanes;
        memset(buffer, 0, sizeof buffer);
        memcpy(buffer, x + i, n * sizeof(float));
        if (width == 512)
            mbm_vector_call16(f, buffer);
        else if (width == 256)
            mbm_vector_call8(f, buffer);
        else
            mbm_vector_call4(f, buffer);
        memcpy(x + i, buffer, n * sizeof(float));
    }
}

/* The logistic from exp(-|z|): 1 / (1 + e) for z >= 0, e / (1 + e) below (no overflow),
 * `scalar_logistic`'s form with the vector exp; NaN stays NaN. */
static void logistic_lanes(int width, void *vexp, float *x, size_t count)
{
    const size_t lanes = (size_t)width / 32;
    float e[16];
    for (size_t i = 0; i < count; i += lanes) {
        const size_t n = count - i < lanes ? count - i : lanes;
        memset(e, 0, sizeof e);
        for (size_t k = 0; k < n; k++) e[k] = x[i + k] >= 0 ? -x[i + k] : x[i + k];
        if (width == 512)
            mbm_vector_call16(vexp, e);
        else if (width == 256)
            mbm_vector_call8(vexp, e);
        else
            mbm_vector_call4(vexp, e);
        for (size_t k = 0; k < n; k++) x[i + k] = x[i + k] >= 0 ? 1 / (1 + e[k]) : e[k] / (1 + e[k]);
    }
}

int mbm_vector_math(void) { return usable(mbm_vector_width()); }

const char *mbm_vector_math_name(void)
{
    if (!mbm_vector_math())
        return "scalar tanhf, expf: no libmvec";
    int width = mbm_vector_width();
    return width == 512 ? "libmvec tanhf, expf (avx512)" : width == 256 ? "libmvec tanhf, expf (avx2)"
                                                                        : "libmvec tanhf, expf (sse)";
}

int mbm_bias_tanh_width(int width, float *za, const float *bias, size_t rows, size_t columns)
{
    if (!usable(width))
        return 0;
    bias_add_rows(za, bias, rows, columns);
    map_lanes(width, found.tanh[width_index(width)], za, rows * columns);
    return 1;
}

int mbm_bias_sigmoid_width(int width, float *za, const float *bias, size_t rows, size_t columns)
{
    if (!usable(width))
        return 0;
    bias_add_rows(za, bias, rows, columns);
    logistic_lanes(width, found.exp[width_index(width)], za, rows * columns);
    return 1;
}

void mbm_bias_tanh(float *za, const float *bias, size_t rows, size_t width)
{
    if (mbm_bias_tanh_width(mbm_vector_width(), za, bias, rows, width))
        return;
    bias_add_rows(za, bias, rows, width);
    scalar_tanh(za, rows * width);
}

void mbm_bias_sigmoid(float *za, const float *bias, size_t rows, size_t width)
{
    if (mbm_bias_sigmoid_width(mbm_vector_width(), za, bias, rows, width))
        return;
    bias_add_rows(za, bias, rows, width);
    scalar_logistics(za, rows * width);
}
#else
int mbm_vector_math(void) { return 0; }

const char *mbm_vector_math_name(void) { return "scalar tanhf, expf: no libmvec"; }

int mbm_bias_tanh_width(int width, float *za, const float *bias, size_t rows, size_t columns)
{
    (void)width, (void)za, (void)bias, (void)rows, (void)columns;
    return 0;
}

int mbm_bias_sigmoid_width(int width, float *za, const float *bias, size_t rows, size_t columns)
{
    (void)width, (void)za, (void)bias, (void)rows, (void)columns;
    return 0;
}

void mbm_bias_tanh(float *za, const float *bias, size_t rows, size_t width)
{
    bias_add_rows(za, bias, rows, width);
    scalar_tanh(za, rows * width);
}

void mbm_bias_sigmoid(float *za, const float *bias, size_t rows, size_t width)
{
    bias_add_rows(za, bias, rows, width);
    scalar_logistics(za, rows * width);
}
#endif
