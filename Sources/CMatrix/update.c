/* Update rules for the CPU's vector width: see include/update.h. */
#include "update.h"
#include "cpu.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

/* Bit-identical to the Swift rule: no contraction into fused multiply-adds. */
#pragma clang fp contract(off)

/* The square root without errno: sqrtf may set errno for a negative argument, which keeps
 * the compiler from vectorising the loop unless the build says -fno-math-errno. Clang's
 * element-wise builtin is the IEEE square root (correctly rounded, as sqrtf) with no errno,
 * so the flag is not needed (SwiftPM refuses such flags in a versioned dependency). */
#if defined(__has_builtin)
#if __has_builtin(__builtin_elementwise_sqrt)
#define SQRT_NO_ERRNO(x) __builtin_elementwise_sqrt(x)
#endif
#endif
#ifndef SQRT_NO_ERRNO
#define SQRT_NO_ERRNO(x) sqrtf(x)
#endif

/* The gradient a rule sees: scale * ((g0 + g1) + l2 * w), g1 NULL for one buffer, then
 * clipped to [-clip, clip] (lower bound first; clip +Inf for none, which changes nothing:
 * a NaN stays NaN), then, where wd is not 0, plus wd * w (PyTorch's coupled weight_decay,
 * added inside the rule's step, after the caller's clipping; with wd 0 nothing is added,
 * so that not even a -0 becomes +0). */
static inline __attribute__((always_inline)) float gradient_term(
    const float *restrict g0, const float *restrict g1, size_t i, float w, float l2, float scale, float clip,
    float wd)
{
    float sum = g1 ? g0[i] + g1[i] : g0[i];
    float g = scale * (sum + l2 * w);
    g = g < -clip ? -clip : g;
    g = g > clip ? clip : g;
    float decayed = g + wd * w;
    return wd != 0 ? decayed : g;
}

/* The loops, compiled once per instruction set below (inlined into each). */
static inline __attribute__((always_inline)) int adam_loop(
    size_t n, const float *restrict p, float *restrict out, const float *restrict g0,
    const float *restrict g1, const float *restrict m, const float *restrict v, float *restrict m_out,
    float *restrict v_out, float l2, float scale, float clip, float wd, float beta1, float beta2, float epsilon,
    float step_size, float inverse_root, float decay, int decoupled)
{
    const float one_beta1 = 1 - beta1, one_beta2 = 1 - beta2;
    uint32_t flags = 0;
    for (size_t i = 0; i < n; i++) {
        float w = p[i];
        float g = gradient_term(g0, g1, i, w, l2, scale, clip, wd);
        float mm = beta1 * m[i] + one_beta1 * g;
        float vv = beta2 * v[i] + one_beta2 * g * g;
        float decayed = decoupled ? w * decay : w;
        float new_w = decayed - step_size * (mm / (SQRT_NO_ERRNO(vv) * inverse_root + epsilon));
        m_out[i] = mm;
        v_out[i] = vv;
        out[i] = new_w;
        flags |= mbm_nonfinite_bits(new_w);
    }
    return (flags & 0x80000000u) == 0;
}

/* AMSGrad: Adam's loop with v's running maximum in the denominator. */
static inline __attribute__((always_inline)) int amsgrad_loop(
    size_t n, const float *restrict p, float *restrict out, const float *restrict g0,
    const float *restrict g1, const float *restrict m, const float *restrict v,
    const float *restrict vmax, float *restrict m_out, float *restrict v_out,
    float *restrict vmax_out, float l2, float scale, float clip, float wd, float beta1, float beta2, float epsilon,
    float step_size, float inverse_root, float decay, int decoupled)
{
    const float one_beta1 = 1 - beta1, one_beta2 = 1 - beta2;
    uint32_t flags = 0;
    for (size_t i = 0; i < n; i++) {
        float w = p[i];
        float g = gradient_term(g0, g1, i, w, l2, scale, clip, wd);
        float mm = beta1 * m[i] + one_beta1 * g;
        float vv = beta2 * v[i] + one_beta2 * g * g;
        float most = vmax[i] < vv ? vv : vmax[i];
        float decayed = decoupled ? w * decay : w;
        float new_w = decayed - step_size * (mm / (SQRT_NO_ERRNO(most) * inverse_root + epsilon));
        m_out[i] = mm;
        v_out[i] = vv;
        vmax_out[i] = most;
        out[i] = new_w;
        flags |= mbm_nonfinite_bits(new_w);
    }
    return (flags & 0x80000000u) == 0;
}

