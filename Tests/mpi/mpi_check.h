/*
 * mpi_check.h - Tests/c/check.h for programs that every MPI rank runs.
 *
 * The same macros as check.h, each evaluated on the calling rank; a failure prints
 * "FAILED [rank k] file:line (in test): ..." at once. Beside them, collective checks that
 * every rank must call, in the same order (their arguments may differ by rank):
 *
 *   CHECK_SAME_BYTES(p, n)      every rank holds the same n bytes at p (an FNV-1a hash of
 *                               them is allgathered and compared).
 *   CHECK_SAME_STRING(s)        every rank holds the same string (its first
 *                               MPI_CHECK_STRING - 1 bytes are allgathered).
 *   CHECK_SAME_INT(v)           every rank holds the same int64_t.
 *   Each is one check, counted (and on failure printed, with every rank's value) by rank 0;
 *   every rank gets its result.
 *
 *   RUN_TEST(fn)                runs `static void fn(void)` on every rank, under an alarm of
 *                               MPI_CHECK_TEST_SECONDS (a rank still in it then prints the
 *                               test's name and exits 3, so a hang names itself instead of
 *                               waiting for the outer timeout); then rank 0 prints
 *                               [ OK ] / [FAIL] with the failed checks of all ranks.
 *   check_summary()             collective: rank 0 prints "N passed, N failed" (counts of
 *                               checks summed over the ranks); every rank returns the exit
 *                               code, 1 if any rank failed a check, else 0.
 *
 * A test function must reach the same collectives on every rank whatever its checks found:
 * checks record, they never return early.
 *
 * The rank, the size and the counters are shared by every file of a program: exactly one
 * file defines MPI_CHECK_DEFINE before including this header (it holds their definitions),
 * the others see their declarations.
 */
#ifndef MB_TEST_MPI_CHECK_H
#define MB_TEST_MPI_CHECK_H

#include <ctype.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mpi.h>

#include "minibatch.h"

#define MPI_CHECK_STRING 512
#ifndef MPI_CHECK_TEST_SECONDS
#define MPI_CHECK_TEST_SECONDS 90
#endif

extern int check_rank_;
extern int check_size_;
extern long check_passed_count_;
extern long check_failed_count_;
extern long check_tests_failed_;
extern const char *volatile check_current_test_;
#ifdef MPI_CHECK_DEFINE
int check_rank_ = 0;
int check_size_ = 1;
long check_passed_count_ = 0;
long check_failed_count_ = 0;
long check_tests_failed_ = 0;
const char *volatile check_current_test_ = "";
#endif

static inline void check_fail_header_(const char *file, int line)
{
    check_failed_count_++;
    printf("  FAILED [rank %d] %s:%d (in %s): ", check_rank_, file, line, check_current_test_);
}

static inline int check_record_(int ok, const char *file, int line, const char *expr)
{
    if (ok) {
        check_passed_count_++;
        return 1;
    }
    check_fail_header_(file, line);
    printf("CHECK(%s)\n", expr);
    fflush(stdout);
    return 0;
}

/* Lower-cases and maps '_' to ' ' so that "learning_rate" matches "Learning rate". */
static inline void check_normalise_(const char *in, char *out, size_t cap)
{
    size_t i = 0;
    for (; in[i] != '\0' && i + 1 < cap; i++) {
        char c = (char)tolower((unsigned char)in[i]);
        out[i] = c == '_' ? ' ' : c;
    }
    out[i] = '\0';
}

/* Whether `message` names `name` (case-insensitively, '_' and ' ' alike). */
static inline int check_names_(const char *message, const char *name)
{
    char m[1024], a[256];
    check_normalise_(message, m, sizeof m);
    check_normalise_(name, a, sizeof a);
    return strstr(m, a) != NULL;
}

