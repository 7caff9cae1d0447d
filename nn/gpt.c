/* nn/gpt.c: the GPT language model of nn/gpt.h.
 * Shapes: B batch, T time, N = B*T tokens, C channels, L layers, NH heads,
 * F = mlp_ratio*C, V vocab, maxT = ctx, NB = max_batch.
 *
 * Layout as llm.c: a sizes table (enum below) summed into one params and
 * one grads buffer; one activations buffer carved at create for NB
 * sequences of maxT tokens, every per-layer activation in a slot of NB*maxT
 * rows per layer (a batch with T < maxT uses the first B*T rows); one byte
 * buffer of dropout masks; one buffer of activation gradients holding ONE
 * layer's worth, reused from the top layer down (the residual gradient dres
 * is updated in place: each LayerNorm backward adds its branch into it).
 *
 * Not here: the optimizer, sampling beyond gpt_generate, mixed precision.
 */
#include "nn/gpt.h"

#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nn/ops.h"

#define GPT_DIM_MAX (1 << 24)
#define GPT_TOK_MAX (1 << 28) /* max_batch * ctx */

enum {
    P_WTE, P_WPE, P_LN1W, P_LN1B, P_QKVW, P_QKVB, P_ATTPROJW, P_ATTPROJB,
    P_LN2W, P_LN2B, P_FCW, P_FCB, P_FCPROJW, P_FCPROJB, P_LNFW, P_LNFB, P_COUNT
};

static const char *const gpt_names[P_COUNT] = {
    "wte", "wpe", "ln1w", "ln1b", "qkvw", "qkvb", "attprojw", "attprojb",
    "ln2w", "ln2b", "fcw", "fcb", "fcprojw", "fcprojb", "lnfw", "lnfb",
};

typedef struct gpt {
    gpt_config cfg;              /* mlp_ratio resolved */
    int V, maxT, C, L, NH, F, NB;
    float *p[P_COUNT];           /* views into params */
    float *g[P_COUNT];           /* views into grads */
    float *acts;                 /* the one activations buffer */
    uint8_t *masks;              /* the one dropout-mask buffer */
    float *dacts;                /* the one activation-gradient buffer */
    int *window;                 /* (maxT) gpt_generate's context */
    /* activations; per-layer ones are (L, NB*maxT, ...) */
    float *encoded;              /* (NB*maxT, C) */
    float *ln1, *ln1_mean, *ln1_rstd; /* (L,NB*maxT,C), (L,NB*maxT) x2 */
    float *qkv;                  /* (L,NB*maxT,3C) */
    float *atty;                 /* (L,NB*maxT,C) */
    float *att;                  /* (L,NB,NH,maxT,maxT) */
    float *attproj;              /* (L,NB*maxT,C) after dropout */
    float *res2;                 /* (L,NB*maxT,C) */
    float *ln2, *ln2_mean, *ln2_rstd;
    float *fch, *fch_gelu;       /* (L,NB*maxT,F) */
    float *fcproj;               /* (L,NB*maxT,C) after dropout */
    float *res3;                 /* (L,NB*maxT,C) */
    float *lnf, *lnf_mean, *lnf_rstd; /* (NB*maxT,C), (NB*maxT) x2 */
    float *logits, *probs, *dlogits; /* (NB*maxT,V) */
    float *losses;               /* (NB*maxT) */
    uint8_t *mask_emb;           /* (NB*maxT,C) */
    uint8_t *mask_att, *mask_fc; /* (L,NB*maxT,C) */
    /* activation gradients: one layer's worth */
    float *dres, *dbranch, *dln, *datty; /* (NB*maxT,C) */
    float *dqkv;                 /* (NB*maxT,3C) */
    float *dfch;                 /* (NB*maxT,F) */
    float *datt;                 /* (NB,NH,maxT,maxT) */
    float p_drop;                /* dropout for the next forward */
    int last_B, last_T, last_drop;
    float last_p;
    int path;                    /* enum nn_path asked for */
    int last_path, last_nt;      /* the last forward's path and threads */
    nn_split split;              /* the split path's gradient buffers */
} gpt;

