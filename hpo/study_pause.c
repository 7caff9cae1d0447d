/* hpo/study_pause.c: what the study keeps of paused trials: the pause
 * record (STUDY_ATTR_PAUSED_AT) and a dead promoted trial put back to it,
 * the accumulated run time (STUDY_ATTR_RUN_SECONDS), ending paused trials
 * for schedulers (study_stop_paused: the state released and its file
 * deleted once committed), and the paused trials' in-memory states.
 *
 * Does not: decide on pauses (the scheduler does), save or load states
 * (the objective does, through its callbacks).  The struct is in
 * hpo/study_internal.h.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hpo/study_internal.h"

void study_state_file(const study *s, int number, char *buf, size_t n)
{
    snprintf(buf, n, "%s/trial-%d.state", s->cfg.state_dir, number);
}

/* The record study_tell keeps of a trial's last pause (STUDY_ATTR_PAUSED_AT). */
typedef struct pause_rec {
    double budget, value, time;
    int step;
} pause_rec;

/* Writes trial t's pause record: {"budget", "step", "value" (null for
 * NaN), "time"} (see study.h, STUDY_ATTR_PAUSED_AT). */
int study_pause_record(study *s, const trial *t, double now, tl_err *err)
{
    char rec[256], vtxt[32];
    if (isfinite(t->value))
        snprintf(vtxt, sizeof vtxt, "%.17g", t->value);
    else
        snprintf(vtxt, sizeof vtxt, "null");
    snprintf(rec, sizeof rec, "{\"budget\":%.17g,\"step\":%d,\"value\":%s,\"time\":%.6f}",
             isfinite(t->budget) ? t->budget : 0.0, trial_last_step(t), vtxt, now);
    return s->st.vt->attr_set(s->st.self, s->study_id, t->number, STUDY_ATTR_PAUSED_AT, rec, err);
}

/* Reads trial k's pause record: 1 found, 0 absent or unreadable, -1 error. */
static int pause_get(study *s, int k, pause_rec *pr, tl_err *err)
{
    char buf[512];
    int got = s->st.vt->attr_get(s->st.self, s->study_id, k, STUDY_ATTR_PAUSED_AT, buf, sizeof buf,
                                 err);
    if (got != 1)
        return got < 0 ? -1 : 0;
    cJSON *o = cJSON_Parse(buf);
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(o, "budget");
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(o, "step");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "value");
    const cJSON *tm = cJSON_GetObjectItemCaseSensitive(o, "time");
    int ok = cJSON_IsNumber(b) && cJSON_IsNumber(st) && cJSON_IsNumber(tm);
    if (ok) {
        pr->budget = b->valuedouble;
        pr->step = (int)st->valuedouble;
        pr->time = tm->valuedouble;
        pr->value = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    }
    cJSON_Delete(o);
    return ok;
}

/* Puts dead trial k, which had paused before the run it died in, back to
 * PAUSED as it was then: budget, intermediate values up to the pause's
 * step, value.  Only when the scheduler has a requeued hook and the state
 * saved at that pause is on disk, no newer than the pause record (a file
 * written after it belongs to a later pause that never committed).
 * *done = 1 when it did.  Lock held, inside a write transaction. */
