/* Element-wise loops of every mini-batch for the CPU's vector width: see include/rows.h.
 *
 * Measured on this project's machine (AMD Zen 5, one core; W1: 784 features, 60,000 rows,
 * batches of 256 gathered in a random order from 188 MB): the gather with its magnitude took
 * 28 ms an epoch compiled for SSE2 and 11-13 ms for AVX2 or AVX-512 (a plain memcpy of the
 * rows, 9 ms); in-memory training spent 16 % of a one-thread epoch in the SSE2 gather. */
#include "rows.h"
#include "cpu.h"

#include <string.h>

/* Bit-identical to the Swift loops: no contraction into fused multiply-adds. */
#pragma clang fp contract(off)

/* Asks for the cache lines of a row of `bytes` bytes. */
static inline __attribute__((always_inline)) void prefetch_row(const float *row, size_t bytes)
{
    for (size_t b = 0; b < bytes; b += 64)
        __builtin_prefetch((const char *)row + b);
}

/* Row `row` of X: in `x` below row `split`, else in `rest` (both indexed from X's row 0). */
static inline __attribute__((always_inline)) const float *source_row(
    const float *x, size_t split, const float *rest, size_t features, long row)
{
    return ((size_t)row < split ? x : rest) + (size_t)row * features;
}

static inline __attribute__((always_inline)) int32_t gather_loop(
    float *restrict out, const float *x, size_t split, const float *rest, size_t features,
    const long *restrict rows, size_t count, size_t ahead)
{
    int32_t largest = 0;
    const size_t row_bytes = features * sizeof(float);
    for (size_t k = 0; k < ahead && k < count; k++)
        prefetch_row(source_row(x, split, rest, features, rows[k]), row_bytes);
    for (size_t k = 0; k < count; k++) {
        if (k + ahead < count)
            prefetch_row(source_row(x, split, rest, features, rows[k + ahead]), row_bytes);
        const float *restrict from = source_row(x, split, rest, features, rows[k]);
        float *restrict to = out + k * features;
        for (size_t i = 0; i < features; i++) {
            float v = from[i];
            to[i] = v;
            uint32_t bits;
            memcpy(&bits, &v, 4);
            int32_t magnitude = (int32_t)(bits & 0x7FFFFFFFu);
            largest = magnitude > largest ? magnitude : largest;
        }
    }
    return largest;
}

static inline __attribute__((always_inline)) int32_t magnitude_loop(const float *restrict x, size_t n)
{
    int32_t largest = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t bits;
        memcpy(&bits, &x[i], 4);
        int32_t magnitude = (int32_t)(bits & 0x7FFFFFFFu);
        largest = magnitude > largest ? magnitude : largest;
    }
    return largest;
}

static inline __attribute__((always_inline)) int sgd_loop(
    size_t n, const float *restrict p, float *restrict out, const float *restrict g0,
    const float *restrict g1, float rate)
{
    uint32_t flags = 0;
    if (g1) {
        for (size_t i = 0; i < n; i++) {
            float v = p[i] - rate * (g0[i] + g1[i]);
            out[i] = v;
            flags |= mbm_nonfinite_bits(v);
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            float v = p[i] - rate * g0[i];
            out[i] = v;
            flags |= mbm_nonfinite_bits(v);
        }
    }
    return (flags & 0x80000000u) == 0;
}

#define GATHER_PARAMETERS                                                                        \
    float *out, const float *x, size_t split, const float *rest, size_t features, const long *rows, \
        size_t count, size_t ahead
#define GATHER_ARGUMENTS out, x, split, rest, features, rows, count, ahead
#define MAGNITUDE_PARAMETERS const float *x, size_t n
#define SGD_PARAMETERS size_t n, const float *p, float *out, const float *g0, const float *g1, float rate
#define SGD_ARGUMENTS n, p, out, g0, g1, rate

typedef int32_t (*gather_function)(GATHER_PARAMETERS);
typedef int32_t (*magnitude_function)(MAGNITUDE_PARAMETERS);
typedef int (*sgd_function)(SGD_PARAMETERS);

/* Each kernel once per width, chosen from CPUID at the first call (cpu.h). */
MBM_PER_WIDTH(int32_t, gather, GATHER_PARAMETERS, return gather_loop(GATHER_ARGUMENTS))
MBM_PER_WIDTH(int32_t, magnitude, MAGNITUDE_PARAMETERS, return magnitude_loop(x, n))
MBM_PER_WIDTH(int, sgd, SGD_PARAMETERS, return sgd_loop(SGD_ARGUMENTS))

static gather_function gather_chosen;
static magnitude_function magnitude_chosen;
static sgd_function sgd_chosen;

int32_t mbm_gather_measured(float *out, const float *x, size_t features, const long *rows, size_t count,
                            size_t ahead)
{
    return mbm_gather_measured_split(out, x, SIZE_MAX, x, features, rows, count, ahead);
}

int32_t mbm_gather_measured_split(GATHER_PARAMETERS)
{
    return MBM_CHOSEN(gather_function, gather_chosen, choose_gather)(GATHER_ARGUMENTS);
}

int32_t mbm_magnitude(MAGNITUDE_PARAMETERS)
{
    return MBM_CHOSEN(magnitude_function, magnitude_chosen, choose_magnitude)(x, n);
}

int mbm_sgd_step(SGD_PARAMETERS) { return MBM_CHOSEN(sgd_function, sgd_chosen, choose_sgd)(SGD_ARGUMENTS); }
