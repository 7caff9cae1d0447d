/* hpo/sched_asha.c: the "asha" scheduler, asynchronous successive halving
 * (Li et al. 2020): rungs max_budget * eta^(i - s_max); a paused trial is
 * promoted as soon as it is in the top 1/eta of its rung's results, else a
 * new trial starts at the bottom rung, so no worker waits while the trial
 * budget lasts.
 *
 * A thin vtable over hpo/sched_halving.c, which holds the rules, the
 * per-trial "hb" attribute and the crash-safe state.  Does not sample.
 */
#include "hpo/sched_halving.h"

static int asha_validate(const void *opts, const study_config *cfg, const space *sp, tl_err *err)
{
    return halving_validate(HALVING_ASHA, opts, cfg, err);
}

static int asha_init(void **self, const void *opts, const study_config *cfg, const space *sp,
                     tl_err *err)
{
    return halving_init(self, HALVING_ASHA, opts, cfg, err);
}

const scheduler_vt sched_asha_vt = {
    .name = "asha",
    .validate = asha_validate,
    .init = asha_init,
    .next = halving_next,
    .report = halving_report,
    .started = halving_started,
    .tell = halving_tell,
    .free = halving_free,
    .requeued = halving_requeued,
};
