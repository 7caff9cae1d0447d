/* hpo/study.c: the study's core: its settings, open and close, and the
 * ask / report / tell cycle on top of a storage, a sampler and a
 * scheduler.
 *
 * Does: check the core settings, open or resume the study in storage
 * (space, direction and metric compared), hand out jobs (a waiting trial,
 * a new one from the sampler, a paused one the scheduler promotes),
 * record reports and ends and ask the scheduler at each, stop a study
 * whose first trials all fail.  The rest of the study lives beside it
 * (hpo/study_internal.h lists the files): the view of storage, claims and
 * requeueing, pause records and kept states, the accept constraint and
 * duplicate reuse.  Does not: sample or schedule (it calls the sampler and
 * scheduler interfaces), run objectives (executor.c), print.
 */
#include "hpo/study.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hpo/study_internal.h"

void study_config_default(study_config *c)
{
    memset(c, 0, sizeof *c);
    c->trials = 20;
    c->direction = STUDY_MINIMIZE;
    snprintf(c->metric, sizeof c->metric, "value");
    snprintf(c->sampler, sizeof c->sampler, "random");
    snprintf(c->scheduler, sizeof c->scheduler, "fifo");
    c->sampler_opts = NULL; /* the algorithms' own defaults */
    c->scheduler_opts = NULL;
    c->workers = 1;
    c->min_budget = 1;
    c->max_budget = 1;
    c->max_consecutive_failures = 5;
}

const char *study_job_kind_str(int kind)
{
    static const char *const names[JOB_KIND_COUNT] = { "new", "resume", "wait", "done" };
    return kind >= 0 && kind < JOB_KIND_COUNT ? names[kind] : "?";
}

const char *study_decision_str(int d)
{
    static const char *const names[DECIDE_COUNT] = { "continue", "stop", "pause", "exploit" };
    return d >= 0 && d < DECIDE_COUNT ? names[d] : "?";
}

/* The all-fail stop: TL_ERUNTIME when the first N finished trials all failed. */
static int check_failures(study *s, tl_err *err)
{
    int n = s->cfg.max_consecutive_failures, failed = 0, ok = 0, last = -1;
    if (n <= 0)
        return 0;
    for (int k = 0; k < s->ntrials; k++) {
        int st = s->trials[k].state;
        if (st == TRIAL_FAILED) {
            failed++;
            if (last < 0 || s->trials[k].finished >= s->trials[last].finished)
                last = k;
        } else if (st == TRIAL_COMPLETE || st == TRIAL_PRUNED) {
            ok++;
        }
    }
    if (ok == 0 && failed >= n)
        return tl_fail(err, TL_ERUNTIME,
                       "%s: the first %d trials all failed (last, trial %d: %s); stopping the "
                       "study (max_consecutive_failures = %d)",
                       s->cfg.name, failed, last, s->trials[last].reason[0] ? s->trials[last].reason
                                                                            : "no reason given",
                       n);
    return 0;
}

/* ---- ask ---- */

/* The first WAITING trial (re-queued after a crash, or enqueued), claimed
 * and handed out as a NEW job with its target budget; *number stays -1
 * when there is none.  Lock held, inside the ask's transaction. */
static int ask_waiting(study *s, trial_job *job, sched_next *how, int *number, tl_err *err)
{
    for (int k = 0; k < s->ntrials && *number < 0; k++)
        if (s->trials[k].state == TRIAL_WAITING)
            *number = k;
    if (*number < 0)
        return 0;
    int n = *number;
    double target = s->meta[n].target;
    if (!(target > 0))
        target = s->cfg.max_budget;
    how->kind = SCHED_NEW;
    how->budget = target;
    study_claim(s, n, target);
    int rc = study_write_trial(s, n, err);
    if (rc)
        return rc;
    study_fill_job(s, n, JOB_NEW, job);
    job->rerun = 1;
    return 0;
}

