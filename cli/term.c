#include "cli/term.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

void term_init(term *t)
{
    t->live = isatty(STDERR_FILENO);
    const char *nc = getenv("NO_COLOR");
    const char *dumb = getenv("TERM");
    t->color = t->live && !(nc && nc[0]) && !(dumb && !strcmp(dumb, "dumb"));
    t->width = 80;
    t->drawn = 0;
    struct winsize ws;
    if (t->live && ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20)
        t->width = ws.ws_col;
}

void term_progress(const term *t, const char *label, double done, double total, const char *suffix)
{
    if (!t->live)
        return;
    int bar = 24;
    double frac = total > 0 ? done / total : 0;
    if (frac > 1)
        frac = 1;
    int fill = (int)(frac * bar + 0.5);
    char line[512];
    int n = snprintf(line, sizeof line, "%s [", label);
    for (int i = 0; i < bar && n < (int)sizeof line - 2; i++)
        line[n++] = i < fill ? '#' : '.';
    snprintf(line + n, sizeof line - (size_t)n, "] %3.0f%% %s", 100 * frac, suffix ? suffix : "");
    if ((int)strlen(line) >= t->width)
        line[t->width - 1] = 0;
    fprintf(stderr, "\r\033[K%s", line);
    fflush(stderr);
}

void term_clear(term *t)
{
    if (t->live) {
        fputs("\r\033[K", stderr);
        for (; t->drawn > 0; t->drawn--)
            fputs("\033[1A\033[K", stderr);
        fflush(stderr);
    }
}

void term_block(term *t, const char *text)
{
    if (!t->live)
        return;
    term_clear(t);
    for (const char *l = text; *l;) {
        const char *nl = strchr(l, '\n');
        int n = nl ? (int)(nl - l) : (int)strlen(l);
        if (n >= t->width)
            n = t->width - 1;
        fprintf(stderr, "%.*s", n, l);
        if (!nl || !nl[1])
            break;
        fputc('\n', stderr);
        t->drawn++;
        l = nl + 1;
    }
    fflush(stderr);
}

int term_error(const tl_err *e, const char *hint)
{
    int color = isatty(STDERR_FILENO) && !(getenv("NO_COLOR") && getenv("NO_COLOR")[0]);
    fprintf(stderr, "%stunelab: error:%s %s\n", color ? "\033[1;31m" : "", color ? "\033[0m" : "", e->msg);
    if (hint)
        fprintf(stderr, "hint: %s\n", hint);
    return e->code == TL_EINPUT ? 2 : 1;
}

int term_errorf(int status, const char *fmt, ...)
{
    tl_err e = {.code = status == 2 ? TL_EINPUT : TL_ERUNTIME};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e.msg, sizeof e.msg, fmt, ap);
    va_end(ap);
    return term_error(&e, NULL);
}

void term_blas_header(tl_blas_info *bi)
{
    char desc[512];
    tl_blas_info_get(bi);
    fprintf(stderr, "# %s\n", tl_blas_describe(bi, desc, sizeof desc));
}