static const nn_model_vt gpt_vt;

static gpt *gpt_of(const nn_model *m)
{
    return m && m->vt == &gpt_vt ? (gpt *)m->self : NULL;
}

int gpt_check(const gpt_config *c, int max_batch, tl_err *err)
{
    if (!c)
        return tl_fail(err, TL_EINPUT, "model: no GPT config");
    if (c->vocab < 2 || c->vocab > GPT_DIM_MAX)
        return tl_fail(err, TL_EINPUT, "model.vocab: %d must be in [2, %d]", c->vocab, GPT_DIM_MAX);
    if (c->ctx < 1 || c->ctx > 65536)
        return tl_fail(err, TL_EINPUT, "model.ctx: %d must be in [1, 65536]", c->ctx);
    if (c->d_model < 1 || c->d_model > 65536)
        return tl_fail(err, TL_EINPUT, "model.d_model: %d must be in [1, 65536]", c->d_model);
    if (c->layers < 1 || c->layers > 4096)
        return tl_fail(err, TL_EINPUT, "model.layers: %d must be in [1, 4096]", c->layers);
    if (c->heads < 1)
        return tl_fail(err, TL_EINPUT, "model.heads: %d must be >= 1", c->heads);
    if (c->d_model % c->heads)
        return tl_fail(err, TL_EINPUT, "model.heads: d_model %d is not divisible by %d heads",
                       c->d_model, c->heads);
    if (c->mlp_ratio < 0 || c->mlp_ratio > 64)
        return tl_fail(err, TL_EINPUT, "model.mlp_ratio: %d must be in [1, 64] (0: default 4)",
                       c->mlp_ratio);
    if (!(c->dropout >= 0.0f && c->dropout < 1.0f))
        return tl_fail(err, TL_EINPUT, "model.dropout: %g must be in [0, 1)", (double)c->dropout);
    if (max_batch < 1 || (long long)max_batch * c->ctx > GPT_TOK_MAX)
        return tl_fail(err, TL_EINPUT, "max_batch: %d sequences of %d tokens, must be >= 1 and "
                       "at most %d tokens in all", max_batch, c->ctx, GPT_TOK_MAX);
    return 0;
}

/* Sizes of the parameter tensors of a checked config, in floats. */
static void gpt_sizes(const gpt_config *c, size_t *sz)
{
    size_t V = c->vocab, T = c->ctx, C = c->d_model, L = c->layers;
    size_t F = (size_t)(c->mlp_ratio ? c->mlp_ratio : 4) * C;
    sz[P_WTE] = V * C;
    sz[P_WPE] = T * C;
    sz[P_LN1W] = L * C;
    sz[P_LN1B] = L * C;
    sz[P_QKVW] = L * 3 * C * C;
    sz[P_QKVB] = L * 3 * C;
    sz[P_ATTPROJW] = L * C * C;
    sz[P_ATTPROJB] = L * C;
    sz[P_LN2W] = L * C;
    sz[P_LN2B] = L * C;
    sz[P_FCW] = L * F * C;
    sz[P_FCB] = L * F;
    sz[P_FCPROJW] = L * C * F;
    sz[P_FCPROJB] = L * C;
    sz[P_LNFW] = C;
    sz[P_LNFB] = C;
}

size_t gpt_param_count(const gpt_config *c)
{
    size_t sz[P_COUNT], total = 0;
    if (gpt_check(c, 1, NULL))
        return 0;
    gpt_sizes(c, sz);
    for (int i = 0; i < P_COUNT; i++)
        total += sz[i];
    return total;
}

double gpt_flops(const gpt_config *c)
{
    if (gpt_check(c, 1, NULL))
        return 0;
    double C = c->d_model, F = (c->mlp_ratio > 0 ? c->mlp_ratio : 4) * C, T = c->ctx, V = c->vocab;
    return 2.0 * (c->layers * (4 * C * C + 2 * C * F + 2 * T * C) + C * V);
}

