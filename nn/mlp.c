/* nn/mlp.c: the MLP classifier of nn/mlp.h.
 * Shapes: B batch, D in_dim, H[l] hidden widths, K classes; layer l maps
 * din[l] -> dout[l], l = 0..nhidden (the last one to the K logits).
 *
 * Layout as llm.c: a sizes table (the tensors) summed into one params and
 * one grads buffer; one activations buffer (and one byte buffer of dropout
 * masks) carved at create for max_batch samples.  Forward per hidden layer:
 * one sgemm, then one fused pass for bias + activation + dropout.  With
 * ReLU the pre-activation is overwritten by its output (relu' reads the
 * output).  Backward: one sgemm per weight gradient and per input gradient
 * (none for the first layer); each input gradient is followed by one pass
 * (linear_act_backward) for the dropout and activation derivatives and the
 * bias gradient of the layer below, in a ping-pong pair of buffers.  Both
 * passes work on
 * a range of batch rows: the plain path runs them on all rows (OpenBLAS
 * threads each product), the split path (ops.h, enum nn_path) gives each
 * OpenMP thread its slice of rows in one parallel region, with per-thread
 * weight gradients added up in thread order at the end.
 *
 * Not here: the optimizer, the train loop, input validation beyond what a
 * forward needs to stay in bounds.
 */
#include "nn/mlp.h"

#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/ops.h"

#define MLP_MAX_LIN (MLP_MAX_HIDDEN + 1)
#define MLP_DIM_MAX (1 << 24)

typedef struct mlp {
    mlp_config cfg;
    int nlin;                      /* nhidden + 1 linear layers */
    int din[MLP_MAX_LIN], dout[MLP_MAX_LIN];
    float *w[MLP_MAX_LIN];         /* (dout, din) views into params */
    float *b[MLP_MAX_LIN];         /* (dout) */
    float *dw[MLP_MAX_LIN], *db[MLP_MAX_LIN];
    float *acts;                   /* the one activations buffer */
    uint8_t *masks;                /* the one dropout-mask buffer */
    float *pre[MLP_MAX_HIDDEN];    /* (B, H[l]) pre-activation; == h[l] for ReLU */
    float *h[MLP_MAX_HIDDEN];      /* (B, H[l]) after activation and dropout */
    uint8_t *mask[MLP_MAX_HIDDEN]; /* (B, H[l]) */
    float *logits, *probs, *dlogits; /* (B, K) */
    float *losses;                 /* (B) */
    float *dbuf[2];                /* (B, max H) activation gradients, ping-pong */
    float p;                       /* dropout probability for the next forward */
    int last_B;                    /* batch of the last forward */
    int last_drop;                 /* 1 if it applied dropout */
    float last_p;                  /* with this probability */
    int path;                      /* enum mlp_path asked for */
    int last_path;                 /* PLAIN or SPLIT: the last forward's */
    int last_nt;                   /* threads of the last split forward */
    nn_split split;                /* the split path's gradient buffers */
} mlp;

static const nn_model_vt mlp_vt;

static mlp *mlp_of(const nn_model *m)
{
    return m && m->vt == &mlp_vt ? (mlp *)m->self : NULL;
}

int mlp_check(const mlp_config *c, int max_batch, tl_err *err)
{
    if (!c)
        return tl_fail(err, TL_EINPUT, "model: no MLP config");
    if (max_batch < 1 || max_batch > MLP_DIM_MAX)
        return tl_fail(err, TL_EINPUT, "max_batch: %d must be in [1, %d]", max_batch,
                       MLP_DIM_MAX);
    if (c->in_dim < 1 || c->in_dim > MLP_DIM_MAX)
        return tl_fail(err, TL_EINPUT, "model.in_dim: %d must be in [1, %d]", c->in_dim,
                       MLP_DIM_MAX);
    if (c->nhidden < 0 || c->nhidden > MLP_MAX_HIDDEN)
        return tl_fail(err, TL_EINPUT, "model.hidden: %d hidden layers, must be 0..%d",
                       c->nhidden, MLP_MAX_HIDDEN);
    for (int l = 0; l < c->nhidden; l++)
        if (c->hidden[l] < 1 || c->hidden[l] > MLP_DIM_MAX)
            return tl_fail(err, TL_EINPUT, "model.hidden: layer %d has width %d, must be in [1, %d]",
                           l, c->hidden[l], MLP_DIM_MAX);
    if (c->out_dim < 2 || c->out_dim > MLP_DIM_MAX)
        return tl_fail(err, TL_EINPUT, "model.out_dim: %d classes, must be in [2, %d]",
                       c->out_dim, MLP_DIM_MAX);
    if (c->act < 0 || c->act >= NN_ACT_COUNT)
        return tl_fail(err, TL_EINPUT, "model.act: %d is neither relu (%d) nor gelu (%d)",
                       c->act, NN_RELU, NN_GELU);
    if (!(c->dropout >= 0.0f && c->dropout < 1.0f))
        return tl_fail(err, TL_EINPUT, "model.dropout: %g must be in [0, 1)", (double)c->dropout);
    return 0;
}