int study_pause_restore(study *s, int k, int *done, tl_err *err)
{
    *done = 0;
    trial *t = &s->trials[k];
    pause_rec pr;
    int got = pause_get(s, k, &pr, err);
    if (got < 0)
        return TL_ERUNTIME;
    if (!got || !(pr.budget > 0))
        return 0;
    char path[600];
    study_state_file(s, k, path, sizeof path);
    struct stat sb;
    if (stat(path, &sb) != 0 ||
        (double)sb.st_mtim.tv_sec + 1e-9 * (double)sb.st_mtim.tv_nsec > pr.time)
        return 0;
    int kept = 0;
    for (int i = 0; i < t->nsteps; i++)
        if (t->steps[i] <= pr.step) {
            t->steps[kept] = t->steps[i];
            t->inter[kept] = t->inter[i];
            kept++;
        }
    t->nsteps = kept;
    if (s->st.vt->inter_clear(s->st.self, s->study_id, k, err))
        return TL_ERUNTIME;
    for (int i = 0; i < kept; i++)
        if (s->st.vt->inter_add(s->st.self, s->study_id, k, t->steps[i], t->inter[i], err))
            return TL_ERUNTIME;
    long pid = s->meta[k].pid;
    t->state = TRIAL_PAUSED;
    t->budget = pr.budget;
    t->value = pr.value;
    t->finished = pr.time;
    snprintf(t->reason, sizeof t->reason,
             "back to its pause at budget %g: process %ld died while running it", pr.budget, pid);
    if (study_write_trial(s, k, err))
        return TL_ERUNTIME;
    sched_ctx ctx;
    study_sched_ctx(s, &ctx);
    int rc = s->sch.vt->requeued(s->sch.self, &ctx, t, err);
    if (rc)
        return rc;
    *done = 1;
    return 0;
}

/* Adds the seconds of the run that ends now to trial number's
 * STUDY_ATTR_RUN_SECONDS (when this process claimed it), for a trial that
 * pauses now or has paused before (one that runs once has finished -
 * started).  Lock held, inside a write transaction. */
int study_add_run_time(study *s, int number, double now, int pausing, tl_err *err)
{
    double t0 = s->run_t0[number];
    if (!(t0 > 0))
        return 0;
    char buf[64];
    double total = 0;
    int got = s->st.vt->attr_get(s->st.self, s->study_id, number, STUDY_ATTR_RUN_SECONDS, buf,
                                 sizeof buf, err);
    if (got < 0)
        return TL_ERUNTIME;
    if (got == 0 && !pausing) {
        s->run_t0[number] = 0;
        return 0;
    }
    if (got == 1) {
        char *end;
        total = strtod(buf, &end);
        if (end == buf || !isfinite(total))
            total = 0;
    }
    total += now > t0 ? now - t0 : 0;
    snprintf(buf, sizeof buf, "%.6f", total);
    int rc = s->st.vt->attr_set(s->st.self, s->study_id, number, STUDY_ATTR_RUN_SECONDS, buf, err);
    if (!rc)
        s->run_t0[number] = 0;
    return rc;
}

int study_stop_paused(study *s, int number, int state, const char *reason, tl_err *err)
{
    if (state != TRIAL_PRUNED && state != TRIAL_FAILED)
        return tl_fail(err, TL_EINPUT, "%s: trial %d: a paused trial can only be stopped as pruned "
                       "or failed, not %s", s->cfg.name, number, trial_state_str(state));
    int rc;
    study_lock(s);
    int nested = s->depth > 0; /* inside a hook: the view is current, and hooks hold pointers into it */
    if ((rc = study_tx_begin(s, err)))
        goto out;
    if (!nested && (rc = study_view_sync(s, err)))
        goto fail;
    if (number < 0 || number >= s->ntrials) {
        rc = tl_fail(err, TL_EINPUT, "%s: no trial %d", s->cfg.name, number);
        goto fail;
    }
    trial *t = &s->trials[number];
    if (t->state != TRIAL_PAUSED) {
        rc = tl_fail(err, TL_EINPUT, "%s: trial %d is %s, not paused", s->cfg.name, number,
                     trial_state_str(t->state));
        goto fail;
    }
    if (s->nstops == s->cap_stops) {
        int nc = s->cap_stops ? 2 * s->cap_stops : 16;
        stop_note *p = realloc(s->stops, (size_t)nc * sizeof *p);
        if (!p) {
            rc = tl_fail(err, TL_ERUNTIME, "study: out of memory");
            goto fail;
        }
        s->stops = p;
        s->cap_stops = nc;
    }
    t->state = state;
    t->finished = study_now();
    snprintf(t->reason, sizeof t->reason, "%s", reason ? reason : "");
    if ((rc = study_write_trial(s, number, err)))
        goto fail;
    stop_note *sn = &s->stops[s->nstops++];
    sn->trial = number;
    sn->state = state;
    sn->value = t->value;
    sn->budget = t->budget;
    snprintf(sn->reason, sizeof sn->reason, "%s", t->reason);
    if ((rc = study_tx_commit(s, err)))
        goto fail;
    study_unlock(s);
    study_stops_flush(s); /* nested in a hook: waits for the outermost commit */
    return 0;
fail:
    study_tx_rollback(s); /* as every nested write: the whole transaction */
out:
    study_unlock(s);
    return rc;
}

