/*
 * mpi_fixtures.h - what the tests of test_mpi share (test_mpi.c describes the reference): the
 * ranks and the shards, the data (the same on every rank), the models, the options, training
 * and its outcome, the comparisons with one process and the layout of rows over the ranks
 * (mpi_fixtures.c); the temporary directory and its files (mpi_fixtures_files.c).
 */
#ifndef MB_TEST_MPI_FIXTURES_H
#define MB_TEST_MPI_FIXTURES_H

#include <stdint.h>

#include "minibatch_mpi.h"
#include "mpi_check.h"
#include "ref.h"

/* Shards of every run, distributed and reference: the layout, and so the result. */
enum { S = 4 };

extern mb_communicator g_comm;
extern int R;   /* ranks */
extern int K;   /* this rank */
extern int ODD; /* the rank made to differ in the error tests: the last one */
extern char g_dir[256];

/* ---- data: the same on every rank -------------------------------------------------------- */

enum { MOONS_M = 1000, MOONS_VAL_M = 200, W1_M = 2048, W1_N = 784, FILE_M = 520 };

extern float g_moons_x[MOONS_M * 2];
extern int32_t g_moons_y[MOONS_M];
extern float g_moons_yf[MOONS_M];
extern float g_val_x[MOONS_VAL_M * 2];
extern int32_t g_val_y[MOONS_VAL_M];
extern float g_moons_soft[MOONS_M * 2]; /* probabilities (MOONS_M, 2) */
extern float g_moons_weight[MOONS_M];   /* sample weights in [0, 2), every 7th 0 */
extern float *g_w1_x;                   /* (W1_M, W1_N): uniform [0, 1) */
extern int32_t *g_w1_y;                 /* (W1_M): classes 0 .. 9 */

typedef struct data {
    const float *x;
    const void *y;
    mb_targets y_type;
    int64_t m, n;
    const mb_dataset *dataset; /* non-NULL: mb_train_dataset instead */
} data;

extern const data k_moons;
extern const data k_moons_float;
extern data g_w1;   /* W1-small in memory */
extern data g_file; /* its first FILE_M rows in memory (the file's contents) */

void make_data(void); /* fills the above (main, once) */

/* ---- models ------------------------------------------------------------------------------ */

typedef struct spec {
    const char *name;
    int64_t sizes[4];
    int64_t n_layers;
    mb_activation hidden;
    mb_loss loss;
    uint64_t seed;
} spec;

extern const spec k_moons_ce, k_moons_bce, k_deep, k_wide, k_w1, k_file_model, k_mse, k_small8,
    k_w1_large, k_moons_mse, k_moons_soft;

mb_model *spec_model(const spec *sp);

/* ---- options ----------------------------------------------------------------------------- */

mb_train_options base_options(int64_t epochs, int64_t batch_size, float learning_rate);

/* ---- training and its outcome --------------------------------------------------------------- */

mb_status train(mb_model *model, const data *d, const mb_train_options *o, mb_history *h);

enum { N_HIST = 5 };

/* What one training call left: its status and message, the model and the history. */
typedef struct outcome {
    mb_status status;
    char message[MPI_CHECK_STRING];
    float *params;
    int64_t n_params;
    int64_t epochs;
    double *hist[N_HIST];
    int64_t hist_n[N_HIST];
} outcome;

void outcome_fill(outcome *out, mb_status status, const mb_model *model,
                  const mb_history *history);
void outcome_free(outcome *o);
void train_fresh(const spec *sp, const data *d, const mb_train_options *o, outcome *out);
void expect_same_on_every_rank(const char *label, const outcome *d);
void expect_identical(const char *label, const outcome *d, const outcome *r);
void expect_close(const char *label, const outcome *d, const outcome *r, double wtol,
                  double ctol);
void check_against_one_process(const char *label, const spec *sp, const data *dist_data,
                               const data *ref_data, const mb_train_options *base,
                               mb_distributed_mode mode, mb_status want);

/* ---- the layout (header: "The layout") --------------------------------------------------- */

void rows_of_rank(int rank, int64_t m, int64_t batch_size, mb_last_batch last, uint64_t seed,
                  uint64_t epoch, const mb_model *model, unsigned char *owned);

/* ---- files (mpi_fixtures_files.c) --------------------------------------------------------- */

void file_path(char *out, const char *name); /* out: 512 bytes */
void write_x(const char *name, const float *x, int64_t m, int64_t n);
void write_y(const char *name, const int32_t *y, int64_t m);
mb_dataset *open_dataset(const char *x_name, const char *y_name, mb_file_shuffle shuffle);
void write_shared_files(void);
void rank_file_name(char *out, const char *stem); /* out: 64 bytes */
int make_dir(void);
void remove_dir(void);

#endif /* MB_TEST_MPI_FIXTURES_H */
