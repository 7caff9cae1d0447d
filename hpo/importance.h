/* hpo/importance.h: parameter importance by functional ANOVA (fANOVA,
 * Hutter, Hoos and Leyton-Brown 2014) over a random forest (hpo/forest.h)
 * fitted to a study's completed trials, as Optuna's default
 * FanovaImportanceEvaluator computes it, for any sampler.
 * Shapes: n trials, d parameters, D encoded columns (a float or int is one
 * column, a categorical with k choices k one-hot columns).
 *
 * For each tree, with the columns' bounds as the box it partitions:
 *   total variance  V  = variance of the leaf values, each leaf weighted by
 *                        the volume of its box;
 *   marginal of p   m(x_p) = the volume-weighted mean of the tree over the
 *                        other columns, with p's columns held at x_p; it is
 *                        constant between two consecutive split values of
 *                        p, so it is evaluated at the midpoint of every
 *                        such cell (every combination of cells for a
 *                        categorical's one-hot columns);
 *   V_p = variance of m over p's cells weighted by their widths;
 * and the importance of p is the mean over the trees with V > 0 of
 * V_p / V, then normalized over the parameters to sum to 1.  Each of
 * nseeds forests (seeds 0..nseeds-1 of the study seed's stream) gives one
 * such vector; the result is their mean, standard deviation and range.
 *
 * The columns are the unit coordinates (hpo/space.h: space_to_unit, so a
 * log-scaled parameter is measured on the log scale the samplers draw
 * from, its box [0, 1]).  Optuna 3.1 measures log-scaled parameters on
 * their raw scale instead (transform_log=False): for those the two differ
 * by design; for linear ones they agree up to the forests' randomness
 * (tests/test_importance.c compares them).
 * Used trials: complete, with a finite value and every parameter active
 * (Optuna's filter).  Does not: compute interactions between parameters,
 * or weigh trials by their budget.
 */
#ifndef TL_HPO_IMPORTANCE_H
#define TL_HPO_IMPORTANCE_H

#include <stdint.h>

#include "hpo/forest.h"
#include "hpo/space.h"
#include "hpo/trial.h"
#include "util/err.h"

#define IMPORTANCE_MAX_CELLS (1 << 20) /* marginal cells of one parameter in one tree */

typedef struct importance_opts {
    int nseeds;          /* forests, one per seed (default 5) */
    uint64_t seed;       /* forest k draws from rng_seed(seed, k) (default 0) */
    forest_opts forest;  /* default: forest_opts_default (64 trees, Optuna's) */
} importance_opts;

typedef struct importance_result {
    int d;               /* parameters (the space's) */
    int ntrials;         /* trials the forests were fitted to */
    int nseeds;
    int zero_variance;   /* 1: every tree was constant (all values equal); importances 0 */
    double mean[SPACE_MAX_PARAMS]; /* (d) importance, mean over seeds; sums to 1 unless zero_variance */
    double sd[SPACE_MAX_PARAMS];   /* (d) standard deviation over seeds (population) */
    double min[SPACE_MAX_PARAMS], max[SPACE_MAX_PARAMS]; /* (d) range over seeds */
} importance_result;

/* Fills o with the defaults above.  Cannot fail. */
void importance_opts_default(importance_opts *o);

/* fANOVA on encoded data: X (n, D) inside the bounds lo, hi (D each,
 * lo <= hi), y (n, finite), group (D): the parameter (0..d-1) of each
 * column.  Writes mean, sd, min, max (d each) as importance_result
 * describes, and *zero_variance.  Returns 0, TL_EINPUT for n < 2, bad
 * shapes or groups, non-finite data, or a parameter whose cells exceed
 * IMPORTANCE_MAX_CELLS; TL_ERUNTIME for memory. */
int importance_fanova(const double *X, const double *y, int n, int D, const double *lo,
                      const double *hi, const int *group, int d, const importance_opts *o,
                      double *mean, double *sd, double *min, double *max, int *zero_variance,
                      tl_err *err);

/* fANOVA of the n trials t (pointers, any states, in any order) over space
 * sp, by the encoding and filter above.  o may be NULL for the defaults.
 * Returns 0 with *res filled, TL_EINPUT "needs at least two complete
 * trials with every parameter active (has k)" or as importance_fanova,
 * TL_ERUNTIME for memory. */
int importance_trials(const space *sp, const trial *const *t, int n, const importance_opts *o,
                      importance_result *res, tl_err *err);

#endif
