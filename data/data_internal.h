/* data/data_internal.h: helpers shared by the other data/ files only (not part
 * of the public API; not installed for users to rely on). */
#ifndef TL_DATA_INTERNAL_H
#define TL_DATA_INTERNAL_H

#include <stddef.h>

#include "data/dataset.h"

/* A zeroed dataset with source = strdup(source) (source may be NULL), or
 * NULL when out of memory. */
dataset *data__new(const char *source);

/* strdup that tolerates NULL (returns NULL for NULL). */
char *data__strdup(const char *s);

/* "a/b" in a new string, or NULL when out of memory. */
char *data__join(const char *a, const char *b);

/* The names in folder dir, except "." / ".." and names starting with '.',
 * sorted bytewise.  *names is an array of *count strings owned by the
 * caller (free with data__free_names).  Returns 0, TL_EINPUT when dir cannot
 * be opened (message "dir: cannot open folder: reason"), TL_ERUNTIME for
 * memory. */
int data__list_dir(const char *dir, char ***names, long *count, tl_err *err);

/* Frees an array from data__list_dir; NULL is a no-op. */
void data__free_names(char **names, long count);

/* 1 if name ends with suffix, ignoring ASCII case. */
int data__ends_with_ci(const char *name, const char *suffix);

#endif
