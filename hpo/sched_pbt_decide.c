/* hpo/sched_pbt_decide.c: what population-based training decides (see
 * pbt.h for the algorithm, the modes and what is stored): the explore step
 * (pbt_explore, pbt_live_mask, the mode names), the settings the study
 * holds, the members' lineages read from and written to their trial
 * attributes, and the decisions at a ready point: ranking the members,
 * whether a generation is complete, drawing a source among the top
 * quantile, the exploit (values copied and explored, parent set, entry
 * appended) and explore_only's own perturbation.
 *
 * Does not: choose what runs next or answer a report (sched_pbt.c's hooks
 * call these), copy states (the objective does on DECIDE_EXPLOIT), know
 * what the parameters mean, print.  All draws come from generators seeded
 * from (study seed, member, entry index), so the decisions do not depend
 * on thread timing.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hpo/sched_pbt_internal.h"

static const char *const mode_names[PBT_MODE_COUNT] = { "pbt", "exploit_only", "explore_only" };

const char *pbt_mode_str(int mode)
{
    return mode >= 0 && mode < PBT_MODE_COUNT ? mode_names[mode] : "?";
}

int pbt_mode_parse(const char *name, int *mode, tl_err *err)
{
    for (int m = 0; m < PBT_MODE_COUNT; m++)
        if (name && strcmp(name, mode_names[m]) == 0) {
            *mode = m;
            return 0;
        }
    return tl_fail(err, TL_EINPUT, "pbt.mode: unknown mode '%s' (valid: pbt, exploit_only, "
                   "explore_only)", name ? name : "");
}

void pbt_live_mask(const space *sp, const char *list, int *live)
{
    for (int i = 0; i < sp->n; i++)
        live[i] = 0;
    const char *p = list ? list : "";
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *q = p;
        while (*q && *q != ',')
            q++;
        const char *e = q;
        while (e > p && e[-1] == ' ')
            e--;
        size_t len = (size_t)(e - p);
        if (len == 1 && *p == '*') {
            for (int i = 0; i < sp->n; i++)
                live[i] = 1;
        } else if (len > 0) {
            for (int i = 0; i < sp->n; i++)
                if (strlen(sp->p[i].name) == len && strncmp(sp->p[i].name, p, len) == 0)
                    live[i] = 1;
        }
        p = q;
    }
}

/* Index of a value one up or down (random; inward at a bound) in [lo, hi]. */
static double neighbour(rng *r, double v, double lo, double hi)
{
    int up = (int)rng_below(r, 2);
    if (v <= lo)
        up = 1;
    else if (v >= hi)
        up = 0;
    double w = up ? v + 1 : v - 1;
    return w < lo ? lo : w > hi ? hi : w;
}

int pbt_explore(const space *sp, const int *live, const pbt_options *o, rng *r,
                double *values, tl_err *err)
{
    int nf = o->nfactors;
    for (int i = 0; i < sp->n; i++) {
        const param *p = &sp->p[i];
        if (!live[i] || isnan(values[i]))
            continue;
        if (rng_uniform(r) < o->resample_probability) {
            values[i] = space_from_unit(sp, i, rng_uniform(r));
            continue;
        }
        if (p->kind == PARAM_FLOAT) {
            if (nf < 1)
                continue;
            double f = o->factors[rng_below(r, (uint64_t)nf)];
            double v = values[i] * f;
            values[i] = v < p->low ? p->low : v > p->high ? p->high : v;
        } else if (p->kind == PARAM_INT) {
            values[i] = neighbour(r, values[i], p->low, p->high);
        } else if (p->ncat > 1) {
            values[i] = neighbour(r, values[i], 0, p->ncat - 1);
        }
    }
    /* a categorical that moved may switch children on: give them a value */
    for (int i = 0; i < sp->n; i++)
        if (isnan(values[i]) && space_is_active(sp, values, i))
            values[i] = space_from_unit(sp, i, rng_uniform(r));
    space_apply_conditions(sp, values);
    int rc = space_check_values(sp, values, err);
    if (rc)
        tl_prefix(err, "pbt explore");
    return rc;
}

/* Reads (once per process) the live list and the mode; stores the resolved
 * live list and the note when the study has none yet. */