/* Momentum (PyTorch's SGD, dampening 0), and Nesterov's. */
static inline __attribute__((always_inline)) int momentum_loop(
    size_t n, const float *restrict p, float *restrict out, const float *restrict g0,
    const float *restrict g1, const float *restrict b, float *restrict b_out, float l2, float scale, float clip, float wd,
    float momentum, float rate, int nesterov)
{
    uint32_t flags = 0;
    for (size_t i = 0; i < n; i++) {
        float w = p[i];
        float g = gradient_term(g0, g1, i, w, l2, scale, clip, wd);
        float bb = momentum * b[i] + g;
        float new_w = nesterov ? w - rate * (g + momentum * bb) : w - rate * bb;
        b_out[i] = bb;
        out[i] = new_w;
        flags |= mbm_nonfinite_bits(new_w);
    }
    return (flags & 0x80000000u) == 0;
}

/* RMSprop (PyTorch's, without momentum or centring). */
static inline __attribute__((always_inline)) int rmsprop_loop(
    size_t n, const float *restrict p, float *restrict out, const float *restrict g0,
    const float *restrict g1, const float *restrict v, float *restrict v_out, float l2, float scale, float clip, float wd,
    float rho, float epsilon, float rate)
{
    const float one_rho = 1 - rho;
    uint32_t flags = 0;
    for (size_t i = 0; i < n; i++) {
        float w = p[i];
        float g = gradient_term(g0, g1, i, w, l2, scale, clip, wd);
        float vv = rho * v[i] + one_rho * g * g;
        float new_w = w - rate * g / (SQRT_NO_ERRNO(vv) + epsilon);
        v_out[i] = vv;
        out[i] = new_w;
        flags |= mbm_nonfinite_bits(new_w);
    }
    return (flags & 0x80000000u) == 0;
}

/* Adagrad (PyTorch's, lr_decay 0 and initial_accumulator_value 0). */
static inline __attribute__((always_inline)) int adagrad_loop(
    size_t n, const float *restrict p, float *restrict out, const float *restrict g0,
    const float *restrict g1, const float *restrict s, float *restrict s_out, float l2, float scale, float clip, float wd,
    float epsilon, float rate)
{
    uint32_t flags = 0;
    for (size_t i = 0; i < n; i++) {
        float w = p[i];
        float g = gradient_term(g0, g1, i, w, l2, scale, clip, wd);
        float ss = s[i] + g * g;
        float new_w = w - rate * g / (SQRT_NO_ERRNO(ss) + epsilon);
        s_out[i] = ss;
        out[i] = new_w;
        flags |= mbm_nonfinite_bits(new_w);
    }
    return (flags & 0x80000000u) == 0;
}

/* Adamax (PyTorch's: epsilon added to |g| inside the maximum). */
static inline __attribute__((always_inline)) int adamax_loop(
    size_t n, const float *restrict p, float *restrict out, const float *restrict g0,
    const float *restrict g1, const float *restrict m, const float *restrict u, float *restrict m_out,
    float *restrict u_out, float l2, float scale, float clip, float wd, float beta1, float beta2, float epsilon, float step_size)
{
    const float one_beta1 = 1 - beta1;
    uint32_t flags = 0;
    for (size_t i = 0; i < n; i++) {
        float w = p[i];
        float g = gradient_term(g0, g1, i, w, l2, scale, clip, wd);
        float mm = beta1 * m[i] + one_beta1 * g;
        float decayed = beta2 * u[i], candidate = fabsf(g) + epsilon;
        float uu = decayed < candidate ? candidate : decayed;
        float new_w = w - step_size * (mm / uu);
        m_out[i] = mm;
        u_out[i] = uu;
        out[i] = new_w;
        flags |= mbm_nonfinite_bits(new_w);
    }
    return (flags & 0x80000000u) == 0;
}

/* Adadelta (PyTorch's): the squares' average v, the step's root over the gradient's (both
 * with epsilon inside), the steps' squares' average u from the old u. */
