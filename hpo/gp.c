/* hpo/gp.c: GP regression with a Matern-5/2 ARD kernel (see hpo/gp.h).
 *
 * Matrices are column-major with leading dimension cap, so a row appended
 * by gp_append extends the Cholesky factor in O(n^2) without moving data.
 * With r = sqrt(sum_k (x_k - x'_k)^2 / l_k^2) and s = sqrt(5) r:
 *   k(r)        = sf2 (1 + s + s^2/3) exp(-s)
 *   dk/dlog l_k = E (x_k - x'_k)^2 / l_k^2,  E = sf2 (5/3) (1 + s) exp(-s)
 *   dk/dx_k     = -E (x_k - x'_k) / l_k^2
 * and d(lml)/dtheta = 1/2 tr((alpha alpha^T - K^-1) dK/dtheta).
 * Does not fit non-stationary kernels, input warping or heteroscedastic
 * noise.
 */
#include "hpo/gp.h"
#include "hpo/gp_internal.h"

#include <cblas.h>
#include <math.h>
#include <nlopt.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

/* LAPACK in libopenblas */
void dpotrf_(const char *uplo, const int *n, double *a, const int *lda, int *info);
void dpotrs_(const char *uplo, const int *n, const int *nrhs, const double *a, const int *lda,
             double *b, const int *ldb, int *info);
void dpotri_(const char *uplo, const int *n, double *a, const int *lda, int *info);

#define LOG2PI 1.8378770664093453
#define LS_MIN 0.005
#define LS_MAX 50.0
#define SF2_MIN 1e-3
#define SF2_MAX 1e3
#define SN2_MAX 10.0
#define MEAN_MAX 10.0

const char *gp_prior_str(int prior)
{
    switch (prior) {
    case GP_PRIOR_GAMMA: return "gamma";
    case GP_PRIOR_DIMSCALED: return "dimscaled";
    default: return "?";
    }
}

void gp_fit_opts_default(gp_fit_opts *o)
{
    o->prior = GP_PRIOR_GAMMA;
    o->restarts = 2;
    o->maxeval = 150;
    o->noise_min = 1e-10;
    o->warm = NULL;
    o->skip_prior_start = 0;
}

static size_t work_size(int cap, int nt)
{
    return (size_t)nt * GP_PRED_CHUNK * cap + 4 * (size_t)cap;
}

int gp_init(gp *g, int D, int cap, tl_err *err)
{
    memset(g, 0, sizeof *g);
    if (D < 1 || cap < 1)
        return tl_fail(err, TL_EINPUT, "gp: need D >= 1 and cap >= 1 (got %d, %d)", D, cap);
    g->D = D;
    g->theta = calloc(GP_NTHETA(D), sizeof *g->theta);
    if (!g->theta)
        return tl_fail(err, TL_ERUNTIME, "gp: out of memory");
    for (int k = 0; k < D; k++)
        g->theta[k] = log(0.5);
    g->theta[D + 1] = log(1e-3);
    g->ystd = 1.0;
    g->maxthreads = omp_get_max_threads();
    g->nthreads = 1;
    return gp_reserve(g, cap, err);
}

int gp_reserve(gp *g, int cap, tl_err *err)
{
    if (cap <= g->cap)
        return 0;
    size_t c2 = (size_t)cap * cap;
    double *X = malloc(sizeof *X * (size_t)cap * g->D), *y = malloc(sizeof *y * cap);
    double *K = malloc(sizeof *K * c2), *E = malloc(sizeof *E * c2);
    double *L = malloc(sizeof *L * c2), *Ki = malloc(sizeof *Ki * c2);
    double *alpha = malloc(sizeof *alpha * cap), *work = malloc(sizeof *work * work_size(cap, g->maxthreads));
    double *XT = malloc(sizeof *XT * (size_t)cap * g->D);
    if (!X || !y || !K || !E || !L || !Ki || !alpha || !work || !XT) {
        free(X); free(y); free(K); free(E); free(L); free(Ki); free(alpha); free(work); free(XT);
        return tl_fail(err, TL_ERUNTIME, "gp: out of memory for %d points", cap);
    }
    if (g->n) {
        memcpy(X, g->X, sizeof *X * (size_t)g->n * g->D);
        memcpy(y, g->y, sizeof *y * g->n);
    }
    free(g->X); free(g->y); free(g->K); free(g->E); free(g->L); free(g->Kinv);
    free(g->alpha); free(g->work); free(g->XT);
    g->X = X; g->XT = XT; g->xt_n = 0; g->y = y; g->K = K; g->E = E; g->L = L; g->Kinv = Ki;
    g->alpha = alpha; g->work = work;
    g->cap = cap;
    g->fact_ok = g->kinv_ok = 0;
    return 0;
}

