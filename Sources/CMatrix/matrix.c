/* The matrix-product backend: libxsmm's JIT kernels where they were measured faster,
 * OpenBLAS (scipy-openblas32) for the rest. See include/matrix.h. */
#include "matrix.h"

#include <cpuid.h>
#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <libxsmm.h>
#include <strings.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* OpenBLAS as scipy-openblas32 builds it (DYNAMIC_ARCH, symbols prefixed scipy_). Declared
 * here rather than through its cblas.h so that the build needs only the shared library. */
enum { ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112 };
void scipy_cblas_sgemm(int order, int trans_a, int trans_b, int m, int n, int k, float alpha,
                       const float *a, int lda, const float *b, int ldb, float beta, float *c,
                       int ldc);
void scipy_openblas_set_num_threads(int threads);
int scipy_openblas_get_num_threads(void);
char *scipy_openblas_get_corename(void);
char *scipy_openblas_get_config(void);

/* ---- which OpenBLAS ------------------------------------------------------------------------
 * scipy bundles scipy-openblas32 too (scipy.libs/libscipy_openblas-<hash>.so): the same
 * scipy_* names. Where it was loaded into the global scope first (an extension imported after
 * sys.setdlopenflags(RTLD_GLOBAL), or a program linked against it), the dynamic linker bound
 * this library's scipy_* references to it, an older OpenBLAS (0.3.30 in scipy 1.17), and
 * minibatch reported, threaded and ran that one (found by an interop review). So the calls go
 * through these pointers, looked up when the library loads in the OpenBLAS this library was
 * linked with: the one loaded under its soname, libscipy_openblas.so (beside
 * libminibatch.so, RUNPATH $ORIGIN), which dlsym searches first through its own handle. They
 * start as the linker bound them, for a lookup that fails. (A library loaded before under the
 * same soname, pip's scipy-openblas32 itself, is the one the dynamic linker gives this library
 * in place of its own, as for any soname.) */
static struct {
    void (*sgemm)(int, int, int, int, int, int, float, const float *, int, const float *, int,
                  float, float *, int);
    void (*set_num_threads)(int);
    int (*get_num_threads)(void);
    char *(*get_corename)(void);
    char *(*get_config)(void);
} openblas = {scipy_cblas_sgemm, scipy_openblas_set_num_threads, scipy_openblas_get_num_threads,
              scipy_openblas_get_corename, scipy_openblas_get_config};

__attribute__((constructor)) static void find_own_openblas(void) {
    void *own = dlopen("libscipy_openblas.so", RTLD_LAZY | RTLD_NOLOAD);
    if (!own) return;
    /* openblas_set_num_threads calls goto_set_num_threads through the dynamic linker, which
     * would reach the other OpenBLAS's: this library calls its own goto_set_num_threads. The
     * other entry points call nothing of theirs that is exported. */
    void *sgemm = dlsym(own, "scipy_cblas_sgemm"), *set = dlsym(own, "scipy_goto_set_num_threads"),
         *get = dlsym(own, "scipy_openblas_get_num_threads"),
         *core = dlsym(own, "scipy_openblas_get_corename"),
         *config = dlsym(own, "scipy_openblas_get_config");
    if (!sgemm || !set || !get || !core || !config) return; /* all from one library, or none */
    openblas.sgemm = (void (*)(int, int, int, int, int, int, float, const float *, int,
                               const float *, int, float, float *, int))sgemm;
    openblas.set_num_threads = (void (*)(int))set;
    openblas.get_num_threads = (int (*)(void))get;
    openblas.get_corename = (char *(*)(void))core;
    openblas.get_config = (char *(*)(void))config;
}

/* ---- the process's exit ------------------------------------------------------------------
 * libxsmm_init registers an exit handler (atexit) that frees libxsmm's registry of JIT kernels,
 * and OpenBLAS's destructor frees its buffers: a thread still training when the process
 * exits (a Python daemon thread when the interpreter ends; a C program's thread while main
 * returns) then dispatched or ran a freed kernel, and the process ended by SIGSEGV instead of
 * its exit status (found by an interop review: Python's exit status 139 in 8 runs of 9). So
 * every call into libxsmm or OpenBLAS here is counted while it runs (`enter_backend`, in the
 * calling thread's own slot, no cache line shared between threads), and an exit handler of
 * the library's, registered after libxsmm_init (mbm_libxsmm_start; so exit() runs it before
 * libxsmm's and before the libraries' destructors), closes the backend and waits until no
 * call of another thread is inside, for up to 2 s. After that, another thread's call waits
 * for the process to end (as threads do in exit); the exiting thread itself (an exit handler
 * or a static destructor that predicts, registered before the library's) goes on without
 * libxsmm, whose kernels may be freed by then: its products run on OpenBLAS, which lives until
 * the libraries' destructors, and its transposes in plain C. The same handler is also
 * registered when the library loads, for a process whose products never reached libxsmm. */
enum { BACKEND_SLOTS = 64 };
static struct {
    _Alignas(64) atomic_long inside;
} backend_slots[BACKEND_SLOTS];
static atomic_int backend_next_slot, backend_closed;
static _Thread_local int backend_slot = -1;
/* This thread's calls inside now, and whether it is the thread that runs exit's handlers. */
static _Thread_local long backend_depth;
static _Thread_local int backend_exiting;

/* 1: the call is inside (leave_backend after it); 0: the backend is closed and this is the
 * exiting thread: libxsmm must not be called, OpenBLAS may (and nothing is to be left). */
