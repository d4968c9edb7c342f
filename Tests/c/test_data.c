/*
 * test_data.c - version, status names, the random generator contract (mb_random,
 * mb_permutation) against an independent implementation, mb_shuffle, mb_shuffle_into,
 * mb_partition and mb_make_moons.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ref.h"

static const uint64_t seeds[] = {0, 1, 42, 0x123456789ABCDEFull, 0xFFFFFFFFFFFFFFFFull};
#define N_SEEDS (sizeof seeds / sizeof seeds[0])

static void test_version(void)
{
    CHECK(mb_version() != NULL);
    CHECK(strcmp(mb_version(), MB_VERSION_STRING) == 0);
    CHECK(mb_version_number() == MB_VERSION_NUMBER);
    CHECK(MB_VERSION_NUMBER == 1206);
    CHECK(mb_version_number() ==
          MB_VERSION_MAJOR * 10000 + MB_VERSION_MINOR * 100 + MB_VERSION_PATCH);
}

static void test_status_names(void)
{
    CHECK(strcmp(mb_status_name(MB_OK), "MB_OK") == 0);
    CHECK(strcmp(mb_status_name(MB_ERR_INVALID_ARGUMENT), "MB_ERR_INVALID_ARGUMENT") == 0);
    CHECK(strcmp(mb_status_name(MB_ERR_OUT_OF_MEMORY), "MB_ERR_OUT_OF_MEMORY") == 0);
    CHECK(strcmp(mb_status_name(MB_ERR_IO), "MB_ERR_IO") == 0);
    CHECK(strcmp(mb_status_name(MB_ERR_FORMAT), "MB_ERR_FORMAT") == 0);
    CHECK(strcmp(mb_status_name(MB_ERR_DIVERGED), "MB_ERR_DIVERGED") == 0);
    CHECK(strcmp(mb_status_name(MB_ERR_CANCELLED), "MB_ERR_CANCELLED") == 0);
    CHECK(strcmp(mb_status_name(MB_ERR_INTERNAL), "MB_ERR_INTERNAL") == 0);
    CHECK(strcmp(mb_status_name(MB_ERR_BUSY), "MB_ERR_BUSY") == 0);
    CHECK(strcmp(mb_status_name(MB_ERR_COMMUNICATION), "MB_ERR_COMMUNICATION") == 0);
    CHECK(strcmp(mb_status_name((mb_status)10), "unknown status") == 0);
    CHECK(strcmp(mb_status_name((mb_status)99), "unknown status") == 0);
    CHECK(strcmp(mb_status_name((mb_status)-1), "unknown status") == 0);
}

static void test_random_matches_reference(void)
{
    static const uint64_t streams[] = {0, 1, 2, 7, 1000000, MB_STREAM_INIT};
    uint64_t out[100], want[100];
    size_t si, ti;
    int64_t i;
    for (si = 0; si < N_SEEDS; si++)
        for (ti = 0; ti < sizeof streams / sizeof streams[0]; ti++) {
            ref_rng r;
            ref_stream(&r, seeds[si], streams[ti]);
            for (i = 0; i < 100; i++)
                want[i] = ref_next(&r);
            memset(out, 0, sizeof out);
            CHECK_STATUS(mb_random(seeds[si], streams[ti], out, 100), MB_OK);
            CHECK(memcmp(out, want, sizeof out) == 0);
        }
}

static void test_random_known_values(void)
{
    /* splitmix64 from state 0: the well-known first output 0xE220A8397B1DCDAF. */
    uint64_t s = 0;
    CHECK(ref_splitmix64(&s) == 0xE220A8397B1DCDAFull);
    /* xoshiro256** with state {1, 2, 3, 4}: first output is rotl(2 * 5, 7) * 9 = 11520. */
    {
        ref_rng r;
        r.s[0] = 1;
        r.s[1] = 2;
        r.s[2] = 3;
        r.s[3] = 4;
        CHECK(ref_next(&r) == 11520u);
        CHECK(ref_next(&r) == 0u);
        CHECK(ref_next(&r) == 1509978240u);
    }
}