/* A new trial with the sampler's values (accepted by the constraint):
 * stored, claimed and handed out as a NEW job (*number), or, when it
 * repeats an evaluated trial and reuse is on, stored with that trial's
 * result (*reused; no job).  An exhausted sampler turns how into
 * SCHED_NONE.  Lock held, inside the ask's transaction. */
static int ask_new(study *s, trial_job *job, sched_next *how, int *number, int *reused,
                   tl_err *err)
{
    int rc, n = s->ntrials;
    if ((rc = study_view_reserve(s, n + 1, err)))
        return rc;
    trial *t = &s->trials[n];
    if (trial_init(t, s->sp.n))
        return tl_fail(err, TL_ERUNTIME, "study: out of memory");
    t->number = n;
    s->ntrials++;
    rng r;
    rng_seed(&r, s->cfg.seed, STREAM_SAMPLER + (uint64_t)n);
    if ((rc = study_suggest_accepted(s, t, &r, err))) {
        trial_free(t);
        s->ntrials--;
        if (rc != SAMPLER_EXHAUSTED)
            return rc;
        how->kind = SCHED_NONE;
        return 0;
    }
    if (!(how->budget > 0))
        how->budget = s->cfg.max_budget;
    memset(&s->meta[n], 0, sizeof s->meta[n]);
    study_claim(s, n, how->budget);
    int src = s->cfg.reuse_duplicates ? study_find_duplicate(s, n) : -1;
    if (src >= 0) {
        /* evaluated already: store its result, run nothing (no job, no
         * scheduler hook, no STARTED event) */
        *reused = n;
        return study_store_reused(s, n, src, err);
    }
    if ((rc = s->st.vt->trial_create(s->st.self, s->study_id, &s->sp, t, &s->meta[n], err)))
        return rc;
    study_fill_job(s, n, JOB_NEW, job);
    *number = n;
    return 0;
}

/* The paused trial the scheduler promotes, claimed and handed out as a
 * RESUME job (*number).  Lock held, inside the ask's transaction. */
static int ask_promote(study *s, trial_job *job, const sched_next *how, int *number, tl_err *err)
{
    int n = how->trial;
    if (n < 0 || n >= s->ntrials || s->trials[n].state != TRIAL_PAUSED)
        return tl_fail(err, TL_ERUNTIME, "scheduler %s promoted trial %d, which is not paused",
                       s->sch.vt->name, n);
    study_claim(s, n, how->budget);
    int rc = study_write_trial(s, n, err);
    if (rc)
        return rc;
    study_fill_job(s, n, JOB_RESUME, job);
    *number = n;
    return 0;
}

/* One ask; when it stored a reused duplicate instead of handing out a job,
 * *reused gets its number (else -1) and the caller asks again. */
