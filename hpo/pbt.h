/* hpo/pbt.h: population-based training (Jaderberg et al. 2017) as a
 * scheduler, its explore step and its lineage records.  (The paper's toy
 * problem, an objective for tests and experiments/pbt-toy, is
 * tests/pbt_toy.h.)
 *
 * The scheduler (sched_pbt_vt, name "pbt", in sched_pbt.c; its options are
 * pbt_options, below):
 *   - creates min(population, trials) trials, the members (the rest
 *     of the trial budget is not used; enqueued trials count
 *     as members: study_enqueue sets a member's starting values); a member
 *     keeps its trial number for the whole study and trains in segments:
 *     it is ready after `interval` budget units (epochs) of its own
 *     training since its segment started, and then PAUSES (DECIDE_PAUSE)
 *     unless it exploits; the scheduler resumes it with PROMOTE and budget
 *     position + interval (max_budget for the last segment).  Its state is
 *     kept in memory and saved by the objective's state_save at every
 *     ready point, and one worker time-slices the whole population;
 *   - at a ready point ranks the members by their latest ready-point
 *     values; a member in the bottom `quantile` (ceil(quantile * n),
 *     at most n/2, ties broken by trial number) gets DECIDE_EXPLOIT of a
 *     member drawn from the top quantile among those that are PAUSED with
 *     their state in memory (study_state_copy needs it) and, in
 *     asynchronous mode, are not behind it; its new values are the
 *     source's values explored (pbt_explore; parameters that cannot change
 *     mid-run are copied unchanged, "fixed per lineage"), set with
 *     study_set_values, and the source becomes its parent.  After the copy
 *     the objective goes on to its job's budget (when the copied position
 *     is already there, it stops and the member pauses);
 *   - asynchronous (sync = 0): a member is ranked as soon as it is
 *     ready, against the values of the others' current weights (their
 *     latest ready-point values; for a member that copied at that point,
 *     the value its source reported for the copied state); the paused
 *     member with the
 *     smallest position runs next, among equals the one with the best
 *     latest value, so that bottom members reach a ready point after the
 *     top ones and find them paused there to copy (no work is thrown away);
 *   - synchronous (sync = 1): members wait at each ready point until the
 *     whole population is there (a generation).  The last member to arrive
 *     sees the complete ranking and exploits at once if it is in the bottom;
 *     the other bottom members had already paused, so they exploit at the
 *     first report after their resumption (one budget unit later: that unit
 *     of their own training is thrown away and counted as spent).  Bottom
 *     members run first in the next generation and the top members stay
 *     paused until every bottom member has copied.
 * State that must survive a crash is in storage: per trial the attribute
 * "pbt.lineage" (a JSON array of pbt_entry, below), per
 * study "pbt.live" (resolved list of live parameters) and "pbt.note" (which
 * parameters are explored, which are fixed per lineage).  A killed study
 * resumes from the last ready points: paused members continue from their
 * saved states; a member that was RUNNING goes back to its last pause (the
 * study core's `requeued` hook: the entries its lost run made are dropped,
 * its values and parent are those it had then) and continues from the
 * state saved there.  Only a member killed in its first segment, which has
 * no saved state, is re-run from scratch (a "restart" entry; it pauses at
 * every ready point again until it has caught up).  Exploits need sources
 * whose state is in memory, so after a resume they start again once
 * sources have paused in the new process.
 *
 * Study attributes a C user may set after study_open, before optimizing:
 *   "pbt.live"  comma-separated parameter names that may change mid-run
 *               ("*": all).  Absent: PBT_LIVE_DEFAULT, the keys the CLI's
 *               training objective applies to a running trial.
 *   "pbt.mode"  "pbt" (default), "exploit_only" (copy, no explore) or
 *               "explore_only" (bottom members perturb their own values
 *               without copying: the objective must re-read its values with
 *               study_get_values after each report; the toy objective does,
 *               the CLI's training objective does not).  Ablations for the
 *               toy example.
 *   "pbt.keep_values"  "1": an exploiting member copies the source's state
 *               only and keeps (then explores) its own values (a literal
 *               reading of the toy of the paper's sec. 4.1, "copy theta");
 *               "0" (default): it takes the source's values too, the
 *               truncation selection of the paper's sec. 3.
 *
 * Does not: know neural networks or configs (names are opaque strings),
 * copy states itself (the objective does on DECIDE_EXPLOIT), print.
 */