void gp_free(gp *g)
{
    if (!g)
        return;
    free(g->X); free(g->y); free(g->theta); free(g->K); free(g->E); free(g->L);
    free(g->Kinv); free(g->alpha); free(g->work); free(g->XT);
    memset(g, 0, sizeof *g);
}

int gp_set_data(gp *g, const double *X, const double *y, int n, tl_err *err)
{
    if (n < 1)
        return tl_fail(err, TL_EINPUT, "gp: no observations");
    double s = 0.0, ss = 0.0;
    for (int i = 0; i < n; i++) {
        if (!isfinite(y[i]))
            return tl_fail(err, TL_EINPUT, "gp: observation %d is not finite", i);
        s += y[i];
    }
    int rc = gp_reserve(g, n, err);
    if (rc)
        return rc;
    double mean = s / n;
    for (int i = 0; i < n; i++)
        ss += (y[i] - mean) * (y[i] - mean);
    double sd = n > 1 ? sqrt(ss / (n - 1)) : 0.0;
    if (!(sd > 1e-12 * (1.0 + fabs(mean))))
        sd = 1.0;
    g->ymean = mean;
    g->ystd = sd;
    g->n = n;
    g->fact_ok = 0;
    g->xt_n = 0;
    memcpy(g->X, X, sizeof *X * (size_t)n * g->D);
    for (int i = 0; i < n; i++)
        g->y[i] = (y[i] - mean) / sd;
    return 0;
}

/* Builds K and E for rows [from, n) (columns 0..i) at theta, copies the
 * lower triangle plus noise into L and factorizes, escalating jitter when
 * needed.  Returns 0 or -1. */
int gp_factorize(gp *g, const double *theta, int from)
{
    int D = g->D, n = g->n, ld = g->cap;
    double il2[D];
    for (int k = 0; k < D; k++)
        il2[k] = exp(-2.0 * theta[k]);
    double sf2 = exp(theta[D]), sn2 = exp(theta[D + 1]);
    #pragma omp parallel for num_threads(g->nthreads) schedule(dynamic, 16) if (n >= 64)
    for (int j = from; j < n; j++)
        for (int i = 0; i <= j; i++) {
            double e, kv = gp_matern52(g->X + (size_t)i * D, g->X + (size_t)j * D, il2, D, sf2, &e);
            /* store in column-major lower: element (j, i) with j >= i */
            g->K[(size_t)i * ld + j] = kv;
            g->E[(size_t)i * ld + j] = e;
        }
    double jitter = 0.0;
    for (int attempt = 0; attempt < 8; attempt++) {
        for (int i = 0; i < n; i++) {
            memcpy(g->L + (size_t)i * ld + i, g->K + (size_t)i * ld + i,
                   sizeof(double) * (size_t)(n - i));
            g->L[(size_t)i * ld + i] += sn2 + jitter;
        }
        int info = 0;
        dpotrf_("L", &n, g->L, &ld, &info);
        if (info == 0) {
            g->jitter = jitter;
            g->kinv_ok = 0;
            return 0;
        }
        jitter = jitter == 0.0 ? 1e-9 * sf2 : jitter * 10.0;
    }
    return -1;
}

/* alpha = (K + sn2 I)^-1 (y - c) from the current factor. */
void gp_solve_alpha(gp *g, double c)
{
    int n = g->n, ld = g->cap, one = 1, info = 0;
    for (int i = 0; i < n; i++)
        g->alpha[i] = g->y[i] - c;
    dpotrs_("L", &n, &one, g->L, &ld, g->alpha, &n, &info);
}

