/* hpo/sched_halving.c: successive halving, Hyperband and ASHA as one
 * engine (see sched_halving.h for the arithmetic and the "hb" attribute).
 *
 * Does (the arithmetic, the "hb" parser and the rung table are in
 * sched_halving_rungs.c, the per-trial cache of the "hb" records in
 * sched_halving_record.c; what they share in sched_halving_internal.h):
 *   - trials get their bracket from their number (halving_slot_of):
 *     numbers are handed out in order, bracket s = s_max..0 of each cycle
 *     takes the next n(s) numbers;
 *   - synchronous rungs (sha, hyperband): rung i+1 of a bracket is filled
 *     only once every trial of rung i has finished it, with the best
 *     n_{i+1} of them (ties: lower number); the rest are marked stopped and
 *     their in-memory states released.  While a bracket waits for running
 *     trials, idle workers start the next bracket's trials (one worker runs
 *     brackets strictly in the paper's order);
 *   - asynchronous rungs (asha, Li et al. 2020 Algorithm 2): a paused trial
 *     is promoted as soon as it is in the top floor(m/eta) of the m results
 *     of its rung, checking the highest rung first; otherwise a new trial
 *     starts at the bottom rung, so no worker waits while trials remain.
 *     Once the trial budget is used and nothing is running, if no trial has
 *     reached max_budget the best paused trial of the highest rung is
 *     promoted (so the study ends with a fully trained trial; plain ASHA
 *     would stop there);
 *   - report: a trial pauses when its budget reaches its rung's budget
 *     (never at the top rung, which runs to max_budget).
 * A promotion is a PROMOTE of the paused trial to the next rung's budget:
 * the objective continues from the trial's kept or saved state, so no work
 * is repeated.  The per-trial cache (sched_halving_record.c) is rebuilt
 * from the trials and their "hb" attributes whenever a trial's row
 * changes (another process, a crash, a rollback), so storage is the only
 * truth.
 *
 * Stopped trials (losers of a rung, and paused trials left when the
 * study ends) are ended through study_stop_paused: state PRUNED with the
 * reason "stopped at rung i (budget b) of bracket s", their kept state
 * released and their saved state file deleted; their attribute keeps
 * status "stopped".  A promoted trial whose process died goes back to its
 * last pause (the study's `requeued` hook): its record returns to the rung
 * it had finished, so it is promoted again and resumes from its saved
 * state.
 *
 * Does not: decide values (any sampler), delete the saved states of
 * trials that complete (cli's pbt-replay style tools may read them).
 */
#include "hpo/sched_halving.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hpo/sched_halving_internal.h"

void halving_options_default(halving_options *o)
{
    o->eta = 3;
}

/* The options opts points to, or the defaults. */
static halving_options options_of(const void *opts)
{
    halving_options o;
    halving_options_default(&o);
    return opts ? *(const halving_options *)opts : o;
}

double halving_eta_for(const study_config *cfg)
{
    for (int m = 0; m < HALVING_MODE_COUNT; m++)
        if (!strcmp(cfg->scheduler, halving_mode_str(m)))
            return options_of(cfg->scheduler_opts).eta;
    return 0;
}

int halving_validate(int mode, const void *opts, const study_config *cfg, tl_err *err)
{
    const char *name = halving_mode_str(mode);
    halving_options o = options_of(opts);
    if (!(o.eta > 1) || !isfinite(o.eta))
        return tl_fail(err, TL_EINPUT, "study.eta: %s needs a reduction factor > 1, got %g", name,
                       o.eta);
    if (!(cfg->min_budget > 0) || !(cfg->max_budget >= cfg->min_budget))
        return tl_fail(err, TL_EINPUT,
                       "study.min_budget: %s needs 0 < min_budget <= max_budget, got %g and %g",
                       name, cfg->min_budget, cfg->max_budget);
    if (halving_s_max(cfg->min_budget, cfg->max_budget, o.eta) < 0)
        return tl_fail(err, TL_EINPUT,
                       "study.max_budget: %g / min_budget %g spans more than %d rungs of eta = %g "
                       "(%s); raise min_budget or eta",
                       cfg->max_budget, cfg->min_budget, HALVING_MAX_RUNGS, o.eta, name);
    return 0;
}

