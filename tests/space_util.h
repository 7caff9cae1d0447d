/* tests/space_util.h: a search space built in one call from its
 * parameters, for the tests whose subject is not the space itself
 * (test_space.c spells out space_add and its errors).  Header-only. */
#ifndef TL_TESTS_SPACE_UTIL_H
#define TL_TESTS_SPACE_UTIL_H

#include <criterion/criterion.h>
#include <stdarg.h>

#include "hpo/space.h"

/* Initialises sp with the parameters given as name, spec pairs, ended by
 * NULL: su_space(&sp, "lr", "loguniform(1e-4, 1e-1)", NULL).  A spec that
 * space_add rejects fails the test with its message.  The caller frees sp
 * with space_free. */
static inline void su_space(space *sp, ...)
{
    va_list ap;
    va_start(ap, sp);
    space_init(sp);
    for (const char *name; (name = va_arg(ap, const char *));) {
        const char *spec = va_arg(ap, const char *);
        tl_err err = { 0 };
        cr_assert_eq(space_add(sp, name, spec, &err), 0, "%s = %s: %s", name, spec, err.msg);
    }
    va_end(ap);
}

#endif
