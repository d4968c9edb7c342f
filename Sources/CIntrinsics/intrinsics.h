#ifndef MINIBATCH_INTRINSICS_H
#define MINIBATCH_INTRINSICS_H

#include <errno.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

/* Asks the CPU to bring the `bytes` bytes at `p` into the cache for reading, one
 * prefetch per 64-byte line, without waiting for them: the rows of a gather in random
 * order are read ahead of their use. */
static inline void minibatch_prefetch(const void *p, size_t bytes) {
    const char *c = (const char *)p;
    for (size_t offset = 0; offset < bytes; offset += 64) __builtin_prefetch(c + offset, 0, 3);
    if (bytes > 0) __builtin_prefetch(c + bytes - 1, 0, 3);
}

/* preadv2(fd, {buffer, bytes}, offset, RWF_NOWAIT): reads only what the page cache holds,
 * without waiting for the disk. Returns the bytes read (fewer than asked, or -EAGAIN, when
 * a page is not cached) or -errno; -ENOSYS, -EINVAL or -EOPNOTSUPP where the kernel or the
 * file system cannot. Called through syscall(2): glibc's wrapper needs _GNU_SOURCE. */
static inline long minibatch_pread_nowait(int fd, void *buffer, size_t bytes, long long offset) {
#if defined(SYS_preadv2) && defined(__LP64__)
    struct iovec vector = {buffer, bytes};
    long result = syscall(SYS_preadv2, fd, &vector, 1, (long)offset, 0L, 0x00000008L /* RWF_NOWAIT */);
    return result < 0 ? -errno : result;
#else
    (void)fd; (void)buffer; (void)bytes; (void)offset;
    return -ENOSYS;
#endif
}

/* 16 floats, imported by Swift as SIMD16<Float>. */
typedef float minibatch_float16 __attribute__((ext_vector_type(16)));

/* The square root of each lane, as one vector instruction (vsqrtps): Swift's
 * SIMD16<Float>.squareRoot() is a loop over the lanes that the compiler does not vectorise
 * (measured: Adam's update 2.2x plain gradient descent's epoch with it). */
static inline minibatch_float16 minibatch_sqrt16(minibatch_float16 x) {
    return __builtin_elementwise_sqrt(x);
}


/* Floating-point control: subnormal (denormal) numbers flushed to zero, as results (FTZ) and
 * as operands (DAZ), or kept, on the calling thread. On x86-64 these are bits 15 and 6 of
 * MXCSR, which every SSE and AVX instruction obeys (float and double alike): Swift's
 * arithmetic, the C loops and the matrix libraries' kernels. Intel's cores take a microcode
 * assist of about a hundred cycles for an operand or result that is subnormal. Sets both
 * bits (`flush` != 0) or clears both, whatever the thread had, and returns the word to give
 * back to `minibatch_restore_fp`. Elsewhere (no MXCSR) both do nothing and subnormals are
 * kept. */
static inline unsigned minibatch_set_subnormals(int flush) {
#if defined(__x86_64__)
    unsigned saved = __builtin_ia32_stmxcsr();
    unsigned wanted = flush ? (saved | 0x8040u) : (saved & ~0x8040u);
    if (wanted != saved) __builtin_ia32_ldmxcsr(wanted);
    return saved;
#else
    (void)flush;
    return 0;
#endif
}

/* Puts back the control bits of the word `minibatch_set_subnormals` returned (rounding,
 * exception masks, FTZ, DAZ), keeping the exception flags raised since (bits 0-5): what the
 * arithmetic raised stays visible to the caller's fetestexcept (under FTZ and DAZ the
 * underflow, denormal and inexact flags may differ from IEEE arithmetic's). */
static inline void minibatch_restore_fp(unsigned saved) {
#if defined(__x86_64__)
    unsigned now = __builtin_ia32_stmxcsr();
    unsigned wanted = (saved & ~0x3Fu) | (now & 0x3Fu);
    if (wanted != now) __builtin_ia32_ldmxcsr(wanted);
#else
    (void)saved;
#endif
}

/* This thread's floating-point control word as `minibatch_set_subnormals` returns it (MXCSR
 * on x86-64, 0 elsewhere): given to `minibatch_restore_fp` on another thread, that thread
 * computes as this one does (threads that share a caller's work). */
static inline unsigned minibatch_fp_word(void) {
#if defined(__x86_64__)
    return __builtin_ia32_stmxcsr();
#else
    return 0;
#endif
}

/* This thread's FTZ and DAZ bits (x86-64: MXCSR & 0x8040; 0 elsewhere), for tests. */
static inline unsigned minibatch_subnormal_bits(void) {
#if defined(__x86_64__)
    return __builtin_ia32_stmxcsr() & 0x8040u;
#else
    return 0;
#endif
}

#endif
