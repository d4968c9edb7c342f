#ifndef MINIBATCH_CMATRIX_ROWS_H
#define MINIBATCH_CMATRIX_ROWS_H
/* Element-wise loops of every mini-batch, compiled for the CPU's vector width (AVX-512, AVX2
 * or baseline SSE2, chosen from CPUID at the first call, as update.h's rules are). Each is
 * the fast path of a loop whose readable form is in Swift, with the same operations in the
 * same order and no fused multiply-adds, so the results are bit-identical (tested):
 *   mbm_gather_measured  Shuffle.gatherRowsMeasuredPlain (and mbm_gather_measured_split)
 *   mbm_magnitude        Magnitude.measuredPlain
 *   mbm_sgd_step         GradientDescent.stepPlain
 * The library itself is built for baseline x86-64 (SSE2), where these loops ran at a third
 * to a half of their AVX-512 speed (see rows.c). */
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* out row k = x row rows[k], for k < count, rows of `features` floats; the rows `ahead`
 * places later are prefetched while row k is copied. Returns the largest |value| copied as
 * its bit pattern with the sign cleared (0 for none): 0x7F800000 or more when a NaN or an
 * Inf was copied. */
int32_t mbm_gather_measured(float *out, const float *x, size_t features, const long *rows, size_t count,
                            size_t ahead);

/* mbm_gather_measured where X lies in two places: row r is row r of `x` for r < split,
 * else row r of `rest` (both pointers to where X's row 0 is or would be). X held in part
 * and the rest of X in a mapping of its file (mapped.h). */
int32_t mbm_gather_measured_split(float *out, const float *x, size_t split, const float *rest,
                                  size_t features, const long *rows, size_t count, size_t ahead);

/* The largest |x[i]| for i < n, as mbm_gather_measured returns it. */
int32_t mbm_magnitude(const float *x, size_t n);

/* out[i] = p[i] - rate * g0[i], or p[i] - rate * (g0[i] + g1[i]) when g1 is not NULL, for
 * i < n. Returns 1 if every value written is finite. */
int mbm_sgd_step(size_t n, const float *p, float *out, const float *g0, const float *g1, float rate);

#ifdef __cplusplus
}
#endif
#endif
