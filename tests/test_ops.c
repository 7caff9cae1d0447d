/* tests/test_ops.c: finite-difference gradient checks for every op of
 * nn/ops.h (linear, relu, gelu, softmax cross-entropy, layernorm,
 * attention, embedding + position, residual, dropout with a fixed mask),
 * plus the properties the models rely on: the ADD contract of backward,
 * causality, dropout rates, and the same bits at 1 and 2 threads.
 *
 * Each check: loss = sum_i r_i * out_i accumulated in double with a fixed
 * random r (so dout = r), central differences with the step actually taken
 * in float, tolerance abs + rel*|g|, inputs kept away from kinks; the first
 * failing index is logged and the result asserted.  Not here: whole models
 * (tests/test_mlp.c, tests/test_gpt.c).
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/model.h"
#include "nn/ops.h"
#include "util/rng.h"

/* Value every parameter/input gradient starts from, to check that backward
 * ADDS (it is subtracted before the comparison). */
#define G0 0.25f

typedef double (*loss_fn)(void *ctx);

static void fill_uniform(float *x, size_t n, float lo, float hi, rng *r)
{
    for (size_t i = 0; i < n; i++)
        x[i] = lo + (hi - lo) * rng_uniformf(r);
}

static void fill(float *x, size_t n, float v)
{
    for (size_t i = 0; i < n; i++)
        x[i] = v;
}

static double dot(const float *a, const float *r, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += (double)a[i] * r[i];
    return s;
}

/* Compares (g[i] - g0) with central differences of loss() in x[i] for every
 * i (or an even sample of max_checks of them).  Logs the first failure and
 * returns 0; returns 1 if all pass.  *gmax receives max |g - g0| checked. */
static int gradcheck(const char *what, float *x, const float *g, float g0, size_t n,
                     loss_fn loss, void *ctx, float eps, double atol, double rtol,
                     size_t max_checks, double *gmax)
{
    size_t step = n > max_checks ? n / max_checks : 1;
    double big = 0.0;
    for (size_t i = 0; i < n; i += step) {
        float orig = x[i];
        float xp = orig + eps, xm = orig - eps;
        x[i] = xp;
        double lp = loss(ctx);
        x[i] = xm;
        double lm = loss(ctx);
        x[i] = orig;
        double num = (lp - lm) / ((double)xp - (double)xm);
        double ana = (double)g[i] - g0;
        if (fabs(ana) > big)
            big = fabs(ana);
        if (!(fabs(num - ana) <= atol + rtol * fabs(ana))) {
            cr_log_error("%s: first failure at index %zu: analytic %.8g, numeric %.8g", what, i,
                         ana, num);
            return 0;
        }
    }
    if (gmax)
        *gmax = big;
    return 1;
}

/* ---- linear ---- */

typedef struct {
    int N, C, OC;
    float *x, *w, *b, *out, *r;
} lin_ctx;

static double lin_loss(void *p)
{
    lin_ctx *c = p;
    linear_forward(c->out, c->x, c->w, c->b, c->N, c->C, c->OC);
    return dot(c->out, c->r, (size_t)c->N * c->OC);
}

Test(ops, linear_gradcheck)
{
    rng r;
    rng_seed(&r, 1, 0);
    lin_ctx c = {.N = 3, .C = 5, .OC = 4};
    float x[15], w[20], b[4], out[12], rr[12], dx[15], dw[20], db[4];
    c.x = x, c.w = w, c.b = b, c.out = out, c.r = rr;
    fill_uniform(x, 15, -1, 1, &r);
    fill_uniform(w, 20, -1, 1, &r);
    fill_uniform(b, 4, -1, 1, &r);
    fill_uniform(rr, 12, -1, 1, &r);
    fill(dx, 15, G0), fill(dw, 20, G0), fill(db, 4, G0);
    lin_loss(&c);
    linear_backward(dx, dw, db, rr, x, w, c.N, c.C, c.OC, 1);
    double gm;
    cr_assert(gradcheck("linear dinp", x, dx, G0, 15, lin_loss, &c, 1e-2f, 1e-4, 1e-3, 100, &gm));
    cr_assert_gt(gm, 0.1);
    cr_assert(gradcheck("linear dw", w, dw, G0, 20, lin_loss, &c, 1e-2f, 1e-4, 1e-3, 100, &gm));
    cr_assert(gradcheck("linear dbias", b, db, G0, 4, lin_loss, &c, 1e-2f, 1e-4, 1e-3, 100, &gm));
    /* accumulate = 0 overwrites dinp: same values as the adds minus G0 */
    float dx0[15], dw0[20];
    fill(dx0, 15, 123.0f), fill(dw0, 20, 0.0f);
    linear_backward(dx0, dw0, NULL, rr, x, w, c.N, c.C, c.OC, 0);
    for (int i = 0; i < 15; i++)
        cr_assert_float_eq(dx0[i], dx[i] - G0, 1e-6);
    /* Forward against a plain triple loop. */
    lin_loss(&c);
    for (int n = 0; n < c.N; n++)
        for (int o = 0; o < c.OC; o++) {
            double s = b[o];
            for (int i = 0; i < c.C; i++)
                s += (double)x[n * c.C + i] * w[o * c.C + i];
            cr_assert_float_eq(out[n * c.OC + o], s, 1e-5);
        }
}

