/* hpo/study_internal.h: the study's private struct and the helpers its
 * files share.  NOT a public header: only hpo/study*.c include it; a C
 * user, a sampler or a scheduler sees a study through hpo/study.h alone.
 *
 * The study is one object cut by responsibility into files:
 *   study.c         the core: settings, open and close, ask, report, tell
 *   study_view.c    transactions, the in-memory view of storage and its
 *                   sync, attributes, values and parents, snapshots
 *   study_claim.c   claiming a trial for this process, enqueued trials,
 *                   requeueing the trials of dead processes
 *   study_pause.c   pause records, run times, ending paused trials, the
 *                   paused trials' kept in-memory states
 *   study_accept.c  the accept constraint and its rejection counts, reuse
 *                   of duplicates
 * Locking: every helper below that touches the view or storage expects
 * the study's lock held (and, when it writes, a transaction open) unless
 * its comment says otherwise.
 */
#ifndef TL_HPO_STUDY_INTERNAL_H
#define TL_HPO_STUDY_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "hpo/objective.h"
#include "hpo/sampler.h"
#include "hpo/scheduler.h"
#include "hpo/storage.h"
#include "hpo/study.h"
#include "hpo/study_remote.h"

/* Stream salts: the sampler's and the objective's generators of one trial
 * are independent streams of the study seed. */
#define STREAM_SAMPLER 0x53414d504c450000ULL
#define STREAM_TRIAL 0x545249414c000000ULL

/* A paused trial ended by study_stop_paused, waiting for the commit to
 * release its state, delete its file and announce it. */
typedef struct stop_note {
    int trial;
    int state;
    double value, budget;
    char reason[256];
} stop_note;

struct study {
    study_config cfg;         /* sampler_opts and scheduler_opts NULL: the algorithms copied them */
    space sp;
    storage st;
    int study_id;
    sampler smp;
    scheduler sch;
    pthread_mutex_t mu;       /* recursive */
    trial *trials;            /* (cap) view of storage; numbers 0..ntrials-1 */
    trial_meta *meta;         /* (cap) */
    const trial **ptrs;       /* (cap) trials[k] as pointers, for hooks */
    double *run_t0;           /* (cap) when this process last claimed trial k; 0: not running here */
    int ntrials, cap;
    int64_t seq;              /* storage change counter of the view */
    void **states;            /* (cap_states) kept objective states by trial number */
    int cap_states;
    const objective *obj;
    study_progress_fn progress;
    void *progress_ud;
    char host[64];
    long pid;
    int depth;                /* nesting of study_tx_begin (mirrors the storage's) */
    stop_note *stops;         /* (nstops) ended in the open transaction */
    int nstops, cap_stops;
    stop_note *done;          /* (ndone) committed, not yet released and announced */
    int ndone, cap_done;
    double budget_seconds;    /* wall seconds counted (max_seconds), up to budget_mark */
    double budget_mark;       /* when they were last counted (study_now) */
    long budget_repeats;      /* reports that replaced a stored step (max_reports) */
    const struct study_remote_vt *remote; /* non-NULL: a remote study (hpo/study_remote.h) */
    void *remote_ud;
};

/* ---- study_view.c ---- */

/* Unix time in seconds.  Cannot fail. */
double study_now(void);

/* The study's recursive mutex. */
void study_lock(study *s);
void study_unlock(study *s);

/* Storage transactions, nested as the storage nests them.  begin: returns
 * 0 or a tl_code.  commit: returns 0 or a tl_code (then the view is
 * forgotten: the next sync reloads it); an outermost commit moves the
 * paused trials ended in it to the list study_stops_flush works through.
 * rollback: always the whole transaction; the view is forgotten. */
int study_tx_begin(study *s, tl_err *err);
int study_tx_commit(study *s, tl_err *err);
void study_tx_rollback(study *s);

/* Grows the view to hold n trials.  Returns 0 or TL_ERUNTIME. */
int study_view_reserve(study *s, int n, tl_err *err);

/* Brings the view up to date with storage (rows whose change counter
 * moved).  Returns 0 or a tl_code. */
int study_view_sync(study *s, tl_err *err);

