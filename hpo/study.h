/* hpo/study.h: a study: ask / report / tell over a search space, stored in
 * SQLite so that it survives a crash and several processes can share it.
 *
 * Flow (what the executor does for each worker, and what a C user can do by
 * hand):
 *   study_ask     -> a trial_job: a NEW trial (values from the sampler, a
 *                    number, a seed), a paused trial to RESUME with a bigger
 *                    budget (the scheduler promotes it), WAIT (nothing
 *                    runnable now; others are running) or DONE.
 *   study_report  -> stores an intermediate value (committed) and returns
 *                    the scheduler's decision: continue, stop (pruned),
 *                    pause, exploit.
 *   study_tell    -> stores the final state and value (committed).
 *
 * Budget: cfg.trials counts trials created by the study, whatever their
 * end (complete + pruned + failed, and those still running or paused); a
 * trial re-run after a crash keeps its number and does not count twice.
 * Trial numbers are claimed inside BEGIN IMMEDIATE transactions, so any
 * number of threads and processes sharing one database never duplicate a
 * number nor exceed the budget.
 *
 * Resume: study_open on an existing database checks that the space,
 * direction and metric match the stored ones (TL_EINPUT explaining the
 * first difference otherwise).  Trials left RUNNING by a process that no
 * longer exists (same host, dead pid) go back to the queue (state WAITING)
 * and are re-run with the same values and the same seed; their partial
 * intermediate values are dropped.  Except a trial that had paused before
 * (a promoted one) when the scheduler has a `requeued` hook and the state
 * saved at that pause is on disk (state_dir/trial-N.state, not newer than
 * the pause record STUDY_ATTR_PAUSED_AT): it goes back to PAUSED as it was
 * at that pause (budget, value, intermediate values up to that step), so
 * the scheduler promotes it again and the objective resumes it from the
 * saved state.  Requeueing is checked at open and at every ask.
 *
 * Times: trial.started is the trial's first start (promotions and re-runs
 * keep it); trial.finished is when it last stopped running (ended, or
 * paused until its next promotion).  For a trial that pauses, the seconds
 * it actually ran, summed over its runs, are in the trial attribute
 * STUDY_ATTR_RUN_SECONDS (a trial that runs once ran finished - started).
 *
 * Thread safety: every function takes the study's (recursive) mutex, so
 * threads may share one study; scheduler hooks run with the mutex held and
 * may call the study_*attr*, study_set_values, study_set_parent and
 * study_stop_paused functions.  Progress callbacks run with the mutex NOT
 * held.
 *
 * Does not: know any algorithm (samplers and schedulers are looked up by
 * name in their registries), know neural networks or config files, print.
 */
#ifndef TL_HPO_STUDY_H
#define TL_HPO_STUDY_H

#include <stddef.h>
#include <stdint.h>

#include "hpo/space.h"
#include "hpo/trial.h"
#include "util/err.h"
#include "util/rng.h"

typedef struct study study;
struct objective;

