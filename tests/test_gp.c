/* tests/test_gp.c: GP posterior and objective against numpy, analytic
 * gradients against central differences, hyperparameter fit (irrelevant
 * dimension, reproducibility), rank-one append, errors; from GP_VEC_MIN_N
 * rows the vectorized kernel (gp_exp_neg, gp_matern52_row) against libm and
 * the scalar kernel, and its transposed inputs kept in step.  And the bayes
 * engine's model read back (hpo/bo.h: bo_fit, bo_predict, bo_lengthscale):
 * a categorical's one-hot inputs, bad input, and that reading the model
 * between suggestions does not change them.  (That bo_fit is bo_suggest's
 * fit bit for bit is pinned by tests/test_report_gp.c on a real study.) */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hpo/bo.h"
#include "hpo/gp.h"
#include "hpo/gp_internal.h"
#include "hpo/sobol.h"

/* Reference from /usr/bin/python3 + numpy 1.24:
 *   X = [[0.1,0.2],[0.4,0.9],[0.8,0.3],[0.55,0.6],[0.95,0.85]]; y = [1.3,-0.4,2.2,0.1,-1.0]
 *   ls = [0.3,0.6]; sf2 = 1.7; sn2 = 0.01; c = 0.2; Xs = [[0.2,0.3],[0.5,0.5],[0,1]]
 *   ys = (y - y.mean()) / y.std(ddof=1)
 *   k(A,B): s = sqrt5*||(A-B)/ls||; sf2*(1+s+s^2/3)*exp(-s)
 *   K = k(X,X) + sn2*I; alpha = solve(K, ys-c); mean = c + k(Xs,X) @ alpha
 *   var = sf2 - diag(k(Xs,X) K^-1 k(X,Xs))
 *   lml = -0.5 (ys-c).alpha - 0.5 logdet K - 2.5 log(2 pi)
 *   lp  = sum_l [2 log l - 6 l] + [log sf2 - 0.15 sf2] + [0.1 log sn2 - 0.05 sn2]
 *   objective = (lml + lp)/5 */
static const double X5[5][2] = {{0.1, 0.2}, {0.4, 0.9}, {0.8, 0.3}, {0.55, 0.6}, {0.95, 0.85}};
static const double Y5[5] = {1.3, -0.4, 2.2, 0.1, -1.0};
static const double XS[3][2] = {{0.2, 0.3}, {0.5, 0.5}, {0.0, 1.0}};
static const double MEAN_REF[3] = {0.46861606322509525, -0.09226153338326054, 0.1310204203928389};
static const double VAR_REF[3] = {0.2724904619230517, 0.13310732225447208, 1.3514698620480359};
static const double OBJ_REF = -3.3011220071305942;

static void tiny(gp *g)
{
    cr_assert_eq(gp_init(g, 2, 2, NULL), 0); /* cap 2: set_data must grow it */
    cr_assert_eq(gp_set_data(g, &X5[0][0], Y5, 5, NULL), 0);
    double th[5] = {log(0.3), log(0.6), log(1.7), log(0.01), 0.2};
    cr_assert_eq(gp_set_theta(g, th, NULL), 0);
}

Test(gp, posterior_mean_and_variance_match_numpy)
{
    gp g;
    tiny(&g);
    cr_assert(fabs(g.ymean - 0.44000000000000006) < 1e-15);
    cr_assert(fabs(g.ystd - 1.2973048986263793) < 1e-14);
    double mean[3], var[3];
    gp_predict(&g, &XS[0][0], 3, mean, var);
    for (int j = 0; j < 3; j++) {
        cr_assert(fabs(mean[j] - MEAN_REF[j]) < 1e-11, "mean %d: %.17g", j, mean[j]);
        cr_assert(fabs(var[j] - VAR_REF[j]) < 1e-11, "var %d: %.17g", j, var[j]);
        double m1, v1;
        gp_predict1(&g, XS[j], &m1, &v1, NULL, NULL);
        cr_assert(fabs(m1 - MEAN_REF[j]) < 1e-11 && fabs(v1 - VAR_REF[j]) < 1e-11, "predict1 %d", j);
    }
    gp_free(&g);
}

