/* hpo/sampler_evolution.c: the "evolution" sampler: regularized (aging)
 * evolution (Real et al. 2019, "Regularized Evolution for Image Classifier
 * Architecture Search", Algorithm 1) over any space; for architecture
 * search the genes are the space's parameters (model.layers, model.heads,
 * model.d_model, model.width1..8, ...).
 *
 * Population: rebuilt from the study's history at every suggestion, so
 * storage is the only truth and a resumed study goes on where it stopped.
 * The members are the last P = population EVALUATED trials by number
 * (evaluated: COMPLETE, PRUNED or PAUSED with a finite value; with a
 * multi-fidelity scheduler a member's fitness is its last reported value),
 * so each new member retires the oldest one (the lowest number).
 * Initial population: while fewer than P trials are evaluated or in flight
 * (RUNNING, WAITING), a suggestion is a uniform draw from the space, the
 * same draw the random sampler makes for that trial.  Then each suggestion
 * runs a tournament: S = sample_size distinct members drawn uniformly
 * (all of them when fewer), the best by the study's direction wins (ties:
 * the lower number); with a second objective (study_config.cost) the
 * winner is drawn uniformly from the tournament's first Pareto front of
 * (value, cost).  Pending trials never make a suggestion wait: with
 * parallel workers the tournament runs over the members evaluated so far.
 *
 * Mutation: the child is the winner with ONE active gene changed, chosen
 * uniformly among those with more than one value.  Half the time the gene
 * moves to a neighbouring value: a categorical's next or previous choice
 * (choices are an ordered list), an int's v +- 1 (ranges of more than 16
 * values and log ranges move 1/16 of the unit interval instead), a float
 * by N(0, 0.1) in unit coordinates; otherwise it takes a uniformly random
 * different value.  Genes a mutation makes active (a per-layer width when
 * model.layers grows) get uniform values; those it makes inactive become
 * NAN.  A child equal to the values of any trial already in the history is
 * mutated again from the same parent, up to 16 times, so repeats are rare;
 * one that remains a repeat is returned (the study reuses the earlier
 * result when reuse_duplicates is on).
 *
 * Constraints (study_config.accept) are checked by the study, which asks
 * again with the same trial generator when a child breaks one; the
 * parent of the last suggestion is reported through parent_of_last (-1
 * for a random draw).  All draws come from the trial's generator `r`.
 * Does not: keep state across suggestions beyond scratch buffers and the
 * last parent, look at intermediate values, crossover.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hpo/sampler_evolution.h"

#include "hpo/pareto.h"
#include "hpo/sampler.h"
#include "hpo/study.h"

#define EVO_NOVELTY_TRIES 16
#define EVO_NEIGHBOUR_VALUES 16 /* int ranges up to this many values step by 1 */

typedef struct evo {
    int P, S;                    /* population, tournament size */
    double (*cost)(void *ud, const space *sp, const double *values);
    void *cost_ud;
    int last_parent;
    int cap;
    int *members;                /* (cap) history indices of evaluated trials */
    int *pick;                   /* (cap) scratch for the tournament draw */
    double *f;                   /* (S, 2) tournament objectives */
    int *rank;                   /* (S) */
} evo;

static void evo_free(void *self)
{
    evo *e = self;
    if (!e)
        return;
    free(e->members);
    free(e->pick);
    free(e->f);
    free(e->rank);
    free(e);
}

void evolution_options_default(evolution_options *o)
{
    o->population = 16;
    o->sample_size = 4;
}

/* The options opts points to, or the defaults. */
static evolution_options options_of(const void *opts)
{
    evolution_options o;
    evolution_options_default(&o);
    return opts ? *(const evolution_options *)opts : o;
}

static int evo_validate(const space *sp, const void *opts, const struct study_config *cfg,
                        tl_err *err)
{
    evolution_options o = options_of(opts);
    int P = o.population, S = o.sample_size;
    if (P < 1)
        return tl_fail(err, TL_EINPUT, "nas.population: must be >= 1 (got %d)", P);
    if (S < 1 || S > P)
        return tl_fail(err, TL_EINPUT, "nas.sample_size: must be in [1, nas.population = %d] (got %d)", P, S);
    return 0;
}

