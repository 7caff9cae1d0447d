/* hpo/study_view.c: the study's in-memory view of storage and what reads
 * or writes it: transactions (nested as the storage nests them), the
 * incremental sync (rows whose change counter moved), attributes, values
 * and parents, snapshots and summaries, progress events.
 *
 * Does not: decide what runs (study.c), claim or requeue trials
 * (study_claim.c), keep states (study_pause.c).  The struct is in
 * hpo/study_internal.h.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hpo/study_internal.h"

double study_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void study_lock(study *s)
{
    pthread_mutex_lock(&s->mu);
}

void study_unlock(study *s)
{
    pthread_mutex_unlock(&s->mu);
}

int study_tx_begin(study *s, tl_err *err)
{
    int rc = s->st.vt->begin(s->st.self, err);
    if (!rc)
        s->depth++;
    return rc;
}

/* Forgets the view (after a rollback it may hold changes storage does
 * not have): the next sync reloads every trial. */
static void view_reset(study *s)
{
    for (int k = 0; k < s->ntrials; k++)
        trial_free(&s->trials[k]);
    s->ntrials = 0;
    s->seq = 0;
}

/* Moves the stops of the transaction just committed to the done list
 * (on failure they stay pending and are dropped by the rollback). */
static int stops_commit(study *s)
{
    if (s->nstops == 0)
        return 0;
    if (s->ndone + s->nstops > s->cap_done) {
        int nc = s->cap_done ? s->cap_done : 16;
        while (nc < s->ndone + s->nstops)
            nc *= 2;
        stop_note *p = realloc(s->done, (size_t)nc * sizeof *p);
        if (!p)
            return -1;
        s->done = p;
        s->cap_done = nc;
    }
    memcpy(s->done + s->ndone, s->stops, (size_t)s->nstops * sizeof *s->stops);
    s->ndone += s->nstops;
    s->nstops = 0;
    return 0;
}

int study_tx_commit(study *s, tl_err *err)
{
    if (s->depth > 0)
        s->depth--;
    int rc = s->st.vt->commit(s->st.self, err);
    if (rc) {
        s->depth = 0;
        s->nstops = 0;
        view_reset(s);
    } else if (s->depth == 0 && stops_commit(s)) {
        /* committed, but no room to remember the clean-up: the trials are
         * ended all the same; their states stay until study_close and
         * their files on disk */
        s->nstops = 0;
    }
    return rc;
}

void study_tx_rollback(study *s)
{
    s->st.vt->rollback(s->st.self);
    s->depth = 0;
    s->nstops = 0;
    view_reset(s);
}

/* ---- the view ---- */

int study_view_reserve(study *s, int n, tl_err *err)
{
    if (n <= s->cap)
        return 0;
    int nc = s->cap ? s->cap : 64;
    while (nc < n)
        nc *= 2;
    trial *t = realloc(s->trials, (size_t)nc * sizeof *t);
    if (!t)
        return tl_fail(err, TL_ERUNTIME, "study: out of memory");
    s->trials = t;
    trial_meta *m = realloc(s->meta, (size_t)nc * sizeof *m);
    if (!m)
        return tl_fail(err, TL_ERUNTIME, "study: out of memory");
    s->meta = m;
    const trial **p = realloc(s->ptrs, (size_t)nc * sizeof *p);
    if (!p)
        return tl_fail(err, TL_ERUNTIME, "study: out of memory");
    s->ptrs = p;
    double *t0 = realloc(s->run_t0, (size_t)nc * sizeof *t0);
    if (!t0)
        return tl_fail(err, TL_ERUNTIME, "study: out of memory");
    s->run_t0 = t0;
    for (int k = s->cap; k < nc; k++) {
        memset(&s->trials[k], 0, sizeof s->trials[k]);
        memset(&s->meta[k], 0, sizeof s->meta[k]);
        s->run_t0[k] = 0;
    }
    s->cap = nc;
    for (int k = 0; k < nc; k++)
        s->ptrs[k] = &s->trials[k];
    return 0;
}

/* Stores a loaded row into the view. */
static int on_row(void *ud, const trial *t, const trial_meta *m, tl_err *err)
{
    study *s = ud;
    if (t->number < 0)
        return tl_fail(err, TL_ERUNTIME, "study: negative trial number in storage");
    if (study_view_reserve(s, t->number + 1, err))
        return TL_ERUNTIME;
    while (s->ntrials <= t->number) {
        /* numbers are dense; a gap only appears transiently */
        if (trial_init(&s->trials[s->ntrials], s->sp.n))
            return tl_fail(err, TL_ERUNTIME, "study: out of memory");
        s->trials[s->ntrials].number = s->ntrials;
        s->trials[s->ntrials].state = TRIAL_WAITING;
        s->ntrials++;
    }
    trial *dst = &s->trials[t->number];
    trial_free(dst);
    if (trial_copy(dst, t))
        return tl_fail(err, TL_ERUNTIME, "study: out of memory");
    s->meta[t->number] = *m;
    return 0;
}

