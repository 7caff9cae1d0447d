/* hpo/scheduler.c: the scheduler registry (name -> vtable).
 *
 * Adding a scheduler: define `const scheduler_vt sched_<name>_vt` in
 * hpo/sched_<name>.c, declare it in scheduler.h, and point its line in the
 * table below at it.  Does not schedule anything itself; the lookup is
 * hpo/registry.c.
 */
#include "hpo/scheduler.h"

#include "hpo/registry.h"

static const registry_entry registry[] = {
    { "fifo", &sched_fifo_vt },
    { "median", &sched_median_vt },
    { "sha", &sched_sha_vt },
    { "hyperband", &sched_hyperband_vt },
    { "asha", &sched_asha_vt },
    { "pbt", &sched_pbt_vt },
};

#define NREG ((int)(sizeof registry / sizeof registry[0]))

const char *sched_next_str(int kind)
{
    static const char *const names[SCHED_NEXT_COUNT] = { "new", "promote", "wait", "none" };
    return kind >= 0 && kind < SCHED_NEXT_COUNT ? names[kind] : "?";
}

const scheduler_vt *scheduler_find(const char *name)
{
    return registry_find(registry, NREG, name);
}

int scheduler_lookup(const char *name, const scheduler_vt **out, tl_err *err)
{
    const void *vt;
    int rc = registry_lookup(registry, NREG, name, "study.scheduler", "scheduler", &vt, err);
    *out = vt;
    return rc;
}

int scheduler_count(void)
{
    return registry_count(registry, NREG);
}

const scheduler_vt *scheduler_at(int i)
{
    return registry_at(registry, NREG, i);
}
