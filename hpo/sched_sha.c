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

HALVING_SCHEDULER(sha, HALVING_SHA);
