#ifndef MINIBATCH_CMATRIX_UPDATE_H
#define MINIBATCH_CMATRIX_UPDATE_H
/* Update rules over a range of parameters, compiled for the CPU's vector width (AVX-512,
 * AVX2 or baseline SSE2, chosen from CPUID at the first call). Each is the fast path of a rule whose readable form is in Swift
 * (Sources/MiniBatch/Training/Optimizers): the same operations in the same order, without
 * fused multiply-adds, so the results are bit-identical (tested). */
#include <stddef.h>

/* Every rule forms its gradient as g = scale * ((g0 + g1) + l2 * w), then clips it to
 * [-clip, clip]: g < -clip ? -clip : g, then g > clip ? clip : g (clip = +Inf for none),
 * then adds wd * w where wd is not 0 (PyTorch's coupled weight_decay; since 0.10.0). The
 * formulas below write this g as clamp(...). */

#ifdef __cplusplus
extern "C" {
#endif

/* Adam (AdamW when decoupled is nonzero) on n parameters, element by element:
 *   g = clamp(scale * ((g0 + g1) + l2 * w), -clip, clip)   (g1 may be NULL; see below)
 *   m' = beta1 * m + (1 - beta1) * g;  v' = beta2 * v + ((1 - beta2) * g) * g
 *   w' = (decoupled ? w * decay : w) - step_size * (m' / (sqrt(v') * inverse_root + epsilon))
 * writing w' to out, m' to m_out and v' to v_out. Returns 1 if every w' is finite. */
int mbm_adam(size_t n, const float *p, float *out, const float *g0, const float *g1,
             const float *m, const float *v, float *m_out, float *v_out, float l2, float scale, float clip, float wd,
             float beta1, float beta2, float epsilon, float step_size, float inverse_root,
             float decay, int decoupled);

/* Momentum (Nesterov's when nesterov is nonzero) on n parameters, element by element:
 *   g = clamp(scale * ((g0 + g1) + l2 * w), -clip, clip)   (g1 may be NULL; see below)
 *   b' = momentum * b + g
 *   w' = nesterov ? w - rate * (g + momentum * b') : w - rate * b'
 * writing w' to out and b' to b_out. Returns 1 if every w' is finite. */
int mbm_momentum(size_t n, const float *p, float *out, const float *g0, const float *g1,
                 const float *b, float *b_out, float l2, float scale, float clip, float wd, float momentum, float rate,
                 int nesterov);

/* RMSprop on n parameters, element by element:
 *   g = clamp(scale * ((g0 + g1) + l2 * w), -clip, clip)   (g1 may be NULL; see below)
 *   v' = rho * v + ((1 - rho) * g) * g
 *   w' = w - (rate * g) / (sqrt(v') + epsilon)
 * writing w' to out and v' to v_out. Returns 1 if every w' is finite. */
int mbm_rmsprop(size_t n, const float *p, float *out, const float *g0, const float *g1,
                const float *v, float *v_out, float l2, float scale, float clip, float wd, float rho, float epsilon,
                float rate);

/* AMSGrad: Adam (AdamW when decoupled is nonzero) with v's running maximum, element by
 * element:
 *   g = clamp(scale * ((g0 + g1) + l2 * w), -clip, clip)   (g1 may be NULL; see below)
 *   m' = beta1 * m + (1 - beta1) * g;  v' = beta2 * v + ((1 - beta2) * g) * g
 *   vmax' = vmax < v' ? v' : vmax
 *   w' = (decoupled ? w * decay : w) - step_size * (m' / (sqrt(vmax') * inverse_root + epsilon))
 * writing w' to out and m', v', vmax' to m_out, v_out, vmax_out. Returns 1 if every w' is
 * finite. */
int mbm_amsgrad(size_t n, const float *p, float *out, const float *g0, const float *g1,
                const float *m, const float *v, const float *vmax, float *m_out, float *v_out,
                float *vmax_out, float l2, float scale, float clip, float wd, float beta1, float beta2, float epsilon,
                float step_size, float inverse_root, float decay, int decoupled);

/* Adagrad on n parameters, element by element:
 *   g = clamp(scale * ((g0 + g1) + l2 * w), -clip, clip)   (g1 may be NULL; see below)
 *   s' = s + g * g
 *   w' = w - (rate * g) / (sqrt(s') + epsilon)
 * writing w' to out and s' to s_out. Returns 1 if every w' is finite. */
int mbm_adagrad(size_t n, const float *p, float *out, const float *g0, const float *g1,
                const float *s, float *s_out, float l2, float scale, float clip, float wd, float epsilon, float rate);

/* Adamax on n parameters, element by element:
 *   g = clamp(scale * ((g0 + g1) + l2 * w), -clip, clip)   (g1 may be NULL; see below)
 *   m' = beta1 * m + (1 - beta1) * g
 *   d = beta2 * u;  c = |g| + epsilon;  u' = d < c ? c : d
 *   w' = w - step_size * (m' / u')
 * writing w' to out, m' to m_out and u' to u_out. Returns 1 if every w' is finite. */
int mbm_adamax(size_t n, const float *p, float *out, const float *g0, const float *g1,
               const float *m, const float *u, float *m_out, float *u_out, float l2, float scale, float clip, float wd,
               float beta1, float beta2, float epsilon, float step_size);

/* Adadelta on n parameters, element by element (since 0.11.0):
 *   g = clamp(scale * ((g0 + g1) + l2 * w), -clip, clip)   (g1 may be NULL; see below)
 *   v' = rho * v + ((1 - rho) * g) * g
 *   d = (sqrt(u + epsilon) / sqrt(v' + epsilon)) * g
 *   u' = rho * u + ((1 - rho) * d) * d
 *   w' = w - rate * d
 * writing w' to out, v' to v_out and u' to u_out. Returns 1 if every w' is finite. */
int mbm_adadelta(size_t n, const float *p, float *out, const float *g0, const float *g1,
                 const float *v, const float *u, float *v_out, float *u_out, float l2, float scale, float clip,
                 float wd, float rho, float epsilon, float rate);

/* NAdam on n parameters, element by element:
 *   g = clamp(scale * ((g0 + g1) + l2 * w), -clip, clip)   (g1 may be NULL; see below)
 *   m' = beta1 * m + (1 - beta1) * g;  v' = beta2 * v + ((1 - beta2) * g) * g
 *   d = sqrt(v') * inverse_root + epsilon
 *   w' = ((decoupled ? w * decay : w) - gradient_coefficient * (g / d)) - momentum_coefficient * (m' / d)
 * writing w' to out, m' to m_out and v' to v_out (decoupled: PyTorch's
 * decoupled_weight_decay=True, since 0.10.0). Returns 1 if every w' is finite. */
int mbm_nadam(size_t n, const float *p, float *out, const float *g0, const float *g1,
              const float *m, const float *v, float *m_out, float *v_out, float l2, float scale, float clip, float wd,
              float beta1, float beta2, float epsilon, float inverse_root, float gradient_coefficient,
              float momentum_coefficient, float decay, int decoupled);

/* RAdam on n parameters, element by element:
 *   g = clamp(scale * ((g0 + g1) + l2 * w), -clip, clip)   (g1 may be NULL; see below)
 *   m' = beta1 * m + (1 - beta1) * g;  v' = beta2 * v + ((1 - beta2) * g) * g
 *   w' = (decoupled ? w * decay : w) - step_size * (rectified ? m' / (sqrt(v') + epsilon) : m')
 * writing w' to out, m' to m_out and v' to v_out (decoupled as NAdam's). Returns 1 if every
 * w' is finite. */
int mbm_radam(size_t n, const float *p, float *out, const float *g0, const float *g1,
              const float *m, const float *v, float *m_out, float *v_out, float l2, float scale, float clip, float wd,
              float beta1, float beta2, float epsilon, float step_size, int rectified, float decay, int decoupled);

/* RMSprop, centred when centered is nonzero and with momentum when momentum > 0, element by
 * element:
 *   g = clamp(scale * ((g0 + g1) + l2 * w), -clip, clip)   (g1 may be NULL; see below)
 *   v' = rho * v + ((1 - rho) * g) * g
 *   centred: a' = rho * a + (1 - rho) * g;  s = v' - a' * a';  s = s < 0 ? 0 : s
 *   else:    s = v'
 *   d = sqrt(s) + epsilon
 *   momentum: b' = momentum * b + g / d;  w' = w - rate * b'
 *   else:     w' = w - (rate * g) / d
 * writing w' to out, v' to v_out, a' to a_out (centred only) and b' to b_out (momentum
 * only; a and b are not read otherwise). Returns 1 if every w' is finite. */
int mbm_rmsprop_general(size_t n, const float *p, float *out, const float *g0, const float *g1,
                        const float *v, const float *a, const float *b, float *v_out, float *a_out,
                        float *b_out, float l2, float scale, float clip, float wd, float rho, float epsilon, float rate,
                        int centered, float momentum);

#ifdef __cplusplus
}
#endif
#endif