int halving_init(void **self, int mode, const void *opts, const study_config *cfg, tl_err *err)
{
    *self = NULL;
    int rc = halving_validate(mode, opts, cfg, err);
    if (rc)
        return rc;
    halving *h = calloc(1, sizeof *h);
    if (!h)
        return tl_fail(err, TL_ERUNTIME, "%s: out of memory", halving_mode_str(mode));
    h->mode = mode;
    h->max_budget = cfg->max_budget;
    h->eta = options_of(opts).eta;
    h->trials = cfg->trials;
    h->s_max = halving_s_max(cfg->min_budget, cfg->max_budget, h->eta);
    *self = h;
    return 0;
}

void halving_free(void *self)
{
    halving *h = self;
    if (!h)
        return;
    free(h->e);
    free(h->rk);
    free(h);
}

/* ---- the rules ---- */

static int ended_at(const halving *h, const trial *t, int i);

/* The value trial k reported at the end of rung i (NAN if none). */
static double rung_value(const halving *h, const trial *t, int i)
{
    const entry *e = &h->e[t->number];
    if (i < e->nvals)
        return e->v[i];
    if (ended_at(h, t, i))
        return t->value;
    return NAN;
}

static double key_of(const sched_ctx *ctx, double v)
{
    return ctx->direction == STUDY_MAXIMIZE ? -v : v;
}

static int rank_cmp(const void *a, const void *b)
{
    const rank *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return (x->number > y->number) - (x->number < y->number);
}

/* Ends paused trial k: attribute status "stopped", then the trial PRUNED
 * through the study (state released, file deleted after the commit). */
static int stop_trial(halving *h, const sched_ctx *ctx, int k, tl_err *err)
{
    entry *e = &h->e[k];
    const trial *t = ctx->trials[k];
    if (t->state != TRIAL_PAUSED)
        return 0;
    e->status = HB_STOPPED;
    int rc = hb_entry_store(h, ctx, k, err);
    if (rc)
        return rc;
    plan p;
    hb_plan_of(h, k, &p);
    char why[160];
    int n = snprintf(why, sizeof why, "stopped at rung %d (budget %g) of bracket %d", e->rung,
                     p.r[e->rung], e->bracket);
    if (e->iteration > 0 && n > 0 && (size_t)n < sizeof why)
        snprintf(why + n, sizeof why - (size_t)n, ", iteration %ld", e->iteration);
    if ((rc = study_stop_paused(ctx->s, k, TRIAL_PRUNED, why, err)))
        return rc;
    hb_fp_set(e, t);
    return 0;
}

static int paused_live(const halving *h, const trial *t)
{
    return t->state == TRIAL_PAUSED && h->e[t->number].status != HB_STOPPED;
}

/* Trial t ended rung i with a result there: paused or stopped at it, or
 * complete (the top rung). */
static int ended_at(const halving *h, const trial *t, int i)
{
    const entry *e = &h->e[t->number];
    return e->rung == i && (t->state == TRIAL_PAUSED || t->state == TRIAL_COMPLETE ||
                            e->status == HB_STOPPED);
}

/* The best live paused trial among [lo, hi) at rung i with a finite value
 * there, or -1. */
static int best_paused(const halving *h, const sched_ctx *ctx, long lo, long hi, int i)
{
    int best = -1;
    double bk = INFINITY;
    for (long k = lo; k < hi && k < ctx->ntrials; k++) {
        const trial *t = ctx->trials[k];
        if (h->e[k].rung != i || !paused_live(h, t))
            continue;
        double v = rung_value(h, t, i);
        if (!isfinite(v))
            continue;
        double key = key_of(ctx, v);
        if (best < 0 || key < bk) {
            best = (int)k;
            bk = key;
        }
    }
    return best;
}

static void set_next(sched_next *out, int kind, int trial, double budget)
{
    out->kind = kind;
    out->trial = trial;
    out->budget = budget;
}

/* Nothing left to run: every live paused trial is stopped. */
static int finish(halving *h, const sched_ctx *ctx, sched_next *out, tl_err *err)
{
    for (int k = 0; k < ctx->ntrials; k++)
        if (paused_live(h, ctx->trials[k])) {
            int rc = stop_trial(h, ctx, k, err);
            if (rc)
                return rc;
        }
    set_next(out, SCHED_NONE, -1, NAN);
    return 0;
}