/* Layer dims of a checked config. */
static int mlp_dims(const mlp_config *c, int *din, int *dout)
{
    int n = c->nhidden + 1, prev = c->in_dim;
    for (int l = 0; l < n; l++) {
        din[l] = prev;
        dout[l] = l < c->nhidden ? c->hidden[l] : c->out_dim;
        prev = dout[l];
    }
    return n;
}

size_t mlp_param_count(const mlp_config *c)
{
    int din[MLP_MAX_LIN], dout[MLP_MAX_LIN];
    if (mlp_check(c, 1, NULL))
        return 0;
    int n = mlp_dims(c, din, dout);
    size_t total = 0;
    for (int l = 0; l < n; l++)
        total += (size_t)dout[l] * din[l] + dout[l];
    return total;
}

double mlp_flops(const mlp_config *c)
{
    int din[MLP_MAX_LIN], dout[MLP_MAX_LIN];
    if (mlp_check(c, 1, NULL))
        return 0;
    int n = mlp_dims(c, din, dout);
    double macs = 0;
    for (int l = 0; l < n; l++)
        macs += (double)din[l] * dout[l];
    return 2.0 * macs;
}

const mlp_config *mlp_config_of(const nn_model *m)
{
    mlp *s = mlp_of(m);
    return s ? &s->cfg : NULL;
}

const float *mlp_hidden(const nn_model *m, int l)
{
    mlp *s = mlp_of(m);
    return s && l >= 0 && l < s->cfg.nhidden ? s->h[l] : NULL;
}

const float *mlp_logits(const nn_model *m)
{
    mlp *s = mlp_of(m);
    return s ? s->logits : NULL;
}

int mlp_act_parse(const char *name, int *act, tl_err *err)
{
    for (int a = 0; a < NN_ACT_COUNT; a++)
        if (name && strcmp(name, nn_act_str(a)) == 0) {
            *act = a;
            return 0;
        }
    return tl_fail(err, TL_EINPUT, "model.act: '%s' is not one of relu, gelu",
                   name ? name : "(null)");
}

/* ---- forward / backward ---- */

/* The output layer of rows [r0, r1) from their inputs `in` (the rows'
 * start): logits, probabilities and per-row losses; *hits (when not NULL)
 * the correct predictions. */
static void mlp_head_rows(mlp *s, const float *in, const int *targets, int r0, int r1,
                          long *hits)
{
    int n = r1 - r0, K = s->cfg.out_dim, H = s->cfg.nhidden;
    if (n <= 0)
        return;
    size_t ok = (size_t)r0 * K;
    linear_forward(s->logits + ok, in, s->w[H], s->b[H], n, s->din[H], K);
    softmax_xent_forward(s->probs + ok, s->losses + r0, hits, s->logits + ok, targets + r0, n, K);
}

/* The forward of rows [r0, r1) (masks already drawn): every layer, the
 * logits, probabilities and per-row losses; *hits gets the correct
 * predictions when hits is not NULL. */
static void mlp_forward_rows(mlp *s, const float *x, const int *targets, int r0, int r1,
                             int drop, long *hits)
{
    int n = r1 - r0, H = s->cfg.nhidden;
    if (n <= 0) {
        if (hits)
            *hits = 0;
        return;
    }
    const float *in = x + (size_t)r0 * s->din[0];
    for (int l = 0; l < H; l++) {
        size_t off = (size_t)r0 * s->dout[l];
        float *h = s->h[l] + off;
        linear_act_drop_forward(h, s->pre[l] + off, in, s->w[l], s->b[l],
                                drop ? s->mask[l] + off : NULL, s->p, n, s->din[l], s->dout[l],
                                s->cfg.act);
        in = h;
    }
    mlp_head_rows(s, in, targets, r0, r1, hits);
}

