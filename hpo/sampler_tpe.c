/* hpo/sampler_tpe.c: the "tpe" sampler, the Tree-structured Parzen
 * Estimator (Bergstra et al. 2011) with the definitions of Optuna 3.1's
 * TPESampler, behind the sampler interface.
 *
 * Each suggestion ranks the history as Optuna does: complete trials by
 * value, then pruned (and paused) trials by their last step, deepest
 * first, then by the value reported there; failed trials never count.
 * With the constant liar (tpe.constant_liar, on by default) running and
 * waiting trials rank last, so the next suggestion moves away from the
 * points other workers or MPI ranks are evaluating.  While fewer than
 * startup_trials trials are complete or pruned, the suggestion is
 * uniform.  Then the best n_below = min(ceil(gamma n), gamma_max) (n:
 * complete and pruned) form the "below" set, the rest "above"; each set,
 * in trial order, gives a Parzen estimator (l and g): one kernel per
 * trial, weights 1 (the oldest ramped down past 25), plus a prior kernel
 * (mean at the centre, width the whole range, weight prior_weight).  The
 * suggestion is the best of ei_candidates draws from l by log l - log g.
 *
 * The kernels' log-density is Optuna 3.1's: without the -log(sigma) term
 * (see kernel_log), which weighs wide kernels more than a true density
 * would; linear ints use the kernel's mass over the cell, as 3.1 does.
 *
 * Coordinates: floats and log-scaled ints in the unit cube of
 * hpo/space.h (log scales in log space), where Optuna's transforms are
 * affine images of the same thing; linear ints as cells of width 1/count,
 * scored by the kernel's mass over the cell.  Kernels are normals
 * truncated to [0, 1]; a kernel's width is the larger gap to its sorted
 * neighbours (Optuna's rule; consider_endpoints lets the outermost ones
 * take the gap to the bound), clipped to [1/min(100, n + 1), 1] when
 * consider_magic_clip; multivariate: 0.2 n^(-1/(d+4)) for every kernel
 * (Scott's rule, as Optuna).  Categoricals: each kernel puts weight
 * prior_weight/(n+1) on every choice plus 1 on its own, normalized.
 *
 * Independent by default: one estimator per parameter, over the trials
 * where it is active (conditional parameters are modelled only where
 * their condition held).  tpe.multivariate: one joint estimator over the
 * unconditional parameters; conditional ones stay independent, as
 * Optuna's multivariate TPE treats parameters outside the intersection
 * space.  Stateless between suggestions: everything comes from the
 * history and r, so a resumed study continues as if never stopped.
 *
 * Does not: group conditional subspaces (Optuna's group=True), weigh
 * multi-objective trials, or honour constraints.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hpo/normal.h"
#include "hpo/sampler.h"
#include "hpo/sampler_tpe.h"
#include "hpo/study.h"

#define TPE_SIGMA0 0.2       /* Optuna's SIGMA0_MAGNITUDE (multivariate) */
#define TPE_EPS 1e-12
#define TPE_FLAT_WEIGHTS 25  /* newest observations with full weight */

typedef struct tpe {
    tpe_options opt;
} tpe;

/* One ranked observation. */
typedef struct tpe_obs {
    int k;          /* history index */
    double step;    /* -inf complete, -last step pruned, +inf running (liar) */
    double loss;    /* value, sign-flipped when maximizing */
} tpe_obs;

/* A Parzen estimator over m parameters: n kernels (the prior last). */
typedef struct pe {
    const space *sp;
    const int *dims;   /* (m) parameter indices */
    int m, n;
    double catv;       /* categorical: the prior's share of each kernel, prior_weight / n */
    double *logw;      /* (n) log mixture weights */
    double *mu;        /* (n, m) unit-space centres; categoricals: the choice index */
    double *sig;       /* (n, m) widths (numeric dims) */
    double *logz;      /* (n, m) log of the kernel's mass inside [0, 1] */
    double *tmp;       /* (n) scratch */
} pe;

void tpe_options_default(tpe_options *o)
{
    memset(o, 0, sizeof *o);
    o->startup_trials = 10;
    o->ei_candidates = 24;
    o->gamma = 0.1;
    o->gamma_max = 25;
    o->multivariate = 0;
    o->prior_weight = 1.0;
    o->consider_magic_clip = 1;
    o->consider_endpoints = 0;
    o->constant_liar = 1;
}

static tpe_options options_of(const void *opts)
{
    tpe_options o;
    tpe_options_default(&o);
    return opts ? *(const tpe_options *)opts : o;
}