static int enter_backend(void) {
    if (backend_slot < 0) backend_slot = atomic_fetch_add_explicit(&backend_next_slot, 1, memory_order_relaxed) % BACKEND_SLOTS;
    atomic_fetch_add(&backend_slots[backend_slot].inside, 1);
    if (atomic_load(&backend_closed)) {
        atomic_fetch_sub(&backend_slots[backend_slot].inside, 1);
        if (backend_exiting) return 0;
        for (;;) pause(); /* the process is ending */
    }
    backend_depth++;
    return 1;
}

static void leave_backend(void) {
    backend_depth--;
    atomic_fetch_sub_explicit(&backend_slots[backend_slot].inside, 1, memory_order_release);
}

static void close_backend_at_exit(void) {
    backend_exiting = 1;
    atomic_store(&backend_closed, 1);
    for (int waited_ms = 0; waited_ms < 2000; waited_ms++) {
        long inside = 0;
        for (int i = 0; i < BACKEND_SLOTS; i++) inside += atomic_load(&backend_slots[i].inside);
        /* (less this thread's own: exit called from a signal handler during a product) */
        if (inside - backend_depth <= 0) return;
        usleep(1000);
    }
}

int mbm_backend_closed(void) { return atomic_load(&backend_closed); }

/* ---- teams and OpenBLAS's threads (matrix.h) ----------------------------------------------
 * Until 0.12.6 this state was Swift's, under a lock no fork handler knew: a child forked while
 * another thread predicted could find it held (6 of 20 children hung, a review), or keep a
 * count of teams that no longer existed (OpenBLAS on one thread for good); and a thread that
 * called OpenBLAS under it as the process exited paused there holding it, so the exiting
 * thread's prediction waited for ever (18 of 400 runs of a review's test). */
static pthread_mutex_t teams_lock = PTHREAD_MUTEX_INITIALIZER;
static int teams_running, teams_saved = 1, teams_restore_in_child;

static void teams_restore_after_fork(void) {
    if (teams_restore_in_child) {
        teams_restore_in_child = 0;
        mbm_set_threads(teams_saved);
    }
}

void mbm_teams_acquire(void) {
    if (mbm_backend_closed()) return;
    pthread_mutex_lock(&teams_lock);
    teams_restore_after_fork();
    if (teams_running++ == 0) {
        teams_saved = mbm_get_threads();
        mbm_set_threads(1);
    }
    pthread_mutex_unlock(&teams_lock);
}

void mbm_teams_release(void) {
    if (mbm_backend_closed()) return;
    pthread_mutex_lock(&teams_lock);
    if (teams_running > 0 && --teams_running == 0) mbm_set_threads(teams_saved);
    pthread_mutex_unlock(&teams_lock);
}

int mbm_teams_available(void) {
    if (mbm_backend_closed()) return 1;
    pthread_mutex_lock(&teams_lock);
    teams_restore_after_fork();
    const int threads = teams_running > 0 ? teams_saved : mbm_get_threads();
    pthread_mutex_unlock(&teams_lock);
    return threads;
}

static void teams_before_fork(void) { pthread_mutex_lock(&teams_lock); }
static void teams_after_fork_in_parent(void) { pthread_mutex_unlock(&teams_lock); }
static void teams_after_fork_in_child(void) {
    /* the child has no team: the count the teams held OpenBLAS at is given back at its next
     * call (not here: OpenBLAS's own fork handler has just stopped its pool) */
    if (teams_running > 0) teams_restore_in_child = 1;
    teams_running = 0;
    pthread_mutex_unlock(&teams_lock);
}

__attribute__((constructor)) static void prepare_teams_for_fork(void) {
    pthread_atfork(teams_before_fork, teams_after_fork_in_parent, teams_after_fork_in_child);
}

/* A forked child has only the thread that forked: no call of another thread is inside. */
static void backend_after_fork_in_child(void) {
    for (int i = 0; i < BACKEND_SLOTS; i++) atomic_store_explicit(&backend_slots[i].inside, 0, memory_order_relaxed);
    atomic_fetch_add_explicit(&backend_slots[backend_slot < 0 ? 0 : backend_slot].inside, backend_depth,
                              memory_order_relaxed);
}

__attribute__((constructor)) static void prepare_backend_exit(void) {
    pthread_atfork(NULL, NULL, backend_after_fork_in_child);
    atexit(close_backend_at_exit);
}

void mbm_sgemm_openblas(int trans_a, int trans_b, int m, int n, int k, float alpha,
                        const float *a, int lda, const float *b, int ldb, float beta,
                        float *c, int ldc) {
    const int inside = enter_backend();
    openblas.sgemm(ROW_MAJOR, trans_a ? TRANS : NO_TRANS, trans_b ? TRANS : NO_TRANS, m, n, k,
                      alpha, a, lda, b, ldb, beta, c, ldc);
    if (inside) leave_backend();
}