Test(gp, objective_matches_numpy)
{
    gp g;
    tiny(&g);
    gp_fit_opts o;
    gp_fit_opts_default(&o);
    double th[5] = {log(0.3), log(0.6), log(1.7), log(0.01), 0.2};
    double f = gp_objective(&g, th, &o, NULL);
    cr_assert(fabs(f - OBJ_REF) < 1e-11, "objective %.17g", f);
    gp_free(&g);
}

/* n points of a smooth function of D=3 inputs from an unscrambled Sobol set */
static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void smooth_data(int n, double *X, double *y, int irrelevant)
{
    sobol s;
    cr_assert_eq(sobol_init(&s, 3, NULL, NULL), 0);
    sobol_skip(&s, 1);
    for (int i = 0; i < n; i++) {
        double *x = X + 3 * i;
        sobol_next(&s, x);
        y[i] = sin(9.0 * x[0]) + cos(8.0 * x[1]) + (irrelevant ? 0.0 : 0.5 * x[2]);
    }
    sobol_free(&s);
}

/* g over the n points X (n x 3), y, with room for exactly n. */
static void gp_with_data(gp *g, const double *X, const double *y, int n)
{
    cr_assert_eq(gp_init(g, 3, n, NULL), 0);
    cr_assert_eq(gp_set_data(g, X, y, n, NULL), 0);
}

/* test points of the comparisons below */
static const double XT3[3][3] = {{0.5, 0.5, 0.5}, {0.05, 0.9, 0.3}, {0.7, 0.2, 0.95}};

/* a (room for cap_a) over the first n points of X, y with theta th, and
 * an empty b (room for cap_b) to compare it with. */
static void gp_pair(gp *a, int cap_a, gp *b, int cap_b, const double *X, const double *y, int n,
                    const double *th)
{
    cr_assert_eq(gp_init(a, 3, cap_a, NULL), 0);
    cr_assert_eq(gp_init(b, 3, cap_b, NULL), 0);
    cr_assert_eq(gp_set_data(a, X, y, n, NULL), 0);
    cr_assert_eq(gp_set_theta(a, th, NULL), 0);
}

/* smooth_data's m points into X, y; a over the first n of them (theta th)
 * and an empty b, both with room for m + 8. */
static void smooth_pair(gp *a, gp *b, double *X, double *y, int m, int n, int irrelevant,
                        const double *th)
{
    smooth_data(m, X, y, irrelevant);
    gp_pair(a, m + 8, b, m + 8, X, y, n, th);
}

/* gp_predict1's gradients of the mean and variance at x (3 inputs)
 * against central differences, within tol + 10 tol |numeric|. */
static void assert_predict1_gradients(gp *g, const double *x, double tol, int point)
{
    double m, v, dm[3], dv[3];
    gp_predict1(g, x, &m, &v, dm, dv);
    for (int k = 0; k < 3; k++) {
        double h = 1e-6, xp[3], xm[3], mp, vp, mm, vm;
        memcpy(xp, x, sizeof xp);
        memcpy(xm, x, sizeof xm);
        xp[k] += h;
        xm[k] -= h;
        gp_predict1(g, xp, &mp, &vp, NULL, NULL);
        gp_predict1(g, xm, &mm, &vm, NULL, NULL);
        double nm = (mp - mm) / (2 * h), nv = (vp - vm) / (2 * h);
        cr_assert(fabs(dm[k] - nm) <= tol + 10 * tol * fabs(nm), "point %d dmean[%d] %.10g vs %.10g",
                  point, k, dm[k], nm);
        cr_assert(fabs(dv[k] - nv) <= tol + 10 * tol * fabs(nv), "point %d dvar[%d] %.10g vs %.10g",
                  point, k, dv[k], nv);
    }
}

/* a and b give the same posterior at the nx points xt (3 inputs each):
 * gp_predict's means and variances, and gp_predict1's means, variances
 * and (with grads) gradients; step names the case in messages. */