Test(ops, linear_backward_skips_null_dinp_and_dbias)
{
    rng r;
    rng_seed(&r, 2, 0);
    float x[6], w[6], dout[4], dw[6], dw2[6], dx[6];
    fill_uniform(x, 6, -1, 1, &r);
    fill_uniform(w, 6, -1, 1, &r);
    fill_uniform(dout, 4, -1, 1, &r);
    fill(dw, 6, 0), fill(dw2, 6, 0), fill(dx, 6, 0);
    linear_backward(NULL, dw, NULL, dout, x, w, 2, 3, 2, 1);
    linear_backward(dx, dw2, NULL, dout, x, w, 2, 3, 2, 1);
    cr_assert(memcmp(dw, dw2, sizeof dw) == 0, "dw must not depend on whether dinp is asked");
}

Test(ops, linear_act_matches_linear_then_activation)
{
    rng r;
    rng_seed(&r, 3, 0);
    enum { N = 5, C = 7, OC = 33 };
    float x[N * C], w[OC * C], b[OC], ref[N * OC], pre[N * OC], out[N * OC], pre2[N * OC];
    fill_uniform(x, N * C, -1, 1, &r);
    fill_uniform(w, OC * C, -1, 1, &r);
    fill_uniform(b, OC, -1, 1, &r);
    for (int act = 0; act < NN_ACT_COUNT; act++) {
        linear_forward(ref, x, w, b, N, C, OC);
        linear_act_forward(out, pre, x, w, b, N, C, OC, act);
        for (int i = 0; i < N * OC; i++) {
            cr_assert_float_eq(pre[i], ref[i], 1e-6, "%s pre[%d]", nn_act_str(act), i);
            float y = act == NN_GELU
                          ? 0.5f * ref[i] * (1.0f + tanhf(0.7978845608f * (ref[i] + 0.044715f * ref[i] * ref[i] * ref[i])))
                          : (ref[i] > 0 ? ref[i] : 0);
            cr_assert_float_eq(out[i], y, 1e-5, "%s out[%d]: %g vs %g", nn_act_str(act), i, out[i], y);
        }
    }
    /* ReLU in place: out == pre. */
    linear_act_forward(pre2, pre2, x, w, b, N, C, OC, NN_RELU);
    linear_act_forward(out, pre, x, w, b, N, C, OC, NN_RELU);
    cr_assert(memcmp(pre2, out, sizeof out) == 0);
}

/* ---- activations ---- */

typedef struct {
    size_t n;
    int act;
    float *x, *out, *r;
} act_ctx;

static double act_loss(void *p)
{
    act_ctx *c = p;
    if (c->act == NN_GELU)
        gelu_forward(c->out, c->x, c->n);
    else
        relu_forward(c->out, c->x, c->n);
    return dot(c->out, c->r, c->n);
}

