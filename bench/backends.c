/*
 * backends.c - single-threaded sgemm GFLOP/s of the matrix-product backends this machine
 * has, at the shapes one W1 training step multiplies (784-128-10: the forward product
 * x W^T, dW = dz^T x and the layer-2 products, for shards of 16 to 512 rows), each product
 * timed in a loop (hot cache), the median of 7 blocks of at least 30 ms.
 *
 * Columns: minibatch's backend (mbm_sgemm, Sources/CMatrix: libxsmm where its rule says,
 * OpenBLAS 0.3.34 otherwise), that OpenBLAS alone, libxsmm alone (where it has a kernel:
 * it multiplies with an untransposed first operand only, so the forward product x W^T has
 * none; training keeps the first layer's W transposed, so that its forward product is
 * x (W^T), and makes dW^T = x^T dz: those rows too), and, when they can be loaded, Debian's OpenBLAS (libopenblas.so.0) and oneDNN's
 * dnnl_sgemm (libdnnl.so.2; with OMP_NUM_THREADS=1). This is the measurement the backend
 * was chosen by (README, "Matrix products"); `make backends` builds and runs it.
 *
 *   cc -O2 bench/backends.c Sources/CMatrix/matrix.c -I Sources/CMatrix/include \
 *      -L .build/vendor/lib -Wl,-rpath,$PWD/.build/vendor/lib -lscipy_openblas \
 *      -lxsmm -lxsmmnoblas -ldl -lpthread -lm -o backends && ./backends
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libxsmm.h>

#include "matrix.h"

typedef void (*cblas_sgemm_fn)(int, int, int, int, int, int, float, const float *, int,
                               const float *, int, float, float *, int);
typedef int (*dnnl_sgemm_fn)(char, char, long, long, long, float, const float *, long,
                             const float *, long, float, float *, long);

static cblas_sgemm_fn debian_sgemm;
static dnnl_sgemm_fn dnnl_sgemm;

/* Row-major C (m, n) = op(A) op(B). */
typedef struct shape {
    const char *name;
    int ta, tb, m, n, k;
} shape;

enum { OURS, OPENBLAS, LIBXSMM, DEBIAN, ONEDNN, BACKENDS };
static const char *const names[BACKENDS] = {"minibatch", "OpenBLAS", "libxsmm", "Debian OB", "oneDNN"};

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static void product(int backend, const shape *s, const float *a, const float *b, float *c,
                    libxsmm_smmfunction kernel)
{
    const int lda = s->ta ? s->m : s->k, ldb = s->tb ? s->k : s->n;
    switch (backend) {
    case OURS:
        mbm_sgemm(s->ta, s->tb, s->m, s->n, s->k, 1, a, lda, b, ldb, 0, c, s->n);
        break;
    case OPENBLAS:
        mbm_sgemm_openblas(s->ta, s->tb, s->m, s->n, s->k, 1, a, lda, b, ldb, 0, c, s->n);
        break;
    case LIBXSMM:
        kernel(b, a, c); /* column-major C^T = B^T op(A)^T, see matrix.c */
        break;
    case DEBIAN:
        debian_sgemm(101, s->ta ? 112 : 111, s->tb ? 112 : 111, s->m, s->n, s->k, 1, a, lda, b,
                     ldb, 0, c, s->n);
        break;
    case ONEDNN:
        dnnl_sgemm(s->ta ? 'T' : 'N', s->tb ? 'T' : 'N', s->m, s->n, s->k, 1, a, lda, b, ldb, 0,
                   c, s->n);
        break;
    }
}

