/* hpo/sampler.c: the sampler registry (name -> vtable).
 *
 * Adding a sampler: define `const sampler_vt sampler_<name>_vt` in
 * hpo/sampler_<name>.c, declare it in sampler.h, and point its line in
 * the table below at it.  Does not sample anything itself.
 */
#include "hpo/sampler.h"

#include <stdio.h>
#include <string.h>

typedef struct entry {
    const char *name;
    const sampler_vt *vt;   /* NULL: registered name, not implemented yet */
} entry;

static const entry registry[] = {
    { "random", &sampler_random_vt },
    { "grid", &sampler_grid_vt },
    { "sobol", &sampler_sobol_vt },
    { "bayes", &sampler_bayes_vt },
    { "evolution", &sampler_evolution_vt },
};

#define NREG ((int)(sizeof registry / sizeof registry[0]))

const sampler_vt *sampler_find(const char *name)
{
    for (int i = 0; name && i < NREG; i++)
        if (strcmp(registry[i].name, name) == 0)
            return registry[i].vt;
    return NULL;
}

int sampler_lookup(const char *name, const sampler_vt **out, tl_err *err)
{
    *out = NULL;
    char avail[256];
    size_t at = 0;
    for (int i = 0; i < NREG; i++)
        if (registry[i].vt && at < sizeof avail)
            at += (size_t)snprintf(avail + at, sizeof avail - at, "%s%s", at ? ", " : "",
                                   registry[i].name);
    for (int i = 0; name && i < NREG; i++) {
        if (strcmp(registry[i].name, name) != 0)
            continue;
        if (!registry[i].vt)
            return tl_fail(err, TL_EINPUT, "study.sampler: '%s' is not implemented yet (available: %s)",
                           name, avail);
        *out = registry[i].vt;
        return 0;
    }
    return tl_fail(err, TL_EINPUT, "study.sampler: unknown sampler '%s' (available: %s)",
                   name ? name : "", avail);
}

int sampler_count(void)
{
    int n = 0;
    for (int i = 0; i < NREG; i++)
        n += registry[i].vt != NULL;
    return n;
}

const sampler_vt *sampler_at(int i)
{
    for (int k = 0; k < NREG; k++)
        if (registry[k].vt && i-- == 0)
            return registry[k].vt;
    return NULL;
}
