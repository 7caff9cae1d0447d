/* hpo/sampler_cmaes.c: the "cmaes" sampler: CMA-ES (Hansen's tutorial,
 * "The CMA Evolution Strategy", 2016) with the defaults of the `cmaes`
 * package Optuna 3.1's CmaEsSampler drives, IPOP restarts (Auger and
 * Hansen 2005) and a margin for integers (Hamano et al. 2022).
 *
 * Startup (cmaes.startup_trials, 1 by default, Optuna's n_startup_trials):
 * while fewer trials than that are COMPLETE, a suggestion is uniform in
 * the whole space, as Optuna's CmaEsSampler hands it to its independent
 * RandomSampler; those trials are observations for nothing but the
 * count (Optuna tells CMA-ES only the trials it drew), so with the
 * default the first CMA-ES generation starts at trial 1, at the centre.
 *
 * Coordinates: the unconditional float and int parameters, in the unit
 * cube of hpo/space.h (log scales in log space, an int at its cell's
 * centre): the mean starts at the centre, the step size at sigma0 (1/6,
 * Optuna's min(range)/6), the population at 4 + floor(3 ln n).  A sample
 * outside the cube is drawn again (up to 10 n times, Optuna's
 * n_max_resampling, then once more and clipped), as the cmaes package
 * does.  The update is the cmaes package's CMA.tell (0.9.1, the Debian package): all
 * lambda ranked samples weighted, the worse half negatively (active
 * CMA, their weights scaled by n / |C^(-1/2) y|^2), the covariance's
 * decay 1 - c1 - cmu sum(w), the step size's exponent uncapped.  Categorical and conditional parameters are
 * drawn uniformly and independently, as Optuna's CmaEsSampler hands them
 * to its independent (random) sampler; a space with no unconditional
 * float or int parameter is refused.
 *
 * State as a function of the history: every suggestion replays the study
 * in trial order (the sampler keeps nothing between calls, so a study
 * killed and resumed continues exactly, and the state never needs to be
 * stored).  A trial belongs to the generation that was current when it
 * was asked: the replay closes a generation at trial k once popsize of
 * its members were COMPLETE (finite value) before trial k started (by the
 * stored started/finished times; trials without times count as finished,
 * which is the sequential case).  The generation is then told its first
 * popsize such members (in trial order); members that finished later were
 * drawn from the old distribution and are left out, as Optuna's
 * CmaEsSampler leaves out a generation's extra trials.  Pruned, paused
 * and failed trials are not observations (Optuna's default).  Each trial
 * draws from its own generator (the study's, per trial number), so
 * parallel workers and MPI ranks get distinct points.
 *
 * IPOP (cmaes.restart = ipop, the default): when a run stagnates (the
 * cmaes package's tests: flat values over 10 + 30n/popsize generations,
 * a step size gone below 1e-12 sigma0 or above 1e4, no effect along an
 * axis or a coordinate, a condition number above 1e14) the next run
 * starts at a uniform random mean with popsize * inc_popsize^restarts.
 *
 * Margin (cmaes.margin, on by default): an integer coordinate is sampled
 * with its spread widened until a draw leaves the mean's cell with
 * probability >= 1/(n popsize), so integer dimensions never freeze; the
 * update uses the evaluated cells' centres (Optuna's CmaEsSampler without
 * with_margin does the same), not the continuous draws.
 *
 * Where the defaults differ from Optuna 3.1's CmaEsSampler(): the step
 * size is 1/6 of every unit-cube side (Optuna's min(range)/6 in its own
 * coordinates: the same when all ranges are equal, as on the bench-hpo
 * functions; smaller steps along the wider parameters otherwise); IPOP
 * and the margin are on (Optuna: restart_strategy None, with_margin
 * False); one coordinate still runs CMA-ES (Optuna hands a 1-d space
 * to its random sampler).
 *
 * Does not: use learning-rate adaptation,
 * separable CMA, warm starts, or pruned trials' intermediate values.
 */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hpo/normal.h"
#include "hpo/sampler.h"
#include "hpo/sampler_cmaes.h"
#include "hpo/study.h"