static int evo_init(void **self, const space *sp, const void *opts, const struct study_config *cfg,
                    uint64_t seed, tl_err *err)
{
    *self = NULL;
    int rc = evo_validate(sp, opts, cfg, err);
    if (rc)
        return rc;
    evolution_options o = options_of(opts);
    int P = o.population, S = o.sample_size;
    evo *e = calloc(1, sizeof *e);
    if (!e)
        return tl_fail(err, TL_ERUNTIME, "evolution: out of memory");
    e->P = P;
    e->S = S;
    e->last_parent = -1;
    if (cfg) {
        e->cost = cfg->cost;
        e->cost_ud = cfg->cost_ud;
    }
    e->f = malloc(sizeof *e->f * (size_t)S * 2);
    e->rank = malloc(sizeof *e->rank * (size_t)S);
    if (!e->f || !e->rank) {
        evo_free(e);
        return tl_fail(err, TL_ERUNTIME, "evolution: out of memory");
    }
    *self = e;
    return 0;
}

static int evo_reserve(evo *e, int n, tl_err *err)
{
    if (n <= e->cap)
        return 0;
    int cap = e->cap ? e->cap : 64;
    while (cap < n)
        cap *= 2;
    int *m = realloc(e->members, sizeof *m * (size_t)cap);
    if (m)
        e->members = m;
    int *p = realloc(e->pick, sizeof *p * (size_t)cap);
    if (p)
        e->pick = p;
    if (!m || !p)
        return tl_fail(err, TL_ERUNTIME, "evolution: out of memory for %d trials", n);
    e->cap = cap;
    return 0;
}

static void random_draw(const space *sp, rng *r, double *values)
{
    double u[SPACE_MAX_PARAMS];
    for (int i = 0; i < sp->n; i++)
        u[i] = rng_uniform(r);
    space_from_unit_vec(sp, u, values);
}

/* Number of distinct values of parameter i (floats: 0, meaning many). */
static double nvalues(const param *p)
{
    if (p->kind == PARAM_CAT)
        return p->ncat;
    if (p->kind == PARAM_INT)
        return p->high - p->low + 1;
    return p->high > p->low ? INFINITY : 1;
}

static double clamp01(double u)
{
    return u < 0 ? 0 : u > 1 ? 1 : u;
}

/* A neighbouring value of v for parameter i (different from v). */
static double neighbour(const space *sp, int i, double v, rng *r)
{
    const param *p = &sp->p[i];
    int up = rng_below(r, 2) == 1;
    if (p->kind == PARAM_CAT) {
        int c = (int)v;
        if (c == 0)
            up = 1;
        else if (c == p->ncat - 1)
            up = 0;
        return c + (up ? 1 : -1);
    }
    if (p->kind == PARAM_INT) {
        if (v <= p->low)
            up = 1;
        else if (v >= p->high)
            up = 0;
        if (!p->log && nvalues(p) <= EVO_NEIGHBOUR_VALUES)
            return v + (up ? 1 : -1);
        double w = space_from_unit(sp, i, clamp01(space_to_unit(sp, i, v) + (up ? 1.0 : -1.0) / 16));
        return w != v ? w : v + (up ? 1 : -1);
    }
    for (int t = 0; t < 32; t++) {
        double w = space_from_unit(sp, i, clamp01(space_to_unit(sp, i, v) + 0.1 * rng_normal(r)));
        if (w != v)
            return w;
    }
    return space_from_unit(sp, i, rng_uniform(r));
}

/* A uniformly random value of parameter i different from v. */
static double other_value(const space *sp, int i, double v, rng *r)
{
    const param *p = &sp->p[i];
    if (p->kind == PARAM_CAT) {
        int c = (int)rng_below(r, (uint64_t)(p->ncat - 1));
        return c >= (int)v ? c + 1 : c;
    }
    if (p->kind == PARAM_INT && !p->log) {
        long n = (long)(p->high - p->low); /* values other than v */
        long k = (long)rng_below(r, (uint64_t)n);
        double w = p->low + (double)k;
        return w >= v ? w + 1 : w;
    }
    for (int t = 0; t < 64; t++) {
        double w = space_from_unit(sp, i, rng_uniform(r));
        if (w != v)
            return w;
    }
    return neighbour(sp, i, v, r);
}

/* child = parent with one active gene mutated (see the header). */
static void mutate(const space *sp, const double *parent, rng *r, double *child)
{
    memcpy(child, parent, sizeof *child * (size_t)sp->n);
    int genes[SPACE_MAX_PARAMS], ng = 0;
    for (int i = 0; i < sp->n; i++)
        if (!isnan(parent[i]) && nvalues(&sp->p[i]) > 1)
            genes[ng++] = i;
    if (ng == 0)
        return;
    int i = genes[rng_below(r, (uint64_t)ng)];
    child[i] = rng_below(r, 2) ? neighbour(sp, i, parent[i], r) : other_value(sp, i, parent[i], r);
    /* parents precede their children: one pass fills newly active genes */
    for (int j = 0; j < sp->n; j++) {
        int active = space_is_active(sp, child, j);
        if (active && isnan(child[j]))
            child[j] = space_from_unit(sp, j, rng_uniform(r));
        else if (!active)
            child[j] = NAN;
    }
}