static void assert_same_posterior(gp *a, gp *b, const double *xt, int nx, int grads, int step)
{
    double ma[4], va[4], mb[4], vb[4];
    cr_assert_leq(nx, 4);
    gp_predict(a, xt, nx, ma, va);
    gp_predict(b, xt, nx, mb, vb);
    for (int j = 0; j < nx; j++) {
        cr_assert(fabs(ma[j] - mb[j]) < 1e-9, "step %d mean %d: %g vs %g", step, j, ma[j], mb[j]);
        cr_assert(fabs(va[j] - vb[j]) < 1e-9, "step %d var %d: %g vs %g", step, j, va[j], vb[j]);
        double m1, v1, dm1[3], dv1[3], m2, v2, dm2[3], dv2[3];
        gp_predict1(a, xt + 3 * j, &m1, &v1, dm1, dv1);
        gp_predict1(b, xt + 3 * j, &m2, &v2, dm2, dv2);
        cr_assert(fabs(m1 - m2) < 1e-9 && fabs(v1 - v2) < 1e-8, "step %d predict1 %d: %g %g vs %g %g",
                  step, j, m1, v1, m2, v2);
        for (int k = 0; grads && k < 3; k++)
            cr_assert(fabs(dv1[k] - dv2[k]) < 1e-7 * (1 + fabs(dv2[k])) &&
                          fabs(dm1[k] - dm2[k]) < 1e-7 * (1 + fabs(dm2[k])),
                      "step %d gradient %d,%d", step, j, k);
    }
}

Test(gp, objective_gradient_matches_central_differences)
{
    double X[12 * 3], y[12];
    smooth_data(12, X, y, 0);
    gp g;
    gp_with_data(&g, X, y, 12);
    for (int prior = 0; prior < GP_PRIOR_COUNT; prior++) {
        gp_fit_opts o;
        gp_fit_opts_default(&o);
        o.prior = prior;
        double th[6] = {log(0.4), log(0.25), log(0.9), log(1.3), log(0.02), -0.1}, gr[6];
        gp_objective(&g, th, &o, gr);
        for (int k = 0; k < 6; k++) {
            double h = 1e-5, tp[6], tm[6];
            memcpy(tp, th, sizeof th);
            memcpy(tm, th, sizeof th);
            tp[k] += h;
            tm[k] -= h;
            double num = (gp_objective(&g, tp, &o, NULL) - gp_objective(&g, tm, &o, NULL)) / (2 * h);
            cr_assert(fabs(gr[k] - num) <= 1e-6 + 1e-5 * fabs(num),
                      "prior %s theta[%d]: analytic %.10g numeric %.10g", gp_prior_str(prior), k,
                      gr[k], num);
        }
    }
    gp_free(&g);
}

Test(gp, predict_gradients_match_central_differences)
{
    double X[12 * 3], y[12];
    smooth_data(12, X, y, 0);
    gp g;
    gp_with_data(&g, X, y, 12);
    double th[6] = {log(0.4), log(0.25), log(0.9), log(1.3), log(0.02), -0.1};
    cr_assert_eq(gp_set_theta(&g, th, NULL), 0);
    double x[3] = {0.31, 0.77, 0.12};
    assert_predict1_gradients(&g, x, 1e-6, 0);
    gp_free(&g);
}

Test(gp, fit_gives_irrelevant_dimension_a_much_longer_lengthscale)
{
    enum { N = 40 };
    double X[N * 3], y[N];
    smooth_data(N, X, y, 1); /* x2 does not matter */
    for (int prior = 0; prior < GP_PRIOR_COUNT; prior++) {
        gp g;
        gp_with_data(&g, X, y, N);
        gp_fit_opts o;
        gp_fit_opts_default(&o);
        o.prior = prior;
        rng r;
        rng_seed(&r, 11, 0);
        tl_err e;
        cr_assert_eq(gp_fit(&g, &o, &r, &e), 0, "%s", e.msg);
        double l0 = exp(g.theta[0]), l1 = exp(g.theta[1]), l2 = exp(g.theta[2]);
        cr_assert(l2 > 5.0 * l0 && l2 > 5.0 * l1, "prior %s: lengthscales %g %g %g",
                  gp_prior_str(prior), l0, l1, l2);
        /* and the fit predicts a held-out point well */
        double xt[3] = {0.33, 0.61, 0.9}, m, v;
        gp_predict1(&g, xt, &m, &v, NULL, NULL);
        double want = sin(9 * 0.33) + cos(8 * 0.61), got = g.ymean + g.ystd * m;
        cr_assert(fabs(got - want) < 0.05, "prior %s: predicted %g want %g", gp_prior_str(prior),
                  got, want);
        gp_free(&g);
    }
}