#define CMA_MAXN SPACE_MAX_PARAMS
#define CMA_HIST 1024         /* ring of per-generation best and worst values */
#define CMA_TOLFUN 1e-12
#define CMA_SIGMA_MAX 1e32
#define CMA_EPS 1e-8 /* the cmaes package's _EPS */
#define CMA_TOLXUP 1e4
#define CMA_MAX_COND 1e14
#define CMA_STREAM_RESTART 0x434d415253ULL

/* LAPACK (OpenBLAS): eigen-decomposition of a symmetric matrix. */
void dsyev_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda,
            double *w, double *work, const int *lwork, int *info);

/* One CMA-ES run, between restarts (Hansen's notation). */
typedef struct cma {
    int n, lambda, mu, gen;
    double *w;                 /* (lambda) weights: the mu best positive, summing to 1; the
                                  rest negative (active CMA, the cmaes package's) */
    double wsum;               /* sum of all lambda weights */
    double mueff, cs, ds, cc, c1, cmu, chin;
    double sigma, sigma0;
    double m[CMA_MAXN], pc[CMA_MAXN], ps[CMA_MAXN];
    double C[CMA_MAXN * CMA_MAXN];  /* (n, n) covariance */
    double B[CMA_MAXN * CMA_MAXN];  /* (n, n) eigenvectors, column-major */
    double D[CMA_MAXN];             /* (n) sqrt of the eigenvalues */
    double fh[CMA_HIST];            /* best and worst value of recent generations */
    int nfh;
    double frange;                  /* spread of the last generation's values */
} cma;

typedef struct cmaes {
    cmaes_options opt;
    uint64_t seed;
    int n;                     /* CMA coordinates */
    int dims[CMA_MAXN];        /* (n) their parameter indices */
    int restarts;              /* of the replayed state */
    cma es;
    int cap;
    int *mem;                  /* (cap) members of the open generation, history indices */
    double *X, *f;             /* (lambda, n), (lambda): a generation being told */
    int xcap;
} cmaes;

void cmaes_options_default(cmaes_options *o)
{
    memset(o, 0, sizeof *o);
    o->sigma0 = 0;
    o->popsize = 0;
    snprintf(o->restart, sizeof o->restart, "ipop");
    o->inc_popsize = 2;
    o->margin = 1;
    o->startup_trials = 1;
}

static cmaes_options options_of(const void *opts)
{
    cmaes_options o;
    cmaes_options_default(&o);
    return opts ? *(const cmaes_options *)opts : o;
}

/* The CMA coordinates of sp (unconditional floats and ints) into dims;
 * returns how many. */
static int cma_dims(const space *sp, int *dims)
{
    int n = 0;
    for (int i = 0; i < sp->n; i++)
        if (sp->p[i].kind != PARAM_CAT && sp->p[i].parent < 0)
            dims[n++] = i;
    return n;
}

static int cmaes_validate(const space *sp, const void *opts, const struct study_config *cfg,
                          tl_err *err)
{
    cmaes_options o = options_of(opts);
    if (!(o.sigma0 >= 0 && o.sigma0 <= 1))
        return tl_fail(err, TL_EINPUT,
                       "cmaes.sigma0: must be in [0, 1] (unit-cube coordinates; 0: 1/6), got %g",
                       o.sigma0);
    if (o.popsize != 0 && o.popsize < 2)
        return tl_fail(err, TL_EINPUT, "cmaes.popsize: must be 0 (automatic) or >= 2 (got %d)",
                       o.popsize);
    if (strcmp(o.restart, "none") && strcmp(o.restart, "ipop"))
        return tl_fail(err, TL_EINPUT, "cmaes.restart: unknown strategy '%s' (none, ipop)",
                       o.restart);
    if (o.inc_popsize < 1 || o.inc_popsize > 100)
        return tl_fail(err, TL_EINPUT, "cmaes.inc_popsize: must be in [1, 100] (got %d)",
                       o.inc_popsize);
    if (o.startup_trials < 0 || o.startup_trials > 1000000)
        return tl_fail(err, TL_EINPUT, "cmaes.startup_trials: must be in [0, 1000000] (got %d)",
                       o.startup_trials);
    int dims[CMA_MAXN], ncat = 0;
    for (int i = 0; i < sp->n; i++)
        ncat += sp->p[i].kind == PARAM_CAT;
    if (sp->n > 0 && ncat == sp->n)
        return tl_fail(err, TL_EINPUT,
                       "study.sampler: cmaes needs a float or int parameter, and the space has "
                       "only categorical ones (use tpe or random)");
    if (cma_dims(sp, dims) == 0)
        return tl_fail(err, TL_EINPUT,
                       "study.sampler: cmaes needs a float or int parameter that no condition "
                       "switches off (use tpe or random)");
    return 0;
}

