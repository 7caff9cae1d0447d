/* tests/test_morph.c: the morphisms of nn/morph.h.  For each exact one the
 * child's logits before any training equal the parent's to 1e-5 on a
 * random batch (parents perturbed away from their init so biases and
 * LayerNorms are not trivial); for each best-effort one the test asserts
 * that it is reported as approximate, that the kept weights are the
 * parent's, and (GPT heads) measures the output difference it claims.
 * MLP optimizer moments (morph_apply_moments): kept and copied weights
 * keep their AdamW moments scaled as their gradients are, new weights
 * start at 0, and the child's next step on a copied unit is the parent's
 * (where a reset optimizer's is not); a GPT's moments are left alone. */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/gpt.h"
#include "nn/mlp.h"
#include "nn/morph.h"
#include "nn/optim.h"
#include "util/rng.h"

#define NB 4

/* Adds N(0, s) to every parameter of m. */
static void perturb(nn_model *m, float s, uint64_t seed)
{
    rng r;
    rng_seed(&r, seed, 7);
    for (size_t i = 0; i < m->nparams; i++)
        m->params[i] += s * (float)rng_normal(&r);
}

static double max_diff(const float *a, const float *b, size_t n)
{
    double d = 0;
    for (size_t i = 0; i < n; i++)
        d = fmax(d, fabs((double)a[i] - b[i]));
    return d;
}

/* ---- MLP ---- */

static nn_model *mlp_make(int nh, const int *h, int act, uint64_t seed)
{
    mlp_config c = {.in_dim = 12, .nhidden = nh, .out_dim = 5, .act = act};
    for (int i = 0; i < nh; i++)
        c.hidden[i] = h[i];
    rng r;
    rng_seed(&r, seed, 0);
    nn_model *m = NULL;
    tl_err err;
    cr_assert_eq(mlp_create(&c, NB, &r, &m, &err), 0, "%s", err.msg);
    return m;
}

/* Morphs parent into child and returns the largest logit difference on a
 * random batch (inputs uniform in [-1, 1]). */
static double mlp_morph_diff(nn_model *p, nn_model *c, morph_info *info)
{
    rng r;
    tl_err err;
    rng_seed(&r, 3, 0);
    cr_assert_eq(morph_mlp(p, c, &r, info, &err), 0, "%s", err.msg);
    float x[NB * 12], lp[NB * 5];
    int y[NB] = {0, 1, 2, 3};
    for (int i = 0; i < NB * 12; i++)
        x[i] = (float)(2 * rng_uniform(&r) - 1);
    nn_batch b = {.B = NB, .T = 1, .x = x, .targets = y};
    p->vt->forward(p, &b, 0, &r, NULL);
    memcpy(lp, mlp_logits(p), sizeof lp);
    c->vt->forward(c, &b, 0, &r, NULL);
    double d = max_diff(lp, mlp_logits(c), NB * 5);
    cr_log_info("mlp morph '%s': max |logit diff| %.3g", info->desc, d);
    return d;
}

/* A perturbed ReLU parent (seed 1) morphed into a fresh child (seed 2)
 * must compute the parent's function and say so. */
static void mlp_expect_exact(int pn, const int *ph, int cn, const int *ch)
{
    nn_model *p = mlp_make(pn, ph, NN_RELU, 1), *c = mlp_make(cn, ch, NN_RELU, 2);
    perturb(p, 0.3f, 1);
    morph_info info;
    cr_assert_lt(mlp_morph_diff(p, c, &info), 1e-5);
    cr_assert_eq(info.exact, 1, "%s", info.desc);
    nn_model_free(p);
    nn_model_free(c);
}

Test(morph, mlp_wider_layer_preserves_outputs)
{
    mlp_expect_exact(2, (int[]){8, 6}, 2, (int[]){13, 6});
}

Test(morph, mlp_deeper_relu_identity_layer_preserves_outputs)
{
    /* the new layer reads a ReLU output (>= 0): ReLU(I x) = x */
    mlp_expect_exact(1, (int[]){8}, 3, (int[]){8, 8, 11});
}

