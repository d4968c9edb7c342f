#ifndef MINIBATCH_INTRINSICS_H
#define MINIBATCH_INTRINSICS_H

#include <stddef.h>

/* Asks the CPU to bring the `bytes` bytes at `p` into the cache for reading, one
 * prefetch per 64-byte line, without waiting for them: the rows of a gather in random
 * order are read ahead of their use. */
static inline void minibatch_prefetch(const void *p, size_t bytes) {
    const char *c = (const char *)p;
    for (size_t offset = 0; offset < bytes; offset += 64) __builtin_prefetch(c + offset, 0, 3);
    if (bytes > 0) __builtin_prefetch(c + bytes - 1, 0, 3);
}

#endif
