/* hpo/bo.c: the Bayesian-optimization engine of hpo/bo.h.
 *
 * Hyperparameter fit schedule (the cost of one likelihood evaluation grows
 * as n^3; measured about 0.05 ms at n = 50 and 3 ms at n = 300 on one
 * core), chosen so a suggestion at 300 observations stays under 100 ms:
 *   n <= 60:   prior-mode start + warm start + 2 random starts, 150 evals each
 *   n <= 150:  prior-mode start + warm start, 100 evals each
 *   n >  150:  warm start only (prior mode if none), 30 evals, and only
 *              when n has grown by 5% since the last fit; in between the
 *              last hyperparameters are kept and the factorization and
 *              its inverse grow by the new rows in O(n^2) each (gp_update)
 * bo_fit makes the same fit, cold, for a reader that wants the model
 * (tunelab report), and bo_predict evaluates its posterior and the
 * acquisition exactly as the suggestion does: one model, one encoding, one
 * variance floor (hpo/bo_model.c, through hpo/bo_internal.h).  The local
 * optimization of the acquisition is hpo/bo_local.c.
 * From PRUNE_MIN_N observations the raw candidates that cannot reach the
 * top n_starts skip most of their variance computation (score_raw).
 * Does not do batch (q > 1) acquisitions, trust regions or input warping.
 */
#include "hpo/bo.h"
#include "hpo/bo_internal.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "hpo/acq.h"
#include "util/timer.h"

#define DESIGN_STREAM 0xB0DE51ULL

#define PRUNE_MIN_N 256 /* observations from which raw candidates are pruned (score_raw) */
#define PRUNE_SEED 64   /* candidates scored exactly to set the pruning threshold */

static const double pert_scale[3] = {0.05, 5e-3, 5e-4};

void bo_config_default(bo_config *c)
{
    c->acq = ACQ_LOGEI;
    c->xi = 0.0;
    c->beta = 2.0;
    c->n_init = 0;
    c->raw_samples = 2048;
    c->n_starts = 5;
    c->local_maxeval = 80;
    c->prior = GP_PRIOR_GAMMA;
}

static int design_reset(bo *b, tl_err *err)
{
    sobol_free(&b->design);
    rng r;
    rng_seed(&r, b->seed, DESIGN_STREAM);
    return sobol_init(&b->design, b->d, &r, err);
}

int bo_init(bo *b, int d, const bo_param *p, const bo_config *cfg, uint64_t seed, tl_err *err)
{
    memset(b, 0, sizeof *b);
    bo_config c;
    if (cfg)
        c = *cfg;
    else
        bo_config_default(&c);
    if (d < 1 || d > SOBOL_MAX_DIM)
        return tl_fail(err, TL_EINPUT, "bayes: %d parameters, need 1 to %d", d, SOBOL_MAX_DIM);
    if (c.acq < 0 || c.acq >= ACQ_KIND_COUNT)
        return tl_fail(err, TL_EINPUT, "bayes: acquisition: unknown kind %d", c.acq);
    if (!(c.xi >= 0.0) || !isfinite(c.xi))
        return tl_fail(err, TL_EINPUT, "bayes: xi: must be >= 0 (got %g)", c.xi);
    if (!(c.beta >= 0.0) || !isfinite(c.beta))
        return tl_fail(err, TL_EINPUT, "bayes: beta: must be >= 0 (got %g)", c.beta);
    if (c.n_init < 0 || c.raw_samples < 1 || c.n_starts < 0 || c.local_maxeval < 1)
        return tl_fail(err, TL_EINPUT, "bayes: n_init, raw_samples, n_starts and local_maxeval "
                                       "must be non-negative (raw_samples, local_maxeval >= 1)");
    if (c.prior < 0 || c.prior >= GP_PRIOR_COUNT)
        return tl_fail(err, TL_EINPUT, "bayes: unknown prior %d", c.prior);
    int D = 0;
    for (int i = 0; i < d; i++) {
        if (p[i].kind < 0 || p[i].kind >= BO_KIND_COUNT)
            return tl_fail(err, TL_EINPUT, "bayes: parameter %d: bad kind %d", i, p[i].kind);
        if (p[i].kind != BO_FLOAT && p[i].n < 1)
            return tl_fail(err, TL_EINPUT, "bayes: parameter %d: needs at least one level", i);
        D += p[i].kind == BO_CAT ? p[i].n : 1;
    }
    b->d = d;
    b->D = D;
    b->cfg = c;
    b->seed = seed;
    b->n_init = c.n_init > 0 ? c.n_init : (2 * d + 2 > 5 ? 2 * d + 2 : 5);
    int R = bo_nraw_total(b);
    b->p = malloc(sizeof *b->p * d);
    b->pos = malloc(sizeof *b->pos * d);
    b->free_idx = malloc(sizeof *b->free_idx * d);
    b->warm = malloc(sizeof *b->warm * GP_NTHETA(D));
    b->raw = malloc(sizeof *b->raw * (size_t)R * d);
    b->rawe = malloc(sizeof *b->rawe * (size_t)R * D);
    b->rmu = malloc(sizeof *b->rmu * R);
    b->rvar = malloc(sizeof *b->rvar * R);
    b->racq = malloc(sizeof *b->racq * R);
    b->order = malloc(sizeof *b->order * R);
    b->cand = malloc(sizeof *b->cand * (size_t)(c.n_starts + 1) * d);
    b->cacq = malloc(sizeof *b->cacq * (size_t)(c.n_starts + 1));
    if (!b->p || !b->pos || !b->free_idx || !b->warm || !b->raw || !b->rawe || !b->rmu ||
        !b->rvar || !b->racq || !b->order || !b->cand || !b->cacq)
        return tl_fail(err, TL_ERUNTIME, "bayes: out of memory");
    memcpy(b->p, p, sizeof *p * d);
    for (int i = 0, at = 0; i < d; i++) {
        b->pos[i] = at;
        at += p[i].kind == BO_CAT ? p[i].n : 1;
        if (p[i].kind != BO_CAT)
            b->free_idx[b->nfree++] = i;
    }
    int rc = design_reset(b, err);
    if (rc)
        return rc;
    return gp_init(&b->g, D, 64, err);
}