static int ask_once(study *s, trial_job *job, int *reused, tl_err *err)
{
    *reused = -1;
    memset(job, 0, sizeof *job);
    job->kind = JOB_DONE;
    job->number = -1;
    job->parent = -1;
    job->sp = &s->sp;
    sched_ctx ctx;
    sched_next how = { SCHED_NONE, -1, NAN };
    int rc = 0, number = -1;
    if ((rc = study_write_begin(s, err)))
        return rc;
    if ((rc = study_requeue_dead(s, err)) || (rc = check_failures(s, err)))
        goto fail;
    int spent = study_budget_spent(s); /* max_reports, max_seconds: DONE */
    if (!spent && (rc = ask_waiting(s, job, &how, &number, err)))
        goto fail;
    if (number < 0 && !spent) {
        study_sched_ctx(s, &ctx);
        if ((rc = s->sch.vt->next(s->sch.self, &ctx, &how, err)))
            goto fail;
        if (how.kind == SCHED_NEW && s->ntrials >= s->cfg.trials)
            how.kind = SCHED_NONE;
        if (how.kind == SCHED_NEW)
            rc = ask_new(s, job, &how, &number, reused, err);
        else if (how.kind == SCHED_PROMOTE)
            rc = ask_promote(s, job, &how, &number, err);
        else
            job->kind = how.kind == SCHED_WAIT ? JOB_WAIT : JOB_DONE;
        if (rc)
            goto fail;
    }
    if (number >= 0 && s->sch.vt->started) {
        study_sched_ctx(s, &ctx);
        if ((rc = s->sch.vt->started(s->sch.self, &ctx, &s->trials[number], &how, err)))
            goto fail;
    }
    if ((rc = study_tx_commit(s, err)))
        goto fail;
    study_unlock(s);
    study_stops_flush(s);
    if (number >= 0) {
        study_event ev = { .kind = STUDY_EV_STARTED, .trial = number, .state = TRIAL_RUNNING,
                           .resumed = job->kind == JOB_RESUME, .budget = job->budget,
                           .value = NAN, .reason = "" };
        study_emit(s, &ev);
    }
    return 0;
fail:
    if (job->obj_state && number >= 0 && number < s->cap_states) {
        s->states[number] = job->obj_state; /* give the state back */
        job->obj_state = NULL;
    }
    study_tx_rollback(s);
    job->kind = JOB_DONE;
    study_unlock(s);
    return rc ? rc : TL_ERUNTIME;
}
int study_ask(study *s, trial_job *job, tl_err *err)
{
    for (;;) {
        int reused = -1;
        int rc = ask_once(s, job, &reused, err);
        if (rc || reused < 0)
            return rc;
        trial t;
        memset(&t, 0, sizeof t);
        if (study_get_trial(s, reused, &t, NULL) == 0) {
            study_event ev = { .kind = STUDY_EV_FINISHED, .trial = reused, .state = t.state,
                               .value = t.value, .budget = 0, .reason = t.reason };
            study_emit(s, &ev);
        }
        trial_free(&t);
    }
}

/* The running trial `number` in the view, or NULL with err filled. */
static trial *running_trial(study *s, int number, tl_err *err)
{
    if (number < 0 || number >= s->ntrials) {
        tl_fail(err, TL_EINPUT, "%s: no trial %d", s->cfg.name, number);
        return NULL;
    }
    trial *t = &s->trials[number];
    if (t->state != TRIAL_RUNNING) {
        tl_fail(err, TL_EINPUT, "%s: trial %d is %s, not running", s->cfg.name, number,
                trial_state_str(t->state));
        return NULL;
    }
    return t;
}

int study_report(study *s, int number, int step, double value, double budget_used, int *decision,
                 int *exploit_src, tl_err *err)
{
    int dec = DECIDE_CONTINUE, src = -1, rc;
    sched_ctx ctx;
    if (s->remote)
        return s->remote->report(s->remote_ud, number, step, value, budget_used, decision, exploit_src, err);
    if ((rc = study_write_begin(s, err)))
        return rc;
    trial *t;
    if (!(t = running_trial(s, number, err))) {
        rc = TL_EINPUT;
        goto fail;
    }
    double seen;
    if (trial_inter_at(t, step, &seen))
        study_budget_repeat(s); /* a step trained again counts again */
    if (trial_set_inter(t, step, value)) {
        rc = tl_fail(err, TL_ERUNTIME, "study: out of memory");
        goto fail;
    }
    t->value = value;
    if (isfinite(budget_used))
        t->budget = budget_used;
    if ((rc = s->st.vt->inter_add(s->st.self, s->study_id, number, step, value, err)) ||
        (rc = study_write_trial(s, number, err)))
        goto fail;
    study_sched_ctx(s, &ctx);
    if ((rc = s->sch.vt->report(s->sch.self, &ctx, t, step, value, &dec, &src, err)))
        goto fail;
    if (dec == DECIDE_EXPLOIT && (src < 0 || src >= s->ntrials)) {
        rc = tl_fail(err, TL_ERUNTIME, "scheduler %s: exploit of trial %d, which does not exist",
                     s->sch.vt->name, src);
        goto fail;
    }
    /* the study's resource limit reached: cut a trial short of its target */
    if ((dec == DECIDE_EXPLOIT || (dec == DECIDE_CONTINUE && !(t->budget >= s->meta[number].target - 1e-9))) &&
        study_budget_spent(s)) {
        dec = DECIDE_STOP;
        src = -1;
        if ((rc = study_trial_attr_set(s, number, STUDY_ATTR_BUDGET_CUT, "1", err)))
            goto fail;
    }
    if ((rc = study_tx_commit(s, err)))
        goto fail;
    double budget = t->budget;
    study_unlock(s);
    study_stops_flush(s);
    if (decision)
        *decision = dec;
    if (exploit_src)
        *exploit_src = src;
    study_event ev = { .kind = STUDY_EV_REPORT, .trial = number, .state = TRIAL_RUNNING,
                       .step = step, .value = value, .budget = budget, .decision = dec,
                       .reason = "" };
    study_emit(s, &ev);
    return 0;
fail:
    study_tx_rollback(s);
    study_unlock(s);
    return rc;
}