static void test_random_prefix_and_count(void)
{
    uint64_t a[10], b[3];
    CHECK_STATUS(mb_random(7, 3, a, 10), MB_OK);
    CHECK_STATUS(mb_random(7, 3, b, 3), MB_OK);
    CHECK(memcmp(a, b, sizeof b) == 0);
    /* only `count` elements are written */
    {
        uint64_t c[4] = {0xAAAAAAAAAAAAAAAAull, 0xAAAAAAAAAAAAAAAAull, 0xAAAAAAAAAAAAAAAAull,
                         0xAAAAAAAAAAAAAAAAull};
        CHECK_STATUS(mb_random(7, 3, c, 1), MB_OK);
        CHECK(c[0] == a[0]);
        CHECK(c[1] == 0xAAAAAAAAAAAAAAAAull && c[3] == 0xAAAAAAAAAAAAAAAAull);
    }
    /* distinct streams and seeds give distinct outputs */
    {
        uint64_t d[3];
        CHECK_STATUS(mb_random(7, 4, d, 3), MB_OK);
        CHECK(memcmp(d, b, sizeof d) != 0);
        CHECK_STATUS(mb_random(8, 3, d, 3), MB_OK);
        CHECK(memcmp(d, b, sizeof d) != 0);
    }
}

static int is_permutation(const int64_t *p, int64_t m)
{
    char *seen = (char *)calloc((size_t)m, 1);
    int64_t i;
    int ok = seen != NULL;
    for (i = 0; ok && i < m; i++) {
        if (p[i] < 0 || p[i] >= m || seen[p[i]])
            ok = 0;
        else
            seen[p[i]] = 1;
    }
    free(seen);
    return ok;
}

static void test_permutation_matches_reference(void)
{
    static const int64_t sizes[] = {1, 2, 3, 5, 10, 97, 1000, 4099};
    static const uint64_t epochs[] = {0, 1, 2, 5, 123456789, 0xFFFFFFFFFFFFFFFEull};
    size_t a, b, c;
    for (a = 0; a < sizeof sizes / sizeof sizes[0]; a++)
        for (b = 0; b < N_SEEDS; b++)
            for (c = 0; c < sizeof epochs / sizeof epochs[0]; c++) {
                int64_t m = sizes[a];
                int64_t *got = (int64_t *)malloc(sizeof(int64_t) * (size_t)m);
                int64_t *want = (int64_t *)malloc(sizeof(int64_t) * (size_t)m);
                if (!CHECK(got && want)) {
                    free(got);
                    free(want);
                    return;
                }
                ref_permutation(m, seeds[b], epochs[c], want);
                CHECK_STATUS(mb_permutation(m, seeds[b], epochs[c], got), MB_OK);
                if (!CHECK(memcmp(got, want, sizeof(int64_t) * (size_t)m) == 0))
                    printf("    m=%lld seed=%llu epoch=%llu\n", (long long)m,
                           (unsigned long long)seeds[b], (unsigned long long)epochs[c]);
                CHECK(is_permutation(got, m));
                free(got);
                free(want);
            }
}

static void test_permutation_small_known(void)
{
    int64_t p[1] = {-5};
    int64_t q[10], r[10];
    CHECK_STATUS(mb_permutation(1, 99, 3, p), MB_OK);
    CHECK(p[0] == 0);
    /* epoch permutations differ from each other (overwhelmingly likely for m = 10) */
    CHECK_STATUS(mb_permutation(10, 5, 0, q), MB_OK);
    CHECK_STATUS(mb_permutation(10, 5, 1, r), MB_OK);
    CHECK(memcmp(q, r, sizeof q) != 0);
    /* computed directly: asking for epoch 1 first changes nothing */
    {
        int64_t r2[10], q2[10];
        CHECK_STATUS(mb_permutation(10, 5, 1, r2), MB_OK);
        CHECK_STATUS(mb_permutation(10, 5, 0, q2), MB_OK);
        CHECK(memcmp(q, q2, sizeof q) == 0 && memcmp(r, r2, sizeof r) == 0);
    }
}

/* Checks that shuffled rows equal original row perm[k]. */
static int rows_match_perm(const unsigned char *orig, const unsigned char *shuf, size_t rb,
                           const int64_t *perm, int64_t m)
{
    int64_t k;
    for (k = 0; k < m; k++)
        if (memcmp(shuf + (size_t)k * rb, orig + (size_t)perm[k] * rb, rb) != 0)
            return 0;
    return 1;
}

static void fill_bytes(unsigned char *p, size_t n, uint64_t seed)
{
    size_t i;
    uint64_t s = seed;
    for (i = 0; i < n; i++)
        p[i] = (unsigned char)(ref_splitmix64(&s) >> 56);
}

