/* The temporary files of atomic writes, for signal handlers: see temporary.h. */
#include "temporary.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

#define SLOTS 32
#define PATH_BYTES 4096

/* Per slot: its state (0 free, 1 being written, 2 registered) and a generation that is odd
 * while the path is being written (a sequence lock): the handler unlinks a path only if the
 * generation was even and the same before and after it copied the path. */
static char paths[SLOTS][PATH_BYTES];
static atomic_int states[SLOTS];
static atomic_uint generations[SLOTS];

_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "a signal handler reads the states: they must be lock-free");

int mbm_temporary_register(const char *path)
{
    size_t length = strlen(path);
    if (length >= PATH_BYTES)
        return -1;
    for (int i = 0; i < SLOTS; i++) {
        int expected = 0;
        if (atomic_compare_exchange_strong(&states[i], &expected, 1)) {
            atomic_fetch_add(&generations[i], 1); /* odd: being written */
            atomic_thread_fence(memory_order_release);
            memcpy(paths[i], path, length + 1);
            atomic_fetch_add(&generations[i], 1); /* even: written */
            atomic_store(&states[i], 2);
            return i;
        }
    }
    return -1;
}

void mbm_temporary_unregister(int slot)
{
    if (slot >= 0 && slot < SLOTS)
        atomic_store(&states[slot], 0);
}

void mbm_temporary_remove_all(void)
{
    char path[PATH_BYTES];
    for (int i = 0; i < SLOTS; i++) {
        /* A slot rewritten while it is read is read again (a few times: another thread
         * registering there is as quick as this copy). */
        for (int attempt = 0; attempt < 8; attempt++) {
            unsigned before = atomic_load(&generations[i]);
            if ((before & 1) != 0)
                continue;
            if (atomic_load(&states[i]) != 2)
                break;
            /* (a byte loop: memcpy is not on POSIX's list of async-signal-safe functions) */
            size_t k = 0;
            while (k + 1 < PATH_BYTES && paths[i][k] != 0) {
                path[k] = paths[i][k];
                k++;
            }
            path[k] = 0;
            atomic_thread_fence(memory_order_acquire);
            if (atomic_load(&generations[i]) == before) {
                if (atomic_load(&states[i]) == 2)
                    unlink(path);
                break;
            }
        }
    }
}

void mbm_temporary_remove_and_reraise(int signal_number)
{
    mbm_temporary_remove_all();
    signal(signal_number, SIG_DFL);
    raise(signal_number);
}

static const char access_acl[] = "system.posix_acl_access";

long mbm_read_access_acl(const char *path, void *buffer, unsigned long capacity)
{
    ssize_t n = lgetxattr(path, access_acl, buffer, capacity);
    if (n < 0)
        return errno == ENODATA || errno == ENOTSUP ? 0 : -1;
    return (long)n;
}

int mbm_set_access_acl(int fd, const void *acl, unsigned long length)
{
    if (length > 0)
        return fsetxattr(fd, access_acl, acl, length, 0) == 0 ? 0 : -1;
    if (fremovexattr(fd, access_acl) == 0 || errno == ENODATA || errno == ENOTSUP)
        return 0;
    return -1;
}
