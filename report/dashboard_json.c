/* report/dashboard_json.c: a loaded study as the dashboard's JSON
 * (dj_add_study) and the GP slice of a bayes study (/api/gp).  See
 * report/dashboard_json.h.
 *
 * Does: carry every database string (parameter names, choices, reasons,
 * attributes) as a JSON string, numbers as numbers (null for NaN), and ask
 * report/report_gp.h for the GP (the sampler's own engine, hpo/bo.h).
 * Does not: read SQL, escape HTML (the page inserts text only), print.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hpo/acq.h"
#include "report/dashboard_json.h"
#include "report/report_gp.h"

#define GP_POINTS 121

cJSON *dj_add_number(cJSON *o, const char *key, double v)
{
    return isfinite(v) ? cJSON_AddNumberToObject(o, key, v) : cJSON_AddNullToObject(o, key);
}

static int add_params(cJSON *o, const space *sp)
{
    cJSON *a = cJSON_AddArrayToObject(o, "params");
    for (int i = 0; a && i < sp->n; i++) {
        const param *p = &sp->p[i];
        cJSON *q = cJSON_CreateObject();
        if (!q || !cJSON_AddItemToArray(a, q))
            return cJSON_Delete(q), 0;
        int ok = cJSON_AddStringToObject(q, "name", p->name) && cJSON_AddStringToObject(q, "kind", param_kind_str(p->kind)) &&
                 cJSON_AddBoolToObject(q, "log", p->log);
        if (p->kind != PARAM_CAT) {
            ok = ok && cJSON_AddNumberToObject(q, "low", p->low) && cJSON_AddNumberToObject(q, "high", p->high);
        } else {
            cJSON *c = ok ? cJSON_AddArrayToObject(q, "choices") : NULL;
            ok = c != NULL;
            for (int k = 0; ok && k < p->ncat; k++)
                ok = cJSON_AddItemToArray(c, cJSON_CreateString(p->cats[k]));
        }
        if (!ok)
            return 0;
    }
    return a != NULL;
}

/* A trial's parameter values: numbers, a categorical's text, null inactive. */
static int add_values(cJSON *o, const space *sp, const trial *t)
{
    cJSON *v = cJSON_AddObjectToObject(o, "params");
    for (int i = 0; v && i < sp->n; i++) {
        double x = i < t->nparams ? t->values[i] : NAN;
        cJSON *it;
        if (isnan(x))
            it = cJSON_CreateNull();
        else if (sp->p[i].kind == PARAM_CAT && x >= 0 && x < sp->p[i].ncat)
            it = cJSON_CreateString(sp->p[i].cats[(int)x]);
        else
            it = cJSON_CreateNumber(x);
        if (!it || !cJSON_AddItemToObject(v, sp->p[i].name, it))
            return cJSON_Delete(it), 0;
    }
    return v != NULL;
}

static int add_curve(cJSON *o, const trial *t)
{
    cJSON *a = cJSON_AddArrayToObject(o, "curve");
    for (int s = 0; a && s < t->nsteps; s++) {
        cJSON *pt = cJSON_CreateArray();
        if (!pt || !cJSON_AddItemToArray(a, pt))
            return cJSON_Delete(pt), 0;
        if (!cJSON_AddItemToArray(pt, cJSON_CreateNumber(t->steps[s])) ||
            !cJSON_AddItemToArray(pt, isfinite(t->inter[s]) ? cJSON_CreateNumber(t->inter[s]) : cJSON_CreateNull()))
            return 0;
    }
    return a != NULL;
}

