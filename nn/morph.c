/* nn/morph.c: Net2Net-style morphisms from a parent model into a child of
 * another shape (see morph.h for what is exact and what is best effort).
 * The MLP is morphed as a list of (W, b) layers edited step by step
 * (shallower, deeper, then each layer's width), then copied into the
 * child; the GPT tensor by tensor.  Does not: touch optimizer state,
 * allocate inside a model, or know where the parent came from. */
#include "nn/morph.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/gpt.h"
#include "nn/mlp.h"

static void note(morph_info *info, const char *fmt, int a, int b, int exact)
{
    size_t n = strlen(info->desc);
    if (n + 2 >= sizeof info->desc)
        return;
    if (n)
        n += (size_t)snprintf(info->desc + n, sizeof info->desc - n, "; ");
    snprintf(info->desc + n, sizeof info->desc - n, fmt, a, b);
    if (!exact)
        info->exact = 0;
}

/* Net2WiderNet's unit map: g[j] = j for j < n, a random unit of [0, n)
 * for the extra ones; cnt[u] = how many child units copy unit u. */
static void wider_map(int n, int m, rng *r, int *g, int *cnt)
{
    for (int u = 0; u < n; u++)
        cnt[u] = 0;
    for (int j = 0; j < m; j++) {
        g[j] = j < n ? j : (int)rng_below(r, (uint64_t)n);
        cnt[g[j]]++;
    }
}

/* ---- MLP: a list of linear layers (out, in) ---- */

typedef struct mlayer {
    int out, in;
    float *w; /* (out, in) */
    float *b; /* (out) */
} mlayer;

static void layers_free(mlayer *ls, int n)
{
    for (int i = 0; i < n; i++) {
        free(ls[i].w);
        free(ls[i].b);
    }
}

static int layer_alloc(mlayer *l, int out, int in)
{
    l->out = out;
    l->in = in;
    l->w = calloc((size_t)out * (size_t)in, sizeof *l->w);
    l->b = calloc((size_t)out, sizeof *l->b);
    return l->w && l->b ? 0 : -1;
}

/* Replaces l by a copy with `in` input columns: the overlap kept, new ones 0. */
static int layer_resize_in(mlayer *l, int in)
{
    mlayer n;
    if (layer_alloc(&n, l->out, in)) {
        layers_free(&n, 1);
        return -1;
    }
    int k = in < l->in ? in : l->in;
    for (int o = 0; o < l->out; o++)
        memcpy(n.w + (size_t)o * in, l->w + (size_t)o * l->in, sizeof *n.w * (size_t)k);
    memcpy(n.b, l->b, sizeof *n.b * (size_t)l->out);
    layers_free(l, 1);
    *l = n;
    return 0;
}

/* Sets the unit count of layer a (its rows) to m, fixing the columns of
 * the next layer b: Net2Wider when m > out, truncation when m < out. */
static int layer_set_units(mlayer *a, mlayer *b, int m, rng *r)
{
    int n = a->out;
    int *g = malloc(sizeof *g * (size_t)m), *cnt = malloc(sizeof *cnt * (size_t)n);
    mlayer na = {0}, nb = {0};
    int rc = !g || !cnt || layer_alloc(&na, m, a->in) || layer_alloc(&nb, b->out, m) ? -1 : 0;
    if (!rc) {
        wider_map(n, m, r, g, cnt);
        for (int j = 0; j < m; j++) {
            memcpy(na.w + (size_t)j * a->in, a->w + (size_t)g[j] * a->in, sizeof *na.w * (size_t)a->in);
            na.b[j] = a->b[g[j]];
        }
        for (int o = 0; o < b->out; o++)
            for (int j = 0; j < m; j++)
                nb.w[(size_t)o * m + j] = b->w[(size_t)o * n + g[j]] / (float)cnt[g[j]];
        memcpy(nb.b, b->b, sizeof *nb.b * (size_t)b->out);
        layers_free(a, 1);
        layers_free(b, 1);
        *a = na;
        *b = nb;
    } else {
        layers_free(&na, 1);
        layers_free(&nb, 1);
    }
    free(g);
    free(cnt);
    return rc;
}

/* Loads m's layers (nhidden + 1) into ls (room for MLP_MAX_HIDDEN + 1). */
static int mlp_layers_load(const nn_model *m, const mlp_config *c, mlayer *ls)
{
    for (int l = 0; l <= c->nhidden; l++) {
        const nn_tensor *tw = &m->tensors[2 * l], *tb = &m->tensors[2 * l + 1];
        if (layer_alloc(&ls[l], tw->shape[0], tw->shape[1])) {
            layers_free(ls, l + 1);
            return -1;
        }
        memcpy(ls[l].w, m->params + tw->offset, sizeof(float) * tw->size);
        memcpy(ls[l].b, m->params + tb->offset, sizeof(float) * tb->size);
    }
    return 0;
}