int study_tell(study *s, int number, int state, double value, const char *reason, tl_err *err)
{
    if (state != TRIAL_COMPLETE && state != TRIAL_PRUNED && state != TRIAL_FAILED &&
        state != TRIAL_PAUSED)
        return tl_fail(err, TL_EINPUT, "%s: trial %d: cannot tell state %s", s->cfg.name, number,
                       trial_state_str(state));
    int rc;
    sched_ctx ctx;
    char why[256];
    if ((rc = study_write_begin(s, err)))
        return rc;
    trial *t;
    if (!(t = running_trial(s, number, err))) {
        rc = TL_EINPUT;
        goto fail;
    }
    snprintf(t->reason, sizeof t->reason, "%s", reason ? reason : "");
    if (state == TRIAL_COMPLETE && !isfinite(value)) {
        state = TRIAL_FAILED;
        snprintf(t->reason, sizeof t->reason, "objective returned %s%s%s",
                 isnan(value) ? "nan" : "inf", reason && *reason ? ": " : "", reason ? reason : "");
    }
    if ((state == TRIAL_PRUNED || state == TRIAL_PAUSED) && isnan(value) && t->nsteps > 0) {
        double v;
        if (trial_inter_at(t, trial_last_step(t), &v))
            value = v;
    }
    t->state = state;
    t->value = value;
    if (state == TRIAL_COMPLETE && !(t->budget > 0) && isfinite(s->meta[number].target))
        t->budget = s->meta[number].target;
    double now = study_now();
    t->finished = now; /* paused: when it stopped running, until it runs again */
    if ((rc = study_write_trial(s, number, err)) || (rc = study_add_run_time(s, number, now, state == TRIAL_PAUSED, err)))
        goto fail;
    if (state == TRIAL_PAUSED && (rc = study_pause_record(s, t, now, err)))
        goto fail;
    if (s->sch.vt->tell) {
        study_sched_ctx(s, &ctx);
        if ((rc = s->sch.vt->tell(s->sch.self, &ctx, t, err)))
            goto fail;
    }
    if ((rc = study_tx_commit(s, err)))
        goto fail;
    snprintf(why, sizeof why, "%s", t->reason);
    double budget = t->budget;
    study_unlock(s);
    study_stops_flush(s);
    study_event ev = { .kind = STUDY_EV_FINISHED, .trial = number, .state = state,
                       .value = value, .budget = budget, .reason = why };
    study_emit(s, &ev);
    return 0;
fail:
    study_tx_rollback(s);
    study_unlock(s);
    return rc;
}

/* ---- open and close ---- */

