/* hpo/registry.h: a name -> vtable table, shared by the sampler and the
 * scheduler registries (hpo/sampler.c, hpo/scheduler.c).
 *
 * Does: find a name, resolve it with a user-facing error that lists what
 * is available, count and enumerate the implemented entries.  Does not
 * know any vtable type (entries hold `const void *`; the callers cast
 * back) and holds no state: the tables are the callers' static arrays.
 */
#ifndef TL_HPO_REGISTRY_H
#define TL_HPO_REGISTRY_H

#include "util/err.h"

typedef struct registry_entry {
    const char *name;
    const void *vt; /* NULL: registered name, not implemented yet */
} registry_entry;

/* Returns the vtable registered under name (NULL when unknown, not
 * implemented, or name is NULL).  Borrowed from the table. */
const void *registry_find(const registry_entry *r, int n, const char *name);

/* Resolves name into *out (borrowed; NULL on error).  Returns 0, or
 * TL_EINPUT with "<key>: unknown <what> '<name>' (available: ...)" or
 * "<key>: '<name>' is not implemented yet (available: ...)". */
int registry_lookup(const registry_entry *r, int n, const char *name, const char *key,
                    const char *what, const void **out, tl_err *err);

/* Returns how many entries are implemented. */
int registry_count(const registry_entry *r, int n);

/* Returns the i-th implemented vtable in table order (borrowed), or NULL
 * when i is out of range. */
const void *registry_at(const registry_entry *r, int n, int i);

#endif