/* ---- one CMA-ES run ---- */

/* Starts a run over n coordinates with population lambda at mean m0 and
 * step size sigma0.  Returns 0 or TL_ERUNTIME (memory). */
static int cma_start(cma *es, int n, int lambda, const double *m0, double sigma0, tl_err *err)
{
    free(es->w);
    memset(es, 0, sizeof *es);
    es->n = n;
    es->lambda = lambda;
    es->mu = lambda / 2;
    es->w = malloc(sizeof *es->w * (size_t)lambda);
    if (!es->w)
        return tl_fail(err, TL_ERUNTIME, "cmaes: out of memory");
    /* the cmaes package's weights (Hansen 2016, eqs. 49-53): log-ranks,
     * the mu best scaled to sum 1, the others negative, scaled to sum
     * -min_alpha */
    double sp = 0, sp2 = 0, sn = 0, sn2 = 0;
    for (int i = 0; i < lambda; i++) {
        double w = es->w[i] = log((lambda + 1) / 2.0) - log(i + 1.0);
        if (i < es->mu)
            sp += w, sp2 += w * w;
        else
            sn += w, sn2 += w * w;
    }
    double mueff = es->mueff = sp * sp / sp2;
    double mueff_minus = sn2 > 0 ? sn * sn / sn2 : 0;
    es->cs = (mueff + 2) / (n + mueff + 5);
    es->ds = 1 + 2 * fmax(0, sqrt((mueff - 1) / (n + 1)) - 1) + es->cs;
    es->cc = (4 + mueff / n) / (n + 4 + 2 * mueff / n);
    es->c1 = 2 / ((n + 1.3) * (n + 1.3) + mueff);
    es->cmu = fmin(1 - es->c1 - 1e-8,
                   2 * (mueff - 2 + 1 / mueff) / ((n + 2.0) * (n + 2.0) + mueff));
    double alpha = 1 + 2 * mueff_minus / (mueff + 2); /* cmu 0 (lambda 2): no rank-mu term */
    if (es->cmu > 0)
        alpha = fmin(alpha, fmin(1 + es->c1 / es->cmu, (1 - es->c1 - es->cmu) / (n * es->cmu)));
    double pos = 0, neg = 0;
    for (int i = 0; i < lambda; i++)
        if (es->w[i] > 0)
            pos += es->w[i];
        else
            neg -= es->w[i];
    es->wsum = 0;
    for (int i = 0; i < lambda; i++) {
        es->w[i] = es->w[i] >= 0 ? es->w[i] / pos : alpha / neg * es->w[i];
        es->wsum += es->w[i];
    }
    es->chin = sqrt(n) * (1 - 1 / (4.0 * n) + 1 / (21.0 * n * n));
    es->sigma = es->sigma0 = sigma0;
    for (int i = 0; i < n; i++) {
        es->m[i] = m0[i];
        es->D[i] = 1;
        es->C[i * n + i] = es->B[i * n + i] = 1;
    }
    return 0;
}

/* B and D from C (LAPACK dsyev).  Returns 0 or TL_ERUNTIME. */
static int cma_eigen(cma *es, tl_err *err)
{
    int n = es->n, info = 0, lwork = 66 * CMA_MAXN;
    double work[66 * CMA_MAXN], ev[CMA_MAXN];
    for (int i = 0; i < n; i++) /* symmetrize, then decompose a copy */
        for (int j = 0; j < i; j++)
            es->C[i * n + j] = es->C[j * n + i] = 0.5 * (es->C[i * n + j] + es->C[j * n + i]);
    memcpy(es->B, es->C, sizeof es->B[0] * (size_t)n * n);
    /* a tiny matrix: on one thread (OpenBLAS's OpenMP build would wake
     * every core for it, which cost 100x the work on a loaded machine);
     * omp_set_num_threads changes only this thread's setting */
    int threads = omp_get_max_threads();
    omp_set_num_threads(1);
    dsyev_("V", "U", &n, es->B, &n, ev, work, &lwork, &info);
    omp_set_num_threads(threads);
    if (info != 0)
        return tl_fail(err, TL_ERUNTIME, "cmaes: eigendecomposition failed (dsyev info %d)", info);
    int clamped = 0;
    for (int i = 0; i < n; i++) {
        clamped |= ev[i] < 0;
        es->D[i] = sqrt(ev[i] < 0 ? CMA_EPS : ev[i]);
    }
    for (int i = 0; clamped && i < n; i++) /* as the cmaes package: C = B D^2 B' */
        for (int j = 0; j < n; j++) {
            double c = 0;
            for (int k = 0; k < n; k++)
                c += es->B[k * n + i] * es->D[k] * es->D[k] * es->B[k * n + j];
            es->C[i * n + j] = c;
        }
    return 0;
}

