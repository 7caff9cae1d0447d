/* nn/morph.c: Net2Net-style morphisms from a parent model into a child of
 * another shape (see morph.h for what is exact and what is best effort).
 * The MLP is morphed as a list of (W, b) layers edited step by step
 * (shallower, deeper, then each layer's width), then copied into the
 * child, with the optimizer moments when asked; the GPT tensor by tensor
 * (weights only).  Does not: allocate inside a model, touch an optimizer
 * beyond the moment buffers it is given, or know where the parent came
 * from. */
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

/* ---- MLP: a list of linear layers (out, in) ----
 * Each layer holds up to MB parallel buffers of its shape: the weights
 * (buffer 0) and, when the optimizer moments travel too, the first moment
 * (1) and the square root of the second moment (2), which moves like the
 * first (squared back when written).  Every edit is decided on the
 * weights and applied to all buffers alike. */

enum { MB = 3 };

typedef struct mlayer {
    int out, in, nb; /* nb: buffers in use (1: weights only, 3: with moments) */
    float *w[MB];    /* (out, in) */
    float *b[MB];    /* (out) */
} mlayer;

static void layers_free(mlayer *ls, int n)
{
    for (int i = 0; i < n; i++)
        for (int k = 0; k < MB; k++) {
            free(ls[i].w[k]);
            free(ls[i].b[k]);
            ls[i].w[k] = ls[i].b[k] = NULL;
        }
}

/* Zeroed buffers (out, in) x nb; -1 for memory (l then holds what was
 * allocated: layers_free). */
static int layer_alloc(mlayer *l, int out, int in, int nb)
{
    memset(l, 0, sizeof *l);
    l->out = out;
    l->in = in;
    l->nb = nb;
    int ok = 1;
    for (int k = 0; k < nb; k++) {
        l->w[k] = calloc((size_t)out * (size_t)in, sizeof *l->w[k]);
        l->b[k] = calloc((size_t)out, sizeof *l->b[k]);
        ok = ok && l->w[k] && l->b[k];
    }
    return ok ? 0 : -1;
}

/* Narrowing's unit map: the m of a's n units with the largest
 * |incoming row, bias| x |outgoing column in b|, in their order. */
static void narrower_map(const mlayer *a, const mlayer *b, int m, int *g, int *cnt)
{
    int n = a->out;
    double *score = malloc(sizeof *score * (size_t)n);
    for (int u = 0; u < n; u++) {
        double in = (double)a->b[0][u] * a->b[0][u], out = 0;
        for (int i = 0; i < a->in; i++)
            in += (double)a->w[0][(size_t)u * a->in + i] * a->w[0][(size_t)u * a->in + i];
        for (int o = 0; o < b->out; o++)
            out += (double)b->w[0][(size_t)o * n + u] * b->w[0][(size_t)o * n + u];
        if (score)
            score[u] = sqrt(in * out);
        cnt[u] = 0;
    }
    for (int j = 0; j < m; j++) /* without memory for the scores: the first m */
        g[j] = j;
    if (score) {
        for (int j = 0, u = 0; u < n; u++) { /* unit u is kept when fewer than m units beat it */
            int better = 0;
            for (int v = 0; v < n && better < m; v++)
                better += score[v] > score[u] || (score[v] == score[u] && v < u);
            if (better < m)
                g[j++] = u;
        }
    }
    for (int j = 0; j < m; j++)
        cnt[g[j]] = 1;
    free(score);
}

/* Sets the unit count of layer a (its rows) to m, fixing the columns of
 * the next layer b: Net2Wider when m > out; when m < out the m units that
 * matter most (narrower_map) are kept with their outgoing weights.  The
 * weights of a unit copied c times: rows copied, outgoing columns / c; its
 * moments follow the gradients of the wider net computing the same
 * function: a copy's output gradient is the unit's / c, so its rows' (and
 * bias') moments are / c (the second moment / c^2), while each outgoing
 * column's gradient is the parent's: its moments are copied. */