void bo_set_snap(bo *b, bo_snap_fn snap, void *ctx)
{
    b->snap = snap;
    b->snap_ctx = ctx;
}

void bo_free(bo *b)
{
    if (!b)
        return;
    free(b->p); free(b->pos); free(b->free_idx); free(b->warm); free(b->Xe); free(b->ye);
    free(b->cidx);
    free(b->raw); free(b->rawe); free(b->rmu); free(b->rvar); free(b->racq); free(b->order);
    free(b->cand); free(b->cacq);
    sobol_free(&b->design);
    gp_free(&b->g);
    memset(b, 0, sizeof *b);
}

static int bin_of(double u, int n)
{
    int k = (int)floor(u * n);
    return k < 0 ? 0 : k >= n ? n - 1 : k;
}

void bo_snap(const bo *b, double *u)
{
    for (int i = 0; i < b->d; i++)
        if (!isnan(u[i]))
            u[i] = u[i] < 0.0 ? 0.0 : u[i] > 1.0 ? 1.0 : u[i];
    if (b->snap) {
        b->snap(b->snap_ctx, u);
        return;
    }
    for (int i = 0; i < b->d; i++)
        if (b->p[i].kind != BO_FLOAT && !isnan(u[i]))
            u[i] = (bin_of(u[i], b->p[i].n) + 0.5) / b->p[i].n;
}

/* u (d) -> z (D): floats and ints as they are (NAN, inactive: 0.5),
 * categoricals one-hot (inactive: all zero). */
void bo_encode(const bo *b, const double *u, double *z)
{
    for (int i = 0; i < b->d; i++) {
        double *zi = z + b->pos[i];
        if (b->p[i].kind == BO_CAT) {
            memset(zi, 0, sizeof *zi * b->p[i].n);
            if (!isnan(u[i]))
                zi[bin_of(u[i], b->p[i].n)] = 1.0;
        } else {
            zi[0] = isnan(u[i]) ? 0.5 : u[i];
        }
    }
}

static int same_point(const double *a, const double *c, int d)
{
    for (int i = 0; i < d; i++) {
        if (isnan(a[i]) != isnan(c[i]))
            return 0;
        if (!isnan(a[i]) && fabs(a[i] - c[i]) > 1e-12)
            return 0;
    }
    return 1;
}

static int in_history(const double *u, const double *U, int n, int d)
{
    for (int i = 0; i < n; i++)
        if (same_point(u, U + (size_t)i * d, d))
            return 1;
    return 0;
}

/* Random snapped points until one is new (256 tries; else the last). */
static void random_point(bo *b, const double *U, int n, rng *r, double *u)
{
    for (int t = 0; t < 256; t++) {
        for (int i = 0; i < b->d; i++)
            u[i] = rng_uniform(r);
        bo_snap(b, u);
        if (!in_history(u, U, n, b->d))
            return;
    }
}