/* Columns [*c0, *c1) of chunk c of a layer with C columns (cols path). */
static void mlp_chunk(int C, int c, int *c0, int *c1)
{
    *c0 = c * MLP_COLS_CHUNK;
    *c1 = *c0 + MLP_COLS_CHUNK < C ? *c0 + MLP_COLS_CHUNK : C;
}

/* The hidden layers of the column split forward (ops.h, NN_PATH_COLS),
 * run by every thread of a team: each layer in chunks of MLP_COLS_CHUNK
 * output columns that the threads take as they come (the first to wake
 * starts alone), a team barrier after each.  Returns the last hidden
 * layer's output. */
static const float *mlp_cols_forward_team(mlp *s, const float *x, int B, int drop, nn_team *tm)
{
    const float *in = x;
    for (int l = 0; l < s->cfg.nhidden; l++) {
        int nch = (s->dout[l] + MLP_COLS_CHUNK - 1) / MLP_COLS_CHUNK, c, j0, j1;
        while ((c = nn_team_next(tm)) < nch) {
            mlp_chunk(s->dout[l], c, &j0, &j1);
            linear_act_drop_forward_cols(s->h[l], s->pre[l], in, s->w[l], s->b[l],
                                         drop ? s->mask[l] : NULL, s->p, B, s->din[l],
                                         s->dout[l], s->cfg.act, j0, j1);
        }
        in = s->h[l];
        nn_team_barrier(tm);
    }
    return in;
}

/* The column split forward on a team of nt: the hidden layers, then
 * thread 0 alone computes the logits and losses (a few microseconds) while
 * the others leave, so that it does not sleep at the region's end.
 * Returns the correct predictions (when want_hits) and the team's size in
 * *team. */
static long mlp_forward_cols(mlp *s, const float *x, const int *targets, int B, int drop,
                             int nt, int want_hits, int *team)
{
    int size = nt;
    long hits = 0;
    nn_team tm;
    nn_team_init(&tm);
#pragma omp parallel num_threads(nt)
    {
        const float *in = mlp_cols_forward_team(s, x, B, drop, &tm);
        if (omp_get_thread_num() == 0) {
            mlp_head_rows(s, in, targets, 0, B, want_hits ? &hits : NULL);
            size = omp_get_num_threads();
        }
    }
    *team = size;
    return hits;
}

/* The backward of rows [r0, r1) into the gradient views dw, db. */
static void mlp_backward_rows(mlp *s, const float *x, const int *targets, int r0, int r1,
                              float scale, float *const *dw, float *const *db)
{
    int n = r1 - r0, H = s->cfg.nhidden, K = s->cfg.out_dim, act = s->cfg.act;
    if (n <= 0)
        return;
    size_t ok = (size_t)r0 * K;
    softmax_xent_backward(s->dlogits + ok, s->probs + ok, targets + r0, n, K, scale);
    const float *dcur = s->dlogits + ok;
    for (int l = H; l >= 0; l--) {
        size_t ioff = (size_t)r0 * s->din[l];
        const float *in = l ? s->h[l - 1] + ioff : x + ioff;
        /* The bias gradient of layer l < H came with its input gradient. */
        linear_backward(NULL, dw[l], l == H ? db[l] : NULL, dcur, in, s->w[l], n, s->din[l],
                        s->dout[l], 0);
        if (l > 0) {
            float *dinp = s->dbuf[l & 1] + ioff;
            linear_act_backward(dinp, db[l - 1], dcur, s->w[l],
                                (act == NN_GELU ? s->pre[l - 1] : s->h[l - 1]) + ioff,
                                s->last_drop ? s->mask[l - 1] + ioff : NULL, s->last_p, n,
                                s->din[l], s->dout[l], act);
            dcur = dinp;
        }
    }
}

/* The column split backward (ops.h, NN_PATH_COLS) from the logits'
 * gradient, run by every thread of a team: for every layer l >= 1, chunks
 * of MLP_COLS_CHUNK columns of its input gradient (with the activation,
 * dropout and bias gradients of layer l - 1) and the same rows of layer
 * l - 1's weight gradient, which need no other chunk, taken as they come,
 * a team barrier after each layer; the output layer's weight and bias
 * gradients are one more chunk of the first layer's.  zero: each chunk
 * zeroes the gradients it adds into first (the same bits as a zeroed
 * buffer), so that the step needs no memset of its own. */