Test(morph, mlp_deeper_gelu_is_reported_approximate)
{
    nn_model *p = mlp_make(1, (int[]){8}, NN_GELU, 1), *c = mlp_make(2, (int[]){8, 8}, NN_GELU, 2);
    morph_info info;
    double d = mlp_morph_diff(p, c, &info);
    cr_assert_eq(info.exact, 0);
    cr_assert(isfinite(d));
    nn_model_free(p);
    nn_model_free(c);
}

Test(morph, mlp_narrower_keeps_the_strongest_units)
{
    nn_model *p = mlp_make(1, (int[]){8}, NN_RELU, 1), *c = mlp_make(1, (int[]){5}, NN_RELU, 2);
    perturb(p, 0.3f, 1);
    float *w0 = p->params + p->tensors[0].offset, *w1 = p->params + p->tensors[2].offset;
    for (int u = 0; u < 3; u++) /* units 0, 1, 2 made the weakest: their outgoing weights tiny */
        for (int o = 0; o < 5; o++)
            w1[o * 8 + u] *= 1e-3f;
    morph_info info;
    double d = mlp_morph_diff(p, c, &info);
    cr_assert_eq(info.exact, 0, "%s", info.desc);
    cr_assert(isfinite(d));
    /* fc0: the parent's units 3..7, in order, with all 12 inputs */
    cr_assert_eq(memcmp(c->params + c->tensors[0].offset, w0 + 3 * 12, sizeof(float) * 5 * 12), 0);
    nn_model_free(p);
    nn_model_free(c);
}

Test(morph, mlp_shallower_folds_the_dropped_layer_exactly_where_its_relu_is_inactive)
{
    /* 2 hidden layers -> 1: the output layer becomes W_out W_1, exact when
     * every pre-activation of the dropped layer is positive (large bias) */
    nn_model *p = mlp_make(2, (int[]){8, 6}, NN_RELU, 1), *c = mlp_make(1, (int[]){8}, NN_RELU, 2);
    perturb(p, 0.3f, 1);
    float *b1 = p->params + p->tensors[3].offset;
    for (int u = 0; u < 6; u++)
        b1[u] = 50;
    morph_info info;
    double d = mlp_morph_diff(p, c, &info);
    cr_assert_eq(info.exact, 0, "reported approximate in general: %s", info.desc);
    cr_assert_lt(d, 1e-3, "ReLU inactive: the fold is the parent's function (outputs of order 1e2)");
    nn_model_free(p);
    nn_model_free(c);
}

/* ---- MLP optimizer moments ---- */

static const optim_hparams ADAM = {.lr = 1e-2, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8};

/* One AdamW step of m with o on the random batch of seed. */
static void mlp_adam_step(nn_model *m, optim *o, uint64_t seed)
{
    rng r;
    rng_seed(&r, seed, 5);
    float x[NB * 12];
    int y[NB];
    for (int i = 0; i < NB * 12; i++)
        x[i] = (float)(2 * rng_uniform(&r) - 1);
    for (int i = 0; i < NB; i++)
        y[i] = (int)rng_below(&r, 5);
    nn_batch b = {.B = NB, .T = 1, .x = x, .targets = y};
    nn_zero_grad(m);
    m->vt->forward(m, &b, 1, &r, NULL);
    m->vt->backward(m, &b, 1.0f);
    optim_step(o, m->params, m->grads, &ADAM);
}

/* Trains the perturbed parent p 3 AdamW steps (po), then morphs it with
 * its moments into c, whose optimizer co continues po's step count. */