int gp_set_theta(gp *g, const double *theta, tl_err *err)
{
    if (theta != g->theta)
        memcpy(g->theta, theta, sizeof *theta * GP_NTHETA(g->D));
    g->fact_ok = 0;
    if (gp_factorize(g, g->theta, 0))
        return tl_fail(err, TL_ERUNTIME, "gp: kernel matrix not positive definite even with jitter");
    gp_solve_alpha(g, g->theta[g->D + 2]);
    g->fact_ok = 1;
    return 0;
}

/* Log prior of the natural value v = exp(t) of one hyperparameter and its
 * derivative with respect to t (GPyTorch convention: density of v, no
 * Jacobian). */
static double gamma_lp(double a, double b, double t, double *dt)
{
    double v = exp(t);
    *dt = (a - 1.0) - b * v;
    return (a - 1.0) * t - b * v;
}

static double lognormal_lp(double mu, double sd, double t, double *dt)
{
    double z = (t - mu) / sd;
    *dt = -1.0 - z / sd;
    return -t - 0.5 * z * z;
}

static double log_prior(int prior, int D, const double *theta, double *grad)
{
    double lp = 0.0, d;
    for (int k = 0; k < D; k++) {
        if (prior == GP_PRIOR_DIMSCALED)
            lp += lognormal_lp(1.4142135623730951 + 0.5 * log((double)D), 1.7320508075688772,
                               theta[k], &d);
        else
            lp += gamma_lp(3.0, 6.0, theta[k], &d);
        if (grad)
            grad[k] += d;
    }
    lp += gamma_lp(2.0, 0.15, theta[D], &d);
    if (grad)
        grad[D] += d;
    if (prior == GP_PRIOR_DIMSCALED)
        lp += lognormal_lp(-4.0, 1.0, theta[D + 1], &d);
    else
        lp += gamma_lp(1.1, 0.05, theta[D + 1], &d);
    if (grad)
        grad[D + 1] += d;
    return lp;
}

double gp_objective(gp *g, const double *theta, const gp_fit_opts *o, double *grad)
{
    int D = g->D, n = g->n, ld = g->cap;
    g->fact_ok = 0; /* factorized at this theta, not g->theta */
    if (gp_factorize(g, theta, 0))
        return -HUGE_VAL;
    double c = theta[D + 2];
    gp_solve_alpha(g, c);
    double quad = 0.0, logdet = 0.0;
    for (int i = 0; i < n; i++) {
        quad += (g->y[i] - c) * g->alpha[i];
        logdet += log(g->L[(size_t)i * ld + i]);
    }
    double lml = -0.5 * quad - logdet - 0.5 * n * LOG2PI;
    if (grad) {
        int NT = GP_NTHETA(D);
        memset(grad, 0, sizeof *grad * NT);
        for (int i = 0; i < n; i++)
            memcpy(g->Kinv + (size_t)i * ld + i, g->L + (size_t)i * ld + i,
                   sizeof(double) * (size_t)(n - i));
        int info = 0;
        dpotri_("L", &n, g->Kinv, &ld, &info);
        g->kinv_ok = 1;
        g->kinv_updates = 0;
        double il2[D], gl[D], gsf = 0.0, tr = 0.0, ga = 0.0;
        for (int k = 0; k < D; k++) {
            il2[k] = exp(-2.0 * theta[k]);
            gl[k] = 0.0;
        }
        #pragma omp parallel for num_threads(g->nthreads) schedule(dynamic, 16) if (n >= 64) \
            reduction(+ : gl[:D], gsf, tr, ga)
        for (int i = 0; i < n; i++) {
            const double *xi = g->X + (size_t)i * D;
            const double *Ki = g->Kinv + (size_t)i * ld, *Kc = g->K + (size_t)i * ld;
            const double *Ec = g->E + (size_t)i * ld;
            double ai = g->alpha[i];
            ga += ai;
            double wii = ai * ai - Ki[i];
            tr += wii;
            gsf += 0.5 * wii * Kc[i];
            for (int j = i + 1; j < n; j++) {
                double w = g->alpha[j] * ai - Ki[j]; /* W is symmetric: count twice, halve */
                gsf += w * Kc[j];
                double m = w * Ec[j];
                const double *xj = g->X + (size_t)j * D;
                for (int k = 0; k < D; k++) {
                    double d = xi[k] - xj[k];
                    gl[k] += m * d * d;
                }
            }
        }
        for (int k = 0; k < D; k++)
            grad[k] = gl[k] * il2[k];
        grad[D] = gsf;
        grad[D + 1] = 0.5 * exp(theta[D + 1]) * tr;
        grad[D + 2] = ga;
    }
    double lp = log_prior(o->prior, D, theta, grad);
    if (grad)
        for (int k = 0; k < GP_NTHETA(D); k++)
            grad[k] /= n;
    return (lml + lp) / n;
}