/* Edits the list ls (n layers, *n updated) from the parent's shape to the
 * child's c: shallower, deeper, then the widths. */
static int mlp_edit(mlayer *ls, int *n, const mlp_config *pc, const mlp_config *c, rng *r, morph_info *info)
{
    int L = pc->nhidden;
    if (c->nhidden < L) { /* drop the last hidden layers; the output layer keeps its overlap */
        mlayer out = ls[L];
        layers_free(ls + c->nhidden, L - c->nhidden);
        ls[c->nhidden] = out;
        note(info, "-%d hidden layer(s) dropped (approximate)%.0d", L - c->nhidden, 0, 0);
        L = c->nhidden;
        *n = L + 1;
        if (layer_resize_in(&ls[L], L > 0 ? ls[L - 1].out : c->in_dim))
            return -1;
    }
    if (c->nhidden > L) { /* identity layers before the output layer */
        int w = L > 0 ? ls[L - 1].out : c->in_dim, add = c->nhidden - L;
        mlayer out = ls[L];
        for (int k = 0; k < add; k++) {
            mlayer *id = &ls[L + k];
            if (layer_alloc(id, w, w)) {
                *n = L + k + 1;
                ls[L + k + 1] = out;
                return -1;
            }
            for (int i = 0; i < w; i++)
                id->w[(size_t)i * w + i] = 1;
        }
        ls[c->nhidden] = out;
        int exact = c->act == NN_RELU && L > 0;
        note(info, exact ? "+%d identity layer(s)%.0d" : "+%d identity layer(s) (approximate: input not a ReLU output)%.0d",
             add, 0, exact);
        L = c->nhidden;
        *n = L + 1;
    }
    for (int l = 0; l < L; l++) {
        int from = ls[l].out, to = c->hidden[l];
        if (from == to)
            continue;
        if (layer_set_units(&ls[l], &ls[l + 1], to, r))
            return -1;
        note(info, to > from ? "fc%d wider to %d" : "fc%d narrower to %d (approximate)", l, to, to > from);
    }
    return 0;
}

int morph_mlp(const nn_model *parent, nn_model *child, rng *r, morph_info *info, tl_err *err)
{
    const mlp_config *pc = mlp_config_of(parent), *c = mlp_config_of(child);
    info->exact = 1;
    info->desc[0] = 0;
    if (!pc || !c)
        return tl_fail(err, TL_EINPUT, "morph: both models must be MLPs");
    if (pc->in_dim != c->in_dim || pc->out_dim != c->out_dim)
        return tl_fail(err, TL_EINPUT, "morph: MLPs %d->%d and %d->%d differ in input or output size",
                       pc->in_dim, pc->out_dim, c->in_dim, c->out_dim);
    mlayer ls[MLP_MAX_HIDDEN + 1];
    int n = pc->nhidden + 1;
    if (mlp_layers_load(parent, pc, ls))
        return tl_fail(err, TL_ERUNTIME, "morph: out of memory");
    int rc = mlp_edit(ls, &n, pc, c, r, info);
    for (int l = 0; !rc && l <= c->nhidden; l++) {
        const nn_tensor *tw = &child->tensors[2 * l], *tb = &child->tensors[2 * l + 1];
        if ((size_t)ls[l].out * (size_t)ls[l].in != tw->size || (size_t)ls[l].out != tb->size)
            rc = -2;
    }
    for (int l = 0; !rc && l <= c->nhidden; l++) {
        memcpy(child->params + child->tensors[2 * l].offset, ls[l].w, sizeof(float) * child->tensors[2 * l].size);
        memcpy(child->params + child->tensors[2 * l + 1].offset, ls[l].b,
               sizeof(float) * child->tensors[2 * l + 1].size);
    }
    layers_free(ls, n);
    if (rc == -2)
        return tl_fail(err, TL_ERUNTIME, "morph: internal shape mismatch");
    if (rc)
        return tl_fail(err, TL_ERUNTIME, "morph: out of memory");
    if (!info->desc[0])
        snprintf(info->desc, sizeof info->desc, "same shape (copied)");
    return 0;
}

/* ---- GPT: tensor by tensor ---- */

static const nn_tensor *tensor_of(const nn_model *m, const char *name)
{
    for (int i = 0; i < m->ntensors; i++)
        if (!strcmp(m->tensors[i].name, name))
            return &m->tensors[i];
    return NULL;
}