static void mlp_cols_backward_team(mlp *s, const float *x, int B, int zero, nn_team *tm)
{
    int H = s->cfg.nhidden, K = s->cfg.out_dim, act = s->cfg.act;
    const float *dcur = s->dlogits;
    for (int l = H; l >= 1; l--) {
        float *dinp = s->dbuf[l & 1];
        int nch = (s->din[l] + MLP_COLS_CHUNK - 1) / MLP_COLS_CHUNK, c, k0, k1;
        while ((c = nn_team_next(tm)) < nch + (l == H)) {
            if (c == nch) {
                if (zero) {
                    memset(s->dw[H], 0, (size_t)K * s->din[H] * sizeof(float));
                    memset(s->db[H], 0, (size_t)K * sizeof(float));
                }
                linear_wgrad_rows(s->dw[H], s->db[H], s->dlogits, s->h[H - 1], B, s->din[H], K,
                                  0, K);
                continue;
            }
            mlp_chunk(s->din[l], c, &k0, &k1);
            if (zero) {
                memset(s->db[l - 1] + k0, 0, (size_t)(k1 - k0) * sizeof(float));
                memset(s->dw[l - 1] + (size_t)k0 * s->din[l - 1], 0,
                       (size_t)(k1 - k0) * s->din[l - 1] * sizeof(float));
            }
            linear_act_backward_cols(dinp, s->db[l - 1], dcur, s->w[l],
                                     act == NN_GELU ? s->pre[l - 1] : s->h[l - 1],
                                     s->last_drop ? s->mask[l - 1] : NULL, s->last_p, B,
                                     s->din[l], s->dout[l], act, k0, k1);
            linear_wgrad_rows(s->dw[l - 1], NULL, dinp, l > 1 ? s->h[l - 2] : x, B,
                              s->din[l - 1], s->dout[l - 1], k0, k1);
        }
        dcur = dinp;
        nn_team_barrier(tm);
    }
}

/* The column split backward on a team of nt, adding into the model's
 * gradients: the logits' gradient before the region, the layers in it. */
static void mlp_backward_cols(mlp *s, const float *x, const int *targets, int B, float scale,
                              int nt)
{
    softmax_xent_backward(s->dlogits, s->probs, targets, B, s->cfg.out_dim, scale);
    nn_team tm;
    nn_team_init(&tm);
#pragma omp parallel num_threads(nt)
    mlp_cols_backward_team(s, x, B, 0, &tm);
}

/* Threads of the column split path for batch B, 0 when not taken: COLS
 * asked for (any thread count, a team of 1 included), or AUTO with >= 2
 * threads, fewer than MLP_SPLIT_MIN_ROWS rows per thread (below the batch
 * split), every hidden layer at least one chunk per thread and at least
 * MLP_COLS_MIN_MACS multiply-adds per forward.  Never inside a parallel
 * region, never without a hidden layer. */
static int mlp_cols_threads(const mlp *s, int B)
{
    if (omp_in_parallel() || s->cfg.nhidden < 1)
        return 0;
    int nt = omp_get_max_threads();
    nt = nt > NN_SPLIT_MAX_THREADS ? NN_SPLIT_MAX_THREADS : nt;
    if (s->path == NN_PATH_COLS)
        return nt;
    if (s->path != NN_PATH_AUTO || nt < 2 || B >= MLP_SPLIT_MIN_ROWS * nt)
        return 0;
    double macs = 0;
    for (int l = 0; l < s->nlin; l++) {
        if (l < s->cfg.nhidden && s->dout[l] < MLP_COLS_CHUNK * nt)
            return 0;
        macs += (double)s->din[l] * s->dout[l];
    }
    return macs * B >= MLP_COLS_MIN_MACS ? nt : 0;
}

/* Whether a forward that does not split runs serial: only when asked for.
 * AUTO does not pick it: on the 2-core AMD EPYC (Zen 3) at batch 32 it ran
 * 0.81x plain with the other core lightly loaded and won only while other
 * jobs kept that core busy (README, Kernel paths). */
static int mlp_serial(const mlp *s)
{
    return s->path == NN_PATH_SERIAL && !omp_in_parallel();
}