static void mlp_morph_moments(nn_model *p, optim *po, nn_model *c, optim *co, morph_info *info)
{
    tl_err err;
    perturb(p, 0.3f, 1);
    cr_assert_eq(optim_init(po, OPTIM_ADAMW, p, &err), 0, "%s", err.msg);
    cr_assert_eq(optim_init(co, OPTIM_ADAMW, c, &err), 0, "%s", err.msg);
    for (int k = 0; k < 3; k++)
        mlp_adam_step(p, po, 10 + (uint64_t)k);
    morph_moments mo = {po->m, po->v, co->m, co->v};
    rng r;
    rng_seed(&r, 3, 0);
    cr_assert_eq(morph_apply_moments(p, c, &mo, &r, info, &err), 0, "%s", err.msg);
    cr_assert_eq(info->moments, 1);
    co->t = po->t;
}

/* Tensor k's slice of a model-aligned buffer (params, moments). */
static float *tbuf(const nn_model *m, float *buf, int k)
{
    return buf + m->tensors[k].offset;
}

/* The parent unit (row of p's tensor k, with its bias k + 1) whose
 * incoming weights child row j of c has; -1 if none. */
static int source_unit(const nn_model *p, const nn_model *c, int k, int j)
{
    int in = p->tensors[k].shape[1];
    for (int u = 0; u < p->tensors[k].shape[0]; u++)
        if (!memcmp(tbuf(c, c->params, k) + (size_t)j * in, tbuf(p, p->params, k) + (size_t)u * in,
                    sizeof(float) * (size_t)in) &&
            tbuf(c, c->params, k + 1)[j] == tbuf(p, p->params, k + 1)[u])
            return u;
    return -1;
}

static void expect_rel(float got, double want, double tol, const char *what, int j)
{
    cr_assert_leq(fabs(got - want), tol * fabs(want) + 1e-12, "%s %d: %g, want %g", what, j, got, want);
}

Test(morph, mlp_wider_moments_follow_the_gradients_and_the_next_step_continues_the_parents)
{
    nn_model *p = mlp_make(1, (int[]){8}, NN_RELU, 1), *c = mlp_make(1, (int[]){13}, NN_RELU, 2);
    optim po, co;
    morph_info info;
    mlp_morph_moments(p, &po, c, &co, &info);
    int src[13], cnt[8] = {0};
    for (int j = 0; j < 13; j++) {
        src[j] = source_unit(p, c, 0, j);
        cr_assert_geq(src[j], 0, "child unit %d copies no parent unit", j);
        cnt[src[j]]++;
    }
    for (int j = 0; j < 13; j++) {
        int u = src[j];
        double k = cnt[u];
        for (int i = 0; i < 12; i++) { /* incoming: gradient / k */
            expect_rel(tbuf(c, co.m, 0)[j * 12 + i], tbuf(p, po.m, 0)[u * 12 + i] / k, 1e-6, "fc0 m of unit", j);
            expect_rel(tbuf(c, co.v, 0)[j * 12 + i], tbuf(p, po.v, 0)[u * 12 + i] / (k * k), 1e-5, "fc0 v of unit",
                       j);
        }
        expect_rel(tbuf(c, co.m, 1)[j], tbuf(p, po.m, 1)[u] / k, 1e-6, "fc0 bias m of unit", j);
        for (int o = 0; o < 5; o++) { /* outgoing: the parent's gradient */
            expect_rel(tbuf(c, co.m, 2)[o * 13 + j], tbuf(p, po.m, 2)[o * 8 + u], 1e-6, "fc1 m of column", j);
            expect_rel(tbuf(c, co.v, 2)[o * 13 + j], tbuf(p, po.v, 2)[o * 8 + u], 1e-5, "fc1 v of column", j);
        }
    }
    cr_assert_eq(memcmp(tbuf(c, co.m, 3), tbuf(p, po.m, 3), sizeof(float) * 5), 0);
    cr_assert_eq(co.t, 3);
    /* the next step on the same batch moves every copy's incoming weights
     * as the parent's unit moves; a reset optimizer (moments 0, t 0) would
     * take a sign-like first step instead */
    nn_model *fresh = mlp_make(1, (int[]){13}, NN_RELU, 2);
    memcpy(fresh->params, c->params, sizeof(float) * c->nparams);
    optim ro;
    tl_err err;
    cr_assert_eq(optim_init(&ro, OPTIM_ADAMW, fresh, &err), 0, "%s", err.msg);
    mlp_adam_step(p, &po, 20);
    mlp_adam_step(c, &co, 20);
    mlp_adam_step(fresh, &ro, 20);
    double cont = 0, reset = 0;
    for (int j = 0; j < 13; j++)
        for (int i = 0; i < 12; i++) {
            float want = tbuf(p, p->params, 0)[src[j] * 12 + i];
            cont = fmax(cont, fabs(tbuf(c, c->params, 0)[j * 12 + i] - want));
            reset = fmax(reset, fabs(tbuf(fresh, fresh->params, 0)[j * 12 + i] - want));
        }
    cr_log_info("wider fc0 8->13, next step: copies off the parent's unit by %.3g (continued), %.3g (reset)", cont,
                reset);
    cr_assert_lt(cont, 1e-6);
    cr_assert_gt(reset, 1e-3);
    optim_free(&po);
    optim_free(&co);
    optim_free(&ro);
    nn_model_free(fresh);
    nn_model_free(p);
    nn_model_free(c);
}