int bo_grow(bo *b, int n, tl_err *err)
{
    if (n <= b->cap)
        return 0;
    int cap = b->cap ? b->cap : 64;
    while (cap < n)
        cap *= 2;
    double *Xe = realloc(b->Xe, sizeof *Xe * (size_t)cap * b->D);
    if (Xe)
        b->Xe = Xe;
    double *ye = realloc(b->ye, sizeof *ye * (size_t)cap);
    if (ye)
        b->ye = ye;
    int *ci = realloc(b->cidx, sizeof *ci * (size_t)cap);
    if (ci)
        b->cidx = ci;
    if (!Xe || !ye || !ci)
        return tl_fail(err, TL_ERUNTIME, "bayes: out of memory for %d trials", n);
    b->cap = cap;
    return gp_reserve(&b->g, cap + 16, err);
}

/* The hyperparameter fit for nc observations from warm (NULL: cold), by
 * the schedule in the file comment.  Fills o; returns 1 to refit, 0 to
 * keep warm as it is (only update the factorization). */
int bo_fit_plan(const bo *b, int nc, const double *warm, gp_fit_opts *o)
{
    gp_fit_opts_default(o);
    o->prior = b->cfg.prior;
    o->warm = warm;
    if (nc <= 60) {
        o->restarts = 2;
        o->maxeval = 150;
        return 1;
    }
    if (nc <= 150) {
        o->restarts = 0;
        o->maxeval = 100;
        return 1;
    }
    o->restarts = 0;
    o->maxeval = 30;
    o->skip_prior_start = warm != NULL;
    return !warm || nc >= b->fit_n + b->fit_n / 20;
}

static int by_acq_desc(const void *pa, const void *pb, void *ctx)
{
    const double *v = ctx;
    double a = v[*(const int *)pa], c = v[*(const int *)pb];
    return a > c ? -1 : a < c ? 1 : (*(const int *)pa - *(const int *)pb);
}

/* Fits (or, between refits, incrementally updates) the GP on the nc
 * complete observations and adds the pending points as kriging believers.
 * Writes the best standardized value to *best.  Returns 0, or 1 when the
 * model could not be built. */
static int model_fit(bo *b, const double *U, const int *obs, int n, int nc, rng *r, double *best)
{
    int d = b->d, D = b->D;
    gp_fit_opts o;
    if (bo_fit_plan(b, nc, b->have_warm ? b->warm : NULL, &o)) {
        if (gp_set_data(&b->g, b->Xe, b->ye, nc, NULL))
            return 1;
        if (gp_fit(&b->g, &o, r, NULL)) {
            b->have_warm = 0;
            return 1;
        }
        b->fit_n = nc;
        b->last_fit_evals = b->g.nevals;
    } else if (gp_update(&b->g, b->Xe, b->ye, nc, b->warm, NULL)) {
        b->have_warm = 0;
        return 1;
    }
    memcpy(b->warm, b->g.theta, sizeof *b->warm * GP_NTHETA(D));
    b->have_warm = 1;
    *best = HUGE_VAL;
    for (int i = 0; i < nc; i++)
        *best = b->g.y[i] < *best ? b->g.y[i] : *best;
    double z[D];
    for (int i = 0; i < n; i++) { /* kriging believer for pending points */
        if (obs[i] != BO_OBS_PENDING)
            continue;
        double mu, var;
        bo_encode(b, U + (size_t)i * d, z);
        gp_predict1(&b->g, z, &mu, &var, NULL, NULL);
        if (gp_append(&b->g, z, mu, NULL))
            return 1;
    }
    return 0;
}

/* The acquisition at mean mu and variance var (floored), -1e300 when not
 * finite. */
static double acq_of(const bo *b, double mu, double var, double best)
{
    double sd = var > BO_VAR_FLOOR ? sqrt(var) : sqrt(BO_VAR_FLOOR);
    double a = acq_eval(b->cfg.acq, mu, sd, best, b->cfg.xi, b->cfg.beta, NULL, NULL);
    return isfinite(a) ? a : -1e300;
}

typedef struct prune_ctx {
    const bo *b;
    double best, threshold;
} prune_ctx;

/* gp_keep_fn: a candidate stays while its acquisition at its variance
 * bound reaches the threshold (or is not finite). */
static int keep_candidate(void *ctx, int j, double mu, double var_upper)
{
    const prune_ctx *c = ctx;
    double a = acq_of(c->b, mu, var_upper, c->best);
    return !(a < c->threshold);
}

