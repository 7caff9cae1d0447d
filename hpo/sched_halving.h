/* hpo/sched_halving.h: the engine behind the successive-halving schedulers
 * (sha, hyperband, asha): bracket arithmetic, the per-trial rung record
 * kept as a trial attribute, the promotion rules, and a rung table for
 * reports.
 *
 * Budgets.  s_max = floor(log_eta(max_budget / min_budget)); rung i of
 * bracket s trains to r_i = max_budget * eta^(i - s), i = 0..s, so the top
 * rung is always max_budget and the bottom one is >= min_budget.  A
 * Hyperband bracket s starts n = ceil((s_max+1)/(s+1) * eta^s)
 * configurations and keeps n_i = floor(n * eta^-i) of them at rung i
 * (Li et al. 2018, Algorithm 1 and Table 1).
 *
 * Each trial carries the attribute "hb", a JSON object rewritten whenever
 * the trial starts, is promoted, pauses, ends or is stopped:
 *   {"scheduler":"hyperband","iteration":0,"bracket":3,"rung":1,
 *    "status":"paused","rung_n":[34,11,3,1],"rung_budget":[3,9,27,81],
 *    "rung_value":[0.52,0.47]}
 * iteration: which repetition of the Hyperband cycle (0 for sha and asha);
 * bracket: s; rung: the highest rung the trial was started at; status:
 * running | paused (waiting at the end of its rung) | stopped (will not be
 * promoted: the trial is then PRUNED, reason "stopped at rung i (budget
 * b) of bracket s") | complete | pruned | failed; rung_n: planned trials per rung
 * (absent for asha, whose rungs are open-ended); rung_budget: r_i;
 * rung_value: the value the trial reported at the end of each rung it
 * finished (null for NaN).  A trial was promoted at rung_budget[i] for
 * every i < rung.  The scheduler's state is rebuilt from these attributes
 * and the trials, so a killed study resumes mid-bracket.
 *
 * Does not: run trials, keep anything that is not in storage, or print.
 */
#ifndef TL_HPO_SCHED_HALVING_H
#define TL_HPO_SCHED_HALVING_H

#include <stddef.h>

#include "hpo/scheduler.h"
#include "util/err.h"

#define HALVING_MAX_RUNGS 24

/* The options of sha, hyperband and asha (study_config.scheduler_opts). */
typedef struct halving_options {
    double eta;                /* halving rate; default 3; key study.eta, > 1 */
} halving_options;

/* Fills o with the defaults above.  Cannot fail. */
void halving_options_default(halving_options *o);

/* The halving rate of cfg's scheduler when cfg->scheduler names sha,
 * hyperband or asha (its scheduler_opts, or the default when NULL), else
 * 0.  For samplers that follow the rungs (bayes, multi-fidelity).  Cannot
 * fail. */
double halving_eta_for(const study_config *cfg);

enum halving_mode { HALVING_SHA, HALVING_HYPERBAND, HALVING_ASHA, HALVING_MODE_COUNT };
const char *halving_mode_str(int mode);

/* floor(log_eta(max_budget / min_budget)) computed by exact multiplication
 * (no log rounding: max 81, min 1, eta 3 gives 4).  Returns s_max >= 0, or
 * -1 when eta <= 1, min_budget <= 0, max_budget < min_budget, a value is
 * not finite, or the rungs would exceed HALVING_MAX_RUNGS. */
int halving_s_max(double min_budget, double max_budget, double eta);

/* Hyperband's n for bracket s: ceil((s_max+1) / (s+1) * eta^s), in exact
 * integer arithmetic when eta is an integer.  Cannot fail (inputs as
 * checked by halving_s_max; 0 <= s <= s_max). */
long halving_bracket_n(int s, int s_max, double eta);

/* Fills the rungs of bracket s: r[i] = max_budget * eta^(i-s) and
 * n[i] = max(1, floor(n0 * eta^-i)) for i = 0..s, where n0 is n_first when
 * > 0 (sha's n, or a bracket cut short by the trial budget) and
 * halving_bracket_n otherwise.  n may be NULL.  Returns the number of
 * rungs, s + 1.  Cannot fail. */
int halving_bracket(int s, int s_max, double eta, double max_budget, long n_first, long *n,
                    double *r);