const gpt_config *gpt_config_of(const nn_model *m)
{
    gpt *s = gpt_of(m);
    return s ? &s->cfg : NULL;
}

const float *gpt_logits(const nn_model *m)
{
    gpt *s = gpt_of(m);
    return s ? s->logits : NULL;
}

/* ---- forward / backward ---- */

/* Draws every dropout mask of a forward of B x T tokens from r, in the order
 * the layers use them (embedding, then attention and MLP per layer);
 * each row's keyed by row0 + row (nn_batch), so a rank's slice of a
 * global batch draws what the whole batch would. */
static void gpt_masks(gpt *s, int B, int T, rng *r, long row0)
{
    size_t rows = (size_t)s->NB * s->maxT, per = (size_t)T * s->C;
    dropout_mask_rows(s->mask_emb, s->p_drop, B, per, rng_u64(r), row0);
    for (int l = 0; l < s->L; l++) {
        size_t oc = l * rows * s->C;
        dropout_mask_rows(s->mask_att + oc, s->p_drop, B, per, rng_u64(r), row0);
        dropout_mask_rows(s->mask_fc + oc, s->p_drop, B, per, rng_u64(r), row0);
    }
}

/* Runs sequences [b0, b1) of tokens (B,T) through the model up to the
 * logits; drop = 1 applies the masks gpt_masks drew. */
static void gpt_run(gpt *s, const int *tokens, int b0, int b1, int T, int drop)
{
    int C = s->C, NH = s->NH, F = s->F, nb = b1 - b0, N = nb * T;
    size_t rows = (size_t)s->NB * s->maxT; /* per-layer slot, in rows */
    size_t r0 = (size_t)b0 * T, nc = (size_t)N * C;
    size_t attl = (size_t)s->NB * NH * s->maxT * s->maxT, atto = (size_t)b0 * NH * T * T;
    float p = s->p_drop;
    if (nb <= 0)
        return;

    float *enc = s->encoded + r0 * C;
    encoder_forward(enc, tokens + r0, s->p[P_WTE], s->p[P_WPE], nb, T, C);
    if (drop)
        dropout_forward(enc, enc, s->mask_emb + r0 * C, p, nc);
    const float *res = enc;
    for (int l = 0; l < s->L; l++) {
        size_t oc = l * rows * C + r0 * C, on = l * rows + r0;
        float *ln1 = s->ln1 + oc, *qkv = s->qkv + 3 * oc, *atty = s->atty + oc;
        float *att = s->att + (size_t)l * attl + atto;
        float *attproj = s->attproj + oc, *res2 = s->res2 + oc, *ln2 = s->ln2 + oc;
        float *fch = s->fch + (l * rows + r0) * F, *fchg = s->fch_gelu + (l * rows + r0) * F;
        float *fcproj = s->fcproj + oc, *res3 = s->res3 + oc;

        layernorm_forward(ln1, s->ln1_mean + on, s->ln1_rstd + on, res,
                          s->p[P_LN1W] + (size_t)l * C, s->p[P_LN1B] + (size_t)l * C, N, C);
        linear_forward(qkv, ln1, s->p[P_QKVW] + (size_t)l * 3 * C * C,
                       s->p[P_QKVB] + (size_t)l * 3 * C, N, C, 3 * C);
        attention_forward(atty, att, qkv, nb, T, C, NH);
        linear_forward(attproj, atty, s->p[P_ATTPROJW] + (size_t)l * C * C,
                       s->p[P_ATTPROJB] + (size_t)l * C, N, C, C);
        if (drop)
            dropout_forward(attproj, attproj, s->mask_att + oc, p, nc);
        residual_forward(res2, res, attproj, nc);
        layernorm_forward(ln2, s->ln2_mean + on, s->ln2_rstd + on, res2,
                          s->p[P_LN2W] + (size_t)l * C, s->p[P_LN2B] + (size_t)l * C, N, C);
        linear_act_forward(fchg, fch, ln2, s->p[P_FCW] + (size_t)l * F * C,
                           s->p[P_FCB] + (size_t)l * F, N, C, F, NN_GELU);
        linear_forward(fcproj, fchg, s->p[P_FCPROJW] + (size_t)l * C * F,
                       s->p[P_FCPROJB] + (size_t)l * C, N, F, C);
        if (drop)
            dropout_forward(fcproj, fcproj, s->mask_fc + oc, p, nc);
        residual_forward(res3, res2, fcproj, nc);
        res = res3;
    }
    layernorm_forward(s->lnf + r0 * C, s->lnf_mean + r0, s->lnf_rstd + r0, res, s->p[P_LNFW],
                      s->p[P_LNFB], N, C);
    linear_forward(s->logits + r0 * s->V, s->lnf + r0 * C, s->p[P_WTE], NULL, N, C, s->V);
}