typedef struct study_config {
    char name[128];            /* study name (required) */
    char storage[512];         /* SQLite path; "" -> "runs/<name>.db" (folder created) */
    int trials;                /* budget: trials created (see above); default 20 */
    uint64_t seed;             /* study seed; default 0 */
    int direction;             /* STUDY_MINIMIZE (default) or STUDY_MAXIMIZE */
    char metric[64];           /* name of the optimized value, stored (opaque); default "value" */
    char sampler[32];          /* random | grid | sobol | bayes | evolution | tpe | cmaes;
                                  default random */
    char scheduler[32];        /* fifo | median | sha | hyperband | asha | pbt; default fifo */
    /* The chosen algorithms' options: each points to the options struct of
     * the algorithm the name above selects, declared in that algorithm's
     * header (sampler: grid_options in hpo/sampler_grid.h, bayes_options
     * in hpo/sampler_bayes.h, evolution_options in hpo/sampler_evolution.h,
     * tpe_options in hpo/sampler_tpe.h, cmaes_options in hpo/sampler_cmaes.h;
     * scheduler: median_options in hpo/sched_median.h, halving_options in
     * hpo/sched_halving.h for sha, hyperband and asha, pbt_options in
     * hpo/pbt.h), or NULL for that algorithm's defaults (random, sobol and
     * fifo have none).  Only study_validate and study_open read them (the
     * algorithms copy what they keep): they need not outlive study_open,
     * and the study's own copy (study_get_config) has them NULL. */
    const void *sampler_opts;
    const void *scheduler_opts;
    int workers;               /* executor threads; default 1 (the executor takes its own argument) */
    double min_budget;         /* smallest resource a trial gets (epochs, steps); default 1 */
    double max_budget;         /* largest resource (fifo and median give every trial this); default 1 */
    int max_consecutive_failures; /* stop when the first N finished trials all failed; 0 = never; default 5 */
    /* Resource limits of the whole study besides `trials` (0: none; see
     * hpo/study_budget.c): max_reports caps the intermediate values stored
     * over all trials (one per epoch trained by the training objective:
     * epochs of pruned, paused and running trials count); max_seconds
     * caps the wall seconds spent between study_open and the asks,
     * reports and tells of this study, summed over processes (study
     * attribute STUDY_ATTR_BUDGET_SECONDS).  Once a limit is reached,
     * study_ask hands out DONE and a report of a trial short of its target
     * answers DECIDE_STOP (the trial ends PRUNED with trial attribute
     * STUDY_ATTR_BUDGET_CUT = 1): the trial is cut at the epoch that
     * exhausts the budget.  Defaults 0. */
    double max_reports;
    double max_seconds;
    char state_dir[512];       /* where paused trials' states are saved when the objective can save
                                  them; "" -> "<storage>.states" */

    /* Optional constraint on sampled candidates, for every sampler: returns
     * 1 when the internal values are acceptable (e.g. the model they
     * describe has at most nas.max_params parameters), 0 to reject the
     * candidate, writing why (room for why_n bytes; may be NULL) as
     * "key: what" ("model.heads: d_model 48 is not divisible by 5 heads").
     * A rejected candidate is never run nor stored as a trial: study_ask
     * asks the sampler again with the same trial generator, up to
     * STUDY_MAX_REJECTS times in a row (then it fails with TL_EINPUT
     * quoting the last reason), and adds the rejections to the study
     * attribute "rejected" (see STUDY_ATTR_REJECTED).  Called with the
     * study's lock held, one call at a time.  hpo/ never looks inside;
     * tune/ provides it (tune/nas.h).  NULL: everything goes.  Not checked for enqueued
     * or re-queued trials. */
    int (*accept)(void *ud, const space *sp, const double *values, char *why, size_t why_n);
    void *accept_ud;

    /* Duplicate reuse: 1 -> a sampled (and accepted) candidate whose values
     * equal, parameter for parameter, those of an earlier COMPLETE or
     * PRUNED trial with a finite value is not run: the study stores it at
     * once as a trial in the same state with the same value, budget 0,
     * reason "reused result of trial N" and trial attribute "reused_from"
     * = N (the first such trial), emits its FINISHED event, and asks the
     * sampler for the next trial.  Reused trials count against the trial
     * budget (they are evaluations) but cost no resource; the scheduler's
     * started/tell hooks are not called for them.  Default 0. */
    int reuse_duplicates;

    /* Optional second objective, always minimized, that is a function of the
     * values alone (tune/nas.h: the model's parameter count), for samplers that
     * honour it (evolution: tournaments pick by Pareto rank of (value,
     * cost)).  Called with the study's lock held.  NULL: one objective. */
    double (*cost)(void *ud, const space *sp, const double *values);
    void *cost_ud;
} study_config;

/* Candidates study_ask lets the accept callback reject in a row for one
 * trial before it gives up. */
#define STUDY_MAX_REJECTS 1000

