/* hpo/sampler_bayes.c: the "bayes" sampler: Gaussian-process Bayesian
 * optimization (hpo/bo.h) behind the sampler interface.
 *
 * Maps the study to the engine: every trial's internal values to unit
 * coordinates (space_to_unit; NAN where inactive), complete trials with a
 * finite value to observations (negated when maximizing), running, waiting
 * and paused trials to pending points (kriging believer), failed and
 * pruned trials to points that must not be suggested again.  Snapping goes
 * through the space (space_from_unit then space_to_unit), so ints land on
 * their cell centre with log-width cells for logint, and inactive
 * conditional parameters become NAN.  Options: bayes_options
 * (hpo/sampler_bayes.h): acquisition (ei | logei | pi | ucb), xi, beta,
 * n_init (0: max(5, 2d+2)), n_candidates (raw Sobol samples; 0: 2048);
 * written back as study attributes at every open (write_attrs) for the
 * report.
 *
 * Multi-fidelity (BOHB-like, Falkner et al. 2018) when the study's
 * scheduler is sha, hyperband or asha: the budgets are the rungs'
 * max_budget * eta^-k >= min_budget (eta: that scheduler's option,
 * halving_eta_for).  A trial's observation at budget b is
 * the value it ended a run with at b (paused, stopped, complete) or, for a
 * trial promoted past b, its intermediate value at step b when its steps
 * count budget units (its last step equals its budget, as epochs do in
 * cli's training objective).  The GP is fitted on the largest budget with
 * at least d + 2 observations (else the largest with any).  At that
 * budget, a trial without an observation that is running or waiting, or
 * that was evaluated at a lower budget only (paused or stopped there),
 * enters as a kriging believer: conditioned on the GP's own mean, which
 * leaves the mean unchanged and only collapses the variance there, so the
 * acquisition moves on instead of proposing the same optimum again while
 * the top budget gets no new observation (that happened, and did worse
 * than random search, when such trials were merely excluded).  Failed
 * trials and trials never evaluated are never suggested again and never
 * enter the GP.  The initial design shrinks to max(3, d + 2) points
 * (unless n_init is set), counted at the chosen budget.
 *
 * Does not: model conditional structure beyond encoding inactive
 * parameters as a constant, model the budget as a GP input (one budget at
 * a time, as BOHB), or read the schedulers' attributes.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hpo/sampler_bayes.h"

#include <stdio.h>

#include "hpo/acq.h"
#include "hpo/bo.h"
#include "hpo/sampler.h"
#include "hpo/sched_halving.h"
#include "hpo/study.h"

#define MF_MAX_LEVELS 32
#define MF_EPS 1e-9

typedef struct bayes {
    bayes_options opt;   /* as given (written back by write_attrs) */
    bo eng;
    const space *sp; /* the space of the current suggest call (for snapping) */
    int cap;
    double *U;       /* (cap, d) */
    double *y;       /* (cap) */
    int *obs;        /* (cap) */
    /* multi-fidelity */
    int nlev;        /* budgets, 0 when the scheduler is single-fidelity */
    double lev[MF_MAX_LEVELS]; /* (nlev) descending: lev[0] = max_budget */
    double *yl;      /* (cap, nlev) each trial's value at each budget, NAN if none */
    int *row_of;     /* (cap) history index -> row of U, -1 when skipped */
    int last_level;  /* budget index the last suggestion was fitted on (-1: none) */
} bayes;

static void bayes_free(void *self)
{
    bayes *s = self;
    if (!s)
        return;
    bo_free(&s->eng);
    free(s->U);
    free(s->y);
    free(s->obs);
    free(s->yl);
    free(s->row_of);
    free(s);
}