#ifndef TL_HPO_PBT_H
#define TL_HPO_PBT_H

#include <stddef.h>

#include "hpo/objective.h"
#include "hpo/space.h"
#include "hpo/study.h"
#include "util/err.h"
#include "util/rng.h"

#define PBT_ATTR_LIVE "pbt.live"
#define PBT_ATTR_MODE "pbt.mode"
#define PBT_ATTR_KEEP_VALUES "pbt.keep_values"
#define PBT_ATTR_NOTE "pbt.note"
#define PBT_ATTR_LINEAGE "pbt.lineage"

/* The scheduler's options (study_config.scheduler_opts). */
typedef struct pbt_options {
    int population;            /* members; default 8; key pbt.population, >= 2 */
    double interval;           /* budget between ready points, a whole number >= 1; default 1;
                                  key pbt.interval */
    double quantile;           /* bottom/top fraction for exploit, in (0, 0.5]; default 0.25;
                                  key pbt.quantile */
    double factors[4];         /* explore: perturbation factors > 0; default {0.8, 1.2};
                                  keys pbt.factor_low, pbt.factor_high */
    int nfactors;              /* used entries of factors, 1 to 4; default 2 */
    double resample_probability; /* explore: resample instead of perturb, in [0, 1]; default
                                  0.25; key pbt.resample_probability */
    int sync;                  /* 1: generations in lock step; 0: asynchronous (default) */
    /* Optional: the parameters a space may not tune under PBT, because a
     * member's state cannot be copied into a member that differs in them
     * (for the CLI's training objective: the model's shape, the optimizer,
     * the batch size).  Returns NULL when parameter `name` may be tuned,
     * else why not, as a phrase ("a member copies another's weights, so
     * ... cannot be tuned"); the scheduler's validate then fails with
     * "space: NAME: with study.scheduler = pbt WHY (tune them with another
     * scheduler, or fix them)".  NULL: every parameter may be tuned. */
    const char *(*untunable)(void *ud, const char *name);
    void *untunable_ud;
} pbt_options;

/* Fills o with the defaults above.  Cannot fail. */
void pbt_options_default(pbt_options *o);

/* The parameters the CLI's training objective changes in a running trial. */
#define PBT_LIVE_DEFAULT                                                                           \
    "train.lr,train.weight_decay,train.momentum,train.beta1,train.beta2,train.eps,"               \
    "train.clip_norm,model.dropout"

/* Largest lineage attribute read back (bytes). */
#define PBT_LINEAGE_MAX (1 << 20)

enum pbt_mode { PBT_MODE_FULL, PBT_MODE_EXPLOIT_ONLY, PBT_MODE_EXPLORE_ONLY, PBT_MODE_COUNT };

/* "pbt", "exploit_only", "explore_only"; "?" out of range. */
const char *pbt_mode_str(int mode);

/* Parses a mode name.  Returns 0 or TL_EINPUT listing the names. */
int pbt_mode_parse(const char *name, int *mode, tl_err *err);

/* Sets live[i] = 1 for every parameter of sp named in the comma-separated
 * list (spaces around names ignored; "*" marks all), else 0.  Names not in
 * the space are ignored (the default list names keys a space may lack).
 * Cannot fail. */
void pbt_live_mask(const space *sp, const char *list, int *live);

/* The explore step on values (sp->n internal values, changed in place):
 * every active live parameter is, with probability
 * o->resample_probability, resampled uniformly from the space
 * (space_from_unit); otherwise a float is multiplied by a factor drawn
 * uniformly from o->factors[0..nfactors) and clipped to its
 * bounds, an int or a categorical moves to a neighbouring value (one up or
 * one down in the declared order, chosen at random; inward at a bound).
 * Non-live parameters are left as they are.  Then conditions are applied
 * and a parameter that became active gets a uniform draw.  All draws come
 * from r, in parameter order.  Returns 0, or TL_EINPUT when the result is
 * not a valid point (the message names the parameter). */