static void test_shuffle_keeps_pairs(void)
{
    /* x: 3 floats per row whose first value is the row number; y: int32 row number. */
    enum { M = 257 };
    float x[M * 3], x0[M * 3];
    int32_t y[M];
    int64_t perm[M], k;
    for (k = 0; k < M; k++) {
        x[k * 3] = (float)k;
        x[k * 3 + 1] = (float)k * 2.0f;
        x[k * 3 + 2] = -(float)k;
        y[k] = (int32_t)k;
    }
    memcpy(x0, x, sizeof x);
    CHECK_STATUS(mb_shuffle(x, 3 * sizeof(float), y, sizeof(int32_t), M, 11, 4), MB_OK);
    CHECK_STATUS(mb_permutation(M, 11, 4, perm), MB_OK);
    {
        int pairs = 1, perm_ok = 1;
        int64_t idx[M];
        for (k = 0; k < M; k++) {
            if ((int32_t)x[k * 3] != y[k] || x[k * 3 + 1] != 2.0f * (float)y[k] ||
                x[k * 3 + 2] != -(float)y[k])
                pairs = 0;
            if (y[k] != perm[k])
                perm_ok = 0;
            idx[k] = y[k];
        }
        CHECK(pairs);
        CHECK(perm_ok);
        CHECK(is_permutation(idx, M));
        CHECK(rows_match_perm((const unsigned char *)x0, (const unsigned char *)x,
                              3 * sizeof(float), perm, M));
    }
}

static void test_shuffle_odd_row_widths(void)
{
    static const size_t widths[] = {1, 7, 13, 100};
    size_t a, b;
    int64_t m = 53;
    for (a = 0; a < 4; a++)
        for (b = 0; b < 4; b++) {
            size_t xr = widths[a], yr = widths[b];
            unsigned char *x = (unsigned char *)malloc(xr * (size_t)m);
            unsigned char *y = (unsigned char *)malloc(yr * (size_t)m);
            unsigned char *x0 = (unsigned char *)malloc(xr * (size_t)m);
            unsigned char *y0 = (unsigned char *)malloc(yr * (size_t)m);
            int64_t perm[53];
            if (CHECK(x && y && x0 && y0)) {
                fill_bytes(x, xr * (size_t)m, a * 10 + b);
                fill_bytes(y, yr * (size_t)m, a * 10 + b + 100);
                memcpy(x0, x, xr * (size_t)m);
                memcpy(y0, y, yr * (size_t)m);
                ref_permutation(m, 3, 9, perm);
                CHECK_STATUS(mb_shuffle(x, xr, y, yr, m, 3, 9), MB_OK);
                CHECK(rows_match_perm(x0, x, xr, perm, m));
                CHECK(rows_match_perm(y0, y, yr, perm, m));
            }
            free(x);
            free(y);
            free(x0);
            free(y0);
        }
}

static void test_shuffle_without_y(void)
{
    enum { M = 40 };
    double x[M * 2], x0[M * 2];
    int64_t perm[M];
    fill_bytes((unsigned char *)x, sizeof x, 5);
    memcpy(x0, x, sizeof x);
    ref_permutation(M, 0, 0, perm);
    CHECK_STATUS(mb_shuffle(x, 2 * sizeof(double), NULL, 0, M, 0, 0), MB_OK);
    CHECK(rows_match_perm((const unsigned char *)x0, (const unsigned char *)x,
                          2 * sizeof(double), perm, M));
    /* m = 1 leaves the row as it is */
    {
        double one[2] = {1.5, 2.5};
        CHECK_STATUS(mb_shuffle(one, sizeof one, NULL, 0, 1, 1, 1), MB_OK);
        CHECK(one[0] == 1.5 && one[1] == 2.5);
    }
}

