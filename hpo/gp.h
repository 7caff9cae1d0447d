/* hpo/gp.h: Gaussian-process regression for Bayesian optimization.
 * Shapes: n observations, D input dimensions (the encoded unit cube), m
 * query points.
 *
 * Model: y = c + f(x) + eps, f ~ GP(0, sf2 * Matern52_ARD(x, x'; l_1..l_D)),
 * eps ~ N(0, sn2), on outputs standardized by gp_set_data (zero mean, unit
 * variance).  Hyperparameters theta (GP_NTHETA(D) doubles):
 *   theta[0..D)   log lengthscales l_k          (prior on l_k)
 *   theta[D]      log signal variance sf2       (prior on sf2)
 *   theta[D+1]    log noise variance sn2        (prior on sn2, >= noise_min)
 *   theta[D+2]    constant mean c               (flat, in [-10, 10])
 * gp_fit maximizes log marginal likelihood + log prior with analytic
 * gradients, by NLopt's L-BFGS in box bounds from several starts (the prior
 * mode, an optional warm start, draws from the rng).  Priors as BoTorch:
 * GP_PRIOR_GAMMA is SingleTaskGP's classic set (l ~ Gamma(3, 6),
 * sf2 ~ Gamma(2, 0.15), sn2 ~ Gamma(1.1, 0.05)); GP_PRIOR_DIMSCALED is
 * BoTorch >= 0.12 (Hvarfner et al. 2024): l ~ LogNormal(sqrt2 + log(D)/2,
 * sqrt3), sn2 ~ LogNormal(-4, 1), sf2 ~ Gamma(2, 0.15).
 * Linear algebra: Cholesky (dpotrf) with jitter added when it fails,
 * dpotrs/dpotri/dtrsm from LAPACK/BLAS in OpenBLAS.
 *
 * Predictions are of the latent f (no noise) in standardized units:
 * raw = ymean + ystd * standardized.  Buffers are allocated by gp_init /
 * gp_reserve only; fitting and predicting allocate nothing.  Kernel loops
 * and batch predictions use g->nthreads OpenMP threads (set it, up to
 * g->maxthreads; default 1); BLAS and LAPACK calls run on the calling
 * thread's OpenMP setting.  Not thread-safe on one gp (it owns its workspaces); separate gps are
 * independent.  Does not know about acquisitions or search spaces.
 */
#ifndef TL_HPO_GP_H
#define TL_HPO_GP_H

#include "util/err.h"
#include "util/rng.h"

#define GP_NTHETA(D) ((D) + 3)
#define GP_PRED_CHUNK 256 /* query points per block in gp_predict */

enum gp_prior { GP_PRIOR_GAMMA, GP_PRIOR_DIMSCALED, GP_PRIOR_COUNT };
const char *gp_prior_str(int prior);

typedef struct gp_fit_opts {
    int prior;         /* enum gp_prior */
    int restarts;      /* random starts besides the prior mode and warm start (default 2) */
    int maxeval;       /* L-BFGS evaluations per start (default 150) */
    double noise_min;  /* lower bound on sn2, standardized units (default 1e-6) */
    const double *warm;/* optional start (GP_NTHETA(D)), e.g. the previous fit; NULL for none */
    int skip_prior_start; /* with warm: do not also start from the prior mode */
} gp_fit_opts;

/* Fills o with the defaults above.  Cannot fail. */
void gp_fit_opts_default(gp_fit_opts *o);

typedef struct gp {
    int D;            /* input dimension */
    int cap;          /* rows allocated */
    int n;            /* rows in use */
    double *X;        /* (cap, D) inputs, row-major */
    double *XT;       /* (D, cap) the same inputs transposed, valid for rows [0, xt_n) */
    int xt_n;
    double *y;        /* (cap) standardized targets */
    double ymean, ystd;
    double *theta;    /* (GP_NTHETA(D)) current hyperparameters */
    double jitter;    /* added to the diagonal at the last factorization */
    double *K;        /* (cap*cap) kernel matrix without noise, column-major ld n */
    double *E;        /* (cap*cap) sf2*(5/3)(1+sqrt5 r)exp(-sqrt5 r): gradient factor */
    double *L;        /* (cap*cap) lower Cholesky factor of K + (sn2+jitter) I */
    double *Kinv;     /* (cap*cap) inverse (lower triangle): gradients, gp_predict1 */
    int kinv_ok;      /* Kinv matches the current factor */
    int kinv_updates; /* rows added to or removed from Kinv since it was last computed whole */
    int fact_ok;      /* L is the factor of the n rows at theta (gp_set_theta, gp_append, gp_update) */
    double *alpha;    /* (cap) (K + sn2 I)^-1 (y - c) */
    double *work;     /* (maxthreads * GP_PRED_CHUNK * cap + 4 * cap) prediction workspace */
    int nthreads;     /* threads for the kernel loops and predictions (default 1) */
    int maxthreads;   /* omp_get_max_threads() at gp_init: the most nthreads may use */
    int nevals;       /* objective evaluations in the last gp_fit */
    double lml;       /* log marginal likelihood + log prior at theta, per point */
} gp;

