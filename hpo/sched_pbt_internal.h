/* hpo/sched_pbt_internal.h: what the two files of the PBT scheduler share.
 * NOT a public header: only hpo/sched_pbt*.c include it.
 *
 *   sched_pbt.c         the scheduler's hooks (validate, init, next, report,
 *                       started, tell, requeued) and its vtable
 *   sched_pbt_decide.c  the explore step, the settings read from the
 *                       study, the lineages' load and save, and the
 *                       decisions: ranking, generation checks, drawing a
 *                       source, exploit and explore_only
 *
 * The pbts_ functions below expect the study's lock held (they run inside
 * the scheduler's hooks); those that write expect a transaction open.
 * Does not: hold anything that is not re-read from storage, except the
 * settings and the `copying` marks.
 */
#ifndef TL_HPO_SCHED_PBT_INTERNAL_H
#define TL_HPO_SCHED_PBT_INTERNAL_H

#include "hpo/pbt.h"
#include "hpo/scheduler.h"

#define PBT_STREAM 0x5042540000000000ULL /* "PBT" */

typedef struct ranked {
    int member;
    double key;   /* smaller is better; NAN last */
} ranked;

typedef struct pbt {
    pbt_options opt;     /* as given (explore reads factors and resample_probability) */
    int population;      /* min(opt.population, trials) */
    int interval;
    int final;           /* ceil(max_budget) */
    int sync;
    double quantile;
    int ready;           /* settings read from the study */
    int mode;
    int keep_values;     /* exploit copies the state only (the toy of sec. 4.1) */
    int live[SPACE_MAX_PARAMS];
    char *buf;           /* (PBT_LINEAGE_MAX) attribute scratch */
    pbt_lineage *lin;    /* (population) re-read by every hook */
    ranked *rank;        /* (population) */
    int *cand;           /* (population) exploit sources to draw from */
    int *copying;        /* (population) copying[m] = the source member m was just told to copy
                            (the objective copies after the report returns, outside the lock),
                            -1; the source is not resumed until m's next report or tell */
} pbt;

/* Reads the live list, the mode and keep_values once per process; stores
 * the resolved live list and the note when the study has none.  0 or a
 * tl_code. */
int pbts_setup(pbt *p, const sched_ctx *ctx, tl_err *err);
/* Re-read member m's lineage, or every member's, from storage; 0 or a
 * tl_code. */
int pbts_load_lineage(pbt *p, const sched_ctx *ctx, int m, tl_err *err);
int pbts_load_all(pbt *p, const sched_ctx *ctx, tl_err *err);
/* Writes member m's lineage back; 0 or a tl_code. */
int pbts_save_lineage(pbt *p, const sched_ctx *ctx, int m, tl_err *err);

/* Member k is running, paused or waiting. */
int pbts_member_live(const sched_ctx *ctx, int k);
/* k's latest entry that is not a final one (NULL: none), and the position
 * of its state (start of its current segment). */
const pbt_entry *pbts_latest(const pbt *p, int k);
int pbts_position(const pbt *p, int k);
/* The value standing for k's current weights (async ranking). */
double pbts_current_value(const pbt *p, int k);
/* qsort order of ranked: smaller key first, NAN last, then member. */
int pbts_cmp_ranked(const void *a, const void *b);
/* Ranks into p->rank (best first); returns the number ranked, *nq the
 * quantile size.  at >= 0: values at the ready point of step at (sync);
 * at < 0: current values (async).  Member m counts with mvalue. */
int pbts_rank_members(pbt *p, const sched_ctx *ctx, int at, int m, double mvalue, int *nq);
/* Rank of member k among the n ranked, or -1. */
int pbts_rank_of(const pbt *p, int n, int k);
/* 1 when every member other than m still training has reached step r. */
int pbts_generation_complete(const pbt *p, const sched_ctx *ctx, int r, int m);
/* Sync: 1 when member k must still copy for generation r (p->rank ranked
 * for r: n, nq). */
int pbts_pending(const pbt *p, const sched_ctx *ctx, int k, int r, int n, int nq);
/* A paused member that may be resumed now (nobody is about to copy it). */
int pbts_resumable(const pbt *p, const sched_ctx *ctx, int k);
/* Number of t's reported steps after step `after`. */
int pbts_steps_after(const trial *t, int after);

/* The generator of member m's entry `index` (seeded from the study seed). */
void pbts_entry_rng(const study_config *cfg, int m, int index, rng *r);
/* *e as a new entry of kind with values, value NAN, no source. */
void pbts_entry_new(pbt_entry *e, int kind, const double *values, const space *sp);
/* Member m in the bottom nq of the n ranked copies a drawn source when
 * there is one: *decision = DECIDE_EXPLOIT, *exploit_src = the source
 * (outputs untouched otherwise).  0 or a tl_code. */
int pbts_exploit_bottom(pbt *p, const sched_ctx *ctx, int n, int nq, int m, int r, int step,
                        double value, int ready, rng *g, int *decision, int *exploit_src,
                        tl_err *err);
/* explore_only: member k perturbs its own values (no copy).  0 or a
 * tl_code. */
int pbts_explore_own(pbt *p, const sched_ctx *ctx, int k, tl_err *err);

#endif
