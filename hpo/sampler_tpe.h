/* hpo/sampler_tpe.h: the "tpe" sampler's options (Tree-structured Parzen
 * Estimator as Optuna 3.1's TPESampler defines it; hpo/sampler_tpe.c,
 * sampler_tpe_vt in hpo/sampler.h) and the study attributes it writes.
 */
#ifndef TL_HPO_SAMPLER_TPE_H
#define TL_HPO_SAMPLER_TPE_H

typedef struct tpe_options {
    int startup_trials;        /* random trials before the model (complete + pruned); default 10;
                                  key tpe.startup_trials, >= 0 */
    int ei_candidates;         /* candidates drawn from l(x) per suggestion; default 24;
                                  key tpe.ei_candidates, >= 1 */
    double gamma;              /* below-set fraction: n_below = min(ceil(gamma n), gamma_max);
                                  default 0.1; key tpe.gamma, in (0, 1] */
    int gamma_max;             /* cap of the below set; default 25; key tpe.gamma_max, >= 1 */
    int multivariate;          /* 1: one joint Parzen estimator over the unconditional parameters
                                  (conditional ones stay independent); default 0;
                                  key tpe.multivariate */
    double prior_weight;       /* weight of the prior kernel; default 1; key tpe.prior_weight, > 0 */
    int consider_magic_clip;   /* floor the kernel widths at range / min(100, 1 + n);
                                  default 1; key tpe.consider_magic_clip */
    int consider_endpoints;    /* the outermost kernels may take the distance to the bounds as
                                  width; default 0; key tpe.consider_endpoints */
    int constant_liar;         /* running and waiting trials count as the worst observations,
                                  so parallel workers are steered apart; default 1 (Optuna's
                                  default is 0; a sequential study is unaffected);
                                  key tpe.constant_liar */
} tpe_options;

/* Study attributes written at every study_open (write_attrs): the options
 * as JSON, e.g. {"startup_trials": 10, "ei_candidates": 24, ...}. */
#define TPE_ATTR_OPTIONS "tpe_options"

/* Fills o with the defaults above.  Cannot fail. */
void tpe_options_default(tpe_options *o);

#endif