static int busy(const trial *t)
{
    return t->state == TRIAL_RUNNING || t->state == TRIAL_WAITING;
}

static int next_sync(halving *h, const sched_ctx *ctx, sched_next *out, tl_err *err)
{
    int n = ctx->ntrials, any_busy = 0;
    long first = 0;
    while (first < n) {
        plan p;
        hb_plan_of(h, first, &p);
        long end = p.first + p.n_eff;
        int top = p.nrungs - 1;
        long members[HALVING_MAX_RUNGS] = { 0 }, fin[HALVING_MAX_RUNGS] = { 0 },
             cand[HALVING_MAX_RUNGS] = { 0 };
        for (long k = p.first; k < end && k < n; k++) {
            const trial *t = ctx->trials[k];
            int rung = h->e[k].rung < top ? h->e[k].rung : top;
            any_busy |= busy(t);
            for (int i = 0; i < rung; i++) {
                members[i]++;
                fin[i]++;
                cand[i]++;
            }
            members[rung]++;
            fin[rung] += !busy(t);
            cand[rung] += paused_live(h, t) && isfinite(rung_value(h, t, rung));
        }
        long expected = p.n_eff;
        for (int i = 0; i < top; i++) {
            if (members[i] != expected || fin[i] != members[i])
                break; /* rung i still running */
            long want = p.n[i + 1] < cand[i] ? p.n[i + 1] : cand[i];
            if (members[i + 1] < want) {
                int best = best_paused(h, ctx, p.first, end, i);
                if (best >= 0) {
                    set_next(out, SCHED_PROMOTE, best, p.r[i + 1]);
                    return 0;
                }
                want = members[i + 1]; /* cannot happen: cand counted them */
            }
            for (long k = p.first; k < end && k < n; k++)
                if (h->e[k].rung == i && paused_live(h, ctx->trials[k])) {
                    int rc = stop_trial(h, ctx, (int)k, err);
                    if (rc)
                        return rc;
                }
            expected = want;
        }
        first = end;
    }
    if (n < h->trials) {
        plan p;
        hb_plan_of(h, n, &p);
        set_next(out, SCHED_NEW, -1, p.r[0]);
        return 0;
    }
    if (any_busy) {
        set_next(out, SCHED_WAIT, -1, NAN);
        return 0;
    }
    return finish(h, ctx, out, err);
}

static int next_async(halving *h, const sched_ctx *ctx, sched_next *out, tl_err *err)
{
    int n = ctx->ntrials, any_busy = 0, top_done = 0;
    plan p;
    hb_plan_of(h, 0, &p);
    int top = p.nrungs - 1;
    for (int k = 0; k < n; k++) {
        any_busy |= busy(ctx->trials[k]);
        top_done |= h->e[k].rung == top && ctx->trials[k]->state == TRIAL_COMPLETE;
    }
    for (int i = top - 1; i >= 0; i--) {
        int m = 0;
        for (int k = 0; k < n; k++) {
            const trial *t = ctx->trials[k];
            int r = h->e[k].rung;
            if (r < i || (r == i && !ended_at(h, t, i)))
                continue;
            double v = rung_value(h, t, i);
            if (!isfinite(v))
                continue;
            h->rk[m].key = key_of(ctx, v);
            h->rk[m].number = k;
            m++;
        }
        if (m == 0)
            continue;
        qsort(h->rk, (size_t)m, sizeof *h->rk, rank_cmp);
        long ntop = halving_eta_integral(h->eta) ? m / (long)h->eta
                                         : (long)floor(m / h->eta * (1 + HALVING_REL_EPS));
        for (long j = 0; j < ntop; j++) {
            int k = h->rk[j].number;
            if (h->e[k].rung == i && paused_live(h, ctx->trials[k])) {
                set_next(out, SCHED_PROMOTE, k, p.r[i + 1]);
                return 0;
            }
        }
    }
    if (n < h->trials) {
        set_next(out, SCHED_NEW, -1, p.r[0]);
        return 0;
    }
    if (any_busy) {
        set_next(out, SCHED_WAIT, -1, NAN);
        return 0;
    }
    if (!top_done)
        for (int i = top - 1; i >= 0; i--) {
            int best = best_paused(h, ctx, 0, n, i);
            if (best >= 0) {
                set_next(out, SCHED_PROMOTE, best, p.r[i + 1]);
                return 0;
            }
        }
    return finish(h, ctx, out, err);
}

