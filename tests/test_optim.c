/* tests/test_optim.c: SGD, Nesterov and AdamW against PyTorch 1.13 values
 * and against a double-precision reference written here; the decay mask;
 * global-norm clipping; thread-count independence; argument checks.
 *
 * The torch_* arrays were produced by /usr/bin/python3 with torch 1.13:
 *   w = tensor([0.5,-0.3,0.8,-1.2,0.1,0.4]).reshape(2,3); b = tensor([0.2,-0.7,0.05])
 *   groups [{w, weight_decay=WD}, {b, weight_decay=0}], 4 steps, grads of step
 *   k: g_i = ((7i + 3k) % 11 - 5) * 0.125 (i over w then b), lr of step 3
 *   halved (group['lr'] = lr/2) to check a hyperparameter change mid-run.
 *   SGD(lr=0.1, momentum=0.9, nesterov=True|False, WD=0.01);
 *   AdamW(lr=0.01, betas=(0.9,0.999), eps=1e-8, WD=0.1).
 */
#include <criterion/criterion.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/optim.h"

static const float torch_sgd_nesterov[9] = {0.72984463f, -0.496123105f, 0.779730678f, -1.34298706f, 0.025753621f, 0.50966543f, 0.170434996f, -0.647481203f, 0.159783736f};
static const float torch_sgd_momentum[9] = {0.702541649f, -0.464062423f, 0.794588625f, -1.31537378f, 0.0245118644f, 0.489019006f, 0.167150006f, -0.683312535f, 0.165037498f};
static const float torch_adamw[9] = {0.523014963f, -0.322867155f, 0.805767715f, -1.21104193f, 0.0807037726f, 0.416398138f, 0.191668689f, -0.703001738f, 0.0699737743f};

/* A parameter table without a network: w (2,3) decays, b (3) does not. */
typedef struct fake {
    nn_model m;
    nn_tensor t[2];
    float p[9], g[9];
} fake;

static void fake_init(fake *f)
{
    static const float p0[9] = { 0.5f, -0.3f, 0.8f, -1.2f, 0.1f, 0.4f, 0.2f, -0.7f, 0.05f };
    memset(f, 0, sizeof *f);
    strcpy(f->t[0].name, "w");
    f->t[0].offset = 0;
    f->t[0].size = 6;
    f->t[0].ndim = 2;
    f->t[0].shape[0] = 2;
    f->t[0].shape[1] = 3;
    f->t[0].decay = 1;
    strcpy(f->t[1].name, "b");
    f->t[1].offset = 6;
    f->t[1].size = 3;
    f->t[1].ndim = 1;
    f->t[1].shape[0] = 3;
    f->t[1].decay = 0;
    memcpy(f->p, p0, sizeof p0);
    f->m.params = f->p;
    f->m.grads = f->g;
    f->m.nparams = 9;
    f->m.tensors = f->t;
    f->m.ntensors = 2;
}

static void fake_grads(fake *f, int k)
{
    for (int i = 0; i < 9; i++)
        f->g[i] = (float)((i * 7 + k * 3) % 11 - 5) * 0.125f;
}

static void run_fake(int kind, optim_hparams h, float *out)
{
    fake f;
    fake_init(&f);
    optim o;
    tl_err e;
    cr_assert_eq(optim_init(&o, kind, &f.m, &e), 0, "%s", e.msg);
    cr_assert_eq(optim_hparams_check(kind, &h, &e), 0, "%s", e.msg);
    double lr = h.lr;
    for (int k = 0; k < 4; k++) {
        h.lr = k == 3 ? lr / 2 : lr;
        fake_grads(&f, k);
        optim_step(&o, f.p, f.g, &h);
    }
    cr_assert_eq(o.t, 4);
    memcpy(out, f.p, sizeof f.p);
    optim_free(&o);
}

static void assert_close(const float *got, const float *want, int n, double tol, const char *what)
{
    for (int i = 0; i < n; i++)
        cr_assert(fabs((double)got[i] - want[i]) <= tol * (1 + fabs(want[i])),
                  "%s: element %d is %.9g, expected %.9g", what, i, got[i], want[i]);
}

Test(optim, sgd_nesterov_matches_torch)
{
    optim_hparams h = { .lr = 0.1, .weight_decay = 0.01, .momentum = 0.9, .nesterov = 1 };
    float p[9];
    run_fake(OPTIM_SGD, h, p);
    assert_close(p, torch_sgd_nesterov, 9, 1e-6, "sgd nesterov");
}