Test(gp, fit_is_reproducible_by_seed)
{
    enum { N = 20 };
    double X[N * 3], y[N];
    smooth_data(N, X, y, 0);
    double th[2][6];
    for (int t = 0; t < 2; t++) {
        gp g;
        gp_with_data(&g, X, y, N);
        gp_fit_opts o;
        gp_fit_opts_default(&o);
        rng r;
        rng_seed(&r, 5, 1);
        cr_assert_eq(gp_fit(&g, &o, &r, NULL), 0);
        memcpy(th[t], g.theta, sizeof th[t]);
        gp_free(&g);
    }
    cr_assert_eq(memcmp(th[0], th[1], sizeof th[0]), 0);
}

Test(gp, append_equals_refactorizing_with_the_extra_row)
{
    enum { N = 10 };
    double X[(N + 1) * 3], y[N + 1];
    smooth_data(N + 1, X, y, 0);
    double th[6] = {log(0.4), log(0.25), log(0.9), log(1.3), log(1e-4), 0.1};
    gp a, b;
    gp_pair(&a, N, &b, N + 2, X, y, N, th); /* a full: append must grow it */
    double ys = (y[N] - a.ymean) / a.ystd;
    cr_assert_eq(gp_append(&a, X + 3 * N, ys, NULL), 0);
    cr_assert_eq(gp_append(&a, X, 0.3, NULL), 0); /* rank-one path (cap grew) */
    cr_assert_eq(gp_set_data(&b, X, y, N, NULL), 0); /* same standardization as a */
    memcpy(b.X + 3 * N, X + 3 * N, sizeof(double) * 3);
    b.y[N] = ys;
    memcpy(b.X + 3 * (N + 1), X, sizeof(double) * 3);
    b.y[N + 1] = 0.3;
    b.n = N + 2;
    cr_assert_eq(gp_set_theta(&b, th, NULL), 0);
    const double(*xt)[3] = XT3;
    assert_same_posterior(&a, &b, &xt[0][0], 2, 0, 0);
    gp_free(&a);
    gp_free(&b);
}

/* Between refits the engine drops its fantasies and adds new rows to the
 * factor (gp_update): the posterior, its gradients (through the inverse
 * kept in step) and alpha must equal a fresh factorization's, and a
 * changed first row or theta must fall back to one. */
Test(gp, update_equals_a_fresh_factorization_after_fantasies_and_new_rows)
{
    enum { N = 40, M = 46 };
    double X[M * 3], y[M], th[6] = {log(0.4), log(0.25), log(0.9), log(1.3), log(1e-4), 0.1};
    gp a, b;
    smooth_pair(&a, &b, X, y, M, N, 1, th);
    const double(*xt)[3] = XT3;
    double mu, var, dm[3], dv[3];
    gp_predict1(&a, xt[0], &mu, &var, dm, dv); /* the inverse exists: it must be kept in step */
    for (int f = 0; f < 3; f++) /* fantasies, as for pending trials */
        cr_assert_eq(gp_append(&a, xt[f], 0.1 * f, NULL), 0);
    for (int step = 0; step < 2; step++) {
        int n = step ? M - 2 : M; /* more rows, then fewer */
        const double *th2 = th;
        cr_assert_eq(gp_update(&a, X, y, n, th2, NULL), 0);
        cr_assert_eq(gp_set_data(&b, X, y, n, NULL), 0);
        cr_assert_eq(gp_set_theta(&b, th2, NULL), 0);
        assert_same_posterior(&a, &b, &xt[0][0], 3, 1, step);
        for (int i = 0; i < n; i++)
            cr_assert(fabs(a.alpha[i] - b.alpha[i]) < 1e-7 * (1 + fabs(b.alpha[i])), "alpha %d", i);
    }
    gp_free(&a);
    gp_free(&b);
}