/* Copies the overlap of a (rows, cols) matrix of layer l of tensor name
 * from parent (pr, pcols) to child (cr, ccols), with a row offset: child
 * rows [cro, cro+n) take parent rows [pro, pro+n), each scaled by s. */
typedef struct gview {
    const nn_model *pm;
    nn_model *cm;
    int pl, cl;           /* parent and child layer of a stacked tensor */
} gview;

static float *cptr(const gview *v, const char *name, size_t per_layer)
{
    const nn_tensor *t = tensor_of(v->cm, name);
    return v->cm->params + t->offset + (size_t)v->cl * per_layer;
}

static const float *pptr(const gview *v, const char *name, size_t per_layer)
{
    const nn_tensor *t = tensor_of(v->pm, name);
    return v->pm->params + t->offset + (size_t)v->pl * per_layer;
}

/* dst (.., dcols) rows [d0, d0+n) = s * src (.., scols) rows [s0, s0+n), cols min. */
static void copy_block(float *dst, int dcols, int d0, const float *src, int scols, int s0, int n, float s)
{
    int k = dcols < scols ? dcols : scols;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < k; j++)
            dst[(size_t)(d0 + i) * dcols + j] = s * src[(size_t)(s0 + i) * scols + j];
}

static int imin(int a, int b)
{
    return a < b ? a : b;
}

/* New residual dimensions [C, C') of tensor rows written into the stream: 0. */
static void zero_cols(float *w, int rows, int cols, int from)
{
    for (int i = 0; i < rows; i++)
        for (int j = from; j < cols; j++)
            w[(size_t)i * cols + j] = 0;
}

/* Block l of the child from block l of the parent. */
static int gpt_block(const gview *v, const gpt_config *p, const gpt_config *c, rng *r)
{
    int C = p->d_model, Cc = c->d_model, F = p->mlp_ratio * C, Fc = c->mlp_ratio * Cc, mC = imin(C, Cc);
    copy_block(cptr(v, "ln1w", Cc), Cc, 0, pptr(v, "ln1w", C), C, 0, 1, 1);
    copy_block(cptr(v, "ln1b", Cc), Cc, 0, pptr(v, "ln1b", C), C, 0, 1, 1);
    copy_block(cptr(v, "ln2w", Cc), Cc, 0, pptr(v, "ln2w", C), C, 0, 1, 1);
    copy_block(cptr(v, "ln2b", Cc), Cc, 0, pptr(v, "ln2b", C), C, 0, 1, 1);
    /* q rows scaled so each head's score keeps the parent's 1/sqrt(hs) */
    float qs = (float)sqrt(((double)Cc / c->heads) / ((double)C / p->heads));
    for (int s = 0; s < 3; s++) {
        float k = s == 0 ? qs : 1;
        copy_block(cptr(v, "qkvw", (size_t)3 * Cc * Cc), Cc, s * Cc, pptr(v, "qkvw", (size_t)3 * C * C), C, s * C,
                   mC, k);
        copy_block(cptr(v, "qkvb", (size_t)3 * Cc), 1, s * Cc, pptr(v, "qkvb", (size_t)3 * C), 1, s * C, mC, k);
    }
    float *apw = cptr(v, "attprojw", (size_t)Cc * Cc), *apb = cptr(v, "attprojb", Cc);
    memset(apw, 0, sizeof *apw * (size_t)Cc * Cc);
    memset(apb, 0, sizeof *apb * (size_t)Cc);
    copy_block(apw, Cc, 0, pptr(v, "attprojw", (size_t)C * C), C, 0, mC, 1);
    copy_block(apb, 1, 0, pptr(v, "attprojb", C), 1, 0, mC, 1);
    /* the MLP: Net2Wider (or truncation) over the F hidden units */
    int *g = malloc(sizeof *g * (size_t)Fc), *cnt = malloc(sizeof *cnt * (size_t)F);
    if (!g || !cnt) {
        free(g);
        free(cnt);
        return -1;
    }
    wider_map(F, Fc, r, g, cnt);
    float *fcw = cptr(v, "fcw", (size_t)Fc * Cc), *fcb = cptr(v, "fcb", Fc);
    float *fpw = cptr(v, "fcprojw", (size_t)Cc * Fc), *fpb = cptr(v, "fcprojb", Cc);
    const float *pfcw = pptr(v, "fcw", (size_t)F * C), *pfcb = pptr(v, "fcb", F);
    const float *pfpw = pptr(v, "fcprojw", (size_t)C * F), *pfpb = pptr(v, "fcprojb", C);
    for (int j = 0; j < Fc; j++) {
        copy_block(fcw, Cc, j, pfcw, C, g[j], 1, 1);
        fcb[j] = pfcb[g[j]];
    }
    memset(fpw, 0, sizeof *fpw * (size_t)Cc * Fc);
    memset(fpb, 0, sizeof *fpb * (size_t)Cc);
    for (int o = 0; o < mC; o++) {
        for (int j = 0; j < Fc; j++)
            fpw[(size_t)o * Fc + j] = pfpw[(size_t)o * F + g[j]] / (float)cnt[g[j]];
        fpb[o] = pfpb[o];
    }
    free(g);
    free(cnt);
    return 0;
}