static void test_shuffle_into_equals_gather(void)
{
    enum { M = 131, XR = 12, YR = 5 };
    unsigned char x[M * XR], y[M * YR], x0[M * XR], y0[M * YR];
    unsigned char xo[M * XR], yo[M * YR];
    int64_t perm[M], k;
    size_t e;
    static const uint64_t epochs[] = {0, 1, 17};
    fill_bytes(x, sizeof x, 1);
    fill_bytes(y, sizeof y, 2);
    memcpy(x0, x, sizeof x);
    memcpy(y0, y, sizeof y);
    for (e = 0; e < 3; e++) {
        int gather_ok = 1;
        CHECK_STATUS(mb_permutation(M, 77, epochs[e], perm), MB_OK);
        CHECK_STATUS(mb_shuffle_into(x, XR, y, YR, M, 77, epochs[e], xo, yo), MB_OK);
        for (k = 0; k < M; k++)
            if (memcmp(xo + k * XR, x + perm[k] * XR, XR) != 0 ||
                memcmp(yo + k * YR, y + perm[k] * YR, YR) != 0)
                gather_ok = 0;
        CHECK(gather_ok);
        CHECK(memcmp(x, x0, sizeof x) == 0 && memcmp(y, y0, sizeof y) == 0);
    }
    /* equals the in-place shuffle */
    {
        unsigned char xi[M * XR], yi[M * YR];
        memcpy(xi, x, sizeof x);
        memcpy(yi, y, sizeof y);
        CHECK_STATUS(mb_shuffle(xi, XR, yi, YR, M, 77, 17), MB_OK);
        CHECK(memcmp(xi, xo, sizeof xi) == 0 && memcmp(yi, yo, sizeof yi) == 0);
    }
    /* without y */
    {
        unsigned char xo2[M * XR];
        CHECK_STATUS(mb_shuffle_into(x, XR, NULL, 0, M, 77, 17, xo2, NULL), MB_OK);
        CHECK(memcmp(xo2, xo, sizeof xo2) == 0);
    }
}

static void check_partition(int64_t m, int64_t bs, mb_last_batch lb)
{
    int64_t expect = lb == MB_LAST_BATCH_KEEP ? (m + bs - 1) / bs : m / bs;
    int64_t nb = -1, i, cap = expect + 2;
    int64_t *starts = (int64_t *)malloc(sizeof(int64_t) * (size_t)cap);
    int64_t *counts = (int64_t *)malloc(sizeof(int64_t) * (size_t)cap);
    char *seen = (char *)calloc((size_t)m, 1);
    if (!CHECK(starts && counts && seen))
        goto done;
    CHECK_STATUS(mb_partition(m, bs, lb, NULL, NULL, 0, &nb), MB_OK);
    CHECK(nb == expect);
    nb = -1;
    CHECK_STATUS(mb_partition(m, bs, lb, starts, counts, expect, &nb), MB_OK);
    if (!CHECK(nb == expect)) {
        printf("    m=%lld bs=%lld lb=%d: %lld batches, expected %lld\n", (long long)m,
               (long long)bs, (int)lb, (long long)nb, (long long)expect);
        goto done;
    }
    {
        int in_order = 1, once = 1, sizes_ok = 1;
        int64_t next = 0, covered = 0;
        for (i = 0; i < nb; i++) {
            int64_t r;
            if (starts[i] != next)
                in_order = 0;
            if (i + 1 < nb || lb == MB_LAST_BATCH_DROP || m % bs == 0) {
                if (counts[i] != bs)
                    sizes_ok = 0;
            } else if (counts[i] != m % bs) {
                sizes_ok = 0;
            }
            for (r = starts[i]; r < starts[i] + counts[i] && r < m && r >= 0; r++) {
                if (seen[r])
                    once = 0;
                seen[r] = 1;
                covered++;
            }
            next = starts[i] + counts[i];
        }
        CHECK(in_order);
        CHECK(sizes_ok);
        CHECK(once);
        CHECK(covered == (lb == MB_LAST_BATCH_KEEP ? m : (m / bs) * bs));
    }
done:
    free(starts);
    free(counts);
    free(seen);
}

static void test_partition_covers_each_row_once(void)
{
    static const int64_t ms[] = {1, 2, 7, 10, 64, 100, 1001};
    size_t a;
    int64_t bs;
    for (a = 0; a < sizeof ms / sizeof ms[0]; a++)
        for (bs = 1; bs <= ms[a]; bs += (bs < 12 ? 1 : 37)) {
            check_partition(ms[a], bs, MB_LAST_BATCH_KEEP);
            check_partition(ms[a], bs, MB_LAST_BATCH_DROP);
        }
    check_partition(1001, 1001, MB_LAST_BATCH_KEEP);
    check_partition(1001, 1000, MB_LAST_BATCH_DROP);
}