static long mlp_forward_cb(const nn_rows_ctx *c, int r0, int r1, int want_hits)
{
    long h = 0;
    mlp_forward_rows(c->m->self, c->b->x, c->b->targets, r0, r1, c->drop, want_hits ? &h : NULL);
    return h;
}

/* The gradient views of thread buffer g (the tensor table's offsets). */
static void mlp_backward_cb(const nn_rows_ctx *c, float *g, int r0, int r1)
{
    mlp *s = c->m->self;
    float *dw[MLP_MAX_LIN], *db[MLP_MAX_LIN];
    for (int l = 0; l < s->nlin; l++) {
        dw[l] = g + c->m->tensors[2 * l].offset;
        db[l] = g + c->m->tensors[2 * l + 1].offset;
    }
    mlp_backward_rows(s, c->b->x, c->b->targets, r0, r1, c->scale, dw, db);
}

/* Every dropout mask of a training forward first, layer by layer: the
 * draws of the plain loop. */
static void mlp_draw_masks(mlp *s, const nn_batch *b, rng *r)
{
    for (int l = 0; l < s->cfg.nhidden; l++)
        dropout_mask_rows(s->mask[l], s->p, b->B, (size_t)s->dout[l], rng_u64(r), b->row0);
}

/* The mean of the per-row losses, in row order whatever the path. */
static float mlp_mean_loss(const mlp *s, int B)
{
    double sum = 0.0;
    for (int i = 0; i < B; i++)
        sum += s->losses[i];
    return (float)(sum / B);
}

static float mlp_forward(nn_model *m, const nn_batch *b, int training, rng *r, long *ncorrect)
{
    mlp *s = m->self;
    int B = b ? b->B : 0, K = s->cfg.out_dim;
    if (B < 1 || B > m->max_batch || !b->x || !b->targets)
        return NAN;
    for (int i = 0; i < B; i++)
        if (b->targets[i] < 0 || b->targets[i] >= K)
            return NAN;
    int drop = training && s->p > 0.0f;
    if (drop && !r)
        return NAN;
    if (drop)
        mlp_draw_masks(s, b, r);
    int nt = nn_split_threads(&s->split, s->path, B, MLP_SPLIT_MIN_ROWS, m->nparams);
    long hits = 0;
    int cols = nt ? 0 : mlp_cols_threads(s, B);
    if (cols) {
        hits = mlp_forward_cols(s, b->x, b->targets, B, drop, cols, ncorrect != NULL,
                                &s->last_nt);
        s->last_path = NN_PATH_COLS;
    } else if (nt) {
        nn_rows_ctx c = {.m = m, .b = b, .drop = drop};
        s->last_nt = nn_split_forward(nt, B, mlp_forward_cb, &c, ncorrect ? &hits : NULL);
        s->last_path = NN_PATH_SPLIT;
    } else if (mlp_serial(s)) {
        int prev = nn_serial_begin();
        mlp_forward_rows(s, b->x, b->targets, 0, B, drop, ncorrect ? &hits : NULL);
        nn_serial_end(prev);
        s->last_path = NN_PATH_SERIAL;
    } else {
        mlp_forward_rows(s, b->x, b->targets, 0, B, drop, ncorrect ? &hits : NULL);
        s->last_path = NN_PATH_PLAIN;
    }
    if (ncorrect)
        *ncorrect = hits;
    s->last_B = B;
    s->last_drop = drop;
    s->last_p = s->p;
    return mlp_mean_loss(s, B);
}

static void mlp_backward(nn_model *m, const nn_batch *b, float scale)
{
    mlp *s = m->self;
    int B = s->last_B;
    if (B < 1)
        return;
    float sc = scale / (float)B;
    if (s->last_path == NN_PATH_SERIAL) {
        int prev = nn_serial_begin();
        mlp_backward_rows(s, b->x, b->targets, 0, B, sc, s->dw, s->db);
        nn_serial_end(prev);
    } else if (s->last_path == NN_PATH_COLS) {
        mlp_backward_cols(s, b->x, b->targets, B, sc, s->last_nt);
    } else if (s->last_path != NN_PATH_SPLIT) {
        mlp_backward_rows(s, b->x, b->targets, 0, B, sc, s->dw, s->db);
    } else {
        nn_rows_ctx c = {.m = m, .b = b, .scale = sc};
        nn_split_backward(&s->split, m->grads, m->nparams, s->last_nt, B, mlp_backward_cb, &c);
    }
}

