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

HALVING_SCHEDULER(hyperband, HALVING_HYPERBAND);