int pbts_setup(pbt *p, const sched_ctx *ctx, tl_err *err)
{
    if (p->ready)
        return 0;
    const space *sp = ctx->sp;
    char *b = p->buf;
    int rc;
    if (study_attr_get(ctx->s, PBT_ATTR_LIVE, b, PBT_LINEAGE_MAX) != 1) {
        snprintf(b, PBT_LINEAGE_MAX, "%s", PBT_LIVE_DEFAULT);
        pbt_live_mask(sp, b, p->live);
        size_t u = 0;
        b[0] = 0;
        for (int i = 0; i < sp->n; i++)
            if (p->live[i])
                u += (size_t)snprintf(b + u, PBT_LINEAGE_MAX - u, "%s%s", u ? "," : "",
                                      sp->p[i].name);
        if ((rc = study_attr_set(ctx->s, PBT_ATTR_LIVE, b, err)))
            return rc;
    }
    pbt_live_mask(sp, b, p->live);
    p->mode = PBT_MODE_FULL;
    if (study_attr_get(ctx->s, PBT_ATTR_MODE, b, PBT_LINEAGE_MAX) == 1 &&
        (rc = pbt_mode_parse(b, &p->mode, err)))
        return rc;
    p->keep_values = 0;
    if (study_attr_get(ctx->s, PBT_ATTR_KEEP_VALUES, b, PBT_LINEAGE_MAX) == 1) {
        if (strcmp(b, "0") && strcmp(b, "1"))
            return tl_fail(err, TL_EINPUT, "%s: must be 0 or 1, got '%s'", PBT_ATTR_KEEP_VALUES,
                           b);
        p->keep_values = b[0] == '1';
    }
    if (study_attr_get(ctx->s, PBT_ATTR_NOTE, b, PBT_LINEAGE_MAX) != 1) {
        size_t u = (size_t)snprintf(b, PBT_LINEAGE_MAX, "PBT (%s, %s): explored at each ready "
                                    "point:", p->sync ? "synchronous" : "asynchronous",
                                    pbt_mode_str(p->mode));
        int nl = 0, nf = 0;
        for (int i = 0; i < sp->n; i++)
            if (p->live[i]) {
                u += (size_t)snprintf(b + u, PBT_LINEAGE_MAX - u, " %s", sp->p[i].name);
                nl++;
            }
        if (!nl)
            u += (size_t)snprintf(b + u, PBT_LINEAGE_MAX - u, " none");
        u += (size_t)snprintf(b + u, PBT_LINEAGE_MAX - u,
                              "; fixed per lineage (copied from the source on exploit):");
        for (int i = 0; i < sp->n; i++)
            if (!p->live[i]) {
                u += (size_t)snprintf(b + u, PBT_LINEAGE_MAX - u, " %s", sp->p[i].name);
                nf++;
            }
        if (!nf)
            snprintf(b + u, PBT_LINEAGE_MAX - u, " none");
        if ((rc = study_attr_set(ctx->s, PBT_ATTR_NOTE, b, err)))
            return rc;
    }
    p->ready = 1;
    return 0;
}

/* Re-reads member m's lineage from its trial.  Returns 0 or an error code. */
int pbts_load_lineage(pbt *p, const sched_ctx *ctx, int m, tl_err *err)
{
    pbt_lineage_free(&p->lin[m]);
    return pbt_lineage_load(ctx->s, m, p->buf, PBT_LINEAGE_MAX, &p->lin[m], err);
}

/* Re-reads every member's lineage. */
int pbts_load_all(pbt *p, const sched_ctx *ctx, tl_err *err)
{
    for (int k = 0; k < p->population; k++) {
        if (k >= ctx->ntrials) {
            pbt_lineage_free(&p->lin[k]);
            continue;
        }
        int rc = pbts_load_lineage(p, ctx, k, err);
        if (rc)
            return rc;
    }
    return 0;
}

int pbts_save_lineage(pbt *p, const sched_ctx *ctx, int m, tl_err *err)
{
    char *json = pbt_lineage_to_json(ctx->sp, &p->lin[m]);
    if (!json)
        return tl_fail(err, TL_ERUNTIME, "pbt: out of memory");
    if (strlen(json) + 1 >= PBT_LINEAGE_MAX) {
        free(json);
        return tl_fail(err, TL_ERUNTIME, "pbt: trial %d: lineage exceeds %d bytes", m,
                       PBT_LINEAGE_MAX);
    }
    int rc = study_trial_attr_set(ctx->s, m, PBT_ATTR_LINEAGE, json, err);
    free(json);
    return rc;
}

int pbts_member_live(const sched_ctx *ctx, int k)
{
    int st = ctx->trials[k]->state;
    return st == TRIAL_RUNNING || st == TRIAL_PAUSED || st == TRIAL_WAITING;
}

/* Still part of the population's past rankings: not failed or pruned (a
 * member that has completed since still counts in the generations it went
 * through). */
static int member_counted(const sched_ctx *ctx, int k)
{
    int st = ctx->trials[k]->state;
    return st != TRIAL_FAILED && st != TRIAL_PRUNED;
}

/* The latest entry that is not a final one, or NULL. */
const pbt_entry *pbts_latest(const pbt *p, int k)
{
    const pbt_lineage *l = &p->lin[k];
    for (int j = l->n - 1; j >= 0; j--)
        if (l->e[j].kind != PBT_FINAL)
            return &l->e[j];
    return NULL;
}