/* out = C^(-1/2) v = B D^-1 B' v (n). */
static void cma_inv_sqrt(const cma *es, const double *v, double *out)
{
    int n = es->n;
    double t[CMA_MAXN];
    for (int j = 0; j < n; j++) {
        t[j] = 0;
        for (int i = 0; i < n; i++)
            t[j] += es->B[j * n + i] * v[i];
        t[j] /= es->D[j];
    }
    for (int i = 0; i < n; i++) {
        out[i] = 0;
        for (int j = 0; j < n; j++)
            out[i] += es->B[j * n + i] * t[j];
    }
}

/* Tells the run one generation: X (lambda, n) unit coordinates, f
 * (lambda) values to minimize.  Returns 0 or TL_ERUNTIME. */
static int cma_tell(cma *es, const double *X, const double *f, tl_err *err)
{
    int n = es->n, lam = es->lambda, idx[4096];
    if (lam > 4096)
        return tl_fail(err, TL_ERUNTIME, "cmaes: population %d is too large", lam);
    for (int i = 0; i < lam; i++) /* insertion sort by value (stable) */
        for (int j = i; j >= 0; j--) {
            if (j == 0 || f[idx[j - 1]] <= f[i]) {
                memmove(idx + j + 1, idx + j, sizeof *idx * (size_t)(i - j));
                idx[j] = i;
                break;
            }
        }
    double yw[CMA_MAXN] = { 0 }, cy[CMA_MAXN], m0[CMA_MAXN], y[CMA_MAXN], ps2 = 0;
    double sig = es->sigma;
    memcpy(m0, es->m, sizeof m0[0] * (size_t)n);
    for (int k = 0; k < es->mu; k++)
        for (int i = 0; i < n; i++)
            yw[i] += es->w[k] * (X[(size_t)idx[k] * n + i] - m0[i]) / sig;
    cma_inv_sqrt(es, yw, cy);
    for (int i = 0; i < n; i++) {
        es->m[i] += sig * yw[i];
        es->ps[i] = (1 - es->cs) * es->ps[i] + sqrt(es->cs * (2 - es->cs) * es->mueff) * cy[i];
        ps2 += es->ps[i] * es->ps[i];
    }
    es->gen++;
    double psn = sqrt(ps2);
    es->sigma = fmin(sig * exp((es->cs / es->ds) * (psn / es->chin - 1)), CMA_SIGMA_MAX);
    /* h_sigma with the cmaes package's exponent 2 (g + 1), g counted after the tell */
    int hs = psn / sqrt(1 - pow(1 - es->cs, 2.0 * (es->gen + 1))) < (1.4 + 2.0 / (n + 1)) * es->chin;
    for (int i = 0; i < n; i++)
        es->pc[i] = (1 - es->cc) * es->pc[i] + hs * sqrt(es->cc * (2 - es->cc) * es->mueff) * yw[i];
    double keep = 1 + (1 - hs) * es->c1 * es->cc * (2 - es->cc) - es->c1 - es->cmu * es->wsum;
    double R[CMA_MAXN * CMA_MAXN] = { 0 }; /* rank-mu: sum_k w_k y_k y_k', active weights */
    for (int k = 0; k < lam; k++) {
        double wk = es->w[k];
        for (int i = 0; i < n; i++)
            y[i] = (X[(size_t)idx[k] * n + i] - m0[i]) / sig;
        if (wk < 0) { /* a negative weight shrinks with the Mahalanobis length of y_k */
            double q = 0;
            cma_inv_sqrt(es, y, cy);
            for (int i = 0; i < n; i++)
                q += cy[i] * cy[i];
            wk *= n / (q + CMA_EPS);
        }
        for (int i = 0; i < n; i++)
            for (int j = 0; j <= i; j++)
                R[i * n + j] += wk * y[i] * y[j];
    }
    for (int i = 0; i < n; i++)
        for (int j = 0; j <= i; j++) {
            es->C[i * n + j] = keep * es->C[i * n + j] + es->c1 * es->pc[i] * es->pc[j] +
                               es->cmu * R[i * n + j];
            es->C[j * n + i] = es->C[i * n + j];
        }
    /* the run's recent values, for the stagnation test */
    double best = f[idx[0]], worst = f[idx[lam - 1]];
    es->frange = worst - best;
    if (es->nfh + 2 > CMA_HIST) {
        memmove(es->fh, es->fh + 2, sizeof es->fh[0] * (CMA_HIST - 2));
        es->nfh -= 2;
    }
    es->fh[es->nfh++] = best;
    es->fh[es->nfh++] = worst;
    return cma_eigen(es, err);
}