/* Brings the view up to date with storage.  Lock held. */
int study_view_sync(study *s, tl_err *err)
{
    return s->st.vt->trials_since(s->st.self, s->study_id, &s->sp, &s->seq, on_row, s, err);
}

/* Locks s, opens a write transaction and brings the view up to date.
 * Returns 0 with the lock held and the transaction open, or an error code
 * with neither (a failed sync is rolled back). */
int study_write_begin(study *s, tl_err *err)
{
    int rc;
    study_lock(s);
    if ((rc = study_tx_begin(s, err))) {
        study_unlock(s);
        return rc;
    }
    if ((rc = study_view_sync(s, err))) {
        study_tx_rollback(s);
        study_unlock(s);
    }
    return rc;
}

void study_sched_ctx(study *s, sched_ctx *c)
{
    c->s = s;
    c->cfg = &s->cfg;
    c->sp = &s->sp;
    c->trials = s->ptrs;
    c->ntrials = s->ntrials;
    c->direction = s->cfg.direction;
}

int study_write_trial(study *s, int number, tl_err *err)
{
    return s->st.vt->trial_update(s->st.self, s->study_id, &s->trials[number], &s->meta[number],
                                  err);
}

void study_emit(study *s, const study_event *ev)
{
    study_progress_fn fn;
    void *ud;
    study_lock(s);
    fn = s->progress;
    ud = s->progress_ud;
    study_unlock(s);
    if (fn)
        fn(ud, ev);
}

/* ---- attributes, values, parents ---- */

static int attr_set(study *s, int number, const char *key, const char *value, tl_err *err)
{
    int rc;
    if (s->remote) /* trial -1: a study attribute */
        return s->remote->attr_set(s->remote_ud, number, key, value, err);
    study_lock(s);
    if (!(rc = study_tx_begin(s, err))) {
        rc = s->st.vt->attr_set(s->st.self, s->study_id, number, key, value, err);
        if (rc)
            study_tx_rollback(s);
        else
            rc = study_tx_commit(s, err);
    }
    study_unlock(s);
    return rc;
}

int study_trial_attr_set(study *s, int trial, const char *key, const char *value, tl_err *err)
{
    if (trial < 0)
        return tl_fail(err, TL_EINPUT, "%s: no trial %d", s->cfg.name, trial);
    return attr_set(s, trial, key, value, err);
}

int study_attr_set(study *s, const char *key, const char *value, tl_err *err)
{
    return attr_set(s, -1, key, value, err);
}

static int attr_get(study *s, int number, const char *key, char *buf, size_t n)
{
    if (s->remote)
        return s->remote->attr_get(s->remote_ud, number, key, buf, n);
    study_lock(s);
    int r = s->st.vt->attr_get(s->st.self, s->study_id, number, key, buf, n, NULL);
    study_unlock(s);
    return r;
}

int study_trial_attr_get(study *s, int trial, const char *key, char *buf, size_t n)
{
    return trial < 0 ? 0 : attr_get(s, trial, key, buf, n);
}

int study_attr_get(study *s, const char *key, char *buf, size_t n)
{
    return attr_get(s, -1, key, buf, n);
}

/* Runs op on trial `number` of the view inside a write transaction. */
static int trial_write(study *s, int number, int (*op)(study *, trial *, const void *, tl_err *),
                       const void *arg, tl_err *err)
{
    int rc;
    if ((rc = study_write_begin(s, err)))
        return rc;
    if (number < 0 || number >= s->ntrials) {
        rc = tl_fail(err, TL_EINPUT, "%s: no trial %d", s->cfg.name, number);
        goto fail;
    }
    if ((rc = op(s, &s->trials[number], arg, err)) || (rc = study_tx_commit(s, err)))
        goto fail;
    study_unlock(s);
    return 0;
fail:
    study_tx_rollback(s);
    study_unlock(s);
    return rc;
}

static int op_parent(study *s, trial *t, const void *arg, tl_err *err)
{
    t->parent = *(const int *)arg;
    return study_write_trial(s, t->number, err);
}

