/* hpo/sampler_bayes.h: the "bayes" sampler's options (Gaussian-process
 * Bayesian optimization, hpo/sampler_bayes.c; sampler_bayes_vt in
 * hpo/sampler.h) and the study attributes it writes.
 *
 * Multi-fidelity (BOHB-like) follows the study's scheduler: with sha,
 * hyperband or asha the sampler reads that scheduler's eta
 * (halving_eta_for, hpo/sched_halving.h) and the core's min/max budget.
 */
#ifndef TL_HPO_SAMPLER_BAYES_H
#define TL_HPO_SAMPLER_BAYES_H

typedef struct bayes_options {
    char acquisition[16];      /* ei | logei | ucb | pi; default logei; key study.acquisition */
    double xi;                 /* EI/PI exploration margin, standardized units; default 0 (0.01
                                  suits pi, but stalls ei short of the optimum); key study.xi, >= 0 */
    double beta;               /* UCB exploration weight; default 2; key study.beta, >= 0 */
    int n_init;                /* initial design points before the GP; 0 (default): max(5, 2d+2),
                                  or max(3, d+2) multi-fidelity; key study.n_init, >= 0 */
    int n_candidates;          /* random candidates scored per suggestion; 0 (default): the
                                  engine's 2048; key study.n_candidates, >= 0 */
} bayes_options;

/* Study attributes the sampler writes at every study_open (its
 * write_attrs hook), for `tunelab report`: the options as given, the
 * acquisition as text, xi and beta as "%.17g", n_init as "%d" (0:
 * automatic). */
#define BAYES_ATTR_ACQUISITION "acquisition"
#define BAYES_ATTR_XI "xi"
#define BAYES_ATTR_BETA "beta"
#define BAYES_ATTR_N_INIT "n_init"

/* Fills o with the defaults above.  Cannot fail. */
void bayes_options_default(bayes_options *o);

#endif