/* ---- kept states ---- */

void study_state_release(study *s, void *state)
{
    if (state && s->obj && s->obj->state_free)
        s->obj->state_free(s->obj->ud, state);
}

/* Finishes the committed stops: releases their kept states, deletes their
 * state files and emits their FINISHED events.  Call with the lock NOT
 * held (it takes it to collect the list). */
void study_stops_flush(study *s)
{
    study_lock(s);
    if (s->ndone == 0 || s->depth > 0) {
        study_unlock(s);
        return;
    }
    stop_note *v = s->done;
    int n = s->ndone;
    s->done = NULL;
    s->ndone = s->cap_done = 0;
    for (int i = 0; i < n; i++) {
        int k = v[i].trial;
        if (k >= 0 && k < s->cap_states) {
            study_state_release(s, s->states[k]);
            s->states[k] = NULL;
        }
        char path[600];
        study_state_file(s, k, path, sizeof path);
        unlink(path); /* a missing file is fine */
    }
    study_unlock(s);
    for (int i = 0; i < n; i++) {
        study_event ev = { .kind = STUDY_EV_FINISHED, .trial = v[i].trial, .state = v[i].state,
                           .value = v[i].value, .budget = v[i].budget, .reason = v[i].reason };
        study_emit(s, &ev);
    }
    free(v);
}

int study_state_put(study *s, int trial, void *state)
{
    if (trial < 0)
        return TL_EINPUT;
    study_lock(s);
    if (trial >= s->cap_states) {
        int nc = s->cap_states ? s->cap_states : 64;
        while (nc <= trial)
            nc *= 2;
        void **p = realloc(s->states, (size_t)nc * sizeof *p);
        if (!p) {
            study_unlock(s);
            return TL_ERUNTIME;
        }
        for (int k = s->cap_states; k < nc; k++)
            p[k] = NULL;
        s->states = p;
        s->cap_states = nc;
    }
    if (s->states[trial] != state)
        study_state_release(s, s->states[trial]);
    s->states[trial] = state;
    study_unlock(s);
    return 0;
}

void *study_state_take(study *s, int trial)
{
    void *st = NULL;
    study_lock(s);
    if (trial >= 0 && trial < s->cap_states) {
        st = s->states[trial];
        s->states[trial] = NULL;
    }
    study_unlock(s);
    return st;
}

void *study_state_peek(study *s, int trial)
{
    void *st = NULL;
    study_lock(s);
    if (trial >= 0 && trial < s->cap_states)
        st = s->states[trial];
    study_unlock(s);
    return st;
}

int study_state_copy(study *s, int src, void *dst, tl_err *err)
{
    int rc = 0;
    if (s->remote)
        return s->remote->state_copy(s->remote_ud, src, dst, err);
    study_lock(s);
    void *from = src >= 0 && src < s->cap_states ? s->states[src] : NULL;
    if (!from)
        rc = tl_fail(err, TL_EINPUT, "%s: trial %d has no kept state to copy", s->cfg.name, src);
    else if (!s->obj || !s->obj->state_copy)
        rc = tl_fail(err, TL_EINPUT, "%s: the objective cannot copy states", s->cfg.name);
    else if (s->obj->state_copy(s->obj->ud, dst, from))
        rc = tl_fail(err, TL_ERUNTIME, "%s: copying the state of trial %d failed", s->cfg.name,
                     src);
    study_unlock(s);
    return rc;
}