/* ---- starting libxsmm ------------------------------------------------------------------
 * libxsmm 1.17 as Debian builds it (LIBXSMM_AUTOPIN) puts OMP_PROC_BIND=TRUE into the
 * process's environment when it starts (libxsmm_init, which its first call runs) unless
 * GOMP_CPU_AFFINITY, KMP_AFFINITY or OMP_PROC_BIND is set to a value that is not empty (an
 * empty OMP_PROC_BIND is replaced); where it finds an MPI library loaded, I_MPI_SHM_HEAP=1
 * instead. minibatch runs no OpenMP, but an OpenMP runtime that starts after it
 * (scikit-learn's libgomp, PyTorch's, a C++ program's own, or one in a child process, which
 * inherits the environment) then binds its threads: the thread that starts it to the first
 * CPU, and every thread made from that thread afterwards inherits the binding. Found with
 * scikit-learn imported after a training call (2 vCPUs, Emerald Rapids): Python's main thread
 * went to CPU 0 alone, so did the training team made from it (a 2-thread W1 epoch at batch 256
 * took 0.20 s against 0.13 s), and numpy's products slowed too. So every call into libxsmm
 * comes after mbm_libxsmm_start, which starts libxsmm once and puts both names back as they
 * were: unset, or the value they had (an empty one included). Another thread that reads or
 * sets the environment during that first start can still see libxsmm's value, as it could
 * see libxsmm's putenv before. libxsmm's start also opens a lock file, /tmp/.libxsmm.<uid>,
 * and keeps it open, without O_CLOEXEC: made close-on-exec here. */
static pthread_once_t libxsmm_once = PTHREAD_ONCE_INIT;
static const char *const libxsmm_environment[] = {"OMP_PROC_BIND", "I_MPI_SHM_HEAP"};
enum { LIBXSMM_ENVIRONMENT_NAMES = sizeof libxsmm_environment / sizeof libxsmm_environment[0] };

/* Whether descriptor `fd` is open on libxsmm's lock file, /tmp/.libxsmm.<uid>. */
static int is_libxsmm_lock(int fd) {
    char link[40], target[256];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    const ssize_t n = readlink(link, target, sizeof target - 1);
    if (n <= 0) return 0;
    target[n] = 0;
    const char *name = strrchr(target, '/');
    return name && strncmp(name, "/.libxsmm.", 10) == 0;
}

/* Up to LIBXSMM_LOCKS descriptors open on libxsmm's lock file, into `fds_open` (libxsmm opens
 * it without O_CLOEXEC, so a program that another thread starts would inherit it): their
 * count. */
enum { LIBXSMM_LOCKS = 16 };
static int libxsmm_locks(int fds_open[LIBXSMM_LOCKS]) {
    int count = 0;
    DIR *fds = opendir("/proc/self/fd");
    if (!fds) return 0;
    for (struct dirent *e; count < LIBXSMM_LOCKS && (e = readdir(fds)) != NULL;) {
        char *end;
        const long fd = strtol(e->d_name, &end, 10);
        if (end != e->d_name && *end == 0 && fd >= 0 && fd <= INT_MAX && is_libxsmm_lock((int)fd))
            fds_open[count++] = (int)fd;
    }
    closedir(fds);
    return count;
}

static void start_libxsmm(void) {
    int before[LIBXSMM_LOCKS], after[LIBXSMM_LOCKS];
    const int locks_before = libxsmm_locks(before);
    char *was[LIBXSMM_ENVIRONMENT_NAMES];
    int had[LIBXSMM_ENVIRONMENT_NAMES];
    for (int i = 0; i < LIBXSMM_ENVIRONMENT_NAMES; i++) {
        const char *value = getenv(libxsmm_environment[i]);
        had[i] = value != NULL;
        was[i] = value ? strdup(value) : NULL;
    }
    libxsmm_init();
    /* after libxsmm_init's own, so that exit() runs it first (again: idempotent) */
    atexit(close_backend_at_exit);
    for (int i = 0; i < LIBXSMM_ENVIRONMENT_NAMES; i++) {
        const char *now = getenv(libxsmm_environment[i]);
        if (!had[i]) {
            if (now) unsetenv(libxsmm_environment[i]);
        } else if (was[i] && (!now || strcmp(now, was[i]) != 0)) {
            setenv(libxsmm_environment[i], was[i], 1);
        }
        free(was[i]);
    }
    /* The lock file libxsmm opened: close-on-exec (one the process had before is left alone). */
    const int locks_after = libxsmm_locks(after);
    for (int a = 0; a < locks_after; a++) {
        int opened_before = 0;
        for (int b = 0; b < locks_before; b++) opened_before |= before[b] == after[a];
        const int flags = opened_before ? -1 : fcntl(after[a], F_GETFD);
        if (flags >= 0) fcntl(after[a], F_SETFD, flags | FD_CLOEXEC);
    }
}

void mbm_libxsmm_start(void) { pthread_once(&libxsmm_once, start_libxsmm); }

