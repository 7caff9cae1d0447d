/* hpo/sched_halving_record.c: the halving engine's per-trial cache of the
 * "hb" attribute (sched_halving.h describes the record): each trial's
 * bracket plan, reading the attribute back into an entry, writing an
 * entry out, and noticing, through a fingerprint of the trial's row,
 * when another process, a crash or a rollback changed a trial so that
 * its entry must be read again.
 *
 * Does not: decide promotions or stops (sched_halving.c), parse the
 * record for reports (halving_info_parse, sched_halving_rungs.c), print.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hpo/sched_halving_internal.h"

void hb_plan_of(const halving *h, long number, plan *p)
{
    if (h->mode == HALVING_HYPERBAND) {
        halving_slot sl;
        halving_slot_of(number, h->s_max, h->eta, h->trials, &sl);
        p->iteration = sl.iteration;
        p->s = sl.s;
        p->first = sl.first;
        p->n_eff = sl.n;
        long full = halving_bracket_n(sl.s, h->s_max, h->eta);
        p->nrungs = halving_bracket(sl.s, h->s_max, h->eta, h->max_budget,
                                    sl.n < full ? sl.n : 0, p->n, p->r);
    } else {
        p->iteration = 0;
        p->s = h->s_max;
        p->first = 0;
        p->n_eff = h->trials;
        p->nrungs = halving_bracket(h->s_max, h->s_max, h->eta, h->max_budget, h->trials, p->n,
                                    p->r);
    }
}

int hb_grow(halving *h, int n, tl_err *err)
{
    if (n > h->cap) {
        int nc = h->cap ? h->cap : 64;
        while (nc < n)
            nc *= 2;
        entry *e = realloc(h->e, (size_t)nc * sizeof *e);
        if (!e)
            return tl_fail(err, TL_ERUNTIME, "%s: out of memory", halving_mode_str(h->mode));
        memset(e + h->cap, 0, (size_t)(nc - h->cap) * sizeof *e);
        h->e = e;
        h->cap = nc;
    }
    if (n > h->cap_rk) {
        rank *r = realloc(h->rk, (size_t)h->cap * sizeof *r);
        if (!r)
            return tl_fail(err, TL_ERUNTIME, "%s: out of memory", halving_mode_str(h->mode));
        h->rk = r;
        h->cap_rk = h->cap;
    }
    return 0;
}

static int same(double a, double b)
{
    return a == b || (isnan(a) && isnan(b));
}

static int fp_same(const entry *e, const trial *t)
{
    return e->known && e->fp_state == t->state && e->fp_nsteps == t->nsteps &&
           same(e->fp_budget, t->budget) && same(e->fp_value, t->value);
}

void hb_fp_set(entry *e, const trial *t)
{
    e->fp_state = t->state;
    e->fp_nsteps = t->nsteps;
    e->fp_budget = t->budget;
    e->fp_value = t->value;
}

int hb_status_of_state(int state)
{
    switch (state) {
    case TRIAL_PAUSED:
        return HB_PAUSED;
    case TRIAL_COMPLETE:
        return HB_COMPLETE;
    case TRIAL_PRUNED:
        return HB_PRUNED;
    case TRIAL_FAILED:
        return HB_FAILED;
    default:
        return HB_RUNNING;
    }
}

/* Reads trial k's attribute into its entry (defaults from the plan when
 * it has none yet).  Lock held (inside a hook). */
int hb_entry_load(halving *h, const sched_ctx *ctx, int k, tl_err *err)
{
    const char *name = halving_mode_str(h->mode);
    entry *e = &h->e[k];
    const trial *t = ctx->trials[k];
    plan p;
    hb_plan_of(h, k, &p);
    e->iteration = p.iteration;
    e->bracket = p.s;
    e->rung = 0;
    e->nvals = 0;
    e->status = hb_status_of_state(t->state);
    char buf[2048];
    int r = study_trial_attr_get(ctx->s, k, "hb", buf, sizeof buf);
    if (r < 0)
        return tl_fail(err, TL_ERUNTIME, "%s: reading trial %d's attribute hb failed", name, k);
    if (r == 1) {
        halving_info inf;
        if (halving_info_parse(buf, &inf, err))
            return tl_prefix(err, "%s: trial %d", name, k);
        if (strcmp(inf.scheduler, name) != 0)
            return tl_fail(err, TL_EINPUT,
                           "study.scheduler: trial %d was scheduled by %s, not %s: resume with "
                           "scheduler = %s",
                           k, inf.scheduler, name, inf.scheduler);
        if (inf.bracket != p.s || inf.iteration != p.iteration || inf.nrungs != p.nrungs ||
            fabs(inf.budget[0] - p.r[0]) > HALVING_REL_EPS * p.r[0] || inf.rung >= p.nrungs ||
            inf.rung < 0)
            return tl_fail(err, TL_EINPUT,
                           "study.max_budget: trial %d ran in bracket %d (iteration %ld, %d rungs "
                           "from budget %g); the current min_budget, max_budget and eta put it in "
                           "bracket %d (%d rungs from %g): resume with the settings the study "
                           "started with",
                           k, inf.bracket, inf.iteration, inf.nrungs, inf.budget[0], p.s, p.nrungs,
                           p.r[0]);
        e->rung = inf.rung;
        e->nvals = inf.nvalues;
        memcpy(e->v, inf.value, sizeof e->v);
        int st = halving_status_parse(inf.status);
        if (st == HB_STOPPED)
            e->status = HB_STOPPED;
    }
    e->known = 1;
    hb_fp_set(e, t);
    return 0;
}