/* Which Hyperband bracket trial `number` belongs to when brackets s =
 * s_max..0 repeat while the budget of `trials` trials lasts. */
typedef struct halving_slot {
    long iteration;   /* repetition of the cycle of brackets */
    int s;            /* bracket */
    long first;       /* number of the bracket's first trial */
    long n;           /* trials the bracket gets: its n, or fewer when the budget runs out */
} halving_slot;

/* Fills *out for trial `number` (0 <= number < trials).  Cannot fail. */
void halving_slot_of(long number, int s_max, double eta, long trials, halving_slot *out);

/* The engine as one scheduler state; sched_sha.c, sched_hyperband.c and
 * sched_asha.c are thin vtables over these.  validate and init (which
 * validates) return 0 or TL_EINPUT naming the config key; opts is a
 * halving_options (NULL: defaults); the others follow scheduler_vt. */
int halving_validate(int mode, const void *opts, const study_config *cfg, tl_err *err);
int halving_init(void **self, int mode, const void *opts, const study_config *cfg, tl_err *err);
int halving_next(void *self, const sched_ctx *ctx, sched_next *out, tl_err *err);
int halving_report(void *self, const sched_ctx *ctx, const trial *t, int step, double value,
                   int *decision, int *exploit_src, tl_err *err);
int halving_started(void *self, const sched_ctx *ctx, const trial *t, const sched_next *how,
                    tl_err *err);
int halving_tell(void *self, const sched_ctx *ctx, const trial *t, tl_err *err);
int halving_requeued(void *self, const sched_ctx *ctx, const trial *t, tl_err *err);
void halving_free(void *self);

/* Defines `const scheduler_vt sched_<id>_vt` over the engine in mode
 * MODE: the whole of sched_sha.c, sched_hyperband.c and sched_asha.c
 * besides their header comments. */
#define HALVING_SCHEDULER(id, MODE)                                                          \
    static int id##_validate(const void *opts, const study_config *cfg, const space *sp,     \
                               tl_err *err)                                                    \
    {                                                                                          \
        (void)sp;                                                                              \
        return halving_validate(MODE, opts, cfg, err);                                         \
    }                                                                                          \
    static int id##_init(void **self, const void *opts, const study_config *cfg,             \
                           const space *sp, tl_err *err)                                       \
    {                                                                                          \
        (void)sp;                                                                              \
        return halving_init(self, MODE, opts, cfg, err);                                       \
    }                                                                                          \
    const scheduler_vt sched_##id##_vt = {                                                   \
        .name = #id,                                                                         \
        .validate = id##_validate,                                                           \
        .init = id##_init,                                                                   \
        .next = halving_next,                                                                  \
        .report = halving_report,                                                              \
        .started = halving_started,                                                            \
        .tell = halving_tell,                                                                  \
        .free = halving_free,                                                                  \
        .requeued = halving_requeued,                                                          \
    }

/* One trial's "hb" attribute, parsed. */
typedef struct halving_info {
    char scheduler[16];
    long iteration;
    int bracket;
    int rung;
    char status[16];
    int nrungs;                         /* entries of budget (and of n, when has_n) */
    int has_n;
    long n[HALVING_MAX_RUNGS];
    double budget[HALVING_MAX_RUNGS];
    int nvalues;
    double value[HALVING_MAX_RUNGS];    /* NAN where the attribute holds null */
} halving_info;

/* Parses an "hb" attribute.  Returns 0, or TL_EINPUT when text is NULL or
 * not such an object. */
int halving_info_parse(const char *text, halving_info *out, tl_err *err);

/* The rung table of a study, for reports and people: one line per
 * (iteration, bracket, rung) with the rung's budget, planned size, how
 * many trials entered it, were promoted from it, stopped at it, completed
 * at it, failed or were pruned at it, are still running or paused there,
 * and the best value reported at its end.  hb[k] is trial k's "hb"
 * attribute (NULL where absent: skipped); direction picks "best".
 * Returns 0 with *out a malloc'd NUL-terminated text (caller frees), or
 * TL_EINPUT (an unparsable attribute, naming the trial) / TL_ERUNTIME
 * (memory). */
int halving_rung_table(const char *const *hb, int n, int direction, char **out, tl_err *err);

#endif