/* Sequences [b0, b1) up to the per-token losses; returns the correct
 * predictions when want_hits. */
static long gpt_forward_cb(const nn_rows_ctx *c, int b0, int b1, int want_hits)
{
    gpt *s = c->m->self;
    int T = c->b->T, V = s->V;
    size_t r0 = (size_t)b0 * T;
    long h = 0;
    gpt_run(s, c->b->tokens, b0, b1, T, c->drop);
    if (b1 > b0)
        softmax_xent_forward(s->probs + r0 * V, s->losses + r0, want_hits ? &h : NULL,
                             s->logits + r0 * V, c->b->targets + r0, (b1 - b0) * T, V);
    return h;
}

static float gpt_forward(nn_model *m, const nn_batch *b, int training, rng *r, long *ncorrect)
{
    gpt *s = m->self;
    if (!b || b->B < 1 || b->B > s->NB || b->T < 1 || b->T > s->maxT || !b->tokens ||
        !b->targets)
        return NAN;
    int B = b->B, T = b->T, N = B * T, V = s->V;
    for (int i = 0; i < N; i++)
        if ((unsigned)b->tokens[i] >= (unsigned)V || (unsigned)b->targets[i] >= (unsigned)V)
            return NAN;
    int drop = training && s->p_drop > 0.0f;
    if (drop && !r)
        return NAN;
    if (drop)
        gpt_masks(s, B, T, r, b->row0);
    int nt = nn_split_threads(&s->split, s->path, B, GPT_SPLIT_MIN_SEQS, m->nparams);
    long hits = 0;
    nn_rows_ctx c = {.m = m, .b = b, .drop = drop};
    if (nt) {
        s->last_nt = nn_split_forward(nt, B, gpt_forward_cb, &c, ncorrect ? &hits : NULL);
        s->last_path = NN_PATH_SPLIT;
    } else {
        hits = gpt_forward_cb(&c, 0, B, ncorrect != NULL);
        s->last_path = NN_PATH_PLAIN;
    }
    if (ncorrect)
        *ncorrect = hits;
    double sum = 0.0; /* in token order, whatever the path */
    for (int i = 0; i < N; i++)
        sum += s->losses[i];
    s->last_B = B;
    s->last_T = T;
    s->last_drop = drop;
    s->last_p = s->p_drop;
    return (float)(sum / N);
}

/* The backward of sequences [b0, b1) into the gradient views g (P_COUNT
 * tensors); sc = scale / (all tokens). */
