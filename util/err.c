#include "util/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int tl_fail(tl_err *e, int code, const char *fmt, ...)
{
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
        e->code = code;
    }
    return code;
}

int tl_prefix(tl_err *e, const char *fmt, ...)
{
    if (!e)
        return TL_ERUNTIME;
    char pre[512], old[sizeof e->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    memcpy(old, e->msg, sizeof old);
    snprintf(e->msg, sizeof e->msg, "%s: %s", pre, old);
    return e->code ? e->code : TL_ERUNTIME;
}
