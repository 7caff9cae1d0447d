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

HALVING_SCHEDULER(asha, HALVING_ASHA);
