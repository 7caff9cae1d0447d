/* hpo/gp_internal.h: what hpo/gp.c and hpo/gp_update.c share (not a public
 * interface: only these two files include it).  Shapes as hpo/gp.h. */
#ifndef TL_HPO_GP_INTERNAL_H
#define TL_HPO_GP_INTERNAL_H

#include <math.h>
#include <stdint.h>

#include "hpo/gp.h"

#define SQRT5 2.23606797749979

/* Matern-5/2 kernel between a and b (D) with inverse squared lengthscales
 * il2 (D) and signal variance sf2; writes the gradient factor
 * E = sf2 (5/3) (1 + s) exp(-s) to *e.  Cannot fail. */
static inline double gp_matern52(const double *a, const double *b, const double *il2, int D,
                                 double sf2, double *e)
{
    double r2 = 0.0;
    for (int k = 0; k < D; k++) {
        double d = a[k] - b[k];
        r2 += d * d * il2[k];
    }
    double s = SQRT5 * sqrt(r2), ex = exp(-s);
    *e = sf2 * (5.0 / 3.0) * (1.0 + s) * ex;
    return sf2 * (1.0 + s + s * s / 3.0) * ex;
}

/* Rows from which predictions (gp_predict, gp_predict_keep, gp_predict1)
 * compute their kernel values with gp_matern52_row, the vectorized exp:
 * below, with gp_matern52 and libm's exp, bit for bit as before, so small
 * studies replay exactly (the kernel values differ by about an ulp). */
#define GP_VEC_MIN_N 256

/* gcc if-converts the clamp in gp_exp_neg, and so vectorizes its loops,
 * only without -ftrapping-math; it changes no value computed here (clang's
 * default already). */
#if defined(__GNUC__) && !defined(__clang__)
#define GP_VEC_FN __attribute__((optimize("no-trapping-math")))
#else
#define GP_VEC_FN
#endif

/* exp(x) for x <= 0 (clamped at -708, where it underflows anyway) with a
 * relative error of a few ulp, branch-free so a loop over it vectorizes
 * (libm's exp does not): x = k ln2 + r, |r| <= ln2/2 (Cody-Waite split of
 * ln2, so k ln2 is exact), exp(r) by its degree-13 Taylor polynomial
 * (remainder below 1e-17), 2^k built in the exponent bits of the double
 * that rounded k (1.5 2^52 + k carries k in its low bits).  No fma: exact
 * to the same few ulp on every x86-64 build. */
GP_VEC_FN static inline double gp_exp_neg(double x)
{
    const double shift = 6755399441055744.0; /* 1.5 * 2^52 */
    x = x < -708.0 ? -708.0 : x;
    double t = x * 1.4426950408889634 + shift;
    double k = t - shift;
    double r = (x - k * 6.93147180369123816490e-01) - k * 1.90821492927058770002e-10;
    double p = 1.0 / 6227020800.0;
    p = p * r + 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    union { double d; uint64_t u; } v = { .d = t };
    v.u = (v.u + 1023) << 52; /* k + 1023 in [1, 1023]: 2^k, a normal double */
    return p * v.d;
}

/* The Matern-5/2 kernel between x (D) and each of the n rows of the data,
 * given transposed (XT: D rows of n inputs, leading dimension ld: one
 * input of every row is contiguous), into k (n) and, when e is not NULL,
 * the gradient factors into e (n): the same sums in the same order as
 * gp_matern52, but every loop runs over the rows, so each vectorizes, and
 * exp is gp_exp_neg.  Cannot fail. */
GP_VEC_FN static inline void gp_matern52_row(const double *x, const double *XT, int ld, int n,
                                             int D, const double *il2, double sf2, double *k,
                                             double *e)
{
    for (int i = 0; i < n; i++)
        k[i] = 0.0;
    for (int q = 0; q < D; q++) {
        const double *col = XT + (size_t)q * ld;
        double xq = x[q], w = il2[q];
        for (int i = 0; i < n; i++) {
            double d = xq - col[i];
            k[i] += d * d * w;
        }
    }
    if (e) {
        for (int i = 0; i < n; i++) {
            double s = SQRT5 * sqrt(k[i]), ex = gp_exp_neg(-s);
            e[i] = sf2 * (5.0 / 3.0) * (1.0 + s) * ex;
            k[i] = sf2 * (1.0 + s + s * s / 3.0) * ex;
        }
    } else {
        for (int i = 0; i < n; i++) {
            double s = SQRT5 * sqrt(k[i]);
            k[i] = sf2 * (1.0 + s + s * s / 3.0) * gp_exp_neg(-s);
        }
    }
}

/* Brings g->XT (the inputs transposed, for gp_matern52_row) up to the n
 * rows of X (rows past n, after a shrink, stay valid).  Writes only when
 * rows are missing: call it outside parallel regions first.  Cannot fail. */
static inline void gp_sync_xt(gp *g)
{
    if (g->xt_n >= g->n) /* only reads: safe in gp_predict1's threads once synced */
        return;
    for (int i = g->xt_n; i < g->n; i++)
        for (int q = 0; q < g->D; q++)
            g->XT[(size_t)q * g->cap + i] = g->X[(size_t)i * g->D + q];
    g->xt_n = g->n;
}

/* Builds K and E for rows [from, n) at theta, copies the lower triangle
 * plus noise into L and factorizes the whole, escalating jitter when
 * needed; invalidates Kinv.  Returns 0 or -1. */
int gp_factorize(gp *g, const double *theta, int from);

/* alpha = (K + sn2 I)^-1 (y - c) from the current factor. */
void gp_solve_alpha(gp *g, double c);

#endif
