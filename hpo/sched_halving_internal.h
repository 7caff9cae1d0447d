/* hpo/sched_halving_internal.h: what the two files of the halving engine
 * share.  NOT a public header: only hpo/sched_halving*.c include it.
 *
 *   sched_halving_rungs.c  bracket arithmetic, the map from a trial number
 *                          to its bracket, parsing the "hb" attribute, the
 *                          rung table (all declared in sched_halving.h)
 *   sched_halving.c        the scheduler: its per-trial cache of the "hb"
 *                          records, the promotion rules, the hooks
 *
 * Does not: hold state (the engine's struct is private to sched_halving.c).
 */
#ifndef TL_HPO_SCHED_HALVING_INTERNAL_H
#define TL_HPO_SCHED_HALVING_INTERNAL_H

#include "hpo/sched_halving.h"

/* Relative slack of the budget comparisons (r_i against max_budget). */
#define HALVING_REL_EPS 1e-9

/* A trial's "status" in its "hb" attribute. */
enum hb_status { HB_RUNNING, HB_PAUSED, HB_STOPPED, HB_COMPLETE, HB_PRUNED, HB_FAILED, HB_STATUS_COUNT };

/* The words of enum hb_status, as stored. */
extern const char *const halving_status_names[HB_STATUS_COUNT];

/* The enum hb_status of word s, or -1.  Cannot fail. */
int halving_status_parse(const char *s);

/* 1 when eta is a whole number small enough for exact integer powers. */
int halving_eta_integral(double eta);

#endif
