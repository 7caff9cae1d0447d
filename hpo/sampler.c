/* hpo/sampler.c: the sampler registry (name -> vtable).
 *
 * Adding a sampler: define `const sampler_vt sampler_<name>_vt` in
 * hpo/sampler_<name>.c, declare it in sampler.h, and point its line in
 * the table below at it.  Does not sample anything itself; the lookup is
 * hpo/registry.c.
 */
#include "hpo/sampler.h"

#include "hpo/registry.h"

static const registry_entry registry[] = {
    { "random", &sampler_random_vt },
    { "grid", &sampler_grid_vt },
    { "sobol", &sampler_sobol_vt },
    { "bayes", &sampler_bayes_vt },
    { "evolution", &sampler_evolution_vt },
    { "tpe", &sampler_tpe_vt },
    { "cmaes", &sampler_cmaes_vt },
};

#define NREG ((int)(sizeof registry / sizeof registry[0]))

const sampler_vt *sampler_find(const char *name)
{
    return registry_find(registry, NREG, name);
}

int sampler_lookup(const char *name, const sampler_vt **out, tl_err *err)
{
    const void *vt;
    int rc = registry_lookup(registry, NREG, name, "study.sampler", "sampler", &vt, err);
    *out = vt;
    return rc;
}

int sampler_count(void)
{
    return registry_count(registry, NREG);
}

const sampler_vt *sampler_at(int i)
{
    return registry_at(registry, NREG, i);
}
