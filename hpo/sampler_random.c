/* hpo/sampler_random.c: random search: each coordinate uniform in the unit
 * cube, mapped by the space (log scales, int bins, categories).
 * Stateless; draws only from the trial's generator, so trial k gets the
 * same values whatever the number of workers or processes.  Ignores the
 * history. */
#include "hpo/sampler.h"

static int random_init(void **self, const space *sp, const void *opts,
                       const struct study_config *cfg, uint64_t seed, tl_err *err)
{
    *self = NULL;
    return 0;
}

static int random_suggest(void *self, const space *sp, const trial *const *hist, int nhist,
                          int direction, int number, rng *r, double *values, tl_err *err)
{
    double u[SPACE_MAX_PARAMS];
    for (int i = 0; i < sp->n; i++)
        u[i] = rng_uniform(r);
    space_from_unit_vec(sp, u, values);
    return 0;
}

static void random_free(void *self)
{
}

const sampler_vt sampler_random_vt = {
    .name = "random",
    .init = random_init,
    .suggest = random_suggest,
    .free = random_free,
};