/* 1 when the run has stagnated (the cmaes package's should_stop). */
static int cma_should_stop(const cma *es)
{
    int n = es->n, term = 10 + (int)ceil(30.0 * n / es->lambda);
    if (2 * term > CMA_HIST)
        term = CMA_HIST / 2;
    if (es->gen > term && es->frange < CMA_TOLFUN) {
        double lo = INFINITY, hi = -INFINITY;
        for (int k = es->nfh - 2 * term; k < es->nfh; k++) {
            lo = fmin(lo, es->fh[k]);
            hi = fmax(hi, es->fh[k]);
        }
        if (hi - lo < CMA_TOLFUN)
            return 1;
    }
    double dmax = 0, dmin = INFINITY;
    int small = 1;
    for (int i = 0; i < n; i++) {
        dmax = fmax(dmax, es->D[i]);
        dmin = fmin(dmin, es->D[i]);
        double tolx = 1e-12 * es->sigma0;
        small &= es->sigma * fabs(es->pc[i]) < tolx && es->sigma * sqrt(es->C[i * n + i]) < tolx;
        if (es->m[i] == es->m[i] + 0.2 * es->sigma * sqrt(es->C[i * n + i]))
            return 1; /* no effect along coordinate i */
    }
    if (small || es->sigma * dmax > CMA_TOLXUP || dmax * dmax > CMA_MAX_COND * dmin * dmin)
        return 1;
    int a = es->gen % n, same = 1; /* no effect along principal axis a */
    for (int i = 0; i < n; i++)
        same &= es->m[i] == es->m[i] + 0.1 * es->sigma * es->D[a] * es->B[a * n + i];
    return same;
}

/* ---- the sampler: replaying the study ---- */

static void cmaes_free(void *self)
{
    cmaes *s = self;
    if (!s)
        return;
    free(s->es.w);
    free(s->mem);
    free(s->X);
    free(s->f);
    free(s);
}

static int cmaes_init(void **self, const space *sp, const void *opts,
                      const struct study_config *cfg, uint64_t seed, tl_err *err)
{
    *self = NULL;
    int rc = cmaes_validate(sp, opts, cfg, err);
    if (rc)
        return rc;
    cmaes *s = calloc(1, sizeof *s);
    if (!s)
        return tl_fail(err, TL_ERUNTIME, "cmaes: out of memory");
    s->opt = options_of(opts);
    s->seed = seed;
    s->n = cma_dims(sp, s->dims);
    *self = s;
    return 0;
}

static int cmaes_write_attrs(void *self, study *st, tl_err *err)
{
    const cmaes_options *o = &((cmaes *)self)->opt;
    char buf[256];
    snprintf(buf, sizeof buf,
             "{\"sigma0\": %.17g, \"popsize\": %d, \"restart\": \"%s\", \"inc_popsize\": %d, "
             "\"margin\": %s, \"startup_trials\": %d}",
             o->sigma0, o->popsize, o->restart, o->inc_popsize, o->margin ? "true" : "false",
             o->startup_trials);
    return study_attr_set(st, CMAES_ATTR_OPTIONS, buf, err);
}

/* Starts run number `restart` (0: the first): the centre, or a uniform
 * mean drawn from the study seed and the restart; IPOP's population. */