static int by_value(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

int main(void)
{
    static const shape shapes[] = {
        {"forward x W1^T, 16 rows", 0, 1, 16, 128, 784},
        {"forward x W1^T, 32 rows", 0, 1, 32, 128, 784},
        {"forward x W1^T, 64 rows", 0, 1, 64, 128, 784},
        {"forward x W1^T, 128 rows", 0, 1, 128, 128, 784},
        {"forward x W1^T, 256 rows", 0, 1, 256, 128, 784},
        {"forward x W1^T, 512 rows", 0, 1, 512, 128, 784},
        {"dW1 = dz^T x, 16 rows", 1, 0, 128, 784, 16},
        {"dW1 = dz^T x, 64 rows", 1, 0, 128, 784, 64},
        {"dW1 = dz^T x, 128 rows", 1, 0, 128, 784, 128},
        {"dW1 = dz^T x, 256 rows", 1, 0, 128, 784, 256},
        /* the first layer as training keeps it, W transposed (W^T: 784 x 128) */
        {"forward x (W1^T kept), 16 rows", 0, 0, 16, 128, 784},
        {"forward x (W1^T kept), 32 rows", 0, 0, 32, 128, 784},
        {"forward x (W1^T kept), 64 rows", 0, 0, 64, 128, 784},
        {"forward x (W1^T kept), 128 rows", 0, 0, 128, 128, 784},
        {"forward x (W1^T kept), 256 rows", 0, 0, 256, 128, 784},
        {"dW1^T = x^T dz, 16 rows", 1, 0, 784, 128, 16},
        {"dW1^T = x^T dz, 32 rows", 1, 0, 784, 128, 32},
        {"dW1^T = x^T dz, 64 rows", 1, 0, 784, 128, 64},
        {"dW1^T = x^T dz, 128 rows", 1, 0, 784, 128, 128},
        {"dW1^T = x^T dz, 256 rows", 1, 0, 784, 128, 256},
        /* wider first layers, both ways: 784 x 256 (kept transposed in training) and 784 x 1024
           (2^19.6 floats: past the 2^18 below which training keeps W transposed) */
        {"forward x W^T, 784-1024, 256 rows", 0, 1, 256, 1024, 784},
        {"forward x (W^T kept), 784-1024, 256 rows", 0, 0, 256, 1024, 784},
        {"forward x W^T, 784-256, 256 rows", 0, 1, 256, 256, 784},
        {"forward x (W^T kept), 784-256, 256 rows", 0, 0, 256, 256, 784},
        /* 784 x 512 (2^18.6 floats), where the hidden-width scaling line of bench.py bends */
        {"forward x W^T, 784-512, 128 rows", 0, 1, 128, 512, 784},
        {"forward x (W^T kept), 784-512, 128 rows", 0, 0, 128, 512, 784},
        {"forward x W^T, 784-512, 256 rows", 0, 1, 256, 512, 784},
        {"forward x (W^T kept), 784-512, 256 rows", 0, 0, 256, 512, 784},
        {"dW = dz^T x, 784-512, 128 rows", 1, 0, 512, 784, 128},
        {"dW^T = x^T dz, 784-512, 128 rows", 1, 0, 784, 512, 128},
        {"dW = dz^T x, 784-1024, 128 rows", 1, 0, 1024, 784, 128},
        {"dW^T = x^T dz, 784-1024, 128 rows", 1, 0, 784, 1024, 128},
        {"output a1 W2^T, 128 rows", 0, 1, 128, 10, 128},
        {"output a1 (W2^T copy), 128 rows", 0, 0, 128, 10, 128},
        {"output a1 W2^T, 64 rows", 0, 1, 64, 10, 128},
        {"output a1 (W2^T copy), 64 rows", 0, 0, 64, 10, 128},
        {"output a1 W2^T, 256 rows", 0, 1, 256, 10, 128},
        {"output a1 (W2^T copy), 256 rows", 0, 0, 256, 10, 128},
        {"x W^T 10x128, 32 rows", 0, 1, 32, 10, 128},
        {"x W^T 10x128, 128 rows", 0, 1, 128, 10, 128},
        {"x W^T 10x128, 256 rows", 0, 1, 256, 10, 128},
        {"x W^T 10x512, 32 rows", 0, 1, 32, 10, 512},
        {"x W^T 10x512, 128 rows", 0, 1, 128, 10, 512},
        {"x W^T 10x512, 256 rows", 0, 1, 256, 10, 512},
        {"x W^T 32x128, 32 rows", 0, 1, 32, 32, 128},
        {"x W^T 32x128, 128 rows", 0, 1, 128, 32, 128},
        {"x W^T 32x128, 256 rows", 0, 1, 256, 32, 128},
        {"x W^T 64x128, 32 rows", 0, 1, 32, 64, 128},
        {"x W^T 64x128, 128 rows", 0, 1, 128, 64, 128},
        {"x W^T 64x128, 256 rows", 0, 1, 256, 64, 128},
        {"x W^T 128x128, 32 rows", 0, 1, 32, 128, 128},
        {"x W^T 128x128, 128 rows", 0, 1, 128, 128, 128},
        {"x W^T 128x128, 256 rows", 0, 1, 256, 128, 128},
        {"x W^T 128x64, 32 rows", 0, 1, 32, 128, 64},
        {"x W^T 128x64, 128 rows", 0, 1, 128, 128, 64},
        {"x W^T 128x64, 256 rows", 0, 1, 256, 128, 64},
        {"x W^T 256x128, 32 rows", 0, 1, 32, 256, 128},
        {"x W^T 256x128, 128 rows", 0, 1, 128, 256, 128},
        {"x W^T 256x128, 256 rows", 0, 1, 256, 256, 128},
        {"x W^T 128x256, 32 rows", 0, 1, 32, 128, 256},
        {"x W^T 128x256, 128 rows", 0, 1, 128, 128, 256},
        {"x W^T 128x256, 256 rows", 0, 1, 256, 128, 256},
        {"x W^T 256x256, 32 rows", 0, 1, 32, 256, 256},
        {"x W^T 256x256, 128 rows", 0, 1, 128, 256, 256},
        {"x W^T 256x256, 256 rows", 0, 1, 256, 256, 256},
        {"x W^T 512x512, 32 rows", 0, 1, 32, 512, 512},
        {"x W^T 512x512, 128 rows", 0, 1, 128, 512, 512},
        {"x W^T 512x512, 256 rows", 0, 1, 256, 512, 512},
        {"x W^T 128x784, 32 rows", 0, 1, 32, 128, 784},
        {"x W^T 128x784, 128 rows", 0, 1, 128, 128, 784},
        {"x W^T 128x784, 256 rows", 0, 1, 256, 128, 784},
        {"dW2 = dz^T a1, 128 rows", 1, 0, 10, 128, 128},
        {"d a1 = dz W2, 128 rows", 0, 0, 128, 128, 10},
    };
    const size_t count = sizeof shapes / sizeof shapes[0];
    void *h;
    float *a = aligned_alloc(64, 4 << 20), *b = aligned_alloc(64, 4 << 20), *c = aligned_alloc(64, 4 << 20);
    if (!a || !b || !c)
        return 1;
    for (int i = 0; i < 1 << 20; i++) {
        a[i] = (float)(i % 97) * 0.01f;
        b[i] = (float)(i % 89) * 0.01f;
    }
    if ((h = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL))) {
        void (*set_threads)(int) = (void (*)(int))dlsym(h, "openblas_set_num_threads");
        debian_sgemm = (cblas_sgemm_fn)dlsym(h, "cblas_sgemm");
        if (set_threads)
            set_threads(1);
    }
    if ((h = dlopen("libdnnl.so.2", RTLD_NOW | RTLD_LOCAL)))
        dnnl_sgemm = (dnnl_sgemm_fn)dlsym(h, "dnnl_sgemm");
    mbm_set_threads(1);
    /* every product as a training step runs it (mbm_set_training_products; matrix.c) */
    mbm_set_training_products(1);
    printf("minibatch's backend: %s; libxsmm target %s (%s), OpenBLAS core %s (%s); CPU %s\n",
           mbm_backend_name(), mbm_libxsmm_target(), mbm_libxsmm_isa(), mbm_openblas_core(),
           mbm_openblas_isa(), mbm_cpu_isa());
    printf("OPENBLAS_CORETYPE=%s; Debian's OpenBLAS %s; oneDNN %s%s\n",
           getenv("OPENBLAS_CORETYPE") ? getenv("OPENBLAS_CORETYPE") : "unset",
           debian_sgemm ? "loaded" : "not found", dnnl_sgemm ? "loaded" : "not found",
           dnnl_sgemm && !getenv("OMP_NUM_THREADS") ? " (set OMP_NUM_THREADS=1: it threads)" : "");
    printf("single-thread GFLOP/s, median of 7 blocks of >= 30 ms\n%-28s", "product (row-major)");
    for (int k = 0; k < BACKENDS; k++)
        printf(" %10s", names[k]);
    printf("\n");
    for (size_t i = 0; i < count; i++) {
        const shape *s = &shapes[i];
        const libxsmm_blasint ldx = s->tb ? s->k : s->n, ldy = s->ta ? s->m : s->k, ldz = s->n;
        const float one = 1, zero = 0;
        const int flags = s->ta ? LIBXSMM_GEMM_FLAG_TRANS_B : LIBXSMM_GEMM_FLAG_NONE;
        libxsmm_smmfunction kernel =
            s->tb ? NULL : libxsmm_smmdispatch(s->n, s->m, s->k, &ldx, &ldy, &ldz, &one, &zero, &flags, NULL);
        printf("%-28s", s->name);
        for (int k = 0; k < BACKENDS; k++) {
            double rates[7];
            if ((k == LIBXSMM && !kernel) || (k == DEBIAN && !debian_sgemm) || (k == ONEDNN && !dnnl_sgemm)) {
                printf(" %10s", "-");
                continue;
            }
            for (int r = 0; r < 7; r++) {
                long n = 0;
                double t0 = now(), t;
                do {
                    product(k, s, a, b, c, kernel);
                    n++;
                    t = now();
                } while (t - t0 < 0.03);
                rates[r] = 2.0 * s->m * s->n * s->k * n / (t - t0) / 1e9;
            }
            qsort(rates, 7, sizeof rates[0], by_value);
            printf(" %10.1f", rates[3]);
        }
        printf("   %s\n", mbm_uses_libxsmm(s->ta, s->tb, s->m, s->n, s->k, 1, 0) ? "(libxsmm)" : "(OpenBLAS)");
    }
    free(a);
    free(b);
    free(c);
    return 0;
}