static void act_check(int act)
{
    rng r;
    rng_seed(&r, 4, (uint64_t)act);
    enum { n = 40 };
    float x[n], out[n], rr[n], dx[n];
    act_ctx c = {n, act, x, out, rr};
    for (int i = 0; i < n; i++) {
        /* away from ReLU's kink: |x| in [0.1, 3] */
        float mag = 0.1f + 2.9f * rng_uniformf(&r);
        x[i] = (i % 2) ? mag : -mag;
    }
    fill_uniform(rr, n, -1, 1, &r);
    act_loss(&c);
    /* backward writes (no G0) */
    fill(dx, n, 123.0f);
    act_backward(dx, rr, act == NN_GELU ? x : out, n, act);
    double gm;
    cr_assert(gradcheck(nn_act_str(act), x, dx, 0.0f, n, act_loss, &c, 1e-3f, 1e-4, 1e-3, 100, &gm));
    cr_assert_gt(gm, 0.1);
    /* in place (dinp aliases dout) gives the same */
    float d2[n];
    memcpy(d2, rr, sizeof d2);
    act_backward(d2, d2, act == NN_GELU ? x : out, n, act);
    cr_assert(memcmp(d2, dx, sizeof d2) == 0);
}

Test(ops, relu_gradcheck) { act_check(NN_RELU); }
Test(ops, gelu_gradcheck) { act_check(NN_GELU); }

Test(ops, gelu_matches_reference_values)
{
    /* PyTorch 1.13: F.gelu(torch.tensor([-3., -1., -0.5, 0., 0.5, 1., 3.]), approximate='tanh') */
    const float x[7] = {-3, -1, -0.5f, 0, 0.5f, 1, 3};
    const float want[7] = {-0.00363743305f, -0.158807993f, -0.154285997f, 0.0f, 0.345714003f,
                           0.841192007f, 2.99636269f};
    float y[7];
    gelu_forward(y, x, 7);
    for (int i = 0; i < 7; i++)
        cr_assert_float_eq(y[i], want[i], 1e-6, "gelu(%g) = %.7f, want %.7f", x[i], y[i], want[i]);
}

/* ---- softmax cross-entropy ---- */

typedef struct {
    int N, V;
    float *logits, *probs, *losses;
    const int *t;
} xent_ctx;

static double xent_loss(void *p)
{
    xent_ctx *c = p;
    return softmax_xent_forward(c->probs, c->losses, NULL, c->logits, c->t, c->N, c->V);
}

Test(ops, softmax_xent_gradcheck)
{
    rng r;
    rng_seed(&r, 5, 0);
    enum { N = 4, V = 6 };
    float logits[N * V], probs[N * V], losses[N], d[N * V];
    const int t[N] = {0, 5, 2, 2};
    xent_ctx c = {N, V, logits, probs, losses, t};
    fill_uniform(logits, N * V, -2, 2, &r);
    long hits = -1;
    double sum = softmax_xent_forward(probs, losses, &hits, logits, t, N, V);
    double ref = 0.0;
    long ref_hits = 0;
    for (int n = 0; n < N; n++) {
        double z = 0.0, ps = 0.0;
        int best = 0;
        for (int j = 0; j < V; j++) {
            z += exp((double)logits[n * V + j]);
            ps += probs[n * V + j];
            if (logits[n * V + j] > logits[n * V + best])
                best = j;
        }
        ref += log(z) - logits[n * V + t[n]];
        ref_hits += best == t[n];
        cr_assert_float_eq(ps, 1.0, 1e-6);
    }
    cr_assert_float_eq(sum, ref, 1e-5);
    cr_assert_eq(hits, ref_hits);
    /* d(sum of losses)/dlogits: scale 1. Backward writes; aliasing probs is allowed. */
    softmax_xent_backward(d, probs, t, N, V, 1.0f);
    double gm;
    cr_assert(gradcheck("softmax_xent", logits, d, 0.0f, N * V, xent_loss, &c, 1e-2f, 2e-4,
                        2e-3, 100, &gm));
    cr_assert_gt(gm, 0.1);
    xent_loss(&c);
    softmax_xent_backward(probs, probs, t, N, V, 1.0f);
    cr_assert(memcmp(probs, d, sizeof d) == 0);
}

Test(ops, softmax_xent_is_stable_for_large_logits)
{
    float logits[3] = {1000.0f, 0.0f, -1000.0f}, probs[3], loss[1];
    int t = 1;
    double s = softmax_xent_forward(probs, loss, NULL, logits, &t, 1, 3);
    cr_assert(isfinite(s));
    cr_assert_float_eq(s, 1000.0, 1e-3);
    cr_assert_float_eq(probs[0], 1.0f, 1e-6);
}

/* ---- layernorm ---- */

typedef struct {
    int N, C;
    float *x, *w, *b, *out, *mean, *rstd, *r;
} ln_ctx;