static int add_trial(cJSON *a, const report_study *rs, int i, int on_front)
{
    const storage_trial *st = &rs->trials[i];
    const trial *t = &st->t;
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddItemToArray(a, o))
        return cJSON_Delete(o), 0;
    int ok = cJSON_AddNumberToObject(o, "number", t->number) && cJSON_AddStringToObject(o, "state", trial_state_str(t->state)) &&
             dj_add_number(o, "value", t->value) && dj_add_number(o, "budget", t->budget) &&
             dj_add_number(o, "target", st->m.target) &&
             (t->parent >= 0 ? cJSON_AddNumberToObject(o, "parent", t->parent) : cJSON_AddNullToObject(o, "parent")) &&
             dj_add_number(o, "started", t->started) && dj_add_number(o, "finished", t->finished) &&
             cJSON_AddStringToObject(o, "reason", t->reason) && cJSON_AddBoolToObject(o, "pareto", on_front) &&
             add_values(o, &rs->sp, t) && add_curve(o, t);
    cJSON *at = ok ? cJSON_AddObjectToObject(o, "attrs") : NULL;
    ok = at != NULL;
    for (int k = 0; ok && k < st->nattrs; k++)
        ok = cJSON_AddStringToObject(at, st->attrs[k].key, st->attrs[k].value) != NULL;
    char cmd[4096] = "", how[300] = "";
    if (ok && strcmp(rs->objective, "function") && strcmp(rs->objective, "command"))
        report_retrain_command(rs, i, cmd, sizeof cmd);
    if (ok && t->parent >= 0)
        report_family_how(rs, i, how, sizeof how);
    return ok && cJSON_AddStringToObject(o, "command", cmd) && cJSON_AddStringToObject(o, "family", how);
}

int dj_add_study(cJSON *o, const report_study *rs, const char *on_front)
{
    if (!add_params(o, &rs->sp))
        return 0;
    cJSON *sa = cJSON_AddObjectToObject(o, "attrs");
    for (int k = 0; sa && k < rs->nattrs; k++)
        if (!cJSON_AddStringToObject(sa, rs->attrs[k].key, rs->attrs[k].value))
            return 0;
    cJSON *a = sa ? cJSON_AddArrayToObject(o, "trials") : NULL;
    for (int i = 0; a && i < rs->ntrials; i++)
        if (!add_trial(a, rs, i, on_front[i]))
            return 0;
    return a != NULL;
}

/* ---- /api/gp ---- */

/* The study's acquisition settings (its attributes; defaults otherwise). */
static void gp_opts(const report_study *rs, report_gp_opts *o)
{
    report_gp_opts_default(o);
    o->seed = rs->seed;
    int k = acq_parse(report_study_attr(rs, "acquisition"));
    if (k >= 0)
        o->acq = k;
    const char *xi = report_study_attr(rs, "xi"), *beta = report_study_attr(rs, "beta");
    double v = xi ? strtod(xi, NULL) : NAN;
    if (v >= 0 && isfinite(v))
        o->xi = v;
    v = beta ? strtod(beta, NULL) : NAN;
    if (v >= 0 && isfinite(v))
        o->beta = v;
}

