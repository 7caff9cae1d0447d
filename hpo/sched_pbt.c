/* hpo/sched_pbt.c: population-based training as a scheduler (see pbt.h for
 * the algorithm, the modes and what is stored): its hooks and vtable.
 *
 * Does: check its options and the space (validate), create the members,
 * cut their training into segments of `interval` (PROMOTE of paused
 * members), pause members at ready points and answer DECIDE_EXPLOIT with
 * a source, record starts, restarts and final values in the lineages, and
 * roll a requeued member back to its last pause.  The decisions
 * themselves (ranking, sources, explore) are in sched_pbt_decide.c; the
 * struct they share in sched_pbt_internal.h.  Every hook re-reads the
 * lineages from storage, so `self` holds only settings and scratch space
 * and a resumed process rebuilds everything.  Does not: copy states (the
 * objective does on DECIDE_EXPLOIT), know what the parameters mean,
 * print.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hpo/sched_pbt_internal.h"

void pbt_options_default(pbt_options *o)
{
    memset(o, 0, sizeof *o);
    o->population = 8;
    o->interval = 1;
    o->quantile = 0.25;
    o->factors[0] = 0.8;
    o->factors[1] = 1.2;
    o->nfactors = 2;
    o->resample_probability = 0.25;
    o->sync = 0;
}

/* The options opts points to, or the defaults. */
static pbt_options options_of(const void *opts)
{
    pbt_options o;
    pbt_options_default(&o);
    return opts ? *(const pbt_options *)opts : o;
}

/* The settings: TL_EINPUT naming the first bad key. */
static int check_settings(const pbt_options *o, const study_config *cfg, tl_err *err)
{
    if (o->population < 2)
        return tl_fail(err, TL_EINPUT, "pbt.population: must be >= 2, got %d", o->population);
    if (cfg->trials < 2)
        return tl_fail(err, TL_EINPUT,
                       "study.trials: PBT runs one trial per member; needs >= 2, got %d",
                       cfg->trials);
    if (!(o->interval >= 1) || o->interval != floor(o->interval) || o->interval > 1e9)
        return tl_fail(err, TL_EINPUT, "pbt.interval: must be a whole number of epochs >= 1, got %g",
                       o->interval);
    if (!(cfg->max_budget > o->interval))
        return tl_fail(err, TL_EINPUT,
                       "study.max_budget: %g leaves no ready point with pbt.interval = %g (make "
                       "max_budget (default train.epochs) larger than the interval)",
                       cfg->max_budget, o->interval);
    if (!(o->quantile > 0 && o->quantile <= 0.5))
        return tl_fail(err, TL_EINPUT, "pbt.quantile: must be in (0, 0.5], got %g", o->quantile);
    if (o->nfactors < 1 || o->nfactors > 4)
        return tl_fail(err, TL_EINPUT, "pbt.factors: need 1 to 4 factors, got %d", o->nfactors);
    for (int k = 0; k < o->nfactors; k++)
        if (!(o->factors[k] > 0) || !isfinite(o->factors[k]))
            return tl_fail(err, TL_EINPUT, "pbt.factors: factor %d must be > 0, got %g", k + 1,
                           o->factors[k]);
    if (!(o->resample_probability >= 0 && o->resample_probability <= 1))
        return tl_fail(err, TL_EINPUT, "pbt.resample_probability: must be in [0, 1], got %g",
                       o->resample_probability);
    return 0;
}

/* The settings, then the space: no parameter the options' untunable hook
 * names (a member's state could not be copied into another member). */
static int pbt_validate(const void *opts, const study_config *cfg, const space *sp, tl_err *err)
{
    pbt_options o = options_of(opts);
    int rc = check_settings(&o, cfg, err);
    for (int i = 0; !rc && o.untunable && i < sp->n; i++) {
        const char *why = o.untunable(o.untunable_ud, sp->p[i].name);
        if (why)
            rc = tl_fail(err, TL_EINPUT,
                         "space: %s: with study.scheduler = pbt %s (tune them with another "
                         "scheduler, or fix them)", sp->p[i].name, why);
    }
    return rc;
}

