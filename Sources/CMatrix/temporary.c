/* The temporary files of atomic writes, for signal handlers: see temporary.h. */
#include "temporary.h"

#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#define SLOTS 32
#define PATH_BYTES 4096

/* States: 0 free, 1 being written, 2 registered. */
static char paths[SLOTS][PATH_BYTES];
static atomic_int states[SLOTS];

_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "a signal handler reads the states: they must be lock-free");

int mbm_temporary_register(const char *path)
{
    size_t length = strlen(path);
    if (length >= PATH_BYTES)
        return -1;
    for (int i = 0; i < SLOTS; i++) {
        int expected = 0;
        if (atomic_compare_exchange_strong(&states[i], &expected, 1)) {
            memcpy(paths[i], path, length + 1);
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
    for (int i = 0; i < SLOTS; i++)
        if (atomic_load(&states[i]) == 2)
            unlink(paths[i]);
}

void mbm_temporary_remove_and_reraise(int signal_number)
{
    mbm_temporary_remove_all();
    signal(signal_number, SIG_DFL);
    raise(signal_number);
}