static inline __attribute__((always_inline)) int adadelta_loop(
    size_t n, const float *restrict p, float *restrict out, const float *restrict g0,
    const float *restrict g1, const float *restrict v, const float *restrict u, float *restrict v_out,
    float *restrict u_out, float l2, float scale, float clip, float wd, float rho, float epsilon, float rate)
{
    const float one_rho = 1 - rho;
    uint32_t flags = 0;
    for (size_t i = 0; i < n; i++) {
        float w = p[i];
        float g = gradient_term(g0, g1, i, w, l2, scale, clip, wd);
        float vv = rho * v[i] + one_rho * g * g;
        float delta = SQRT_NO_ERRNO(u[i] + epsilon) / SQRT_NO_ERRNO(vv + epsilon) * g;
        float uu = rho * u[i] + one_rho * delta * delta;
        float new_w = w - rate * delta;
        v_out[i] = vv;
        u_out[i] = uu;
        out[i] = new_w;
        flags |= mbm_nonfinite_bits(new_w);
    }
    return (flags & 0x80000000u) == 0;
}

/* NAdam (PyTorch's): Adam's moments, the step a sum of the gradient's and the momentum's
 * parts over one denominator, subtracted in that order. */
static inline __attribute__((always_inline)) int nadam_loop(
    size_t n, const float *restrict p, float *restrict out, const float *restrict g0,
    const float *restrict g1, const float *restrict m, const float *restrict v, float *restrict m_out,
    float *restrict v_out, float l2, float scale, float clip, float wd, float beta1, float beta2, float epsilon,
    float inverse_root, float gradient_coefficient, float momentum_coefficient, float decay, int decoupled)
{
    const float one_beta1 = 1 - beta1, one_beta2 = 1 - beta2;
    uint32_t flags = 0;
    for (size_t i = 0; i < n; i++) {
        float w = p[i];
        float g = gradient_term(g0, g1, i, w, l2, scale, clip, wd);
        float mm = beta1 * m[i] + one_beta1 * g;
        float vv = beta2 * v[i] + one_beta2 * g * g;
        float denominator = SQRT_NO_ERRNO(vv) * inverse_root + epsilon;
        float decayed = decoupled ? w * decay : w;
        float new_w = (decayed - gradient_coefficient * (g / denominator)) - momentum_coefficient * (mm / denominator);
        m_out[i] = mm;
        v_out[i] = vv;
        out[i] = new_w;
        flags |= mbm_nonfinite_bits(new_w);
    }
    return (flags & 0x80000000u) == 0;
}

/* RAdam (PyTorch's): Adam's moments; while the variance is rectified, the step divides by
 * sqrt(v) + epsilon (uncorrected: the correction is in step_size), else it is momentum's. */
static inline __attribute__((always_inline)) int radam_loop(
    size_t n, const float *restrict p, float *restrict out, const float *restrict g0,
    const float *restrict g1, const float *restrict m, const float *restrict v, float *restrict m_out,
    float *restrict v_out, float l2, float scale, float clip, float wd, float beta1, float beta2, float epsilon,
    float step_size, int rectified, float decay, int decoupled)
{
    const float one_beta1 = 1 - beta1, one_beta2 = 1 - beta2;
    uint32_t flags = 0;
    for (size_t i = 0; i < n; i++) {
        float w = p[i];
        float g = gradient_term(g0, g1, i, w, l2, scale, clip, wd);
        float mm = beta1 * m[i] + one_beta1 * g;
        float vv = beta2 * v[i] + one_beta2 * g * g;
        float direction = rectified ? mm / (SQRT_NO_ERRNO(vv) + epsilon) : mm;
        float decayed = decoupled ? w * decay : w;
        float new_w = decayed - step_size * direction;
        m_out[i] = mm;
        v_out[i] = vv;
        out[i] = new_w;
        flags |= mbm_nonfinite_bits(new_w);
    }
    return (flags & 0x80000000u) == 0;
}

/* RMSprop with centring and/or momentum (PyTorch's centered=True, momentum > 0); called
 * with constant `centered` and `with_momentum` (rmsprop_general_forms), so that each form is
 * a loop of its own: with the flags tested in the loop, the centred form took 2.7x the
 * plain RMSprop loop's time (101,770 parameters, AVX2 on an AMD Zen 3), 1.3x as a loop of
 * its own (momentum 1.1x, both 1.7x, AMSGrad's three slots 1.7x). */
