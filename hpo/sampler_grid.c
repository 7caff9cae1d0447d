/* hpo/sampler_grid.c: grid search.
 *
 * The grid is every combination of each parameter's grid points
 * (space_grid_values: all choices; ranges discretized with grid=N or the
 * options' points, hpo/sampler_grid.h), in a fixed order: the first parameter varies
 * slowest, the last fastest.  A combination where a conditional parameter
 * is inactive counts once (its grid index 0 stands for "inactive").  Each
 * suggestion is the first combination that no trial of the history holds
 * (running ones included), so a resumed or multi-process study continues
 * where it stopped; SAMPLER_EXHAUSTED when every combination is taken.
 * Ignores the seed and the generator.  Grids above GRID_MAX combinations
 * are refused at init.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hpo/sampler_grid.h"

#include "hpo/sampler.h"
#include "hpo/study.h"

#define GRID_MAX 10000000L

typedef struct grid {
    int n;                          /* parameters */
    int count[SPACE_MAX_PARAMS];    /* grid points per parameter */
    double *pts[SPACE_MAX_PARAMS];  /* (count[i]) values */
    long total;                     /* combinations (product of counts) */
    long nwords;
    uint64_t *mask;                 /* (nwords) 1 = not a canonical combination */
    uint64_t *taken;                /* (nwords) scratch */
} grid;

static void grid_free(void *self)
{
    grid *g = self;
    if (!g)
        return;
    for (int i = 0; i < g->n; i++)
        free(g->pts[i]);
    free(g->mask);
    free(g->taken);
    free(g);
}

/* Values of combination idx; returns 1 when it is canonical (every
 * inactive parameter at grid index 0). */
static int decode(const grid *g, const space *sp, long idx, double *values)
{
    int k[SPACE_MAX_PARAMS];
    for (int i = g->n - 1; i >= 0; i--) {
        k[i] = (int)(idx % g->count[i]);
        idx /= g->count[i];
        values[i] = g->pts[i][k[i]];
    }
    space_apply_conditions(sp, values);
    for (int i = 0; i < g->n; i++)
        if (isnan(values[i]) && k[i] != 0)
            return 0;
    return 1;
}

/* Combination index of values, or -1 when they are not grid points. */
static long encode(const grid *g, const double *values)
{
    long idx = 0;
    for (int i = 0; i < g->n; i++) {
        int k = -1;
        double v = values[i];
        if (isnan(v)) {
            k = 0;
        } else {
            for (int j = 0; j < g->count[i]; j++) {
                double p = g->pts[i][j];
                if (v == p || fabs(v - p) <= 1e-12 * fmax(fabs(v), fabs(p))) {
                    k = j;
                    break;
                }
            }
        }
        if (k < 0)
            return -1;
        idx = idx * g->count[i] + k;
    }
    return idx;
}

void grid_options_default(grid_options *o)
{
    o->points = 5;
}

/* The options opts points to, or the defaults. */
static grid_options options_of(const void *opts)
{
    grid_options o;
    grid_options_default(&o);
    return opts ? *(const grid_options *)opts : o;
}

static int grid_validate(const space *sp, const void *opts, const struct study_config *cfg,
                         tl_err *err)
{
    grid_options o = options_of(opts);
    if (o.points < 1)
        return tl_fail(err, TL_EINPUT, "study.grid_points: must be >= 1, got %d", o.points);
    return 0;
}

static int grid_init(void **self, const space *sp, const void *opts,
                     const struct study_config *cfg, uint64_t seed, tl_err *err)
{
    *self = NULL;
    int rc = grid_validate(sp, opts, cfg, err);
    if (rc)
        return rc;
    grid *g = calloc(1, sizeof *g);
    if (!g)
        return tl_fail(err, TL_ERUNTIME, "grid: out of memory");
    int dflt = options_of(opts).points;
    g->n = sp->n;
    g->total = 1;
    for (int i = 0; i < sp->n; i++) {
        g->count[i] = space_grid_values(sp, i, dflt, NULL, 0);
        g->pts[i] = malloc((size_t)g->count[i] * sizeof(double));
        if (!g->pts[i]) {
            grid_free(g);
            return tl_fail(err, TL_ERUNTIME, "grid: out of memory");
        }
        space_grid_values(sp, i, dflt, g->pts[i], g->count[i]);
        if (g->total > GRID_MAX / g->count[i]) {
            grid_free(g);
            return tl_fail(err, TL_EINPUT,
                           "grid: more than %ld combinations; lower grid points or use another "
                           "sampler", GRID_MAX);
        }
        g->total *= g->count[i];
    }
    g->nwords = (g->total + 63) / 64;
    g->mask = calloc((size_t)g->nwords, sizeof *g->mask);
    g->taken = calloc((size_t)g->nwords, sizeof *g->taken);
    if (!g->mask || !g->taken) {
        grid_free(g);
        return tl_fail(err, TL_ERUNTIME, "grid: out of memory");
    }
    double v[SPACE_MAX_PARAMS];
    for (long idx = 0; idx < g->total; idx++)
        if (!decode(g, sp, idx, v))
            g->mask[idx / 64] |= 1ULL << (idx % 64);
    for (long idx = g->total; idx < g->nwords * 64; idx++) /* padding bits */
        g->mask[idx / 64] |= 1ULL << (idx % 64);
    *self = g;
    return 0;
}

static int grid_suggest(void *self, const space *sp, const trial *const *hist, int nhist,
                        int direction, int number, rng *r, double *values, tl_err *err)
{
    grid *g = self;
    memcpy(g->taken, g->mask, (size_t)g->nwords * sizeof *g->taken);
    for (int h = 0; h < nhist; h++) {
        long idx = encode(g, hist[h]->values);
        if (idx >= 0)
            g->taken[idx / 64] |= 1ULL << (idx % 64);
    }
    for (long w = 0; w < g->nwords; w++) {
        if (g->taken[w] == ~0ULL)
            continue;
        long idx = w * 64 + __builtin_ctzll(~g->taken[w]);
        decode(g, sp, idx, values);
        return 0;
    }
    return SAMPLER_EXHAUSTED;
}

const sampler_vt sampler_grid_vt = {
    .name = "grid",
    .validate = grid_validate,
    .init = grid_init,
    .suggest = grid_suggest,
    .free = grid_free,
    .ignores_seed = 1,
};