static void bayes_snap(void *ctx, double *u)
{
    const space *sp = ((bayes *)ctx)->sp;
    double v[SPACE_MAX_PARAMS];
    for (int i = 0; i < sp->n; i++)
        v[i] = space_from_unit(sp, i, isnan(u[i]) ? 0.5 : u[i]);
    space_apply_conditions(sp, v);
    for (int i = 0; i < sp->n; i++)
        u[i] = space_to_unit(sp, i, v[i]); /* NAN stays NAN */
}

void bayes_options_default(bayes_options *o)
{
    memset(o, 0, sizeof *o);
    snprintf(o->acquisition, sizeof o->acquisition, "logei");
    o->xi = 0;
    o->beta = 2;
    o->n_init = 0;
    o->n_candidates = 0;
}

/* The options opts points to, or the defaults. */
static bayes_options options_of(const void *opts)
{
    bayes_options o;
    bayes_options_default(&o);
    return opts ? *(const bayes_options *)opts : o;
}

static int bayes_validate(const space *sp, const void *opts, const struct study_config *cfg,
                          tl_err *err)
{
    bayes_options o = options_of(opts);
    if (o.acquisition[0] && acq_parse(o.acquisition) < 0)
        return tl_fail(err, TL_EINPUT,
                       "study.acquisition: unknown acquisition '%s' (ei, logei, pi, ucb)",
                       o.acquisition);
    if (!(o.xi >= 0.0))
        return tl_fail(err, TL_EINPUT, "study.xi: must be >= 0 (got %g)", o.xi);
    if (!(o.beta >= 0.0))
        return tl_fail(err, TL_EINPUT, "study.beta: must be >= 0 (got %g)", o.beta);
    if (o.n_init < 0)
        return tl_fail(err, TL_EINPUT, "study.n_init: must be >= 0 (got %d)", o.n_init);
    if (o.n_candidates < 0)
        return tl_fail(err, TL_EINPUT, "study.n_candidates: must be >= 0 (got %d)",
                       o.n_candidates);
    if (sp->n < 1)
        return tl_fail(err, TL_EINPUT, "bayes: the space has no parameters");
    return 0;
}

/* The rung budgets when cfg's scheduler trains trials at several budgets
 * (sha, hyperband, asha): max_budget * eta^-k >= min_budget, descending.
 * Returns how many (0: single fidelity). */
static int fidelity_levels(const struct study_config *cfg, double *lev)
{
    double eta = cfg ? halving_eta_for(cfg) : 0;
    if (!(eta > 1) || !(cfg->min_budget > 0) || !(cfg->max_budget > cfg->min_budget) ||
        !isfinite(cfg->max_budget))
        return 0;
    int n = 0;
    for (double b = cfg->max_budget; n < MF_MAX_LEVELS && b >= cfg->min_budget * (1 - MF_EPS);
         b /= eta)
        lev[n++] = b;
    return n;
}

static int bayes_init(void **self, const space *sp, const void *opts,
                      const struct study_config *cfg, uint64_t seed, tl_err *err)
{
    *self = NULL;
    int rc = bayes_validate(sp, opts, cfg, err);
    if (rc)
        return rc;
    bayes_options o = options_of(opts);
    bo_config c;
    bo_config_default(&c);
    if (o.acquisition[0])
        c.acq = acq_parse(o.acquisition);
    c.xi = o.xi;
    c.beta = o.beta;
    c.n_init = o.n_init;
    if (o.n_candidates > 0)
        c.raw_samples = o.n_candidates;
    bo_param p[SPACE_MAX_PARAMS];
    for (int i = 0; i < sp->n; i++) {
        const param *q = &sp->p[i];
        p[i].kind = q->kind == PARAM_CAT ? BO_CAT : q->kind == PARAM_INT ? BO_INT : BO_FLOAT;
        p[i].n = q->kind == PARAM_CAT ? q->ncat
               : q->kind == PARAM_INT ? (int)(q->high - q->low + 1) : 0;
    }
    bayes *s = calloc(1, sizeof *s);
    if (!s)
        return tl_fail(err, TL_ERUNTIME, "bayes: out of memory");
    s->opt = o;
    s->last_level = -1;
    s->nlev = fidelity_levels(cfg, s->lev);
    if (s->nlev > 0 && o.n_init == 0)
        c.n_init = sp->n + 2 > 3 ? sp->n + 2 : 3;
    rc = bo_init(&s->eng, sp->n, p, &c, seed, err);
    if (rc) {
        bayes_free(s);
        return rc;
    }
    bo_set_snap(&s->eng, bayes_snap, s);
    *self = s;
    return 0;
}