static int check_config(const study_config *c, tl_err *err)
{
    if (!c->name[0])
        return tl_fail(err, TL_EINPUT, "study.name: a study needs a name");
    if (c->trials < 1)
        return tl_fail(err, TL_EINPUT, "study.trials: must be >= 1, got %d", c->trials);
    if (c->direction != STUDY_MINIMIZE && c->direction != STUDY_MAXIMIZE)
        return tl_fail(err, TL_EINPUT, "study.direction: must be minimize or maximize");
    if (!(c->max_budget > 0) || !isfinite(c->max_budget))
        return tl_fail(err, TL_EINPUT, "study.max_budget: must be > 0, got %g", c->max_budget);
    if (!(c->min_budget > 0) || c->min_budget > c->max_budget)
        return tl_fail(err, TL_EINPUT, "study.min_budget: must be in (0, max_budget = %g], got %g",
                       c->max_budget, c->min_budget);
    if (c->max_consecutive_failures < 0)
        return tl_fail(err, TL_EINPUT, "study.max_consecutive_failures: must be >= 0");
    if (strstr(c->storage, "://")) /* not a folder called "postgresql:" */
        return tl_fail(err, TL_EINPUT, "study.storage: %s: tunelab stores studies in SQLite "
                       "files; give a file path", c->storage);
    return 0;
}