static void gpt_backward_rows(gpt *s, const nn_batch *b, int b0, int b1, float sc, float **g)
{
    int T = s->last_T, nb = b1 - b0, N = nb * T;
    int C = s->C, NH = s->NH, F = s->F, L = s->L, V = s->V;
    if (nb <= 0)
        return;
    size_t rows = (size_t)s->NB * s->maxT, nc = (size_t)N * C, r0 = (size_t)b0 * T;
    size_t attl = (size_t)s->NB * NH * s->maxT * s->maxT, atto = (size_t)b0 * NH * T * T;
    float p = s->last_p;
    float **w = s->p;
    float *dres = s->dres + r0 * C, *dbranch = s->dbranch + r0 * C, *dln = s->dln + r0 * C;
    float *datty = s->datty + r0 * C, *dqkv = s->dqkv + 3 * r0 * C, *dfch = s->dfch + r0 * F;
    float *datt = s->datt + atto, *dlogits = s->dlogits + r0 * V;

    softmax_xent_backward(dlogits, s->probs + r0 * V, b->targets + r0, N, V, sc);
    float *dlnf = dln;
    linear_backward(dlnf, g[P_WTE], NULL, dlogits, s->lnf + r0 * C, w[P_WTE], N, C, V, 0);
    const float *res_top = (L ? s->res3 + (L - 1) * rows * C : s->encoded) + r0 * C;
    memset(dres, 0, nc * sizeof(float));
    layernorm_backward(dres, g[P_LNFW], g[P_LNFB], dlnf, res_top, w[P_LNFW], s->lnf_mean + r0,
                       s->lnf_rstd + r0, N, C);

    for (int l = L - 1; l >= 0; l--) {
        size_t oc = l * rows * C + r0 * C, on = l * rows + r0;
        const float *res = (l ? s->res3 + (l - 1) * rows * C : s->encoded) + r0 * C;
        const float *ln1 = s->ln1 + oc, *qkv = s->qkv + 3 * oc, *atty = s->atty + oc;
        const float *att = s->att + (size_t)l * attl + atto;
        const float *res2 = s->res2 + oc, *ln2 = s->ln2 + oc;
        const float *fch = s->fch + (l * rows + r0) * F, *fchg = s->fch_gelu + (l * rows + r0) * F;
        size_t lC = (size_t)l * C, lF = (size_t)l * F;

        /* MLP branch: dres holds dL/dres3. */
        const float *dbr = dres;
        if (s->last_drop) {
            dropout_backward(dbranch, dres, s->mask_fc + oc, p, nc);
            dbr = dbranch;
        }
        linear_backward(dfch, g[P_FCPROJW] + lC * F, g[P_FCPROJB] + lC, dbr, fchg,
                        w[P_FCPROJW] + lC * F, N, F, C, 0);
        gelu_backward(dfch, dfch, fch, (size_t)N * F);
        linear_backward(dln, g[P_FCW] + lF * C, g[P_FCB] + lF, dfch, ln2, w[P_FCW] + lF * C, N,
                        C, F, 0);
        layernorm_backward(dres, g[P_LN2W] + lC, g[P_LN2B] + lC, dln, res2, w[P_LN2W] + lC,
                           s->ln2_mean + on, s->ln2_rstd + on, N, C);

        /* Attention branch: dres holds dL/dres2. */
        dbr = dres;
        if (s->last_drop) {
            dropout_backward(dbranch, dres, s->mask_att + oc, p, nc);
            dbr = dbranch;
        }
        linear_backward(datty, g[P_ATTPROJW] + lC * C, g[P_ATTPROJB] + lC, dbr, atty,
                        w[P_ATTPROJW] + lC * C, N, C, C, 0);
        attention_backward(dqkv, datt, datty, att, qkv, nb, T, C, NH, 0);
        linear_backward(dln, g[P_QKVW] + 3 * lC * C, g[P_QKVB] + 3 * lC, dqkv, ln1,
                        w[P_QKVW] + 3 * lC * C, N, C, 3 * C, 0);
        layernorm_backward(dres, g[P_LN1W] + lC, g[P_LN1B] + lC, dln, res, w[P_LN1W] + lC,
                           s->ln1_mean + on, s->ln1_rstd + on, N, C);
    }
    const float *demb = dres;
    if (s->last_drop) {
        dropout_backward(dbranch, dres, s->mask_emb + r0 * C, p, nc);
        demb = dbranch;
    }
    encoder_backward(g[P_WTE], g[P_WPE], demb, b->tokens + r0, nb, T, C);
}

static void gpt_backward_cb(const nn_rows_ctx *c, float *buf, int b0, int b1)
{
    float *g[P_COUNT];
    for (int i = 0; i < P_COUNT; i++)
        g[i] = buf + c->m->tensors[i].offset;
    gpt_backward_rows(c->m->self, c->b, b0, b1, c->scale, g);
}

