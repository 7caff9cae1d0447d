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
 * conditional parameters become NAN.  Options from struct study_config:
 * acquisition (ei | logei | pi | ucb), xi, beta, n_init (0: max(5, 2d+2)),
 * n_candidates (raw Sobol samples; 0: 2048).  Does not model conditional
 * structure beyond encoding inactive parameters as a constant, and does not
 * use intermediate values.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hpo/acq.h"
#include "hpo/bo.h"
#include "hpo/sampler.h"
#include "hpo/study.h"

typedef struct bayes {
    bo eng;
    const space *sp; /* the space of the current suggest call (for snapping) */
    int cap;
    double *U;       /* (cap, d) */
    double *y;       /* (cap) */
    int *obs;        /* (cap) */
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

static int bayes_init(void **self, const space *sp, const struct study_config *cfg, uint64_t seed,
                      tl_err *err)
{
    *self = NULL;
    bo_config c;
    bo_config_default(&c);
    if (cfg) {
        if (cfg->acquisition[0]) {
            c.acq = acq_parse(cfg->acquisition);
            if (c.acq < 0)
                return tl_fail(err, TL_EINPUT,
                               "study.acquisition: unknown acquisition '%s' (ei, logei, pi, ucb)",
                               cfg->acquisition);
        }
        if (!(cfg->xi >= 0.0))
            return tl_fail(err, TL_EINPUT, "study.xi: must be >= 0 (got %g)", cfg->xi);
        if (!(cfg->beta >= 0.0))
            return tl_fail(err, TL_EINPUT, "study.beta: must be >= 0 (got %g)", cfg->beta);
        if (cfg->n_init < 0)
            return tl_fail(err, TL_EINPUT, "study.n_init: must be >= 0 (got %d)", cfg->n_init);
        if (cfg->n_candidates < 0)
            return tl_fail(err, TL_EINPUT, "study.n_candidates: must be >= 0 (got %d)",
                           cfg->n_candidates);
        c.xi = cfg->xi;
        c.beta = cfg->beta;
        c.n_init = cfg->n_init;
        if (cfg->n_candidates > 0)
            c.raw_samples = cfg->n_candidates;
    }
    if (sp->n < 1)
        return tl_fail(err, TL_EINPUT, "bayes: the space has no parameters");
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
    int rc = bo_init(&s->eng, sp->n, p, &c, seed, err);
    if (rc) {
        bayes_free(s);
        return rc;
    }
    bo_set_snap(&s->eng, bayes_snap, s);
    *self = s;
    return 0;
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
    if (!U || !y || !obs)
        return tl_fail(err, TL_ERUNTIME, "bayes: out of memory for %d trials", n);
    s->cap = cap;
    return 0;
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
        if (!t || t->nparams != d || !t->values)
            continue;
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
    .init = bayes_init,
    .suggest = bayes_suggest,
    .free = bayes_free,
    .ignores_seed = 0,
};
