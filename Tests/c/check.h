/*
 * check.h - a tiny test harness for the C tests of minibatch.
 *
 *   CHECK(cond)                   records one check; on failure prints file:line and the
 *                                 expression, then goes on.
 *   CHECK_STATUS(expr, expected)  one check: expr returned `expected`; on mismatch prints
 *                                 both status names and mb_last_error().
 *   CHECK_ERR(expr, expected)     CHECK_STATUS plus: mb_last_error() is not empty.
 *   CHECK_ERR_ARG(expr, expected, name)
 *                                 CHECK_ERR plus: the message names the argument `name`
 *                                 (compared case-insensitively, '_' and ' ' alike).
 *   CHECK_NEAR(a, b, rtol, atol)  one check: |a - b| <= atol + rtol * max(|a|, |b|).
 *   RUN_TEST(fn)                  runs a `static void fn(void)` and prints [ OK ] / [FAIL].
 *   check_summary()               prints the final line "N passed, N failed" and returns
 *                                 the exit code (1 if any check failed, else 0).
 *
 * The counts in the summary line are counts of CHECKS (each evaluated CHECK* macro), not
 * of test functions.
 */
#ifndef MB_TEST_CHECK_H
#define MB_TEST_CHECK_H

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "minibatch.h"

static long check_passed_count_ = 0;
static long check_failed_count_ = 0;
static long check_tests_failed_ = 0;
static const char *check_current_test_ = "";

static inline void check_fail_header_(const char *file, int line)
{
    check_failed_count_++;
    printf("  FAILED %s:%d (in %s): ", file, line, check_current_test_);
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

static inline int check_status_(mb_status got, mb_status want, int need_message,
                                const char *arg, const char *file, int line,
                                const char *expr)
{
    const char *msg = mb_last_error();
    int ok = got == want;
    int msg_ok = 1, arg_ok = 1;
    if (ok && need_message) {
        msg_ok = msg != NULL && msg[0] != '\0';
        if (msg_ok && arg != NULL) {
            char m[1024], a[256];
            check_normalise_(msg, m, sizeof m);
            check_normalise_(arg, a, sizeof a);
            arg_ok = strstr(m, a) != NULL;
        }
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
               "the argument \"%s\"\n",
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

#define CHECK(cond) check_record_(!!(cond), __FILE__, __LINE__, #cond)
#define CHECK_STATUS(expr, expected) \
    check_status_((expr), (expected), 0, NULL, __FILE__, __LINE__, #expr)
#define CHECK_ERR(expr, expected) \
    check_status_((expr), (expected), 1, NULL, __FILE__, __LINE__, #expr)
#define CHECK_ERR_ARG(expr, expected, name) \
    check_status_((expr), (expected), 1, (name), __FILE__, __LINE__, #expr)
#define CHECK_NEAR(a, b, rtol, atol) \
    check_near_((double)(a), (double)(b), (rtol), (atol), __FILE__, __LINE__, #a, #b)
/* Prints an informative note that is not a check. */
#define NOTE(...) (printf("  note: " __VA_ARGS__), printf("\n"), fflush(stdout))

static inline void check_run_(void (*fn)(void), const char *name)
{
    long before = check_failed_count_;
    check_current_test_ = name;
    fn();
    if (check_failed_count_ == before) {
        printf("[ OK ] %s\n", name);
    } else {
        check_tests_failed_++;
        printf("[FAIL] %s (%ld failed checks)\n", name, check_failed_count_ - before);
    }
    fflush(stdout);
    check_current_test_ = "";
}

#define RUN_TEST(fn) check_run_(fn, #fn)

/* Prints the final line "N passed, N failed" (counts of checks) and returns the exit code. */
static inline int check_summary(void)
{
    if (check_tests_failed_ > 0)
        printf("%ld test functions failed\n", check_tests_failed_);
    printf("%ld passed, %ld failed\n", check_passed_count_, check_failed_count_);
    fflush(stdout);
    return check_failed_count_ > 0 ? 1 : 0;
}

#endif /* MB_TEST_CHECK_H */