static int keep_var_above(void *ctx, int j, double mean, double var_upper)
{
    return var_upper >= *(const double *)ctx;
}

/* gp_predict_keep: a point it drops has an exact variance below what keep
 * asked for (the bound held), a point it keeps has gp_predict's variance,
 * and the means are gp_predict's exactly.  300 rows: three blocks. */
Test(gp, pruned_prediction_keeps_exact_variances_and_drops_only_what_the_bound_allows)
{
    enum { N = 300, M = 600 };
    static double X[N * 3], y[N], Xs[M * 3];
    smooth_data(N, X, y, 0);
    rng r;
    rng_seed(&r, 9, 0);
    for (int i = 0; i < M * 3; i++)
        Xs[i] = rng_uniform(&r);
    double th[6] = {log(0.2), log(0.3), log(0.5), log(1.0), log(1e-4), 0.0};
    gp g;
    gp_with_data(&g, X, y, N);
    cr_assert_eq(gp_set_theta(&g, th, NULL), 0);
    static double m1[M], v1[M], m2[M], v2[M];
    gp_predict(&g, Xs, M, m1, v1);
    double sorted[M];
    memcpy(sorted, v1, sizeof sorted);
    qsort(sorted, M, sizeof *sorted, cmp_dbl);
    double tau = sorted[M / 2]; /* half the points cannot reach it */
    gp_predict_keep(&g, Xs, M, m2, v2, keep_var_above, &tau);
    int dropped = 0;
    for (int j = 0; j < M; j++) {
        cr_assert_eq(m1[j], m2[j], "mean %d", j);
        if (isnan(v2[j])) {
            dropped++;
            cr_assert_lt(v1[j], tau, "point %d dropped with variance %g >= %g", j, v1[j], tau);
        } else {
            cr_assert(fabs(v1[j] - v2[j]) < 1e-9, "var %d: %g vs %g", j, v1[j], v2[j]);
        }
    }
    cr_assert_gt(dropped, 0);
    gp_free(&g);
}

/* gp_exp_neg, the exp of the vectorized kernel rows: within 3 ulp of
 * libm's over the range the kernel uses, 1 at 0, tiny and not negative
 * past the underflow clamp. */
Test(gp, vectorized_exp_is_within_a_few_ulp_of_libm)
{
    double worst = 0.0;
    for (int i = 0; i <= 200000; i++) {
        double x = -707.0 * i / 200000.0 - 1e-7 * (i % 11);
        double a = gp_exp_neg(x), b = exp(x), e = fabs(a - b) / b;
        worst = e > worst ? e : worst;
    }
    cr_assert_lt(worst, 3 * 2.220446049250313e-16, "max relative error %g", worst);
    cr_assert_eq(gp_exp_neg(0.0), 1.0);
    cr_assert(gp_exp_neg(-900.0) >= 0.0 && gp_exp_neg(-900.0) < 1e-300);
}

/* gp_matern52_row (transposed inputs) against gp_matern52, point by point:
 * the kernel and its gradient factor to a few ulp. */
