/*
 * train_fixtures.h - what the mb_train test programs share: a progress callback that
 * records, copies of a history's costs, and the moons data set with its models.
 */
#ifndef MB_TEST_TRAIN_FIXTURES_H
#define MB_TEST_TRAIN_FIXTURES_H

#include <stdint.h>
#include <stdlib.h>

#include "minibatch.h"
#include "ref.h"


/* ---- progress recording ------------------------------------------------------------- */

typedef struct progress_log {
    int64_t n;
    int64_t stop_at; /* return nonzero at this epoch (0: never) */
    int stop_value;
    mb_progress rec[64];
} progress_log;

static inline int record_progress(const mb_progress *p, void *user_data)
{
    progress_log *log = (progress_log *)user_data;
    if (log->n < 64)
        log->rec[log->n] = *p;
    log->n++;
    return (log->stop_at > 0 && p->epoch == log->stop_at) ? log->stop_value : 0;
}

/* ---- history helpers ------------------------------------------------------------------ */

static inline int64_t history_count(const mb_history *h, int epochs)
{
    int64_t c = -1;
    mb_status s = epochs ? mb_history_epoch_costs(h, NULL, 0, &c)
                         : mb_history_batch_costs(h, NULL, 0, &c);
    return s == MB_OK ? c : -1;
}

/* malloc'd copy of the costs (at least one element); *count receives their number */
static inline double *history_get(const mb_history *h, int epochs, int64_t *count)
{
    int64_t c = history_count(h, epochs), c2 = -1;
    double *out;
    if (c < 0)
        return NULL;
    out = (double *)malloc(sizeof(double) * (size_t)(c + 1));
    if (!out)
        return NULL;
    if ((epochs ? mb_history_epoch_costs(h, out, c + 1, &c2)
                : mb_history_batch_costs(h, out, c + 1, &c2)) != MB_OK ||
        c2 != c) {
        free(out);
        return NULL;
    }
    *count = c;
    return out;
}

/* ---- simulation of mb_train with mb_gradient ---------------------------------------- */


/* Moons data, float32 one-hot targets too. */
typedef struct moons {
    int64_t m;
    float *x;
    int32_t *y;
    float *onehot;
} moons;
#define MOONS_INIT {0, NULL, NULL, NULL}

static inline int moons_make(moons *d, int64_t m, float noise, uint64_t seed)
{
    int64_t i;
    d->m = m;
    d->x = (float *)malloc(sizeof(float) * (size_t)(m * 2));
    d->y = (int32_t *)malloc(sizeof(int32_t) * (size_t)m);
    d->onehot = (float *)calloc((size_t)(m * 2), sizeof(float));
    if (!d->x || !d->y || !d->onehot || mb_make_moons(m, noise, seed, d->x, d->y) != MB_OK)
        return 0;
    for (i = 0; i < m; i++)
        d->onehot[i * 2 + d->y[i]] = 1.0f;
    return 1;
}

static inline void moons_free(moons *d)
{
    free(d->x);
    free(d->y);
    free(d->onehot);
}

static inline mb_model *moons_model(int64_t hidden, mb_loss loss, uint64_t seed)
{
    int64_t sizes[3];
    sizes[0] = 2;
    sizes[1] = hidden;
    sizes[2] = loss == MB_LOSS_CROSS_ENTROPY ? 2 : 1;
    return make_model(sizes, 3, MB_ACTIVATION_TANH, loss, seed);
}

#endif