typedef struct fit_ctx {
    gp *g;
    const gp_fit_opts *o;
    double best;
    double *best_theta;
    int evals;
} fit_ctx;

static double nl_objective(unsigned nt, const double *x, double *grad, void *data)
{
    fit_ctx *c = data;
    c->evals++;
    double f = gp_objective(c->g, x, c->o, grad);
    if (!isfinite(f)) {
        if (grad)
            memset(grad, 0, sizeof *grad * nt);
        return 1e30;
    }
    if (f > c->best) {
        c->best = f;
        memcpy(c->best_theta, x, sizeof *x * nt);
    }
    if (grad)
        for (unsigned k = 0; k < nt; k++)
            grad[k] = -grad[k];
    return -f;
}

static double clampd(double v, double lo, double hi) { return v < lo ? lo : v > hi ? hi : v; }

int gp_fit(gp *g, const gp_fit_opts *o, rng *r, tl_err *err)
{
    int D = g->D, NT = GP_NTHETA(D);
    double lb[NT], ub[NT], x[NT], best_theta[NT];
    for (int k = 0; k < D; k++) {
        lb[k] = log(LS_MIN);
        ub[k] = log(LS_MAX);
    }
    lb[D] = log(SF2_MIN);
    ub[D] = log(SF2_MAX);
    lb[D + 1] = log(o->noise_min);
    ub[D + 1] = log(SN2_MAX);
    lb[D + 2] = -MEAN_MAX;
    ub[D + 2] = MEAN_MAX;
    fit_ctx ctx = {g, o, -HUGE_VAL, best_theta, 0};
    nlopt_opt opt = nlopt_create(NLOPT_LD_LBFGS, (unsigned)NT);
    if (!opt)
        return tl_fail(err, TL_ERUNTIME, "gp: nlopt_create failed");
    nlopt_set_lower_bounds(opt, lb);
    nlopt_set_upper_bounds(opt, ub);
    nlopt_set_min_objective(opt, nl_objective, &ctx);
    nlopt_set_maxeval(opt, o->maxeval);
    nlopt_set_ftol_rel(opt, 1e-9);
    nlopt_set_xtol_rel(opt, 1e-7);
    nlopt_set_vector_storage(opt, 10);
    int skip0 = o->warm && o->skip_prior_start;
    int nstarts = 1 + (o->warm != NULL) + (o->restarts > 0 ? o->restarts : 0);
    for (int s = skip0; s < nstarts; s++) {
        if (s == 0) { /* the prior's centre, unit signal, small noise, zero mean */
            double l0 = o->prior == GP_PRIOR_DIMSCALED ? exp(1.4142135623730951 - 3.0 + 0.5 * log((double)D))
                                                       : 1.0 / 3.0;
            for (int k = 0; k < D; k++)
                x[k] = log(l0);
            x[D] = 0.0;
            x[D + 1] = log(1e-3);
            x[D + 2] = 0.0;
        } else if (s == 1 && o->warm) {
            memcpy(x, o->warm, sizeof x);
        } else { /* log-uniform lengthscales in [0.05, 2], signal in [0.3, 3] */
            for (int k = 0; k < D; k++)
                x[k] = log(0.05) + rng_uniform(r) * (log(2.0) - log(0.05));
            x[D] = log(0.3) + rng_uniform(r) * (log(3.0) - log(0.3));
            x[D + 1] = log(1e-5) + rng_uniform(r) * (log(1e-1) - log(1e-5));
            x[D + 2] = -0.5 + rng_uniform(r);
        }
        for (int k = 0; k < NT; k++)
            x[k] = clampd(x[k], lb[k], ub[k]);
        double f;
        nlopt_optimize(opt, x, &f); /* any exit code: the best point seen is kept in ctx */
    }
    nlopt_destroy(opt);
    g->nevals = ctx.evals;
    if (!isfinite(ctx.best))
        return tl_fail(err, TL_ERUNTIME, "gp: no hyperparameters gave a finite likelihood");
    g->lml = ctx.best;
    return gp_set_theta(g, best_theta, err);
}