/* Scores the R encoded candidates (b->rawe) into rmu, rvar, racq.  With
 * PRUNE_MIN_N observations or more and an acquisition that grows with the
 * variance (EI, log-EI, UCB: not PI), a seed set is scored exactly: the
 * first PRUNE_SEED perturbations of the best observations (after the R0
 * Sobol points; they hold the best candidates once the model knows where
 * the optimum is, so their n_starts-th best is a high bar), or the first
 * GP_PRED_CHUNK candidates when there are too few perturbations.  Its
 * n_starts-th best acquisition becomes a threshold, and the others pay for
 * their variance only while their acquisition bound reaches it
 * (gp_predict_keep): whatever can reach the top n_starts is scored
 * exactly, the rest get -1e300 (pick's fallback then sees them in index
 * order).  Below that, or for PI, every candidate exactly. */
static void score_raw(bo *b, int R, double best)
{
    int D = b->D, R0 = b->cfg.raw_samples, s0 = 0, s1 = GP_PRED_CHUNK < R ? GP_PRED_CHUNK : R;
    b->last_pruned = 0;
    if (b->g.n < PRUNE_MIN_N || b->cfg.acq == ACQ_PI || s1 == R || b->cfg.n_starts < 1) {
        gp_predict(&b->g, b->rawe, R, b->rmu, b->rvar);
        for (int j = 0; j < R; j++)
            b->racq[j] = acq_of(b, b->rmu[j], b->rvar[j], best);
        return;
    }
    if (R - R0 >= PRUNE_SEED && PRUNE_SEED >= b->cfg.n_starts) {
        s0 = R0;
        s1 = R0 + PRUNE_SEED;
    }
    int ns = s1 - s0;
    gp_predict(&b->g, b->rawe + (size_t)s0 * D, ns, b->rmu + s0, b->rvar + s0);
    for (int j = s0; j < s1; j++) {
        b->racq[j] = acq_of(b, b->rmu[j], b->rvar[j], best);
        b->order[j - s0] = j;
    }
    int k = b->cfg.n_starts < ns ? b->cfg.n_starts : ns;
    qsort_r(b->order, (size_t)ns, sizeof *b->order, by_acq_desc, b->racq);
    prune_ctx c = {b, best, b->racq[b->order[k - 1]]};
    if (s0 > 0) /* the candidates before the seed set */
        gp_predict_keep(&b->g, b->rawe, s0, b->rmu, b->rvar, keep_candidate, &c);
    if (s1 < R)
        gp_predict_keep(&b->g, b->rawe + (size_t)s1 * D, R - s1, b->rmu + s1, b->rvar + s1,
                        keep_candidate, &c);
    for (int j = 0; j < R; j++) {
        if (j == s0) {
            j = s1 - 1;
            continue;
        }
        b->last_pruned += isnan(b->rvar[j]);
        b->racq[j] = isnan(b->rvar[j]) ? -1e300 : acq_of(b, b->rmu[j], b->rvar[j], best);
    }
}

/* Raw candidates: R0 scrambled Sobol points, then perturbations of the
 * best 5 observations, snapped, encoded, scored and ordered by
 * acquisition (b->order).  Returns 0 or a tl_code. */
static int raw_candidates(bo *b, const double *U, const int *cidx, int nc, double best, rng *r,
                          tl_err *err)
{
    int d = b->d, D = b->D, R0 = b->cfg.raw_samples, R = bo_nraw_total(b);
    sobol s;
    int rc = sobol_init(&s, d, r, err);
    if (rc)
        return rc;
    for (int j = 0; j < R0; j++)
        sobol_next(&s, b->raw + (size_t)j * d);
    sobol_free(&s);
    int nb = nc < 5 ? nc : 5, top[5];
    for (int k = 0; k < nb; k++) { /* indices of the nb smallest values */
        int arg = -1;
        for (int i = 0; i < nc; i++) {
            int used = 0;
            for (int q = 0; q < k; q++)
                used |= top[q] == i;
            if (!used && (arg < 0 || b->ye[i] < b->ye[arg]))
                arg = i;
        }
        top[k] = arg;
    }
    for (int j = R0; j < R; j++) {
        const double *base = U + (size_t)cidx[top[(j - R0) % nb]] * d;
        double *u = b->raw + (size_t)j * d;
        for (int i = 0; i < d; i++) {
            if (isnan(base[i]))
                u[i] = rng_uniform(r);
            else if (b->p[i].kind == BO_CAT)
                u[i] = rng_uniform(r) < 0.8 ? base[i] : rng_uniform(r);
            else /* three scales, for coarse and fine moves near the best */
                u[i] = base[i] + pert_scale[(j - R0) / nb % 3] * rng_normal(r);
        }
    }
    for (int j = 0; j < R; j++) {
        bo_snap(b, b->raw + (size_t)j * d);
        bo_encode(b, b->raw + (size_t)j * d, b->rawe + (size_t)j * D);
    }
    score_raw(b, R, best);
    for (int j = 0; j < R; j++)
        b->order[j] = j;
    qsort_r(b->order, (size_t)R, sizeof *b->order, by_acq_desc, b->racq);
    return 0;
}

