/* Element-wise work of a layer's forward and backward, and the softmax cost: see
 * include/layers.h.
 *
 * Measured on this project's machine (AMD Zen 5, one core; W1: 784-128-10 ReLU/softmax,
 * 60,000 rows, batches of 256, OpenBLAS's own kernels), the Swift loops, built for baseline
 * x86-64, took about 9 % of an epoch (12 ms of 0.133 s): the softmax cost 4.5 % (a third of
 * it in expf), db's column sums 1.8 % (a scalar loop: Swift cannot prove that db and dz do
 * not overlap), the ReLU's backward 1.4 % and its forward 1.0 %. */
#include "layers.h"
#include "cpu.h"

#include <math.h>

/* Bit-identical to the Swift loops: no contraction into fused multiply-adds. */
#pragma clang fp contract(off)

/* Swift's max(x, y) for Comparable: y >= x ? y : x. */
static inline __attribute__((always_inline)) float swift_max(float x, float y) { return y >= x ? y : x; }

static inline __attribute__((always_inline)) void bias_relu_loop(
    float *restrict za, const float *restrict bias, size_t rows, size_t width)
{
    for (size_t r = 0; r < rows; r++) {
        float *restrict row = za + r * width;
        for (size_t j = 0; j < width; j++) row[j] = swift_max(row[j] + bias[j], 0.0f);
    }
}

static inline __attribute__((always_inline)) void bias_add_loop(
    float *restrict za, const float *restrict bias, size_t rows, size_t width)
{
    for (size_t r = 0; r < rows; r++) {
        float *restrict row = za + r * width;
        for (size_t j = 0; j < width; j++) row[j] = row[j] + bias[j];
    }
}

static inline __attribute__((always_inline)) void relu_backward_loop(
    float *restrict dza, const float *restrict a, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        float d = dza[i];
        dza[i] = a[i] > 0 ? d : 0.0f;
    }
}

static inline __attribute__((always_inline)) void column_sums_loop(
    float *restrict sums, const float *restrict m, size_t rows, size_t width)
{
    for (size_t r = 0; r < rows; r++) {
        const float *restrict row = m + r * width;
        for (size_t j = 0; j < width; j++) sums[j] += row[j];
    }
}

/* The rows' loop is scalar (ten outputs do not fill a vector, and expf is libm's); what
 * it gains over Swift is the per-row switch and optional unwrapping left out. One expf per
 * logit: p_j = e_j / sum (an earlier form took e^(z_j - max - log sum), a second expf). */
static inline __attribute__((always_inline)) double softmax_cross_entropy_loop(
    float *restrict dz, const float *restrict z, const int32_t *restrict classes, const float *restrict weights,
    size_t rows, size_t outputs, float scale, double weight_scale)
{
    double total = 0;
    for (size_t r = 0; r < rows; r++) {
        const float *restrict zr = z + r * outputs;
        float *restrict dr = dz + r * outputs;
        const float w = weights ? weights[r] : 1.0f;
        const float s = weights ? (float)((double)w * weight_scale) : scale;
        float zmax = zr[0];
        for (size_t j = 1; j < outputs; j++) zmax = swift_max(zmax, zr[j]);
        float sum = 0;
        for (size_t j = 0; j < outputs; j++) {
            const float e = expf(zr[j] - zmax);
            dr[j] = e;
            sum += e;
        }
        const float log_sum = logf(sum);
        const float inverse = 1 / sum;
        const size_t c = (size_t)classes[r];
        const float row_loss = -(zr[c] - zmax - log_sum);
        for (size_t j = 0; j < outputs; j++) dr[j] = dr[j] * inverse * s;
        dr[c] -= s;
        total += (double)w * (double)row_loss;
    }
    return total;
}

