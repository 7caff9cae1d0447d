/* report/report_gp.h: the Bayesian-optimization section of `tunelab report`
 * (id "gp": report/report_gp.c, its figures in report/report_gp_figures.c)
 * and the model behind its figures.
 *
 * The model replays one iteration of the "bayes" sampler's loop: for
 * iteration k it takes the first k COMPLETE trials with a finite value, in
 * trial-number order, with the sign convention of hpo/sampler_bayes.c (the
 * GP minimizes: values are negated when the study maximizes), and hands
 * them to the sampler's own engine (hpo/bo.h: bo_fit fits the GP the
 * sampler fits, bo_predict gives its posterior and the acquisition the
 * sampler maximizes, anywhere in the unit cube).  Nothing of the GP is
 * rebuilt here.  The hyperparameters are fitted cold from fixed random
 * starts, so they may differ slightly from the warm-started fit the
 * sampler used; trials that were running when the sampler was asked
 * (kriging believers) are not conditioned on.
 */
#ifndef TL_REPORT_REPORT_GP_H
#define TL_REPORT_REPORT_GP_H

#include <stdint.h>

#include "hpo/bo.h"
#include "hpo/space.h"
#include "hpo/trial.h"
#include "report/report.h"
#include "util/err.h"

typedef struct report_gp_opts {
    int acq;          /* enum acq_kind (the study's "acquisition"; default logei) */
    double xi;        /* EI/PI margin, standardized units (default 0) */
    double beta;      /* UCB weight (default 2) */
    uint64_t seed;    /* seeds the fit's random restarts (the report: the study seed) */
} report_gp_opts;

/* Fills o with the CLI's defaults: logei, xi 0, beta 2, seed 0.  Cannot fail. */
void report_gp_opts_default(report_gp_opts *o);

typedef struct report_gp_model {
    int d;            /* parameters */
    int k;            /* observations: the first k complete trials with a finite value */
    int sign;         /* +1 minimize, -1 maximize: objective = sign * GP target */
    report_gp_opts o;
    int *rows;        /* (k) indices in hist of the observations, number order */
    double *U;        /* (k, d) their unit coordinates (NAN inactive) */
    double *y;        /* (k) their objective values, as stored */
    int best;         /* index in hist of the best of the k (ties: lowest number) */
    int last;         /* index in hist of the k-th observation (rows[k-1]) */
    int next;         /* index in hist of the trial after it (last + 1), -1 when none */
    bo b;             /* the sampler's engine, its GP fitted to the k observations
                         (bo_lengthscale(&m->b, i): parameter i's lengthscale) */
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
 * function's standard deviation, >= 0) and acq (npts: the acquisition the
 * sampler maximizes, in standardized units; NULL to skip): bo_predict with
 * the sign undone.  Uses m's buffers; cannot fail. */
void report_gp_predict(report_gp_model *m, const double *u, int npts, double *mean, double *sd,
                       double *acq);

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

/* ---- the section's figures (report/report_gp_figures.c) ---- */

#define REPORT_GP_NSLICE 241 /* points along a 1-D slice */
#define REPORT_GP_NGRID 45   /* points per axis of a 2-D slice */

/* Work buffers of the figures, allocated once per section. */
typedef struct report_gp_work {
    double *u;               /* (REPORT_GP_NGRID^2, d) query points */
    double *mean, *sd, *acq; /* (REPORT_GP_NGRID^2) */
} report_gp_work;

/* Draws gp_slice_k<K>.png (K = m->k) into o: m's posterior and acquisition
 * along parameter p of rs, the others at the best of m's trials.  Returns
 * 0 or a tl_code (memory, gnuplot) with err filled. */
int report_gp_slice_1d(const report_study *rs, report_out *o, report_gp_model *m, report_gp_work *w,
                       int p, tl_err *err);

/* Draws gp_2d_k<K>.png into o: contours of m's mean and acquisition over
 * parameters p (x) and r (y) of rs, the others at the best of m's trials.
 * Returns 0 or a tl_code with err filled. */
int report_gp_slice_2d(const report_study *rs, report_out *o, report_gp_model *m, report_gp_work *w,
                       int p, int r, tl_err *err);

/* The acquisition kind's name for captions and titles ("log expected
 * improvement (log EI)", ...).  A static string; cannot fail. */
const char *report_gp_acq_label(int kind);

#endif