Test(morph, mlp_moments_of_kept_weights_are_copied_and_new_weights_start_at_zero)
{
    /* 2 hidden layers (8, 6) -> 3 (5, 6, 6): fc0 narrowed to 5 kept units,
     * an identity layer before the output layer */
    nn_model *p = mlp_make(2, (int[]){8, 6}, NN_RELU, 1), *c = mlp_make(3, (int[]){5, 6, 6}, NN_RELU, 2);
    optim po, co;
    morph_info info;
    mlp_morph_moments(p, &po, c, &co, &info);
    for (int j = 0; j < 5; j++) {
        int u = source_unit(p, c, 0, j);
        cr_assert_geq(u, 0);
        cr_assert_eq(memcmp(tbuf(c, co.m, 0) + j * 12, tbuf(p, po.m, 0) + u * 12, sizeof(float) * 12), 0);
        for (int o = 0; o < 6; o++)
            cr_assert_eq(tbuf(c, co.m, 2)[o * 5 + j], tbuf(p, po.m, 2)[o * 8 + u]);
    }
    for (int k = 4; k < 6; k++) /* the identity layer */
        for (size_t i = 0; i < c->tensors[k].size; i++)
            cr_assert(tbuf(c, co.m, k)[i] == 0 && tbuf(c, co.v, k)[i] == 0);
    cr_assert_eq(memcmp(tbuf(c, co.m, 6), tbuf(p, po.m, 4), sizeof(float) * 30), 0, "output layer's moments");
    for (size_t i = 0; i < 30; i++)
        expect_rel(tbuf(c, co.v, 6)[i], tbuf(p, po.v, 4)[i], 1e-5, "output v", (int)i);
    optim_free(&po);
    optim_free(&co);
    nn_model_free(c);

    /* 2 hidden layers -> 1: the folded output layer's moments start at 0,
     * fc0's are the parent's */
    nn_model *c1 = mlp_make(1, (int[]){8}, NN_RELU, 2);
    nn_model_free(p);
    p = mlp_make(2, (int[]){8, 6}, NN_RELU, 1);
    mlp_morph_moments(p, &po, c1, &co, &info);
    cr_assert_eq(memcmp(tbuf(c1, co.m, 0), tbuf(p, po.m, 0), sizeof(float) * 96), 0);
    for (size_t i = 0; i < 40; i++)
        cr_assert(tbuf(c1, co.m, 2)[i] == 0 && tbuf(c1, co.v, 2)[i] == 0);
    optim_free(&po);
    optim_free(&co);
    nn_model_free(p);
    nn_model_free(c1);
}

/* ---- GPT ---- */