/* The options as study attributes (BAYES_ATTR_*), for the report. */
static int bayes_write_attrs(void *self, study *st, tl_err *err)
{
    const bayes_options *o = &((bayes *)self)->opt;
    char num[64];
    int rc = study_attr_set(st, BAYES_ATTR_ACQUISITION, o->acquisition, err);
    snprintf(num, sizeof num, "%.17g", o->xi);
    if (!rc)
        rc = study_attr_set(st, BAYES_ATTR_XI, num, err);
    snprintf(num, sizeof num, "%.17g", o->beta);
    if (!rc)
        rc = study_attr_set(st, BAYES_ATTR_BETA, num, err);
    snprintf(num, sizeof num, "%d", o->n_init);
    if (!rc)
        rc = study_attr_set(st, BAYES_ATTR_N_INIT, num, err);
    return rc;
}

static int reserve(bayes *s, int n, int d, tl_err *err)
{
    if (n <= s->cap)
        return 0;
    int cap = s->cap ? s->cap : 64;
    while (cap < n)
        cap *= 2;
    double *U = realloc(s->U, sizeof *U * (size_t)cap * d);
    if (U)
        s->U = U;
    double *y = realloc(s->y, sizeof *y * (size_t)cap);
    if (y)
        s->y = y;
    int *obs = realloc(s->obs, sizeof *obs * (size_t)cap);
    if (obs)
        s->obs = obs;
    double *yl = NULL;
    int yl_ok = s->nlev == 0; /* single-fidelity: no per-budget table */
    if (!yl_ok && (yl = realloc(s->yl, sizeof *yl * (size_t)cap * (size_t)s->nlev))) {
        s->yl = yl;
        yl_ok = 1;
    }
    int *row_of = realloc(s->row_of, sizeof *row_of * (size_t)cap);
    if (row_of)
        s->row_of = row_of;
    if (!U || !y || !obs || !yl_ok || !row_of)
        return tl_fail(err, TL_ERUNTIME, "bayes: out of memory for %d trials", n);
    s->cap = cap;
    return 0;
}

static int near(double a, double b)
{
    return fabs(a - b) <= MF_EPS * (fabs(a) > fabs(b) ? fabs(a) : fabs(b));
}

/* The value trial t had at budget b (see the file comment), or NAN. */
static double value_at_budget(const trial *t, double b)
{
    int ran = t->state == TRIAL_PAUSED || t->state == TRIAL_PRUNED ||
              t->state == TRIAL_COMPLETE || t->state == TRIAL_RUNNING;
    if (!ran || !(t->budget >= b * (1 - MF_EPS)))
        return NAN;
    if (t->state != TRIAL_RUNNING && near(t->budget, b))
        return isfinite(t->value) ? t->value : NAN;
    double step = floor(b + 0.5), last = (double)trial_last_step(t), v;
    if (near(b, step) && last == floor(t->budget + 0.5) && near(t->budget, last) &&
        trial_inter_at(t, (int)step, &v) && isfinite(v))
        return v;
    return NAN;
}

/* Multi-fidelity rows: fills s->y and s->obs for the budget the GP is
 * fitted on (s->last_level; -1 when no trial has a value yet). */