/* SplitMix64's output with its state set to v (Generator.mix). */
static inline __attribute__((always_inline)) uint64_t splitmix64_mix(uint64_t v)
{
    uint64_t z = v + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static inline __attribute__((always_inline)) void dropout_loop(
    float *restrict dropped, float *restrict mask, const float *restrict a, size_t rows, size_t width, uint64_t key,
    size_t first_row, uint32_t threshold, float scale)
{
    for (size_t r = 0; r < rows; r++) {
        const uint64_t base = (uint64_t)(first_row + r) * (uint64_t)width;
        float *restrict dr = dropped + r * width, *restrict mr = mask + r * width;
        const float *restrict ar = a + r * width;
        for (size_t j = 0; j < width; j++) {
            const uint32_t draw = (uint32_t)(splitmix64_mix(key ^ (base + (uint64_t)j)) >> 40);
            const float m = draw < threshold ? 0.0f : scale;
            mr[j] = m;
            dr[j] = ar[j] * m;
        }
    }
}

static inline __attribute__((always_inline)) void multiply_loop(float *restrict d, const float *restrict m, size_t count)
{
    for (size_t i = 0; i < count; i++) d[i] = d[i] * m[i];
}

#define DROPOUT_PARAMETERS                                                                       \
    float *dropped, float *mask, const float *a, size_t rows, size_t width, uint64_t key, size_t first_row, \
        uint32_t threshold, float scale
#define DROPOUT_ARGUMENTS dropped, mask, a, rows, width, key, first_row, threshold, scale
#define MULTIPLY_PARAMETERS float *d, const float *m, size_t count
#define MULTIPLY_ARGUMENTS d, m, count
#define BIAS_PARAMETERS float *za, const float *bias, size_t rows, size_t width
#define BIAS_ARGUMENTS za, bias, rows, width
#define RELU_PARAMETERS float *dza, const float *a, size_t count
#define RELU_ARGUMENTS dza, a, count
#define SUMS_PARAMETERS float *sums, const float *m, size_t rows, size_t width
#define SUMS_ARGUMENTS sums, m, rows, width
#define SOFTMAX_PARAMETERS                                                                       \
    float *dz, const float *z, const int32_t *classes, const float *weights, size_t rows, size_t outputs, float scale, \
        double weight_scale
#define SOFTMAX_ARGUMENTS dz, z, classes, weights, rows, outputs, scale, weight_scale

typedef void (*bias_function)(BIAS_PARAMETERS);
typedef void (*relu_function)(RELU_PARAMETERS);
typedef void (*sums_function)(SUMS_PARAMETERS);
typedef double (*softmax_function)(SOFTMAX_PARAMETERS);
typedef void (*dropout_function)(DROPOUT_PARAMETERS);
typedef void (*multiply_function)(MULTIPLY_PARAMETERS);

/* Each kernel once per width, chosen from CPUID at the first call (cpu.h). */
MBM_PER_WIDTH(void, bias_relu, BIAS_PARAMETERS, bias_relu_loop(BIAS_ARGUMENTS))
MBM_PER_WIDTH(void, bias_add, BIAS_PARAMETERS, bias_add_loop(BIAS_ARGUMENTS))
MBM_PER_WIDTH(void, relu_backward, RELU_PARAMETERS, relu_backward_loop(RELU_ARGUMENTS))
MBM_PER_WIDTH(void, column_sums, SUMS_PARAMETERS, column_sums_loop(SUMS_ARGUMENTS))
MBM_PER_WIDTH(double, softmax, SOFTMAX_PARAMETERS, return softmax_cross_entropy_loop(SOFTMAX_ARGUMENTS))
MBM_PER_WIDTH(void, dropout, DROPOUT_PARAMETERS, dropout_loop(DROPOUT_ARGUMENTS))
MBM_PER_WIDTH(void, multiply, MULTIPLY_PARAMETERS, multiply_loop(MULTIPLY_ARGUMENTS))

static bias_function bias_relu_chosen, bias_add_chosen;
static relu_function relu_backward_chosen;
static sums_function column_sums_chosen;
static softmax_function softmax_chosen;
static dropout_function dropout_chosen;
static multiply_function multiply_chosen;

void mbm_bias_relu(BIAS_PARAMETERS)
{
    MBM_CHOSEN(bias_function, bias_relu_chosen, choose_bias_relu)(BIAS_ARGUMENTS);
}

void mbm_bias_add(BIAS_PARAMETERS) { MBM_CHOSEN(bias_function, bias_add_chosen, choose_bias_add)(BIAS_ARGUMENTS); }

void mbm_relu_backward(RELU_PARAMETERS)
{
    MBM_CHOSEN(relu_function, relu_backward_chosen, choose_relu_backward)(RELU_ARGUMENTS);
}

void mbm_column_sums(SUMS_PARAMETERS)
{
    MBM_CHOSEN(sums_function, column_sums_chosen, choose_column_sums)(SUMS_ARGUMENTS);
}

double mbm_softmax_cross_entropy(SOFTMAX_PARAMETERS)
{
    return MBM_CHOSEN(softmax_function, softmax_chosen, choose_softmax)(SOFTMAX_ARGUMENTS);
}

void mbm_dropout(DROPOUT_PARAMETERS)
{
    MBM_CHOSEN(dropout_function, dropout_chosen, choose_dropout)(DROPOUT_ARGUMENTS);
}

void mbm_multiply(MULTIPLY_PARAMETERS)
{
    MBM_CHOSEN(multiply_function, multiply_chosen, choose_multiply)(MULTIPLY_ARGUMENTS);
}