static nn_model *gpt_make(int C, int L, int NH, int ratio, uint64_t seed)
{
    gpt_config c = {.vocab = 11, .ctx = 8, .d_model = C, .layers = L, .heads = NH, .mlp_ratio = ratio};
    rng r;
    rng_seed(&r, seed, 0);
    nn_model *m = NULL;
    tl_err err;
    cr_assert_eq(gpt_create(&c, NB, &r, &m, &err), 0, "%s", err.msg);
    return m;
}

/* Morphs p into c; returns the largest logit difference on random tokens
 * of length T and the two losses. */
static double gpt_morph_diff(nn_model *p, nn_model *c, int T, morph_info *info, float *lossp, float *lossc)
{
    rng r;
    tl_err err;
    rng_seed(&r, 3, 0);
    cr_assert_eq(morph_gpt(p, c, &r, info, &err), 0, "%s", err.msg);
    int tok[NB * 8], tgt[NB * 8];
    for (int i = 0; i < NB * T; i++) {
        tok[i] = (int)rng_below(&r, 11);
        tgt[i] = (int)rng_below(&r, 11);
    }
    nn_batch b = {.B = NB, .T = T, .tokens = tok, .targets = tgt};
    size_t n = (size_t)NB * T * 11;
    float *lp = malloc(sizeof *lp * n);
    *lossp = p->vt->forward(p, &b, 0, &r, NULL);
    memcpy(lp, gpt_logits(p), sizeof *lp * n);
    *lossc = c->vt->forward(c, &b, 0, &r, NULL);
    double d = max_diff(lp, gpt_logits(c), n);
    free(lp);
    cr_log_info("gpt morph '%s' T=%d: max |logit diff| %.3g, loss %.5f -> %.5f", info->desc, T, d, *lossp, *lossc);
    return d;
}

typedef struct gshape {
    int C, L, NH, ratio;
} gshape;

/* A parent of shape ps (seed 1, perturbed by N(0, sd)) and a fresh child
 * of shape cs (seed 2), and what morphing one into the other gave. */
typedef struct gpair {
    nn_model *p, *c;
    morph_info info;
    float lossp, lossc;
} gpair;

static gpair gpair_make(gshape ps, gshape cs, float sd)
{
    gpair g = {.p = gpt_make(ps.C, ps.L, ps.NH, ps.ratio, 1), .c = gpt_make(cs.C, cs.L, cs.NH, cs.ratio, 2)};
    perturb(g.p, sd, 1);
    return g;
}

/* gpt_morph_diff of the pair at length T. */
static double gpair_morph(gpair *g, int T)
{
    return gpt_morph_diff(g->p, g->c, T, &g->info, &g->lossp, &g->lossc);
}

static void gpair_free(gpair *g)
{
    nn_model_free(g->p);
    nn_model_free(g->c);
}

/* The pair's child computes the parent's function and says so; frees g. */
static void gpt_expect_exact(gpair g)
{
    cr_assert_lt(gpair_morph(&g, 8), 1e-5);
    cr_assert_eq(g.info.exact, 1, "%s", g.info.desc);
    gpair_free(&g);
}

Test(morph, gpt_wider_mlp_preserves_outputs)
{
    gpt_expect_exact(gpair_make((gshape){16, 2, 2, 2}, (gshape){16, 2, 2, 4}, 0.1f));
}

Test(morph, gpt_deeper_zero_projection_blocks_preserve_outputs)
{
    gpair g = gpair_make((gshape){16, 1, 2, 4}, (gshape){16, 3, 2, 4}, 0.1f);
    /* the new blocks are not frozen at zero: their q/k/v and fc weights are the child's init */
    const nn_tensor *fcw = &g.c->tensors[10];
    cr_assert_neq(g.c->params[fcw->offset + fcw->size - 1], 0.0f);
    gpt_expect_exact(g);
}

