#ifndef MINIBATCH_CMATRIX_MATRIX_H
#define MINIBATCH_CMATRIX_MATRIX_H
/* The matrix-product backend of minibatch: every product of the engine goes through
 * mbm_sgemm. Two well-kept libraries sit behind it, each chosen where it was measured to be
 * faster (bench/backends.c, README "Matrix products"):
 *   - libxsmm (Debian's libxsmm-dev 1.17, linked statically): JIT kernels generated for the
 *     instruction set CPUID reports (AVX2, AVX-512, ...), for the products it supports;
 *   - OpenBLAS 0.3.34 as packaged by scipy-openblas32 (pinned, vendored beside
 *     libminibatch.so; every symbol prefixed scipy_, so it cannot clash with the OpenBLAS
 *     numpy, SciPy or the system load into the same process), for the rest. */
#include <stddef.h>

#include "update.h" /* the update rules' vector kernels */
#include "rows.h"   /* the gather and plain step vector kernels */
#include "layers.h" /* the layers' and the softmax cost's element-wise kernels */
/* The temporary files of atomic writes, for signal handlers. (Included here too so that a
 * build folder made before 0.12.3 sees it: a header new to the umbrella folder was not
 * picked up by an existing module cache, and the build failed until it was removed.) */
#include "temporary.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Row-major C (m, n) = alpha op(A) op(B) + beta C, as cblas_sgemm with CblasRowMajor.
 * trans_a / trans_b: 0 or 1. Deterministic: the same call on a thread marked the same way
 * (mbm_set_training_products), with OpenBLAS on as many threads, gives the same bits. */
void mbm_sgemm(int trans_a, int trans_b, int m, int n, int k, float alpha,
               const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc);

/* The same product through OpenBLAS alone (the general path, for tests and benchmarks). */
void mbm_sgemm_openblas(int trans_a, int trans_b, int m, int n, int k, float alpha,
                        const float *a, int lda, const float *b, int ldb, float beta,
                        float *c, int ldc);

/* libxsmm's part of mbm_sgemm (alpha 1, trans_b 0, beta 0 or 1): the product as
 * ceil(k / chunk) kernel calls along k, each adding to C after the first (chunk <= 0 or >= k:
 * one call): the same bits as one call unless n % 64 is 1 to 16 or n <= 16 (matrix.c). 0,
 * with C untouched, if libxsmm has no kernel for it. */
int mbm_sgemm_libxsmm(int trans_a, int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                      float beta, float *c, int ldc, int chunk);

/* The chunk of k mbm_sgemm gives libxsmm for a product whose B is (k, n): k itself, or with
 * AVX-512 kernels and a B of more than 5/8 of a core's L2, rows holding a quarter of it. */
int mbm_libxsmm_k_chunk(int n, int k);

/* Starts libxsmm (once; every call into it here comes after this) and takes out of the
 * process's environment the variables its start adds (OMP_PROC_BIND, I_MPI_SHM_HEAP; matrix.c
 * says why). */
void mbm_libxsmm_start(void);

/* 1 if mbm_sgemm runs this product with a libxsmm kernel, 0 if with OpenBLAS. */
int mbm_uses_libxsmm(int trans_a, int trans_b, int m, int n, int k, float alpha, float beta);

/* The rule mbm_uses_libxsmm applies, for a training step's products or not (`training`: a
 * product with B transposed goes to libxsmm, through a copy of B^T, outside them only when
 * OpenBLAS would run it on one thread anyway; matrix.c). */
int mbm_libxsmm_rule(int trans_a, int trans_b, int m, int n, int k, float alpha, float beta, int training);

/* Marks the calling thread as running a training step's products (1) or not (0), for
 * mbm_sgemm's rule; returns what it was. Thread-local: set around a training team member's
 * phases and mb_gradient, put back after. */
int mbm_set_training_products(int on);

/* mbm_sgemm's libxsmm path for C = A B^T (alpha 1, beta 0 or 1): B^T copied into the calling
 * thread's buffer, then libxsmm's A (B^T), the bits of mbm_sgemm_libxsmm on that copy. 0,
 * with C untouched, if it could not (no buffer, no kernel, ldb < k). */
int mbm_sgemm_copied_b(int m, int n, int k, const float *a, int lda, const float *b, int ldb, float beta, float *c,
                       int ldc);

/* Where libxsmm's kernels are narrower than AVX-512: the floats a core's L2 holds, which a
 * product's A, B and C together must fit for libxsmm to run it; 0 with AVX-512 kernels. */
long long mbm_libxsmm_fit_floats(void);

/* Training keeps the first layer's W (n, k) transposed, as W^T (k, n), while a training
 * call's mini-batches run when this says 1 (W of fewer than 2^18 floats, or of any size with
 * libxsmm's AVX-512 kernels, since 0.12.1; matrix.c says what was measured): its forward
 * product is then x (W^T), which libxsmm runs without packing W, and its gradient is made as
 * dW^T = x^T dz (or, fused, added to W^T). Not for a model trained row by row. */
int mbm_training_transposes_first_weights(int n, int k);

/* What runs training's forward products, as a static string (mb_blas_info). */
const char *mbm_training_forward(void);

/* out (cols, rows) = a^T, a (rows, cols), both row-major (libxsmm_otrans). */
void mbm_transpose(const float *a, int rows, int cols, float *out);

/* Whether the process is exiting: exit() ran the library's handler, which closed the
 * backend (matrix.c, "the process's exit"). Another thread's product then waits for the
 * process to end, so work must not be handed to other threads (Team.forEachChunk). */
int mbm_backend_closed(void);

/* OpenBLAS's threads held at one while teams of the library's own threads run (BLASThreads):
 * `mbm_teams_acquire` turns OpenBLAS down to one thread until the matching release (counted);
 * `mbm_teams_available` is the threads OpenBLAS has when no team holds it. Under a lock that
 * a fork leaves usable in the child (which has no team: OpenBLAS gets its count back at the
 * child's next call); once the process exits (mbm_backend_closed) they touch neither the lock
 * nor OpenBLAS (a thread paused in OpenBLAS's call must not hold the lock the exiting thread
 * needs), and available is 1. */
void mbm_teams_acquire(void);
void mbm_teams_release(void);
int mbm_teams_available(void);

/* OpenBLAS's threads (its own pool; libxsmm's kernels run on the caller's thread). */
int mbm_get_threads(void);
void mbm_set_threads(int threads);

/* What runs, as static strings. */
const char *mbm_backend_name(void);      /* "libxsmm 1.17.0 + OpenBLAS 0.3.34.481.3" */
const char *mbm_openblas_version(void);  /* "0.3.34.481.3" */
const char *mbm_openblas_core(void);     /* OpenBLAS's kernel set on this CPU: "SkylakeX" */
const char *mbm_libxsmm_version(void);   /* "1.17.0" */
const char *mbm_libxsmm_target(void);    /* libxsmm's code target on this CPU: "cpx", "hsw" */

/* Instruction sets, as one of "avx512", "avx2", "avx", "sse", "generic". */
const char *mbm_openblas_isa(void);      /* of OpenBLAS's kernel set (from its core's name) */
const char *mbm_libxsmm_isa(void);       /* of libxsmm's code target */
const char *mbm_cpu_isa(void);           /* the widest the CPU and the OS support (CPUID, XCR0) */

#ifdef __cplusplus
}
#endif
#endif
