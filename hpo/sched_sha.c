/* hpo/sched_sha.c: the "sha" scheduler, synchronous successive halving
 * (Jamieson and Talwalkar 2016): one bracket of n = study.trials
 * configurations at the bottom budget max_budget * eta^-s_max; once every
 * trial of a rung has finished it, the best 1/eta continue, from their
 * paused state, to eta times the budget, up to max_budget.  Rung i keeps
 * max(1, floor(n * eta^-i)) trials.
 *
 * A thin vtable over hpo/sched_halving.c, which holds the rules, the
 * per-trial "hb" attribute and the crash-safe state.  Does not sample.
 */
#include "hpo/sched_halving.h"

static int sha_validate(const void *opts, const study_config *cfg, const space *sp, tl_err *err)
{
    return halving_validate(HALVING_SHA, opts, cfg, err);
}

static int sha_init(void **self, const void *opts, const study_config *cfg, const space *sp,
                    tl_err *err)
{
    return halving_init(self, HALVING_SHA, opts, cfg, err);
}

const scheduler_vt sched_sha_vt = {
    .name = "sha",
    .validate = sha_validate,
    .init = sha_init,
    .next = halving_next,
    .report = halving_report,
    .started = halving_started,
    .tell = halving_tell,
    .free = halving_free,
    .requeued = halving_requeued,
};
