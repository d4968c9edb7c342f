/* tanh, the logistic function, GELU, SiLU, ELU and SELU over a layer's outputs (and GELU's
 * and SiLU's derivatives), with the C library's vector math (see include/layers.h, "Vector
 * math").
 *
 * glibc's libmvec (the x86-64 vector ABI's functions: _ZGVeN16v_tanhf is tanhf on 16 floats
 * in a zmm register, _ZGVdN8v_ on 8 in a ymm, _ZGVbN4v_ on 4 in an xmm; tanhf, erfcf and
 * expm1f since glibc 2.35, expf since 2.22) is loaded at the first call with dlopen, not linked: a
 * library without it (an older glibc, musl, another architecture) runs the scalar forms
 * below (width 0), the Swift loops' own functions, bit for bit. The width is this CPU's
 * (cpu.h): the AVX-512 functions need AVX-512F (glibc picks its AVX-512DQ form or a
 * fallback), the AVX2 ones AVX2, the SSE ones SSE2. They are called through vector_call.S
 * (a C call through a pointer does not pass a wide vector in registers).
 *
 * Measured on this project's machine (an AMD Zen 4, one core, W1: 784-128-10, 60,000 rows in
 * batches of 256; bench/activations.py, bench/runs/activations/): with the scalar functions
 * a tanh epoch took 0.593 s, 1.49 x scikit-learn's (whose numpy tanh is vectorised), a
 * logistic one 0.361 s, a GELU one 0.737 s; with these 0.270 s, 0.277 s and 0.308 s (ReLU
 * 0.255-0.269 s). */
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

/* GELU's Phi and phi, the Swift loops' forms (`normalDistribution`, `normalDensity` in
 * Activation.swift): Phi from erfc, in double below z = -3. */
static inline float scalar_phi(float z)
{
    if (z < -3)
        return (float)(0.5 * erfc(-(double)z * sqrt(0.5)));
    return 0.5f * erfcf(-z * (float)sqrt(0.5));
}

static inline float scalar_density(float z) { return expf(-0.5f * z * z) * (float)(1 / sqrt(2 * 3.14159265358979323846)); }

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

/* SiLU, z sigma(z), in place over za (count), z kept in `kept` where given (the Swift loop's
 * `z * logistic(z)`). */
static void scalar_silu(float *za, float *kept, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        const float z = za[i];
        if (kept != NULL)
            kept[i] = z;
        za[i] = z * scalar_logistic(z);
    }
}

/* dza *= s (1 + z (1 - s)), s = sigma(z): SiLU's derivative. */
static void scalar_silu_backward(float *dza, const float *z, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        const float s = scalar_logistic(z[i]);
        dza[i] = dza[i] * (s * (1 + z[i] * (1 - s)));
    }
}

/* ELU's form: z > 0 ? scale z : negative_scale expm1(z) (ELU: 1 and 1, exact; SELU: lambda
 * and lambda alpha), the Swift loops'. */
static void scalar_elu(float *x, size_t count, float scale, float negative_scale)
{
    for (size_t i = 0; i < count; i++) x[i] = x[i] > 0 ? scale * x[i] : negative_scale * expm1f(x[i]);
}

/* GELU, z Phi(z), in place over za (count), z kept in `kept` where given. */
static void scalar_gelu(float *za, float *kept, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        const float z = za[i];
        if (kept != NULL)
            kept[i] = z;
        za[i] = z * scalar_phi(z);
    }
}

/* dza *= Phi(z) + z phi(z), GELU's derivative. */
static void scalar_gelu_backward(float *dza, const float *z, size_t count)
{
    for (size_t i = 0; i < count; i++) dza[i] = dza[i] * (scalar_phi(z[i]) + z[i] * scalar_density(z[i]));
}

#if defined(__x86_64__) && defined(__ELF__) && (defined(__clang__) || defined(__GNUC__))
/* vector_call.S */
void mbm_vector_call16(void *function, float *x);
void mbm_vector_call8(void *function, float *x);
void mbm_vector_call4(void *function, float *x);

/* libmvec's functions, per width (index 0: 128, 1: 256, 2: 512; NULL: none), found once. */
static struct {
    void *tanh[3], *exp[3], *erfc[3], *expm1[3];
} found;
static pthread_once_t found_once = PTHREAD_ONCE_INIT;

static int width_index(int width) { return width == 512 ? 2 : width == 256 ? 1 : 0; }