static double ln_loss(void *p)
{
    ln_ctx *c = p;
    layernorm_forward(c->out, c->mean, c->rstd, c->x, c->w, c->b, c->N, c->C);
    return dot(c->out, c->r, (size_t)c->N * c->C);
}

Test(ops, layernorm_gradcheck)
{
    rng r;
    rng_seed(&r, 6, 0);
    enum { N = 3, C = 8 };
    float x[N * C], w[C], b[C], out[N * C], mean[N], rstd[N], rr[N * C], dx[N * C], dw[C], db[C];
    ln_ctx c = {N, C, x, w, b, out, mean, rstd, rr};
    fill_uniform(x, N * C, -2, 2, &r);
    fill_uniform(w, C, 0.5f, 1.5f, &r);
    fill_uniform(b, C, -1, 1, &r);
    fill_uniform(rr, N * C, -1, 1, &r);
    ln_loss(&c);
    /* normalized rows: mean 0, variance 1 before the affine part */
    for (int n = 0; n < N; n++) {
        double m = 0, v = 0;
        for (int i = 0; i < C; i++)
            m += (out[n * C + i] - b[i]) / w[i];
        for (int i = 0; i < C; i++) {
            double z = (out[n * C + i] - b[i]) / w[i];
            v += z * z;
        }
        cr_assert_float_eq(m / C, 0.0, 1e-5);
        cr_assert_float_eq(v / C, 1.0, 1e-3);
    }
    fill(dx, N * C, G0), fill(dw, C, G0), fill(db, C, G0);
    layernorm_backward(dx, dw, db, rr, x, w, mean, rstd, N, C);
    double gm;
    cr_assert(gradcheck("layernorm dinp", x, dx, G0, N * C, ln_loss, &c, 1e-2f, 5e-4, 5e-3, 100, &gm));
    cr_assert_gt(gm, 0.1);
    cr_assert(gradcheck("layernorm dw", w, dw, G0, C, ln_loss, &c, 1e-2f, 5e-4, 5e-3, 100, &gm));
    cr_assert(gradcheck("layernorm db", b, db, G0, C, ln_loss, &c, 1e-2f, 5e-4, 5e-3, 100, &gm));
}

/* ---- embeddings ---- */

typedef struct {
    int B, T, C;
    const int *tok;
    float *wte, *wpe, *out, *r;
} enc_ctx;

static double enc_loss(void *p)
{
    enc_ctx *c = p;
    encoder_forward(c->out, c->tok, c->wte, c->wpe, c->B, c->T, c->C);
    return dot(c->out, c->r, (size_t)c->B * c->T * c->C);
}

Test(ops, encoder_gradcheck)
{
    rng r;
    rng_seed(&r, 7, 0);
    enum { B = 2, T = 3, C = 4, V = 5 };
    const int tok[B * T] = {1, 4, 1, 1, 0, 3}; /* token 1 three times: adds must accumulate */
    float wte[V * C], wpe[T * C], out[B * T * C], rr[B * T * C], dwte[V * C], dwpe[T * C];
    enc_ctx c = {B, T, C, tok, wte, wpe, out, rr};
    fill_uniform(wte, V * C, -1, 1, &r);
    fill_uniform(wpe, T * C, -1, 1, &r);
    fill_uniform(rr, B * T * C, -1, 1, &r);
    enc_loss(&c);
    fill(dwte, V * C, G0), fill(dwpe, T * C, G0);
    encoder_backward(dwte, dwpe, rr, tok, B, T, C);
    double gm;
    cr_assert(gradcheck("encoder dwte", wte, dwte, G0, V * C, enc_loss, &c, 1e-2f, 1e-4, 1e-3, 100, &gm));
    cr_assert_gt(gm, 0.1);
    cr_assert(gradcheck("encoder dwpe", wpe, dwpe, G0, T * C, enc_loss, &c, 1e-2f, 1e-4, 1e-3, 100, &gm));
    /* token 2 never appears: its gradient is untouched */
    for (int i = 0; i < C; i++)
        cr_assert_eq(dwte[2 * C + i], G0);
}

/* ---- attention ---- */

typedef struct {
    int B, T, C, NH;
    float *qkv, *att, *out, *r;
} att_ctx;