static void gpt_backward(nn_model *m, const nn_batch *b, float scale)
{
    gpt *s = m->self;
    int B = s->last_B, N = B * s->last_T;
    if (N < 1)
        return;
    float sc = scale / (float)N;
    if (s->last_path != NN_PATH_SPLIT) {
        gpt_backward_rows(s, b, 0, B, sc, s->g);
        return;
    }
    nn_rows_ctx c = {.m = m, .b = b, .scale = sc};
    nn_split_backward(&s->split, m->grads, m->nparams, s->last_nt, B, gpt_backward_cb, &c);
}

void gpt_set_path(nn_model *m, int path)
{
    gpt *s = gpt_of(m);
    if (s && path >= NN_PATH_AUTO && path < NN_PATH_COUNT)
        s->path = path;
}

int gpt_last_path(const nn_model *m)
{
    gpt *s = gpt_of(m);
    return s ? s->last_path : 0;
}

static void gpt_set_dropout(nn_model *m, float p)
{
    gpt *s = m->self;
    s->p_drop = m->dropout = nn_dropout_clamp(p);
}

static void gpt_free_self(nn_model *m)
{
    gpt *s = m->self;
    if (!s)
        return;
    nn_split_free(&s->split);
    free(s->acts);
    free(s->masks);
    free(s->dacts);
    free(s->window);
    free(s);
    m->self = NULL;
}

static const nn_model_vt gpt_vt = {
    .forward = gpt_forward,
    .backward = gpt_backward,
    .set_dropout = gpt_set_dropout,
    .free = gpt_free_self,
};

/* ---- generation ---- */

int gpt_generate(nn_model *m, const int *prompt, int nprompt, int nnew, float temperature,
                 rng *r, int *out, tl_err *err)
{
    gpt *s = gpt_of(m);
    if (!s)
        return tl_fail(err, TL_EINPUT, "gpt_generate: the model is not a GPT");
    if (!prompt || nprompt < 1)
        return tl_fail(err, TL_EINPUT, "gpt_generate: the prompt needs at least one token");
    if (nnew < 0 || (nnew > 0 && !out))
        return tl_fail(err, TL_EINPUT, "gpt_generate: bad output buffer for %d tokens", nnew);
    if (temperature > 0.0f && !r)
        return tl_fail(err, TL_EINPUT, "gpt_generate: sampling at temperature %g needs an rng",
                       (double)temperature);
    for (int i = 0; i < nprompt; i++)
        if (prompt[i] < 0 || prompt[i] >= s->V)
            return tl_fail(err, TL_EINPUT, "gpt_generate: prompt token %d is %d, not in [0, %d)",
                           i, prompt[i], s->V);
    int V = s->V, maxT = s->maxT;
    for (int k = 0; k < nnew; k++) {
        /* The window: the last min(maxT, nprompt + k) tokens. */
        int len = nprompt + k, T = len < maxT ? len : maxT, start = len - T;
        for (int t = 0; t < T; t++) {
            int i = start + t;
            s->window[t] = i < nprompt ? prompt[i] : out[i - nprompt];
        }
        gpt_run(s, s->window, 0, 1, T, 0);
        const float *x = s->logits + (size_t)(T - 1) * V;
        int best = 0;
        for (int j = 1; j < V; j++)
            if (x[j] > x[best])
                best = j;
        if (temperature > 0.0f) {
            /* Inverse-CDF sample of softmax(x / temperature), in double. */
            double sum = 0.0, u;
            for (int j = 0; j < V; j++)
                sum += exp((double)(x[j] - x[best]) / temperature);
            u = rng_uniform(r) * sum;
            double acc = 0.0;
            int pick = V - 1;
            for (int j = 0; j < V; j++) {
                acc += exp((double)(x[j] - x[best]) / temperature);
                if (u < acc) {
                    pick = j;
                    break;
                }
            }
            best = pick;
        }
        out[k] = best;
    }
    s->last_B = 0; /* no backward after a generation */
    return 0;
}