Test(morph, gpt_more_heads_exact_at_one_position_approximate_beyond)
{
    gpair g = gpair_make((gshape){16, 2, 2, 4}, (gshape){16, 2, 4, 4}, 0.1f);
    /* T = 1: a single key, softmax = 1, attention output = v: exact */
    cr_assert_lt(gpair_morph(&g, 1), 1e-5);
    cr_assert_eq(g.info.exact, 0, "heads are reported approximate: %s", g.info.desc);
    /* T = 8: documented approximation; the measured loss change is small
     * against the distance of a fresh model (printed in the log) */
    nn_model *fresh = gpt_make(16, 2, 4, 4, 2);
    double d = gpair_morph(&g, 8);
    float lf, lf2;
    morph_info dummy;
    double df = gpt_morph_diff(g.p, fresh, 8, &dummy, &lf, &lf2); /* fresh morphed too: same result as c */
    cr_assert(isfinite(d));
    cr_assert_lt(fabs(g.lossc - g.lossp), 0.05 * g.lossp, "heads 2->4: loss %g -> %g", g.lossp, g.lossc);
    cr_assert_lt(fabs(d - df), 1e-6); /* deterministic given the same parent and draws */
    nn_model_free(fresh);
    gpair_free(&g);
}

/* The tensor of m named name (the GPT's own table). */
static float *gten(nn_model *m, const char *name)
{
    for (int i = 0; i < m->ntensors; i++)
        if (!strcmp(m->tensors[i].name, name))
            return m->params + m->tensors[i].offset;
    cr_assert_fail("no tensor %s", name);
    return NULL;
}

Test(morph, gpt_more_heads_split_exactly_when_each_heads_score_form_has_low_rank)
{
    /* heads 2 -> 4 at d_model 16 (hs 8 -> 4): exact when every parent
     * head's query/key form has rank <= 4; here the last 4 query rows of
     * each head (weights and bias) are 0 */
    gpair g = gpair_make((gshape){16, 2, 2, 4}, (gshape){16, 2, 4, 4}, 0.1f);
    for (int l = 0; l < 2; l++)
        for (int h = 0; h < 2; h++)
            for (int d = 4; d < 8; d++) {
                memset(gten(g.p, "qkvw") + ((size_t)l * 48 + h * 8 + d) * 16, 0, sizeof(float) * 16);
                gten(g.p, "qkvb")[l * 48 + h * 8 + d] = 0;
            }
    cr_assert_lt(gpair_morph(&g, 8), 1e-5);
    cr_assert_eq(g.info.exact, 1, "%s", g.info.desc);
    cr_assert_lt(g.info.score_err, 1e-5);
    gpair_free(&g);
}

/* The pre-softmax scores of layer 0 of m for tokens tok (T of them, one
 * sequence): sc[h][i][j] = q_i . k_j / sqrt(hs); xn[i] = |[ln1(x_i), 1]|. */
static void layer0_scores(nn_model *m, const int *tok, int T, double *sc, double *xn)
{
    const gpt_config *g = gpt_config_of(m);
    int C = g->d_model, H = g->heads, hs = C / H;
    const float *wte = gten(m, "wte"), *wpe = gten(m, "wpe"), *lw = gten(m, "ln1w"), *lb = gten(m, "ln1b");
    const float *w = gten(m, "qkvw"), *bb = gten(m, "qkvb");
    double *x = malloc(sizeof *x * (size_t)T * C), *qkv = malloc(sizeof *qkv * (size_t)T * 3 * C);
    for (int i = 0; i < T; i++) {
        double mu = 0, var = 0;
        for (int k = 0; k < C; k++)
            mu += wte[tok[i] * C + k] + wpe[i * C + k];
        mu /= C;
        for (int k = 0; k < C; k++) {
            double d = wte[tok[i] * C + k] + wpe[i * C + k] - mu;
            var += d * d;
        }
        var /= C;
        double nn = 1;
        for (int k = 0; k < C; k++) {
            x[i * C + k] = (wte[tok[i] * C + k] + wpe[i * C + k] - mu) / sqrt(var + 1e-5) * lw[k] + lb[k];
            nn += x[i * C + k] * x[i * C + k];
        }
        xn[i] = sqrt(nn);
        for (int r = 0; r < 3 * C; r++) {
            double d = bb[r];
            for (int k = 0; k < C; k++)
                d += w[(size_t)r * C + k] * x[i * C + k];
            qkv[(size_t)i * 3 * C + r] = d;
        }
    }
    for (int h = 0; h < H; h++)
        for (int i = 0; i < T; i++)
            for (int j = 0; j < T; j++) {
                double d = 0;
                for (int k = 0; k < hs; k++)
                    d += qkv[(size_t)i * 3 * C + h * hs + k] * qkv[(size_t)j * 3 * C + C + h * hs + k];
                sc[((size_t)h * T + i) * T + j] = d / sqrt(hs);
            }
    free(x);
    free(qkv);
}