static int same_values(const double *a, const double *b, int n)
{
    for (int i = 0; i < n; i++)
        if (!(a[i] == b[i] || (isnan(a[i]) && isnan(b[i]))))
            return 0;
    return 1;
}

static int seen(const space *sp, const trial *const *hist, int nhist, const double *v)
{
    for (int k = 0; k < nhist; k++)
        if (hist[k] && hist[k]->values && hist[k]->nparams == sp->n && same_values(hist[k]->values, v, sp->n))
            return 1;
    return 0;
}

/* The tournament: S distinct members of pop (np) drawn uniformly; returns
 * the history index of the winner. */
static int tournament(evo *e, const space *sp, const trial *const *hist, const int *pop, int np, int direction,
                      rng *r)
{
    int s = e->S < np ? e->S : np;
    memcpy(e->pick, pop, sizeof *pop * (size_t)np);
    for (int k = 0; k < s; k++) { /* partial Fisher-Yates: pick[0..s) */
        int j = k + (int)rng_below(r, (uint64_t)(np - k));
        int t = e->pick[k];
        e->pick[k] = e->pick[j];
        e->pick[j] = t;
    }
    double sign = direction == STUDY_MAXIMIZE ? -1 : 1;
    if (e->cost) {
        for (int k = 0; k < s; k++) {
            const trial *t = hist[e->pick[k]];
            e->f[2 * k] = sign * t->value;
            e->f[2 * k + 1] = e->cost(e->cost_ud, sp, t->values);
        }
        int nf;
        if (pareto_sort(e->f, s, 2, e->rank, &nf, NULL) == 0) {
            int nfront = 0;
            for (int k = 0; k < s; k++)
                nfront += e->rank[k] == 0;
            if (nfront > 0) {
                int want = (int)rng_below(r, (uint64_t)nfront);
                for (int k = 0; k < s; k++)
                    if (e->rank[k] == 0 && want-- == 0)
                        return e->pick[k];
            }
        }
        /* a NaN cost everywhere: fall back to the value alone */
    }
    int best = e->pick[0];
    for (int k = 1; k < s; k++) {
        const trial *a = hist[e->pick[k]], *b = hist[best];
        double ka = sign * a->value, kb = sign * b->value;
        if (ka < kb || (ka == kb && a->number < b->number))
            best = e->pick[k];
    }
    return best;
}

static int evo_suggest(void *self, const space *sp, const trial *const *hist, int nhist, int direction, int number,
                       rng *r, double *values, tl_err *err)
{
    evo *e = self;
    e->last_parent = -1;
    int rc = evo_reserve(e, nhist, err);
    if (rc)
        return rc;
    int nm = 0, inflight = 0;
    for (int k = 0; k < nhist; k++) {
        const trial *t = hist[k];
        if (!t || !t->values || t->nparams != sp->n)
            continue;
        if (t->state == TRIAL_RUNNING || t->state == TRIAL_WAITING)
            inflight++;
        else if ((t->state == TRIAL_COMPLETE || t->state == TRIAL_PRUNED || t->state == TRIAL_PAUSED) &&
                 isfinite(t->value))
            e->members[nm++] = k;
    }
    if (nm == 0 || nm + inflight < e->P) {
        random_draw(sp, r, values);
        return 0;
    }
    /* members are in number order: the population is the last P */
    const int *pop = e->members + (nm > e->P ? nm - e->P : 0);
    int np = nm < e->P ? nm : e->P;
    int parent = tournament(e, sp, hist, pop, np, direction, r);
    for (int t = 0; t < EVO_NOVELTY_TRIES; t++) {
        mutate(sp, hist[parent]->values, r, values);
        if (!seen(sp, hist, nhist, values))
            break;
    }
    e->last_parent = hist[parent]->number;
    return 0;
}

static int evo_parent_of_last(void *self)
{
    return self ? ((evo *)self)->last_parent : -1;
}

const sampler_vt sampler_evolution_vt = {
    .name = "evolution",
    .validate = evo_validate,
    .init = evo_init,
    .suggest = evo_suggest,
    .free = evo_free,
    .ignores_seed = 0,
    .parent_of_last = evo_parent_of_last,
};