/* ---- create ---- */

/* The tensor table (names, offsets, shapes, decay flags) and the parameter
 * and gradient buffers with their per-tensor views.  0, or -1 when out of
 * memory (m keeps what was allocated; nn_model_free frees it). */
static int gpt_tensors(nn_model *m, gpt *s, const size_t *sz)
{
    size_t off = 0;
    m->tensors = calloc(P_COUNT, sizeof *m->tensors);
    if (!m->tensors)
        return -1;
    int C = s->C, L = s->L, F = s->F;
    const int shapes[P_COUNT][4] = {
        {s->V, C}, {s->maxT, C}, {L, C}, {L, C}, {L, 3 * C, C}, {L, 3 * C}, {L, C, C}, {L, C},
        {L, C}, {L, C}, {L, F, C}, {L, F}, {L, C, F}, {L, C}, {C}, {C},
    };
    const int ndims[P_COUNT] = {2, 2, 2, 2, 3, 2, 3, 2, 2, 2, 3, 2, 3, 2, 1, 1};
    const int decays[P_COUNT] = {1, 1, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 1, 0, 0, 0};
    for (int i = 0; i < P_COUNT; i++) {
        nn_tensor *t = &m->tensors[i];
        strcpy(t->name, gpt_names[i]);
        t->offset = off;
        t->size = sz[i];
        t->ndim = ndims[i];
        memcpy(t->shape, shapes[i], sizeof t->shape);
        t->decay = decays[i];
        off += sz[i];
    }
    m->ntensors = P_COUNT;
    m->nparams = off;
    m->params = nn_falloc(off);
    m->grads = nn_falloc(off);
    if (!m->params || !m->grads)
        return -1;
    memset(m->grads, 0, off * sizeof(float));
    for (int i = 0; i < P_COUNT; i++) {
        s->p[i] = m->params + m->tensors[i].offset;
        s->g[i] = m->grads + m->tensors[i].offset;
    }
    return 0;
}

/* GPT-2 init, tensors in table order (the draws from init in that order). */
static void gpt_init(gpt *s, const size_t *sz, rng *init)
{
    float proj_std = 0.02f / sqrtf(2.0f * (float)s->L);
    for (int i = 0; i < P_COUNT; i++) {
        float *x = s->p[i];
        size_t n = sz[i];
        switch (i) {
        case P_WTE: case P_WPE: case P_QKVW: case P_FCW:
            for (size_t j = 0; j < n; j++)
                x[j] = (float)(0.02 * rng_normal(init));
            break;
        case P_ATTPROJW: case P_FCPROJW:
            for (size_t j = 0; j < n; j++)
                x[j] = (float)(proj_std * rng_normal(init));
            break;
        case P_LN1W: case P_LN2W: case P_LNFW:
            for (size_t j = 0; j < n; j++)
                x[j] = 1.0f;
            break;
        default:
            memset(x, 0, n * sizeof(float));
        }
    }
}

/* Activations and their gradients for NB sequences of maxT tokens, one
 * block each, carved into the named views; dropout masks.  0, or -1 when
 * out of memory (nn_model_free frees what was allocated). */
