/* Rows copied from a file's mapping under a SIGBUS guard: see include/mapped.h. */
#define _GNU_SOURCE
#include "mapped.h"
#include "rows.h"

#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/resource.h>
#include <ucontext.h>

/* A copy in progress: the thread making it (0: the place is free), the mapping it reads, and
 * where to return to. A fixed table rather than a thread-local variable: the handler may
 * read it on any thread, and a thread-local of a library loaded with dlopen may be allocated
 * at its first use, which is not safe in a signal handler. */
struct guard {
    _Atomic unsigned long thread;
    const char *low, *high;
    sigjmp_buf back;
    /* The thread's signal mask when the fault happened (from the handler's context). */
    sigset_t mask;
    int has_mask;
};

enum { GUARDS = 256 };
static struct guard guards[GUARDS];

static struct sigaction previous;
static _Atomic int installed; /* 1 once the handler is in place */
static pthread_once_t install_once = PTHREAD_ONCE_INIT;

static void on_sigbus(int signal, siginfo_t *info, void *context);

/* Whether `action` is this handler. */
static int is_ours(const struct sigaction *action)
{
    return (action->sa_flags & SA_SIGINFO) && action->sa_sigaction == on_sigbus;
}

/* Does what SIGBUS would have done without this handler: the handler that was there, or the
 * default action (the fault recurs when this handler returns, now with no handler). */
static void pass_on(int signal, siginfo_t *info, void *context)
{
    if (previous.sa_flags & SA_SIGINFO) {
        previous.sa_sigaction(signal, info, context);
        return;
    }
    if (previous.sa_handler == SIG_IGN && info->si_code <= 0)
        return; /* sent (kill, raise) and ignored; a fault is never ignored */
    if (previous.sa_handler == SIG_DFL || previous.sa_handler == SIG_IGN) {
        struct sigaction default_action;
        memset(&default_action, 0, sizeof default_action);
        default_action.sa_handler = SIG_DFL;
        sigemptyset(&default_action.sa_mask);
        sigaction(SIGBUS, &default_action, NULL);
        if (info->si_code <= 0)
            raise(SIGBUS); /* sent: sent again, to the default action */
        return;
    }
    previous.sa_handler(signal);
}

static void on_sigbus(int signal, siginfo_t *info, void *context)
{
    if (info->si_code > 0) { /* raised by the kernel for a fault, not sent */
        unsigned long self = (unsigned long)pthread_self();
        const char *address = (const char *)info->si_addr;
        for (int i = 0; i < GUARDS; i++) {
            struct guard *guard = &guards[i];
            if (atomic_load_explicit(&guard->thread, memory_order_relaxed) == self && address >= guard->low &&
                address < guard->high) {
                guard->has_mask = context != NULL;
                if (context != NULL)
                    guard->mask = ((const ucontext_t *)context)->uc_sigmask;
                siglongjmp(guard->back, 1);
            }
        }
    }
    pass_on(signal, info, context);
}

static void install(void)
{
    struct sigaction ours;
    memset(&ours, 0, sizeof ours);
    ours.sa_sigaction = on_sigbus;
    /* SA_NODEFER: SIGBUS is not blocked while the handler runs, so a return by siglongjmp
     * (which does not restore the signal mask) leaves it unblocked. SA_ONSTACK: a host
     * that runs its threads on small stacks (Go) gives handlers an alternate one. */
    ours.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
    sigemptyset(&ours.sa_mask);
    /* `previous` is read first, so that it is complete before the handler can run. */
    if (sigaction(SIGBUS, NULL, &previous) != 0 || sigaction(SIGBUS, &ours, NULL) != 0)
        return;
    atomic_store(&installed, 1);
}

/* A free place for this thread's copy, or NULL. */
static struct guard *claim(void)
{
    unsigned long self = (unsigned long)pthread_self();
    size_t start = (size_t)(self >> 12) % GUARDS;
    for (size_t i = 0; i < GUARDS; i++) {
        struct guard *guard = &guards[(start + i) % GUARDS];
        unsigned long free_place = 0;
        if (atomic_load_explicit(&guard->thread, memory_order_relaxed) == 0 &&
            atomic_compare_exchange_strong(&guard->thread, &free_place, self))
            return guard;
    }
    return NULL;
}

static long major_faults(void)
{
    struct rusage usage;
    return getrusage(RUSAGE_THREAD, &usage) == 0 ? usage.ru_majflt : 0;
}

int mbm_gather_mapped(float *out, const float *held, size_t held_rows, const float *mapped_rows,
                      size_t features, const long *rows, size_t count, size_t ahead,
                      const void *map, size_t map_bytes, int32_t *largest, long *waits)
{
    pthread_once(&install_once, install);
    struct sigaction current;
    if (!atomic_load(&installed) || sigaction(SIGBUS, NULL, &current) != 0 || !is_ours(&current))
        return MBM_MAPPED_UNAVAILABLE;
    struct guard *guard = claim();
    if (guard == NULL)
        return MBM_MAPPED_UNAVAILABLE;
    guard->low = (const char *)map;
    guard->high = (const char *)map + map_bytes;
    atomic_signal_fence(memory_order_seq_cst); /* the handler on this thread sees them */
    long faults_before = major_faults();
    if (sigsetjmp(guard->back, 0)) {
        /* Back from the handler: the signals blocked while it ran stay blocked (siglongjmp
         * without a saved mask does not restore them). With SA_NODEFER, none are; but a
         * handler in front of this one that calls it (ThreadSanitizer's) may block SIGBUS
         * itself, and the next fault would then end the process. The thread's mask as it
         * was at the fault, else SIGBUS unblocked. */
        if (guard->has_mask) {
            pthread_sigmask(SIG_SETMASK, &guard->mask, NULL);
        } else {
            sigset_t bus;
            sigemptyset(&bus);
            sigaddset(&bus, SIGBUS);
            pthread_sigmask(SIG_UNBLOCK, &bus, NULL);
        }
        atomic_store(&guard->thread, 0);
        return MBM_MAPPED_FAULT;
    }
    *largest = mbm_gather_measured_split(out, held, held_rows, mapped_rows, features, rows, count, ahead);
    atomic_signal_fence(memory_order_seq_cst);
    atomic_store(&guard->thread, 0);
    *waits = major_faults() - faults_before;
    return MBM_MAPPED_COPIED;
}
