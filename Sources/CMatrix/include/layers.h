#ifndef MINIBATCH_CMATRIX_LAYERS_H
#define MINIBATCH_CMATRIX_LAYERS_H
/* The element-wise work of a layer's forward and backward, and of the softmax cost, compiled
 * for the CPU's vector width (AVX-512, AVX2 or baseline SSE2, chosen from CPUID at the first
 * call, as rows.h's loops are). Each is the fast path of a loop whose readable form is in
 * Swift, with the same operations in the same order and no fused multiply-adds, so the
 * results are bit-identical (tested):
 *   mbm_bias_relu, mbm_bias_add        Activation.forwardPlain (.relu, .linear)
 *   mbm_relu_backward                  Activation.backwardPlain (.relu)
 *   mbm_column_sums                    Dense.columnSumsPlain (db)
 *   mbm_softmax_cross_entropy          Loss.forwardBackwardPlain (cross-entropy, classes)
 *   mbm_dropout, mbm_multiply          Dropout.applyPlain, Dropout.backwardPlain
 * See layers.c for what they cost before. */
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* za (rows, width), row-major, in place: za = max(za + bias, 0) (a NaN stays NaN), and
 * za = za + bias. bias: (width). */
void mbm_bias_relu(float *za, const float *bias, size_t rows, size_t width);
void mbm_bias_add(float *za, const float *bias, size_t rows, size_t width);

/* dza (count), in place: dza = a > 0 ? dza : 0, with a (count) the ReLU's output. */
void mbm_relu_backward(float *dza, const float *a, size_t count);

/* sums (width) += the column sums of m (rows, width), row-major, added row by row. */
void mbm_column_sums(float *sums, const float *m, size_t rows, size_t width);

/* Softmax with cross-entropy, from the logits z (rows, outputs) and class indices classes
 * (rows), each in [0, outputs): writes dz (rows, outputs), the gradient of the weighted mean
 * cost, and returns the summed cost sum_r w_r * -log softmax(z_r)[classes[r]]. weights:
 * (rows), or NULL for weights of 1; scale: 1 / the mean's divisor, without weights;
 * weight_scale: the same in double, with weights (row r's gradient is scaled by
 * (float)(w_r * weight_scale): a total weight beyond float's range, or below its normal
 * numbers, made 1 / (float)total 0 or Inf). outputs >= 1. */
double mbm_softmax_cross_entropy(float *dz, const float *z, const int32_t *classes, const float *weights,
                                 size_t rows, size_t outputs, float scale, double weight_scale);

/* Inverted dropout of a (rows, width), row-major: for row r and unit j, with
 * h = SplitMix64's output from state key ^ ((first_row + r) * width + j), the unit is dropped
 * when (h >> 40) < threshold: mask = 0, else mask = scale; dropped = a * mask. Writes
 * mask and dropped (rows, width); a is not changed. */
void mbm_dropout(float *dropped, float *mask, const float *a, size_t rows, size_t width, uint64_t key,
                 size_t first_row, uint32_t threshold, float scale);

/* d (count) *= m (count), element by element, in place. */
void mbm_multiply(float *d, const float *m, size_t count);

/* Vector math (vector_math.c): za (rows, width), row-major, in place: za = tanh(za + bias)
 * and za = logistic(za + bias) (1 / (1 + e^-z), as `logistic`: e^z / (1 + e^z) below 0),
 * bias (width), the fast paths of Activation.forwardPlain (.tanh, .sigmoid). Unlike the
 * loops above they are not bit-identical to the Swift loops where mbm_vector_math() is 1:
 * glibc's vector tanhf and expf (libmvec, x86-64, this CPU's width) then replace the scalar
 * ones, tanh within 3 ulp of the scalar form and the logistic within 4 (every float,
 * glibc 2.36, at each width; LayerKernelTests checks a sweep at every width this CPU runs);
 * where it is 0 (no libmvec, another architecture) the scalar functions run, bit for bit. */
void mbm_bias_tanh(float *za, const float *bias, size_t rows, size_t width);
void mbm_bias_sigmoid(float *za, const float *bias, size_t rows, size_t width);
int mbm_vector_math(void);
/* What runs them, for mb_blas_info.activations: "libmvec tanhf, expf, expm1f, erfcf
 * (avx512)" (avx2, sse), or "scalar tanhf, expf, expm1f, erfcf: no libmvec". */
const char *mbm_vector_math_name(void);
/* GELU the same way (since 0.9.0): za = z Phi(z) with z = za + bias, z written to kept
 * (rows, width) where kept is not NULL; and its backward, dza (count) *= Phi(z) + z phi(z)
 * with z (count) kept by the forward: Activation.forwardPlain and backwardPlain (.gelu),
 * Phi from libmvec's erfcf where z >= -3 (below, the scalar form's double erfc, bit for
 * bit) and phi from its expf: the value within 4 ulp, the derivative within about 7.5 x
 * 2^-24 of |Phi| + |z phi| (measured, glibc 2.36; LayerKernelTests). */
void mbm_bias_gelu(float *za, const float *bias, size_t rows, size_t width, float *kept);
void mbm_gelu_backward(float *dza, const float *z, size_t count);
/* SiLU and ELU the same way (since 0.10.0): za = z sigma(z), z kept as GELU's, and dza *=
 * s (1 + z (1 - s)) with s = sigma(z) (Activation.forwardPlain and backwardPlain (.silu),
 * sigma as `logistic` from libmvec's expf); za = z > 0 ? scale z : negative_scale expm1(z)
 * (.elu: scale and negative_scale 1; .selu: lambda and lambda alpha), expm1 from libmvec's
 * expm1f: SiLU within 5 ulp and its derivative within about 22 x 2^-24 of s + |z s (1 - s)|,
 * ELU and SELU within 2 ulp (a seventh of every float, glibc 2.36, each width;
 * LayerKernelTests). */
void mbm_bias_silu(float *za, const float *bias, size_t rows, size_t width, float *kept);
void mbm_silu_backward(float *dza, const float *z, size_t count);
void mbm_bias_elu(float *za, const float *bias, size_t rows, size_t width, float scale, float negative_scale);
/* The same with libmvec's functions of vector width `width` (128, 256 or 512 bits), or with
 * the scalar forms (width 0: the fallback, bit for bit the Swift loops), for the tests of
 * every form this process can run: 1 if it ran, 0 (nothing written) if the CPU or the C
 * library lacks the width's functions, or for any other width. */
int mbm_bias_tanh_width(int width, float *za, const float *bias, size_t rows, size_t columns);
int mbm_bias_sigmoid_width(int width, float *za, const float *bias, size_t rows, size_t columns);
int mbm_bias_gelu_width(int width, float *za, const float *bias, size_t rows, size_t columns, float *kept);
int mbm_gelu_backward_width(int width, float *dza, const float *z, size_t count);
int mbm_bias_silu_width(int width, float *za, const float *bias, size_t rows, size_t columns, float *kept);
int mbm_silu_backward_width(int width, float *dza, const float *z, size_t count);
int mbm_bias_elu_width(int width, float *za, const float *bias, size_t rows, size_t columns, float scale,
                       float negative_scale);

#ifdef __cplusplus
}
#endif
#endif