Test(optim, sgd_momentum_matches_torch)
{
    optim_hparams h = { .lr = 0.1, .weight_decay = 0.01, .momentum = 0.9 };
    float p[9];
    run_fake(OPTIM_SGD, h, p);
    assert_close(p, torch_sgd_momentum, 9, 1e-6, "sgd momentum");
}

Test(optim, adamw_matches_torch)
{
    optim_hparams h = { .lr = 0.01, .weight_decay = 0.1, .beta1 = 0.9, .beta2 = 0.999,
                        .eps = 1e-8 };
    float p[9];
    run_fake(OPTIM_ADAMW, h, p);
    assert_close(p, torch_adamw, 9, 1e-6, "adamw");
}

/* Double-precision reference of both optimizers with every hyperparameter
 * changing per step, over n parameters with alternating decay runs. */
typedef struct refstate {
    double *p, *m, *v;
    int buf;
} refstate;

static void ref_step(int kind, refstate *s, const float *g, const int *decay, size_t n, long t,
                     const optim_hparams *h)
{
    for (size_t i = 0; i < n; i++) {
        double wd = decay[i] ? h->weight_decay : 0;
        if (kind == OPTIM_SGD) {
            double d = g[i] + wd * s->p[i];
            if (h->momentum != 0) {
                s->m[i] = s->buf ? h->momentum * s->m[i] + d : d;
                d = h->nesterov ? d + h->momentum * s->m[i] : s->m[i];
            }
            s->p[i] -= h->lr * d;
        } else {
            s->p[i] *= 1 - h->lr * wd;
            s->m[i] = h->beta1 * s->m[i] + (1 - h->beta1) * g[i];
            s->v[i] = h->beta2 * s->v[i] + (1 - h->beta2) * g[i] * g[i];
            double mh = s->m[i] / (1 - pow(h->beta1, (double)t));
            double den = sqrt(s->v[i]) / sqrt(1 - pow(h->beta2, (double)t)) + h->eps;
            s->p[i] -= h->lr * mh / den;
        }
    }
    s->buf = h->momentum != 0;
}

/* Builds a model table of n params in 5 tensors with decay 1,1,0,1,0 (so
 * runs merge), random params. */
typedef struct big {
    nn_model m;
    nn_tensor t[5];
    int *decay;
} big;

static void big_init(big *b, size_t n, rng *r)
{
    memset(b, 0, sizeof *b);
    static const int dec[5] = { 1, 1, 0, 1, 0 };
    size_t at = 0;
    for (int i = 0; i < 5; i++) {
        size_t sz = i < 4 ? n / 5 + (size_t)i * 3 : n - at;
        snprintf(b->t[i].name, sizeof b->t[i].name, "t%d", i);
        b->t[i].offset = at;
        b->t[i].size = sz;
        b->t[i].ndim = 1;
        b->t[i].shape[0] = (int)sz;
        b->t[i].decay = dec[i];
        at += sz;
    }
    b->m.nparams = n;
    b->m.tensors = b->t;
    b->m.ntensors = 5;
    b->m.params = malloc(n * sizeof(float));
    b->m.grads = malloc(n * sizeof(float));
    b->decay = malloc(n * sizeof(int));
    for (int i = 0; i < 5; i++)
        for (size_t j = 0; j < b->t[i].size; j++)
            b->decay[b->t[i].offset + j] = dec[i];
    for (size_t i = 0; i < n; i++)
        b->m.params[i] = (float)rng_normal(r);
}

static void big_free(big *b)
{
    free(b->m.params);
    free(b->m.grads);
    free(b->decay);
}

