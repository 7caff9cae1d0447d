/* tests/cli_util.h: running the tunelab binary from tests (header-only).
 * The binary's path comes from TUNELAB_BIN (set by `make test`); output is
 * captured into malloc'd strings. */
#ifndef TL_TESTS_CLI_UTIL_H
#define TL_TESTS_CLI_UTIL_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct cli_out {
    int status;   /* exit status, or 128+signal */
    char *out;    /* stdout */
    char *err;    /* stderr */
} cli_out;

static inline char *cli_slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return strdup("");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    size_t got = fread(s, 1, (size_t)n, f);
    s[got] = 0;
    fclose(f);
    return s;
}

static inline const char *cli_bin(void)
{
    const char *b = getenv("TUNELAB_BIN");
    cr_assert(b && b[0], "TUNELAB_BIN is not set: run the suite with `make test`");
    return b;
}

/* Runs the shell command cmd with stdin from /dev/null and its stdout and
 * stderr captured. */
static inline cli_out cli_sh(const char *cmd)
{
    char o[] = "/tmp/tl-cli-outXXXXXX", e[] = "/tmp/tl-cli-errXXXXXX";
    int fo = mkstemp(o), fe = mkstemp(e);
    close(fo);
    close(fe);
    size_t n = strlen(cmd) + strlen(o) + strlen(e) + 32;
    char *full = malloc(n);
    snprintf(full, n, "%s >%s 2>%s </dev/null", cmd, o, e);
    int st = system(full);
    free(full);
    cli_out r;
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    r.out = cli_slurp(o);
    r.err = cli_slurp(e);
    unlink(o);
    unlink(e);
    return r;
}

/* Runs `tunelab ARGS` (a shell fragment) in dir (NULL: current). */
static inline cli_out cli_run(const char *dir, const char *args)
{
    size_t n = strlen(args) + 1024 + (dir ? strlen(dir) : 0);
    char *cmd = malloc(n);
    snprintf(cmd, n, "%s%s%s OMP_NUM_THREADS=1 NO_COLOR=1 '%s' %s", dir ? "cd '" : "", dir ? dir : "",
             dir ? "' &&" : "", cli_bin(), args);
    cli_out r = cli_sh(cmd);
    free(cmd);
    return r;
}

static inline void cli_free(cli_out *r)
{
    free(r->out);
    free(r->err);
}

static inline void cli_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert(f, "cannot write %s", path);
    fputs(text, f);
    fclose(f);
}

/* Writes text to the file dir/name. */
static inline void cli_write_in(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    cli_write(path, text);
}

/* Runs `tunelab ARGS` in dir (as cli_run) and checks that it exits with
 * status and that its stderr holds msg. */
static inline void cli_expect_err(const char *dir, const char *args, int status, const char *msg)
{
    cli_out r = cli_run(dir, args);
    cr_assert_eq(r.status, status, "%s: status %d: %s", args, r.status, r.err);
    cr_assert(strstr(r.err, msg), "%s: stderr: %s", args, r.err);
    cli_free(&r);
}

/* The last line of s (static buffer-free: returns a pointer into s). */
static inline const char *cli_last_line(const char *s)
{
    size_t n = strlen(s);
    while (n && s[n - 1] == '\n')
        n--;
    while (n && s[n - 1] != '\n')
        n--;
    return s + n;
}
#endif