/* Where libxsmm runs a product (one stated test). libxsmm 1.17's JIT multiplies column-major
 * matrices, the first operand never transposed; a row-major C = op(A) op(B) is the
 * column-major C^T = op(B)^T op(A)^T, so libxsmm takes it when B is not transposed (the
 * engine's d input = dz W and dW = dz^T input; the forward product x W^T only through a
 * copy of W^T, below, else OpenBLAS). It
 * adds to C with beta = 1 or overwrites it with beta = 0, and scales by alpha = 1 only: a
 * product with another alpha (the fused first-layer update, W += -rate dz^T x) is run with
 * alpha op(A) copied into a buffer of the calling thread, when op(A) has at most
 * SCALED_A_LIMIT floats (dz of a shard: units x rows).
 * Measured single-threaded on an AMD Zen 5 (1 MiB L2 per core; bench/backends.c), libxsmm
 * ran these products at 230-255 GFLOP/s against OpenBLAS's 170-220 (44 against 97 at
 * 16 x 10 x 16), except dW = A^T B with a B of 1024 x 1024 floats and more (194 against
 * 237): its kernels stream B without packing it, so A^T B took libxsmm only while B
 * (k x n) held fewer than 2^18 floats. Since 0.12.1 that limit holds for narrower kernels
 * only: AVX-512 kernels get a large B in chunks along k (mbm_libxsmm_k_chunk), at which the
 * Xeon below ran A^T B at 155-172 GFLOP/s against OpenBLAS's 143-159 (SkylakeX kernels) and
 * 79-82 (Haswell): 784 x 1024 x 128 to 512 rows, 784 x 2048 x 256, 1024 x 784 x 256 and 512
 * rows, 784 x 512 x 512 (one call, unchunked, 86-103 where B was 1.6-2 MiB).
 * Where libxsmm's kernels are narrower than AVX-512 (its target hsw, AVX2, or older), it is
 * fast only while the product's operands stay in a core's L2: measured single-threaded on
 * an AMD Zen 3 (EPYC, AVX2, 512 KiB L2 per core; bench/backends.c), libxsmm against OpenBLAS
 * 0.3.34 (Haswell kernels) at 784-128-10, in GFLOP/s: x (W^T kept) at 16 rows 73 / 70, at
 * 128 rows 77 / 89, at 256 rows 78 / 90; dW^T = x^T dz at 16 rows 84 / 62, at 256 rows
 * 76 / 91; dW = dz^T x at 16 rows 80 / 65, at 64 rows 67 / 82; the output layer's products
 * 83-87 / 41-54; x (W^T kept) at 784 x 1024, 256 rows, 44 / 93. So there libxsmm takes
 * only products whose A, B and C together fit the L2 (sysconf; 256 KiB where it does not
 * say), the rule above besides; that misplaces three products measured, by 1-9 %: x (W^T
 * kept) at 32 rows (506 KiB: 75 on libxsmm, 80 on OpenBLAS), dW^T at 64 and 128 rows (92 / 84
 * and 89 / 88). */
enum { LIBXSMM_TRANSPOSED_B_LIMIT = 1 << 18, SCALED_A_LIMIT = 1 << 18 };

/* A product with B transposed, C = A B^T (the forward product x W^T of every layer whose W
 * training does not keep transposed, the output layer's above all, and predictions'), has
 * no libxsmm kernel. Since 0.12.2 mbm_sgemm copies B^T (k, n) into the calling thread's
 * buffer (libxsmm_otrans; mbm_sgemm_copied_b) and gives libxsmm A (B^T) where B has at
 * most COPIED_B_LIMIT floats and A at least COPIED_B_ROWS rows, or COPIED_B_NARROWER_ROWS
 * where OpenBLAS's kernels are narrower than libxsmm's AVX-512 ones
 * (OPENBLAS_CORETYPE=Haswell on an AVX-512 CPU); alpha 1 and A untransposed only. Outside
 * a training step's products (mbm_set_training_products: the training team's phases and
 * mb_gradient, where OpenBLAS runs on one thread, BLASThreads.swift; the benchmarks'
 * probes, bench/backends.c and team_rate.c, time them so) only a product of fewer
 * than COPIED_B_UNTHREADED_MNK multiply-adds, which OpenBLAS 0.3.34 runs on one thread
 * whatever its thread count (interface/gemm.c: MNK / (65536 x 4) threads): a larger one,
 * a prediction's say, stays on OpenBLAS, with its threads outside training. Both
 * conditions are the call's own (its shape and its thread's flag), never the process's
 * OpenBLAS thread count, which another thread's training call changes: the same call takes
 * the same library whatever runs beside it. OpenBLAS packs B on every call too, so the copy
 * costs no more than that packing; what it buys is libxsmm's kernel at small n, where
 * OpenBLAS's x W^T is slow. Measured single-threaded on an Intel Xeon (Emerald Rapids, 2 MiB L2 per core;
 * bench/backends.c, "x W^T" rows), GFLOP/s with the copy against OpenBLAS 0.3.34 alone,
 * OPENBLAS_CORETYPE=Haswell / unset (SkylakeX kernels):
 *   W 10 x 128 (W1's output layer): 32 rows 56 / 54 against 32 / 93; 128 rows 83 / 76
 *   against 39 / 32; 256 rows 92 / 86 against 41 / 36 (64 rows, unset: 69 against 97);
 *   W 32 x 128 to 256 x 256, 128 and 256 rows: 113-161 / 97-159 against 62-78 / 68-141;
 *   at 32 rows 62-108 / 63-108 against 49-57 / 62-98;
 *   W 128 x 784 (100,352 floats): 128 rows 136 / 135 against 72 / 121, 256 rows 153 / 151
 *   against 76 / 133;
 *   W 512 x 512 (2^18 floats, past the limit): 109-129 / 105-122 against 76-79 / 131-144.
 * W1 epochs (784-128-10, 60,000 rows, 2 threads; each build alternated 8 times, 4 epochs
 * each, lower quartile): batch 256 0.978 / 0.945 of the time before, batch 512 0.956 (Haswell;
 * unset within the host's noise); one thread, batch 128 unset 0.976, batch 64 Haswell 0.985.
 * Where libxsmm's kernels are narrower than AVX-512, the L2 rule below applies to these
 * products as to any; the copy is unmeasured there (on the Zen 3 the output layer's other
 * two products ran at 83-89 GFLOP/s on libxsmm against 41-54 on OpenBLAS). */
enum { COPIED_B_LIMIT = 1 << 17, COPIED_B_ROWS = 128, COPIED_B_NARROWER_ROWS = 32, COPIED_B_UNTHREADED_MNK = 1 << 19 };

/* Whether the calling thread runs a training step's products now (mbm_set_training_products). */
static _Thread_local int training_products;

int mbm_set_training_products(int on) {
    const int was = training_products;
    training_products = on != 0;
    return was;
}