static void check_against_reference(int kind)
{
    const size_t n = 1000;
    rng r;
    rng_seed(&r, 42, kind);
    big b;
    big_init(&b, n, &r);
    refstate s = { calloc(n, sizeof(double)), calloc(n, sizeof(double)),
                   calloc(n, sizeof(double)), 0 };
    for (size_t i = 0; i < n; i++)
        s.p[i] = b.m.params[i];
    optim o;
    tl_err e;
    cr_assert_eq(optim_init(&o, kind, &b.m, &e), 0, "%s", e.msg);
    cr_assert_eq(o.nruns, 4, "decay runs 1,1 merged: expected 4 runs, got %d", o.nruns);
    for (int k = 0; k < 12; k++) {
        /* momentum drops to 0 at step 5 and comes back at 6 (fresh buffer) */
        optim_hparams h = { .lr = 0.05 / (1 + k), .weight_decay = 0.02 * (k % 3),
                            .momentum = k == 5 ? 0.0 : 0.5 + 0.03 * k, .nesterov = k % 2 && k != 5,
                            .beta1 = 0.8 + 0.01 * k, .beta2 = 0.99 - 0.001 * k,
                            .eps = 1e-6 };
        for (size_t i = 0; i < n; i++)
            b.m.grads[i] = (float)rng_normal(&r);
        optim_step(&o, b.m.params, b.m.grads, &h);
        ref_step(kind, &s, b.m.grads, b.decay, n, k + 1, &h);
    }
    for (size_t i = 0; i < n; i++)
        cr_assert(fabs(b.m.params[i] - s.p[i]) <= 2e-5 * (1 + fabs(s.p[i])),
                  "%s param %zu: %.9g vs reference %.9g", optim_str(kind), i, b.m.params[i],
                  s.p[i]);
    optim_free(&o);
    big_free(&b);
    free(s.p);
    free(s.m);
    free(s.v);
}

Test(optim, sgd_follows_reference_with_changing_hyperparameters)
{
    check_against_reference(OPTIM_SGD);
}

Test(optim, adamw_follows_reference_with_changing_hyperparameters)
{
    check_against_reference(OPTIM_ADAMW);
}

/* The AdamW step (vector blocks and scalar tail) gives exactly the bits of
 * the float formula in torch's order, element by element, with n parameters
 * on threads threads (0: leave the count alone). */
static void adamw_formula_check(size_t n, int threads)
{
    int saved = omp_get_max_threads();
    if (threads > 0)
        omp_set_num_threads(threads);
    rng r;
    rng_seed(&r, 3, 1);
    big b;
    big_init(&b, n, &r);
    float *pm = calloc(n, sizeof(float)), *pv = calloc(n, sizeof(float));
    float *pp = malloc(n * sizeof(float));
    memcpy(pp, b.m.params, n * sizeof(float));
    optim o;
    cr_assert_eq(optim_init(&o, OPTIM_ADAMW, &b.m, NULL), 0);
    optim_hparams h = { .lr = 3e-3, .weight_decay = 0.05, .beta1 = 0.85, .beta2 = 0.99,
                        .eps = 1e-7 };
    for (int k = 1; k <= 5; k++) {
        for (size_t i = 0; i < n; i++)
            b.m.grads[i] = (float)rng_normal(&r) * (k == 3 ? 1e-20f : 1.0f);
        optim_step(&o, b.m.params, b.m.grads, &h);
        float step = (float)(h.lr / (1 - pow(h.beta1, k)));
        float bc2 = (float)sqrt(1 - pow(h.beta2, k));
        for (size_t i = 0; i < n; i++) {
            float g = b.m.grads[i];
            float dm = b.decay[i] ? (float)(1 - h.lr * h.weight_decay) : 1.0f;
            float p = pp[i] * dm;
            pm[i] = pm[i] * (float)h.beta1 + g * (float)(1 - h.beta1);
            pv[i] = pv[i] * (float)h.beta2 + (float)(1 - h.beta2) * g * g;
            pp[i] = p + (-step * pm[i]) / (sqrtf(pv[i]) / bc2 + (float)h.eps);
        }
    }
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(memcmp(&pp[i], &b.m.params[i], sizeof(float)), 0,
                     "param %zu: %.9g vs formula %.9g", i, b.m.params[i], pp[i]);
        cr_assert_eq(memcmp(&pv[i], &o.v[i], sizeof(float)), 0, "v %zu", i);
    }
    optim_free(&o);
    big_free(&b);
    free(pm);
    free(pv);
    free(pp);
    omp_set_num_threads(saved);
}

Test(optim, adamw_equals_the_scalar_float_formula_bit_for_bit)
{
    adamw_formula_check(1003, 0); /* decay runs of 403, 206, 209, 185: odd tails */
}

/* The fused step's parallel region: each thread's slice of [0, n) crosses
 * run boundaries at odd offsets (runs of n/5 + 3i), and 3 threads cut it at
 * other places than 2; every element must still be the formula's. */
Test(optim, adamw_fused_parallel_step_equals_the_formula_bit_for_bit)
{
    adamw_formula_check(OPTIM_PAR_MIN + 1003, 2);
    adamw_formula_check(2 * OPTIM_PAR_MIN + 7, 3);
}

