/* tests/train_fixture.h: fixtures shared by the training-engine tests
 * (test_train.c, test_ckpt.c): Gaussian blobs drawn from an explicit rng, an
 * in-memory nn_batch_src over them whose reset() order depends only on the
 * rng (identity, then a seeded shuffle), and a small MLP builder.
 * Header-only (static inline), test code only; not part of the library. */
#ifndef TL_TESTS_TRAIN_FIXTURE_H
#define TL_TESTS_TRAIN_FIXTURE_H

#include <stdlib.h>
#include <string.h>

#include "nn/mlp.h"
#include "nn/model.h"
#include "util/rng.h"

typedef struct fx_data {
    int n, dim, k;
    float *x;   /* (n, dim) */
    int *y;     /* (n) */
} fx_data;

/* n points in k Gaussian blobs (centres ~ N(0, spread^2), unit noise). */
static inline fx_data fx_blobs(int n, int dim, int k, double spread, uint64_t seed)
{
    fx_data d = { n, dim, k, malloc(sizeof(float) * (size_t)n * dim), malloc(sizeof(int) * n) };
    rng r;
    rng_seed(&r, seed, 11);
    double *c = malloc(sizeof(double) * (size_t)k * dim);
    for (int i = 0; i < k * dim; i++)
        c[i] = spread * rng_normal(&r);
    for (int i = 0; i < n; i++) {
        d.y[i] = i % k;
        for (int j = 0; j < dim; j++)
            d.x[(size_t)i * dim + j] = (float)(c[d.y[i] * dim + j] + rng_normal(&r));
    }
    free(c);
    return d;
}

static inline void fx_data_free(fx_data *d)
{
    free(d->x);
    free(d->y);
}

typedef struct fx_src {
    const fx_data *d;
    int shuffle;
    int *order;
    int pos;
    float *xb;
    int *yb;
    int maxb;
} fx_src;

static inline void fx_src_reset(void *self, rng *r)
{
    fx_src *s = self;
    for (int i = 0; i < s->d->n; i++)
        s->order[i] = i;
    if (s->shuffle && r)
        rng_shuffle_int(r, s->order, (size_t)s->d->n);
    s->pos = 0;
}

static inline int fx_src_next(void *self, nn_batch *b, int max_b, rng *r)
{
    (void)r;
    fx_src *s = self;
    int B = s->d->n - s->pos;
    if (B > max_b)
        B = max_b;
    if (B > s->maxb)
        B = s->maxb;
    if (B <= 0)
        return 0;
    for (int i = 0; i < B; i++) {
        int j = s->order[s->pos + i];
        memcpy(s->xb + (size_t)i * s->d->dim, s->d->x + (size_t)j * s->d->dim,
               sizeof(float) * s->d->dim);
        s->yb[i] = s->d->y[j];
    }
    s->pos += B;
    b->B = B;
    b->T = 1;
    b->x = s->xb;
    b->tokens = NULL;
    b->targets = s->yb;
    return B;
}

static inline long fx_src_count(void *self)
{
    return ((fx_src *)self)->d->n;
}

/* A source over d with batches of at most maxb; shuffle each epoch or not. */
static inline nn_batch_src fx_src_make(fx_src *s, const fx_data *d, int maxb, int shuffle)
{
    s->d = d;
    s->shuffle = shuffle;
    s->order = malloc(sizeof(int) * d->n);
    s->pos = 0;
    s->xb = malloc(sizeof(float) * (size_t)maxb * d->dim);
    s->yb = malloc(sizeof(int) * maxb);
    s->maxb = maxb;
    fx_src_reset(s, NULL);
    nn_batch_src src = { s, fx_src_reset, fx_src_next, fx_src_count };
    return src;
}

static inline void fx_src_free(fx_src *s)
{
    free(s->order);
    free(s->xb);
    free(s->yb);
}

/* n_train + n_val blobs split into a training and a validation part, each
 * read by an fx_src of batches of at most maxb (the training one shuffled
 * when shuffle is set). */
typedef struct fx_world {
    fx_data all, tr, va;
    fx_src s_tr, s_va;
    nn_batch_src train, val;
} fx_world;

static inline void fx_world_init(fx_world *w, int ntrain, int nval, int dim, int k, double spread, uint64_t seed,
                                 int maxb, int shuffle)
{
    w->all = fx_blobs(ntrain + nval, dim, k, spread, seed);
    w->tr = (fx_data){ ntrain, dim, k, w->all.x, w->all.y };
    w->va = (fx_data){ nval, dim, k, w->all.x + (size_t)ntrain * dim, w->all.y + ntrain };
    w->train = fx_src_make(&w->s_tr, &w->tr, maxb, shuffle);
    w->val = fx_src_make(&w->s_va, &w->va, maxb, 0);
}

static inline void fx_world_free(fx_world *w)
{
    fx_src_free(&w->s_tr);
    fx_src_free(&w->s_va);
    fx_data_free(&w->all);
}

/* An MLP dim -> hidden -> k (hidden 0: softmax regression), initialized
 * from seed; NULL on failure. */
static inline nn_model *fx_mlp(int dim, int hidden, int k, float dropout, int max_batch,
                               uint64_t seed)
{
    mlp_config c;
    memset(&c, 0, sizeof c);
    c.in_dim = dim;
    c.nhidden = hidden > 0 ? 1 : 0;
    c.hidden[0] = hidden;
    c.out_dim = k;
    c.act = NN_RELU;
    c.dropout = dropout;
    rng r;
    rng_seed(&r, seed, 5);
    nn_model *m = NULL;
    tl_err e;
    if (mlp_create(&c, max_batch, &r, &m, &e))
        return NULL;
    return m;
}

#endif