/* The study attribute counting rejected candidates, as JSON:
 *   {"total": 12, "reasons": [{"key": "model.heads", "count": 7,
 *     "example": "model.heads: d_model 48 is not divisible by 5 heads"}, ...]}
 * where key is the reason's text before its first ": " (or "other"). */
#define STUDY_ATTR_REJECTED "rejected"

/* Trial attributes the study writes itself:
 *   STUDY_ATTR_PAUSED_AT  at each pause: {"budget": b, "step": s, "value": v,
 *                         "time": t}: budget used, last reported step (-1:
 *                         none), value (null for NaN), unix seconds; what a
 *                         dead promoted trial goes back to (see Resume);
 *   STUDY_ATTR_RUN_SECONDS  seconds a trial that pauses ran, summed over
 *                         its runs, updated when a run pauses or ends (a
 *                         run lost with its process is not counted); absent
 *                         for a trial that ran once (finished - started). */
#define STUDY_ATTR_PAUSED_AT "paused_at"
#define STUDY_ATTR_BUDGET_SECONDS "budget_seconds"
#define STUDY_ATTR_BUDGET_CUT "budget_cut"
#define STUDY_ATTR_BUDGET_REPEATS "budget_repeats"
#define STUDY_ATTR_RUN_SECONDS "run_seconds"

/* Fills c with the defaults listed above (name empty).  Cannot fail. */
void study_config_default(study_config *c);

/* What study_ask hands out. */
enum job_kind { JOB_NEW, JOB_RESUME, JOB_WAIT, JOB_DONE, JOB_KIND_COUNT };
const char *study_job_kind_str(int kind);

typedef struct trial_job {
    int kind;                  /* enum job_kind */
    int number;                /* trial number (NEW, RESUME) */
    int rerun;                 /* NEW: 1 when re-running a requeued or enqueued trial */
    double budget;             /* run until the trial's total resource reaches this */
    double budget_done;        /* RESUME: resource already used (0 for NEW) */
    int nparams;
    double values[SPACE_MAX_PARAMS]; /* internal values (NAN inactive) */
    uint64_t seed;             /* per-trial seed, a function of (study seed, number) */
    rng rng;                   /* the trial's own generator, seeded from seed */
    int parent;                /* parent trial or -1 */
    void *obj_state;           /* RESUME: the paused trial's state (ownership passes to the
                                  objective), NULL when none is kept in memory */
    char state_path[600];      /* where the state is saved for this trial (may not exist) */
    const space *sp;           /* the study's space (borrowed) */
} trial_job;

/* Scheduler decisions returned by study_report. */
enum study_decision {
    DECIDE_CONTINUE,           /* go on */
    DECIDE_STOP,               /* prune: stop now, tell TRIAL_PRUNED */
    DECIDE_PAUSE,              /* stop now, keep the state, tell TRIAL_PAUSED */
    DECIDE_EXPLOIT,            /* copy trial *exploit_src's state (study_state_copy), read the
                                  new values (study_get_values), go on */
    DECIDE_COUNT
};
const char *study_decision_str(int d);

/* Progress events (for the CLI's live view), delivered without the lock. */
enum study_event_kind { STUDY_EV_STARTED, STUDY_EV_REPORT, STUDY_EV_FINISHED, STUDY_EV_COUNT };

typedef struct study_event {
    int kind;                  /* enum study_event_kind */
    int trial;
    int state;                 /* FINISHED: the trial's state; STARTED: TRIAL_RUNNING */
    int resumed;               /* STARTED: 1 for a promotion of a paused trial */
    int step;                  /* REPORT */
    double value;              /* REPORT: the value; FINISHED: the final value */
    double budget;             /* STARTED: target budget; REPORT/FINISHED: budget used */
    int decision;              /* REPORT: the scheduler's decision */
    const char *reason;        /* FINISHED: failure reason or "" */
} study_event;

typedef void (*study_progress_fn)(void *ud, const study_event *ev);