Test(gp, vectorized_kernel_rows_equal_the_scalar_kernel)
{
    enum { N = 301, D = 3 };
    static double X[N * D], XT[D * N], k[N], e[N], k2[N];
    double y[N], il2[D] = {1 / 0.04, 1 / 0.3, 1 / 2.0}, x[D] = {0.3, 0.6, 0.1}, sf2 = 1.7;
    smooth_data(N, X, y, 0);
    X[0] = x[0], X[1] = x[1], X[2] = x[2]; /* distance 0 */
    for (int i = 0; i < N; i++)
        for (int q = 0; q < D; q++)
            XT[q * N + i] = X[i * D + q];
    gp_matern52_row(x, XT, N, N, D, il2, sf2, k, e);
    gp_matern52_row(x, XT, N, N, D, il2, sf2, k2, NULL);
    for (int i = 0; i < N; i++) {
        double er, kr = gp_matern52(x, X + i * D, il2, D, sf2, &er);
        cr_assert(fabs(k[i] - kr) <= 4e-16 * kr + 1e-300, "k[%d] %.17g vs %.17g", i, k[i], kr);
        cr_assert(fabs(e[i] - er) <= 4e-16 * er + 1e-300, "e[%d] %.17g vs %.17g", i, e[i], er);
        cr_assert_eq(k[i], k2[i], "k[%d] with and without e", i);
    }
}

/* From GP_VEC_MIN_N rows predictions use the vectorized kernel and the
 * transposed inputs: predict1's gradients still match central
 * differences, its variance matches gp_predict's (inverse against
 * triangular solve), and rows appended or replaced by gp_update after a
 * prediction (the transposed copy then stale) give the posterior of a
 * fresh factorization. */
Test(gp, from_the_vector_threshold_predictions_and_updates_stay_exact)
{
    enum { N = GP_VEC_MIN_N + 20, M = N + 6 };
    static double X[M * 3], y[M];
    double th[6] = {log(0.2), log(0.3), log(0.5), log(1.0), log(1e-4), 0.0};
    gp a, b;
    smooth_pair(&a, &b, X, y, M, N, 0, th);
    const double(*xt)[3] = XT3;
    double m0, v0, mp[3], vp[3];
    gp_predict(&a, &xt[0][0], 3, mp, vp);
    for (int j = 0; j < 3; j++) {
        gp_predict1(&a, xt[j], &m0, &v0, NULL, NULL);
        cr_assert(fabs(m0 - mp[j]) < 1e-9 && fabs(v0 - vp[j]) < 1e-8, "point %d: predict1 %g %g, predict %g %g",
                  j, m0, v0, mp[j], vp[j]);
        assert_predict1_gradients(&a, xt[j], 1e-5, j);
    }
    for (int f = 0; f < 2; f++) /* fantasies after a prediction: the transposed copy goes stale */
        cr_assert_eq(gp_append(&a, xt[f], 0.1 * f, NULL), 0);
    cr_assert_eq(gp_update(&a, X, y, M, th, NULL), 0); /* fantasies replaced by new rows */
    cr_assert_eq(gp_set_data(&b, X, y, M, NULL), 0);
    cr_assert_eq(gp_set_theta(&b, th, NULL), 0);
    assert_same_posterior(&a, &b, &xt[0][0], 3, 0, 0);
    gp_free(&a);
    gp_free(&b);
}

Test(gp, bad_input_is_an_error_and_free_is_safe)
{
    gp g;
    tl_err e = {0};
    cr_assert_eq(gp_init(&g, 0, 4, &e), TL_EINPUT);
    gp_free(&g);
    gp_free(NULL);
    cr_assert_eq(gp_init(&g, 2, 4, &e), 0);
    double X[4] = {0, 0, 1, 1}, y[2] = {1.0, NAN};
    cr_assert_eq(gp_set_data(&g, X, y, 2, &e), TL_EINPUT);
    cr_assert(strstr(e.msg, "not finite") != NULL, "%s", e.msg);
    cr_assert_eq(gp_set_data(&g, X, y, 0, &e), TL_EINPUT);
    /* a constant target is fine: ystd falls back to 1 */
    y[1] = 1.0;
    cr_assert_eq(gp_set_data(&g, X, y, 2, &e), 0);
    cr_assert_eq(g.ystd, 1.0);
    gp_free(&g);
    gp_free(&g);
}

/* ---- the engine's model, read back ---- */

/* f on the unit square plus a categorical of 3 choices. */
static double bo_f(const double *u)
{
    int c = u[2] < 1.0 / 3 ? 0 : u[2] < 2.0 / 3 ? 1 : 2;
    return sin(5 * u[0]) + 0.2 * u[1] + 0.5 * c;
}

