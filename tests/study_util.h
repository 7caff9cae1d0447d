/* tests/study_util.h: the study settings most tests start from: the
 * defaults, a name, and a database (header-only).  The test then sets what
 * it is about (trials, seed, budgets, scheduler). */
#ifndef TL_TESTS_STUDY_UTIL_H
#define TL_TESTS_STUDY_UTIL_H

#include <stdio.h>

#include "hpo/study.h"

/* The default settings for study name stored in the database at path. */
static inline study_config su_config(const char *name, const char *path)
{
    study_config c;
    study_config_default(&c);
    snprintf(c.name, sizeof c.name, "%s", name);
    snprintf(c.storage, sizeof c.storage, "%s", path);
    return c;
}

/* The same with the database dir/<name>.db. */
static inline study_config su_config_in(const char *dir, const char *name)
{
    char path[sizeof ((study_config *)0)->storage];
    snprintf(path, sizeof path, "%s/%s.db", dir, name);
    return su_config(name, path);
}

#endif
