/* hpo/sampler_sobol.c: quasi-random search with a scrambled Sobol
 * sequence (hpo/sobol.h) over the unit cube, mapped by the space.
 *
 * Trial number k gets point k of the sequence scrambled from the study
 * seed, so a resumed study skips the points its earlier trials used, and
 * workers or processes sharing a study get distinct points.  Ignores the
 * history and the per-trial generator.  Conditional parameters take their
 * coordinate when active.
 */
#include <stdlib.h>

#include "hpo/sampler.h"
#include "hpo/sobol.h"

#define SOBOL_STREAM 0x534f424f4c000000ULL

typedef struct sobol_sampler {
    sobol seq;
    uint64_t seed;
    int dim;
} sobol_sampler;

static void sobol_sampler_free(void *self)
{
    sobol_sampler *s = self;
    if (!s)
        return;
    sobol_free(&s->seq);
    free(s);
}

static int restart(sobol_sampler *s, tl_err *err)
{
    rng r;
    rng_seed(&r, s->seed, SOBOL_STREAM);
    sobol_free(&s->seq);
    return sobol_init(&s->seq, s->dim, &r, err);
}

static int sobol_sampler_init(void **self, const space *sp, const void *opts,
                              const struct study_config *cfg, uint64_t seed, tl_err *err)
{
    *self = NULL;
    sobol_sampler *s = calloc(1, sizeof *s);
    if (!s)
        return tl_fail(err, TL_ERUNTIME, "sobol: out of memory");
    s->seed = seed;
    s->dim = sp->n;
    int rc = restart(s, err);
    if (rc) {
        sobol_sampler_free(s);
        return rc;
    }
    *self = s;
    return 0;
}

static int sobol_sampler_suggest(void *self, const space *sp, const trial *const *hist, int nhist,
                                 int direction, int number, rng *r, double *values, tl_err *err)
{
    sobol_sampler *s = self;
    if (number < 0)
        return tl_fail(err, TL_ERUNTIME, "sobol: negative trial number");
    if (s->seq.index > (uint64_t)number) {
        int rc = restart(s, err);
        if (rc)
            return rc;
    }
    if (s->seq.index < (uint64_t)number)
        sobol_skip(&s->seq, (long)((uint64_t)number - s->seq.index));
    double u[SPACE_MAX_PARAMS];
    sobol_next(&s->seq, u);
    space_from_unit_vec(sp, u, values);
    return 0;
}

const sampler_vt sampler_sobol_vt = {
    .name = "sobol",
    .init = sobol_sampler_init,
    .suggest = sobol_sampler_suggest,
    .free = sobol_sampler_free,
};
