/* hpo/sched_pbt.c: population-based training as a scheduler (see pbt.h for
 * the algorithm, the modes and what is stored), and its explore step.
 *
 * Does: check its options and the space (validate), create the members,
 * cut their training into segments of `interval` (PROMOTE of paused
 * members), rank them at ready points,
 * answer DECIDE_EXPLOIT with a source and set the explored values and the
 * parent, keep the lineage in trial attributes.  Every hook re-reads the
 * lineages from storage, so `self` holds only settings and scratch space
 * and a resumed process rebuilds everything.  Does not: copy states (the
 * objective does on DECIDE_EXPLOIT), know what the parameters mean,
 * print.  All draws come from generators seeded from (study seed, member,
 * entry index), so the decisions do not depend on thread timing.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hpo/pbt.h"
#include "hpo/scheduler.h"

#define PBT_STREAM 0x5042540000000000ULL /* "PBT" */

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

/* ---- the scheduler ---- */

typedef struct ranked {
    int member;
    double key;   /* smaller is better; NAN last */
} ranked;

typedef struct pbt {
    pbt_options opt;     /* as given (explore reads factors and resample_probability) */
    int population;      /* min(opt.population, trials) */
    int interval;
    int final;           /* ceil(max_budget) */
    int sync;
    double quantile;
    int ready;           /* settings read from the study */
    int mode;
    int keep_values;     /* exploit copies the state only (the toy of sec. 4.1) */
    int live[SPACE_MAX_PARAMS];
    char *buf;           /* (PBT_LINEAGE_MAX) attribute scratch */
    pbt_lineage *lin;    /* (population) re-read by every hook */
    ranked *rank;        /* (population) */
    int *cand;           /* (population) exploit sources to draw from */
    int *copying;        /* (population) copying[m] = the source member m was just told to copy
                            (the objective copies after the report returns, outside the lock),
                            -1; the source is not resumed until m's next report or tell */
} pbt;

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

/* Reads (once per process) the live list and the mode; stores the resolved
 * live list and the note when the study has none yet. */
static int setup(pbt *p, const sched_ctx *ctx, tl_err *err)
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
static int load_lineage(pbt *p, const sched_ctx *ctx, int m, tl_err *err)
{
    pbt_lineage_free(&p->lin[m]);
    return pbt_lineage_load(ctx->s, m, p->buf, PBT_LINEAGE_MAX, &p->lin[m], err);
}

/* Re-reads every member's lineage. */
static int load_all(pbt *p, const sched_ctx *ctx, tl_err *err)
{
    for (int k = 0; k < p->population; k++) {
        if (k >= ctx->ntrials) {
            pbt_lineage_free(&p->lin[k]);
            continue;
        }
        int rc = load_lineage(p, ctx, k, err);
        if (rc)
            return rc;
    }
    return 0;
}

static int save_lineage(pbt *p, const sched_ctx *ctx, int m, tl_err *err)
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

static int member_live(const sched_ctx *ctx, int k)
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
static const pbt_entry *latest(const pbt *p, int k)
{
    const pbt_lineage *l = &p->lin[k];
    for (int j = l->n - 1; j >= 0; j--)
        if (l->e[j].kind != PBT_FINAL)
            return &l->e[j];
    return NULL;
}