Test(morph, gpt_more_heads_scores_stay_within_the_reported_bound)
{
    /* a general parent (full-rank heads): each child head's scores are the
     * parent head's best rank-hs' form, off by at most
     * score_err * |x~_i| |x~_j| (morph.h); both halves of a split head
     * share the same scores */
    gpair g = gpair_make((gshape){16, 1, 2, 4}, (gshape){16, 1, 4, 4}, 0.2f);
    nn_model *p = g.p, *c = g.c;
    const morph_info *info = &g.info;
    double d = gpair_morph(&g, 8);
    cr_assert_eq(info->exact, 0, "%s", info->desc);
    cr_assert_gt(info->score_err, 0);
    cr_assert_gt(d, 1e-6, "a full-rank head cannot be split exactly");
    int tok[8] = {1, 5, 2, 9, 0, 3, 3, 10};
    double sp[2 * 64], scc[4 * 64], xn[8], xn2[8];
    layer0_scores(p, tok, 8, sp, xn);
    layer0_scores(c, tok, 8, scc, xn2);
    double worst = 0;
    for (int h = 0; h < 4; h++)
        for (int i = 0; i < 8; i++)
            for (int j = 0; j < 8; j++) {
                double e = fabs(scc[(h * 8 + i) * 8 + j] - sp[((h / 2) * 8 + i) * 8 + j]);
                double bound = info->score_err * xn[i] * xn[j];
                cr_assert_leq(e, bound * (1 + 1e-4) + 1e-5, "head %d (%d,%d): %g > bound %g", h, i, j, e, bound);
                cr_assert_lt(fabs(scc[(h * 8 + i) * 8 + j] - scc[((h ^ 1) * 8 + i) * 8 + j]), 1e-5);
                worst = fmax(worst, e / bound);
            }
    cr_log_info("heads 2->4: score error up to %.3g of the bound (score_err %.3g)", worst, info->score_err);
    gpair_free(&g);
}

Test(morph, gpt_d_model_doubled_repeats_the_stream_exactly)
{
    /* 16 -> 32 (heads 2: hs 8 -> 16) and 16 -> 32 with heads 2 -> 4 (hs 8) */
    for (int k = 0; k < 2; k++)
        gpt_expect_exact(gpair_make((gshape){16, 2, 2, 4}, (gshape){32, 2, k ? 4 : 2, 4}, 0.1f));
}

/* Subtracts the mean of the 16 values x[0], x[stride], ... from each. */
static void center16(float *x, size_t stride)
{
    double mu = 0;
    for (int i = 0; i < 16; i++)
        mu += x[i * stride];
    for (int i = 0; i < 16; i++)
        x[i * stride] -= (float)(mu / 16);
}