static int start_run(cmaes *s, int restart, tl_err *err)
{
    int n = s->n, lam = s->opt.popsize > 0 ? s->opt.popsize : 4 + (int)floor(3 * log(n));
    double m0[CMA_MAXN];
    rng r;
    rng_seed(&r, s->seed, CMA_STREAM_RESTART + (uint64_t)restart);
    for (int i = 0; i < n; i++)
        m0[i] = restart ? rng_uniform(&r) : 0.5;
    for (int k = 0; k < restart && lam <= 4096 / s->opt.inc_popsize; k++)
        lam *= s->opt.inc_popsize;
    s->restarts = restart;
    int rc = cma_start(&s->es, n, lam, m0, s->opt.sigma0 > 0 ? s->opt.sigma0 : 1.0 / 6, err);
    if (rc)
        return rc;
    if (lam > s->xcap) {
        free(s->X);
        free(s->f);
        s->X = malloc(sizeof *s->X * (size_t)lam * n);
        s->f = malloc(sizeof *s->f * (size_t)lam);
        s->xcap = s->X && s->f ? lam : 0;
        if (!s->xcap)
            return tl_fail(err, TL_ERUNTIME, "cmaes: out of memory");
    }
    return 0;
}

/* 1 when trial t is an observation that had finished by time `before`
 * (trials without times count as finished: the sequential case). */
static int observed_by(const trial *t, double before)
{
    if (t->state != TRIAL_COMPLETE || !isfinite(t->value))
        return 0;
    return !(before > 0) || !(t->finished > 0) || t->finished <= before;
}

/* Closes the open generation (s->mem, *nm members) when popsize of its
 * members had completed by `before`: tells the run, clears the members,
 * and restarts (IPOP) when the run stagnated.  Returns 0 or a tl_code. */
static int close_generation(cmaes *s, const space *sp, const trial *const *hist, int *nm,
                            double before, int sign, tl_err *err)
{
    int lam = s->es.lambda, got = 0;
    for (int a = 0; a < *nm && got < lam; a++) {
        const trial *t = hist[s->mem[a]];
        if (!observed_by(t, before))
            continue;
        for (int i = 0; i < s->n; i++)
            s->X[(size_t)got * s->n + i] = space_to_unit(sp, s->dims[i], t->values[s->dims[i]]);
        s->f[got++] = sign * t->value;
    }
    if (got < lam)
        return 0;
    *nm = 0;
    int rc = cma_tell(&s->es, s->X, s->f, err);
    if (!rc && !strcmp(s->opt.restart, "ipop") && cma_should_stop(&s->es))
        rc = start_run(s, s->restarts + 1, err);
    return rc;
}

/* 1 when at least `need` of hist[0..k) are observations that had
 * finished by `before`: CMA-ES, not the startup sampler, draws a trial
 * asked then (Optuna's len(completed_trials) >= n_startup_trials). */
static int past_startup(const trial *const *hist, int k, double before, int need)
{
    for (int j = 0; j < k && need > 0; j++)
        need -= hist[j] && observed_by(hist[j], before);
    return need <= 0;
}

/* Rebuilds the state the history leads to (see the file comment). */
static int replay(cmaes *s, const space *sp, const trial *const *hist, int nhist, int sign,
                  tl_err *err)
{
    if (nhist + 1 > s->cap) {
        int *mem = realloc(s->mem, sizeof *mem * (size_t)(nhist + 64));
        if (!mem)
            return tl_fail(err, TL_ERUNTIME, "cmaes: out of memory for %d trials", nhist);
        s->mem = mem;
        s->cap = nhist + 64;
    }
    int rc = start_run(s, 0, err), nm = 0, on = 0;
    for (int k = 0; k < nhist && !rc; k++) {
        const trial *t = hist[k];
        if (!t || t->nparams != sp->n || !t->values)
            continue;
        /* a startup trial was drawn at random: not a member of a
         * generation (Optuna tells CMA-ES only the trials it drew); once
         * one trial is past the startup, every later one is */
        on = on || past_startup(hist, k, t->started, s->opt.startup_trials);
        if (!on)
            continue;
        rc = close_generation(s, sp, hist, &nm, t->started, sign, err);
        s->mem[nm++] = k;
    }
    return rc ? rc : close_generation(s, sp, hist, &nm, INFINITY, sign, err);
}