static int tpe_validate(const space *sp, const void *opts, const struct study_config *cfg,
                        tl_err *err)
{
    tpe_options o = options_of(opts);
    if (o.startup_trials < 0)
        return tl_fail(err, TL_EINPUT, "tpe.startup_trials: must be >= 0 (got %d)",
                       o.startup_trials);
    if (o.ei_candidates < 1)
        return tl_fail(err, TL_EINPUT, "tpe.ei_candidates: must be >= 1 (got %d)",
                       o.ei_candidates);
    if (!(o.gamma > 0 && o.gamma <= 1))
        return tl_fail(err, TL_EINPUT, "tpe.gamma: must be in (0, 1] (got %g)", o.gamma);
    if (o.gamma_max < 1)
        return tl_fail(err, TL_EINPUT, "tpe.gamma_max: must be >= 1 (got %d)", o.gamma_max);
    if (!(o.prior_weight > 0 && isfinite(o.prior_weight)))
        return tl_fail(err, TL_EINPUT, "tpe.prior_weight: must be > 0 (got %g)", o.prior_weight);
    if (sp->n < 1)
        return tl_fail(err, TL_EINPUT, "tpe: the space has no parameters");
    return 0;
}

static int tpe_init(void **self, const space *sp, const void *opts, const struct study_config *cfg,
                    uint64_t seed, tl_err *err)
{
    *self = NULL;
    int rc = tpe_validate(sp, opts, cfg, err);
    if (rc)
        return rc;
    tpe *s = calloc(1, sizeof *s);
    if (!s)
        return tl_fail(err, TL_ERUNTIME, "tpe: out of memory");
    s->opt = options_of(opts);
    *self = s;
    return 0;
}

static void tpe_free(void *self)
{
    free(self);
}

static int tpe_write_attrs(void *self, study *st, tl_err *err)
{
    const tpe_options *o = &((tpe *)self)->opt;
    char buf[512];
    snprintf(buf, sizeof buf,
             "{\"startup_trials\": %d, \"ei_candidates\": %d, \"gamma\": %.17g, \"gamma_max\": %d, "
             "\"multivariate\": %s, \"prior_weight\": %.17g, \"consider_magic_clip\": %s, "
             "\"consider_endpoints\": %s, \"constant_liar\": %s}",
             o->startup_trials, o->ei_candidates, o->gamma, o->gamma_max,
             o->multivariate ? "true" : "false", o->prior_weight,
             o->consider_magic_clip ? "true" : "false", o->consider_endpoints ? "true" : "false",
             o->constant_liar ? "true" : "false");
    return study_attr_set(st, TPE_ATTR_OPTIONS, buf, err);
}

/* ---- coordinates ---- */

static int discrete(const param *p)
{
    return p->kind == PARAM_INT && !p->log;
}

/* Unit coordinate of internal value v of parameter i: floats as
 * hpo/space.h maps them (log scales in log space), log ints in log space
 * (log(low - 1/2) .. log(high + 1/2)), linear ints their cell's centre. */
static double to_unit(const space *sp, int i, double v)
{
    const param *p = &sp->p[i];
    if (p->kind == PARAM_INT && p->log) {
        double la = log(p->low - 0.5), lb = log(p->high + 0.5);
        return (log(v) - la) / (lb - la);
    }
    if (discrete(p))
        return (v - p->low + 0.5) / (p->high - p->low + 1);
    return space_to_unit(sp, i, v);
}

/* ---- the Parzen estimator ---- */

static void pe_free(pe *e)
{
    free(e->logw);
    free(e->mu);
    free(e->sig);
    free(e->logz);
    free(e->tmp);
}

/* Optuna's default_weights(n) (1, the oldest ramped down past 25) and the
 * prior's weight, normalized, as logs. */
static void pe_weights(pe *e, double prior_weight)
{
    int nobs = e->n - 1;
    double sum = prior_weight;
    for (int c = 0; c < nobs; c++) {
        double w = 1;
        int nramp = nobs - TPE_FLAT_WEIGHTS;
        if (nobs >= TPE_FLAT_WEIGHTS && c < nramp)
            w = nramp > 1 ? 1.0 / nobs + (1 - 1.0 / nobs) * c / (nramp - 1) : 1.0 / nobs;
        e->logw[c] = w;
        sum += w;
    }
    e->logw[nobs] = prior_weight;
    for (int c = 0; c < e->n; c++)
        e->logw[c] = log(e->logw[c] / sum);
}