/* What the rule depends on in this process: whether libxsmm's kernels are AVX-512, whether
 * OpenBLAS's are narrower than those and, where libxsmm's are not AVX-512, the floats a
 * core's L2 holds. Read once. */
static int libxsmm_wide, openblas_narrower;
static long long l2_floats;
static pthread_once_t rule_once = PTHREAD_ONCE_INIT;

static void read_rule(void) {
    mbm_libxsmm_start();
    libxsmm_wide = strcmp(mbm_libxsmm_isa(), "avx512") == 0;
    openblas_narrower = libxsmm_wide && strcmp(mbm_openblas_isa(), "avx512") != 0;
    const long l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
    l2_floats = (l2 > 0 ? l2 : 256 * 1024) / (long long)sizeof(float);
}

int mbm_libxsmm_rule(int trans_a, int trans_b, int m, int n, int k, float alpha, float beta, int training) {
    if (!(beta == 0.0f || beta == 1.0f)) return 0;
    if (m <= 0 || n <= 0 || k <= 0) return 0;
    if (alpha != 1.0f && (!(alpha - alpha == 0.0f) || (long long)m * k > SCALED_A_LIMIT)) return 0;
    pthread_once(&rule_once, read_rule);
    if (trans_b && (trans_a || alpha != 1.0f || (long long)n * k > COPIED_B_LIMIT ||
                    m < (openblas_narrower ? COPIED_B_NARROWER_ROWS : COPIED_B_ROWS) ||
                    (!training && (long long)m * n * k >= COPIED_B_UNTHREADED_MNK)))
        return 0;
    if (trans_a && !libxsmm_wide && (long long)k * n >= LIBXSMM_TRANSPOSED_B_LIMIT) return 0;
    if (!libxsmm_wide && (long long)m * k + (long long)k * n + (long long)m * n > l2_floats) return 0;
    return 1;
}

int mbm_uses_libxsmm(int trans_a, int trans_b, int m, int n, int k, float alpha, float beta) {
    return mbm_libxsmm_rule(trans_a, trans_b, m, n, k, alpha, beta, training_products);
}

long long mbm_libxsmm_fit_floats(void) {
    pthread_once(&rule_once, read_rule);
    return libxsmm_wide ? 0 : l2_floats;
}

/* The calling thread's buffer for alpha op(A) or for B^T (the rule gives no product both:
 * a copied B takes alpha 1 only), 64-byte aligned: grown when a product needs more (its
 * old values are not kept), kept for the thread's life (freed when it exits), so that no
 * product allocates once it is large enough. NULL if it cannot grow.
 *
 * Every buffer is also on a list (`buffers`): a child forked from a process whose other
 * threads held buffers (predictions run on the training team since 0.12.6) has only the
 * forking thread, so those threads' buffers could never be freed there, and nothing pointed
 * to them (valgrind's "definitely lost" in such a child); the child frees every buffer but
 * its own thread's at the fork (`buffers_after_fork_in_child`). */
static pthread_key_t buffer_key;
static pthread_once_t buffer_once = PTHREAD_ONCE_INIT;

typedef struct thread_buffer_t {
    size_t capacity;
    float *values;
    struct thread_buffer_t *previous, *next;
} thread_buffer_t;

static pthread_mutex_t buffers_lock = PTHREAD_MUTEX_INITIALIZER;
static thread_buffer_t *buffers;

static void unlink_buffer(thread_buffer_t *buffer) {
    if (buffer->previous) buffer->previous->next = buffer->next; else buffers = buffer->next;
    if (buffer->next) buffer->next->previous = buffer->previous;
}

static void free_buffer(void *p) {
    thread_buffer_t *buffer = p;
    pthread_mutex_lock(&buffers_lock);
    unlink_buffer(buffer);
    pthread_mutex_unlock(&buffers_lock);
    free(buffer->values);
    free(buffer);
}

static void make_buffer_key(void) { pthread_key_create(&buffer_key, free_buffer); }

static void buffers_before_fork(void) { pthread_mutex_lock(&buffers_lock); }
static void buffers_after_fork_in_parent(void) { pthread_mutex_unlock(&buffers_lock); }
static void buffers_after_fork_in_child(void) {
    /* (a buffer on the list means the key was made before it) */
    thread_buffer_t *own = buffers ? pthread_getspecific(buffer_key) : NULL;
    for (thread_buffer_t *b = buffers, *next; b; b = next) {
        next = b->next;
        if (b == own) continue;
        unlink_buffer(b);
        free(b->values);
        free(b);
    }
    pthread_mutex_unlock(&buffers_lock);
}

__attribute__((constructor)) static void prepare_buffers_for_fork(void) {
    pthread_atfork(buffers_before_fork, buffers_after_fork_in_parent, buffers_after_fork_in_child);
}

static float *thread_buffer(size_t count) {
    pthread_once(&buffer_once, make_buffer_key);
    thread_buffer_t *buffer = pthread_getspecific(buffer_key);
    if (!buffer) {
        buffer = calloc(1, sizeof *buffer);
        if (!buffer) return NULL;
        if (pthread_setspecific(buffer_key, buffer) != 0) {
            free(buffer);
            return NULL;
        }
        pthread_mutex_lock(&buffers_lock);
        buffer->next = buffers;
        if (buffers) buffers->previous = buffer;
        buffers = buffer;
        pthread_mutex_unlock(&buffers_lock);
    }
    if (buffer->capacity < count) {
        const size_t capacity = count < 4096 ? 4096 : count;
        void *grown = NULL;
        if (posix_memalign(&grown, 64, capacity * sizeof(float)) != 0) return NULL;
        free(buffer->values);
        buffer->values = grown;
        buffer->capacity = capacity;
    }
    return buffer->values;
}