static inline __attribute__((always_inline)) int rmsprop_general_loop(
    size_t n, const float *restrict p, float *restrict out, const float *restrict g0,
    const float *restrict g1, const float *restrict v, const float *restrict a, const float *restrict b,
    float *restrict v_out, float *restrict a_out, float *restrict b_out, float l2, float scale, float clip, float wd,
    float rho, float epsilon, float rate, const int centered, const int with_momentum, float momentum)
{
    const float one_rho = 1 - rho;
    uint32_t flags = 0;
    for (size_t i = 0; i < n; i++) {
        float w = p[i];
        float g = gradient_term(g0, g1, i, w, l2, scale, clip, wd);
        float vv = rho * v[i] + one_rho * g * g;
        float spread = vv;
        if (centered) {
            float aa = rho * a[i] + one_rho * g;
            spread = vv - aa * aa;
            spread = spread < 0 ? 0 : spread;
            a_out[i] = aa;
        }
        float denominator = SQRT_NO_ERRNO(spread) + epsilon;
        float new_w;
        if (with_momentum) {
            float bb = momentum * b[i] + g / denominator;
            new_w = w - rate * bb;
            b_out[i] = bb;
        } else {
            new_w = w - rate * g / denominator;
        }
        v_out[i] = vv;
        out[i] = new_w;
        flags |= mbm_nonfinite_bits(new_w);
    }
    return (flags & 0x80000000u) == 0;
}

#define MOMENTUM_PARAMETERS                                                                      \
    size_t n, const float *restrict p, float *restrict out, const float *restrict g0,           \
        const float *restrict g1, const float *restrict b, float *restrict b_out, float l2,      \
        float scale, float clip, float wd, float momentum, float rate, int nesterov
#define MOMENTUM_ARGUMENTS n, p, out, g0, g1, b, b_out, l2, scale, clip, wd, momentum, rate, nesterov
#define RMSPROP_PARAMETERS                                                                       \
    size_t n, const float *restrict p, float *restrict out, const float *restrict g0,           \
        const float *restrict g1, const float *restrict v, float *restrict v_out, float l2,      \
        float scale, float clip, float wd, float rho, float epsilon, float rate
#define RMSPROP_ARGUMENTS n, p, out, g0, g1, v, v_out, l2, scale, clip, wd, rho, epsilon, rate

#define ADAM_PARAMETERS                                                                          \
    size_t n, const float *restrict p, float *restrict out, const float *restrict g0,           \
        const float *restrict g1, const float *restrict m, const float *restrict v,             \
        float *restrict m_out, float *restrict v_out, float l2, float scale, float clip, float wd, float beta1,        \
        float beta2, float epsilon, float step_size, float inverse_root, float decay, int decoupled
#define ADAM_ARGUMENTS                                                                           \
    n, p, out, g0, g1, m, v, m_out, v_out, l2, scale, clip, wd, beta1, beta2, epsilon, step_size,          \
        inverse_root, decay, decoupled

#define ADAGRAD_PARAMETERS                                                                       \
    size_t n, const float *restrict p, float *restrict out, const float *restrict g0,           \
        const float *restrict g1, const float *restrict s, float *restrict s_out, float l2,      \
        float scale, float clip, float wd, float epsilon, float rate
#define ADAGRAD_ARGUMENTS n, p, out, g0, g1, s, s_out, l2, scale, clip, wd, epsilon, rate
#define ADAMAX_PARAMETERS                                                                        \
    size_t n, const float *restrict p, float *restrict out, const float *restrict g0,           \
        const float *restrict g1, const float *restrict m, const float *restrict u,             \
        float *restrict m_out, float *restrict u_out, float l2, float scale, float clip, float wd, float beta1,        \
        float beta2, float epsilon, float step_size
#define ADAMAX_ARGUMENTS n, p, out, g0, g1, m, u, m_out, u_out, l2, scale, clip, wd, beta1, beta2, epsilon, step_size

#define ADADELTA_PARAMETERS                                                                      \
    size_t n, const float *restrict p, float *restrict out, const float *restrict g0,           \
        const float *restrict g1, const float *restrict v, const float *restrict u,             \
        float *restrict v_out, float *restrict u_out, float l2, float scale, float clip, float wd, float rho,          \
        float epsilon, float rate