static inline int check_status_(mb_status got, mb_status want, int need_message,
                                const char *arg, const char *file, int line,
                                const char *expr)
{
    const char *msg = mb_last_error();
    int ok = got == want;
    int msg_ok = 1, arg_ok = 1;
    if (ok && need_message) {
        msg_ok = msg != NULL && msg[0] != '\0';
        if (msg_ok && arg != NULL)
            arg_ok = check_names_(msg, arg);
    }
    if (ok && msg_ok && arg_ok) {
        check_passed_count_++;
        return 1;
    }
    check_fail_header_(file, line);
    if (!ok)
        printf("%s\n    returned %s (%d), expected %s (%d); mb_last_error: \"%s\"\n", expr,
               mb_status_name(got), (int)got, mb_status_name(want), (int)want,
               msg ? msg : "(NULL)");
    else if (!msg_ok)
        printf("%s\n    returned %s as expected but mb_last_error() is empty\n", expr,
               mb_status_name(got));
    else
        printf("%s\n    returned %s as expected but mb_last_error() \"%s\" does not name "
               "\"%s\"\n",
               expr, mb_status_name(got), msg, arg);
    fflush(stdout);
    return 0;
}

static inline int check_near_(double a, double b, double rtol, double atol, const char *file,
                              int line, const char *ea, const char *eb)
{
    double diff = fabs(a - b);
    double scale = fabs(a) > fabs(b) ? fabs(a) : fabs(b);
    if (diff <= atol + rtol * scale) { /* false for NaN */
        check_passed_count_++;
        return 1;
    }
    check_fail_header_(file, line);
    printf("CHECK_NEAR(%s, %s)\n    %.9g vs %.9g (diff %.3g, rtol %.1g, atol %.1g)\n", ea, eb, a,
           b, diff, rtol, atol);
    fflush(stdout);
    return 0;
}

/* ---- collective checks ---------------------------------------------------------------- */