static double att_loss(void *p)
{
    att_ctx *c = p;
    attention_forward(c->out, c->att, c->qkv, c->B, c->T, c->C, c->NH);
    return dot(c->out, c->r, (size_t)c->B * c->T * c->C);
}

/* T = 40 spans two causal blocks of 32 rows (nn/ops.c ATT_BLK). */
static void attention_check(int B, int T, int C, int NH, uint64_t seed)
{
    rng r;
    rng_seed(&r, seed, 0);
    size_t nqkv = (size_t)B * T * 3 * C, natt = (size_t)B * NH * T * T, nout = (size_t)B * T * C;
    float *qkv = malloc(nqkv * 4), *att = malloc(natt * 4), *out = malloc(nout * 4),
          *rr = malloc(nout * 4), *dqkv = malloc(nqkv * 4), *datt = malloc(natt * 4),
          *dq0 = malloc(nqkv * 4);
    att_ctx c = {B, T, C, NH, qkv, att, out, rr};
    fill_uniform(qkv, nqkv, -1.5f, 1.5f, &r);
    fill_uniform(rr, nout, -1, 1, &r);
    att_loss(&c);
    /* causal probabilities: row i sums to 1 over [0, i] */
    for (int bh = 0; bh < B * NH; bh++)
        for (int i = 0; i < T; i++) {
            double s = 0;
            for (int j = 0; j <= i; j++) {
                float a = att[((size_t)bh * T + i) * T + j];
                cr_assert(a > 0.0f);
                s += a;
            }
            cr_assert_float_eq(s, 1.0, 1e-5);
        }
    fill(dqkv, nqkv, G0);
    attention_backward(dqkv, datt, rr, att, qkv, B, T, C, NH, 1);
    double gm;
    cr_assert(gradcheck("attention dqkv", qkv, dqkv, G0, nqkv, att_loss, &c, 1e-2f, 3e-4, 3e-3,
                        1500, &gm));
    cr_assert_gt(gm, 0.1);
    /* accumulate = 0 overwrites dqkv */
    fill(dq0, nqkv, -77.0f);
    att_loss(&c);
    attention_backward(dq0, datt, rr, att, qkv, B, T, C, NH, 0);
    for (size_t i = 0; i < nqkv; i++)
        cr_assert_float_eq(dq0[i], dqkv[i] - G0, 1e-5, "dqkv[%zu]", i);
    free(qkv), free(att), free(out), free(rr), free(dqkv), free(datt), free(dq0);
}

Test(ops, attention_gradcheck) { attention_check(2, 4, 8, 2, 8); }
Test(ops, attention_gradcheck_across_causal_blocks) { attention_check(1, 40, 8, 2, 18); }

Test(ops, attention_is_causal)
{
    rng r;
    rng_seed(&r, 9, 0);
    enum { B = 1, T = 70, C = 8, NH = 2, P = 45 };
    float *qkv = malloc(sizeof(float) * B * T * 3 * C), *att = malloc(sizeof(float) * B * NH * T * T);
    float out[B * T * C], out2[B * T * C];
    fill_uniform(qkv, B * T * 3 * C, -1, 1, &r);
    attention_forward(out, att, qkv, B, T, C, NH);
    for (int i = 0; i < 3 * C; i++)
        qkv[P * 3 * C + i] += 0.5f; /* change position P's q, k and v */
    attention_forward(out2, att, qkv, B, T, C, NH);
    cr_assert(memcmp(out, out2, sizeof(float) * P * C) == 0, "positions before P must not see P");
    for (int t = P; t < T; t++)
        cr_assert(memcmp(out + t * C, out2 + t * C, sizeof(float) * C) != 0, "position %d sees P", t);
    free(qkv);
    free(att);
}

/* ---- residual ---- */

typedef struct {
    size_t n;
    float *a, *b, *out, *r;
} res_ctx;

static double res_loss(void *p)
{
    res_ctx *c = p;
    residual_forward(c->out, c->a, c->b, c->n);
    return dot(c->out, c->r, c->n);
}

