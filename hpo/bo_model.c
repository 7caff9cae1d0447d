/* hpo/bo_model.c: the bayes engine's model read back (hpo/bo.h: bo_fit,
 * bo_predict, bo_lengthscale): the fit bo_suggest makes, cold, and its
 * posterior and acquisition, through the same encoding, fit schedule and
 * variance floor (hpo/bo_internal.h).  Does not suggest anything.
 */
#include <math.h>
#include <omp.h>

#include "hpo/acq.h"
#include "hpo/bo.h"
#include "hpo/bo_internal.h"

int bo_fit(bo *b, const double *U, const double *y, int n, rng *r, tl_err *err)
{
    if (n < 1 || !U || !y || !r)
        return tl_fail(err, TL_EINPUT, "bayes: bo_fit needs at least one observation");
    for (int i = 0; i < n; i++)
        if (!isfinite(y[i]))
            return tl_fail(err, TL_EINPUT, "bayes: observation %d is not finite", i);
    int rc = bo_grow(b, n, err);
    if (rc)
        return rc;
    for (int i = 0; i < n; i++) {
        bo_encode(b, U + (size_t)i * b->d, b->Xe + (size_t)i * b->D);
        b->ye[i] = y[i];
    }
    gp_fit_opts o;
    bo_fit_plan(b, n, NULL, &o);
    int nt = omp_get_max_threads(); /* as bo_suggest: BLAS on this thread */
    omp_set_num_threads(1);
    b->g.nthreads = nt;
    rc = gp_set_data(&b->g, b->Xe, b->ye, n, err);
    if (!rc)
        rc = gp_fit(&b->g, &o, r, err);
    omp_set_num_threads(nt);
    return rc ? tl_prefix(err, "bayes: fitting the GP to %d observations", n) : 0;
}

void bo_predict(bo *b, const double *U, int m, double *mean, double *sd, double *acq)
{
    int d = b->d, D = b->D, R = bo_nraw_total(b);
    double best = HUGE_VAL;
    for (int i = 0; i < b->g.n; i++)
        best = b->g.y[i] < best ? b->g.y[i] : best;
    int nt = omp_get_max_threads();
    omp_set_num_threads(1);
    for (int at = 0; at < m; at += R) { /* R points at a time through the candidate buffers */
        int c = m - at < R ? m - at : R;
        for (int q = 0; q < c; q++)
            bo_encode(b, U + (size_t)(at + q) * d, b->rawe + (size_t)q * D);
        gp_predict(&b->g, b->rawe, c, b->rmu, b->rvar);
        for (int q = 0; q < c; q++) {
            double v = b->rvar[q];
            mean[at + q] = b->g.ymean + b->g.ystd * b->rmu[q];
            sd[at + q] = b->g.ystd * (v > 0 ? sqrt(v) : 0.0);
            if (acq)
                acq[at + q] = acq_eval(b->cfg.acq, b->rmu[q], v > BO_VAR_FLOOR ? sqrt(v) : sqrt(BO_VAR_FLOOR),
                                       best, b->cfg.xi, b->cfg.beta, NULL, NULL);
        }
    }
    omp_set_num_threads(nt);
}

double bo_lengthscale(const bo *b, int i)
{
    if (i < 0 || i >= b->d || b->p[i].kind == BO_CAT || !b->g.theta)
        return NAN;
    return exp(b->g.theta[b->pos[i]]);
}
