/* report/dashboard_api.c: the dashboard's JSON API (see report/dashboard.h):
 * /api/studies, /api/study, /api/wait, /api/importance; /api/gp is in
 * report/dashboard_gp.c.
 *
 * Does: load a study read-only for each request (report_study_load: one
 * read transaction, so a running study is seen consistently), turn it into
 * JSON with cJSON (every database string as a JSON string), compute a
 * version (a hash of what the page draws) for the page's live updates.
 * Does not: know HTTP (report/dashboard.c), write a database, escape HTML
 * (the page inserts text only), print.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hpo/pareto.h"
#include "report/dashboard.h"
#include "report/dashboard_json.h"
#include "report/report.h"
#include "report/report_importance.h"

#define WAIT_MAX_MS 10000
#define WAIT_STEP_MS 250

int dashboard_error(dashboard_reply *r, int status, const char *msg)
{
    cJSON *o = cJSON_CreateObject();
    r->status = status;
    r->type = "application/json; charset=utf-8";
    r->body = NULL;
    if (o && cJSON_AddStringToObject(o, "error", msg))
        r->body = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!r->body && !(r->body = strdup("{\"error\":\"out of memory\"}")))
        return -1;
    r->len = strlen(r->body);
    return 0;
}

int dj_reply(dashboard_reply *r, cJSON *o)
{
    char *txt = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (!txt)
        return dashboard_error(r, 500, "out of memory");
    r->status = 200;
    r->type = "application/json; charset=utf-8";
    r->body = txt;
    r->len = strlen(txt);
    return 0;
}

int dj_study_id(const char *(*get)(void *, const char *), void *cls, int n, int *id,
                    dashboard_reply *r)
{
    const char *s = get(cls, "id");
    char *end;
    long v = s ? strtol(s, &end, 10) : -1;
    if (!s || !*s || *end || v < 0 || v >= n) {
        char msg[96];
        snprintf(msg, sizeof msg, "id: needs a study number from 0 to %d", n - 1);
        dashboard_error(r, 400, msg);
        return 1;
    }
    *id = (int)v;
    return 0;
}

int dj_load(report_study **rs, const char *path, dashboard_reply *r)
{
    tl_err err = {0};
    if (!report_study_load(rs, path, NULL, &err))
        return 0;
    dashboard_error(r, err.code == TL_EINPUT ? 404 : 500, err.msg);
    return 1;
}

/* FNV-1a over what the page shows: trials, states, values, curves, attrs. */
static void mix(uint64_t *h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        *h = (*h ^ b[i]) * 1099511628211ull;
}

static double version_of(const report_study *rs)
{
    uint64_t h = 1469598103934665603ull;
    mix(&h, &rs->ntrials, sizeof rs->ntrials);
    mix(&h, &rs->nattrs, sizeof rs->nattrs);
    for (int i = 0; i < rs->ntrials; i++) {
        const storage_trial *st = &rs->trials[i];
        mix(&h, &st->t.state, sizeof st->t.state);
        mix(&h, &st->t.nsteps, sizeof st->t.nsteps);
        mix(&h, &st->t.value, sizeof st->t.value);
        mix(&h, &st->t.budget, sizeof st->t.budget);
        mix(&h, &st->nattrs, sizeof st->nattrs);
        for (int a = 0; a < st->nattrs; a++)
            mix(&h, st->attrs[a].value, strlen(st->attrs[a].value));
    }
    return (double)(h >> 12); /* exact in a double, so JSON carries it unchanged */
}

/* The summary of one study, for the list. */
static cJSON *study_summary(const report_study *rs, int id)
{
    cJSON *o = cJSON_CreateObject();
    int ok = o != NULL;
    ok = ok && cJSON_AddNumberToObject(o, "id", id);
    ok = ok && cJSON_AddStringToObject(o, "path", rs->path);
    ok = ok && cJSON_AddStringToObject(o, "name", rs->name);
    ok = ok && cJSON_AddStringToObject(o, "direction", rs->direction == STUDY_MAXIMIZE ? "maximize" : "minimize");
    ok = ok && cJSON_AddStringToObject(o, "metric", rs->metric);
    ok = ok && cJSON_AddStringToObject(o, "sampler", rs->sampler);
    ok = ok && cJSON_AddStringToObject(o, "scheduler", rs->scheduler);
    ok = ok && cJSON_AddStringToObject(o, "objective", rs->objective);
    ok = ok && cJSON_AddNumberToObject(o, "ntrials", rs->ntrials);
    ok = ok && cJSON_AddNumberToObject(o, "version", version_of(rs));
    cJSON *c = ok ? cJSON_AddObjectToObject(o, "counts") : NULL;
    ok = c != NULL;
    for (int s = 0; ok && s < TRIAL_STATE_COUNT; s++)
        ok = cJSON_AddNumberToObject(c, trial_state_str(s), rs->counts[s]) != NULL;
    const trial *b = rs->best >= 0 ? &rs->trials[rs->best].t : NULL;
    ok = ok && (b ? cJSON_AddNumberToObject(o, "best", b->number) : cJSON_AddNullToObject(o, "best"));
    ok = ok && (b ? dj_add_number(o, "best_value", b->value) : cJSON_AddNullToObject(o, "best_value"));
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static int api_studies(const char *const *paths, int n, dashboard_reply *r)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; a && i < n; i++) {
        report_study *rs;
        tl_err err = {0};
        cJSON *o;
        if (report_study_load(&rs, paths[i], NULL, &err)) {
            o = cJSON_CreateObject();
            if (o && (!cJSON_AddNumberToObject(o, "id", i) || !cJSON_AddStringToObject(o, "path", paths[i]) ||
                      !cJSON_AddStringToObject(o, "error", err.msg)))
                cJSON_Delete(o), o = NULL;
        } else {
            o = study_summary(rs, i);
            report_study_free(rs);
        }
        if (!o || !cJSON_AddItemToArray(a, o)) {
            cJSON_Delete(o);
            cJSON_Delete(a);
            a = NULL;
        }
    }
    return dj_reply(r, a);
}