/* libxsmm's kernels stream B (k x n) once for every few columns of C^T without blocking it
 * for the cache, so a B larger than a core's L2 is read from the L3 over and over. Cut along
 * k, C = sum over chunks of op(A)[:, chunk] B[chunk, :], each chunk's kernel adding to C
 * (beta 1 after the first), B's chunk stays in the L2 and every C element still takes its
 * k products in order, in one float accumulation (C is reloaded exactly as the registers held
 * it): the same bits as one kernel call (tested), except where n % 64 is 1 to 16 or n is at
 * most 16: there the kernel sums its last block of C^T's rows in 2 to 4 partial sums whose
 * grouping follows the call's K, so chunks round those rows differently (within float32's
 * error, tested against float64). The chunk depends on n and k only; but those rows'
 * partial sums also depend on how the kernel blocks m (in 6s and 5s), so a product cut
 * among threads by m must be cut into the same pieces on any number of threads to round
 * the same (the first layer's update does: TrainingStep+Members.swift,
 * forEachFirstWeightBlock). Measured single-threaded on an Intel Xeon
 * (Emerald Rapids, 2 MiB L2 per core), x (W^T) with W^T (784, n), 128 rows, GFLOP/s in one
 * call and in chunks of B of about a quarter of the L2: n 512, 137-156 and 163-168; n 768,
 * 62-98 and 120-162; n 1024, 57-88 and 115-159; n 2048, 51-72 and 136-149; n 384 (B 57 % of
 * the L2), 170 in one call and 155-166 in chunks. So with AVX-512 kernels a B of more than
 * 5/8 of the L2 is cut into chunks of at most a quarter of it (rows a multiple of 16); with
 * narrower kernels libxsmm takes no product that large (mbm_uses_libxsmm). */
int mbm_libxsmm_k_chunk(int n, int k) {
    pthread_once(&rule_once, read_rule);
    if (!libxsmm_wide || n <= 0 || (long long)k * n <= l2_floats / 8 * 5) return k;
    long long rows = l2_floats / 4 / n / 16 * 16;
    if (rows < 16) rows = 16;
    return rows < k ? (int)rows : k;
}

int mbm_sgemm_libxsmm(int trans_a, int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                      float beta, float *c, int ldc, int chunk) {
    /* Column-major C^T (n, m) = B^T (n, k) op(A)^T (k, m): B's memory is B^T column-major,
     * A's memory is op(A)^T column-major or, with trans_a, op(A) (so libxsmm's second
     * operand is transposed). A chunk of k is B's rows k0.. and op(A)'s columns k0..: A's
     * columns, or with trans_a its rows. */
    mbm_libxsmm_start();
    if (!enter_backend()) return 0; /* the exiting thread: OpenBLAS instead */
    if (chunk <= 0 || chunk > k) chunk = k;
    const int flags = trans_a ? LIBXSMM_GEMM_FLAG_TRANS_B : LIBXSMM_GEMM_FLAG_NONE;
    const libxsmm_blasint ldx = ldb, ldy = lda, ldz = ldc;
    const float alpha = 1.0f, add = 1.0f;
    /* Every kernel is had before C is written, so that a failed dispatch leaves C whole for
     * the caller's general path: the first chunk's (the caller's beta), the full chunks'
     * after it and the last, shorter one's (beta 1). */
    const int last = k % chunk ? k % chunk : chunk;
    const libxsmm_smmfunction first = libxsmm_smmdispatch(n, m, chunk, &ldx, &ldy, &ldz, &alpha, &beta, &flags, NULL);
    const libxsmm_smmfunction full =
        k > chunk ? libxsmm_smmdispatch(n, m, chunk, &ldx, &ldy, &ldz, &alpha, &add, &flags, NULL) : first;
    const libxsmm_smmfunction tail =
        k > chunk ? libxsmm_smmdispatch(n, m, last, &ldx, &ldy, &ldz, &alpha, &add, &flags, NULL) : first;
    if (!first || !full || !tail) {
        leave_backend();
        return 0;
    }
    for (int k0 = 0; k0 < k; k0 += chunk) {
        const libxsmm_smmfunction kernel = k0 == 0 ? first : k - k0 < chunk ? tail : full;
        kernel(b + (size_t)k0 * ldb, trans_a ? a + (size_t)k0 * lda : a + k0, c);
    }
    leave_backend();
    return 1;
}

int mbm_sgemm_copied_b(int m, int n, int k, const float *a, int lda, const float *b, int ldb, float beta, float *c,
                       int ldc) {
    if (m <= 0 || n <= 0 || k <= 0 || ldb < k) return 0;
    float *copy = thread_buffer((size_t)n * k);
    if (!copy) return 0;
    mbm_libxsmm_start();
    /* B (n, k) row-major is column-major (k, n) with leading dimension ldb; its transpose,
     * column-major (n, k), is row-major (k, n). */
    if (!enter_backend()) return 0; /* the exiting thread: OpenBLAS instead */
    libxsmm_otrans(copy, b, sizeof(float), k, n, ldb, n);
    leave_backend();
    return mbm_sgemm_libxsmm(0, m, n, k, a, lda, copy, n, beta, c, ldc, mbm_libxsmm_k_chunk(n, k));
}

