#ifndef MINIBATCH_CMATRIX_CPU_H
#define MINIBATCH_CMATRIX_CPU_H
/* The widest vector instruction set this CPU and OS run, from CPUID (compiler-rt's
 * __builtin_cpu_supports, which also checks that the OS saves the registers): 512 (AVX-512F),
 * 256 (AVX2) or 128 (baseline SSE2), for the kernels that are compiled once per width
 * (update.c, rows.c, layers.c: MBM_PER_WIDTH below). Private to CMatrix. Dispatched by hand
 * rather than with target_clones: an ifunc resolver runs before sanitizer runtimes start
 * (ThreadSanitizer crashed at load with it). */
int mbm_vector_width(void);

#include <stdint.h>
#include <string.h>

/* A word whose top bit is set exactly when v is NaN or Inf (its exponent bits all ones: one
 * more exponent step carries into the sign bit). OR them over a loop (which vectorises on
 * every x86-64), then test the top bit: the Swift `NonFiniteFlags`. */
static inline __attribute__((always_inline)) uint32_t mbm_nonfinite_bits(float v)
{
    uint32_t bits;
    memcpy(&bits, &v, 4);
    return (bits & 0x7F800000u) + 0x00800000u;
}

/* Defines `name`'s kernel once per vector width, each running `body` (a statement over
 * `parameters`, compiled for that instruction set): name##_avx512, name##_avx2 and
 * name##_baseline, and choose_##name(), which picks one from mbm_vector_width() (for
 * MBM_CHOSEN). */
#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#define MBM_PER_WIDTH(type, name, parameters, body)                                              \
    static type name##_baseline(parameters) { body; }                                            \
    __attribute__((target("avx2"))) static type name##_avx2(parameters) { body; }                \
    __attribute__((target("avx512f"))) static type name##_avx512(parameters) { body; }           \
    static type (*choose_##name(void))(parameters)                                               \
    {                                                                                            \
        int width = mbm_vector_width();                                                          \
        return width == 512 ? name##_avx512 : width == 256 ? name##_avx2 : name##_baseline;      \
    }
#else
#define MBM_PER_WIDTH(type, name, parameters, body)                                              \
    static type name##_baseline(parameters) { body; }                                            \
    static type (*choose_##name(void))(parameters) { return name##_baseline; }
#endif

/* Calls `choose()` once per `slot` and keeps its answer: the function for this CPU. */
#define MBM_CHOSEN(type, slot, choose)                                                           \
    ({                                                                                           \
        type chosen_ = __atomic_load_n(&(slot), __ATOMIC_ACQUIRE);                               \
        if (chosen_ == NULL) {                                                                   \
            chosen_ = (choose)();                                                                \
            __atomic_store_n(&(slot), chosen_, __ATOMIC_RELEASE);                                \
        }                                                                                        \
        chosen_;                                                                                 \
    })
#endif