void study_close(study *s)
{
    if (!s)
        return;
    if (s->remote) {
        study_remote_free(s);
        return;
    }
    if (s->smp.vt && s->smp.vt->free)
        s->smp.vt->free(s->smp.self);
    if (s->sch.vt && s->sch.vt->free)
        s->sch.vt->free(s->sch.self);
    if (s->st.vt)
        s->st.vt->close(s->st.self);
    for (int k = 0; k < s->cap_states; k++)
        study_state_release(s, s->states[k]);
    free(s->states);
    for (int k = 0; k < s->ntrials; k++)
        trial_free(&s->trials[k]);
    free(s->trials);
    free(s->meta);
    free(s->ptrs);
    free(s->run_t0);
    free(s->stops);
    free(s->done);
    space_free(&s->sp);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* The core settings, the algorithms found (svt, cvt: given, or looked up
 * by name), the space, then each algorithm's options and space through
 * its validate hook. */
static int validate(const study_config *cfg, const space *sp, const sampler_vt **svt,
                    const scheduler_vt **cvt, tl_err *err)
{
    int rc;
    if ((rc = check_config(cfg, err)) ||
        (!*svt && (rc = sampler_lookup(cfg->sampler, svt, err))) ||
        (!*cvt && (rc = scheduler_lookup(cfg->scheduler, cvt, err))))
        return rc;
    if (sp->n < 1)
        return tl_fail(err, TL_EINPUT, "%s: the search space is empty", cfg->name);
    if ((*svt)->validate && (rc = (*svt)->validate(sp, cfg->sampler_opts, cfg, err)))
        return rc;
    if ((*cvt)->validate && (rc = (*cvt)->validate(cfg->scheduler_opts, cfg, sp, err)))
        return rc;
    return 0;
}

int study_validate(const study_config *cfg, const space *sp, tl_err *err)
{
    const sampler_vt *svt = NULL;
    const scheduler_vt *cvt = NULL;
    return validate(cfg, sp, &svt, &cvt, err);
}

int study_open(study **out, const study_config *cfg, const space *sp, tl_err *err)
{
    return study_open_custom(out, cfg, sp, NULL, NULL, err);
}

/* Opens (or creates) the study in storage, saving the space of a new
 * study and comparing the space, direction and metric of an existing one;
 * then syncs the view and requeues dead processes' trials.  Inside the
 * open's transaction. */
static int open_stored(study *s, tl_err *err)
{
    const study_config *cfg = &s->cfg;
    int created = 0, stored_dir, rc;
    char stored_metric[64];
    rc = s->st.vt->study_open(s->st.self, cfg->name, cfg->direction, cfg->metric, cfg->seed,
                              &s->study_id, &created, &stored_dir, stored_metric,
                              sizeof stored_metric, err);
    if (!rc && created)
        rc = s->st.vt->space_save(s->st.self, s->study_id, &s->sp, err);
    if (!rc && !created) {
        space stored;
        space_init(&stored);
        rc = s->st.vt->space_load(s->st.self, s->study_id, &stored, err);
        if (!rc && (rc = space_compare(&stored, &s->sp, err)))
            tl_prefix(err, "%s: study '%s' was created with a different space", cfg->storage,
                      cfg->name);
        space_free(&stored);
        if (!rc && stored_dir != cfg->direction)
            rc = tl_fail(err, TL_EINPUT, "%s: study '%s' was created to %s, not to %s",
                         cfg->storage, cfg->name,
                         stored_dir == STUDY_MAXIMIZE ? "maximize" : "minimize",
                         cfg->direction == STUDY_MAXIMIZE ? "maximize" : "minimize");
        if (!rc && strcmp(stored_metric, cfg->metric) != 0)
            rc = tl_fail(err, TL_EINPUT, "%s: study '%s' optimizes metric '%s', not '%s'",
                         cfg->storage, cfg->name, stored_metric, cfg->metric);
    }
    if (!rc)
        rc = study_view_sync(s, err);
    if (!rc)
        rc = study_requeue_dead(s, err);
    return rc;
}

int study_open_custom(study **out, const study_config *cfg, const space *sp,
                      const struct sampler_vt *smp, const struct scheduler_vt *sched, tl_err *err)
{
    *out = NULL;
    int rc;
    const sampler_vt *svt = smp;
    const scheduler_vt *cvt = sched;
    if ((rc = validate(cfg, sp, &svt, &cvt, err)))
        return rc;
    study *s = calloc(1, sizeof *s);
    if (!s)
        return tl_fail(err, TL_ERUNTIME, "study: out of memory");
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&s->mu, &ma);
    pthread_mutexattr_destroy(&ma);
    s->cfg = *cfg;
    if (!s->cfg.storage[0])
        snprintf(s->cfg.storage, sizeof s->cfg.storage, "runs/%.*s.db",
                 (int)(sizeof s->cfg.storage - 10), cfg->name);
    if (!s->cfg.state_dir[0])
        snprintf(s->cfg.state_dir, sizeof s->cfg.state_dir, "%.*s.states",
                 (int)(sizeof s->cfg.state_dir - 8), s->cfg.storage);
    s->pid = (long)getpid();
    if (gethostname(s->host, sizeof s->host - 1))
        snprintf(s->host, sizeof s->host, "localhost");
    s->host[sizeof s->host - 1] = 0;
    if ((rc = space_copy(&s->sp, sp, err)))
        goto fail;
    if ((rc = storage_sqlite_open(&s->st, s->cfg.storage, err)))
        goto fail;
    /* the algorithms first: requeueing below may call the scheduler */
    s->smp.vt = svt;
    if ((rc = svt->init(&s->smp.self, &s->sp, cfg->sampler_opts, &s->cfg, s->cfg.seed, err))) {
        s->smp.vt = NULL;
        goto fail;
    }
    s->sch.vt = cvt;
    if ((rc = cvt->init(&s->sch.self, cfg->scheduler_opts, &s->cfg, &s->sp, err))) {
        s->sch.vt = NULL;
        goto fail;
    }
    s->cfg.sampler_opts = s->cfg.scheduler_opts = NULL; /* copied by the algorithms */
    if ((rc = study_tx_begin(s, err)))
        goto fail;
    if ((rc = open_stored(s, err))) {
        study_tx_rollback(s);
        goto fail;
    }
    study_budget_start(s);
    if ((rc = study_tx_commit(s, err)) ||
        (svt->write_attrs && (rc = svt->write_attrs(s->smp.self, s, err))))
        goto fail;
    *out = s;
    return 0;
fail:
    study_close(s);
    return rc;
}