typedef struct ranked {
    double v;
    int i;
} ranked;

static int by_value(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    return x->v < y->v ? -1 : x->v > y->v ? 1 : x->i - y->i;
}

/* Univariate widths of dimension j: the larger gap to the sorted
 * neighbours (bounds 0 and 1 at the ends); without endpoints the
 * outermost kernels take the gap to their inner neighbour. */
static void pe_neighbour_widths(pe *e, int j, int endpoints, ranked *rk)
{
    int n = e->n, m = e->m;
    for (int c = 0; c < n; c++)
        rk[c] = (ranked){ e->mu[(size_t)c * m + j], c };
    qsort(rk, (size_t)n, sizeof *rk, by_value);
    for (int r = 0; r < n; r++) {
        double lo = r > 0 ? rk[r - 1].v : 0, hi = r + 1 < n ? rk[r + 1].v : 1, x = rk[r].v;
        double s = fmax(x - lo, hi - x);
        if (!endpoints && n >= 2 && r == 0)
            s = rk[1].v - x;
        if (!endpoints && n >= 2 && r == n - 1)
            s = x - rk[n - 2].v;
        e->sig[(size_t)rk[r].i * m + j] = s;
    }
}

/* Builds e over parameters dims (m) from the trials hist[ks[0..nobs)]
 * (chronological) plus the prior.  Returns 0 or TL_ERUNTIME (memory). */
static int pe_build(pe *e, const space *sp, const int *dims, int m, const trial *const *hist,
                    const int *ks, int nobs, const tpe_options *o, tl_err *err)
{
    int n = nobs + 1;
    memset(e, 0, sizeof *e);
    e->sp = sp;
    e->dims = dims;
    e->m = m;
    e->n = n;
    e->catv = o->prior_weight / n;
    e->logw = malloc(sizeof *e->logw * (size_t)n);
    e->mu = malloc(sizeof *e->mu * (size_t)n * m);
    e->sig = malloc(sizeof *e->sig * (size_t)n * m);
    e->logz = malloc(sizeof *e->logz * (size_t)n * m);
    e->tmp = malloc(sizeof *e->tmp * (size_t)n);
    ranked *rk = malloc(sizeof *rk * (size_t)n);
    if (!e->logw || !e->mu || !e->sig || !e->logz || !e->tmp || !rk) {
        free(rk);
        return tl_fail(err, TL_ERUNTIME, "tpe: out of memory for %d observations", nobs);
    }
    pe_weights(e, o->prior_weight);
    double sig0 = TPE_SIGMA0 * pow(nobs > 1 ? nobs : 1, -1.0 / (m + 4));
    double minsig = o->consider_magic_clip ? 1.0 / fmin(100.0, 1.0 + n) : TPE_EPS;
    for (int j = 0; j < m; j++) {
        int i = dims[j], cat = sp->p[i].kind == PARAM_CAT;
        for (int c = 0; c < n; c++) {
            double v = c < nobs ? hist[ks[c]]->values[i] : NAN;
            e->mu[(size_t)c * m + j] = cat ? v : c < nobs ? to_unit(sp, i, v) : 0.5;
            e->sig[(size_t)c * m + j] = sig0;
        }
        if (cat)
            continue;
        if (!o->multivariate)
            pe_neighbour_widths(e, j, o->consider_endpoints, rk);
        for (int c = 0; c < n; c++) {
            double *s = &e->sig[(size_t)c * m + j], mu = e->mu[(size_t)c * m + j];
            *s = c == nobs ? 1.0 : fmin(fmax(*s, minsig), 1.0);
            e->logz[(size_t)c * m + j] = normal_log_mass(-mu / *s, (1 - mu) / *s);
        }
    }
    free(rk);
    return 0;
}

/* log of kernel c's density (mass, for a linear int's cell or a choice)
 * at internal value x (unit coordinate u) of dimension j. */
static double kernel_log(const pe *e, int c, int j, double x, double u)
{
    const param *p = &e->sp->p[e->dims[j]];
    size_t at = (size_t)c * e->m + j;
    if (p->kind == PARAM_CAT) {
        if (c == e->n - 1)
            return -log(p->ncat);
        return log((e->catv + (x == e->mu[at])) / (p->ncat * e->catv + 1));
    }
    double mu = e->mu[at], s = e->sig[at];
    if (discrete(p)) {
        double nb = p->high - p->low + 1, a = (x - p->low) / nb;
        return normal_log_mass((a - mu) / s, (a + 1 / nb - mu) / s) - e->logz[at];
    }
    /* Optuna 3.1's kernel log-density (its _truncnorm.logpdf) leaves out
     * the -log(sigma) of the change of variable, so a kernel's height does
     * not grow as it narrows; kept, since 3.1's TPE is the definition */
    double z = (u - mu) / s;
    return -0.5 * z * z - 0.5 * log(2 * M_PI) - e->logz[at];
}