/* Position of member k's state (start of its current segment). */
int pbts_position(const pbt *p, int k)
{
    const pbt_entry *e = pbts_latest(p, k);
    return e ? e->pos : 0;
}

/* The latest ready-point entry of k (at step `at` when at >= 0), or NULL. */
static const pbt_entry *ready_entry(const pbt *p, int k, int at)
{
    const pbt_lineage *l = &p->lin[k];
    for (int j = l->n - 1; j >= 0; j--)
        if (l->e[j].ready && (at < 0 || l->e[j].step == at))
            return &l->e[j];
    return NULL;
}

/* The value that stands for member k's current weights in asynchronous
 * ranking: its latest ready-point value, or, when it copied at that point,
 * the value its source had reported for the copied state. */
double pbts_current_value(const pbt *p, int k)
{
    const pbt_entry *e = ready_entry(p, k, -1);
    if (!e)
        return NAN;
    if (e->kind == PBT_EXPLOIT && e->src >= 0 && e->src < p->population &&
        e->src_entry >= 0 && e->src_entry < p->lin[e->src].n &&
        p->lin[e->src].e[e->src_entry].ready)
        return p->lin[e->src].e[e->src_entry].value;
    return e->value;
}

int pbts_cmp_ranked(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    int nx = isnan(x->key), ny = isnan(y->key);
    if (nx != ny)
        return nx - ny;
    if (!nx && x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return x->member - y->member;
}

/* Ranks the live members by their value at the ready point of step `at`
 * (sync), or (at < 0, async) by the value of their current weights
 * (current_value); member m counts with `mvalue` when m >= 0.  Returns the
 * number ranked (p->rank, best first) and sets *nq to the quantile size. */
int pbts_rank_members(pbt *p, const sched_ctx *ctx, int at, int m, double mvalue, int *nq)
{
    int n = 0;
    for (int k = 0; k < p->population && k < ctx->ntrials; k++) {
        double v;
        if (k == m) {
            v = mvalue;
        } else if (at < 0) {
            if (!pbts_member_live(ctx, k) || !ready_entry(p, k, -1))
                continue;
            v = pbts_current_value(p, k);
        } else {
            const pbt_entry *e = ready_entry(p, k, at);
            if (!member_counted(ctx, k) || !e)
                continue;
            v = e->value;
        }
        p->rank[n].member = k;
        p->rank[n].key = ctx->direction == STUDY_MAXIMIZE ? -v : v;
        n++;
    }
    qsort(p->rank, (size_t)n, sizeof *p->rank, pbts_cmp_ranked);
    int q = (int)ceil(n * p->quantile - 1e-9);
    if (q > n / 2)
        q = n / 2;
    *nq = q;
    return n;
}

/* Rank of member k among the n ranked, or -1. */
int pbts_rank_of(const pbt *p, int n, int k)
{
    for (int i = 0; i < n; i++)
        if (p->rank[i].member == k)
            return i;
    return -1;
}

/* 1 when the whole population exists and every member other than m that
 * is still training (not failed, not finished) has a ready entry at step r. */
int pbts_generation_complete(const pbt *p, const sched_ctx *ctx, int r, int m)
{
    if (ctx->ntrials < p->population)
        return 0;
    for (int k = 0; k < p->population && k < ctx->ntrials; k++)
        if (k != m && member_counted(ctx, k) && ctx->trials[k]->state != TRIAL_COMPLETE &&
            !ready_entry(p, k, r))
            return 0;
    return 1;
}

/* 1 when trial k's state is kept in memory (a copy can be made from it). */
static int state_kept(study *s, int k)
{
    return study_state_peek(s, k) != NULL;
}

void pbts_entry_rng(const study_config *cfg, int m, int index, rng *r)
{
    rng_seed(r, cfg->seed, PBT_STREAM ^ ((uint64_t)m << 24) ^ (uint64_t)index);
}

/* Draws a source among the top nq of the n ranked for member m: PAUSED,
 * state in memory, and (sync) still at the ready entry of step r, or
 * (async) not behind step `step`.  Returns the member or -1. */
static int pick_source(pbt *p, const sched_ctx *ctx, int n, int nq, int m, int r, int step,
                       rng *g)
{
    int *cand = p->cand, nc = 0;
    for (int i = 0; i < nq && i < n; i++) {
        int k = p->rank[i].member;
        if (k == m || ctx->trials[k]->state != TRIAL_PAUSED)
            continue;
        const pbt_entry *e = pbts_latest(p, k);
        if (!e)
            continue;
        if (p->sync ? (!e->ready || e->step != r || e->kind != PBT_READY) : e->pos < step)
            continue;
        if (!state_kept(ctx->s, k))
            continue;
        cand[nc++] = k;
    }
    return nc ? cand[rng_below(g, (uint64_t)nc)] : -1;
}

/* Fills *e as a new entry of kind with values (NAN past the space's
 * parameters), value NAN and no source; the caller sets the rest. */
void pbts_entry_new(pbt_entry *e, int kind, const double *values, const space *sp)
{
    memset(e, 0, sizeof *e);
    e->kind = kind;
    e->value = NAN;
    e->src = e->src_entry = -1;
    memcpy(e->values, values, (size_t)sp->n * sizeof(double));
    for (int i = sp->n; i < SPACE_MAX_PARAMS; i++)
        e->values[i] = NAN;
}

/* Member m copies src: values = src's values (m's own with keep_values),
 * explored in full mode; sets values and parent, appends the exploit
 * entry. */
static int do_exploit(pbt *p, const sched_ctx *ctx, int m, int src, int step, double value,
                      int ready, rng *g, tl_err *err)
{
    pbt_entry e;
    pbts_entry_new(&e, PBT_EXPLOIT, ctx->trials[p->keep_values ? m : src]->values, ctx->sp);
    e.step = step;
    e.pos = pbts_position(p, src);
    e.value = value;
    e.ready = ready;
    e.src = src;
    e.src_entry = p->lin[src].n - 1;
    int rc;
    if (p->mode == PBT_MODE_FULL && (rc = pbt_explore(ctx->sp, p->live, &p->opt, g, e.values, err)))
        return rc;
    if ((rc = pbt_lineage_append(&p->lin[m], &e, err)) ||
        (rc = pbts_save_lineage(p, ctx, m, err)) ||
        (rc = study_set_values(ctx->s, m, e.values, err)) ||
        (rc = study_set_parent(ctx->s, m, src, err)))
        return rc;
    p->copying[m] = src;
    return 0;
}

/* explore_only: member k perturbs its own values (no copy); the values go
 * into its latest entry (the segment it is about to train). */
int pbts_explore_own(pbt *p, const sched_ctx *ctx, int k, tl_err *err)
{
    pbt_lineage *l = &p->lin[k];
    if (l->n == 0)
        return 0;
    pbt_entry *e = &l->e[l->n - 1];
    rng g;
    pbts_entry_rng(ctx->cfg, k, l->n + 1000000, &g);
    int rc;
    if ((rc = pbt_explore(ctx->sp, p->live, &p->opt, &g, e->values, err)) ||
        (rc = pbts_save_lineage(p, ctx, k, err)) ||
        (rc = study_set_values(ctx->s, k, e->values, err)))
        return rc;
    return 0;
}

/* Member m, in the bottom nq of the n ranked, copies a source drawn by
 * pick_source (r, step as there; ready as do_exploit's) when there is
 * one: *decision = DECIDE_EXPLOIT, *exploit_src = the source.  Returns 0
 * (outputs untouched when there is no source) or an error code. */
int pbts_exploit_bottom(pbt *p, const sched_ctx *ctx, int n, int nq, int m, int r, int step,
                        double value, int ready, rng *g, int *decision, int *exploit_src,
                        tl_err *err)
{
    int src = pick_source(p, ctx, n, nq, m, r, step, g);
    if (src < 0)
        return 0;
    int rc = do_exploit(p, ctx, m, src, step, value, ready, g, err);
    if (rc)
        return rc;
    *decision = DECIDE_EXPLOIT;
    *exploit_src = src;
    return 0;
}

/* Number of reported steps of t greater than `after`. */
int pbts_steps_after(const trial *t, int after)
{
    int c = 0;
    for (int k = 0; k < t->nsteps; k++)
        c += t->steps[k] > after;
    return c;
}


/* sync: 1 when member k must still copy for generation r (bottom of r's
 * ranking, has not reported since its ready entry at r).  Needs p->rank
 * ranked for r (n, nq). */
int pbts_pending(const pbt *p, const sched_ctx *ctx, int k, int r, int n, int nq)
{
    const pbt_entry *E = pbts_latest(p, k);
    if (!pbts_member_live(ctx, k) || !E || E->kind != PBT_READY || E->step != r ||
        pbts_steps_after(ctx->trials[k], r) != 0)
        return 0;
    int at = pbts_rank_of(p, n, k);
    return n >= 2 && at >= n - nq;
}

/* 1 when some member is about to copy k's kept state: k must stay paused. */
static int being_copied(const pbt *p, int k)
{
    for (int m = 0; m < p->population; m++)
        if (p->copying[m] == k)
            return 1;
    return 0;
}

/* A paused member that may be resumed now. */
int pbts_resumable(const pbt *p, const sched_ctx *ctx, int k)
{
    return ctx->trials[k]->state == TRIAL_PAUSED && !being_copied(p, k);
}