static int op_values(study *s, trial *t, const void *arg, tl_err *err)
{
    double v[SPACE_MAX_PARAMS];
    memcpy(v, arg, (size_t)s->sp.n * sizeof *v);
    space_apply_conditions(&s->sp, v);
    int rc = space_check_values(&s->sp, v, err);
    if (rc)
        return rc;
    memcpy(t->values, v, (size_t)s->sp.n * sizeof *v);
    return s->st.vt->trial_set_values(s->st.self, s->study_id, &s->sp, t->number, v, err);
}

int study_set_parent(study *s, int trial, int parent, tl_err *err)
{
    return trial_write(s, trial, op_parent, &parent, err);
}

int study_set_values(study *s, int trial, const double *values, tl_err *err)
{
    return trial_write(s, trial, op_values, values, err);
}

int study_get_values(study *s, int trial, double *values, tl_err *err)
{
    if (s->remote)
        return s->remote->get_values(s->remote_ud, trial, values, err);
    study_lock(s);
    study_view_sync(s, NULL);
    if (trial < 0 || trial >= s->ntrials) {
        study_unlock(s);
        return tl_fail(err, TL_EINPUT, "%s: no trial %d", s->cfg.name, trial);
    }
    memcpy(values, s->trials[trial].values, (size_t)s->sp.n * sizeof *values);
    study_unlock(s);
    return 0;
}

/* ---- snapshots and summaries ---- */

void study_trials_free(trial *t, int n)
{
    if (!t)
        return;
    for (int k = 0; k < n; k++)
        trial_free(&t[k]);
    free(t);
}

int study_trials(study *s, trial **out, int *n, tl_err *err)
{
    *out = NULL;
    *n = 0;
    study_lock(s);
    int rc = study_view_sync(s, err);
    if (rc) {
        study_unlock(s);
        return rc;
    }
    trial *t = calloc((size_t)(s->ntrials ? s->ntrials : 1), sizeof *t);
    if (!t) {
        study_unlock(s);
        return tl_fail(err, TL_ERUNTIME, "study: out of memory");
    }
    for (int k = 0; k < s->ntrials; k++)
        if (trial_copy(&t[k], &s->trials[k])) {
            study_trials_free(t, k);
            study_unlock(s);
            return tl_fail(err, TL_ERUNTIME, "study: out of memory");
        }
    *n = s->ntrials;
    *out = t;
    study_unlock(s);
    return 0;
}

int study_get_trial(study *s, int number, trial *out, tl_err *err)
{
    study_lock(s);
    int rc = study_view_sync(s, err);
    if (!rc && (number < 0 || number >= s->ntrials))
        rc = tl_fail(err, TL_EINPUT, "%s: no trial %d", s->cfg.name, number);
    if (!rc && trial_copy(out, &s->trials[number]))
        rc = tl_fail(err, TL_ERUNTIME, "study: out of memory");
    study_unlock(s);
    return rc;
}

int study_best(study *s, int *number, double *value)
{
    int best = -1;
    study_lock(s);
    study_view_sync(s, NULL);
    for (int k = 0; k < s->ntrials; k++) {
        const trial *t = &s->trials[k];
        if (t->state != TRIAL_COMPLETE || !isfinite(t->value))
            continue;
        if (best < 0 || (s->cfg.direction == STUDY_MAXIMIZE ? t->value > s->trials[best].value
                                                            : t->value < s->trials[best].value))
            best = k;
    }
    if (best >= 0) {
        if (number)
            *number = best;
        if (value)
            *value = s->trials[best].value;
    }
    study_unlock(s);
    return best >= 0;
}

int study_counts(study *s, int *counts)
{
    for (int k = 0; k < TRIAL_STATE_COUNT; k++)
        counts[k] = 0;
    study_lock(s);
    study_view_sync(s, NULL);
    for (int k = 0; k < s->ntrials; k++)
        if (s->trials[k].state >= 0 && s->trials[k].state < TRIAL_STATE_COUNT)
            counts[s->trials[k].state]++;
    int n = s->ntrials;
    study_unlock(s);
    return n;
}

double study_budget_used(study *s)
{
    double sum = 0;
    study_lock(s);
    study_view_sync(s, NULL);
    for (int k = 0; k < s->ntrials; k++)
        sum += s->trials[k].budget;
    study_unlock(s);
    return sum;
}

const space *study_space(const study *s)
{
    return &s->sp;
}

const study_config *study_get_config(const study *s)
{
    return &s->cfg;
}

const char *study_storage_path(const study *s)
{
    return s->cfg.storage;
}

void study_set_progress(study *s, study_progress_fn fn, void *ud)
{
    study_lock(s);
    s->progress = fn;
    s->progress_ud = ud;
    study_unlock(s);
}

void study_set_objective(study *s, const objective *obj)
{
    study_lock(s);
    s->obj = obj;
    study_unlock(s);
}