static int layer_set_units(mlayer *a, mlayer *b, int m, rng *r)
{
    int n = a->out;
    int *g = malloc(sizeof *g * (size_t)m), *cnt = malloc(sizeof *cnt * (size_t)n);
    mlayer na, nb;
    int rc = layer_alloc(&na, m, a->in, a->nb) | layer_alloc(&nb, b->out, m, b->nb);
    rc = !g || !cnt || rc ? -1 : 0;
    if (!rc) {
        if (m < n)
            narrower_map(a, b, m, g, cnt);
        else
            wider_map(n, m, r, g, cnt);
        for (int k = 0; k < a->nb; k++)
            for (int j = 0; j < m; j++) {
                float s = k ? 1.0f / (float)cnt[g[j]] : 1.0f;
                for (int i = 0; i < a->in; i++)
                    na.w[k][(size_t)j * a->in + i] = s * a->w[k][(size_t)g[j] * a->in + i];
                na.b[k][j] = s * a->b[k][g[j]];
            }
        for (int k = 0; k < b->nb; k++) {
            for (int o = 0; o < b->out; o++)
                for (int j = 0; j < m; j++)
                    nb.w[k][(size_t)o * m + j] = b->w[k][(size_t)o * n + g[j]] / (k ? 1.0f : (float)cnt[g[j]]);
            memcpy(nb.b[k], b->b[k], sizeof *nb.b[k] * (size_t)b->out);
        }
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

/* Replaces out by out o hid as if hid had no activation: W = W_out W_hid,
 * b = W_out b_hid + b_out (exact where hid's pre-activations are >= 0
 * under ReLU); the folded layer's moments start at 0 (it is a new
 * parameterization); hid is freed. */
static int layer_fold(mlayer *hid, mlayer *out)
{
    mlayer nl;
    if (layer_alloc(&nl, out->out, hid->in, out->nb)) {
        layers_free(&nl, 1);
        return -1;
    }
    for (int o = 0; o < out->out; o++) {
        double bb = out->b[0][o];
        for (int h = 0; h < hid->out; h++) {
            float w = out->w[0][(size_t)o * hid->out + h];
            bb += (double)w * hid->b[0][h];
            for (int i = 0; i < hid->in; i++)
                nl.w[0][(size_t)o * hid->in + i] += w * hid->w[0][(size_t)h * hid->in + i];
        }
        nl.b[0][o] = (float)bb;
    }
    layers_free(hid, 1);
    layers_free(out, 1);
    *out = nl;
    return 0;
}

/* The flat buffers of one model that travel through an MLP morph, one per
 * mlayer buffer: weights, first moment, second moment (NULL: not used). */
typedef struct mbufs {
    float *buf[MB];
    int nb;
} mbufs;

/* Loads m's layers (nhidden + 1) from the flat buffers pb into ls (room
 * for MLP_MAX_HIDDEN + 1); buffer 2 (the second moment) as its square
 * root. */
static int mlp_layers_load(const nn_model *m, const mlp_config *c, const mbufs *pb, mlayer *ls)
{
    for (int l = 0; l <= c->nhidden; l++) {
        const nn_tensor *tw = &m->tensors[2 * l], *tb = &m->tensors[2 * l + 1];
        if (layer_alloc(&ls[l], tw->shape[0], tw->shape[1], pb->nb)) {
            layers_free(ls, l + 1);
            return -1;
        }
        for (int k = 0; k < pb->nb; k++) {
            memcpy(ls[l].w[k], pb->buf[k] + tw->offset, sizeof(float) * tw->size);
            memcpy(ls[l].b[k], pb->buf[k] + tb->offset, sizeof(float) * tb->size);
            if (k == 2) {
                for (size_t i = 0; i < tw->size; i++)
                    ls[l].w[k][i] = sqrtf(ls[l].w[k][i]);
                for (size_t i = 0; i < tb->size; i++)
                    ls[l].b[k][i] = sqrtf(ls[l].b[k][i]);
            }
        }
    }
    return 0;
}

/* Writes the layers ls into the child's flat buffers cb (buffer 2
 * squared back). */
static void mlp_layers_store(const nn_model *m, const mlp_config *c, const mlayer *ls, const mbufs *cb)
{
    for (int l = 0; l <= c->nhidden; l++)
        for (int k = 0; k < cb->nb; k++)
            for (int t = 0; t < 2; t++) {
                const nn_tensor *tn = &m->tensors[2 * l + t];
                float *dst = cb->buf[k] + tn->offset;
                const float *src = t ? ls[l].b[k] : ls[l].w[k];
                for (size_t i = 0; i < tn->size; i++)
                    dst[i] = k == 2 ? src[i] * src[i] : src[i];
            }
}

/* Edits the list ls (n layers, *n updated) from the parent's shape to the
 * child's c: shallower, deeper, then the widths. */
static int mlp_edit(mlayer *ls, int *n, const mlp_config *pc, const mlp_config *c, rng *r, morph_info *info)
{
    int L = pc->nhidden;
    if (c->nhidden < L) { /* fold the last hidden layers into the output layer, as if linear */
        note(info, "-%d hidden layer(s) folded into the output layer (approximate)%.0d", L - c->nhidden, 0, 0);
        while (L > c->nhidden) {
            if (layer_fold(&ls[L - 1], &ls[L]))
                return -1;
            ls[L - 1] = ls[L];
            memset(&ls[L], 0, sizeof ls[L]);
            L--;
            *n = L + 1;
        }
    }
    if (c->nhidden > L) { /* identity layers before the output layer (moments 0) */
        int w = L > 0 ? ls[L - 1].out : c->in_dim, add = c->nhidden - L;
        mlayer out = ls[L];
        for (int k = 0; k < add; k++) {
            mlayer *id = &ls[L + k];
            if (layer_alloc(id, w, w, out.nb)) {
                *n = L + k + 1;
                ls[L + k + 1] = out;
                return -1;
            }
            for (int i = 0; i < w; i++)
                id->w[0][(size_t)i * w + i] = 1;
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

static void info_clear(morph_info *info)
{
    info->exact = 1;
    info->desc[0] = 0;
    info->score_err = 0;
    info->moments = 0;
}

/* morph_mlp with the moments of mo (NULL: the weights only). */
static int mlp_morph(const nn_model *parent, nn_model *child, const morph_moments *mo, rng *r, morph_info *info,
                     tl_err *err)
{
    const mlp_config *pc = mlp_config_of(parent), *c = mlp_config_of(child);
    info_clear(info);
    if (!pc || !c)
        return tl_fail(err, TL_EINPUT, "morph: both models must be MLPs");
    if (pc->in_dim != c->in_dim || pc->out_dim != c->out_dim)
        return tl_fail(err, TL_EINPUT, "morph: MLPs %d->%d and %d->%d differ in input or output size",
                       pc->in_dim, pc->out_dim, c->in_dim, c->out_dim);
    int nb = !mo ? 1 : mo->pv && mo->cv ? 3 : 2;
    mbufs pb = {{parent->params, mo ? (float *)mo->pm : NULL, mo ? (float *)mo->pv : NULL}, nb};
    mbufs cb = {{child->params, mo ? mo->cm : NULL, mo ? mo->cv : NULL}, nb};
    mlayer ls[MLP_MAX_HIDDEN + 1];
    memset(ls, 0, sizeof ls);
    int n = pc->nhidden + 1;
    if (mlp_layers_load(parent, pc, &pb, ls))
        return tl_fail(err, TL_ERUNTIME, "morph: out of memory");
    int rc = mlp_edit(ls, &n, pc, c, r, info);
    for (int l = 0; !rc && l <= c->nhidden; l++) {
        const nn_tensor *tw = &child->tensors[2 * l], *tb = &child->tensors[2 * l + 1];
        if ((size_t)ls[l].out * (size_t)ls[l].in != tw->size || (size_t)ls[l].out != tb->size)
            rc = -2;
    }
    if (!rc)
        mlp_layers_store(child, c, ls, &cb);
    layers_free(ls, n);
    if (rc == -2)
        return tl_fail(err, TL_ERUNTIME, "morph: internal shape mismatch");
    if (rc)
        return tl_fail(err, TL_ERUNTIME, "morph: out of memory");
    if (!info->desc[0])
        snprintf(info->desc, sizeof info->desc, "same shape (copied)");
    info->moments = mo != NULL;
    return 0;
}

int morph_mlp(const nn_model *parent, nn_model *child, rng *r, morph_info *info, tl_err *err)
{
    return mlp_morph(parent, child, NULL, r, info, err);
}

/* ---- GPT: tensor by tensor ---- */

static const nn_tensor *tensor_of(const nn_model *m, const char *name)
{
    for (int i = 0; i < m->ntensors; i++)
        if (!strcmp(m->tensors[i].name, name))
            return &m->tensors[i];
    return NULL;
}

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

static int imin(int a, int b)
{
    return a < b ? a : b;
}

/* The residual-stream map from the parent's C channels to the child's Cc:
 *   SM_REPL (Cc = m C, m >= 2): child channel j carries parent channel
 *     j % C; the stream is the parent's repeated m times, so every
 *     LayerNorm sees the same mean and variance (exact);
 *   SM_PAD (Cc > C, not a multiple): channels >= C are 0; a LayerNorm
 *     over the padded stream has mean mu C/Cc and, when mu = 0, variance
 *     var C/Cc: the gains are scaled by sqrt(C/Cc) (exact iff the stream
 *     has zero mean per token);
 *   SM_CUT (Cc <= C): the first Cc channels (Cc = C: the identity).
 * A LayerNorm's gain and bias are multiplied by lng and lnb; readers of a
 * LayerNorm output copy the columns of src() (0 for a new channel),
 * writers into the stream copy the rows of src(). */
enum { SM_CUT, SM_PAD, SM_REPL };
typedef struct smap {
    int C, Cc, mode;
    float lng, lnb;
} smap;

static smap smap_make(int C, int Cc)
{
    smap s = {.C = C, .Cc = Cc, .mode = SM_CUT, .lng = 1, .lnb = 1};
    if (Cc > C && Cc % C == 0) {
        s.mode = SM_REPL;
        s.lng = s.lnb = (float)C / (float)Cc;
    } else if (Cc > C) {
        s.mode = SM_PAD;
        s.lng = (float)sqrt((double)C / Cc);
    }
    return s;
}

static int smap_src(const smap *s, int j)
{
    return s->mode == SM_REPL ? j % s->C : j < s->C ? j : -1;
}

/* dst (Cc) = scale * src (C) through the stream map (a reader's row). */
static void read_row(float *dst, const float *src, const smap *s, float scale)
{
    for (int j = 0; j < s->Cc; j++) {
        int u = smap_src(s, j);
        dst[j] = u < 0 ? 0 : scale * src[u];
    }
}

static void ln_copy(float *cw, float *cb, const float *pw, const float *pb, const smap *s)
{
    for (int j = 0; j < s->Cc; j++) {
        int u = smap_src(s, j);
        cw[j] = u < 0 ? 0 : s->lng * pw[u];
        cb[j] = u < 0 ? 0 : s->lnb * pb[u];
    }
}

/* ---- the best rank-k form of one attention head's scores ----
 * A head's pre-softmax score between query input x and key input y (both
 * the LayerNorm output, augmented with a 1 for the biases) is
 * x~' Q~' K~ y~ / sqrt(hs) with Q~, K~ its (hs, C+1) query and key rows.
 * svd_head factors M = Q~' K~ = sum_d s_d a_d b_d' (s descending) through
 * thin QRs of Q~' and K~' and a Jacobi SVD of the (hs, hs) middle. */
typedef struct hsvd {
    int n, k;             /* n = C + 1, k = hs */
    double *a, *b;        /* (k, n) each: a_d, b_d as rows */
    double *s;            /* (k) */
} hsvd;

static void hsvd_free(hsvd *h)
{
    free(h->a);
    free(h->b);
    free(h->s);
}

/* Modified Gram-Schmidt: x (k rows of length n) -> q (k, n) orthonormal
 * rows (0 for a dependent one) and r (k, k) upper: x_j = sum_i r[i][j] q_i. */
static void mgs(const double *x, int k, int n, double *q, double *r)
{
    memcpy(q, x, sizeof *q * (size_t)k * n);
    memset(r, 0, sizeof *r * (size_t)k * k);
    for (int j = 0; j < k; j++) {
        double *qj = q + (size_t)j * n;
        for (int i = 0; i < j; i++) {
            const double *qi = q + (size_t)i * n;
            double d = 0;
            for (int t = 0; t < n; t++)
                d += qi[t] * qj[t];
            r[(size_t)i * k + j] = d;
            for (int t = 0; t < n; t++)
                qj[t] -= d * qi[t];
        }
        double nn = 0;
        for (int t = 0; t < n; t++)
            nn += qj[t] * qj[t];
        nn = sqrt(nn);
        r[(size_t)j * k + j] = nn > 1e-30 ? nn : 0;
        for (int t = 0; t < n; t++)
            qj[t] = nn > 1e-30 ? qj[t] / nn : 0;
    }
}

/* One-sided Jacobi SVD of w (k, k, row-major): on return w's columns are
 * U Sigma and v (k, k) holds V (columns), so S = U Sigma V'. */
static void jacobi_svd(double *w, double *v, int k)
{
    for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++)
            v[(size_t)i * k + j] = i == j;
    for (int sweep = 0; sweep < 80; sweep++) {
        int rotated = 0;
        for (int i = 0; i < k; i++)
            for (int j = i + 1; j < k; j++) {
                double al = 0, be = 0, ga = 0;
                for (int t = 0; t < k; t++) {
                    double x = w[(size_t)t * k + i], y = w[(size_t)t * k + j];
                    al += x * x;
                    be += y * y;
                    ga += x * y;
                }
                if (fabs(ga) <= 1e-15 * sqrt(al * be) || ga == 0)
                    continue;
                rotated = 1;
                double ze = (be - al) / (2 * ga);
                double tn = (ze >= 0 ? 1 : -1) / (fabs(ze) + sqrt(1 + ze * ze));
                double cs = 1 / sqrt(1 + tn * tn), sn = cs * tn;
                for (int t = 0; t < k; t++) {
                    double *x = &w[(size_t)t * k + i], *y = &w[(size_t)t * k + j];
                    double a = *x, b = *y;
                    *x = cs * a - sn * b;
                    *y = sn * a + cs * b;
                    x = &v[(size_t)t * k + i];
                    y = &v[(size_t)t * k + j];
                    a = *x;
                    b = *y;
                    *x = cs * a - sn * b;
                    *y = sn * a + cs * b;
                }
            }
        if (!rotated)
            break;
    }
}

/* Factors head h of the parent layer in v (see hsvd). */
static int svd_head(const gview *v, const gpt_config *p, int h, hsvd *out)
{
    int C = p->d_model, hs = C / p->heads, n = C + 1, k = hs;
    const float *w = pptr(v, "qkvw", (size_t)3 * C * C), *bb = pptr(v, "qkvb", (size_t)3 * C);
    double *x = malloc(sizeof *x * (size_t)2 * k * n), *qa = malloc(sizeof *qa * (size_t)k * n);
    double *qb = malloc(sizeof *qb * (size_t)k * n), *ra = malloc(sizeof *ra * (size_t)k * k);
    double *rb = malloc(sizeof *rb * (size_t)k * k), *sm = malloc(sizeof *sm * (size_t)k * k);
    double *vv = malloc(sizeof *vv * (size_t)k * k);
    out->n = n;
    out->k = k;
    out->a = malloc(sizeof *out->a * (size_t)k * n);
    out->b = malloc(sizeof *out->b * (size_t)k * n);
    out->s = malloc(sizeof *out->s * (size_t)k);
    int *ord = malloc(sizeof *ord * (size_t)k);
    int rc = x && qa && qb && ra && rb && sm && vv && out->a && out->b && out->s && ord ? 0 : -1;
    if (!rc) {
        for (int d = 0; d < k; d++)
            for (int s = 0; s < 2; s++) { /* s = 0: query row, 1: key row */
                int row = s * C + h * hs + d;
                double *xr = x + ((size_t)s * k + d) * n;
                for (int t = 0; t < C; t++)
                    xr[t] = w[(size_t)row * C + t];
                xr[C] = bb[row];
            }
        mgs(x, k, n, qa, ra);
        mgs(x + (size_t)k * n, k, n, qb, rb);
        /* query rows = Ra' Qa, key rows = Rb' Qb (Qa, Qb orthonormal rows), so
         * M = Qa' (Ra Rb') Qb: sm = Ra Rb' */
        for (int i = 0; i < k; i++)
            for (int j = 0; j < k; j++) {
                double d = 0;
                for (int t = 0; t < k; t++)
                    d += ra[(size_t)i * k + t] * rb[(size_t)j * k + t];
                sm[(size_t)i * k + j] = d;
            }
        jacobi_svd(sm, vv, k);
        for (int d = 0; d < k; d++) {
            double nn = 0;
            for (int t = 0; t < k; t++)
                nn += sm[(size_t)t * k + d] * sm[(size_t)t * k + d];
            out->s[d] = sqrt(nn);
            ord[d] = d;
        }
        for (int i = 1; i < k; i++) /* descending singular values */
            for (int j = i; j > 0 && out->s[ord[j]] > out->s[ord[j - 1]]; j--) {
                int t = ord[j];
                ord[j] = ord[j - 1];
                ord[j - 1] = t;
            }
        for (int d = 0; d < k; d++) {
            int e = ord[d];
            double sg = out->s[e];
            for (int t = 0; t < n; t++) {
                double ua = 0, vb = 0;
                for (int i = 0; i < k; i++) {
                    ua += (sg > 0 ? sm[(size_t)i * k + e] / sg : 0) * qa[(size_t)i * n + t];
                    vb += vv[(size_t)i * k + e] * qb[(size_t)i * n + t];
                }
                out->a[(size_t)d * n + t] = ua;
                out->b[(size_t)d * n + t] = vb;
            }
        }
        for (int d = 0; d < k; d++)
            ra[d] = out->s[ord[d]];
        for (int d = 0; d < k; d++)
            out->s[d] = ra[d];
    }
    free(x);
    free(qa);
    free(qb);
    free(ra);
    free(rb);
    free(sm);
    free(vv);
    free(ord);
    if (rc)
        hsvd_free(out);
    return rc;
}

/* What a block's morph achieved. */
typedef struct gstat {
    int heads_exact;      /* the attention is carried exactly */
    double score_err;     /* max over heads of s_{k+1} / sqrt(hs) (0: none dropped) */
} gstat;

/* The attention of child block l from parent block l.  With Hc = m H
 * heads, child head c takes parent head c / m: its query and key rows
 * are the parent head's (q scaled by sqrt(hsc / hs) so the score keeps
 * the parent's 1 / sqrt(hs)) when hsc >= hs, else the best rank-hsc
 * factors of the head's score form (svd_head), and its value rows (with
 * their attprojw columns) are part c % m of the parent head's.  Any other
 * head count: the channels are copied as they are (best effort). */
static int gpt_attention(const gview *v, const gpt_config *p, const gpt_config *c, const smap *sm, gstat *gs)
{
    int C = p->d_model, Cc = c->d_model, H = p->heads, Hc = c->heads, hs = C / H, hsc = Cc / Hc;
    const float *pw = pptr(v, "qkvw", (size_t)3 * C * C), *pb = pptr(v, "qkvb", (size_t)3 * C);
    const float *papw = pptr(v, "attprojw", (size_t)C * C), *papb = pptr(v, "attprojb", C);
    float *cw = cptr(v, "qkvw", (size_t)3 * Cc * Cc), *cb = cptr(v, "qkvb", (size_t)3 * Cc);
    float *apw = cptr(v, "attprojw", (size_t)Cc * Cc), *apb = cptr(v, "attprojb", Cc);
    memset(cw, 0, sizeof *cw * (size_t)3 * Cc * Cc);
    memset(cb, 0, sizeof *cb * (size_t)3 * Cc);
    memset(apw, 0, sizeof *apw * (size_t)Cc * Cc);
    for (int i = 0; i < Cc; i++) { /* attprojb writes into the stream */
        int u = smap_src(sm, i);
        apb[i] = u < 0 ? 0 : papb[u];
    }
    float qs = (float)sqrt((double)hsc / hs);
    int m = Hc % H == 0 ? Hc / H : 0;
    /* value channel of child channel ch (in [0, Cc)): the parent channel, or -1 */
    if (!m) {
        gs->heads_exact = 0;
        for (int i = 0; i < imin(C, Cc); i++)
            for (int s = 0; s < 3; s++) {
                read_row(cw + ((size_t)s * Cc + i) * Cc, pw + ((size_t)s * C + i) * C, sm, s == 0 ? qs : 1);
                cb[s * Cc + i] = (s == 0 ? qs : 1) * pb[s * C + i];
            }
        for (int o = 0; o < Cc; o++) {
            int u = smap_src(sm, o);
            for (int i = 0; u >= 0 && i < imin(C, Cc); i++)
                apw[(size_t)o * Cc + i] = papw[(size_t)u * C + i];
        }
        return 0;
    }
    int w = hs / m; /* value channels per part */
    if (hs % m || w > hsc)
        gs->heads_exact = 0;
    for (int ch = 0; ch < Hc; ch++) {
        int ph = ch / m, part = ch % m;
        for (int d = 0; d < imin(w, hsc); d++) { /* value rows and their attprojw columns */
            int prow = ph * hs + part * w + d, crow = ch * hsc + d;
            read_row(cw + ((size_t)2 * Cc + crow) * Cc, pw + ((size_t)2 * C + prow) * C, sm, 1);
            cb[2 * Cc + crow] = pb[2 * C + prow];
            for (int o = 0; o < Cc; o++) {
                int u = smap_src(sm, o);
                apw[(size_t)o * Cc + crow] = u < 0 ? 0 : papw[(size_t)u * C + prow];
            }
        }
        if (hsc >= hs) { /* the head's query and key rows as they are */
            for (int d = 0; d < hs; d++)
                for (int s = 0; s < 2; s++) {
                    read_row(cw + ((size_t)s * Cc + ch * hsc + d) * Cc, pw + ((size_t)s * C + ph * hs + d) * C, sm,
                             s == 0 ? qs : 1);
                    cb[s * Cc + ch * hsc + d] = (s == 0 ? qs : 1) * pb[s * C + ph * hs + d];
                }
            continue;
        }
        hsvd f;
        float *qa = malloc(sizeof *qa * (size_t)2 * C), *kb = qa + C;
        if (!qa || svd_head(v, p, ph, &f)) {
            free(qa);
            return -1;
        }
        double tail = f.s[hsc], top = f.s[0];
        gs->score_err = fmax(gs->score_err, tail / sqrt((double)hs));
        if (tail > 1e-6 * top)
            gs->heads_exact = 0;
        for (int d = 0; d < hsc; d++) {
            double r = sqrt(f.s[d]);
            float *qrow = cw + ((size_t)ch * hsc + d) * Cc, *krow = cw + ((size_t)Cc + ch * hsc + d) * Cc;
            for (int t = 0; t < C; t++) {
                qa[t] = (float)(qs * r * f.a[(size_t)d * f.n + t]);
                kb[t] = (float)(r * f.b[(size_t)d * f.n + t]);
            }
            read_row(qrow, qa, sm, 1);
            read_row(krow, kb, sm, 1);
            cb[ch * hsc + d] = (float)(qs * r * f.a[(size_t)d * f.n + C]);
            cb[Cc + ch * hsc + d] = (float)(r * f.b[(size_t)d * f.n + C]);
        }
        hsvd_free(&f);
        free(qa);
    }
    return 0;
}

/* Block l of the child from block l of the parent. */
static int gpt_block(const gview *v, const gpt_config *p, const gpt_config *c, const smap *sm, rng *r, gstat *gs)
{
    int C = p->d_model, Cc = c->d_model, F = p->mlp_ratio * C, Fc = c->mlp_ratio * Cc;
    ln_copy(cptr(v, "ln1w", Cc), cptr(v, "ln1b", Cc), pptr(v, "ln1w", C), pptr(v, "ln1b", C), sm);
    ln_copy(cptr(v, "ln2w", Cc), cptr(v, "ln2b", Cc), pptr(v, "ln2w", C), pptr(v, "ln2b", C), sm);
    if (gpt_attention(v, p, c, sm, gs))
        return -1;
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
        read_row(fcw + (size_t)j * Cc, pfcw + (size_t)g[j] * C, sm, 1);
        fcb[j] = pfcb[g[j]];
    }
    for (int o = 0; o < Cc; o++) {
        int u = smap_src(sm, o);
        for (int j = 0; j < Fc; j++)
            fpw[(size_t)o * Fc + j] = u < 0 ? 0 : pfpw[(size_t)u * F + g[j]] / (float)cnt[g[j]];
        fpb[o] = u < 0 ? 0 : pfpb[u];
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

static void gpt_notes(const gpt_config *p, const gpt_config *c, const smap *sm, const gstat *gs, morph_info *info)
{
    if (c->d_model != p->d_model)
        note(info,
             sm->mode == SM_REPL ? "d_model %d->%d (stream repeated)"
             : sm->mode == SM_PAD ? "d_model %d->%d (zero-padded: approximate unless the stream has zero mean)"
                                  : "d_model %d->%d (first channels kept, approximate)",
             p->d_model, c->d_model, sm->mode == SM_REPL);
    if (c->heads != p->heads)
        note(info,
             gs->heads_exact ? "heads %d->%d (heads split)"
             : c->heads % p->heads ? "heads %d->%d (channels copied, approximate)"
                                   : "heads %d->%d (heads split, rank-reduced scores: approximate)",
             p->heads, c->heads, gs->heads_exact);
    else if (c->d_model != p->d_model && !gs->heads_exact)
        note(info, "head size %d->%d (rank-reduced scores: approximate)", p->d_model / p->heads,
             c->d_model / c->heads, 0);
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
    info_clear(info);
    if (!p || !c)
        return tl_fail(err, TL_EINPUT, "morph: both models must be GPTs");
    if (p->vocab != c->vocab)
        return tl_fail(err, TL_EINPUT, "morph: vocabularies differ (%d and %d)", p->vocab, c->vocab);
    int C = p->d_model, Cc = c->d_model;
    smap sm = smap_make(C, Cc);
    gview v = {.pm = parent, .cm = child};
    float *wte = cptr(&v, "wte", 0), *wpe = cptr(&v, "wpe", 0);
    const float *pwte = pptr(&v, "wte", 0), *pwpe = pptr(&v, "wpe", 0);
    for (int t = 0; t < c->vocab; t++) /* the embeddings write into the stream */
        for (int j = 0; j < Cc; j++) {
            int u = smap_src(&sm, j);
            wte[(size_t)t * Cc + j] = u < 0 ? 0 : pwte[(size_t)t * C + u];
        }
    for (int t = 0; t < imin(p->ctx, c->ctx); t++)
        for (int j = 0; j < Cc; j++) {
            int u = smap_src(&sm, j);
            wpe[(size_t)t * Cc + j] = u < 0 ? 0 : pwpe[(size_t)t * C + u];
        }
    /* lnf feeds the tied wte: with a repeated stream each logit sums m
     * copies, which lnf's C/Cc factor (lng, lnb) undoes */
    ln_copy(cptr(&v, "lnfw", 0), cptr(&v, "lnfb", 0), pptr(&v, "lnfw", 0), pptr(&v, "lnfb", 0), &sm);
    gstat gs = {.heads_exact = 1, .score_err = 0};
    for (int l = 0; l < c->layers; l++) {
        v.cl = v.pl = l;
        if (l >= p->layers)
            gpt_identity_block(&v, c);
        else if (gpt_block(&v, p, c, &sm, r, &gs))
            return tl_fail(err, TL_ERUNTIME, "morph: out of memory");
    }
    info->score_err = gs.score_err;
    gpt_notes(p, c, &sm, &gs, info);
    return 0;
}

int morph_apply_moments(const nn_model *parent, nn_model *child, const morph_moments *mo, rng *r,
                        morph_info *info, tl_err *err)
{
    if (mlp_config_of(parent) && mlp_config_of(child))
        return mlp_morph(parent, child, mo, r, info, err);
    if (gpt_config_of(parent) && gpt_config_of(child))
        return morph_gpt(parent, child, r, info, err);
    return tl_fail(err, TL_EINPUT, "morph: parent and child must both be MLPs or both GPTs");
}

int morph_apply(const nn_model *parent, nn_model *child, rng *r, morph_info *info, tl_err *err)
{
    return morph_apply_moments(parent, child, NULL, r, info, err);
}
