/* hpo/sched_median.c: median stopping (Optuna's MedianPruner).
 *
 * Every trial is new and runs to max_budget; at each report the trial is
 * pruned when the best of its intermediate values so far is worse than the
 * median of the COMPLETE trials' values at the same step.  As in Optuna
 * (the options are median_options, hpo/sched_median.h): no pruning while
 * fewer than startup_trials trials have completed (none at all: never),
 * before step warmup_steps, at steps other than the first report in each
 * interval_steps window after the warm-up, or when fewer than min_trials
 * completed trials have a value at that step; a trial whose values are
 * all NaN is pruned.
 * State: a scratch buffer only (the rule reads the trials), so nothing
 * needs to survive a crash.
 */
#include <math.h>
#include <stdlib.h>

#include "hpo/sched_median.h"

#include "hpo/scheduler.h"

typedef struct median {
    median_options opt;
    double *buf;
    int cap;
} median;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Optuna's _is_first_in_interval_step. */
static int first_in_interval(const trial *t, int step, int warmup, int interval)
{
    if (interval < 1)
        interval = 1;
    int nearest = (step - warmup) / interval * interval + warmup;
    int second_last = -1;
    for (int k = 0; k < t->nsteps; k++)
        if (t->steps[k] > second_last && t->steps[k] != step)
            second_last = t->steps[k];
    return second_last < nearest;
}

int sched_median_should_prune(const median_options *o, int direction, const trial *const *trials,
                              int n, const trial *t, double *scratch)
{
    int ncomplete = 0;
    for (int k = 0; k < n; k++)
        ncomplete += trials[k]->state == TRIAL_COMPLETE && trials[k]->number != t->number;
    if (ncomplete == 0 || ncomplete < o->startup_trials)
        return 0;
    int step = trial_last_step(t);
    if (step < 0 || step < o->warmup_steps)
        return 0;
    if (!first_in_interval(t, step, o->warmup_steps, o->interval_steps))
        return 0;
    double best = NAN;
    for (int k = 0; k < t->nsteps; k++) {
        double v = t->inter[k];
        if (isnan(v))
            continue;
        if (isnan(best) || (direction == STUDY_MAXIMIZE ? v > best : v < best))
            best = v;
    }
    if (isnan(best))
        return 1;
    int count = 0, m = 0;
    for (int k = 0; k < n; k++) {
        const trial *o = trials[k];
        double v;
        if (o->state != TRIAL_COMPLETE || o->number == t->number || !trial_inter_at(o, step, &v))
            continue;
        count++;
        if (!isnan(v))
            scratch[m++] = v;
    }
    if (count < o->min_trials || m == 0)
        return 0;
    qsort(scratch, (size_t)m, sizeof *scratch, cmp_double);
    double pos = 0.5 * (m - 1);
    int lo = (int)floor(pos), hi = (int)ceil(pos);
    double med = scratch[lo] + (scratch[hi] - scratch[lo]) * (pos - lo);
    return direction == STUDY_MAXIMIZE ? best < med : best > med;
}

void median_options_default(median_options *o)
{
    o->warmup_steps = 0;
    o->startup_trials = 5;
    o->min_trials = 1;
    o->interval_steps = 1;
}

/* The options opts points to, or the defaults. */
static median_options options_of(const void *opts)
{
    median_options o;
    median_options_default(&o);
    return opts ? *(const median_options *)opts : o;
}

static int median_validate(const void *opts, const study_config *cfg, const space *sp,
                           tl_err *err)
{
    median_options o = options_of(opts);
    if (o.warmup_steps < 0 || o.startup_trials < 0 || o.min_trials < 1 || o.interval_steps < 1)
        return tl_fail(err, TL_EINPUT,
                       "study.median_*: warmup_steps >= 0, startup_trials >= 0, min_trials >= 1 "
                       "and interval_steps >= 1 are required");
    return 0;
}

static int median_init(void **self, const void *opts, const study_config *cfg, const space *sp,
                       tl_err *err)
{
    int rc = median_validate(opts, cfg, sp, err);
    if (rc)
        return rc;
    median *m = calloc(1, sizeof *m);
    if (!m)
        return tl_fail(err, TL_ERUNTIME, "median: out of memory");
    m->opt = options_of(opts);
    *self = m;
    return 0;
}

static int median_next(void *self, const sched_ctx *ctx, sched_next *out, tl_err *err)
{
    out->kind = SCHED_NEW;
    out->trial = -1;
    out->budget = ctx->cfg->max_budget;
    return 0;
}

static int median_report(void *self, const sched_ctx *ctx, const trial *t, int step, double value,
                         int *decision, int *exploit_src, tl_err *err)
{
    median *m = self;
    if (ctx->ntrials > m->cap) {
        int nc = m->cap ? m->cap : 64;
        while (nc < ctx->ntrials)
            nc *= 2;
        double *b = realloc(m->buf, (size_t)nc * sizeof *b);
        if (!b)
            return tl_fail(err, TL_ERUNTIME, "median: out of memory");
        m->buf = b;
        m->cap = nc;
    }
    *decision = sched_median_should_prune(&m->opt, ctx->direction, ctx->trials, ctx->ntrials, t,
                                          m->buf)
                    ? DECIDE_STOP
                    : DECIDE_CONTINUE;
    return 0;
}

static void median_free(void *self)
{
    median *m = self;
    if (!m)
        return;
    free(m->buf);
    free(m);
}

const scheduler_vt sched_median_vt = {
    .name = "median",
    .validate = median_validate,
    .init = median_init,
    .next = median_next,
    .report = median_report,
    .free = median_free,
};
