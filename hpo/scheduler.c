/* hpo/scheduler.c: the scheduler registry (name -> vtable).
 *
 * Adding a scheduler: define `const scheduler_vt sched_<name>_vt` in
 * hpo/sched_<name>.c, declare it in scheduler.h, and point its line in the
 * table below at it.  Does not schedule anything itself.
 */
#include "hpo/scheduler.h"

#include <stdio.h>
#include <string.h>

typedef struct entry {
    const char *name;
    const scheduler_vt *vt; /* NULL: registered name, not implemented yet */
} entry;

static const entry registry[] = {
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
    for (int i = 0; name && i < NREG; i++)
        if (strcmp(registry[i].name, name) == 0)
            return registry[i].vt;
    return NULL;
}

int scheduler_lookup(const char *name, const scheduler_vt **out, tl_err *err)
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
            return tl_fail(err, TL_EINPUT,
                           "study.scheduler: '%s' is not implemented yet (available: %s)", name,
                           avail);
        *out = registry[i].vt;
        return 0;
    }
    return tl_fail(err, TL_EINPUT, "study.scheduler: unknown scheduler '%s' (available: %s)",
                   name ? name : "", avail);
}

int scheduler_count(void)
{
    int n = 0;
    for (int i = 0; i < NREG; i++)
        n += registry[i].vt != NULL;
    return n;
}

const scheduler_vt *scheduler_at(int i)
{
    for (int k = 0; k < NREG; k++)
        if (registry[k].vt && i-- == 0)
            return registry[k].vt;
    return NULL;
}