int pbt_explore(const space *sp, const int *live, const pbt_options *o, rng *r,
                double *values, tl_err *err);

/* ---- lineage ---- */

enum pbt_entry_kind {
    PBT_START,   /* the member was created (step 0) */
    PBT_RESTART, /* re-run from scratch after its process died (step 0) */
    PBT_READY,   /* reached a ready point and kept its weights */
    PBT_EXPLOIT, /* copied src's state (at a ready point, or one unit after in sync mode) */
    PBT_FINAL,   /* finished (value = the final value) */
    PBT_ENTRY_KIND_COUNT
};

/* "start", "restart", "ready", "exploit", "final"; "?" out of range. */
const char *pbt_entry_kind_str(int kind);

/* One record of a member's history.  JSON form (one object per entry):
 *   {"kind":"exploit","step":9,"pos":8,"value":0.41,"ready":false,
 *    "src":3,"src_entry":4,"values":{"train.lr":0.0012,"model.act":"relu"}}
 * values: numbers for floats and ints, the choice's text for categoricals,
 * null for inactive parameters. */
typedef struct pbt_entry {
    int kind;           /* enum pbt_entry_kind */
    int step;           /* the member's own position (epochs) when the entry was made */
    int pos;            /* its position after the entry: the source's for an exploit */
    double value;       /* value reported at step (NAN for start/restart) */
    int ready;          /* 1 when made at a ready point */
    int src;            /* exploit: the trial whose state was copied; else -1 */
    int src_entry;      /* exploit: index of the source's entry its copied state started at */
    double values[SPACE_MAX_PARAMS]; /* internal values used from pos on */
} pbt_entry;

typedef struct pbt_lineage {
    int n, cap;
    pbt_entry *e;       /* (n) in the order they were made */
} pbt_lineage;

/* Appends a copy of e.  Returns 0 or TL_ERUNTIME (memory). */
int pbt_lineage_append(pbt_lineage *l, const pbt_entry *e, tl_err *err);

/* Frees what l owns and empties it; NULL is a no-op. */
void pbt_lineage_free(pbt_lineage *l);

/* Parses the JSON form (above) of a lineage over space sp into *out (empty
 * on entry; pbt_lineage_free it either way).  Returns 0 or TL_EINPUT naming
 * the entry and field that is wrong. */
int pbt_lineage_parse(const space *sp, const char *json, pbt_lineage *out, tl_err *err);

/* The JSON form of l (malloc'd, caller frees), or NULL when out of memory. */
char *pbt_lineage_to_json(const space *sp, const pbt_lineage *l);

/* Reads trial `trial`'s lineage attribute from s into *out (empty when the
 * trial has none).  buf: scratch of n bytes (PBT_LINEAGE_MAX is enough).
 * Returns 0, TL_ERUNTIME (database; lineage longer than n-1 bytes) or
 * TL_EINPUT (unparsable). */
int pbt_lineage_load(study *s, int trial, char *buf, size_t n, pbt_lineage *out, tl_err *err);

/* ---- the schedule a member followed ---- */

/* An interval of training [start, end) with the values in force and the
 * member that trained it. */
typedef struct pbt_segment {
    int start, end;
    int member;
    double values[SPACE_MAX_PARAMS];
} pbt_segment;

/* Follows the weights of member `m` back to their origin through every
 * exploit: the list of segments that produced its final state, in order,
 * tiling [0, end) (end = m's final step; the last entry's step, or `end`
 * when the member is unfinished and end > 0).  lineages: (nmembers), index
 * = trial number.  *out is malloc'd (caller frees), *nseg its length.
 * Returns 0, or TL_EINPUT when the records are inconsistent (a source or
 * entry index out of range, a cycle, gaps). */
int pbt_schedule(const pbt_lineage *lineages, int nmembers, int m, int end, pbt_segment **out,
                 int *nseg, tl_err *err);

/* Budget units actually trained by one member: the sum of its segments'
 * lengths, counting work thrown away by a later exploit or a restart. */
int pbt_member_work(const pbt_lineage *l, int final_step);

#endif