void mbm_sgemm(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a, int lda,
               const float *b, int ldb, float beta, float *c, int ldc) {
    if (mbm_uses_libxsmm(trans_a, trans_b, m, n, k, alpha, beta)) {
        /* alpha op(A), packed, where alpha is not 1: A (k, m) with trans_a, else (m, k). */
        if (alpha != 1.0f) {
            float *scaled = thread_buffer((size_t)m * k);
            if (!scaled) goto general;
            const int rows = trans_a ? k : m, columns = trans_a ? m : k;
            for (int r = 0; r < rows; r++)
                for (int j = 0; j < columns; j++) scaled[(size_t)r * columns + j] = alpha * a[(size_t)r * lda + j];
            a = scaled;
            lda = columns;
            alpha = 1.0f;
        }
        if (trans_b) {
            if (mbm_sgemm_copied_b(m, n, k, a, lda, b, ldb, beta, c, ldc)) return;
            goto general;
        }
        if (mbm_sgemm_libxsmm(trans_a, m, n, k, a, lda, b, ldb, beta, c, ldc, mbm_libxsmm_k_chunk(n, k)))
            return;
    }
general:
    mbm_sgemm_openblas(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

/* The first layer's W kept transposed while training (mbm_training_transposes_first_weights).
 * libxsmm 1.17 has no kernel for x W^T (W (n, k) row-major is its first operand
 * transposed), so the forward product x W^T ran on OpenBLAS, which packs W on every call, or
 * on libxsmm after a transpose of W per batch (28 us at 784 x 128, 0.28 ns per weight).
 * Kept transposed, W is transposed twice per epoch instead, and the gradient is made as
 * dW^T = x^T dz (libxsmm, first operand transposed, as dW = dz^T x was).
 * Measured single-threaded on an AMD Zen 5 (1 MiB L2 per core; bench/backends.c), GFLOP/s
 * of x (W^T kept) on libxsmm against x W^T on OpenBLAS 0.3.34, 256 rows: 784 x 128, 284
 * against 243 (SkylakeX kernels) and 269 against 127 (Haswell); 784 x 256, 283 / 249 and
 * 255 / 134; 784 x 1024, 246 / 253 and 242 / 128. W1 epochs (784-128-10, batch 256, one
 * thread): 0.104 s against 0.115 s (OpenBLAS forward, OPENBLAS_CORETYPE unset); 784-256-10
 * with Adam, 20,000 rows: 0.136 against 0.168 s (Haswell), 0.144 against 0.147-0.152
 * (unset). At 784 x 1024 with Adam the epoch was no faster (Haswell) or 2 % slower (unset):
 * there dW^T's dz (rows x 1024) passes libxsmm's transposed-B limit and runs on OpenBLAS.
 * So, with narrower kernels: a W of fewer than 2^18 floats.
 * With AVX-512 kernels (0.12.1), a W of any size: past 5/8 of a core's L2, x (W^T kept) runs
 * in chunks along k (mbm_libxsmm_k_chunk), 160-166 GFLOP/s at 784 x 512 and 784 x 1024 on
 * the Xeon below, where one libxsmm call ran 80-154 and OpenBLAS's x W^T 131-148 (SkylakeX)
 * or 75-80 (Haswell), and from 2^18 weights plain descent's fused update runs in that layout
 * too (W^T += x^T (-rate dz)). Measured on an Intel Xeon (Emerald Rapids, 2 MiB L2 per core,
 * 2 vCPUs), epochs of 60,000 rows, kept transposed against W in its own layout (the 2^18
 * rule), medians of 5, OPENBLAS_CORETYPE=Haswell / unset, 2 threads unless said:
 * 784-512-10 batch 128 (W^T in one call, before the chunks) 0.46-0.49 against 0.62-0.64 s
 * / 0.42-0.44 against 0.45-0.48; one thread 0.755 against 1.04 / 0.748 against 0.754; with
 * the chunks, Adam at batch 512 0.39 against 0.59 / 0.43 against 0.42; 784-1024-10 batch 128 0.85 against 1.18 / 0.79 against 0.94,
 * batch 512 0.72 against 1.03 / 0.72 against 0.78, Adam at 128 1.11 against 1.47 / 1.09
 * against 1.20, Adam at 512 0.93 against 1.13 / 0.84 against 0.81; 784-2048-10 batch 128
 * 1.72 against 2.57 / 1.67 against 1.88. */
enum { TRANSPOSED_FIRST_WEIGHTS_LIMIT = 1 << 18 };

int mbm_training_transposes_first_weights(int n, int k) {
    if (n <= 0 || k <= 0) return 0;
    const long long weights = (long long)n * k;
    if (weights < TRANSPOSED_FIRST_WEIGHTS_LIMIT) return 1;
    pthread_once(&rule_once, read_rule);
    return libxsmm_wide;
}

static char training_forward[320];
static pthread_once_t training_forward_once = PTHREAD_ONCE_INIT;

static void describe_training_forward(void) {
    const long long fit = mbm_libxsmm_fit_floats();
    pthread_once(&rule_once, read_rule);
    const long long kib = l2_floats * (long long)sizeof(float) / 1024;
    if (libxsmm_wide)
        snprintf(training_forward, sizeof training_forward,
                 "libxsmm on the first layer's W kept transposed (any size; a W^T of more than 5/8 of the "
                 "%lld KiB L2 in chunks along k); the others' on libxsmm through a copy of W^T (up to 2^17 "
                 "weights, %s), else OpenBLAS", kib,
                 openblas_narrower ? "from 32 rows: OpenBLAS's kernels are narrower" : "from 128 rows");
    else
        snprintf(training_forward, sizeof training_forward,
                 "libxsmm on the first layer's W kept transposed (fewer than 2^18 weights) where a product's "
                 "operands fit the %lld KiB L2 (libxsmm %s); the others' on libxsmm through a copy of W^T "
                 "(up to 2^17 weights, from 128 rows) where they fit too, else OpenBLAS",
                 fit * (long long)sizeof(float) / 1024, mbm_libxsmm_isa());
}

const char *mbm_training_forward(void) {
    pthread_once(&training_forward_once, describe_training_forward);
    return training_forward;
}

void mbm_transpose(const float *a, int rows, int cols, float *out) {
    /* libxsmm is column-major: a row-major (rows, cols) is a column-major (cols, rows) */
    mbm_libxsmm_start();
    if (!enter_backend()) { /* the exiting thread: libxsmm's kernels may be gone */
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < cols; j++) out[(size_t)j * rows + r] = a[(size_t)r * cols + j];
        return;
    }
    libxsmm_otrans(out, a, sizeof(float), cols, rows, cols, rows);
    leave_backend();
}

int mbm_get_threads(void) {
    const int inside = enter_backend();
    const int threads = openblas.get_num_threads();
    if (inside) leave_backend();
    return threads;
}

/* (counted too: OpenBLAS can start its threads again here, which must not meet its destructor) */
void mbm_set_threads(int threads) {
    const int inside = enter_backend();
    openblas.set_num_threads(threads);
    if (inside) leave_backend();
}

/* scipy_openblas_get_config() reads "OpenBLAS 0.3.34.481.3 DYNAMIC_ARCH ..."; the version is
 * its second word, cut out once. */
static char openblas_version[32];
static pthread_once_t openblas_version_once = PTHREAD_ONCE_INIT;

static char backend_name[80];

static void cut_openblas_version(void) {
    const char *config = openblas.get_config();
    const char *p = config ? strchr(config, ' ') : NULL;
    size_t n = 0;
    if (p) {
        p++;
        while (p[n] && p[n] != ' ' && n + 1 < sizeof openblas_version) n++;
        memcpy(openblas_version, p, n);
    }
    openblas_version[n] = 0;
    snprintf(backend_name, sizeof backend_name, "libxsmm %s + OpenBLAS %s", mbm_libxsmm_version(),
             openblas_version);
}

const char *mbm_openblas_version(void) {
    pthread_once(&openblas_version_once, cut_openblas_version);
    return openblas_version;
}

const char *mbm_backend_name(void) {
    pthread_once(&openblas_version_once, cut_openblas_version);
    return backend_name;
}

const char *mbm_openblas_core(void) { return openblas.get_corename(); }

#define MBM_STRING_(x) #x
#define MBM_STRING(x) MBM_STRING_(x)
const char *mbm_libxsmm_version(void) {
    return MBM_STRING(LIBXSMM_VERSION_MAJOR) "." MBM_STRING(LIBXSMM_VERSION_MINOR) "." MBM_STRING(
        LIBXSMM_VERSION_UPDATE);
}

const char *mbm_libxsmm_target(void) {
    mbm_libxsmm_start();
    return libxsmm_get_target_arch();
}

/* ---- instruction sets ------------------------------------------------------------------ */

/* OpenBLAS names its x86-64 kernel sets after CPUs; these are the ones of DYNAMIC_ARCH
 * 0.3.34 whose kernels use AVX or wider (any other set is SSE). */
const char *mbm_openblas_isa(void) {
    static const struct { const char *core, *isa; } sets[] = {
        {"skylakex", "avx512"}, {"cooperlake", "avx512"}, {"sapphirerapids", "avx512"},
        {"haswell", "avx2"}, {"zen", "avx2"},
        {"sandybridge", "avx"}, {"bulldozer", "avx"}, {"piledriver", "avx"},
        {"steamroller", "avx"}, {"excavator", "avx"},
    };
    const char *core = openblas.get_corename();
    if (!core) return "generic";
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++)
        if (strcasecmp(core, sets[i].core) == 0) return sets[i].isa;
    return "sse";
}