/* Unit coordinate of the edge value e (an int's cell edge, v +- 1/2) of
 * parameter p. */
static double cell_edge(const param *p, double e)
{
    if (p->log)
        return (log(e) - log(p->low - 0.5)) / (log(p->high + 0.5) - log(p->low - 0.5));
    return (e - p->low + 0.5) / (p->high - p->low + 1);
}

/* The margin: per coordinate, the factor (>= 1) that widens an integer's
 * spread until leaving the mean's cell has probability >= 1/(n lambda). */
static void margin(const cmaes *s, const space *sp, double *A)
{
    const cma *es = &s->es;
    int n = s->n;
    double z = normal_ppf(1 - 1.0 / ((double)n * es->lambda));
    for (int i = 0; i < n; i++) {
        const param *p = &sp->p[s->dims[i]];
        A[i] = 1;
        if (!s->opt.margin || p->kind != PARAM_INT || p->high <= p->low)
            continue;
        double v = space_from_unit(sp, s->dims[i], es->m[i]), l = INFINITY, mi = es->m[i];
        if (v > p->low)
            l = fmin(l, mi - cell_edge(p, v - 0.5));
        if (v < p->high)
            l = fmin(l, cell_edge(p, v + 0.5) - mi);
        double spread = es->sigma * sqrt(es->C[i * n + i]) * z;
        if (isfinite(l) && spread > 0 && l > spread)
            A[i] = l / spread;
    }
}

static int cmaes_suggest(void *self, const space *sp, const trial *const *hist, int nhist,
                         int direction, int number, rng *r, double *values, tl_err *err)
{
    cmaes *s = self;
    double A[CMA_MAXN], x[CMA_MAXN], u[SPACE_MAX_PARAMS];
    if (!past_startup(hist, nhist, INFINITY, s->opt.startup_trials)) {
        for (int i = 0; i < sp->n; i++) /* the startup: uniform, as Optuna's RandomSampler */
            u[i] = rng_uniform(r);
        space_from_unit_vec(sp, u, values);
        return 0;
    }
    int rc = replay(s, sp, hist, nhist, direction == STUDY_MAXIMIZE ? -1 : 1, err);
    if (rc)
        return rc;
    const cma *es = &s->es;
    int n = s->n;
    margin(s, sp, A);
    for (int attempt = 0; attempt <= 10 * n; attempt++) { /* Optuna's n_max_resampling */
        double zd[CMA_MAXN];
        int inside = 1;
        for (int j = 0; j < n; j++)
            zd[j] = es->D[j] * rng_normal(r);
        for (int i = 0; i < n; i++) {
            double y = 0;
            for (int j = 0; j < n; j++)
                y += es->B[j * n + i] * zd[j];
            x[i] = es->m[i] + es->sigma * A[i] * y;
            inside &= x[i] >= 0 && x[i] <= 1;
        }
        if (inside)
            break;
    }
    for (int i = 0; i < sp->n; i++)
        u[i] = rng_uniform(r); /* categorical and conditional: independent */
    for (int i = 0; i < n; i++)
        u[s->dims[i]] = x[i] < 0 ? 0 : x[i] > 1 ? 1 : x[i];
    space_from_unit_vec(sp, u, values);
    return 0;
}

int cmaes_distribution(const space *sp, const cmaes_options *o, const trial *const *hist,
                       int nhist, int direction, double *mean, double *sigma, double *C, int *n,
                       tl_err *err)
{
    void *self;
    int rc = cmaes_init(&self, sp, o, NULL, 0, err);
    if (rc)
        return rc;
    cmaes *s = self;
    rc = replay(s, sp, hist, nhist, direction == STUDY_MAXIMIZE ? -1 : 1, err);
    if (!rc) {
        *n = s->n;
        *sigma = s->es.sigma;
        memcpy(mean, s->es.m, sizeof *mean * (size_t)s->n);
        memcpy(C, s->es.C, sizeof *C * (size_t)s->n * s->n);
    }
    cmaes_free(s);
    return rc;
}

const sampler_vt sampler_cmaes_vt = {
    .name = "cmaes",
    .validate = cmaes_validate,
    .init = cmaes_init,
    .suggest = cmaes_suggest,
    .free = cmaes_free,
    .ignores_seed = 0,
    .write_attrs = cmaes_write_attrs,
};