static void mf_rows(bayes *s, const trial *const *hist, const int *row_of, int nhist,
                    int direction)
{
    int d = s->eng.d, L = s->nlev, cnt[MF_MAX_LEVELS] = { 0 };
    for (int k = 0; k < nhist; k++) {
        int r = row_of[k];
        if (r < 0)
            continue;
        for (int j = 0; j < L; j++) {
            double v = value_at_budget(hist[k], s->lev[j]);
            s->yl[(size_t)r * L + j] = v;
            cnt[j] += isfinite(v);
        }
    }
    int lev = -1;
    for (int j = 0; j < L && lev < 0; j++) /* lev[0] is the largest budget */
        if (cnt[j] >= d + 2)
            lev = j;
    for (int j = 0; j < L && lev < 0; j++)
        if (cnt[j] > 0)
            lev = j;
    s->last_level = lev;
    for (int k = 0; k < nhist; k++) {
        int r = row_of[k];
        if (r < 0)
            continue;
        double v = lev >= 0 ? s->yl[(size_t)r * L + lev] : NAN;
        int st = hist[k]->state;
        if (isfinite(v)) {
            s->obs[r] = BO_OBS_COMPLETE;
            s->y[r] = direction == STUDY_MAXIMIZE ? -v : v;
        } else {
            int lower = 0;
            for (int j = 0; j < L; j++)
                lower |= isfinite(s->yl[(size_t)r * L + j]);
            /* running: may still get there; evaluated lower only: already
             * spent on (a believer keeps new points away, see above) */
            s->obs[r] = st == TRIAL_RUNNING || st == TRIAL_WAITING || lower ? BO_OBS_PENDING
                                                                           : BO_OBS_FAILED;
            s->y[r] = NAN;
        }
    }
}

static int bayes_suggest(void *self, const space *sp, const trial *const *hist, int nhist,
                         int direction, int number, rng *r, double *values, tl_err *err)
{
    bayes *s = self;
    int d = sp->n;
    if (d != s->eng.d)
        return tl_fail(err, TL_ERUNTIME, "bayes: space has %d parameters, sampler built for %d",
                       d, s->eng.d);
    int rc = reserve(s, nhist, d, err);
    if (rc)
        return rc;
    int n = 0;
    for (int k = 0; k < nhist; k++) {
        const trial *t = hist[k];
        s->row_of[k] = -1;
        if (!t || t->nparams != d || !t->values)
            continue;
        s->row_of[k] = n;
        double *u = s->U + (size_t)n * d;
        for (int i = 0; i < d; i++)
            u[i] = space_to_unit(sp, i, t->values[i]);
        switch (t->state) {
        case TRIAL_COMPLETE:
            s->obs[n] = isfinite(t->value) ? BO_OBS_COMPLETE : BO_OBS_FAILED;
            s->y[n] = direction == STUDY_MAXIMIZE ? -t->value : t->value;
            break;
        case TRIAL_RUNNING:
        case TRIAL_WAITING:
        case TRIAL_PAUSED:
            s->obs[n] = BO_OBS_PENDING;
            s->y[n] = NAN;
            break;
        default: /* failed, pruned: never in the GP, never again */
            s->obs[n] = BO_OBS_FAILED;
            s->y[n] = NAN;
            break;
        }
        n++;
    }
    if (s->nlev > 0)
        mf_rows(s, hist, s->row_of, nhist, direction);
    s->sp = sp;
    double u[SPACE_MAX_PARAMS];
    rc = bo_suggest(&s->eng, s->U, s->y, s->obs, n, number, r, u, err);
    if (rc)
        return rc;
    for (int i = 0; i < d; i++)
        if (isnan(u[i]))
            u[i] = 0.5; /* inactive: any coordinate, space_from_unit_vec clears it */
    space_from_unit_vec(sp, u, values);
    return 0;
}

const sampler_vt sampler_bayes_vt = {
    .name = "bayes",
    .validate = bayes_validate,
    .init = bayes_init,
    .suggest = bayes_suggest,
    .free = bayes_free,
    .ignores_seed = 0,
    .write_attrs = bayes_write_attrs,
};