static int pbt_init(void **self, const void *opts, const study_config *cfg, const space *sp,
                    tl_err *err)
{
    int rc = pbt_validate(opts, cfg, sp, err);
    if (rc)
        return rc;
    pbt_options o = options_of(opts);
    pbt *p = calloc(1, sizeof *p);
    if (!p)
        return tl_fail(err, TL_ERUNTIME, "pbt: out of memory");
    p->opt = o;
    p->population = o.population < cfg->trials ? o.population : cfg->trials;
    p->interval = (int)o.interval;
    p->final = (int)ceil(cfg->max_budget - 1e-9);
    p->sync = o.sync != 0;
    p->quantile = o.quantile;
    p->buf = malloc(PBT_LINEAGE_MAX);
    p->lin = calloc((size_t)p->population, sizeof *p->lin);
    p->rank = calloc((size_t)p->population, sizeof *p->rank);
    p->cand = calloc((size_t)p->population, sizeof *p->cand);
    p->copying = malloc((size_t)p->population * sizeof *p->copying);
    if (!p->buf || !p->lin || !p->rank || !p->cand || !p->copying) {
        free(p->buf);
        free(p->lin);
        free(p->rank);
        free(p->cand);
        free(p->copying);
        free(p);
        return tl_fail(err, TL_ERUNTIME, "pbt: out of memory");
    }
    for (int k = 0; k < p->population; k++)
        p->copying[k] = -1;
    *self = p;
    return 0;
}

static void pbt_free(void *self)
{
    pbt *p = self;
    if (!p)
        return;
    for (int k = 0; k < p->population; k++)
        pbt_lineage_free(&p->lin[k]);
    free(p->lin);
    free(p->rank);
    free(p->cand);
    free(p->copying);
    free(p->buf);
    free(p);
}


