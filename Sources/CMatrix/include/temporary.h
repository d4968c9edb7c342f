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
 * slot. Not covered: a file between mkstemp and its registration (an instant), and a file
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

/* An atomic write's new file takes the replaced file's POSIX access ACL, where it has one
 * (the extended attribute system.posix_acl_access, copied as its bytes: the mode's group
 * bits are then the ACL's mask, which fchmod alone would give the owning group).
 * 0: `from` has no ACL (or the file system keeps none); 1: copied; -1: it has one that could
 * not be read or copied (the caller then keeps the owner's bits only). */
int mbm_copy_access_acl(const char *from, int to_fd);

#ifdef __cplusplus
}
#endif
#endif
