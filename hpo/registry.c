/* hpo/registry.c: name -> vtable tables (see registry.h).  Used by the
 * sampler and scheduler registries; knows no vtable type, holds no state. */
#include "hpo/registry.h"

#include <stdio.h>
#include <string.h>

const void *registry_find(const registry_entry *r, int n, const char *name)
{
    for (int i = 0; name && i < n; i++)
        if (strcmp(r[i].name, name) == 0)
            return r[i].vt;
    return NULL;
}

int registry_lookup(const registry_entry *r, int n, const char *name, const char *key,
                    const char *what, const void **out, tl_err *err)
{
    *out = NULL;
    char avail[256];
    size_t at = 0;
    for (int i = 0; i < n; i++)
        if (r[i].vt && at < sizeof avail)
            at += (size_t)snprintf(avail + at, sizeof avail - at, "%s%s", at ? ", " : "",
                                   r[i].name);
    for (int i = 0; name && i < n; i++) {
        if (strcmp(r[i].name, name) != 0)
            continue;
        if (!r[i].vt)
            return tl_fail(err, TL_EINPUT, "%s: '%s' is not implemented yet (available: %s)", key,
                           name, avail);
        *out = r[i].vt;
        return 0;
    }
    return tl_fail(err, TL_EINPUT, "%s: unknown %s '%s' (available: %s)", key, what,
                   name ? name : "", avail);
}

int registry_count(const registry_entry *r, int n)
{
    int c = 0;
    for (int i = 0; i < n; i++)
        c += r[i].vt != NULL;
    return c;
}

const void *registry_at(const registry_entry *r, int n, int i)
{
    for (int k = 0; k < n; k++)
        if (r[k].vt && i-- == 0)
            return r[k].vt;
    return NULL;
}