static int pbt_report(void *self, const sched_ctx *ctx, const trial *t, int step, double value,
                      int *decision, int *exploit_src, tl_err *err)
{
    pbt *p = self;
    *decision = DECIDE_CONTINUE;
    *exploit_src = -1;
    int m = t->number, rc;
    if (m >= p->population)
        return 0;
    p->copying[m] = -1; /* reporting again: any copy it was told to make is done */
    if ((rc = pbts_setup(p, ctx, err)) || (rc = pbts_load_all(p, ctx, err)))
        return rc;
    pbt_lineage *l = &p->lin[m];
    if (l->n == 0) /* created before this scheduler saw it: start now */
        return 0;
    const pbt_entry *E = pbts_latest(p, m);
    int idx = l->n;
    rng g;
    pbts_entry_rng(ctx->cfg, m, idx, &g);
    int nq, n;

    /* sync: a bottom member that had paused before its generation was
     * complete copies at its first report after resuming */
    if (p->sync && p->mode != PBT_MODE_EXPLORE_ONLY && E && E->kind == PBT_READY &&
        step > E->step && pbts_steps_after(t, E->step) == 1 && E->step < p->final &&
        pbts_generation_complete(p, ctx, E->step, m)) {
        int r = E->step;
        n = pbts_rank_members(p, ctx, r, -1, NAN, &nq);
        int at = pbts_rank_of(p, n, m);
        if (n >= 2 && at >= n - nq) {
            if ((rc = pbts_exploit_bottom(p, ctx, n, nq, m, r, step, value, 0, &g, decision,
                                          exploit_src, err)) ||
                *decision == DECIDE_EXPLOIT)
                return rc;
        }
    }

    if (!E || step < E->pos + p->interval || step >= p->final)
        return 0;

    /* a ready point: pause here (the job may have been handed out with a
     * bigger budget: enqueued and re-run members) unless exploiting */
    *decision = DECIDE_PAUSE;
    pbt_entry e;
    pbts_entry_new(&e, PBT_READY, t->values, ctx->sp);
    e.step = e.pos = step;
    e.value = value;
    e.ready = 1;

    if (!p->sync) {
        n = pbts_rank_members(p, ctx, -1, m, value, &nq);
        int at = pbts_rank_of(p, n, m);
        if (n >= 2 && at >= n - nq && p->mode != PBT_MODE_EXPLORE_ONLY) {
            if ((rc = pbts_exploit_bottom(p, ctx, n, nq, m, -1, step, value, 1, &g, decision,
                                          exploit_src, err)) ||
                *decision == DECIDE_EXPLOIT)
                return rc;
        }
        if ((rc = pbt_lineage_append(l, &e, err)) || (rc = pbts_save_lineage(p, ctx, m, err)))
            return rc;
        if (n >= 2 && at >= n - nq && p->mode == PBT_MODE_EXPLORE_ONLY)
            return pbts_explore_own(p, ctx, m, err);
        return 0;
    }

    /* sync: the last member to arrive decides for the generation */
    if (!pbts_generation_complete(p, ctx, step, m)) {
        if ((rc = pbt_lineage_append(l, &e, err)))
            return rc;
        return pbts_save_lineage(p, ctx, m, err);
    }
    n = pbts_rank_members(p, ctx, step, m, value, &nq);
    int at = pbts_rank_of(p, n, m);
    if (p->mode == PBT_MODE_EXPLORE_ONLY) {
        if ((rc = pbt_lineage_append(l, &e, err)) || (rc = pbts_save_lineage(p, ctx, m, err)))
            return rc;
        for (int i = n - nq; n >= 2 && i < n; i++) {
            int k = p->rank[i].member;
            if ((rc = pbts_explore_own(p, ctx, k, err)))
                return rc;
        }
        return 0;
    }
    if (n >= 2 && at >= n - nq) {
        if ((rc = pbts_exploit_bottom(p, ctx, n, nq, m, step, step, value, 1, &g, decision,
                                      exploit_src, err)) ||
            *decision == DECIDE_EXPLOIT)
            return rc;
    }
    if ((rc = pbt_lineage_append(l, &e, err)))
        return rc;
    return pbts_save_lineage(p, ctx, m, err);
}
static int pbt_next(void *self, const sched_ctx *ctx, sched_next *out, tl_err *err)
{
    pbt *p = self;
    int rc;
    out->trial = -1;
    if ((rc = pbts_setup(p, ctx, err)))
        return rc;
    if (ctx->ntrials < p->population) {
        out->kind = SCHED_NEW;
        out->budget = p->interval < p->final ? p->interval : p->final;
        return 0;
    }
    if ((rc = pbts_load_all(p, ctx, err)))
        return rc;
    int running = 0, npaused = 0, G = -1;
    for (int k = 0; k < p->population; k++) {
        int st = ctx->trials[k]->state;
        running += st == TRIAL_RUNNING || st == TRIAL_WAITING;
        npaused += st == TRIAL_PAUSED;
        if (pbts_member_live(ctx, k) && (G < 0 || pbts_position(p, k) < G))
            G = pbts_position(p, k);
    }
    int pick = -1;
    if (!p->sync) {
        /* the least advanced first; among equals the best first, so that
         * the bottom members reach the ready point after the top ones and
         * find them there to copy */
        ranked best = { -1, NAN };
        for (int k = 0; k < p->population; k++) {
            if (!pbts_resumable(p, ctx, k))
                continue;
            double v = pbts_current_value(p, k);
            ranked r = { k, ctx->direction == STUDY_MAXIMIZE ? -v : v };
            if (pick < 0 || pbts_position(p, k) < pbts_position(p, pick) ||
                (pbts_position(p, k) == pbts_position(p, pick) && pbts_cmp_ranked(&r, &best) < 0)) {
                pick = k;
                best = r;
            }
        }
    } else if (npaused) {
        int nq = 0, n = 0, any_pending = 0;
        if (G > 0 && p->mode != PBT_MODE_EXPLORE_ONLY && pbts_generation_complete(p, ctx, G, -1))
            n = pbts_rank_members(p, ctx, G, -1, NAN, &nq);
        for (int k = 0; n && k < p->population; k++)
            if (pbts_pending(p, ctx, k, G, n, nq)) {
                any_pending = 1;
                if (pick < 0 && pbts_resumable(p, ctx, k))
                    pick = k;
            }
        for (int k = 0; pick < 0 && k < p->population; k++) {
            if (!pbts_resumable(p, ctx, k) || pbts_position(p, k) != G)
                continue;
            int at = n ? pbts_rank_of(p, n, k) : -1;
            if (any_pending && at >= 0 && at < nq)
                continue; /* a source: stays paused until the bottom has copied */
            pick = k;
        }
        if (pick < 0 && !running) /* cannot happen; never deadlock */
            for (int k = 0; pick < 0 && k < p->population; k++)
                if (pbts_resumable(p, ctx, k))
                    pick = k;
    }
    if (pick >= 0) {
        int pos = pbts_position(p, pick);
        out->kind = SCHED_PROMOTE;
        out->trial = pick;
        out->budget = pos + p->interval < p->final ? pos + p->interval : p->final;
        return 0;
    }
    out->kind = running ? SCHED_WAIT : SCHED_NONE;
    return 0;
}