/* Prepares g for D inputs and up to cap rows (grown later by gp_reserve).
 * Returns 0, TL_EINPUT for D < 1 or cap < 1, TL_ERUNTIME when out of memory
 * (g left freeable).  g owns its buffers; release with gp_free. */
int gp_init(gp *g, int D, int cap, tl_err *err);

/* Grows the buffers to hold at least cap rows, keeping data and theta but
 * not the factorization (call gp_set_theta before predicting again).
 * Returns 0 or TL_ERUNTIME (g unchanged). */
int gp_reserve(gp *g, int cap, tl_err *err);

/* Releases g's buffers; NULL or already freed is a no-op. */
void gp_free(gp *g);

/* Copies n rows X (n, D) and targets y (n, all finite) into g and
 * standardizes y (a constant y gets ystd = 1).  Grows the buffers when
 * needed.  Does not factorize: call gp_fit or gp_set_theta next.  Returns 0,
 * TL_EINPUT for n < 1 or a non-finite y, TL_ERUNTIME for memory. */
int gp_set_data(gp *g, const double *X, const double *y, int n, tl_err *err);

/* Sets theta and factorizes.  Returns 0 or TL_ERUNTIME when the kernel
 * matrix cannot be factorized even with jitter. */
int gp_set_theta(gp *g, const double *theta, tl_err *err);

/* Log marginal likelihood plus log prior of standardized data at theta,
 * divided by n; writes its gradient to grad (GP_NTHETA(D)) when not NULL.
 * Leaves g factorized at theta.  Returns -HUGE_VAL when the factorization
 * fails. */
double gp_objective(gp *g, const double *theta, const gp_fit_opts *o, double *grad);

/* Fits theta by maximizing gp_objective by L-BFGS in box bounds
 * (lengthscales [0.005, 50], sf2 [1e-3, 1e3], sn2 [noise_min, 10], mean
 * [-10, 10]) from: the prior mode (unless skip_prior_start and a warm start
 * are given), the warm start, and `restarts` random starts drawn from r;
 * keeps the best point seen and factorizes there.  Returns 0 or TL_ERUNTIME
 * when no start gave a finite objective. */
int gp_fit(gp *g, const gp_fit_opts *o, rng *r, tl_err *err);

/* Posterior mean and variance of f at m points Xs (m, D); mean, var: (m),
 * standardized units.  Uses g->work.  Cannot fail. */
void gp_predict(gp *g, const double *Xs, int m, double *mean, double *var);

/* Whether point j with posterior mean `mean` and a variance of at most
 * var_upper can still matter to the caller (1) or not (0).  Called from
 * gp_predict_keep's threads: must only read shared state. */
typedef int (*gp_keep_fn)(void *ctx, int j, double mean, double var_upper);

/* As gp_predict, but the forward substitution runs in blocks of rows and,
 * after each block, a point whose variance bound keep refuses gets var
 * NAN and costs nothing more; the other points get the exact variance (up
 * to rounding: blocked, not one solve).  For acquisitions that grow with
 * the variance: only the points that can rank high pay for the O(n^2)
 * solve.  keep NULL: exactly gp_predict.  Cannot fail. */
void gp_predict_keep(gp *g, const double *Xs, int m, double *mean, double *var, gp_keep_fn keep,
                     void *ctx);

/* Computes the explicit inverse gp_predict1 uses, unless it is valid
 * already, and brings the transposed inputs up to date.  Cannot fail. */
void gp_inverse(gp *g);

/* Posterior at one point x (D) with gradients: *mean, *var, and when dmean
 * and dvar are not NULL their gradients w.r.t. x (D each).  Uses the slice
 * of g->work of the calling thread's number in its OpenMP team, so after
 * gp_inverse the threads of one team (at most g->maxthreads) may call it
 * at the same time.  Cannot fail. */
void gp_predict1(gp *g, const double *x, double *mean, double *var, double *dmean,
                 double *dvar);

/* Appends the row x (D) with standardized target ys (a fantasy, e.g. the
 * posterior mean for a pending point) at the same theta: the factor (and
 * the inverse, when computed) grow by one row in O(n^2) (hpo/gp_update.c).
 * Returns 0 or TL_ERUNTIME (memory or factorization). */
int gp_append(gp *g, const double *x, double ys, tl_err *err);

/* gp_set_data(X, y, n) then gp_set_theta(theta), computed incrementally
 * when g is factorized at theta and its first rows equal X's first rows:
 * rows after the common ones (fantasies) are dropped and X's new rows are
 * added one at a time in O(n^2) each; otherwise factorized from scratch.
 * The result equals the full computation up to rounding.  Returns 0,
 * TL_EINPUT as gp_set_data, TL_ERUNTIME for memory or factorization. */
int gp_update(gp *g, const double *X, const double *y, int n, const double *theta, tl_err *err);

#endif