static void test_partition_examples(void)
{
    int64_t st[8], ct[8], nb = 0;
    CHECK_STATUS(mb_partition(10, 3, MB_LAST_BATCH_KEEP, st, ct, 8, &nb), MB_OK);
    CHECK(nb == 4 && st[0] == 0 && st[1] == 3 && st[2] == 6 && st[3] == 9);
    CHECK(ct[0] == 3 && ct[1] == 3 && ct[2] == 3 && ct[3] == 1);
    CHECK_STATUS(mb_partition(10, 3, MB_LAST_BATCH_DROP, st, ct, 8, &nb), MB_OK);
    CHECK(nb == 3 && st[2] == 6 && ct[2] == 3);
    CHECK_STATUS(mb_partition(10, 10, MB_LAST_BATCH_KEEP, st, ct, 1, &nb), MB_OK);
    CHECK(nb == 1 && st[0] == 0 && ct[0] == 10);
    CHECK_STATUS(mb_partition(10, 10, MB_LAST_BATCH_DROP, st, ct, 1, &nb), MB_OK);
    CHECK(nb == 1 && st[0] == 0 && ct[0] == 10);
    /* capacity larger than needed is fine; exactly needed is fine */
    CHECK_STATUS(mb_partition(9, 3, MB_LAST_BATCH_KEEP, st, ct, 3, &nb), MB_OK);
    CHECK(nb == 3);
    /* a huge m with count only */
    CHECK_STATUS(mb_partition(INT64_C(1) << 40, 1000, MB_LAST_BATCH_KEEP, NULL, NULL, 0, &nb),
                 MB_OK);
    CHECK(nb == ((INT64_C(1) << 40) + 999) / 1000);
}

static void test_make_moons_labels_and_determinism(void)
{
    enum { M = 200 };
    float x[M * 2], x2[M * 2];
    int32_t y[M], y2[M];
    int64_t i;
    int alt = 1, n1 = 0;
    CHECK_STATUS(mb_make_moons(M, 0.1f, 3, x, y), MB_OK);
    for (i = 0; i < M; i++) {
        if (y[i] != (int32_t)(i % 2))
            alt = 0;
        n1 += y[i];
    }
    CHECK(alt);
    CHECK(n1 == M / 2);
    CHECK(all_finite_f(x, M * 2));
    CHECK_STATUS(mb_make_moons(M, 0.1f, 3, x2, y2), MB_OK);
    CHECK(memcmp(x, x2, sizeof x) == 0 && memcmp(y, y2, sizeof y) == 0);
    CHECK_STATUS(mb_make_moons(M, 0.1f, 4, x2, y2), MB_OK);
    CHECK(memcmp(x, x2, sizeof x) != 0);
    CHECK(memcmp(y, y2, sizeof y) == 0);
    /* m = 2 is the smallest */
    {
        float xs[4];
        int32_t ys[2] = {7, 7};
        CHECK_STATUS(mb_make_moons(2, 0.0f, 0, xs, ys), MB_OK);
        CHECK(ys[0] == 0 && ys[1] == 1);
        CHECK(all_finite_f(xs, 4));
    }
}

static void test_make_moons_noise(void)
{
    enum { M = 4000 };
    static float clean[M * 2], clean2[M * 2], noisy[M * 2];
    static int32_t y[M];
    double mean = 0, var = 0;
    int64_t i;
    /* without noise the seed does not matter */
    CHECK_STATUS(mb_make_moons(M, 0.0f, 1, clean, y), MB_OK);
    CHECK_STATUS(mb_make_moons(M, 0.0f, 2, clean2, y), MB_OK);
    CHECK(memcmp(clean, clean2, sizeof clean) == 0);
    /* the noise is Gaussian with standard deviation `noise` on both coordinates */
    CHECK_STATUS(mb_make_moons(M, 0.1f, 1, noisy, y), MB_OK);
    for (i = 0; i < M * 2; i++) {
        double d = (double)noisy[i] - (double)clean[i];
        mean += d;
        var += d * d;
    }
    mean /= M * 2;
    var /= M * 2;
    CHECK_NEAR(mean, 0.0, 0.0, 0.006);      /* ~5 standard errors */
    CHECK_NEAR(sqrt(var), 0.1, 0.05, 0.0);
    /* the two classes' clean points are different sets (two distinct arcs) */
    {
        double c0x = 0, c0y = 0, c1x = 0, c1y = 0;
        for (i = 0; i < M; i++) {
            if (i % 2 == 0) {
                c0x += clean[i * 2];
                c0y += clean[i * 2 + 1];
            } else {
                c1x += clean[i * 2];
                c1y += clean[i * 2 + 1];
            }
        }
        CHECK(fabs(c0x - c1x) + fabs(c0y - c1y) > 0.1 * M / 2);
    }
}

/* The documented geometry: class 0 on (cos t, sin t), class 1 on (1 - cos t, 0.5 - sin t),
   t evenly spaced over [0, pi] within each class, plus noise * N_k in row order. */
