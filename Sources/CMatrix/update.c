/* Update rules for the CPU's vector width: see include/update.h. */
#include "update.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

/* Bit-identical to the Swift rule: no contraction into fused multiply-adds. */
#pragma clang fp contract(off)

#if defined(__x86_64__) && defined(__clang__)
#define MULTIVERSION __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define MULTIVERSION
#endif

MULTIVERSION
int mbm_adam(size_t n, const float *restrict p, float *restrict out, const float *restrict g0,
             const float *restrict g1, const float *restrict m, const float *restrict v,
             float *restrict m_out, float *restrict v_out, float l2, float scale, float beta1,
             float beta2, float epsilon, float step_size, float inverse_root, float decay,
             int decoupled)
{
    const float one_beta1 = 1 - beta1, one_beta2 = 1 - beta2;
    uint32_t flags = 0;
    for (size_t i = 0; i < n; i++) {
        float w = p[i];
        float sum = g1 ? g0[i] + g1[i] : g0[i];
        float g = scale * (sum + l2 * w);
        float mm = beta1 * m[i] + one_beta1 * g;
        float vv = beta2 * v[i] + one_beta2 * g * g;
        float decayed = decoupled ? w * decay : w;
        float new_w = decayed - step_size * (mm / (sqrtf(vv) * inverse_root + epsilon));
        m_out[i] = mm;
        v_out[i] = vv;
        out[i] = new_w;
        uint32_t bits;
        memcpy(&bits, &new_w, 4);
        flags |= (bits & 0x7F800000u) + 0x00800000u;
    }
    return (flags & 0x80000000u) == 0;
}