Test(optim, weight_decay_touches_only_decay_tensors)
{
    fake f;
    fake_init(&f);
    float before[9];
    memcpy(before, f.p, sizeof before);
    memset(f.g, 0, sizeof f.g);
    optim o;
    cr_assert_eq(optim_init(&o, OPTIM_ADAMW, &f.m, NULL), 0);
    optim_hparams h = { .lr = 0.1, .weight_decay = 0.5, .beta1 = 0.9, .beta2 = 0.999,
                        .eps = 1e-8 };
    optim_step(&o, f.p, f.g, &h);
    for (int i = 0; i < 6; i++)
        cr_assert_float_eq(f.p[i], before[i] * (float)(1 - 0.1 * 0.5), 1e-7,
                           "w[%d] must shrink by 1 - lr*wd", i);
    for (int i = 6; i < 9; i++)
        cr_assert_eq(f.p[i], before[i], "bias %d must not decay", i - 6);
    optim_free(&o);
}

Test(optim, clip_returns_norm_and_scales_to_max)
{
    fake f;
    fake_init(&f);
    fake_grads(&f, 0);
    optim o;
    cr_assert_eq(optim_init(&o, OPTIM_SGD, &f.m, NULL), 0);
    double ss = 0;
    for (int i = 0; i < 9; i++)
        ss += (double)f.g[i] * f.g[i];
    double want = sqrt(ss); /* 1.25, as torch's g.norm() */
    cr_assert_float_eq(want, 1.25, 1e-12);
    float g0[9];
    memcpy(g0, f.g, sizeof g0);
    /* (criterion's float_eq evaluates its arguments twice: call first) */
    /* above the norm: untouched */
    double got = optim_clip_grad_norm(&o, f.g, 10.0);
    cr_assert_float_eq(got, want, 1e-12);
    cr_assert_eq(memcmp(g0, f.g, sizeof g0), 0);
    /* 0: no clipping, but the norm */
    got = optim_clip_grad_norm(&o, f.g, 0.0);
    cr_assert_float_eq(got, want, 1e-12);
    cr_assert_eq(memcmp(g0, f.g, sizeof g0), 0);
    /* below: scaled to max_norm / (norm + 1e-6) */
    got = optim_clip_grad_norm(&o, f.g, 0.5);
    cr_assert_float_eq(got, want, 1e-12);
    double ss2 = 0;
    for (int i = 0; i < 9; i++) {
        cr_assert_float_eq(f.g[i], g0[i] * (float)(0.5 / (want + 1e-6)), 1e-7);
        ss2 += (double)f.g[i] * f.g[i];
    }
    cr_assert_float_eq(sqrt(ss2), 0.5, 1e-6);
    optim_free(&o);
}

Test(optim, clip_reports_nonfinite_norm_and_leaves_grads)
{
    fake f;
    fake_init(&f);
    fake_grads(&f, 1);
    f.g[4] = NAN;
    float g0[9];
    memcpy(g0, f.g, sizeof g0);
    optim o;
    cr_assert_eq(optim_init(&o, OPTIM_SGD, &f.m, NULL), 0);
    cr_assert(isnan(optim_clip_grad_norm(&o, f.g, 1.0)));
    cr_assert_eq(memcmp(g0, f.g, sizeof g0), 0);
    f.g[4] = INFINITY;
    cr_assert(!isfinite(optim_clip_grad_norm(&o, f.g, 1.0)));
    optim_free(&o);
}

/* Large enough for the parallel loops and several norm chunks: the bits must
 * not depend on the thread count. */
Test(optim, same_bits_with_one_and_two_threads)
{
    const size_t n = 6 * OPTIM_PAR_MIN + 123;
    float *res[2][2];
    double norms[2];
    for (int th = 0; th < 2; th++) {
        omp_set_num_threads(th + 1);
        for (int kind = 0; kind < 2; kind++) {
            rng r;
            rng_seed(&r, 7, 0);
            big b;
            big_init(&b, n, &r);
            optim o;
            cr_assert_eq(optim_init(&o, kind, &b.m, NULL), 0);
            optim_hparams h = { .lr = 0.01, .weight_decay = 0.1, .momentum = 0.9,
                                .nesterov = 1, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8 };
            for (int k = 0; k < 3; k++) {
                for (size_t i = 0; i < n; i++)
                    b.m.grads[i] = (float)rng_normal(&r);
                norms[th] = optim_clip_grad_norm(&o, b.m.grads, 100.0);
                optim_step(&o, b.m.params, b.m.grads, &h);
            }
            res[th][kind] = b.m.params;
            b.m.params = NULL;
            optim_free(&o);
            big_free(&b);
        }
    }
    cr_assert_eq(memcmp(&norms[0], &norms[1], sizeof(double)), 0, "norm %.17g vs %.17g",
                 norms[0], norms[1]);
    for (int kind = 0; kind < 2; kind++) {
        cr_assert_eq(memcmp(res[0][kind], res[1][kind], n * sizeof(float)), 0,
                     "%s differs between 1 and 2 threads", optim_str(kind));
        free(res[0][kind]);
        free(res[1][kind]);
    }
}