/* The Pareto ranks of the architecture search (trials with a "params"
 * attribute, evaluated, not reused): on_front[i] = 1 on the front. */
static void pareto_flags(const report_study *rs, char *on_front)
{
    int n = rs->ntrials, m = 0, nf = 0;
    double *f = malloc(sizeof *f * 2 * (size_t)(n ? n : 1));
    int *num = malloc(sizeof *num * (size_t)(n ? n : 1)), *idx = malloc(sizeof *idx * (size_t)(n ? n : 1));
    for (int i = 0; f && num && idx && i < n; i++) {
        const trial *t = &rs->trials[i].t;
        const char *p = report_trial_attr(rs, i, "params");
        double pc = p ? strtod(p, NULL) : NAN;
        if (t->state != TRIAL_COMPLETE || !isfinite(t->value) || !(pc > 0) ||
            report_trial_attr(rs, i, "reused_from"))
            continue;
        f[2 * m] = rs->direction == STUDY_MAXIMIZE ? -t->value : t->value;
        f[2 * m + 1] = pc;
        num[m++] = i;
    }
    tl_err err = {0};
    if (f && num && idx && m && !pareto_front(f, m, 2, idx, &nf, &err))
        for (int j = 0; j < nf; j++)
            on_front[num[idx[j]]] = 1;
    free(f);
    free(num);
    free(idx);
}

static int api_study(const char *const *paths, int n, const char *(*get)(void *, const char *),
                     void *cls, dashboard_reply *r)
{
    int id;
    report_study *rs;
    if (dj_study_id(get, cls, n, &id, r) || dj_load(&rs, paths[id], r))
        return r->body ? 0 : -1;
    cJSON *o = study_summary(rs, id);
    char *front = calloc((size_t)(rs->ntrials ? rs->ntrials : 1), 1);
    if (front)
        pareto_flags(rs, front);
    int ok = o && front && dj_add_study(o, rs, front);
    free(front);
    report_study_free(rs);
    if (!ok) {
        cJSON_Delete(o);
        return dashboard_error(r, 500, "out of memory");
    }
    return dj_reply(r, o);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* /api/wait: polls the database every WAIT_STEP_MS until its version
 * differs from the caller's or ms have passed. */
static int api_wait(const char *const *paths, int n, const char *(*get)(void *, const char *),
                    void *cls, volatile int *stop, dashboard_reply *r)
{
    int id;
    if (dj_study_id(get, cls, n, &id, r))
        return 0;
    const char *vs = get(cls, "version"), *ms_s = get(cls, "ms");
    char *end;
    double have = vs ? strtod(vs, &end) : NAN;
    if (!vs || !*vs || *end || !isfinite(have))
        return dashboard_error(r, 400, "version: needs the number /api/study returned");
    long ms = ms_s ? strtol(ms_s, &end, 10) : 0;
    if (ms_s && (*end || ms < 0))
        return dashboard_error(r, 400, "ms: needs a whole number of milliseconds");
    if (ms > WAIT_MAX_MS)
        ms = WAIT_MAX_MS;
    for (long waited = 0;; waited += WAIT_STEP_MS) {
        report_study *rs;
        if (dj_load(&rs, paths[id], r))
            return 0;
        double v = version_of(rs);
        report_study_free(rs);
        if (v != have || waited >= ms || *stop) {
            cJSON *o = cJSON_CreateObject();
            if (o && (!cJSON_AddNumberToObject(o, "version", v) ||
                      !cJSON_AddBoolToObject(o, "changed", v != have)))
                cJSON_Delete(o), o = NULL;
            return dj_reply(r, o);
        }
        sleep_ms(WAIT_STEP_MS);
    }
}

/* /api/importance?id=N: `tunelab importance --json` of the study (fANOVA,
 * report/report_importance.h): {"params": [{"name", "importance", "sd",
 * "min", "max"}, ...], ...}; 422 with the message for a study with fewer
 * than two complete trials. */
static int api_importance(const char *const *paths, int n, const char *(*get)(void *, const char *),
                          void *cls, dashboard_reply *r)
{
    int id;
    if (dj_study_id(get, cls, n, &id, r))
        return 0;
    report_study *rs;
    if (dj_load(&rs, paths[id], r))
        return 0;
    tl_err err = {0};
    char *txt = NULL;
    int rc = report_importance(rs, REPORT_JSON, &txt, &err);
    report_study_free(rs);
    if (rc) {
        free(txt);
        return dashboard_error(r, rc == TL_EINPUT ? 422 : 500, err.msg);
    }
    cJSON *o = cJSON_Parse(txt);
    free(txt);
    return dj_reply(r, o);
}

int dashboard_api(const char *what, const char *const *paths, int n,
                  const char *(*get)(void *cls, const char *key), void *cls,
                  volatile int *stop, dashboard_reply *r)
{
    r->body = NULL;
    if (!strcmp(what, "studies"))
        return api_studies(paths, n, r);
    if (!strcmp(what, "study"))
        return api_study(paths, n, get, cls, r);
    if (!strcmp(what, "wait"))
        return api_wait(paths, n, get, cls, stop, r);
    if (!strcmp(what, "gp"))
        return dashboard_api_gp(paths, n, get, cls, r);
    if (!strcmp(what, "importance"))
        return api_importance(paths, n, get, cls, r);
    return dashboard_error(r, 404, "no such API call (studies, study, wait, gp, importance)");
}