/* log density of the mixture at x (m internal values; u their unit
 * coordinates). */
static double pe_log_pdf(const pe *e, const double *x, const double *u)
{
    double top = -INFINITY;
    for (int c = 0; c < e->n; c++) {
        double acc = e->logw[c];
        for (int j = 0; j < e->m; j++)
            acc += kernel_log(e, c, j, x[j], u[j]);
        e->tmp[c] = acc;
        top = fmax(top, acc);
    }
    if (!isfinite(top))
        return top;
    double sum = 0;
    for (int c = 0; c < e->n; c++)
        sum += exp(e->tmp[c] - top);
    return top + log(sum);
}

/* One draw from the mixture into x (m internal values) and u. */
static void pe_sample(const pe *e, rng *r, double *x, double *u)
{
    double t = rng_uniform(r), cum = 0;
    int c = e->n - 1;
    for (int k = 0; k < e->n; k++) {
        cum += exp(e->logw[k]);
        if (t < cum) {
            c = k;
            break;
        }
    }
    for (int j = 0; j < e->m; j++) {
        int i = e->dims[j];
        const param *p = &e->sp->p[i];
        size_t at = (size_t)c * e->m + j;
        if (p->kind == PARAM_CAT) {
            double q = rng_uniform(r), acc = 0;
            int pick = p->ncat - 1;
            for (int k = 0; k < p->ncat; k++) {
                acc += c == e->n - 1 ? 1.0 / p->ncat
                                     : (e->catv + (k == e->mu[at])) / (p->ncat * e->catv + 1);
                if (q < acc) {
                    pick = k;
                    break;
                }
            }
            x[j] = pick;
            u[j] = NAN;
            continue;
        }
        double w = normal_truncated(r, e->mu[at], e->sig[at], 0, 1);
        x[j] = space_from_unit(e->sp, i, w);
        u[j] = p->kind == PARAM_FLOAT ? w : to_unit(e->sp, i, x[j]);
    }
}

/* The trials of ks (n) where every parameter of dims is active, into out;
 * returns how many. */
static int active_in(const trial *const *hist, const int *ks, int n, const int *dims, int m,
                     int *out)
{
    int c = 0;
    for (int a = 0; a < n; a++) {
        int ok = 1;
        for (int j = 0; j < m && ok; j++)
            ok = !isnan(hist[ks[a]]->values[dims[j]]);
        if (ok)
            out[c++] = ks[a];
    }
    return c;
}

/* Suggests the parameters dims (m) from l (below) and g (above): the best
 * of ei_candidates draws from l by log l - log g, into values. */
static int sample_group(const tpe_options *o, const space *sp, const int *dims, int m,
                        const trial *const *hist, const int *below, int nbelow, const int *above,
                        int nabove, rng *r, double *values, tl_err *err)
{
    int *kb = malloc(sizeof *kb * (size_t)(nbelow + nabove + 1)), *ka = kb ? kb + nbelow : NULL;
    if (!kb)
        return tl_fail(err, TL_ERUNTIME, "tpe: out of memory");
    int nb = active_in(hist, below, nbelow, dims, m, kb);
    int na = active_in(hist, above, nabove, dims, m, ka);
    pe l, g;
    int rc = pe_build(&l, sp, dims, m, hist, kb, nb, o, err);
    if (!rc)
        rc = pe_build(&g, sp, dims, m, hist, ka, na, o, err);
    else
        memset(&g, 0, sizeof g);
    double x[SPACE_MAX_PARAMS], u[SPACE_MAX_PARAMS], best[SPACE_MAX_PARAMS] = { 0 }, top = -INFINITY;
    for (int c = 0; !rc && c < o->ei_candidates; c++) {
        pe_sample(&l, r, x, u);
        double score = pe_log_pdf(&l, x, u) - pe_log_pdf(&g, x, u);
        if (c == 0 || score > top) {
            top = score;
            memcpy(best, x, sizeof x[0] * (size_t)m);
        }
    }
    for (int j = 0; !rc && j < m; j++)
        values[dims[j]] = best[j];
    pe_free(&l);
    pe_free(&g);
    free(kb);
    return rc;
}