/* Locks s, opens a write transaction and brings the view up to date.
 * Returns 0 with the lock held and the transaction open, or an error code
 * with neither (a failed sync is rolled back).  Lock NOT held on entry. */
int study_write_begin(study *s, tl_err *err);

/* Fills what the scheduler's hooks see. */
void study_sched_ctx(study *s, sched_ctx *c);

/* Stores trial `number` of the view (state, value, times, meta).
 * Returns 0 or a tl_code. */
int study_write_trial(study *s, int number, tl_err *err);

/* Calls the progress callback, if any, with ev.  Lock NOT held (it takes
 * it to read the callback). */
void study_emit(study *s, const study_event *ev);

/* ---- study_budget.c ---- */

/* Loads the seconds counted by earlier processes and starts the clock.
 * Inside the open's transaction.  Cannot fail (absent: 0). */
void study_budget_start(study *s);

/* Counts a report that replaced the value of a step already reported
 * (stored when max_reports is set).  Lock held, inside a write
 * transaction.  Cannot fail. */
void study_budget_repeat(study *s);

/* Counts the seconds since the last call (storing them when max_seconds
 * is set) and returns 1 when max_reports or max_seconds is reached, else
 * 0.  Lock held, inside a write transaction. */
int study_budget_spent(study *s);

/* ---- study_claim.c ---- */

/* Marks trial `number` RUNNING in this process (host, pid, worker) with
 * resource target `target`, keeping its first start.  Cannot fail. */
void study_claim(study *s, int number, double target);

/* Fills *job for trial `number` (kind JOB_NEW or JOB_RESUME): values,
 * budgets, seed and generator, the kept state (taken from the study),
 * the state file.  Cannot fail. */
void study_fill_job(study *s, int number, int kind, trial_job *job);

/* Puts RUNNING trials of dead processes on this host back: to their last
 * pause (study_pause_restore) or in the queue from scratch.  Inside a
 * write transaction.  Returns 0 or a tl_code. */
int study_requeue_dead(study *s, tl_err *err);

/* ---- study_pause.c ---- */

/* Where trial number's state is saved: state_dir/trial-N.state. */
void study_state_file(const study *s, int number, char *buf, size_t n);

/* Writes trial t's pause record (STUDY_ATTR_PAUSED_AT) for a pause at
 * unix time now.  Inside a write transaction.  Returns 0 or a tl_code. */
int study_pause_record(study *s, const trial *t, double now, tl_err *err);

/* Puts dead trial k, which had paused before the run it died in, back to
 * PAUSED as it was then (see study.h, Resume); *done = 1 when it did.
 * Inside a write transaction.  Returns 0 or a tl_code. */
int study_pause_restore(study *s, int k, int *done, tl_err *err);

/* Adds the seconds of the run of trial number that ends now to its
 * STUDY_ATTR_RUN_SECONDS, for a trial that pauses now (pausing) or has
 * paused before.  Inside a write transaction.  Returns 0 or a tl_code. */
int study_add_run_time(study *s, int number, double now, int pausing, tl_err *err);

/* Frees an objective state through the objective's state_free (NULL: no-op). */
void study_state_release(study *s, void *state);

/* Finishes the committed stops: releases their kept states, deletes their
 * state files and emits their FINISHED events.  Lock NOT held (it takes
 * it to collect the list); does nothing inside a transaction. */
void study_stops_flush(study *s);

/* ---- study_accept.c ---- */

/* Asks the sampler for trial t's values (generator r) until the accept
 * callback takes them (or there is none), counting rejections in the
 * study attribute STUDY_ATTR_REJECTED; sets t->parent from the sampler.
 * Inside the ask's transaction.  Returns 0, SAMPLER_EXHAUSTED, or a
 * tl_code with err filled and prefixed. */
int study_suggest_accepted(study *s, trial *t, rng *r, tl_err *err);

/* The first COMPLETE or PRUNED trial with a finite value and the values
 * of trial `number`, or -1. */
int study_find_duplicate(study *s, int number);

/* Stores new trial `number` (claimed, not yet in storage) as a reuse of
 * trial src's result: its state and value, budget 0, reason and attribute
 * "reused_from".  Inside a write transaction.  Returns 0 or a tl_code. */
int study_store_reused(study *s, int number, int src, tl_err *err);

#endif