Test(morph, gpt_d_model_padded_is_exact_for_a_zero_mean_stream)
{
    /* 16 -> 24 is not a multiple: the stream is padded with zeros and the
     * LayerNorm gains scaled by sqrt(16/24), exact (up to the LayerNorm's
     * eps) when every write into the stream has zero mean over channels */
    gpair g = gpair_make((gshape){16, 2, 2, 4}, (gshape){24, 2, 2, 4}, 0.1f);
    nn_model *p = g.p;
    double d0 = gpair_morph(&g, 8);
    cr_assert_eq(g.info.exact, 0, "%s", g.info.desc);
    struct { const char *name; int rows, cols, layers; } wr[] = {
        {"wte", 11, 16, 1}, {"wpe", 8, 16, 1}, {"attprojw", 16, 16, 2}, {"fcprojw", 16, 64, 2}};
    for (int t = 0; t < 4; t++) { /* the stream writers: centre each output over the 16 channels */
        float *w = gten(p, wr[t].name);
        int rows_are_stream = t >= 2; /* (C, in) projections: columns over the stream rows */
        for (int l = 0; l < wr[t].layers; l++, w += (size_t)wr[t].rows * wr[t].cols)
            if (rows_are_stream)
                for (int j = 0; j < wr[t].cols; j++)
                    center16(w + j, (size_t)wr[t].cols);
            else
                for (int i = 0; i < wr[t].rows; i++)
                    center16(w + i * 16, 1);
    }
    for (int t = 0; t < 2; t++)
        for (int l = 0; l < 2; l++)
            center16(gten(p, t ? "fcprojb" : "attprojb") + l * 16, 1);
    nn_model *c2 = gpt_make(24, 2, 2, 4, 2);
    float a, b;
    double d1 = gpt_morph_diff(p, c2, 8, &g.info, &a, &b);
    cr_log_info("d_model 16->24: max |logit diff| %.3g (general), %.3g (zero-mean stream)", d0, d1);
    cr_assert_lt(d1, 1e-3, "exact but for the LayerNorm's eps (1e-5 against variances of order 1e-2)");
    cr_assert_gt(d0, 100 * d1);
    gpair_free(&g);
    nn_model_free(c2);
}

Test(morph, gpt_d_model_and_inverse_mutations_copy_the_overlap)
{
    gpair g = gpair_make((gshape){16, 2, 2, 4}, (gshape){24, 1, 2, 2}, 0.1f);
    double d = gpair_morph(&g, 8);
    cr_assert_eq(g.info.exact, 0, "%s", g.info.desc);
    cr_assert(isfinite(d) && isfinite(g.lossc));
    /* wte: the parent's 16 columns, then zeros */
    const float *pw = g.p->params + g.p->tensors[0].offset, *cw = g.c->params + g.c->tensors[0].offset;
    for (int v = 0; v < 11; v++)
        for (int j = 0; j < 24; j++)
            cr_assert_eq(cw[v * 24 + j], j < 16 ? pw[v * 16 + j] : 0.0f);
    gpair_free(&g);
}

Test(morph, gpt_moments_are_left_for_the_caller_to_reset)
{
    gpair g = gpair_make((gshape){16, 1, 2, 2}, (gshape){16, 2, 2, 4}, 0.1f);
    size_t np = g.p->nparams, nc = g.c->nparams;
    float *pm = calloc(np, sizeof *pm), *cm = malloc(sizeof *cm * nc);
    for (size_t i = 0; i < np; i++)
        pm[i] = 1;
    for (size_t i = 0; i < nc; i++)
        cm[i] = 7;
    morph_moments mo = {pm, NULL, cm, NULL};
    rng r;
    rng_seed(&r, 3, 0);
    tl_err err;
    cr_assert_eq(morph_apply_moments(g.p, g.c, &mo, &r, &g.info, &err), 0, "%s", err.msg);
    cr_assert_eq(g.info.moments, 0);
    for (size_t i = 0; i < nc; i++)
        cr_assert_eq(cm[i], 7.0f);
    free(pm);
    free(cm);
    gpair_free(&g);
}

Test(morph, mixed_pair_is_an_input_error)
{
    nn_model *p = mlp_make(1, (int[]){8}, NN_RELU, 1), *c = gpt_make(16, 1, 2, 4, 2);
    rng r;
    rng_seed(&r, 1, 0);
    morph_info info;
    tl_err err = {0};
    cr_assert_eq(morph_apply(p, c, &r, &info, &err), TL_EINPUT);
    nn_model_free(p);
    nn_model_free(c);
}