static int gpt_alloc_acts(gpt *s, int max_batch)
{
    int C = s->C, L = s->L, F = s->F;
    size_t rows = (size_t)max_batch * s->maxT, Cz = (size_t)C, Fz = (size_t)F;
    size_t attsz = (size_t)max_batch * s->NH * s->maxT * s->maxT;
    size_t Lz = (size_t)L;
    size_t nacts = rows * Cz                              /* encoded */
                   + Lz * rows * (Cz * 7 + 3 * Cz + 2 * Fz + 4) /* ln1 atty attproj res2 ln2 fcproj res3, qkv, fch x2, stats */
                   + Lz * attsz                           /* att */
                   + rows * (Cz + 2) + 3 * rows * s->V + rows;
    size_t ndacts = rows * (4 * Cz + 3 * Cz + Fz) + attsz;
    s->acts = nn_falloc(nacts);
    s->dacts = nn_falloc(ndacts);
    s->masks = malloc(rows * Cz * (1 + 2 * Lz));
    s->window = malloc(sizeof(int) * (size_t)s->maxT);
    if (!s->acts || !s->dacts || !s->masks || !s->window)
        return -1;
    float *a = s->acts;
#define CARVE(ptr, n) do { (ptr) = a; a += (n); } while (0)
    CARVE(s->encoded, rows * Cz);
    CARVE(s->ln1, Lz * rows * Cz);
    CARVE(s->ln1_mean, Lz * rows);
    CARVE(s->ln1_rstd, Lz * rows);
    CARVE(s->qkv, Lz * rows * 3 * Cz);
    CARVE(s->atty, Lz * rows * Cz);
    CARVE(s->att, Lz * attsz);
    CARVE(s->attproj, Lz * rows * Cz);
    CARVE(s->res2, Lz * rows * Cz);
    CARVE(s->ln2, Lz * rows * Cz);
    CARVE(s->ln2_mean, Lz * rows);
    CARVE(s->ln2_rstd, Lz * rows);
    CARVE(s->fch, Lz * rows * Fz);
    CARVE(s->fch_gelu, Lz * rows * Fz);
    CARVE(s->fcproj, Lz * rows * Cz);
    CARVE(s->res3, Lz * rows * Cz);
    CARVE(s->lnf, rows * Cz);
    CARVE(s->lnf_mean, rows);
    CARVE(s->lnf_rstd, rows);
    CARVE(s->logits, rows * s->V);
    CARVE(s->probs, rows * s->V);
    CARVE(s->dlogits, rows * s->V);
    CARVE(s->losses, rows);
    a = s->dacts;
    CARVE(s->dres, rows * Cz);
    CARVE(s->dbranch, rows * Cz);
    CARVE(s->dln, rows * Cz);
    CARVE(s->datty, rows * Cz);
    CARVE(s->dqkv, rows * 3 * Cz);
    CARVE(s->dfch, rows * Fz);
    CARVE(s->datt, attsz);
#undef CARVE
    s->mask_emb = s->masks;
    s->mask_att = s->masks + rows * Cz;
    s->mask_fc = s->mask_att + Lz * rows * Cz;
    return 0;
}

int gpt_create(const gpt_config *c, int max_batch, rng *init, nn_model **out, tl_err *err)
{
    int rc;
    if (!out)
        return tl_fail(err, TL_EINPUT, "gpt_create: out is NULL");
    *out = NULL;
    if ((rc = gpt_check(c, max_batch, err)))
        return rc;
    if (!init)
        return tl_fail(err, TL_EINPUT, "gpt_create: no rng for the initialization");

    nn_model *m = calloc(1, sizeof *m);
    gpt *s = calloc(1, sizeof *s);
    if (!m || !s) {
        free(m);
        free(s);
        return tl_fail(err, TL_ERUNTIME, "gpt_create: out of memory");
    }
    m->vt = &gpt_vt;
    m->self = s;
    m->max_batch = max_batch;
    m->is_text = 1;
    s->cfg = *c;
    if (!s->cfg.mlp_ratio)
        s->cfg.mlp_ratio = 4;
    s->V = c->vocab;
    s->maxT = c->ctx;
    s->C = c->d_model;
    s->L = c->layers;
    s->NH = c->heads;
    s->F = s->cfg.mlp_ratio * c->d_model;
    s->NB = max_batch;
    s->p_drop = c->dropout;
    m->dropout = c->dropout;

    size_t sz[P_COUNT];
    gpt_sizes(&s->cfg, sz);
    if (gpt_tensors(m, s, sz))
        goto oom;
    gpt_init(s, sz, init);
    if (gpt_alloc_acts(s, max_batch))
        goto oom;
    *out = m;
    return 0;

oom:
    nn_model_free(m);
    return tl_fail(err, TL_ERUNTIME, "gpt_create: out of memory for %zu parameters and %d x %d "
                   "tokens", gpt_param_count(c), max_batch, c->ctx);
}