#define PRUNE_ROWS 128 /* rows of the factor per step of the pruned forward substitution */

/* Variance of the mb columns of Ks (n, mb; kernel values against the data)
 * of points b.. b + mb - 1, whose means are in mean, by forward substitution in blocks
 * of PRUNE_ROWS rows: after each block, sf2 minus the squares summed so far
 * bounds a column's variance from above, and a column that keep() refuses
 * at that bound is dropped (var NAN) before the rows below the block are
 * updated, so a dropped column costs only its block's triangular solves.  Columns move within Ks; pos (mb)
 * and ss (mb) are scratch.  Cannot fail. */
static void chunk_var_pruned(gp *g, double *Ks, int b, int mb, const double *mean, double *var,
                             double sf2, int *pos, double *ss, gp_keep_fn keep, void *ctx)
{
    int n = g->n, ld = g->cap, na = mb;
    for (int j = 0; j < mb; j++) {
        pos[j] = j;
        ss[j] = 0.0;
    }
    for (int r0 = 0; r0 < n && na > 0; r0 += PRUNE_ROWS) {
        int nb = n - r0 < PRUNE_ROWS ? n - r0 : PRUNE_ROWS, rest = n - r0 - nb;
        const double *Lb = g->L + (size_t)r0 * ld + r0;
        cblas_dtrsm(CblasColMajor, CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit, nb, na, 1.0,
                    Lb, ld, Ks + r0, n);
        for (int q = 0; q < na; q++) {
            const double *v = Ks + (size_t)q * n + r0;
            for (int i = 0; i < nb; i++)
                ss[q] += v[i] * v[i];
        }
        if (rest == 0)
            break;
        for (int q = 0; q < na;) {
            double ub = sf2 - ss[q];
            if (keep(ctx, b + pos[q], mean[b + pos[q]], ub > 0.0 ? ub : 0.0)) {
                q++;
                continue;
            }
            var[b + pos[q]] = NAN; /* move the last active column here */
            na--;
            if (q != na) {
                memcpy(Ks + (size_t)q * n + r0, Ks + (size_t)na * n + r0,
                       sizeof *Ks * (size_t)(nb + rest)); /* the block's solution too: the update below reads it */
                pos[q] = pos[na];
                ss[q] = ss[na];
            }
        }
        /* the rows below the block, for the columns kept only */
        if (na > 0)
            cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, rest, na, nb, -1.0, Lb + nb, ld,
                        Ks + r0, n, 1.0, Ks + r0 + nb, n);
    }
    for (int q = 0; q < na; q++)
        var[b + pos[q]] = sf2 - ss[q] > 0.0 ? sf2 - ss[q] : 0.0;
}

void gp_predict_keep(gp *g, const double *Xs, int m, double *mean, double *var, gp_keep_fn keep,
                     void *ctx)
{
    int D = g->D, n = g->n, ld = g->cap;
    double il2[D];
    for (int k = 0; k < D; k++)
        il2[k] = exp(-2.0 * g->theta[k]);
    double sf2 = exp(g->theta[D]), c = g->theta[D + 2];
    int nchunks = (m + GP_PRED_CHUNK - 1) / GP_PRED_CHUNK;
    int nt = g->nthreads < g->maxthreads ? g->nthreads : g->maxthreads;
    if (n >= GP_VEC_MIN_N)
        gp_sync_xt(g);
    /* each thread its own slice of work; BLAS inside the region runs on
     * the calling thread */
    #pragma omp parallel for num_threads(nt) schedule(dynamic, 1) if (nchunks > 1 && n >= 32)
    for (int cb = 0; cb < nchunks; cb++) {
        int b = cb * GP_PRED_CHUNK, pos[GP_PRED_CHUNK];
        double e, ss[GP_PRED_CHUNK];
        double *Ks = g->work + (size_t)omp_get_thread_num() * GP_PRED_CHUNK * g->cap;
        int mb = m - b < GP_PRED_CHUNK ? m - b : GP_PRED_CHUNK;
        for (int j = 0; j < mb; j++) {
            if (n >= GP_VEC_MIN_N) {
                gp_matern52_row(Xs + (size_t)(b + j) * D, g->XT, ld, n, D, il2, sf2,
                                Ks + (size_t)j * n, NULL);
                continue;
            }
            for (int i = 0; i < n; i++)
                Ks[(size_t)j * n + i] =
                    gp_matern52(Xs + (size_t)(b + j) * D, g->X + (size_t)i * D, il2, D, sf2, &e);
        }
        cblas_dgemv(CblasRowMajor, CblasNoTrans, mb, n, 1.0, Ks, n, g->alpha, 1, 0.0, mean + b, 1);
        for (int j = 0; j < mb; j++)
            mean[b + j] += c;
        if (keep) {
            chunk_var_pruned(g, Ks, b, mb, mean, var, sf2, pos, ss, keep, ctx);
            continue;
        }
        cblas_dtrsm(CblasColMajor, CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit, n, mb, 1.0,
                    g->L, ld, Ks, n);
        for (int j = 0; j < mb; j++) {
            double s = 0.0;
            const double *v = Ks + (size_t)j * n;
            for (int i = 0; i < n; i++)
                s += v[i] * v[i];
            double vv = sf2 - s;
            var[b + j] = vv > 0.0 ? vv : 0.0;
        }
    }
}

