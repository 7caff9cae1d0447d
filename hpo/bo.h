/* hpo/bo.h: the Bayesian-optimization engine behind the "bayes" sampler.
 * Shapes: d parameters (unit-cube coordinates), D encoded GP inputs
 * (a float or int is one input, a categorical with k choices is k one-hot
 * inputs), n history rows, R raw acquisition samples.
 *
 * One call, bo_suggest, turns a history (unit coordinates, values, states)
 * into the next point to evaluate, for MINIMIZATION (negate values to
 * maximize):
 *   1. initial design: while fewer than n_init trials have completed, the
 *      point is number `number` of a scrambled Sobol sequence fixed by the
 *      seed (default n_init = max(5, 2d + 2): the d + 3 hyperparameters need
 *      a few points more than themselves, and the reference GP-BO of
 *      functions.md uses 2d + 2);
 *   2. GP (hpo/gp.h) fitted on the completed, finite observations only;
 *   3. pending (running) points enter as kriging believers: the GP is
 *      conditioned on its own posterior mean there, which collapses the
 *      variance so parallel workers get distinct points;
 *   4. acquisition (hpo/acq.h) maximized over R scrambled Sobol points plus
 *      R/8 perturbations of the best observations, then L-BFGS in box bounds
 *      (NLopt) from the best n_starts of them, over the float and int
 *      coordinates (ints relaxed, categoricals held at the start's choice);
 *   5. every candidate is snapped (ints to their cell centre, categoricals
 *      to their bin, inactive conditionals to NAN) and re-scored there, and
 *      the best one that is not already in the history (complete, failed,
 *      pruned or running) is returned; if all are, random snapped points
 *      are tried.
 * Failed (NaN/inf) and pruned trials never enter the GP but are not
 * suggested again.  Randomness: the design from the seed, everything else
 * from the rng passed to bo_suggest.  The engine keeps the last fitted
 * hyperparameters as a warm start for the next fit, so a study replays bit
 * for bit when the same calls are made in the same order (a resumed process
 * starts cold and may differ slightly).  BLAS runs on the calling thread;
 * the engine's own loops use up to omp_get_max_threads() threads.
 * Not thread-safe on one bo.  Does not know about search spaces, trials or
 * storage (hpo/sampler_bayes.c adapts those).
 */
#ifndef TL_HPO_BO_H
#define TL_HPO_BO_H

#include <stdint.h>

#include "hpo/gp.h"
#include "hpo/sobol.h"
#include "util/err.h"
#include "util/rng.h"

enum bo_kind { BO_FLOAT, BO_INT, BO_CAT, BO_KIND_COUNT };

typedef struct bo_param {
    int kind;  /* enum bo_kind */
    int n;     /* BO_INT: number of integer levels; BO_CAT: number of choices */
} bo_param;

enum bo_obs { BO_OBS_COMPLETE, BO_OBS_PENDING, BO_OBS_FAILED, BO_OBS_COUNT };

typedef struct bo_config {
    int acq;          /* enum acq_kind (default ACQ_LOGEI) */
    double xi;        /* EI/PI margin, standardized units (default 0) */
    double beta;      /* UCB: -mu + sqrt(beta) sigma (default 2) */
    int n_init;       /* initial Sobol points; 0: max(5, 2d + 2) */
    int raw_samples;  /* Sobol candidates per suggestion (default 2048) */
    int n_starts;     /* local optimizations (default 5) */
    int local_maxeval;/* L-BFGS evaluations per local start (default 80; at most 40 from 256
                       * observations, hpo/bo_local.c) */
    int prior;        /* enum gp_prior (default GP_PRIOR_GAMMA) */
} bo_config;

/* Fills c with the defaults above.  Cannot fail. */
void bo_config_default(bo_config *c);

/* Maps a unit point u (d) to its canonical form in place: ints to their
 * cell centre, categoricals to the centre of their bin, inactive
 * conditional coordinates to NAN.  Must be deterministic. */
typedef void (*bo_snap_fn)(void *ctx, double *u);