/* Position of member k's state (start of its current segment). */
static int position(const pbt *p, int k)
{
    const pbt_entry *e = latest(p, k);
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
static double current_value(const pbt *p, int k)
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

static int cmp_ranked(const void *a, const void *b)
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
static int rank_members(pbt *p, const sched_ctx *ctx, int at, int m, double mvalue, int *nq)
{
    int n = 0;
    for (int k = 0; k < p->population && k < ctx->ntrials; k++) {
        double v;
        if (k == m) {
            v = mvalue;
        } else if (at < 0) {
            if (!member_live(ctx, k) || !ready_entry(p, k, -1))
                continue;
            v = current_value(p, k);
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
    qsort(p->rank, (size_t)n, sizeof *p->rank, cmp_ranked);
    int q = (int)ceil(n * p->quantile - 1e-9);
    if (q > n / 2)
        q = n / 2;
    *nq = q;
    return n;
}

/* Rank of member k among the n ranked, or -1. */
static int rank_of(const pbt *p, int n, int k)
{
    for (int i = 0; i < n; i++)
        if (p->rank[i].member == k)
            return i;
    return -1;
}

/* 1 when the whole population exists and every member other than m that
 * is still training (not failed, not finished) has a ready entry at step r. */
static int generation_complete(const pbt *p, const sched_ctx *ctx, int r, int m)
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

static void entry_rng(const study_config *cfg, int m, int index, rng *r)
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
        const pbt_entry *e = latest(p, k);
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
static void entry_new(pbt_entry *e, int kind, const double *values, const space *sp)
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
    entry_new(&e, PBT_EXPLOIT, ctx->trials[p->keep_values ? m : src]->values, ctx->sp);
    e.step = step;
    e.pos = position(p, src);
    e.value = value;
    e.ready = ready;
    e.src = src;
    e.src_entry = p->lin[src].n - 1;
    int rc;
    if (p->mode == PBT_MODE_FULL && (rc = pbt_explore(ctx->sp, p->live, &p->opt, g, e.values, err)))
        return rc;
    if ((rc = pbt_lineage_append(&p->lin[m], &e, err)) || (rc = save_lineage(p, ctx, m, err)) ||
        (rc = study_set_values(ctx->s, m, e.values, err)) ||
        (rc = study_set_parent(ctx->s, m, src, err)))
        return rc;
    p->copying[m] = src;
    return 0;
}

/* explore_only: member k perturbs its own values (no copy); the values go
 * into its latest entry (the segment it is about to train). */
static int explore_own(pbt *p, const sched_ctx *ctx, int k, tl_err *err)
{
    pbt_lineage *l = &p->lin[k];
    if (l->n == 0)
        return 0;
    pbt_entry *e = &l->e[l->n - 1];
    rng g;
    entry_rng(ctx->cfg, k, l->n + 1000000, &g);
    int rc;
    if ((rc = pbt_explore(ctx->sp, p->live, &p->opt, &g, e->values, err)) ||
        (rc = save_lineage(p, ctx, k, err)) || (rc = study_set_values(ctx->s, k, e->values, err)))
        return rc;
    return 0;
}

/* Member m, in the bottom nq of the n ranked, copies a source drawn by
 * pick_source (r, step as there; ready as do_exploit's) when there is
 * one: *decision = DECIDE_EXPLOIT, *exploit_src = the source.  Returns 0
 * (outputs untouched when there is no source) or an error code. */
static int exploit_bottom(pbt *p, const sched_ctx *ctx, int n, int nq, int m, int r, int step,
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
static int steps_after(const trial *t, int after)
{
    int c = 0;
    for (int k = 0; k < t->nsteps; k++)
        c += t->steps[k] > after;
    return c;
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
    if ((rc = setup(p, ctx, err)) || (rc = load_all(p, ctx, err)))
        return rc;
    pbt_lineage *l = &p->lin[m];
    if (l->n == 0) /* created before this scheduler saw it: start now */
        return 0;
    const pbt_entry *E = latest(p, m);
    int idx = l->n;
    rng g;
    entry_rng(ctx->cfg, m, idx, &g);
    int nq, n;

    /* sync: a bottom member that had paused before its generation was
     * complete copies at its first report after resuming */
    if (p->sync && p->mode != PBT_MODE_EXPLORE_ONLY && E && E->kind == PBT_READY &&
        step > E->step && steps_after(t, E->step) == 1 && E->step < p->final &&
        generation_complete(p, ctx, E->step, m)) {
        int r = E->step;
        n = rank_members(p, ctx, r, -1, NAN, &nq);
        int at = rank_of(p, n, m);
        if (n >= 2 && at >= n - nq) {
            if ((rc = exploit_bottom(p, ctx, n, nq, m, r, step, value, 0, &g, decision,
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
    entry_new(&e, PBT_READY, t->values, ctx->sp);
    e.step = e.pos = step;
    e.value = value;
    e.ready = 1;

    if (!p->sync) {
        n = rank_members(p, ctx, -1, m, value, &nq);
        int at = rank_of(p, n, m);
        if (n >= 2 && at >= n - nq && p->mode != PBT_MODE_EXPLORE_ONLY) {
            if ((rc = exploit_bottom(p, ctx, n, nq, m, -1, step, value, 1, &g, decision,
                                     exploit_src, err)) ||
                *decision == DECIDE_EXPLOIT)
                return rc;
        }
        if ((rc = pbt_lineage_append(l, &e, err)) || (rc = save_lineage(p, ctx, m, err)))
            return rc;
        if (n >= 2 && at >= n - nq && p->mode == PBT_MODE_EXPLORE_ONLY)
            return explore_own(p, ctx, m, err);
        return 0;
    }

    /* sync: the last member to arrive decides for the generation */
    if (!generation_complete(p, ctx, step, m)) {
        if ((rc = pbt_lineage_append(l, &e, err)))
            return rc;
        return save_lineage(p, ctx, m, err);
    }
    n = rank_members(p, ctx, step, m, value, &nq);
    int at = rank_of(p, n, m);
    if (p->mode == PBT_MODE_EXPLORE_ONLY) {
        if ((rc = pbt_lineage_append(l, &e, err)) || (rc = save_lineage(p, ctx, m, err)))
            return rc;
        for (int i = n - nq; n >= 2 && i < n; i++) {
            int k = p->rank[i].member;
            if ((rc = explore_own(p, ctx, k, err)))
                return rc;
        }
        return 0;
    }
    if (n >= 2 && at >= n - nq) {
        if ((rc = exploit_bottom(p, ctx, n, nq, m, step, step, value, 1, &g, decision,
                                 exploit_src, err)) ||
            *decision == DECIDE_EXPLOIT)
            return rc;
    }
    if ((rc = pbt_lineage_append(l, &e, err)))
        return rc;
    return save_lineage(p, ctx, m, err);
}

/* sync: 1 when member k must still copy for generation r (bottom of r's
 * ranking, has not reported since its ready entry at r).  Needs p->rank
 * ranked for r (n, nq). */
static int pending(const pbt *p, const sched_ctx *ctx, int k, int r, int n, int nq)
{
    const pbt_entry *E = latest(p, k);
    if (!member_live(ctx, k) || !E || E->kind != PBT_READY || E->step != r ||
        steps_after(ctx->trials[k], r) != 0)
        return 0;
    int at = rank_of(p, n, k);
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
static int resumable(const pbt *p, const sched_ctx *ctx, int k)
{
    return ctx->trials[k]->state == TRIAL_PAUSED && !being_copied(p, k);
}

static int pbt_next(void *self, const sched_ctx *ctx, sched_next *out, tl_err *err)
{
    pbt *p = self;
    int rc;
    out->trial = -1;
    if ((rc = setup(p, ctx, err)))
        return rc;
    if (ctx->ntrials < p->population) {
        out->kind = SCHED_NEW;
        out->budget = p->interval < p->final ? p->interval : p->final;
        return 0;
    }
    if ((rc = load_all(p, ctx, err)))
        return rc;
    int running = 0, npaused = 0, G = -1;
    for (int k = 0; k < p->population; k++) {
        int st = ctx->trials[k]->state;
        running += st == TRIAL_RUNNING || st == TRIAL_WAITING;
        npaused += st == TRIAL_PAUSED;
        if (member_live(ctx, k) && (G < 0 || position(p, k) < G))
            G = position(p, k);
    }
    int pick = -1;
    if (!p->sync) {
        /* the least advanced first; among equals the best first, so that
         * the bottom members reach the ready point after the top ones and
         * find them there to copy */
        ranked best = { -1, NAN };
        for (int k = 0; k < p->population; k++) {
            if (!resumable(p, ctx, k))
                continue;
            double v = current_value(p, k);
            ranked r = { k, ctx->direction == STUDY_MAXIMIZE ? -v : v };
            if (pick < 0 || position(p, k) < position(p, pick) ||
                (position(p, k) == position(p, pick) && cmp_ranked(&r, &best) < 0)) {
                pick = k;
                best = r;
            }
        }
    } else if (npaused) {
        int nq = 0, n = 0, any_pending = 0;
        if (G > 0 && p->mode != PBT_MODE_EXPLORE_ONLY && generation_complete(p, ctx, G, -1))
            n = rank_members(p, ctx, G, -1, NAN, &nq);
        for (int k = 0; n && k < p->population; k++)
            if (pending(p, ctx, k, G, n, nq)) {
                any_pending = 1;
                if (pick < 0 && resumable(p, ctx, k))
                    pick = k;
            }
        for (int k = 0; pick < 0 && k < p->population; k++) {
            if (!resumable(p, ctx, k) || position(p, k) != G)
                continue;
            int at = n ? rank_of(p, n, k) : -1;
            if (any_pending && at >= 0 && at < nq)
                continue; /* a source: stays paused until the bottom has copied */
            pick = k;
        }
        if (pick < 0 && !running) /* cannot happen; never deadlock */
            for (int k = 0; pick < 0 && k < p->population; k++)
                if (resumable(p, ctx, k))
                    pick = k;
    }
    if (pick >= 0) {
        int pos = position(p, pick);
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
    if ((rc = setup(p, ctx, err)))
        return rc;
    if (how->kind != SCHED_NEW)
        return 0;
    pbt_lineage *l = &p->lin[m];
    if ((rc = load_lineage(p, ctx, m, err)))
        return rc;
    pbt_entry e; /* a requeued member starts over */
    entry_new(&e, l->n ? PBT_RESTART : PBT_START, t->values, ctx->sp);
    if ((rc = pbt_lineage_append(l, &e, err)) || (rc = save_lineage(p, ctx, m, err)))
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
    if ((rc = load_lineage(p, ctx, m, err)))
        return rc;
    pbt_entry e;
    entry_new(&e, PBT_FINAL, t->values, ctx->sp);
    e.step = e.pos = trial_last_step(t) > 0 ? trial_last_step(t) : p->final;
    e.value = t->value;
    if ((rc = pbt_lineage_append(l, &e, err)))
        return rc;
    return save_lineage(p, ctx, m, err);
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
    if ((rc = setup(p, ctx, err)))
        return rc;
    pbt_lineage *l = &p->lin[m];
    if ((rc = load_lineage(p, ctx, m, err)))
        return rc;
    if (l->n == 0)
        return 0;
    int last = trial_last_step(t), n = l->n;
    while (n > 1 && l->e[n - 1].step > last)
        n--;
    if (n != l->n) {
        l->n = n;
        if ((rc = save_lineage(p, ctx, m, err)))
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
