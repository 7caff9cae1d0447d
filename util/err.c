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
    /* "pre: old", cut at the buffer's end (intended: messages are bounded) */
    size_t n = (size_t)snprintf(e->msg, sizeof e->msg, "%s: ", pre);
    if (n < sizeof e->msg) {
        size_t room = sizeof e->msg - 1 - n, len = strnlen(old, sizeof old);
        if (len > room)
            len = room;
        memcpy(e->msg + n, old, len);
        e->msg[n + len] = 0;
    }
    return e->code ? e->code : TL_ERUNTIME;
}