#define ADADELTA_ARGUMENTS n, p, out, g0, g1, v, u, v_out, u_out, l2, scale, clip, wd, rho, epsilon, rate

#define AMSGRAD_PARAMETERS                                                                       \
    size_t n, const float *restrict p, float *restrict out, const float *restrict g0,           \
        const float *restrict g1, const float *restrict m, const float *restrict v,             \
        const float *restrict vmax, float *restrict m_out, float *restrict v_out,               \
        float *restrict vmax_out, float l2, float scale, float clip, float wd, float beta1, float beta2,              \
        float epsilon, float step_size, float inverse_root, float decay, int decoupled
#define AMSGRAD_ARGUMENTS                                                                        \
    n, p, out, g0, g1, m, v, vmax, m_out, v_out, vmax_out, l2, scale, clip, wd, beta1, beta2, epsilon,     \
        step_size, inverse_root, decay, decoupled

#define NADAM_PARAMETERS                                                                         \
    size_t n, const float *restrict p, float *restrict out, const float *restrict g0,           \
        const float *restrict g1, const float *restrict m, const float *restrict v,             \
        float *restrict m_out, float *restrict v_out, float l2, float scale, float clip, float wd, float beta1,        \
        float beta2, float epsilon, float inverse_root, float gradient_coefficient, float momentum_coefficient, \
        float decay, int decoupled
#define NADAM_ARGUMENTS                                                                          \
    n, p, out, g0, g1, m, v, m_out, v_out, l2, scale, clip, wd, beta1, beta2, epsilon, inverse_root,       \
        gradient_coefficient, momentum_coefficient, decay, decoupled
#define RADAM_PARAMETERS                                                                         \
    size_t n, const float *restrict p, float *restrict out, const float *restrict g0,           \
        const float *restrict g1, const float *restrict m, const float *restrict v,             \
        float *restrict m_out, float *restrict v_out, float l2, float scale, float clip, float wd, float beta1,        \
        float beta2, float epsilon, float step_size, int rectified, float decay, int decoupled
#define RADAM_ARGUMENTS                                                                          \
    n, p, out, g0, g1, m, v, m_out, v_out, l2, scale, clip, wd, beta1, beta2, epsilon, step_size, rectified, \
        decay, decoupled
#define RMSPROP_GENERAL_PARAMETERS                                                               \
    size_t n, const float *restrict p, float *restrict out, const float *restrict g0,           \
        const float *restrict g1, const float *restrict v, const float *restrict a,             \
        const float *restrict b, float *restrict v_out, float *restrict a_out, float *restrict b_out,        \
        float l2, float scale, float clip, float wd, float rho, float epsilon, float rate, int centered, float momentum
#define RMSPROP_GENERAL_ARGUMENTS                                                                \
    n, p, out, g0, g1, v, a, b, v_out, a_out, b_out, l2, scale, clip, wd, rho, epsilon, rate, centered, momentum
#define RMSPROP_FORM(c, m)                                                                       \
    rmsprop_general_loop(n, p, out, g0, g1, v, a, b, v_out, a_out, b_out, l2, scale, clip, wd, rho, epsilon, rate, \
                         c, m, momentum)

/* One loop per form (see rmsprop_general_loop). */
static inline __attribute__((always_inline)) int rmsprop_general_forms(RMSPROP_GENERAL_PARAMETERS)
{
    if (centered)
        return momentum > 0 ? RMSPROP_FORM(1, 1) : RMSPROP_FORM(1, 0);
    return momentum > 0 ? RMSPROP_FORM(0, 1) : RMSPROP_FORM(0, 0);
}

typedef int (*adam_function)(ADAM_PARAMETERS);
typedef int (*amsgrad_function)(AMSGRAD_PARAMETERS);
typedef int (*adagrad_function)(ADAGRAD_PARAMETERS);
typedef int (*adamax_function)(ADAMAX_PARAMETERS);
typedef int (*adadelta_function)(ADADELTA_PARAMETERS);
typedef int (*momentum_function)(MOMENTUM_PARAMETERS);
typedef int (*rmsprop_function)(RMSPROP_PARAMETERS);
typedef int (*nadam_function)(NADAM_PARAMETERS);
typedef int (*radam_function)(RADAM_PARAMETERS);
typedef int (*rmsprop_general_function)(RMSPROP_GENERAL_PARAMETERS);