static inline uint64_t check_hash_(const void *p, size_t n)
{
    const unsigned char *b = (const unsigned char *)p;
    uint64_t h = 0xcbf29ce484222325ull;
    size_t i;
    for (i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

/* Collective: whether every rank passed the same 64-bit value; prints the ranks that differ
 * from rank 0. */
static inline int check_same_u64_(uint64_t v, const char *what, const char *file, int line,
                                  const char *expr)
{
    uint64_t all[1024];
    uint64_t *got = check_size_ <= 1024 ? all : (uint64_t *)malloc(sizeof(uint64_t) * (size_t)check_size_);
    int k, same = 1;
    MPI_Allgather(&v, 1, MPI_UINT64_T, got, 1, MPI_UINT64_T, MPI_COMM_WORLD);
    for (k = 1; k < check_size_; k++)
        same = same && got[k] == got[0];
    if (check_rank_ != 0) {
        /* counted and printed once, by rank 0 */
    } else if (same) {
        check_passed_count_++;
    } else {
        check_fail_header_(file, line);
        printf("%s(%s) differs across ranks:", what, expr);
        for (k = 0; k < check_size_; k++)
            printf(" rank %d %016llx", k, (unsigned long long)got[k]);
        printf("\n");
        fflush(stdout);
    }
    if (got != all)
        free(got);
    return same;
}

static inline int check_same_string_(const char *s, const char *file, int line, const char *expr)
{
    char mine[MPI_CHECK_STRING];
    char *all = (char *)malloc((size_t)MPI_CHECK_STRING * (size_t)check_size_);
    int k, same = 1;
    size_t n;
    if (s == NULL)
        s = "(NULL)";
    n = strlen(s) < sizeof mine - 1 ? strlen(s) : sizeof mine - 1;
    memset(mine, 0, sizeof mine);
    memcpy(mine, s, n);
    MPI_Allgather(mine, MPI_CHECK_STRING, MPI_CHAR, all, MPI_CHECK_STRING, MPI_CHAR,
                  MPI_COMM_WORLD);
    for (k = 1; k < check_size_; k++)
        same = same && memcmp(all + (size_t)k * MPI_CHECK_STRING, all, MPI_CHECK_STRING) == 0;
    if (check_rank_ != 0) {
        /* counted and printed once, by rank 0 */
    } else if (same) {
        check_passed_count_++;
    } else {
        check_fail_header_(file, line);
        printf("CHECK_SAME_STRING(%s) differs across ranks:\n", expr);
        for (k = 0; k < check_size_; k++)
            printf("    rank %d: \"%s\"\n", k, all + (size_t)k * MPI_CHECK_STRING);
        fflush(stdout);
    }
    free(all);
    return same;
}

#define CHECK(cond) check_record_(!!(cond), __FILE__, __LINE__, #cond)
#define CHECK_STATUS(expr, expected) \
    check_status_((expr), (expected), 0, NULL, __FILE__, __LINE__, #expr)
#define CHECK_ERR(expr, expected) \
    check_status_((expr), (expected), 1, NULL, __FILE__, __LINE__, #expr)
#define CHECK_ERR_ARG(expr, expected, name) \
    check_status_((expr), (expected), 1, (name), __FILE__, __LINE__, #expr)
#define CHECK_NEAR(a, b, rtol, atol) \
    check_near_((double)(a), (double)(b), (rtol), (atol), __FILE__, __LINE__, #a, #b)
#define CHECK_SAME_BYTES(p, n) \
    check_same_u64_(check_hash_((p), (n)), "CHECK_SAME_BYTES", __FILE__, __LINE__, #p)
#define CHECK_SAME_INT(v) \
    check_same_u64_((uint64_t)(int64_t)(v), "CHECK_SAME_INT", __FILE__, __LINE__, #v)
#define CHECK_SAME_STRING(s) check_same_string_((s), __FILE__, __LINE__, #s)
/* Prints an informative note from rank 0 that is not a check. */
#define NOTE(...) \
    (void)(check_rank_ == 0 && (printf("  note: " __VA_ARGS__), printf("\n"), fflush(stdout)))

/* ---- running tests ---------------------------------------------------------------------- */

static void check_alarm_(int sig)
{
    /* Only async-signal-safe calls: write and _exit. */
    char buf[256];
    const char *name = check_current_test_;
    size_t n = 0, i;
    const char *a = "\n  TIMEOUT [rank ";
    const char *b = "]: still in ";
    const char *c = " after the test's time limit: a hang (exit 3)\n";
    (void)sig;
    for (i = 0; a[i] && n < sizeof buf; i++)
        buf[n++] = a[i];
    if (check_rank_ >= 100 && n < sizeof buf)
        buf[n++] = (char)('0' + check_rank_ / 100 % 10);
    if (check_rank_ >= 10 && n < sizeof buf)
        buf[n++] = (char)('0' + check_rank_ / 10 % 10);
    if (n < sizeof buf)
        buf[n++] = (char)('0' + check_rank_ % 10);
    for (i = 0; b[i] && n < sizeof buf; i++)
        buf[n++] = b[i];
    for (i = 0; name[i] && n + 60 < sizeof buf; i++)
        buf[n++] = name[i];
    for (i = 0; c[i] && n < sizeof buf; i++)
        buf[n++] = c[i];
    if (write(STDOUT_FILENO, buf, n) < 0) {
        /* nothing more can be done */
    }
    _exit(3);
}

/* Call once after MPI_Init. */
static inline void check_init(void)
{
    MPI_Comm_rank(MPI_COMM_WORLD, &check_rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &check_size_);
    signal(SIGALRM, check_alarm_);
}

static inline void check_run_(void (*fn)(void), const char *name)
{
    long before = check_failed_count_, failed = 0, mine;
    check_current_test_ = name;
    alarm(MPI_CHECK_TEST_SECONDS);
    fn();
    mine = check_failed_count_ - before;
    MPI_Allreduce(&mine, &failed, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
    alarm(0);
    if (failed == 0) {
        if (check_rank_ == 0)
            printf("[ OK ] %s\n", name);
    } else {
        check_tests_failed_++;
        if (check_rank_ == 0)
            printf("[FAIL] %s (%ld failed checks over %d ranks)\n", name, failed, check_size_);
    }
    fflush(stdout);
    check_current_test_ = "";
}

#define RUN_TEST(fn) check_run_(fn, #fn)

/* Collective: rank 0 prints "N passed, N failed" (checks summed over the ranks); every rank
 * returns the exit code. */
static inline int check_summary(void)
{
    long mine[2], all[2] = {0, 0};
    mine[0] = check_passed_count_;
    mine[1] = check_failed_count_;
    MPI_Allreduce(mine, all, 2, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
    if (check_rank_ == 0) {
        if (check_tests_failed_ > 0)
            printf("%ld test functions failed\n", check_tests_failed_);
        printf("%ld passed, %ld failed\n", all[0], all[1]);
        fflush(stdout);
    }
    return all[1] > 0 ? 1 : 0;
}

#endif /* MB_TEST_MPI_CHECK_H */