/* libxsmm's targets: generic, wsm (SSE4.2), snb (AVX), hsw (AVX2), knl, knm, skx, clx, cpx,
 * spr (AVX-512). */
const char *mbm_libxsmm_isa(void) {
    mbm_libxsmm_start();
    const int id = libxsmm_get_target_archid();
    if (id >= LIBXSMM_X86_AVX512) return "avx512";
    if (id >= LIBXSMM_X86_AVX2) return "avx2";
    if (id >= LIBXSMM_X86_AVX) return "avx";
    if (id >= LIBXSMM_X86_GENERIC + 1) return "sse";
    return "generic";
}

const char *mbm_cpu_isa(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return "generic";
    const int osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, fma = (c >> 12) & 1;
    const int sse42 = (c >> 20) & 1;
    unsigned long long xcr0 = 0;
    if (osxsave) {
        unsigned lo, hi;
        __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
        xcr0 = ((unsigned long long)hi << 32) | lo;
    }
    const int ymm = (xcr0 & 0x6) == 0x6, zmm = (xcr0 & 0xe6) == 0xe6;
    unsigned b7 = 0;
    if (__get_cpuid_count(7, 0, &a, &b7, &c, &d) == 0) b7 = 0;
    const int avx2 = (b7 >> 5) & 1, avx512f = (b7 >> 16) & 1;
    if (avx512f && zmm && ymm) return "avx512";
    if (avx2 && fma && avx && ymm) return "avx2";
    if (avx && ymm) return "avx";
    return sse42 ? "sse" : "generic";
}
