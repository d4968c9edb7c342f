/* The CPU's vector width for the kernels compiled once per width: see cpu.h. */
#include "cpu.h"

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
int mbm_vector_width(void)
{
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f"))
        return 512;
    if (__builtin_cpu_supports("avx2"))
        return 256;
    return 128;
}
#else
int mbm_vector_width(void) { return 128; }
#endif