/* An appended block: the child's init with zero output projections. */
static void gpt_identity_block(const gview *v, const gpt_config *c)
{
    int Cc = c->d_model, Fc = c->mlp_ratio * Cc;
    memset(cptr(v, "attprojw", (size_t)Cc * Cc), 0, sizeof(float) * (size_t)Cc * Cc);
    memset(cptr(v, "attprojb", Cc), 0, sizeof(float) * (size_t)Cc);
    memset(cptr(v, "fcprojw", (size_t)Cc * Fc), 0, sizeof(float) * (size_t)Cc * Fc);
    memset(cptr(v, "fcprojb", Cc), 0, sizeof(float) * (size_t)Cc);
}

static void gpt_notes(const gpt_config *p, const gpt_config *c, morph_info *info)
{
    if (c->d_model != p->d_model)
        note(info, "d_model %d->%d (approximate)", p->d_model, c->d_model, 0);
    else if (c->heads != p->heads)
        note(info, "heads %d->%d (approximate: q rescaled)", p->heads, c->heads, 0);
    if (c->mlp_ratio != p->mlp_ratio)
        note(info, c->mlp_ratio > p->mlp_ratio ? "mlp_ratio %d->%d wider" : "mlp_ratio %d->%d narrower (approximate)",
             p->mlp_ratio, c->mlp_ratio, c->mlp_ratio > p->mlp_ratio);
    if (c->layers > p->layers)
        note(info, "layers %d->%d (identity blocks)", p->layers, c->layers, 1);
    else if (c->layers < p->layers)
        note(info, "layers %d->%d (last blocks dropped, approximate)", p->layers, c->layers, 0);
    if (c->ctx != p->ctx)
        note(info, "ctx %d->%d (approximate)", p->ctx, c->ctx, 0);
    if (!info->desc[0])
        snprintf(info->desc, sizeof info->desc, "same shape (copied)");
}

int morph_gpt(const nn_model *parent, nn_model *child, rng *r, morph_info *info, tl_err *err)
{
    const gpt_config *p = gpt_config_of(parent), *c = gpt_config_of(child);
    info->exact = 1;
    info->desc[0] = 0;
    if (!p || !c)
        return tl_fail(err, TL_EINPUT, "morph: both models must be GPTs");
    if (p->vocab != c->vocab)
        return tl_fail(err, TL_EINPUT, "morph: vocabularies differ (%d and %d)", p->vocab, c->vocab);
    int C = p->d_model, Cc = c->d_model;
    gview v = {.pm = parent, .cm = child};
    float *wte = cptr(&v, "wte", 0), *wpe = cptr(&v, "wpe", 0);
    zero_cols(wte, c->vocab, Cc, C);
    zero_cols(wpe, c->ctx, Cc, C);
    copy_block(wte, Cc, 0, pptr(&v, "wte", 0), C, 0, c->vocab, 1);
    copy_block(wpe, Cc, 0, pptr(&v, "wpe", 0), C, 0, imin(p->ctx, c->ctx), 1);
    copy_block(cptr(&v, "lnfw", 0), Cc, 0, pptr(&v, "lnfw", 0), C, 0, 1, 1);
    copy_block(cptr(&v, "lnfb", 0), Cc, 0, pptr(&v, "lnfb", 0), C, 0, 1, 1);
    for (int l = 0; l < c->layers; l++) {
        v.cl = v.pl = l;
        if (l >= p->layers)
            gpt_identity_block(&v, c);
        else if (gpt_block(&v, p, c, r))
            return tl_fail(err, TL_ERUNTIME, "morph: out of memory");
    }
    gpt_notes(p, c, info);
    return 0;
}

int morph_apply(const nn_model *parent, nn_model *child, rng *r, morph_info *info, tl_err *err)
{
    if (mlp_config_of(parent) && mlp_config_of(child))
        return morph_mlp(parent, child, r, info, err);
    if (gpt_config_of(parent) && gpt_config_of(child))
        return morph_gpt(parent, child, r, info, err);
    return tl_fail(err, TL_EINPUT, "morph: parent and child must both be MLPs or both GPTs");
}
