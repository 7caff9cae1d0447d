/* util/shell.c: the program's name as a shell finds it, and sh quoting. */
#include "util/shell.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TL_PROGRAM "tunelab"

void tl_program_name(char *buf, size_t n)
{
    snprintf(buf, n, "%s", TL_PROGRAM);
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0)
        return;
    exe[len] = 0;
    const char *base = strrchr(exe, '/');
    struct stat me;
    if (!base || strcmp(base + 1, TL_PROGRAM) || stat(exe, &me))
        return; /* not the tunelab binary (a test, an example) */
    const char *path = getenv("PATH");
    while (path && *path) {
        const char *end = strchr(path, ':');
        size_t dl = end ? (size_t)(end - path) : strlen(path);
        char cand[PATH_MAX];
        struct stat st;
        /* an empty entry is the current folder, which a user's cd changes:
         * only absolute folders count */
        if (dl > 0 && path[0] == '/' &&
            snprintf(cand, sizeof cand, "%.*s/%s", (int)dl, path, TL_PROGRAM) < (int)sizeof cand &&
            stat(cand, &st) == 0) {
            if (st.st_dev == me.st_dev && st.st_ino == me.st_ino)
                return; /* PATH finds this binary: the bare name runs it */
            break;      /* PATH finds another tunelab first */
        }
        path = end ? end + 1 : NULL;
    }
    snprintf(buf, n, "%s", exe);
}

int tl_shell_plain(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-+/:=,@%", *s))
            return 0;
    return 1;
}

static size_t put(char *buf, size_t n, size_t at, const char *fmt, const char *s)
{
    /* snprintf style: buf may be NULL with n = 0 (sizing) */
    int k = snprintf(buf && at < n ? buf + at : NULL, buf && at < n ? n - at : 0, fmt, s);
    return at + (k > 0 ? (size_t)k : 0);
}

size_t tl_shell_append(char *buf, size_t n, size_t at, const char *s)
{
    if (tl_shell_plain(s))
        return put(buf, n, at, "%s", s);
    at = put(buf, n, at, "%s", "'");
    for (; *s; s++) {
        char c[2] = {*s, 0};
        at = put(buf, n, at, "%s", *s == '\'' ? "'\\''" : c);
    }
    return put(buf, n, at, "%s", "'");
}

size_t tl_text_append(char *buf, size_t n, size_t at, const char *s)
{
    return put(buf, n, at, "%s", s);
}