/* optim_clip_step (the norm, the clip and the update in one region, as a
 * fused training step runs them) gives the bits of optim_clip_grad_norm
 * then optim_step: SGD with Nesterov momentum (its first step starts the
 * buffer) and AdamW, clipping and not, at 1, 2 and 3 threads, over several
 * norm and step chunks with an odd tail; a non-finite gradient changes
 * nothing (params, grads, step count). */
Test(optim, clip_step_in_one_region_gives_the_two_calls_bits)
{
    const size_t n = 3 * OPTIM_PAR_MIN + 4099;
    for (int th = 1; th <= 3; th++) {
        omp_set_num_threads(th);
        for (int kind = 0; kind < 2; kind++) {
            big b[2];
            optim o[2];
            for (int j = 0; j < 2; j++) {
                rng r;
                rng_seed(&r, 11, 0);
                big_init(&b[j], n, &r);
                cr_assert_eq(optim_init(&o[j], kind, &b[j].m, NULL), 0);
            }
            optim_hparams h = {.lr = 0.01, .weight_decay = 0.1, .momentum = 0.9, .nesterov = 1,
                               .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8};
            rng gr;
            rng_seed(&gr, 5, 0);
            for (int k = 0; k < 4; k++) {
                double clip = k % 2 ? 50.0 : 0.0; /* the norm is about 450: odd steps clip */
                for (size_t i = 0; i < n; i++)
                    b[0].m.grads[i] = b[1].m.grads[i] = (float)rng_normal(&gr);
                double n0 = optim_clip_grad_norm(&o[0], b[0].m.grads, clip);
                optim_step(&o[0], b[0].m.params, b[0].m.grads, &h);
                double n1 = optim_clip_step(&o[1], b[1].m.params, b[1].m.grads, &h, clip);
                cr_assert_eq(memcmp(&n0, &n1, sizeof n0), 0, "%s, %d threads, step %d: norm %.17g vs %.17g",
                             optim_str(kind), th, k, n0, n1);
                cr_assert(memcmp(b[0].m.params, b[1].m.params, n * sizeof(float)) == 0 &&
                              memcmp(b[0].m.grads, b[1].m.grads, n * sizeof(float)) == 0 &&
                              memcmp(o[0].m, o[1].m, n * sizeof(float)) == 0 &&
                              o[0].t == o[1].t && o[0].mom_valid == o[1].mom_valid,
                          "%s, %d threads, step %d: params, clipped grads or state differ",
                          optim_str(kind), th, k);
                cr_assert(!o[0].v || memcmp(o[0].v, o[1].v, n * sizeof(float)) == 0);
            }
            float *p0 = malloc(n * sizeof(float));
            memcpy(p0, b[1].m.params, n * sizeof(float));
            long t0 = o[1].t;
            b[1].m.grads[n - 5] = NAN;
            cr_assert(isnan(optim_clip_step(&o[1], b[1].m.params, b[1].m.grads, &h, 1.0)));
            cr_assert(memcmp(p0, b[1].m.params, n * sizeof(float)) == 0 && o[1].t == t0,
                      "a NaN gradient must leave the parameters and the step count");
            free(p0);
            for (int j = 0; j < 2; j++) {
                optim_free(&o[j]);
                big_free(&b[j]);
            }
        }
    }
    omp_set_num_threads(2);
}