void gp_predict(gp *g, const double *Xs, int m, double *mean, double *var)
{
    gp_predict_keep(g, Xs, m, mean, var, NULL, NULL);
}

void gp_inverse(gp *g)
{
    gp_sync_xt(g); /* gp_predict1's kernel rows, before its threads share g */
    if (g->kinv_ok) /* explicit inverse once per factorization (kept by gp_update): then
                     * each prediction is one symmetric matrix-vector product */
        return;
    int n = g->n, ld = g->cap, info = 0;
    for (int i = 0; i < n; i++)
        memcpy(g->Kinv + (size_t)i * ld + i, g->L + (size_t)i * ld + i,
               sizeof(double) * (size_t)(n - i));
    dpotri_("L", &n, g->Kinv, &ld, &info);
    g->kinv_ok = 1;
    g->kinv_updates = 0;
}

void gp_predict1(gp *g, const double *x, double *mean, double *var, double *dmean, double *dvar)
{
    int D = g->D, n = g->n, ld = g->cap;
    double il2[D];
    for (int k = 0; k < D; k++)
        il2[k] = exp(-2.0 * g->theta[k]);
    double sf2 = exp(g->theta[D]);
    int tid = omp_get_thread_num(); /* each thread of a team its own slice of work */
    double *kx = g->work + (size_t)(tid < g->maxthreads ? tid : 0) * GP_PRED_CHUNK * g->cap;
    double *ex = kx + n, *v = ex + n;
    double mu = g->theta[D + 2];
    if (n >= GP_VEC_MIN_N) {
        gp_sync_xt(g);
        gp_matern52_row(x, g->XT, ld, n, D, il2, sf2, kx, ex);
        for (int i = 0; i < n; i++)
            mu += kx[i] * g->alpha[i];
    } else {
        for (int i = 0; i < n; i++) {
            kx[i] = gp_matern52(x, g->X + (size_t)i * D, il2, D, sf2, &ex[i]);
            mu += kx[i] * g->alpha[i];
        }
    }
    gp_inverse(g);
    cblas_dsymv(CblasColMajor, CblasLower, n, 1.0, g->Kinv, ld, kx, 1, 0.0, v, 1);
    double q = 0.0;
    for (int i = 0; i < n; i++)
        q += kx[i] * v[i];
    *mean = mu;
    *var = sf2 - q > 0.0 ? sf2 - q : 0.0;
    if (dmean && dvar) {
        for (int k = 0; k < D; k++) {
            dmean[k] = 0.0;
            dvar[k] = 0.0;
        }
        for (int i = 0; i < n; i++) {
            const double *xi = g->X + (size_t)i * D;
            double a = g->alpha[i] * ex[i], b = v[i] * ex[i];
            for (int k = 0; k < D; k++) {
                double d = (x[k] - xi[k]) * il2[k]; /* dk/dx_k = -E d */
                dmean[k] -= a * d;
                dvar[k] += 2.0 * b * d;
            }
        }
    }
}
