/* hpo/sampler_cmaes.h: the "cmaes" sampler's options (CMA-ES with IPOP
 * restarts and a margin for integers; hpo/sampler_cmaes.c,
 * sampler_cmaes_vt in hpo/sampler.h), the study attribute it writes, and
 * the search distribution a history leads to.
 */
#ifndef TL_HPO_SAMPLER_CMAES_H
#define TL_HPO_SAMPLER_CMAES_H

#include "hpo/space.h"
#include "hpo/trial.h"
#include "util/err.h"

typedef struct cmaes_options {
    double sigma0;             /* initial step size in unit-cube coordinates; 0 (default): 1/6,
                                  Optuna's min(range)/6; key cmaes.sigma0, in [0, 1] */
    int popsize;               /* population; 0 (default): 4 + floor(3 ln n);
                                  key cmaes.popsize, 0 or >= 2 */
    char restart[8];           /* none | ipop; default ipop; key cmaes.restart */
    int inc_popsize;           /* IPOP: population factor per restart; default 2;
                                  key cmaes.inc_popsize, >= 1 */
    int margin;                /* integers keep a chance >= 1/(n popsize) of leaving the mean's
                                  cell (Hamano et al. 2022); default 1; key cmaes.margin */
    int startup_trials;        /* uniform random trials until this many are complete, as
                                  Optuna's n_startup_trials; default 1; key
                                  cmaes.startup_trials, in [0, 1000000] */
} cmaes_options;

/* Study attribute written at every study_open (write_attrs): the options
 * as JSON, e.g. {"sigma0": 0, "popsize": 0, "restart": "ipop", ...,
 * "startup_trials": 1}. */
#define CMAES_ATTR_OPTIONS "cmaes_options"

/* Fills o with the defaults above.  Cannot fail. */
void cmaes_options_default(cmaes_options *o);

/* The search distribution a cmaes sampler over sp with options o (NULL:
 * the defaults) draws the next suggestion from after the history hist
 * (nhist trials in trial order, as a study hands them to the sampler;
 * direction STUDY_MINIMIZE or STUDY_MAXIMIZE): the CMA coordinates (the
 * unit-cube coordinates of the unconditional float and int parameters,
 * in space order) into *n, their mean (n), the step size, and the
 * covariance C (n x n, row-major), what N(mean, sigma^2 C) is drawn from
 * once the startup is over.  For tests (the cmaes package's numbers) and
 * teaching.  Returns 0 or a tl_code with err filled. */
int cmaes_distribution(const space *sp, const cmaes_options *o, const trial *const *hist,
                       int nhist, int direction, double *mean, double *sigma, double *C, int *n,
                       tl_err *err);

#endif
