/* hpo/sched_median.h: the "median" scheduler's options (median stopping,
 * Optuna's MedianPruner; hpo/sched_median.c, sched_median_vt in
 * hpo/scheduler.h) and its pruning rule for other schedulers and tests. */
#ifndef TL_HPO_SCHED_MEDIAN_H
#define TL_HPO_SCHED_MEDIAN_H

#include "hpo/trial.h"

typedef struct median_options {
    int warmup_steps;          /* no pruning before this step; default 0;
                                  key study.median_warmup_steps, >= 0 */
    int startup_trials;        /* no pruning until this many trials completed; default 5;
                                  key study.median_min_trials (the config's name), >= 0 */
    int min_trials;            /* need this many completed values at the step; default 1, >= 1 */
    int interval_steps;        /* judge every this many steps after warm-up; default 1, >= 1 */
} median_options;

/* Fills o with the defaults above.  Cannot fail. */
void median_options_default(median_options *o);

/* Optuna's MedianPruner rule (percentile 50): returns 1 when trial t
 * should be pruned at its last step given the COMPLETE trials among
 * trials[0..n), under o's startup_trials, warmup_steps, interval_steps and
 * min_trials.  scratch: room for n doubles.  Cannot fail. */
int sched_median_should_prune(const median_options *o, int direction, const trial *const *trials,
                              int n, const trial *t, double *scratch);

#endif