Test(optim, copy_reproduces_the_next_step)
{
    fake a, b;
    fake_init(&a);
    fake_init(&b);
    optim oa, ob;
    cr_assert_eq(optim_init(&oa, OPTIM_ADAMW, &a.m, NULL), 0);
    cr_assert_eq(optim_init(&ob, OPTIM_ADAMW, &b.m, NULL), 0);
    optim_hparams h = { .lr = 0.01, .weight_decay = 0.1, .beta1 = 0.9, .beta2 = 0.999,
                        .eps = 1e-8 };
    for (int k = 0; k < 3; k++) {
        fake_grads(&a, k);
        optim_step(&oa, a.p, a.g, &h);
    }
    memcpy(b.p, a.p, sizeof a.p);
    cr_assert_eq(optim_copy(&ob, &oa, NULL), 0);
    fake_grads(&a, 3);
    fake_grads(&b, 3);
    optim_step(&oa, a.p, a.g, &h);
    optim_step(&ob, b.p, b.g, &h);
    cr_assert_eq(memcmp(a.p, b.p, sizeof a.p), 0);
    cr_assert_eq(oa.t, ob.t);

    optim os;
    tl_err e;
    cr_assert_eq(optim_init(&os, OPTIM_SGD, &a.m, NULL), 0);
    cr_assert_eq(optim_copy(&os, &oa, &e), TL_EINPUT);
    cr_assert(strstr(e.msg, "adamw") && strstr(e.msg, "sgd"), "%s", e.msg);
    optim_free(&oa);
    optim_free(&ob);
    optim_free(&os);
}

Test(optim, rejects_bad_hyperparameters_naming_the_key)
{
    struct { int kind; optim_hparams h; const char *key; } cases[] = {
        { OPTIM_SGD, { .lr = 0 }, "train.lr" },
        { OPTIM_SGD, { .lr = NAN }, "train.lr" },
        { OPTIM_SGD, { .lr = 0.1, .weight_decay = -1 }, "train.weight_decay" },
        { OPTIM_SGD, { .lr = 0.1, .momentum = 1.0 }, "train.momentum" },
        { OPTIM_SGD, { .lr = 0.1, .momentum = 0, .nesterov = 1 }, "train.nesterov" },
        { OPTIM_ADAMW, { .lr = 0.1, .beta1 = 1.0, .beta2 = 0.9, .eps = 1e-8 }, "train.beta1" },
        { OPTIM_ADAMW, { .lr = 0.1, .beta1 = 0.9, .beta2 = -0.1, .eps = 1e-8 }, "train.beta2" },
        { OPTIM_ADAMW, { .lr = 0.1, .beta1 = 0.9, .beta2 = 0.9, .eps = 0 }, "train.eps" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tl_err e = { 0 };
        cr_assert_eq(optim_hparams_check(cases[i].kind, &cases[i].h, &e), TL_EINPUT,
                     "case %zu accepted", i);
        cr_assert(strncmp(e.msg, cases[i].key, strlen(cases[i].key)) == 0,
                  "case %zu: '%s' should start with %s", i, e.msg, cases[i].key);
    }
    optim_hparams ok = { .lr = 0.1, .momentum = 0.9, .nesterov = 1, .beta1 = 0.9,
                         .beta2 = 0.999, .eps = 1e-8 };
    cr_assert_eq(optim_hparams_check(OPTIM_SGD, &ok, NULL), 0);
    cr_assert_eq(optim_hparams_check(OPTIM_ADAMW, &ok, NULL), 0);
}

Test(optim, parse_names_and_list_valid_ones)
{
    int k = -1;
    tl_err e;
    cr_assert_eq(optim_parse("sgd", &k, &e), 0);
    cr_assert_eq(k, OPTIM_SGD);
    cr_assert_eq(optim_parse("adamw", &k, &e), 0);
    cr_assert_eq(k, OPTIM_ADAMW);
    cr_assert_str_eq(optim_str(OPTIM_ADAMW), "adamw");
    cr_assert_str_eq(optim_str(OPTIM_COUNT), "?");
    cr_assert_eq(optim_parse("adam", &k, &e), TL_EINPUT);
    cr_assert(strstr(e.msg, "'adam'") && strstr(e.msg, "sgd, adamw"), "%s", e.msg);
}

Test(optim, init_rejects_tables_that_do_not_tile_the_buffer)
{
    fake f;
    fake_init(&f);
    optim o;
    tl_err e;
    f.t[1].offset = 7; /* a gap */
    cr_assert_eq(optim_init(&o, OPTIM_SGD, &f.m, &e), TL_EINPUT);
    cr_assert(strstr(e.msg, "(b)"), "%s", e.msg);
    fake_init(&f);
    f.m.nparams = 10; /* one float not covered */
    cr_assert_eq(optim_init(&o, OPTIM_SGD, &f.m, &e), TL_EINPUT);
    cr_assert(strstr(e.msg, "9 of 10"), "%s", e.msg);
    fake_init(&f);
    cr_assert_eq(optim_init(&o, 7, &f.m, &e), TL_EINPUT);
    optim_free(NULL);
    optim_free(&o); /* zeroed by the failed init: a no-op */
}