typedef struct bo {
    int d, D;
    bo_param *p;       /* (d) */
    int *pos;          /* (d) first encoded input of each parameter */
    int *free_idx;     /* (nfree) parameters the local optimizer moves (float, int) */
    int nfree;
    bo_config cfg;
    int n_init;
    uint64_t seed;
    bo_snap_fn snap;
    void *snap_ctx;
    sobol design;      /* initial design, scrambled from seed */
    gp g;
    double *warm;      /* (GP_NTHETA(D)) last fitted theta */
    int have_warm;
    int fit_n;         /* observations at the last hyperparameter fit */
    int cap;           /* history rows the buffers below hold */
    double *Xe;        /* (cap, D) encoded complete observations */
    double *ye;        /* (cap) their values */
    int *cidx;         /* (cap) their rows in the history */
    double *raw;       /* (R + R/8, d) candidate unit points */
    double *rawe;      /* (R + R/8, D) encoded */
    double *rmu, *rvar, *racq; /* (R + R/8) */
    int *order;        /* (R + R/8) candidates by acquisition */
    double *cand;      /* (n_starts, d) local optima */
    double *cacq;      /* (n_starts) */
    /* statistics of the last suggestion */
    int last_phase;    /* 0 design, 1 model, 2 fallback */
    int last_fit_evals;
    int last_pruned;   /* raw candidates whose variance was not needed (score_raw in bo.c) */
    double last_fit_s, last_acq_s;
} bo;

/* Prepares b for d parameters described by p (copied).  cfg may be NULL for
 * the defaults.  Returns 0, TL_EINPUT for d out of [1, SOBOL_MAX_DIM], a
 * parameter with a bad kind or count, or a bad config value (unknown
 * acquisition, xi < 0, beta < 0, negative counts); TL_ERUNTIME for memory.
 * b owns its buffers: release with bo_free (also after a failed init). */
int bo_init(bo *b, int d, const bo_param *p, const bo_config *cfg, uint64_t seed, tl_err *err);

/* Sets the snapping callback (NULL: ints snapped to n equal bins,
 * categoricals to their bin, nothing made inactive). */
void bo_set_snap(bo *b, bo_snap_fn snap, void *ctx);

/* Writes the next point u_out (d) in [0,1]^d, snapped.  U: (n, d) unit
 * coordinates of every trial so far (NAN where inactive), y: (n) values to
 * minimize (read for complete rows only; a non-finite value counts as
 * failed), obs: (n) enum bo_obs.  `number` is the new trial's number (it
 * indexes the initial design).  Returns 0, or TL_EINPUT for a bad argument,
 * TL_ERUNTIME for memory.  A GP that cannot be fitted is not an error: the
 * point is then a random one (last_phase = 2). */
int bo_suggest(bo *b, const double *U, const double *y, const int *obs, int n, int number,
               rng *r, double *u_out, tl_err *err);

/* Releases b's buffers; NULL or an already freed b is a no-op. */
void bo_free(bo *b);

/* ---- the sampler's model, read back (the report draws it) ---- */

/* Fits b's GP to n observations as bo_suggest fits it for n complete
 * trials: U (n, d) unit coordinates (NAN where inactive), y (n) finite
 * values to minimize, encoded as bo_suggest encodes them, the fit schedule
 * bo_suggest uses for n observations started cold (no warm start: what a
 * resumed process fits), random restarts drawn from r, BLAS on one thread.
 * Does not change what later bo_suggest calls return (their warm start,
 * design and schedule are left alone).  Returns 0, TL_EINPUT for n < 1, a
 * NULL argument or a non-finite y, TL_ERUNTIME for memory or a GP whose
 * hyperparameters cannot be fitted. */
int bo_fit(bo *b, const double *U, const double *y, int n, rng *r, tl_err *err);

/* The GP of the last bo_fit at m unit points U (m, d; NAN where inactive):
 * mean (m) and sd (m, the latent function's standard deviation, >= 0) in
 * the units of bo_fit's y, and, when acq is not NULL, acq (m): the
 * acquisition bo_suggest maximizes (b's kind, xi and beta, standardized
 * units, the same variance floor, the best of bo_fit's y as incumbent).
 * Uses b's candidate buffers.  Cannot fail. */
void bo_predict(bo *b, const double *U, int m, double *mean, double *sd, double *acq);

/* Fitted lengthscale of parameter i on the unit cube (shorter: the
 * objective varies faster along it) after bo_fit or a model suggestion;
 * NAN for a categorical (one lengthscale per choice) or i out of range. */
double bo_lengthscale(const bo *b, int i);

#endif