static void check_moons_exact(int64_t m, float noise, uint64_t seed)
{
    float *x = (float *)malloc(sizeof(float) * (size_t)(m * 2));
    int32_t *y = (int32_t *)malloc(sizeof(int32_t) * (size_t)m);
    double *nrm = (double *)malloc(sizeof(double) * (size_t)(m * 2));
    int64_t i, n[2];
    int ok = 1;
    const double pi = 3.14159265358979323846;
    n[0] = (m + 1) / 2;
    n[1] = m / 2;
    if (!CHECK(x && y && nrm))
        goto done;
    CHECK_STATUS(mb_make_moons(m, noise, seed, x, y), MB_OK);
    ref_normals(seed, nrm, m * 2);
    for (i = 0; i < m && ok; i++) {
        int c = (int)(i % 2);
        double t = pi * (double)(i / 2) / (double)(n[c] - 1);
        double wx = c == 0 ? cos(t) : 1.0 - cos(t);
        double wy = c == 0 ? sin(t) : 0.5 - sin(t);
        wx += (double)noise * nrm[i * 2];
        wy += (double)noise * nrm[i * 2 + 1];
        if (y[i] != c || fabs(x[i * 2] - wx) > 2e-6 || fabs(x[i * 2 + 1] - wy) > 2e-6) {
            printf("    m=%lld noise=%g seed=%llu row %lld: (%.7g, %.7g) class %d, expected "
                   "(%.7g, %.7g) class %d\n",
                   (long long)m, noise, (unsigned long long)seed, (long long)i, x[i * 2],
                   x[i * 2 + 1], (int)y[i], wx, wy, c);
            ok = 0;
        }
    }
    CHECK(ok);
done:
    free(x);
    free(y);
    free(nrm);
}

static void test_make_moons_matches_reference(void)
{
    static const int64_t ms[] = {4, 5, 10, 7, 200, 201, 1000};
    static const float noises[] = {0.0f, 0.1f, 0.35f};
    size_t a, b;
    for (a = 0; a < sizeof ms / sizeof ms[0]; a++)
        for (b = 0; b < 3; b++) {
            check_moons_exact(ms[a], noises[b], 0);
            check_moons_exact(ms[a], noises[b], 12345);
        }
}

/* Functions without a handle are thread-safe: same results from several threads. */
typedef struct perm_job {
    int64_t perm[5000];
    uint64_t rnd[64];
} perm_job;

static void *perm_thread(void *arg)
{
    perm_job *j = (perm_job *)arg;
    int rep;
    for (rep = 0; rep < 5; rep++) {
        if (mb_permutation(5000, 9, (uint64_t)rep, j->perm) != MB_OK)
            return NULL;
        if (mb_random(9, 3, j->rnd, 64) != MB_OK)
            return NULL;
    }
    return arg;
}

static void test_thread_safety_without_handles(void)
{
    static perm_job jobs[3];
    pthread_t t[3];
    int i, started[3];
    int64_t want[5000];
    for (i = 0; i < 3; i++)
        started[i] = pthread_create(&t[i], NULL, perm_thread, &jobs[i]) == 0;
    for (i = 0; i < 3; i++) {
        void *res = NULL;
        if (!CHECK(started[i]))
            continue;
        pthread_join(t[i], &res);
        CHECK(res == &jobs[i]);
    }
    ref_permutation(5000, 9, 4, want);
    for (i = 0; i < 3; i++)
        if (started[i])
            CHECK(memcmp(jobs[i].perm, want, sizeof want) == 0);
}

int main(void)
{
    RUN_TEST(test_version);
    RUN_TEST(test_status_names);
    RUN_TEST(test_random_known_values);
    RUN_TEST(test_random_matches_reference);
    RUN_TEST(test_random_prefix_and_count);
    RUN_TEST(test_permutation_matches_reference);
    RUN_TEST(test_permutation_small_known);
    RUN_TEST(test_shuffle_keeps_pairs);
    RUN_TEST(test_shuffle_odd_row_widths);
    RUN_TEST(test_shuffle_without_y);
    RUN_TEST(test_shuffle_into_equals_gather);
    RUN_TEST(test_partition_examples);
    RUN_TEST(test_partition_covers_each_row_once);
    RUN_TEST(test_make_moons_labels_and_determinism);
    RUN_TEST(test_make_moons_noise);
    RUN_TEST(test_make_moons_matches_reference);
    RUN_TEST(test_thread_safety_without_handles);
    return check_summary();
}
