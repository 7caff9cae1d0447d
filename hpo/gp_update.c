/* hpo/gp_update.c: growing and shrinking a factorized GP by rows at fixed
 * hyperparameters (hpo/gp.h: gp_append, gp_update).
 *
 * Between hyperparameter refits the bayes engine's data only grows at the
 * end (new complete trials) while the fantasies of pending trials sit
 * after them.  The leading block of a Cholesky factor is the factor of the
 * leading block, so the factor of the rows shared with the new data is
 * kept, the fantasies are dropped, and each new row extends it in O(n^2):
 *   l = L^-1 k,  d = sqrt(k(x, x) + sn2 + jitter - l.l)
 * instead of O(n^3) for a new factorization.  The explicit inverse that
 * gp_predict1 uses is kept in step when it is valid, by the block-inverse
 * formulas (s = d^2 is the Schur complement, b = K^-1 k):
 *   grow:   K'^-1 = [K^-1 + b b^T / s, -b / s; -b^T / s, 1 / s]
 *   shrink: K^-1  = P - q q^T / S  for K'^-1 = [P, q; q^T, S]
 * also O(n^2) per row, and computed whole again after KINV_MAX_UPDATES
 * rows.  Does not change theta; a row that would make the
 * matrix numerically singular falls back to a full factorization.
 */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "hpo/gp.h"
#include "hpo/gp_internal.h"

/* Row updates of the inverse before it is computed whole again (lazily, by
 * gp_inverse): rounding grows with each update, a new inverse costs one
 * O(n^3) dpotri, so every 64 updates costs little and bounds the drift. */
#define KINV_MAX_UPDATES 64

/* Appends row x (D) with target ys to a factorized g (room for it is
 * there): K, E, L and, when valid, Kinv.  Returns 0, or -1 when the new
 * pivot is not positive (g->n then includes the row, the factor does not:
 * refactorize). */
static int extend_one(gp *g, const double *x, double ys)
{
    int n = g->n, D = g->D, ld = g->cap;
    memcpy(g->X + (size_t)n * D, x, sizeof *x * D);
    if (g->xt_n > n) /* row n of the transposed copy is stale now */
        g->xt_n = n;
    g->y[n] = ys;
    g->n = n + 1;
    double il2[D];
    for (int k = 0; k < D; k++)
        il2[k] = exp(-2.0 * g->theta[k]);
    double sf2 = exp(g->theta[D]), sn2 = exp(g->theta[D + 1]), e;
    double *row = g->work + (size_t)g->maxthreads * GP_PRED_CHUNK * g->cap, *kc = row + ld,
           *b = kc + ld;
    for (int i = 0; i <= n; i++) {
        double kv = gp_matern52(g->X + (size_t)i * D, x, il2, D, sf2, &e);
        g->K[(size_t)i * ld + n] = kv;
        g->E[(size_t)i * ld + n] = e;
        row[i] = kc[i] = kv;
    }
    cblas_dtrsv(CblasColMajor, CblasLower, CblasNoTrans, CblasNonUnit, n, g->L, ld, row, 1);
    double s = 0.0;
    for (int i = 0; i < n; i++)
        s += row[i] * row[i];
    double d2 = row[n] + sn2 + g->jitter - s;
    if (!(d2 > 1e-12 * sf2)) {
        g->kinv_ok = 0;
        return -1;
    }
    for (int i = 0; i < n; i++)
        g->L[(size_t)i * ld + n] = row[i];
    g->L[(size_t)n * ld + n] = sqrt(d2);
    if (g->kinv_ok && ++g->kinv_updates > KINV_MAX_UPDATES)
        g->kinv_ok = 0;
    if (g->kinv_ok) {
        cblas_dsymv(CblasColMajor, CblasLower, n, 1.0, g->Kinv, ld, kc, 1, 0.0, b, 1);
        cblas_dsyr(CblasColMajor, CblasLower, n, 1.0 / d2, b, 1, g->Kinv, ld);
        for (int i = 0; i < n; i++)
            g->Kinv[(size_t)i * ld + n] = -b[i] / d2;
        g->Kinv[(size_t)n * ld + n] = 1.0 / d2;
    }
    return 0;
}

/* Drops the last rows of a factorized g down to m (m >= 1). */
static void shrink_to(gp *g, int m)
{
    int ld = g->cap;
    double *q = g->work + (size_t)g->maxthreads * GP_PRED_CHUNK * g->cap;
    for (int r = g->n - 1; r >= m; r--) {
        if (g->kinv_ok && ++g->kinv_updates > KINV_MAX_UPDATES)
            g->kinv_ok = 0;
        if (g->kinv_ok) {
            for (int i = 0; i < r; i++)
                q[i] = g->Kinv[(size_t)i * ld + r];
            double S = g->Kinv[(size_t)r * ld + r];
            cblas_dsyr(CblasColMajor, CblasLower, r, -1.0 / S, q, 1, g->Kinv, ld);
        }
        g->n = r;
    }
}

int gp_append(gp *g, const double *x, double ys, tl_err *err)
{
    int n = g->n;
    if (n + 1 > g->cap || !g->fact_ok) {
        int rc = gp_reserve(g, n + 1 > g->cap ? 2 * g->cap : g->cap, err);
        if (rc)
            return rc;
        memcpy(g->X + (size_t)n * g->D, x, sizeof *x * g->D);
        if (g->xt_n > n)
            g->xt_n = n;
        g->y[n] = ys;
        g->n = n + 1;
        return gp_set_theta(g, g->theta, err);
    }
    if (extend_one(g, x, ys))
        return gp_set_theta(g, g->theta, err); /* numerically singular: full refactor */
    gp_solve_alpha(g, g->theta[g->D + 2]);
    return 0;
}

int gp_update(gp *g, const double *X, const double *y, int n, const double *theta, tl_err *err)
{
    int D = g->D, m = 0;
    if (g->fact_ok && n <= g->cap && n >= 1 &&
        memcmp(theta, g->theta, sizeof *theta * GP_NTHETA(D)) == 0) {
        int lim = g->n < n ? g->n : n;
        while (m < lim && memcmp(g->X + (size_t)m * D, X + (size_t)m * D, sizeof *X * D) == 0)
            m++;
    }
    if (m < 1) { /* nothing to keep */
        int rc = gp_set_data(g, X, y, n, err);
        return rc ? rc : gp_set_theta(g, theta, err);
    }
    shrink_to(g, m);
    for (int i = m; i < n; i++)
        if (extend_one(g, X + (size_t)i * D, 0.0)) {
            int rc = gp_set_data(g, X, y, n, err);
            return rc ? rc : gp_set_theta(g, theta, err);
        }
    int kinv = g->kinv_ok;
    int rc = gp_set_data(g, X, y, n, err); /* same rows: only the targets are standardized again */
    if (rc)
        return rc;
    g->fact_ok = 1;
    g->kinv_ok = kinv;
    gp_solve_alpha(g, theta[D + 2]);
    return 0;
}
