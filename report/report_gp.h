/* report/report_gp.h: the Bayesian-optimization section of `tunelab report`
 * (id "gp", report/report_gp.c) and the model behind its figures
 * (report/report_gp_model.c).
 *
 * The model replays one iteration of the "bayes" sampler's loop: for
 * iteration k it fits the library's GP (hpo/gp.h: Matern 5/2 ARD on the
 * unit cube, standardized outputs, the sampler's default prior) to the
 * first k COMPLETE trials with a finite value, in trial-number order, with
 * the same encoding as hpo/bo.c (floats and ints as their unit coordinate,
 * inactive ones at 0.5, categoricals one-hot) and the same sign convention
 * (the GP minimizes: values are negated when the study maximizes), and
 * evaluates the posterior and the acquisition (hpo/acq.h acq_eval, what the
 * sampler's optimizer maximizes) anywhere in the unit cube.  Its
 * hyperparameters are refitted here from fixed random starts, so they may
 * differ slightly from the warm-started fit the sampler used; trials that
 * were running when the sampler was asked (kriging believers) are not
 * conditioned on.
 *
 * report_gp_model.c depends on hpo/ only (no report.c, no gnuplot), so a
 * test can compile it into its own translation unit.
 */
#ifndef TL_CLI_REPORT_GP_H
#define TL_CLI_REPORT_GP_H

#include <stdint.h>

#include "report/report.h"
#include "hpo/gp.h"
#include "hpo/space.h"
#include "hpo/trial.h"
#include "util/err.h"

#define REPORT_GP_CHUNK 1024 /* query points per block in report_gp_predict */

typedef struct report_gp_opts {
    int acq;          /* enum acq_kind (the study's "acquisition"; default logei) */
    double xi;        /* EI/PI margin, standardized units (default 0) */
    double beta;      /* UCB weight (default 2) */
    uint64_t seed;    /* seeds the fit's random restarts (the report: the study seed) */
} report_gp_opts;

/* Fills o with the CLI's defaults: logei, xi 0, beta 2, seed 0.  Cannot fail. */
void report_gp_opts_default(report_gp_opts *o);

typedef struct report_gp_model {
    int d, D;         /* parameters; encoded GP inputs */
    int k;            /* observations: the first k complete trials with a finite value */
    int sign;         /* +1 minimize, -1 maximize: objective = sign * GP target */
    report_gp_opts o;
    int *pos;         /* (d) first encoded input of each parameter */
    int *ncat;        /* (d) choices of a categorical, 0 otherwise */
    int *rows;        /* (k) indices in hist of the observations, number order */
    double *U;        /* (k, d) their unit coordinates (NAN inactive) */
    double *y;        /* (k) their objective values, as stored */
    int best;         /* index in hist of the best of the k (ties: lowest number) */
    int last;         /* index in hist of the k-th observation (rows[k-1]) */
    double ybest;     /* the GP's best target, standardized (what the acquisition compares with) */
    gp g;
    double *enc;      /* (REPORT_GP_CHUNK, D) encoded query points */
    double *mu, *var; /* (REPORT_GP_CHUNK) */
} report_gp_model;

/* Number of COMPLETE trials with a finite value among hist (n trials). */
int report_gp_count(const trial *const *hist, int n);

/* Fits m for iteration k of a study: space sp, trials hist (n, in number
 * order; every trial's values has sp->n entries), direction STUDY_MINIMIZE
 * or STUDY_MAXIMIZE, options o (NULL: defaults).  m must be zeroed or
 * freed before; it owns its buffers afterwards (report_gp_model_free, also
 * after a failure).  Returns 0, TL_EINPUT when k < 2, k exceeds the
 * complete trials, sp has no parameter or o is out of range, TL_ERUNTIME
 * for memory or a GP that cannot be fitted. */
int report_gp_fit(report_gp_model *m, const space *sp, const trial *const *hist, int n,
                  int direction, int k, const report_gp_opts *o, tl_err *err);

/* Posterior at npts unit points u (npts, d; NAN: inactive) in the
 * objective's own units and direction: mean (npts), sd (npts, the latent
 * function's standard deviation, >= 0) and acq (npts: acq_eval of the
 * study's acquisition in standardized units; NULL to skip).  Uses m's
 * buffers; cannot fail. */
void report_gp_predict(report_gp_model *m, const double *u, int npts, double *mean, double *sd,
                       double *acq);

/* Fitted lengthscale of parameter i on the unit cube (shorter: the
 * objective varies faster along it), NAN for a categorical. */
double report_gp_lengthscale(const report_gp_model *m, int i);

/* Releases m's buffers and zeroes it; NULL is a no-op. */
void report_gp_model_free(report_gp_model *m);

/* Axis coordinate of unit coordinate u for parameter i of sp, continuous
 * (not rounded: ints map to the real line through their cells, so that
 * a slice can be drawn between them): floats as space_from_unit, ints
 * through [low - 0.5, high + 0.5] (in log space for logint).  Categoricals:
 * the choice index as a real number. */
double report_gp_axis(const space *sp, int i, double u);

/* ---- the report section (report/report_gp.c) ---- */

/* Chooses the parameter(s) the section slices through, overriding the
 * choice by lengthscale: names is one name or two separated by a comma
 * (`tunelab report DB -o DIR --gp-param train.lr,train.weight_decay`).
 * Stored in rs as the in-memory study attribute "report:gp_param" (never
 * written to the database).  Returns 0, TL_EINPUT naming an unknown or
 * categorical parameter, a repeated one or more than two, TL_ERUNTIME for
 * memory. */
int report_gp_select(report_study *rs, const char *names, tl_err *err);

#endif
