/* hpo/sched_halving_internal.h: what the two files of the halving engine
 * share.  NOT a public header: only hpo/sched_halving*.c include it.
 *
 *   sched_halving_rungs.c  bracket arithmetic, the map from a trial number
 *                          to its bracket, parsing the "hb" attribute, the
 *                          rung table (all declared in sched_halving.h)
 *   sched_halving_record.c the scheduler's per-trial cache of the "hb"
 *                          records: read from, written to and checked
 *                          against storage, and each trial's bracket plan
 *   sched_halving.c        the promotion rules and the scheduler's hooks
 *
 * The hb_ functions expect the study's lock held (they run inside the
 * scheduler's hooks); those that write expect a transaction open.  Does
 * not: keep anything that storage does not hold (the cache is re-read
 * whenever a trial's row changes).
 */
#ifndef TL_HPO_SCHED_HALVING_INTERNAL_H
#define TL_HPO_SCHED_HALVING_INTERNAL_H

#include "hpo/sched_halving.h"

/* Relative slack of the budget comparisons (r_i against max_budget). */
#define HALVING_REL_EPS 1e-9

/* A trial's "status" in its "hb" attribute. */
enum hb_status {
    HB_RUNNING, HB_PAUSED, HB_STOPPED, HB_COMPLETE, HB_PRUNED, HB_FAILED, HB_STATUS_COUNT
};

/* The words of enum hb_status, as stored. */
extern const char *const halving_status_names[HB_STATUS_COUNT];

/* The enum hb_status of word s, or -1.  Cannot fail. */
int halving_status_parse(const char *s);

/* 1 when eta is a whole number small enough for exact integer powers. */
int halving_eta_integral(double eta);

/* What this process knows of one trial; fp_* is the trial row it was
 * read against (a different row means: read the attribute again). */
typedef struct entry {
    int known;
    int fp_state, fp_nsteps;
    double fp_budget, fp_value;
    long iteration;
    int bracket;
    int rung;
    int status;                          /* enum hb_status */
    int nvals;
    double v[HALVING_MAX_RUNGS];         /* value at the end of each rung */
} entry;

typedef struct rank {
    double key;                          /* value, negated when maximizing */
    int number;
} rank;

typedef struct halving {
    int mode;
    double max_budget, eta;
    long trials;
    int s_max;
    entry *e;
    int cap;
    rank *rk;
    int cap_rk;
} halving;

/* The rungs of the bracket trial `number` belongs to. */
typedef struct plan {
    long iteration;
    int s;
    long first, n_eff;
    int nrungs;
    long n[HALVING_MAX_RUNGS];
    double r[HALVING_MAX_RUNGS];
} plan;

/* The rungs of the bracket trial `number` belongs to.  Cannot fail. */
void hb_plan_of(const halving *h, long number, plan *p);
/* Room for n entries in h->e (new ones unknown) and h->rk.  0 or
 * TL_ERUNTIME. */
int hb_grow(halving *h, int n, tl_err *err);
/* Remembers t's row as the one e was read against. */
void hb_fp_set(entry *e, const trial *t);
/* The enum hb_status of a trial state. */
int hb_status_of_state(int state);
/* Reads trial k's "hb" attribute into h->e[k] (a trial without one gets a
 * fresh record from its plan).  0 or a tl_code. */
int hb_entry_load(halving *h, const sched_ctx *ctx, int k, tl_err *err);
/* Writes h->e[k] as trial k's "hb" attribute.  0 or a tl_code. */
int hb_entry_store(halving *h, const sched_ctx *ctx, int k, tl_err *err);
/* Re-reads every entry whose trial row changed since it was read. */
int hb_refresh(halving *h, const sched_ctx *ctx, tl_err *err);
/* t's entry, re-read when its row changed: *out.  0 or a tl_code. */
int hb_entry_of(halving *h, const sched_ctx *ctx, const trial *t, entry **out, tl_err *err);
/* hb_entry_store for trial t, then its row remembered.  0 or a tl_code. */
int hb_entry_save(halving *h, const sched_ctx *ctx, const trial *t, tl_err *err);

#endif