static void find_vector_math(void)
{
    static const char *const tanh_names[3] = {"_ZGVbN4v_tanhf", "_ZGVdN8v_tanhf", "_ZGVeN16v_tanhf"};
    static const char *const exp_names[3] = {"_ZGVbN4v_expf", "_ZGVdN8v_expf", "_ZGVeN16v_expf"};
    static const char *const erfc_names[3] = {"_ZGVbN4v_erfcf", "_ZGVdN8v_erfcf", "_ZGVeN16v_erfcf"};
    static const char *const expm1_names[3] = {"_ZGVbN4v_expm1f", "_ZGVdN8v_expm1f", "_ZGVeN16v_expm1f"};
    /* (The library stays loaded for the process: its functions are kept.) */
    void *library = dlopen("libmvec.so.1", RTLD_NOW | RTLD_LOCAL);
    if (library == NULL)
        return;
    for (int k = 0; k < 3; k++) {
        void *t = dlsym(library, tanh_names[k]), *e = dlsym(library, exp_names[k]), *c = dlsym(library, erfc_names[k]);
        void *m = dlsym(library, expm1_names[k]);
        if (t != NULL && e != NULL && c != NULL && m != NULL) {  /* (all four since glibc 2.35) */
            found.tanh[k] = t;
            found.exp[k] = e;
            found.erfc[k] = c;
            found.expm1[k] = m;
        }
    }
}

/* The functions of `width` (128, 256, 512), if libmvec has them and this CPU runs them. */
static int usable(int width)
{
    if (width != 128 && width != 256 && width != 512)
        return 0;
    pthread_once(&found_once, find_vector_math);
    return width <= mbm_vector_width() && found.tanh[width_index(width)] != NULL;
}

/* Calls the width's libmvec function f on buffer (16 floats, the width's lanes used). */
static void call_lanes(int width, void *f, float *buffer)
{
    if (width == 512)
        mbm_vector_call16(f, buffer);
    else if (width == 256)
        mbm_vector_call8(f, buffer);
    else
        mbm_vector_call4(f, buffer);
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
        call_lanes(width, f, buffer);
        memcpy(x + i, buffer, n * sizeof(float));
    }
}

/* The logistic (sigma) of z[0..n) (n <= the width's lanes) into s, which may be z itself:
 * 1 / (1 + e) for z >= 0, e / (1 + e) below, e = exp(-|z|) from the vector exp (no
 * overflow; `scalar_logistic`'s form); NaN stays NaN. */
static void sigma_lanes(int width, const float *z, size_t n, float *s)
{
    float e[16] = {0};
    for (size_t k = 0; k < n; k++) e[k] = z[k] >= 0 ? -z[k] : z[k];
    call_lanes(width, found.exp[width_index(width)], e);
    for (size_t k = 0; k < n; k++) s[k] = z[k] >= 0 ? 1 / (1 + e[k]) : e[k] / (1 + e[k]);
}

/* The logistic in place over x[0..count), the width's lanes at a time. */
static void logistic_lanes(int width, float *x, size_t count)
{
    const size_t lanes = (size_t)width / 32;
    for (size_t i = 0; i < count; i += lanes) sigma_lanes(width, x + i, count - i < lanes ? count - i : lanes, x + i);
}

/* Phi over z[0..n) (n <= the width's lanes) into phi: the vector erfcf where z >= -3, the
 * scalar double form below (`scalar_phi`). */
static void phi_lanes(int width, const float *z, size_t n, float *phi)
{
    float x[16] = {0};
    for (size_t k = 0; k < n; k++) x[k] = -z[k] * (float)sqrt(0.5);
    call_lanes(width, found.erfc[width_index(width)], x);
    for (size_t k = 0; k < n; k++) phi[k] = z[k] < -3 ? scalar_phi(z[k]) : 0.5f * x[k];
}

int mbm_vector_math(void) { return usable(mbm_vector_width()); }

/* za = z g(z) in place over za (count), z kept in `kept` where given, g over the width's
 * lanes by `lanes_of` (phi_lanes: GELU; sigma_lanes: SiLU). */
static void times_lanes(int width, void (*lanes_of)(int, const float *, size_t, float *), float *za, float *kept,
                        size_t count)
{
    const size_t lanes = (size_t)width / 32;
    float g[16];
    for (size_t i = 0; i < count; i += lanes) {
        const size_t n = count - i < lanes ? count - i : lanes;
        lanes_of(width, za + i, n, g);
        for (size_t k = 0; k < n; k++) {
            const float z = za[i + k];
            if (kept != NULL)
                kept[i + k] = z;
            za[i + k] = z * g[k];
        }
    }
}

/* z = za + bias, then za = z g(z) with z kept where given: the scalar form `scalar` at width
 * 0, else g by `lanes_of` (times_lanes); 0 (nothing written) where the width cannot run. */
static int bias_times_width(int width, float *za, const float *bias, size_t rows, size_t columns, float *kept,
                            void (*scalar)(float *, float *, size_t),
                            void (*lanes_of)(int, const float *, size_t, float *))
{
    if (width != 0 && !usable(width))
        return 0;
    bias_add_rows(za, bias, rows, columns);
    if (width == 0)
        scalar(za, kept, rows * columns);
    else
        times_lanes(width, lanes_of, za, kept, rows * columns);
    return 1;
}