/* Fills the reply's arrays from m along parameter p (the others at m's best). */
static cJSON *gp_slice(const report_study *rs, report_gp_model *m, int p)
{
    int d = m->d, bi = 0;
    for (int j = 0; j < m->k; j++)
        if (m->rows[j] == m->best)
            bi = j;
    double *u = malloc(sizeof *u * (size_t)d * GP_POINTS), mean[GP_POINTS], sd[GP_POINTS], acq[GP_POINTS];
    cJSON *o = u ? cJSON_CreateObject() : NULL;
    if (!o) {
        free(u);
        return NULL;
    }
    for (int s = 0; s < GP_POINTS; s++) {
        memcpy(u + (size_t)s * d, m->U + (size_t)bi * d, sizeof *u * d);
        u[(size_t)s * d + p] = (double)s / (GP_POINTS - 1);
    }
    report_gp_predict(m, u, GP_POINTS, mean, sd, acq);
    cJSON *x = cJSON_AddArrayToObject(o, "x"), *mu = cJSON_AddArrayToObject(o, "mean"),
          *sa = cJSON_AddArrayToObject(o, "sd"), *aq = cJSON_AddArrayToObject(o, "acq"),
          *ob = cJSON_AddArrayToObject(o, "obs");
    int ok = x && mu && sa && aq && ob;
    for (int s = 0; ok && s < GP_POINTS; s++)
        ok = cJSON_AddItemToArray(x, cJSON_CreateNumber(report_gp_axis(&rs->sp, p, u[(size_t)s * d + p]))) &&
             cJSON_AddItemToArray(mu, cJSON_CreateNumber(mean[s])) && cJSON_AddItemToArray(sa, cJSON_CreateNumber(sd[s])) &&
             cJSON_AddItemToArray(aq, isfinite(acq[s]) ? cJSON_CreateNumber(acq[s]) : cJSON_CreateNull());
    for (int j = 0; ok && j < m->k; j++) {
        cJSON *pt = cJSON_CreateArray();
        ok = pt && cJSON_AddItemToArray(ob, pt) &&
             cJSON_AddItemToArray(pt, cJSON_CreateNumber(report_gp_axis(&rs->sp, p, m->U[(size_t)j * d + p]))) &&
             cJSON_AddItemToArray(pt, cJSON_CreateNumber(m->y[j]));
    }
    free(u);
    ok = ok && cJSON_AddStringToObject(o, "param", rs->sp.p[p].name) && cJSON_AddBoolToObject(o, "log", rs->sp.p[p].log) &&
         cJSON_AddNumberToObject(o, "k", m->k) && cJSON_AddStringToObject(o, "acq_label", report_gp_acq_label(m->o.acq));
    if (!ok)
        cJSON_Delete(o), o = NULL;
    return o;
}

/* The parameter the query names, or the first non-categorical; -1 with a
 * reply made in r when there is none. */
static int gp_param(const report_study *rs, dj_get_fn get, void *cls, dashboard_reply *r)
{
    const char *name = get(cls, "param");
    int p = -1;
    if (name && *name)
        p = space_find(&rs->sp, name);
    else
        for (int i = 0; i < rs->sp.n && p < 0; i++)
            if (rs->sp.p[i].kind != PARAM_CAT)
                p = i;
    if (p < 0 || rs->sp.p[p].kind == PARAM_CAT)
        dashboard_error(r, 400, name && *name ? "param: not a numeric parameter of this study"
                                              : "the study has no numeric parameter");
    return p >= 0 && rs->sp.p[p].kind != PARAM_CAT ? p : -1;
}

int dashboard_api_gp(const char *const *paths, int n, dj_get_fn get, void *cls, dashboard_reply *r)
{
    int id, p;
    report_study *rs;
    if (dj_study_id(get, cls, n, &id, r) || dj_load(&rs, paths[id], r))
        return r->body ? 0 : -1;
    if ((p = gp_param(rs, get, cls, r)) < 0) {
        report_study_free(rs);
        return r->body ? 0 : -1;
    }
    const trial **hist = malloc(sizeof *hist * (size_t)(rs->ntrials ? rs->ntrials : 1));
    if (!hist) {
        report_study_free(rs);
        return dashboard_error(r, 500, "out of memory");
    }
    for (int i = 0; i < rs->ntrials; i++)
        hist[i] = &rs->trials[i].t;
    int nc = report_gp_count(hist, rs->ntrials), rc;
    const char *ks = get(cls, "k");
    char *end = NULL;
    long k = ks ? strtol(ks, &end, 10) : nc;
    if (ks && (!*ks || *end))
        k = -1;
    report_gp_opts o;
    gp_opts(rs, &o);
    report_gp_model m = {0};
    tl_err err = {0};
    if (k < 2 || k > nc)
        rc = dashboard_error(r, 409, "the GP needs at least 2 complete trials (k from 2 to the complete trials)");
    else if (report_gp_fit(&m, &rs->sp, hist, rs->ntrials, rs->direction, (int)k, &o, &err))
        rc = dashboard_error(r, err.code == TL_EINPUT ? 409 : 500, err.msg);
    else
        rc = dj_reply(r, gp_slice(rs, &m, p));
    report_gp_model_free(&m);
    free(hist);
    report_study_free(rs);
    return rc;
}
