/* hpo/sched_hyperband.c: the "hyperband" scheduler (Li et al. 2018): the
 * brackets s = s_max..0, bracket s running successive halving from
 * n = ceil((s_max+1)/(s+1) eta^s) configurations at max_budget * eta^-s,
 * repeated while study.trials lasts (the last bracket cut short when the
 * budget ends inside it).  Trials go to brackets by number, so a resumed
 * study continues the same bracket.
 *
 * A thin vtable over hpo/sched_halving.c, which holds the rules, the
 * per-trial "hb" attribute and the crash-safe state.  Does not sample.
 */
#include "hpo/sched_halving.h"

static int hyperband_validate(const void *opts, const study_config *cfg, const space *sp, tl_err *err)
{
    return halving_validate(HALVING_HYPERBAND, opts, cfg, err);
}

static int hyperband_init(void **self, const void *opts, const study_config *cfg, const space *sp,
                          tl_err *err)
{
    return halving_init(self, HALVING_HYPERBAND, opts, cfg, err);
}

const scheduler_vt sched_hyperband_vt = {
    .name = "hyperband",
    .validate = hyperband_validate,
    .init = hyperband_init,
    .next = halving_next,
    .report = halving_report,
    .started = halving_started,
    .tell = halving_tell,
    .free = halving_free,
    .requeued = halving_requeued,
};
