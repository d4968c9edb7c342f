#ifndef MINIBATCH_CMATRIX_TEMPORARY_H
#define MINIBATCH_CMATRIX_TEMPORARY_H
/* The temporary files of atomic writes (AtomicFile), in a table that a signal handler can
 * read: a process that handles a fatal signal (the command-line tool's Ctrl-C and SIGTERM)
 * removes them before it dies, where a temporary file of a save, a prediction or a shuffle
 * was left behind (up to a model's size, or a whole .npy).
 *
 * The table holds 32 paths of up to 4095 bytes, copied when registered (a path that does
 * not fit, or a 33rd at once, is not registered: such a file is removed as before, except
 * by a signal). Each slot has a lock-free state and a generation (a sequence lock): the
 * handler unlinks a path only if it read it whole, not while another thread rewrote the
 * slot. Not covered: a file between its creation and its registration (an instant), and a file
 * that another thread makes after the handler read the table (the handler runs on one
 * thread while the others go on). Paths are as given: a relative one is taken from the
 * working directory when the handler runs (the tool does not change it). */
#ifdef __cplusplus
extern "C" {
#endif

/* Registers `path` (a NUL-terminated copy is kept): its slot, or -1 if none. */
int mbm_temporary_register(const char *path);

/* Frees slot `slot` (-1 does nothing). */
void mbm_temporary_unregister(int slot);

/* Unlinks every registered path. Async-signal-safe. */
void mbm_temporary_remove_all(void);

/* A signal handler: mbm_temporary_remove_all, then the signal's default action, raised
 * again (the process dies as it would have, its exit status telling the signal). */
void mbm_temporary_remove_and_reraise(int signal_number);

/* The POSIX access ACL of a file an atomic write replaces (the extended attribute
 * system.posix_acl_access, as its bytes), read without following a link at `path`: its
 * length (at most `capacity`), 0 where it has none (or the file system keeps none), -1
 * where it has one that cannot be read (larger than `capacity`, an error). */
long mbm_read_access_acl(const char *path, void *buffer, unsigned long capacity);

/* Gives the file open at `fd` the access ACL read by mbm_read_access_acl (`length` bytes),
 * or, for length 0, none: an ACL the new file inherited from its directory's default ACL
 * is removed (the file replaced had none). 0: done (or nothing to remove); -1: failed. */
int mbm_set_access_acl(int fd, const void *acl, unsigned long length);

#ifdef __cplusplus
}
#endif
#endif