/* nn_model_vt.train_step on the column split path (the only one it takes:
 * small batches at 2+ threads, or COLS asked for): forward, backward and
 * post in one parallel region, where the separate calls open three (a
 * sleeping OpenMP thread takes about 36 us to join one on the 2-core AMD
 * EPYC, Zen 3).  Thread 0 computes the logits, the loss and the logits'
 * gradient between the two passes while the others wait at the team
 * barrier.  The same bits as forward, a zeroed gradient buffer and
 * backward. */
static int mlp_train_step(nn_model *m, const nn_batch *b, rng *r, float scale,
                          const nn_step_post *post, float *loss)
{
    mlp *s = m->self;
    int B = b ? b->B : 0, K = s->cfg.out_dim;
    if (B < 1 || B > m->max_batch || !b->x || !b->targets)
        return 0;
    for (int i = 0; i < B; i++)
        if (b->targets[i] < 0 || b->targets[i] >= K)
            return 0;
    int drop = s->p > 0.0f;
    if ((drop && !r) || nn_split_threads(&s->split, s->path, B, MLP_SPLIT_MIN_ROWS, m->nparams))
        return 0;
    int nt = mlp_cols_threads(s, B);
    if (!nt)
        return 0;
    if (drop)
        mlp_draw_masks(s, b, r);
    s->last_B = B;
    s->last_drop = drop;
    s->last_p = s->p;
    s->last_path = NN_PATH_COLS;
    float mean = NAN;
    int size = nt;
    nn_team tm;
    nn_team_init(&tm);
#pragma omp parallel num_threads(nt)
    {
        const float *in = mlp_cols_forward_team(s, b->x, B, drop, &tm);
        if (omp_get_thread_num() == 0) {
            mlp_head_rows(s, in, b->targets, 0, B, NULL);
            mean = mlp_mean_loss(s, B);
            if (isfinite(mean))
                softmax_xent_backward(s->dlogits, s->probs, b->targets, B, K, scale / (float)B);
            size = omp_get_num_threads();
        }
        nn_team_barrier(&tm);
        if (isfinite(mean)) {
            mlp_cols_backward_team(s, b->x, B, 1, &tm);
            if (post && post->fn)
                post->fn(post->ctx, &tm);
        }
    }
    s->last_nt = size;
    *loss = mean;
    return 1;
}

void mlp_set_path(nn_model *m, int path)
{
    mlp *s = mlp_of(m);
    if (s && path >= NN_PATH_AUTO && path < NN_PATH_COUNT)
        s->path = path;
}

int mlp_last_path(const nn_model *m)
{
    mlp *s = mlp_of(m);
    return s ? s->last_path : 0;
}

static void mlp_set_dropout(nn_model *m, float p)
{
    mlp *s = m->self;
    s->p = m->dropout = nn_dropout_clamp(p);
}

static void mlp_free_self(nn_model *m)
{
    mlp *s = m->self;
    if (!s)
        return;
    free(s->acts);
    free(s->masks);
    nn_split_free(&s->split);
    free(s);
    m->self = NULL;
}

static const nn_model_vt mlp_vt = {
    .forward = mlp_forward,
    .backward = mlp_backward,
    .train_step = mlp_train_step,
    .set_dropout = mlp_set_dropout,
    .free = mlp_free_self,
};

/* ---- create ---- */

/* The tensor table, fcL.weight (dout, din) and fcL.bias (dout), the
 * parameter and gradient buffers with their views, and nn.Linear's init
 * (weights, then biases, layer by layer, in the draws' order).  0, or -1
 * when out of memory (nn_model_free frees what was allocated). */