/* Checks cfg and space sp before a study starts, touching no storage:
 * the core settings, that the sampler and the scheduler exist, and each
 * algorithm's options (cfg->sampler_opts, cfg->scheduler_opts) and space
 * through its validate hook.  study_open runs the same checks.  Returns 0
 * or TL_EINPUT with "key: what" naming the config key. */
int study_validate(const study_config *cfg, const space *sp, tl_err *err);

/* Opens (creating if needed) the study cfg->name in cfg->storage with
 * space sp (copied).  Resumes an existing study: see the header comment.
 * Validates first (study_validate), then builds the sampler and the
 * scheduler from their options, then lets the sampler write its study
 * attributes (its write_attrs hook: bayes writes its settings).
 * Returns 0 with *out a new study owned by the caller (study_close), or
 * TL_EINPUT (bad config or options, unknown sampler or scheduler,
 * space/direction/metric mismatch), TL_ERUNTIME (database, memory). */
int study_open(study **out, const study_config *cfg, const space *sp, tl_err *err);

/* As study_open, with the sampler and the scheduler given as vtables
 * instead of by cfg->sampler / cfg->scheduler (either may be NULL: looked
 * up by name); cfg->sampler_opts and cfg->scheduler_opts go to them.  For
 * C users with their own algorithm, and for tests.  The vtables must
 * outlive the study. */
struct sampler_vt;
struct scheduler_vt;
int study_open_custom(study **out, const study_config *cfg, const space *sp,
                      const struct sampler_vt *smp, const struct scheduler_vt *sched, tl_err *err);

/* Closes the database and frees everything, including kept paused states
 * (through the objective's state_free when one was set).  NULL is a no-op. */
void study_close(study *s);

/* Fills *job with the next thing to run (see enum job_kind).  NEW and
 * RESUME trials are RUNNING in storage when this returns.  Returns 0, or
 * TL_ERUNTIME when the first max_consecutive_failures trials all failed
 * (message names the last reason) or on a database error. */
int study_ask(study *s, trial_job *job, tl_err *err);

/* Records value at step for running trial `trial` (replacing an earlier
 * value at the same step), with budget_used the trial's total resource so
 * far (NAN: unchanged), commits it, and stores the scheduler's decision in
 * *decision (and, for DECIDE_EXPLOIT, the source trial in *exploit_src;
 * either pointer may be NULL).  Returns 0, TL_EINPUT (no such running
 * trial) or TL_ERUNTIME. */
int study_report(study *s, int trial, int step, double value, double budget_used,
                 int *decision, int *exploit_src, tl_err *err);

/* Finishes (COMPLETE, PRUNED, FAILED) or pauses (PAUSED) running trial
 * `trial` with value and reason (NULL: none).  A COMPLETE trial with a NaN
 * or infinite value is stored FAILED ("objective returned nan").  A PRUNED
 * trial without a value takes its last intermediate value.  A trial that
 * reported no budget gets its target budget.  Committed before returning.
 * Returns 0, TL_EINPUT (bad state, no such running trial) or TL_ERUNTIME. */
int study_tell(study *s, int trial, int state, double value, const char *reason, tl_err *err);

/* Ends paused trial `trial` as `state` (TRIAL_PRUNED or TRIAL_FAILED)
 * with reason (NULL: none), keeping its last value and budget; its
 * finished time is now.  For schedulers that will not promote it again
 * (sha/hyperband/asha losers of a rung).  Once the change is committed,
 * its kept state is released through the objective's state_free, its
 * saved state file (state_dir/trial-N.state) is deleted and a FINISHED
 * event is emitted.  Scheduler hooks may call it: the change then commits
 * or rolls back with the hook's transaction, and the scheduler's own tell
 * hook is not called.  Returns 0, TL_EINPUT (no such trial, not paused,
 * bad state) or TL_ERUNTIME (database, memory; the transaction is rolled
 * back, as for every write). */
int study_stop_paused(study *s, int trial, int state, const char *reason, tl_err *err);