Test(ops, residual_gradcheck)
{
    rng r;
    rng_seed(&r, 10, 0);
    enum { n = 12 };
    float a[n], b[n], out[n], rr[n], da[n], db[n];
    res_ctx c = {n, a, b, out, rr};
    fill_uniform(a, n, -1, 1, &r);
    fill_uniform(b, n, -1, 1, &r);
    fill_uniform(rr, n, -1, 1, &r);
    res_loss(&c);
    fill(da, n, G0), fill(db, n, G0);
    residual_backward(da, db, rr, n);
    double gm;
    cr_assert(gradcheck("residual da", a, da, G0, n, res_loss, &c, 1e-2f, 1e-5, 1e-4, 100, &gm));
    cr_assert_gt(gm, 0.1);
    cr_assert(gradcheck("residual db", b, db, G0, n, res_loss, &c, 1e-2f, 1e-5, 1e-4, 100, &gm));
}

/* ---- dropout ---- */

typedef struct {
    size_t n;
    float p;
    const uint8_t *mask;
    float *x, *out, *r;
} drop_ctx;

static double drop_loss(void *ctx)
{
    drop_ctx *c = ctx;
    dropout_forward(c->out, c->x, c->mask, c->p, c->n);
    return dot(c->out, c->r, c->n);
}

Test(ops, dropout_gradcheck_with_fixed_mask)
{
    rng r;
    rng_seed(&r, 11, 0);
    enum { n = 64 };
    uint8_t mask[n];
    float x[n], out[n], rr[n], dx[n];
    dropout_mask(mask, 0.4f, n, &r);
    int kept = 0;
    for (int i = 0; i < n; i++)
        kept += mask[i];
    cr_assert(kept > 0 && kept < n, "a 64-element mask at p=0.4 keeps some and drops some");
    drop_ctx c = {n, 0.4f, mask, x, out, rr};
    fill_uniform(x, n, -1, 1, &r);
    fill_uniform(rr, n, -1, 1, &r);
    drop_loss(&c);
    for (int i = 0; i < n; i++)
        cr_assert_float_eq(out[i], mask[i] ? x[i] / 0.6f : 0.0f, 1e-6);
    dropout_backward(dx, rr, mask, 0.4f, n);
    double gm;
    cr_assert(gradcheck("dropout", x, dx, 0.0f, n, drop_loss, &c, 1e-2f, 1e-5, 1e-4, 100, &gm));
    cr_assert_gt(gm, 0.1);
}

Test(ops, dropout_mask_rate_and_seed)
{
    enum { n = 200001 };
    uint8_t *m1 = malloc(n), *m2 = malloc(n);
    rng r1, r2;
    rng_seed(&r1, 12, 3);
    rng_seed(&r2, 12, 3);
    dropout_mask(m1, 0.3f, n, &r1);
    dropout_mask(m2, 0.3f, n, &r2);
    cr_assert(memcmp(m1, m2, n) == 0, "same seed, same mask");
    long kept = 0;
    for (int i = 0; i < n; i++)
        kept += m1[i];
    double rate = 1.0 - (double)kept / n;
    cr_assert(fabs(rate - 0.3) < 0.005, "drop rate %g, want 0.3", rate);
    rng_seed(&r1, 12, 3);
    dropout_mask(m1, 0.0f, n, &r1);
    for (int i = 0; i < n; i++)
        cr_assert_eq(m1[i], 1);
    free(m1);
    free(m2);
}

/* ---- threads ---- */

/* The engine's own reductions (bias, LayerNorm, embedding and attention
 * gradients) sum in a fixed order: the same bits at 1 and 2 threads.  The
 * weight gradient is OpenBLAS's sgemm, whose threaded split may change the
 * last bits (tests/test_blas.c holds that promise): here it is skipped. */