int mbm_bias_gelu_width(int width, float *za, const float *bias, size_t rows, size_t columns, float *kept)
{
    return bias_times_width(width, za, bias, rows, columns, kept, scalar_gelu, phi_lanes);
}

int mbm_gelu_backward_width(int width, float *dza, const float *z, size_t count)
{
    if (width == 0) {
        scalar_gelu_backward(dza, z, count);
        return 1;
    }
    if (!usable(width))
        return 0;
    const size_t lanes = (size_t)width / 32;
    float phi[16], density[16];
    for (size_t i = 0; i < count; i += lanes) {
        const size_t n = count - i < lanes ? count - i : lanes;
        phi_lanes(width, z + i, n, phi);
        memset(density, 0, sizeof density);
        for (size_t k = 0; k < n; k++) density[k] = -0.5f * z[i + k] * z[i + k];
        call_lanes(width, found.exp[width_index(width)], density);
        for (size_t k = 0; k < n; k++) {
            const float d = density[k] * (float)(1 / sqrt(2 * 3.14159265358979323846));
            dza[i + k] = dza[i + k] * (phi[k] + z[i + k] * d);
        }
    }
    return 1;
}

void mbm_bias_gelu(float *za, const float *bias, size_t rows, size_t width, float *kept)
{
    if (!mbm_bias_gelu_width(mbm_vector_width(), za, bias, rows, width, kept))
        mbm_bias_gelu_width(0, za, bias, rows, width, kept);
}

void mbm_gelu_backward(float *dza, const float *z, size_t count)
{
    if (!mbm_gelu_backward_width(mbm_vector_width(), dza, z, count))
        mbm_gelu_backward_width(0, dza, z, count);
}

int mbm_bias_silu_width(int width, float *za, const float *bias, size_t rows, size_t columns, float *kept)
{
    return bias_times_width(width, za, bias, rows, columns, kept, scalar_silu, sigma_lanes);
}

int mbm_silu_backward_width(int width, float *dza, const float *z, size_t count)
{
    if (width == 0) {
        scalar_silu_backward(dza, z, count);
        return 1;
    }
    if (!usable(width))
        return 0;
    const size_t lanes = (size_t)width / 32;
    float sigma[16];
    for (size_t i = 0; i < count; i += lanes) {
        const size_t n = count - i < lanes ? count - i : lanes;
        sigma_lanes(width, z + i, n, sigma);
        for (size_t k = 0; k < n; k++) {
            const float s = sigma[k];
            dza[i + k] = dza[i + k] * (s * (1 + z[i + k] * (1 - s)));
        }
    }
    return 1;
}

int mbm_bias_elu_width(int width, float *za, const float *bias, size_t rows, size_t columns, float scale,
                       float negative_scale)
{
    if (width == 0) {
        bias_add_rows(za, bias, rows, columns);
        scalar_elu(za, rows * columns, scale, negative_scale);
        return 1;
    }
    if (!usable(width))
        return 0;
    bias_add_rows(za, bias, rows, columns);
    const size_t count = rows * columns, lanes = (size_t)width / 32;
    float m[16];
    for (size_t i = 0; i < count; i += lanes) {
        const size_t n = count - i < lanes ? count - i : lanes;
        /* (expm1 of z only where it is used: 0 for z > 0; a NaN goes through and stays) */
        memset(m, 0, sizeof m);
        for (size_t k = 0; k < n; k++) m[k] = za[i + k] > 0 ? 0 : za[i + k];
        call_lanes(width, found.expm1[width_index(width)], m);
        for (size_t k = 0; k < n; k++) za[i + k] = za[i + k] > 0 ? scale * za[i + k] : negative_scale * m[k];
    }
    return 1;
}

void mbm_bias_silu(float *za, const float *bias, size_t rows, size_t width, float *kept)
{
    if (!mbm_bias_silu_width(mbm_vector_width(), za, bias, rows, width, kept))
        mbm_bias_silu_width(0, za, bias, rows, width, kept);
}

void mbm_silu_backward(float *dza, const float *z, size_t count)
{
    if (!mbm_silu_backward_width(mbm_vector_width(), dza, z, count))
        mbm_silu_backward_width(0, dza, z, count);
}

void mbm_bias_elu(float *za, const float *bias, size_t rows, size_t width, float scale, float negative_scale)
{
    if (!mbm_bias_elu_width(mbm_vector_width(), za, bias, rows, width, scale, negative_scale))
        mbm_bias_elu_width(0, za, bias, rows, width, scale, negative_scale);
}