static void bo_engine(bo *b)
{
    bo_param p[3] = {{BO_FLOAT, 0}, {BO_INT, 6}, {BO_CAT, 3}};
    bo_config c;
    bo_config_default(&c);
    c.raw_samples = 256; /* small: fast */
    tl_err e = {0};
    cr_assert_eq(bo_init(b, 3, p, &c, 3, &e), 0, "%s", e.msg);
}

Test(gp, bo_fit_predict_and_lengthscales_of_the_engines_model)
{
    bo b;
    bo_engine(&b);
    rng r;
    rng_seed(&r, 1, 2);
    double U[20 * 3], y[20];
    for (int i = 0; i < 20; i++) {
        for (int k = 0; k < 3; k++)
            U[3 * i + k] = rng_uniform(&r);
        y[i] = bo_f(U + 3 * i);
    }
    tl_err e = {0};
    cr_assert_eq(bo_fit(&b, U, y, 20, &r, &e), 0, "%s", e.msg);
    cr_assert(bo_lengthscale(&b, 0) > 0 && bo_lengthscale(&b, 1) > 0);
    cr_assert(isnan(bo_lengthscale(&b, 2)), "a categorical has one lengthscale per choice");
    cr_assert(isnan(bo_lengthscale(&b, 3)) && isnan(bo_lengthscale(&b, -1)));
    double mean[20], sd[20], acq[20], worst = 0;
    bo_predict(&b, U, 20, mean, sd, acq);
    for (int i = 0; i < 20; i++) {
        worst = fmax(worst, fabs(mean[i] - y[i]));
        cr_assert(sd[i] >= 0 && isfinite(acq[i]), "point %d", i);
    }
    cr_assert_lt(worst, 0.1, "the mean at the observations: largest error %g", worst);
    /* the same point in another categorical bin predicts differently */
    double u2[6] = {U[0], U[1], 0.1, U[0], U[1], 0.9}, m2[2], s2[2];
    bo_predict(&b, u2, 2, m2, s2, NULL);
    cr_assert_gt(fabs(m2[0] - m2[1]), 0.3, "choices 0 and 2 differ by 1: %g vs %g", m2[0], m2[1]);
    y[3] = NAN;
    cr_assert_eq(bo_fit(&b, U, y, 20, &r, &e), TL_EINPUT);
    cr_assert(strstr(e.msg, "observation 3"), "%s", e.msg);
    cr_assert_eq(bo_fit(&b, U, y, 0, &r, &e), TL_EINPUT);
    bo_free(&b);
}

Test(gp, reading_the_model_between_suggestions_does_not_change_them)
{
    bo a, b;
    bo_engine(&a);
    bo_engine(&b);
    rng ra, rb, rf;
    rng_seed(&ra, 9, 0);
    rng_seed(&rb, 9, 0);
    rng_seed(&rf, 4, 0);
    double U[16 * 3], y[16], ua[3], ub[3], m[4], s[4], q[4];
    int obs[16];
    tl_err e = {0};
    for (int n = 0; n < 16; n++) {
        cr_assert_eq(bo_suggest(&a, U, y, obs, n, n, &ra, ua, &e), 0, "%s", e.msg);
        if (n >= 3) { /* b's model read back before each suggestion */
            cr_assert_eq(bo_fit(&b, U, y, n, &rf, &e), 0, "%s", e.msg);
            bo_predict(&b, U, n < 4 ? n : 4, m, s, q);
        }
        cr_assert_eq(bo_suggest(&b, U, y, obs, n, n, &rb, ub, &e), 0, "%s", e.msg);
        cr_assert(!memcmp(ua, ub, sizeof ua), "suggestion %d changed by reading the model", n);
        memcpy(U + 3 * n, ua, sizeof ua);
        y[n] = bo_f(ua);
        obs[n] = BO_OBS_COMPLETE;
    }
    cr_assert_eq(a.last_phase, 1, "the last suggestions come from the GP");
    bo_free(&a);
    bo_free(&b);
}