/* Writes trial k's attribute from its entry. */
int hb_entry_store(halving *h, const sched_ctx *ctx, int k, tl_err *err)
{
    const entry *e = &h->e[k];
    plan p;
    hb_plan_of(h, k, &p);
    cJSON *o = cJSON_CreateObject();
    int ok = o != NULL;
    ok = ok && cJSON_AddStringToObject(o, "scheduler", halving_mode_str(h->mode));
    ok = ok && cJSON_AddNumberToObject(o, "iteration", (double)e->iteration);
    ok = ok && cJSON_AddNumberToObject(o, "bracket", e->bracket);
    ok = ok && cJSON_AddNumberToObject(o, "rung", e->rung);
    ok = ok && cJSON_AddStringToObject(o, "status", halving_status_names[e->status]);
    cJSON *an = NULL, *ab = NULL, *av = NULL;
    if (ok && h->mode != HALVING_ASHA)
        ok = (an = cJSON_AddArrayToObject(o, "rung_n")) != NULL;
    ok = ok && (ab = cJSON_AddArrayToObject(o, "rung_budget")) != NULL;
    ok = ok && (av = cJSON_AddArrayToObject(o, "rung_value")) != NULL;
    for (int i = 0; ok && i < p.nrungs; i++) {
        if (an)
            ok = cJSON_AddItemToArray(an, cJSON_CreateNumber((double)p.n[i]));
        ok = ok && cJSON_AddItemToArray(ab, cJSON_CreateNumber(p.r[i]));
    }
    for (int i = 0; ok && i < e->nvals; i++)
        ok = cJSON_AddItemToArray(av, isfinite(e->v[i]) ? cJSON_CreateNumber(e->v[i])
                                                        : cJSON_CreateNull());
    char *txt = ok ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (!txt)
        return tl_fail(err, TL_ERUNTIME, "%s: out of memory", halving_mode_str(h->mode));
    int rc = study_trial_attr_set(ctx->s, k, "hb", txt, err);
    free(txt);
    return rc;
}

/* Brings every entry up to date with the trials.  Lock held. */
int hb_refresh(halving *h, const sched_ctx *ctx, tl_err *err)
{
    if (hb_grow(h, ctx->ntrials, err))
        return TL_ERUNTIME;
    for (int k = 0; k < ctx->ntrials; k++)
        if (!fp_same(&h->e[k], ctx->trials[k])) {
            int rc = hb_entry_load(h, ctx, k, err);
            if (rc)
                return rc;
        }
    return 0;
}

/* The entry of trial t, read from storage when this process does not know
 * it as running (the process that starts a trial runs it). */
int hb_entry_of(halving *h, const sched_ctx *ctx, const trial *t, entry **out, tl_err *err)
{
    int k = t->number;
    if (hb_grow(h, k + 1, err))
        return TL_ERUNTIME;
    entry *e = &h->e[k];
    if (!(e->known && e->fp_state == TRIAL_RUNNING && t->state == TRIAL_RUNNING)) {
        int rc = hb_entry_load(h, ctx, k, err);
        if (rc)
            return rc;
    }
    *out = e;
    return 0;
}

/* entry_store for trial t, then its fingerprint remembered.  Returns 0 or
 * an error code. */
int hb_entry_save(halving *h, const sched_ctx *ctx, const trial *t, tl_err *err)
{
    int rc = hb_entry_store(h, ctx, t->number, err);
    if (!rc)
        hb_fp_set(&h->e[t->number], t);
    return rc;
}