Test(ops, reductions_give_the_same_bits_at_1_and_2_threads)
{
    rng r;
    rng_seed(&r, 13, 0);
    enum { B = 4, T = 128, N = B * T, C = 96, V = 50, NH = 4 };
    size_t nc = (size_t)N * C, nqkv = 3 * nc, natt = (size_t)B * NH * T * T;
    float *x = malloc(nc * 4), *g = malloc(nc * 4), *w = malloc(C * 4), *mean = malloc(N * 4),
          *rstd = malloc(N * 4), *out = malloc(nc * 4), *qkv = malloc(nqkv * 4),
          *att = malloc(natt * 4), *datt = malloc(natt * 4);
    int *tok = malloc(N * sizeof(int));
    fill_uniform(x, nc, -1, 1, &r);
    fill_uniform(g, nc, -1, 1, &r);
    fill_uniform(w, C, 0.5f, 1.5f, &r);
    fill_uniform(qkv, nqkv, -1, 1, &r);
    for (int i = 0; i < N; i++)
        tok[i] = (int)rng_below(&r, V);
    layernorm_forward(out, mean, rstd, x, w, w, N, C);
    /* per thread count: layernorm (dinp, dw, db), linear (dw, dbias),
     * encoder (dwte, dwpe), attention (out, dqkv); res[k][1] gets only dbias */
    size_t len[4] = {nc + 2 * C, C, (size_t)(V + T) * C, nc + nqkv};
    float *res[2][4];
    for (int k = 0; k < 2; k++) {
        omp_set_num_threads(k + 1);
        for (int j = 0; j < 4; j++)
            res[k][j] = calloc(len[j], 4);
        layernorm_backward(res[k][0], res[k][0] + nc, res[k][0] + nc + C, g, x, w, mean, rstd, N, C);
        float *dw = calloc((size_t)C * C, 4);
        linear_backward(NULL, dw, res[k][1], g, x, x, N, C, C, 1);
        free(dw);
        encoder_backward(res[k][2], res[k][2] + V * C, g, tok, B, T, C);
        attention_forward(res[k][3], att, qkv, B, T, C, NH);
        attention_backward(res[k][3] + nc, datt, g, att, qkv, B, T, C, NH, 0);
    }
    const char *what[4] = {"layernorm_backward", "linear_backward (dbias)", "encoder_backward", "attention"};
    for (int j = 0; j < 4; j++)
        cr_assert(memcmp(res[0][j], res[1][j], len[j] * 4) == 0, "%s differs", what[j]);
    for (int k = 0; k < 2; k++)
        for (int j = 0; j < 4; j++)
            free(res[k][j]);
    free(x), free(g), free(w), free(mean), free(rstd), free(out), free(qkv), free(att),
        free(datt), free(tok);
}

/* Whether the mapping holding address a carries the MADV_HUGEPAGE advice
 * ("hg" in its VmFlags, /proc/self/smaps): -1 when a is in no mapping. */
static int huge_advised(const void *a)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    cr_assert_not_null(f, "cannot read /proc/self/smaps");
    char line[512];
    int in = 0, got = -1;
    uintptr_t x = (uintptr_t)a;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' ')) {
            in = x >= lo && x < hi;
        } else if (in && !strncmp(line, "VmFlags:", 8)) {
            got = strstr(line, " hg") != NULL;
            break;
        }
    }
    fclose(f);
    return got;
}

/* nn_falloc: 2 MB aligned, usable to the last float, huge-page advice on
 * every block at least half used and on no other (1.5 MB: its one block;
 * 2.5 MB: the first block, not the second, 0.5 MB used); nn_fzalloc
 * zeroes.  The advice is a flag of the mapping, whatever the machine's THP
 * setting. */
Test(ops, falloc_blocks_and_huge_page_advice)
{
    const size_t mb = (size_t)1 << 20, n15 = 3 * mb / 2 / 4, n25 = 5 * mb / 2 / 4;
    float *a = nn_falloc(n15), *b = nn_falloc(n25), *z = nn_fzalloc(n25), *t = nn_falloc(1);
    cr_assert(a && b && z && t);
    cr_assert_eq((uintptr_t)a % NN_FALLOC_BLOCK, 0);
    cr_assert_eq((uintptr_t)b % NN_FALLOC_BLOCK, 0);
    cr_assert_eq((uintptr_t)t % NN_FALLOC_BLOCK, 0);
    a[n15 - 1] = 1.0f, b[n25 - 1] = 2.0f, t[0] = 3.0f;
    cr_assert_eq(huge_advised(a), 1, "1.5 MB: its block is advised");
    cr_assert_eq(huge_advised(a + n15 - 1), 1);
    cr_assert_eq(huge_advised(b), 1, "2.5 MB: the first block is advised");
    cr_assert_eq(huge_advised(b + NN_FALLOC_BLOCK / 4), 0, "2.5 MB: the half-empty last block is not");
    cr_assert_eq(huge_advised(t), 0, "one float: not advised");
    for (size_t i = 0; i < n25; i++)
        cr_assert_eq(z[i], 0.0f, "nn_fzalloc: z[%zu] = %g", i, (double)z[i]);
    free(a), free(b), free(z), free(t);
}
