#ifndef MINIBATCH_CMATRIX_MAPPED_H
#define MINIBATCH_CMATRIX_MAPPED_H
/* Rows copied from a read-only mapping of a file, guarded against the file changing size.
 *
 * Copying a row from a mapping of a file in the page cache costs about a quarter of a pread
 * of it (measured on this project's machine, AMD Zen 5: 0.17 against 0.65 us for a row of
 * 784 floats in random order from a 188 MB file). But a mapped page past the end of a file
 * that was truncated after it was mapped raises SIGBUS, which ends the process. So the copy
 * runs under a SIGBUS handler, installed once (at the first guarded copy) in front of the one
 * that was there: a SIGBUS raised by the guarded copy on this thread, at an address in its
 * mapping, returns from the copy with MBM_MAPPED_FAULT; any other is passed on to the
 * handler that was there before, or ends the process as it would have without this one. A
 * copy starts only while this handler is the process's (another library may have replaced
 * it since): otherwise it returns MBM_MAPPED_UNAVAILABLE at once, and the caller reads with
 * pread instead. */
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    MBM_MAPPED_COPIED = 0,
    /* A page of the mapping could not be read (the file was truncated, or an I/O error). */
    MBM_MAPPED_FAULT = 1,
    /* Nothing was read: the handler is not installed (or not the process's any more), or
     * more threads than the guard has places for copy at once. */
    MBM_MAPPED_UNAVAILABLE = 2,
};

/* mbm_gather_measured_split(out, held, held_rows, mapped_rows, ...) under the guard, for
 * `mapped_rows` in the mapping [map, map + map_bytes). Returns MBM_MAPPED_COPIED with
 * `*largest` set (as mbm_gather_measured returns it) and `*waits` the pages the copy waited
 * for (this thread's major page faults during it: rows not in the page cache), or one of
 * the others, with `out` then partly written. */
int mbm_gather_mapped(float *out, const float *held, size_t held_rows, const float *mapped_rows,
                      size_t features, const long *rows, size_t count, size_t ahead,
                      const void *map, size_t map_bytes, int32_t *largest, long *waits);

#ifdef __cplusplus
}
#endif
#endif