/* ---- ranking the history ---- */

/* Trial t as an observation (Optuna's (step, value) ranking key); returns
 * 0 when t does not count (failed, no values, running without the liar). */
static int observe(const trial *t, int d, int sign, int liar, tpe_obs *ob)
{
    if (!t || t->nparams != d || !t->values)
        return 0;
    switch (t->state) {
    case TRIAL_COMPLETE:
        if (!isfinite(t->value))
            return 0;
        ob->step = -INFINITY;
        ob->loss = sign * t->value;
        return 1;
    case TRIAL_PRUNED:
    case TRIAL_PAUSED: { /* a paused trial ranks as pruned at its last step */
        int last = trial_last_step(t);
        double v;
        if (last >= 0 && trial_inter_at(t, last, &v)) {
            ob->step = -last;
            ob->loss = isnan(v) ? INFINITY : sign * v;
        } else {
            ob->step = 1;
            ob->loss = 0;
        }
        return 1;
    }
    case TRIAL_RUNNING:
    case TRIAL_WAITING:
        if (!liar)
            return 0;
        ob->step = INFINITY;
        ob->loss = INFINITY;
        return 1;
    default:
        return 0;
    }
}

static int by_rank(const void *a, const void *b)
{
    const tpe_obs *x = a, *y = b;
    if (x->step != y->step)
        return x->step < y->step ? -1 : 1;
    if (x->loss != y->loss)
        return x->loss < y->loss ? -1 : 1;
    return x->k - y->k;
}

static int by_int(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

static int tpe_suggest(void *self, const space *sp, const trial *const *hist, int nhist,
                       int direction, int number, rng *r, double *values, tl_err *err)
{
    const tpe_options *o = &((tpe *)self)->opt;
    int d = sp->n, sign = direction == STUDY_MAXIMIZE ? -1 : 1, nob = 0, n = 0;
    tpe_obs *ob = malloc(sizeof *ob * (size_t)(nhist + 1));
    int *ks = malloc(sizeof *ks * (size_t)(nhist + 1));
    if (!ob || !ks) {
        free(ob);
        free(ks);
        return tl_fail(err, TL_ERUNTIME, "tpe: out of memory for %d trials", nhist);
    }
    for (int k = 0; k < nhist; k++)
        if (observe(hist[k], d, sign, o->constant_liar, &ob[nob])) {
            ob[nob].k = k;
            n += isfinite(ob[nob].step) || ob[nob].step < 0;
            nob++;
        }
    int rc = 0;
    if (n < o->startup_trials || n == 0) {
        double u[SPACE_MAX_PARAMS];
        for (int i = 0; i < d; i++)
            u[i] = rng_uniform(r);
        space_from_unit_vec(sp, u, values);
        goto done;
    }
    qsort(ob, (size_t)nob, sizeof *ob, by_rank);
    int nbelow = (int)ceil(o->gamma * n);
    nbelow = nbelow > o->gamma_max ? o->gamma_max : nbelow;
    for (int a = 0; a < nob; a++)
        ks[a] = ob[a].k;
    qsort(ks, (size_t)nbelow, sizeof *ks, by_int); /* each set in trial order */
    qsort(ks + nbelow, (size_t)(nob - nbelow), sizeof *ks, by_int);
    int dims[SPACE_MAX_PARAMS], m = 0, joint[SPACE_MAX_PARAMS] = { 0 };
    if (o->multivariate) {
        for (int i = 0; i < d; i++)
            if (sp->p[i].parent < 0) {
                dims[m++] = i;
                joint[i] = 1;
            }
        if (m > 0)
            rc = sample_group(o, sp, dims, m, hist, ks, nbelow, ks + nbelow, nob - nbelow, r,
                              values, err);
    }
    for (int i = 0; i < d && !rc; i++)
        if (!joint[i])
            rc = sample_group(o, sp, &i, 1, hist, ks, nbelow, ks + nbelow, nob - nbelow, r,
                              values, err);
    if (!rc)
        space_apply_conditions(sp, values);
done:
    free(ob);
    free(ks);
    return rc;
}

const sampler_vt sampler_tpe_vt = {
    .name = "tpe",
    .validate = tpe_validate,
    .init = tpe_init,
    .suggest = tpe_suggest,
    .free = tpe_free,
    .ignores_seed = 0,
    .write_attrs = tpe_write_attrs,
};
