/*
 * mpi_fixtures_files.c - the files of test_mpi (mpi_fixtures.h): a temporary directory that
 * rank 0 makes, .npy files written into it, file datasets opened from them.
 */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "mpi_fixtures.h"

/* ---- files -------------------------------------------------------------------------------- */

void file_path(char *out, const char *name)
{
    snprintf(out, 512, "%s/%s", g_dir, name);
}

/* Writes <dir>/name holding rows (m, n) float32 or labels (m) int32. */
void write_x(const char *name, const float *x, int64_t m, int64_t n)
{
    char p[512], shape[64];
    file_path(p, name);
    snprintf(shape, sizeof shape, "(%lld, %lld)", (long long)m, (long long)n);
    if (!CHECK(npy_write(p, "<f4", shape, x, sizeof(float) * (size_t)(m * n), 0) == 0))
        printf("    [rank %d] could not write %s\n", K, p);
}

void write_y(const char *name, const int32_t *y, int64_t m)
{
    char p[512], shape[64];
    file_path(p, name);
    snprintf(shape, sizeof shape, "(%lld,)", (long long)m);
    if (!CHECK(npy_write(p, "<i4", shape, y, sizeof(int32_t) * (size_t)m, 0) == 0))
        printf("    [rank %d] could not write %s\n", K, p);
}

mb_dataset *open_dataset(const char *x_name, const char *y_name, mb_file_shuffle shuffle)
{
    char xp[512], yp[512];
    mb_dataset_options o;
    mb_dataset *d = NULL;
    file_path(xp, x_name);
    file_path(yp, y_name);
    mb_dataset_options_init(&o);
    o.shuffle = shuffle;
    o.block_bytes = sizeof(float) * W1_N * 16; /* 16 rows a block: many blocks per epoch */
    if (!CHECK_STATUS(mb_dataset_open_npy(xp, yp, &o, &d), MB_OK))
        printf("    [rank %d] open %s %s: %s\n", K, xp, yp, mb_last_error());
    return d;
}

/* The shared files x.npy, y.npy (FILE_M rows of W1-small), written once by rank 0. */
void write_shared_files(void)
{
    static int written = 0;
    if (!written && K == 0) {
        write_x("x.npy", g_w1_x, FILE_M, W1_N);
        write_y("y.npy", g_w1_y, FILE_M);
    }
    written = 1;
    MPI_Barrier(MPI_COMM_WORLD);
}

void rank_file_name(char *out, const char *stem)
{
    snprintf(out, 64, "%s-rank%d.npy", stem, K);
}

/* ---- the temporary directory ------------------------------------------------------------- */

/* Rank 0 makes the temporary directory; every rank learns its name. */
int make_dir(void)
{
    int ok = 1;
    if (K == 0) {
        const char *tmp = getenv("TMPDIR");
        snprintf(g_dir, sizeof g_dir, "%s/mb-mpi-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
        ok = mkdtemp(g_dir) != NULL;
    }
    MPI_Bcast(&ok, 1, MPI_INT, 0, MPI_COMM_WORLD);
    MPI_Bcast(g_dir, sizeof g_dir, MPI_CHAR, 0, MPI_COMM_WORLD);
    return ok;
}

void remove_dir(void)
{
    static const char *const stems[] = {"x-own", "x8-own", "y-label", "x-cut-exact",
                                        "x-cut-block"};
    char name[64], path[512];
    size_t i;
    for (i = 0; i < sizeof stems / sizeof stems[0]; i++) {
        rank_file_name(name, stems[i]);
        file_path(path, name);
        unlink(path);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    if (K == 0) {
        file_path(path, "x.npy");
        unlink(path);
        file_path(path, "y.npy");
        unlink(path);
        file_path(path, "x8.npy");
        unlink(path);
        file_path(path, "y8.npy");
        unlink(path);
        if (rmdir(g_dir) != 0)
            printf("note: could not remove %s: %s\n", g_dir, strerror(errno));
    }
}