const char *mbm_vector_math_name(void)
{
    if (!mbm_vector_math())
        return "scalar tanhf, expf, expm1f, erfcf: no libmvec";
    int width = mbm_vector_width();
    return width == 512   ? "libmvec tanhf, expf, expm1f, erfcf (avx512)"
           : width == 256 ? "libmvec tanhf, expf, expm1f, erfcf (avx2)"
                          : "libmvec tanhf, expf, expm1f, erfcf (sse)";
}

int mbm_bias_tanh_width(int width, float *za, const float *bias, size_t rows, size_t columns)
{
    if (width == 0) {
        bias_add_rows(za, bias, rows, columns);
        scalar_tanh(za, rows * columns);
        return 1;
    }
    if (!usable(width))
        return 0;
    bias_add_rows(za, bias, rows, columns);
    map_lanes(width, found.tanh[width_index(width)], za, rows * columns);
    return 1;
}

int mbm_bias_sigmoid_width(int width, float *za, const float *bias, size_t rows, size_t columns)
{
    if (width == 0) {
        bias_add_rows(za, bias, rows, columns);
        scalar_logistics(za, rows * columns);
        return 1;
    }
    if (!usable(width))
        return 0;
    bias_add_rows(za, bias, rows, columns);
    logistic_lanes(width, za, rows * columns);
    return 1;
}

void mbm_bias_tanh(float *za, const float *bias, size_t rows, size_t width)
{
    if (!mbm_bias_tanh_width(mbm_vector_width(), za, bias, rows, width))
        mbm_bias_tanh_width(0, za, bias, rows, width);
}

void mbm_bias_sigmoid(float *za, const float *bias, size_t rows, size_t width)
{
    if (!mbm_bias_sigmoid_width(mbm_vector_width(), za, bias, rows, width))
        mbm_bias_sigmoid_width(0, za, bias, rows, width);
}
#else
int mbm_vector_math(void) { return 0; }

const char *mbm_vector_math_name(void) { return "scalar tanhf, expf, expm1f, erfcf: no libmvec"; }

int mbm_bias_silu_width(int width, float *za, const float *bias, size_t rows, size_t columns, float *kept)
{
    if (width != 0)
        return 0;
    bias_add_rows(za, bias, rows, columns);
    scalar_silu(za, kept, rows * columns);
    return 1;
}

int mbm_silu_backward_width(int width, float *dza, const float *z, size_t count)
{
    if (width != 0)
        return 0;
    scalar_silu_backward(dza, z, count);
    return 1;
}

int mbm_bias_elu_width(int width, float *za, const float *bias, size_t rows, size_t columns, float scale,
                       float negative_scale)
{
    if (width != 0)
        return 0;
    bias_add_rows(za, bias, rows, columns);
    scalar_elu(za, rows * columns, scale, negative_scale);
    return 1;
}

void mbm_bias_silu(float *za, const float *bias, size_t rows, size_t width, float *kept)
{
    mbm_bias_silu_width(0, za, bias, rows, width, kept);
}

void mbm_silu_backward(float *dza, const float *z, size_t count) { mbm_silu_backward_width(0, dza, z, count); }

void mbm_bias_elu(float *za, const float *bias, size_t rows, size_t width, float scale, float negative_scale)
{
    mbm_bias_elu_width(0, za, bias, rows, width, scale, negative_scale);
}

int mbm_bias_tanh_width(int width, float *za, const float *bias, size_t rows, size_t columns)
{
    if (width != 0)
        return 0;
    bias_add_rows(za, bias, rows, columns);
    scalar_tanh(za, rows * columns);
    return 1;
}

int mbm_bias_sigmoid_width(int width, float *za, const float *bias, size_t rows, size_t columns)
{
    if (width != 0)
        return 0;
    bias_add_rows(za, bias, rows, columns);
    scalar_logistics(za, rows * columns);
    return 1;
}

int mbm_bias_gelu_width(int width, float *za, const float *bias, size_t rows, size_t columns, float *kept)
{
    if (width != 0)
        return 0;
    bias_add_rows(za, bias, rows, columns);
    scalar_gelu(za, kept, rows * columns);
    return 1;
}

int mbm_gelu_backward_width(int width, float *dza, const float *z, size_t count)
{
    if (width != 0)
        return 0;
    scalar_gelu_backward(dza, z, count);
    return 1;
}

void mbm_bias_tanh(float *za, const float *bias, size_t rows, size_t width)
{
    mbm_bias_tanh_width(0, za, bias, rows, width);
}

void mbm_bias_sigmoid(float *za, const float *bias, size_t rows, size_t width)
{
    mbm_bias_sigmoid_width(0, za, bias, rows, width);
}

void mbm_bias_gelu(float *za, const float *bias, size_t rows, size_t width, float *kept)
{
    mbm_bias_gelu_width(0, za, bias, rows, width, kept);
}

void mbm_gelu_backward(float *dza, const float *z, size_t count) { mbm_gelu_backward_width(0, dza, z, count); }
#endif