/* Adds a WAITING trial with the given internal values (checked against the
 * space), run before any sampled one.  *number (may be NULL) receives its
 * number.  Counts against the budget.  Returns 0, TL_EINPUT (bad values,
 * budget used) or TL_ERUNTIME. */
int study_enqueue(study *s, const double *values, int *number, tl_err *err);

/* Attributes: key -> text (JSON welcome) per trial and per study, stored at
 * once.  set: returns 0 or TL_ERUNTIME (TL_EINPUT: no such trial).
 * get: copies into buf (truncated to n-1) and returns 1, 0 when absent,
 * -1 on a database error. */
int study_trial_attr_set(study *s, int trial, const char *key, const char *value, tl_err *err);
int study_trial_attr_get(study *s, int trial, const char *key, char *buf, size_t n);
int study_attr_set(study *s, const char *key, const char *value, tl_err *err);
int study_attr_get(study *s, const char *key, char *buf, size_t n);

/* Sets the parent of a trial (PBT, NAS).  Returns 0 or a tl_code. */
int study_set_parent(study *s, int trial, int parent, tl_err *err);

/* Replaces a trial's values (PBT explore; checked against the space).
 * Returns 0 or a tl_code. */
int study_set_values(study *s, int trial, const double *values, tl_err *err);

/* Copies the current values of trial into values (room for the space's n).
 * Returns 0 or TL_EINPUT (no such trial). */
int study_get_values(study *s, int trial, double *values, tl_err *err);

/* Snapshot of every trial, refreshed from storage (other processes'
 * trials included).  *out (n trials, numbers 0..n-1) is owned by the
 * caller: free with study_trials_free.  Returns 0 or a tl_code. */
int study_trials(study *s, trial **out, int *n, tl_err *err);
void study_trials_free(trial *t, int n);

/* Copy of one trial into *out (free with trial_free).  Returns 0 or
 * TL_EINPUT (no such trial) / TL_ERUNTIME. */
int study_get_trial(study *s, int number, trial *out, tl_err *err);

/* The best COMPLETE trial by direction: returns 1 and fills *number and
 * *value (either may be NULL), or 0 when none has completed.  Uses the
 * last refreshed view of storage. */
int study_best(study *s, int *number, double *value);

/* Trials per state (counts: TRIAL_STATE_COUNT ints); returns the total.
 * Refreshes from storage first (errors leave the last view).  Cannot fail. */
int study_counts(study *s, int *counts);

/* Resource used by every trial together (sum of trial budgets). */
double study_budget_used(study *s);

/* The measures max_reports and max_seconds limit (hpo/study_budget.c):
 * intermediate values stored over all trials, and wall seconds counted so
 * far.  Refreshes from storage first.  Cannot fail. */
long study_reports_used(study *s);
double study_seconds_used(study *s);

/* Borrowed views; valid until study_close. */
const space *study_space(const study *s);
const study_config *study_get_config(const study *s);
const char *study_storage_path(const study *s);

/* Progress callback (NULL to remove) and the objective whose state_free /
 * state_copy manage kept states (set by study_optimize; NULL to remove). */
void study_set_progress(study *s, study_progress_fn fn, void *ud);
void study_set_objective(study *s, const struct objective *obj);

/* Paused trials' in-memory states.  put: the study takes ownership of
 * state (freeing an earlier one through the objective); returns 0.
 * take: removes and returns the state (caller owns it), NULL if none.
 * copy: calls the objective's state_copy(dst, state of src) under the
 * lock; returns 0, or TL_EINPUT when src has no kept state or the
 * objective cannot copy. */
int study_state_put(study *s, int trial, void *state);
void *study_state_take(study *s, int trial);
/* peek: the kept state of trial, still owned by the study (NULL if none);
 * valid until it is taken or replaced (schedulers: PBT's exploit of a
 * paused member copies into it with study_state_copy). */
void *study_state_peek(study *s, int trial);
int study_state_copy(study *s, int src, void *dst, tl_err *err);

#endif
