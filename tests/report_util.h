/* tests/report_util.h: reading files, running the tunelab binary with
 * its output captured into a folder, and cutting a section out of a
 * report page, shared by the report and dashboard tests.  Unlike cli_util.h's cli_slurp, a
 * missing file reads as NULL, and output goes to DIR/stdout.txt and
 * DIR/stderr.txt.  Header-only (static inline), test code only. */
#ifndef TL_TESTS_REPORT_UTIL_H
#define TL_TESTS_REPORT_UTIL_H

#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* The tunelab binary: TUNELAB_BIN, else ./tunelab (the suite runs from
 * the repository root). */
static inline const char *ru_bin(void)
{
    const char *b = getenv("TUNELAB_BIN");
    return b && b[0] ? b : "./tunelab";
}

/* Reads a whole file; returns it NUL-terminated (caller frees), its length
 * in *len (may be NULL), or NULL when it cannot be opened. */
static inline char *ru_slurp(const char *path, long *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    cr_assert_not_null(b);
    cr_assert_eq(fread(b, 1, (size_t)n, f), (size_t)n);
    b[n] = 0;
    fclose(f);
    if (len)
        *len = n;
    return b;
}

/* Runs `ENV BIN ARGS` (ARGS: printf of fmt; shell text, paths without
 * spaces) with stdout and stderr captured through files in dir; asserts
 * that bin is executable and that it exited.  Returns the exit status;
 * *out and *errout are malloc'd (caller frees). */
static inline int ru_tl(const char *dir, const char *bin, const char *env, char **out,
                        char **errout, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static inline int ru_tl(const char *dir, const char *bin, const char *env, char **out,
                        char **errout, const char *fmt, ...)
{
    char a[1024], cmd[2048], o[128], e[128];
    cr_assert_eq(access(bin, X_OK), 0, "no tunelab binary at %s (set TUNELAB_BIN)", bin);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a, sizeof a, fmt, ap);
    va_end(ap);
    snprintf(o, sizeof o, "%s/stdout.txt", dir);
    snprintf(e, sizeof e, "%s/stderr.txt", dir);
    snprintf(cmd, sizeof cmd, "%s %s %s >%s 2>%s", env, bin, a, o, e);
    int st = system(cmd);
    cr_assert(WIFEXITED(st), "`%s` did not exit", cmd);
    *out = ru_slurp(o, NULL);
    *errout = ru_slurp(e, NULL);
    cr_assert(*out && *errout);
    return WEXITSTATUS(st);
}

/* The page's <section id="ID"> up to its </section>: a malloc'd copy, or
 * NULL when the page has no such section. */
static inline char *ru_section(const char *html, const char *id)
{
    char open[128];
    snprintf(open, sizeof open, "<section id=\"%s\">", id);
    const char *a = strstr(html, open);
    if (!a)
        return NULL;
    const char *b = strstr(a, "</section>");
    cr_assert_not_null(b);
    return strndup(a, (size_t)(b - a));
}

/* How many times what occurs in s (overlapping occurrences count). */
static inline int ru_count(const char *s, const char *what)
{
    int n = 0;
    for (const char *p = strstr(s, what); p; p = strstr(p + 1, what))
        n++;
    return n;
}

#endif