/* Fits the GP and maximizes the acquisition; writes the point to u_out.
 * Returns 0, 1 when the model could not be built or every candidate is in
 * the history (caller falls back), or a tl_code. */
static int model_suggest(bo *b, const double *U, const int *obs, const int *cidx, int n, int nc,
                         rng *r, double *u_out, tl_err *err)
{
    int d = b->d, R = bo_nraw_total(b);
    double t0 = tl_now(), best;
    if (model_fit(b, U, obs, n, nc, r, &best))
        return 1;
    double t1 = tl_now();
    b->last_fit_s = t1 - t0;
    int rc = raw_candidates(b, U, cidx, nc, best, r, err);
    if (rc)
        return rc;
    int ncand = bo_local_opt(b, best, err);
    if (ncand < 0)
        return TL_ERUNTIME;
    /* pick the best new point among local optima and raw candidates */
    int ci[ncand > 0 ? ncand : 1];
    for (int k = 0; k < ncand; k++)
        ci[k] = k;
    qsort_r(ci, (size_t)ncand, sizeof *ci, by_acq_desc, b->cacq);
    int a = 0, q = 0;
    while (a < ncand || q < R) {
        const double *u;
        if (a < ncand && (q >= R || b->cacq[ci[a]] >= b->racq[b->order[q]]))
            u = b->cand + (size_t)ci[a++] * d;
        else
            u = b->raw + (size_t)b->order[q++] * d;
        if (!in_history(u, U, n, d)) {
            memcpy(u_out, u, sizeof *u_out * d);
            b->last_acq_s = tl_now() - t1;
            return 0;
        }
    }
    b->last_acq_s = tl_now() - t1;
    return 1;
}

int bo_suggest(bo *b, const double *U, const double *y, const int *obs, int n, int number,
               rng *r, double *u_out, tl_err *err)
{
    if (n < 0 || (n > 0 && (!U || !y || !obs)) || !u_out || !r || number < 0)
        return tl_fail(err, TL_EINPUT, "bayes: bad arguments to bo_suggest");
    int rc = bo_grow(b, n, err);
    if (rc)
        return rc;
    int d = b->d, nc = 0;
    int *cidx = b->cidx;
    for (int i = 0; i < n; i++) {
        if (obs[i] < 0 || obs[i] >= BO_OBS_COUNT)
            return tl_fail(err, TL_EINPUT, "bayes: trial row %d: bad state %d", i, obs[i]);
        if (obs[i] == BO_OBS_COMPLETE && isfinite(y[i])) {
            bo_encode(b, U + (size_t)i * d, b->Xe + (size_t)nc * b->D);
            b->ye[nc] = y[i];
            cidx[nc++] = i;
        }
    }
    b->last_fit_s = b->last_acq_s = 0.0;
    b->last_fit_evals = 0;
    if (nc < b->n_init || nc < 2) {
        b->last_phase = 0;
        if ((uint64_t)number < b->design.index && (rc = design_reset(b, err)))
            return rc;
        sobol_skip(&b->design, (long)((uint64_t)number - b->design.index));
        sobol_next(&b->design, u_out);
        bo_snap(b, u_out);
        if (in_history(u_out, U, n, d)) {
            b->last_phase = 2;
            random_point(b, U, n, r, u_out);
        }
        return 0;
    }
    /* BLAS on this thread only: the matrices are small and a second
     * OpenBLAS thread spinning against the caller's threads costs more
     * than it saves.  Restored before returning. */
    int nt = omp_get_max_threads();
    omp_set_num_threads(1);
    b->last_phase = 1;
    b->g.nthreads = nt;
    rc = model_suggest(b, U, obs, cidx, n, nc, r, u_out, err);
    omp_set_num_threads(nt);
    if (rc == 1) {
        b->last_phase = 2;
        random_point(b, U, n, r, u_out);
        return 0;
    }
    return rc;
}