static int pbt_started(void *self, const sched_ctx *ctx, const trial *t, const sched_next *how,
                       tl_err *err)
{
    pbt *p = self;
    int m = t->number, rc;
    if (m >= p->population)
        return 0;
    if ((rc = pbts_setup(p, ctx, err)))
        return rc;
    if (how->kind != SCHED_NEW)
        return 0;
    pbt_lineage *l = &p->lin[m];
    if ((rc = pbts_load_lineage(p, ctx, m, err)))
        return rc;
    pbt_entry e; /* a requeued member starts over */
    pbts_entry_new(&e, l->n ? PBT_RESTART : PBT_START, t->values, ctx->sp);
    if ((rc = pbt_lineage_append(l, &e, err)) || (rc = pbts_save_lineage(p, ctx, m, err)))
        return rc;
    return e.kind == PBT_RESTART ? study_set_parent(ctx->s, m, -1, err) : 0;
}

static int pbt_tell(void *self, const sched_ctx *ctx, const trial *t, tl_err *err)
{
    pbt *p = self;
    int m = t->number, rc;
    if (m >= p->population)
        return 0;
    p->copying[m] = -1;
    if (t->state != TRIAL_COMPLETE)
        return 0;
    pbt_lineage *l = &p->lin[m];
    if ((rc = pbts_load_lineage(p, ctx, m, err)))
        return rc;
    pbt_entry e;
    pbts_entry_new(&e, PBT_FINAL, t->values, ctx->sp);
    e.step = e.pos = trial_last_step(t) > 0 ? trial_last_step(t) : p->final;
    e.value = t->value;
    if ((rc = pbt_lineage_append(l, &e, err)))
        return rc;
    return pbts_save_lineage(p, ctx, m, err);
}

/* Member t died while running after a pause and is PAUSED again as it was
 * at that pause (its state is the one saved then): forget the entries its
 * lost run made (steps after the pause's) and give it back the values and
 * the parent it had then. */
static int pbt_requeued(void *self, const sched_ctx *ctx, const trial *t, tl_err *err)
{
    pbt *p = self;
    int m = t->number, rc;
    if (m >= p->population)
        return 0;
    p->copying[m] = -1;
    if ((rc = pbts_setup(p, ctx, err)))
        return rc;
    pbt_lineage *l = &p->lin[m];
    if ((rc = pbts_load_lineage(p, ctx, m, err)))
        return rc;
    if (l->n == 0)
        return 0;
    int last = trial_last_step(t), n = l->n;
    while (n > 1 && l->e[n - 1].step > last)
        n--;
    if (n != l->n) {
        l->n = n;
        if ((rc = pbts_save_lineage(p, ctx, m, err)))
            return rc;
    }
    int parent = -1;
    for (int j = 0; j < n; j++)
        if (l->e[j].kind == PBT_EXPLOIT)
            parent = l->e[j].src;
        else if (l->e[j].kind == PBT_RESTART)
            parent = -1;
    if ((rc = study_set_values(ctx->s, m, l->e[n - 1].values, err)) ||
        (rc = study_set_parent(ctx->s, m, parent, err)))
        return rc;
    return 0;
}

const scheduler_vt sched_pbt_vt = {
    .name = "pbt",
    .validate = pbt_validate,
    .init = pbt_init,
    .next = pbt_next,
    .report = pbt_report,
    .started = pbt_started,
    .tell = pbt_tell,
    .free = pbt_free,
    .requeued = pbt_requeued,
};