/* Once per width, chosen from CPUID at the first call (cpu.h). */
MBM_PER_WIDTH(int, adam, ADAM_PARAMETERS, return adam_loop(ADAM_ARGUMENTS))
MBM_PER_WIDTH(int, amsgrad, AMSGRAD_PARAMETERS, return amsgrad_loop(AMSGRAD_ARGUMENTS))
MBM_PER_WIDTH(int, adagrad, ADAGRAD_PARAMETERS, return adagrad_loop(ADAGRAD_ARGUMENTS))
MBM_PER_WIDTH(int, adamax, ADAMAX_PARAMETERS, return adamax_loop(ADAMAX_ARGUMENTS))
MBM_PER_WIDTH(int, adadelta, ADADELTA_PARAMETERS, return adadelta_loop(ADADELTA_ARGUMENTS))
MBM_PER_WIDTH(int, momentum, MOMENTUM_PARAMETERS, return momentum_loop(MOMENTUM_ARGUMENTS))
MBM_PER_WIDTH(int, rmsprop, RMSPROP_PARAMETERS, return rmsprop_loop(RMSPROP_ARGUMENTS))
MBM_PER_WIDTH(int, nadam, NADAM_PARAMETERS, return nadam_loop(NADAM_ARGUMENTS))
MBM_PER_WIDTH(int, radam, RADAM_PARAMETERS, return radam_loop(RADAM_ARGUMENTS))
MBM_PER_WIDTH(int, rmsprop_general, RMSPROP_GENERAL_PARAMETERS, return rmsprop_general_forms(RMSPROP_GENERAL_ARGUMENTS))

static adam_function adam_chosen;
static amsgrad_function amsgrad_chosen;
static adagrad_function adagrad_chosen;
static adamax_function adamax_chosen;
static adadelta_function adadelta_chosen;
static momentum_function momentum_chosen;
static rmsprop_function rmsprop_chosen;
static nadam_function nadam_chosen;
static radam_function radam_chosen;
static rmsprop_general_function rmsprop_general_chosen;

int mbm_adam(ADAM_PARAMETERS) { return MBM_CHOSEN(adam_function, adam_chosen, choose_adam)(ADAM_ARGUMENTS); }

int mbm_amsgrad(AMSGRAD_PARAMETERS)
{
    return MBM_CHOSEN(amsgrad_function, amsgrad_chosen, choose_amsgrad)(AMSGRAD_ARGUMENTS);
}

int mbm_adagrad(ADAGRAD_PARAMETERS)
{
    return MBM_CHOSEN(adagrad_function, adagrad_chosen, choose_adagrad)(ADAGRAD_ARGUMENTS);
}

int mbm_adamax(ADAMAX_PARAMETERS)
{
    return MBM_CHOSEN(adamax_function, adamax_chosen, choose_adamax)(ADAMAX_ARGUMENTS);
}

int mbm_adadelta(ADADELTA_PARAMETERS)
{
    return MBM_CHOSEN(adadelta_function, adadelta_chosen, choose_adadelta)(ADADELTA_ARGUMENTS);
}

int mbm_momentum(MOMENTUM_PARAMETERS)
{
    return MBM_CHOSEN(momentum_function, momentum_chosen, choose_momentum)(MOMENTUM_ARGUMENTS);
}

int mbm_rmsprop(RMSPROP_PARAMETERS)
{
    return MBM_CHOSEN(rmsprop_function, rmsprop_chosen, choose_rmsprop)(RMSPROP_ARGUMENTS);
}

int mbm_nadam(NADAM_PARAMETERS)
{
    return MBM_CHOSEN(nadam_function, nadam_chosen, choose_nadam)(NADAM_ARGUMENTS);
}

int mbm_radam(RADAM_PARAMETERS)
{
    return MBM_CHOSEN(radam_function, radam_chosen, choose_radam)(RADAM_ARGUMENTS);
}

int mbm_rmsprop_general(RMSPROP_GENERAL_PARAMETERS)
{
    return MBM_CHOSEN(rmsprop_general_function, rmsprop_general_chosen, choose_rmsprop_general)(RMSPROP_GENERAL_ARGUMENTS);
}