int halving_next(void *self, const sched_ctx *ctx, sched_next *out, tl_err *err)
{
    halving *h = self;
    int rc = hb_refresh(h, ctx, err);
    if (rc)
        return rc;
    return h->mode == HALVING_ASHA ? next_async(h, ctx, out, err) : next_sync(h, ctx, out, err);
}

int halving_report(void *self, const sched_ctx *ctx, const trial *t, int step, double value,
                   int *decision, int *exploit_src, tl_err *err)
{
    halving *h = self;
    entry *e;
    int rc = hb_entry_of(h, ctx, t, &e, err);
    if (rc)
        return rc;
    plan p;
    hb_plan_of(h, t->number, &p);
    int top = p.nrungs - 1;
    double used = t->budget > 0 ? t->budget : (double)step;
    *decision = e->rung < top && used >= p.r[e->rung] * (1 - HALVING_REL_EPS) ? DECIDE_PAUSE
                                                                       : DECIDE_CONTINUE;
    hb_fp_set(e, t);
    return 0;
}

int halving_started(void *self, const sched_ctx *ctx, const trial *t, const sched_next *how,
                    tl_err *err)
{
    halving *h = self;
    int k = t->number, rc;
    if (hb_grow(h, k + 1, err))
        return TL_ERUNTIME;
    entry *e = &h->e[k];
    if (!e->known || how->kind != SCHED_PROMOTE)
        if ((rc = hb_entry_load(h, ctx, k, err)))
            return rc;
    if (how->kind == SCHED_PROMOTE) {
        plan p;
        hb_plan_of(h, k, &p);
        if (e->rung + 1 >= p.nrungs)
            return tl_fail(err, TL_ERUNTIME, "%s: trial %d is already at the top rung",
                           halving_mode_str(h->mode), k);
        e->rung++;
    }
    e->status = HB_RUNNING;
    return hb_entry_save(h, ctx, t, err);
}

int halving_tell(void *self, const sched_ctx *ctx, const trial *t, tl_err *err)
{
    halving *h = self;
    int k = t->number, rc;
    if (hb_grow(h, k + 1, err))
        return TL_ERUNTIME;
    entry *e = &h->e[k];
    /* t is no longer running: the entry is ours if we knew it running */
    if (!(e->known && e->fp_state == TRIAL_RUNNING))
        if ((rc = hb_entry_load(h, ctx, k, err)))
            return rc;
    e->status = hb_status_of_state(t->state);
    if (t->state != TRIAL_FAILED) {
        for (int i = e->nvals; i < e->rung; i++)
            e->v[i] = NAN;
        e->v[e->rung] = t->value;
        if (e->nvals < e->rung + 1)
            e->nvals = e->rung + 1;
    }
    return hb_entry_save(h, ctx, t, err);
}

int halving_requeued(void *self, const sched_ctx *ctx, const trial *t, tl_err *err)
{
    halving *h = self;
    int k = t->number, rc;
    if (hb_grow(h, k + 1, err))
        return TL_ERUNTIME;
    if ((rc = hb_entry_load(h, ctx, k, err)))
        return rc;
    entry *e = &h->e[k];
    plan p;
    hb_plan_of(h, k, &p);
    /* the rung whose budget the trial is back at (it paused at its end) */
    int rung = -1;
    for (int i = 0; i < p.nrungs; i++)
        if (fabs(p.r[i] - t->budget) <= HALVING_REL_EPS * p.r[i])
            rung = i;
    if (rung < 0)
        rung = e->rung > 0 ? e->rung - 1 : 0;
    e->rung = rung;
    if (e->nvals > rung + 1)
        e->nvals = rung + 1;
    if (e->nvals < rung + 1) { /* its value at the end of that rung */
        for (int i = e->nvals; i < rung; i++)
            e->v[i] = NAN;
        e->v[rung] = t->value;
        e->nvals = rung + 1;
    }
    e->status = HB_PAUSED;
    return hb_entry_save(h, ctx, t, err);
}
