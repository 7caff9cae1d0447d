/* hpo/scheduler.h: the scheduler interface (fifo, median, sha, hyperband,
 * asha, pbt).
 *
 * A scheduler answers two questions for the study:
 *   next    what runs next: a NEW trial with a budget, PROMOTE a paused
 *           trial to a bigger budget, WAIT (something may become runnable
 *           when running trials report or finish), or NONE (nothing more
 *           for this worker: the study reports DONE);
 *   report  on each intermediate value: continue, stop (prune), pause, or
 *           exploit another trial (PBT).
 * Optional hooks: `started` after a trial was created or promoted (e.g. to
 * store its bracket and rung as trial attributes), `tell` after a trial
 * finished or paused, `requeued` after a promoted trial whose process died
 * went back to its last pause (see study.h, Resume).
 *
 * Every hook runs inside the study's lock and inside one storage write
 * transaction, on a view refreshed from storage (other processes' trials
 * included), so decisions are atomic across processes.  State that must
 * survive a crash goes to storage through study_trial_attr_set /
 * study_attr_set (safe inside hooks); what `self` holds is only a cache
 * that can be rebuilt from the trials and their attributes.  The study
 * enforces the trial budget itself: a NEW beyond cfg.trials becomes NONE
 * (and NONE ends the worker), so a scheduler that may still promote paused
 * trials once running ones report (sha, hyperband, asha, pbt) compares
 * ctx->ntrials with cfg->trials itself and answers PROMOTE or WAIT.
 * Trials re-queued after a crash, and enqueued ones, are handed out before
 * `next` is asked, with `started` called as for a NEW trial.
 *
 * Pause and resume: DECIDE_PAUSE makes the objective stop and return its
 * state, which the study keeps (study_state_peek / _take); a PROMOTE hands
 * it back in the job (JOB_RESUME, budget_done = what the trial used).  PBT
 * can exploit either at a report (DECIDE_EXPLOIT + exploit_src, the source
 * trial's kept state is copied by the objective) or while a member is
 * paused (study_state_copy into study_state_peek's state, then
 * study_set_values and study_set_parent, then PROMOTE).
 *
 * Options: each scheduler declares its own options struct in its header
 * (hpo/sched_median.h, hpo/sched_halving.h, hpo/pbt.h), handed to it
 * through study_config.scheduler_opts; hooks read them from `self`, never
 * from ctx->cfg, whose scheduler_opts is NULL once the study is open.
 *
 * Schedulers depend on the core (study, trial); the core knows them only
 * through this interface and the registry in scheduler.c.
 */
#ifndef TL_HPO_SCHEDULER_H
#define TL_HPO_SCHEDULER_H

#include "hpo/space.h"
#include "hpo/study.h"
#include "hpo/trial.h"
#include "util/err.h"

enum sched_next_kind { SCHED_NEW, SCHED_PROMOTE, SCHED_WAIT, SCHED_NONE, SCHED_NEXT_COUNT };
const char *sched_next_str(int kind);

typedef struct sched_next {
    int kind;        /* enum sched_next_kind */
    int trial;       /* PROMOTE: the paused trial */
    double budget;   /* NEW / PROMOTE: total resource the trial runs up to */
} sched_next;

/* What a hook sees (read-only).  trials[k]->number == k; trials being run
 * now are TRIAL_RUNNING, with the values they run with. */
typedef struct sched_ctx {
    study *s;                    /* for the attr functions */
    const study_config *cfg;
    const space *sp;
    const trial *const *trials;
    int ntrials;
    int direction;               /* STUDY_MINIMIZE / STUDY_MAXIMIZE */
} sched_ctx;

typedef struct scheduler_vt {
    const char *name;
    /* Optional: checks the scheduler's options `opts` (its own options
     * struct, declared in its header: median_options, halving_options,
     * pbt_options; NULL: its defaults) with the core settings cfg and the
     * space before a study starts.  Returns 0 or TL_EINPUT with "key:
     * what", the key being the config key. */
    int (*validate)(const void *opts, const study_config *cfg, const space *sp, tl_err *err);
    /* Builds the state (*self may stay NULL) from opts (as in validate,
     * which init runs itself; the scheduler copies what it keeps) and cfg.
     * Returns 0 or a tl_code (TL_EINPUT for bad settings, naming the
     * config key). */
    int (*init)(void **self, const void *opts, const study_config *cfg, const space *sp,
                tl_err *err);
    /* Fills *out.  Returns 0 or a tl_code. */
    int (*next)(void *self, const sched_ctx *ctx, sched_next *out, tl_err *err);
    /* Trial t (already holding this report in its intermediate values)
     * reported value at step.  Sets *decision (enum study_decision) and,
     * for DECIDE_EXPLOIT, *exploit_src.  Returns 0 or a tl_code. */
    int (*report)(void *self, const sched_ctx *ctx, const trial *t, int step, double value,
                  int *decision, int *exploit_src, tl_err *err);
    /* Optional: trial t was just created (how->kind SCHED_NEW) or promoted. */
    int (*started)(void *self, const sched_ctx *ctx, const trial *t, const sched_next *how,
                   tl_err *err);
    /* Optional: trial t just finished or paused (t->state says which). */
    int (*tell)(void *self, const sched_ctx *ctx, const trial *t, tl_err *err);
    /* Frees the state; NULL self is a no-op. */
    void (*free)(void *self);
    /* Optional: trial t, promoted from a pause and lost with its process,
     * is PAUSED again as it was at that pause (budget, value, intermediate
     * values up to it); the hook updates what the scheduler keeps about it
     * (e.g. its rung) so that it can be promoted again.  Schedulers without
     * it get such a trial back as WAITING, re-run from scratch. */
    int (*requeued)(void *self, const sched_ctx *ctx, const trial *t, tl_err *err);
} scheduler_vt;

typedef struct scheduler {
    const scheduler_vt *vt;
    void *self;
} scheduler;

extern const scheduler_vt sched_fifo_vt;
extern const scheduler_vt sched_median_vt;
extern const scheduler_vt sched_sha_vt;       /* hpo/sched_sha.c */
extern const scheduler_vt sched_hyperband_vt; /* hpo/sched_hyperband.c */
extern const scheduler_vt sched_asha_vt;      /* hpo/sched_asha.c */
extern const scheduler_vt sched_pbt_vt;       /* hpo/sched_pbt.c (see hpo/pbt.h) */

/* The scheduler called name, or NULL (unknown or not implemented yet). */
const scheduler_vt *scheduler_find(const char *name);

/* As scheduler_find, with an error: TL_EINPUT "unknown scheduler 'x'
 * (available: ...)" or "scheduler 'x' is not implemented yet".  Returns 0. */
int scheduler_lookup(const char *name, const scheduler_vt **out, tl_err *err);

/* Implemented schedulers, for tests and --help: count and i-th. */
int scheduler_count(void);
const scheduler_vt *scheduler_at(int i);

#endif