static int mlp_tensors(nn_model *m, mlp *s, rng *init)
{
    int nt = 2 * s->nlin;
    m->tensors = calloc((size_t)nt, sizeof *m->tensors);
    if (!m->tensors)
        return -1;
    size_t off = 0;
    for (int l = 0; l < s->nlin; l++) {
        nn_tensor *tw = &m->tensors[2 * l], *tb = &m->tensors[2 * l + 1];
        snprintf(tw->name, sizeof tw->name, "fc%d.weight", l);
        tw->offset = off;
        tw->size = (size_t)s->dout[l] * s->din[l];
        tw->ndim = 2;
        tw->shape[0] = s->dout[l];
        tw->shape[1] = s->din[l];
        tw->decay = 1;
        off += tw->size;
        snprintf(tb->name, sizeof tb->name, "fc%d.bias", l);
        tb->offset = off;
        tb->size = (size_t)s->dout[l];
        tb->ndim = 1;
        tb->shape[0] = s->dout[l];
        tb->decay = 0;
        off += tb->size;
    }
    m->ntensors = nt;
    m->nparams = off;
    m->params = nn_falloc(off);
    m->grads = nn_falloc(off);
    if (!m->params || !m->grads)
        return -1;
    memset(m->grads, 0, off * sizeof(float));
    for (int l = 0; l < s->nlin; l++) {
        s->w[l] = m->params + m->tensors[2 * l].offset;
        s->b[l] = m->params + m->tensors[2 * l + 1].offset;
        s->dw[l] = m->grads + m->tensors[2 * l].offset;
        s->db[l] = m->grads + m->tensors[2 * l + 1].offset;
        /* nn.Linear default: kaiming_uniform(a=sqrt(5)) = U(+-1/sqrt(fan_in)),
         * bias U(+-1/sqrt(fan_in)). */
        float bound = 1.0f / sqrtf((float)s->din[l]);
        size_t nw = (size_t)s->dout[l] * s->din[l];
        for (size_t i = 0; i < nw; i++)
            s->w[l][i] = (float)((2.0 * rng_uniform(init) - 1.0) * bound);
        for (int i = 0; i < s->dout[l]; i++)
            s->b[l][i] = (float)((2.0 * rng_uniform(init) - 1.0) * bound);
    }

    return 0;
}

/* Activations for max_batch samples, one block carved into the views,
 * and the dropout masks.  0, or -1 when out of memory. */
static int mlp_alloc_acts(mlp *s, const mlp_config *c, int max_batch)
{
    size_t B = (size_t)max_batch, K = (size_t)c->out_dim, hsum = 0, wmax = 1;
    for (int l = 0; l < c->nhidden; l++) {
        hsum += (size_t)c->hidden[l];
        if ((size_t)c->hidden[l] > wmax)
            wmax = (size_t)c->hidden[l];
    }
    int gelu = c->act == NN_GELU;
    size_t nacts = B * hsum * (gelu ? 2 : 1) + 3 * B * K + B + 2 * B * wmax;
    s->acts = nn_falloc(nacts);
    s->masks = malloc(B * hsum + 1);
    if (!s->acts || !s->masks)
        return -1;
    float *a = s->acts;
    uint8_t *mk = s->masks;
    for (int l = 0; l < c->nhidden; l++) {
        size_t n = B * (size_t)c->hidden[l];
        s->h[l] = a;
        a += n;
        if (gelu) {
            s->pre[l] = a;
            a += n;
        } else {
            s->pre[l] = s->h[l];
        }
        s->mask[l] = mk;
        mk += n;
    }
    s->logits = a;
    a += B * K;
    s->probs = a;
    a += B * K;
    s->dlogits = a;
    a += B * K;
    s->losses = a;
    a += B;
    s->dbuf[0] = a;
    a += B * wmax;
    s->dbuf[1] = a;
    return 0;
}

int mlp_create(const mlp_config *c, int max_batch, rng *init, nn_model **out, tl_err *err)
{
    int rc;
    if (!out)
        return tl_fail(err, TL_EINPUT, "mlp_create: out is NULL");
    *out = NULL;
    if ((rc = mlp_check(c, max_batch, err)))
        return rc;
    if (!init)
        return tl_fail(err, TL_EINPUT, "mlp_create: no rng for the initialization");

    nn_model *m = calloc(1, sizeof *m);
    mlp *s = calloc(1, sizeof *s);
    if (!m || !s) {
        free(m);
        free(s);
        return tl_fail(err, TL_ERUNTIME, "mlp_create: out of memory");
    }
    m->vt = &mlp_vt;
    m->self = s;
    m->max_batch = max_batch;
    s->cfg = *c;
    s->nlin = mlp_dims(c, s->din, s->dout);
    s->p = c->dropout;
    m->dropout = c->dropout;

    if (mlp_tensors(m, s, init) || mlp_alloc_acts(s, c, max_batch))
        goto oom;
    *out = m;
    return 0;

oom:
    nn_model_free(m);
    return tl_fail(err, TL_ERUNTIME, "mlp_create: out of memory for %zu parameters and batch %d",
                   mlp_param_count(c), max_batch);
}
