/* hpo/bo_local.c: the bayes engine's local optimization of the
 * acquisition (step 4 of hpo/bo.h): L-BFGS in box bounds (NLopt) over the
 * float and int coordinates from the best raw candidates, ints relaxed,
 * categoricals held at the start's choice, with the gradient of the
 * acquisition through the GP's posterior gradients (gp_predict1).  The
 * starts are independent, so they run on the GP's threads, each with its
 * own NLopt object and workspace, and give the same points for any thread
 * count.  Does not: optimize categoricals, or batches of points.
 */
#include <math.h>
#include <nlopt.h>
#include <omp.h>
#include <string.h>

#include "hpo/acq.h"
#include "hpo/bo.h"
#include "hpo/bo_internal.h"

/* From LOCAL_LOOSE_N observations each evaluation costs O(n^2) (a
 * product with the n x n inverse), so the local runs stop earlier: at a
 * relative change of 1e-6 instead of 1e-12 (EI's runs then take about
 * half the evaluations and reach the same optima to 5 digits) and after
 * at most LOCAL_LOOSE_MAXEVAL evaluations (log-EI's runs at 1,000
 * observations used all 80 without converging: the inverse-based
 * variance is noisy where it is tiny).  Below, as before. */
#define LOCAL_LOOSE_N 256
#define LOCAL_LOOSE_MAXEVAL 40

typedef struct acq_ctx {
    bo *b;
    double best;
    double *u;      /* (d) full point; free coordinates overwritten */
    double *z;      /* (D) encoded */
    double *dm, *dv;/* (D) */
    double bestv;
    double *bestx;  /* (nfree) */
} acq_ctx;

/* Acquisition at encoded z with its gradient w.r.t. z (dz may be NULL). */
static double acq_at(bo *b, const double *z, double best, double *dz, double *dm, double *dv)
{
    double mu, var;
    gp_predict1(&b->g, z, &mu, &var, dz ? dm : NULL, dz ? dv : NULL);
    double s = var > BO_VAR_FLOOR ? sqrt(var) : sqrt(BO_VAR_FLOOR), gmu, gs;
    double a = acq_eval(b->cfg.acq, mu, s, best, b->cfg.xi, b->cfg.beta, &gmu, &gs);
    if (dz)
        for (int k = 0; k < b->D; k++)
            dz[k] = gmu * dm[k] + (var > BO_VAR_FLOOR ? gs * dv[k] / (2.0 * s) : 0.0);
    return a;
}

static double nl_acq(unsigned nf, const double *x, double *grad, void *data)
{
    acq_ctx *c = data;
    bo *b = c->b;
    for (unsigned j = 0; j < nf; j++)
        c->u[b->free_idx[j]] = x[j];
    bo_encode(b, c->u, c->z);
    double dz[b->D];
    double a = acq_at(b, c->z, c->best, grad ? dz : NULL, c->dm, c->dv);
    if (!isfinite(a))
        a = -1e300;
    if (a > c->bestv) {
        c->bestv = a;
        memcpy(c->bestx, x, sizeof *x * nf);
    }
    if (grad)
        for (unsigned j = 0; j < nf; j++)
            grad[j] = -dz[b->pos[b->free_idx[j]]];
    return -a;
}

/* One L-BFGS run of opt from the unit point start (d) over the free
 * coordinates; writes the snapped best point seen to cu (d) and its
 * acquisition to *acq.  Returns 0 when no finite value was seen, else 1. */
static int local_run(bo *b, nlopt_opt opt, acq_ctx *c, const double *start, double *cu, double *acq)
{
    int d = b->d, nf = b->nfree;
    double x[nf], f;
    memcpy(c->u, start, sizeof *c->u * d);
    for (int j = 0; j < nf; j++) {
        double v = start[b->free_idx[j]];
        x[j] = isnan(v) ? 0.5 : v;
    }
    c->bestv = -HUGE_VAL;
    nlopt_optimize(opt, x, &f);
    if (!(c->bestv > -HUGE_VAL))
        return 0;
    memcpy(cu, start, sizeof *cu * d);
    for (int j = 0; j < nf; j++)
        cu[b->free_idx[j]] = c->bestx[j];
    bo_snap(b, cu);
    bo_encode(b, cu, c->z);
    *acq = acq_at(b, c->z, c->best, NULL, c->dm, c->dv);
    return 1;
}

/* L-BFGS from the best n_starts raw points over the free coordinates, the
 * starts spread over the GP's threads (each start is independent, so the
 * result does not depend on the thread count); the snapped optima and
 * their acquisitions go to b->cand, b->cacq in start order.  Returns how
 * many, or -1 (err filled). */
int bo_local_opt(bo *b, double best, tl_err *err)
{
    int d = b->d, D = b->D, R = bo_nraw_total(b);
    int ns = b->cfg.n_starts < R ? b->cfg.n_starts : R, nf = b->nfree, ncand = 0, failed = 0;
    if (nf == 0 || ns == 0)
        return 0;
    gp_inverse(&b->g); /* before the threads share it */
    int nt = b->g.nthreads < b->g.maxthreads ? b->g.nthreads : b->g.maxthreads;
    nt = nt < ns ? nt : ns;
    double acqv[ns];
    int ok[ns];
    #pragma omp parallel num_threads(nt) if (nt > 1 && b->g.n >= 64)
    {
        double lb[nf], ub[nf], bx[nf], u[d], z[D], dm[D], dv[D];
        for (int j = 0; j < nf; j++) {
            lb[j] = 0.0;
            ub[j] = 1.0;
        }
        acq_ctx c = {b, best, u, z, dm, dv, -HUGE_VAL, bx};
        nlopt_opt opt = nlopt_create(NLOPT_LD_LBFGS, (unsigned)nf);
        if (opt) {
            nlopt_set_lower_bounds(opt, lb);
            nlopt_set_upper_bounds(opt, ub);
            nlopt_set_min_objective(opt, nl_acq, &c);
            int me = b->cfg.local_maxeval;
            nlopt_set_maxeval(opt, b->g.n >= LOCAL_LOOSE_N && me > LOCAL_LOOSE_MAXEVAL ? LOCAL_LOOSE_MAXEVAL : me);
            nlopt_set_ftol_rel(opt, b->g.n >= LOCAL_LOOSE_N ? 1e-6 : 1e-12);
            nlopt_set_xtol_abs1(opt, 1e-10);
        } else {
            #pragma omp atomic write
            failed = 1;
        }
        #pragma omp for schedule(dynamic, 1)
        for (int k = 0; k < ns; k++)
            ok[k] = opt && local_run(b, opt, &c, b->raw + (size_t)b->order[k] * d,
                                     b->cand + (size_t)k * d, &acqv[k]);
        if (opt)
            nlopt_destroy(opt);
    }
    if (failed)
        return tl_fail(err, TL_ERUNTIME, "bayes: nlopt_create failed"), -1;
    for (int k = 0; k < ns; k++) { /* keep the starts that saw a finite value, in order */
        if (!ok[k])
            continue;
        if (ncand != k)
            memcpy(b->cand + (size_t)ncand * d, b->cand + (size_t)k * d, sizeof *b->cand * d);
        b->cacq[ncand++] = acqv[k];
    }
    return ncand;
}
