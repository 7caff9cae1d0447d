/* hpo/cmd_objective.c: the command objective (a program run through
 * /bin/sh per trial) and the function objective (hpo/benchfn).
 *
 * Does: placeholder substitution, environment, posix_spawn in a new
 * process group, reading stdout/stderr with poll() under a deadline,
 * forwarding `tunelab-report` lines, killing the group on stop or
 * timeout.  Does not: retry, keep logs of the program's output (only the
 * tail of stderr goes into a failure reason), or print.
 */
#include "hpo/cmd_objective.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hpo/benchfn.h"

extern char **environ;

#define LINE_MAX_LEN 8192
#define ERR_TAIL 200
#define CMD_MAX 16384

typedef struct cmd_obj {
    char *command;
    double timeout;
} cmd_obj;

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Appends text to buf (cap CMD_MAX); returns -1 when it does not fit. */
static int append(char *buf, size_t *len, const char *text, size_t n)
{
    if (*len + n + 1 > CMD_MAX)
        return -1;
    memcpy(buf + *len, text, n);
    *len += n;
    buf[*len] = 0;
    return 0;
}

/* The command line with {name}, {trial}, {budget}, {seed} substituted. */
static int substitute(const char *cmd, const trial_job *job, char *out, tl_err *err)
{
    size_t len = 0;
    out[0] = 0;
    for (const char *p = cmd; *p;) {
        const char *close = *p == '{' ? strchr(p + 1, '}') : NULL;
        if (close) {
            char key[128], val[256];
            size_t kl = (size_t)(close - p - 1);
            int found = 0;
            if (kl < sizeof key) {
                memcpy(key, p + 1, kl);
                key[kl] = 0;
                int i = space_find(job->sp, key);
                if (i >= 0) {
                    if (isnan(job->values[i]))
                        val[0] = 0;
                    else
                        space_format_value(job->sp, i, job->values[i], val, sizeof val);
                    found = 1;
                } else if (strcmp(key, "trial") == 0) {
                    snprintf(val, sizeof val, "%d", job->number);
                    found = 1;
                } else if (strcmp(key, "budget") == 0) {
                    snprintf(val, sizeof val, "%.17g", job->budget);
                    found = 1;
                } else if (strcmp(key, "seed") == 0) {
                    snprintf(val, sizeof val, "%llu", (unsigned long long)job->seed);
                    found = 1;
                }
            }
            if (found) {
                if (append(out, &len, val, strlen(val)))
                    goto too_long;
                p = close + 1;
                continue;
            }
        }
        if (append(out, &len, p, 1))
            goto too_long;
        p++;
    }
    return 0;
too_long:
    return tl_fail(err, TL_EINPUT, "command: longer than %d characters after substitution",
                   CMD_MAX);
}

/* Environment name of a parameter: uppercase, non-alphanumerics -> '_'. */
static void env_name(const char *name, char *out, size_t n)
{
    size_t k = 0;
    for (; name[k] && k + 1 < n; k++) {
        unsigned char c = (unsigned char)name[k];
        out[k] = isalnum(c) ? (char)toupper(c) : '_';
    }
    out[k] = 0;
}

/* Builds envp: environ without the names we set, plus ours.  *strings
 * holds our "NAME=value" texts.  Returns envp (free it and *strings) or NULL. */
static char **build_env(const trial_job *job, char **strings)
{
    size_t nenv = 0;
    while (environ && environ[nenv])
        nenv++;
    int nvars = job->sp->n + 3;
    char *buf = malloc((size_t)nvars * 512);
    char **envp = malloc((nenv + (size_t)nvars + 1) * sizeof *envp);
    if (!buf || !envp) {
        free(buf);
        free(envp);
        return NULL;
    }
    char *vars[SPACE_MAX_PARAMS + 3];
    int nv = 0;
    for (int i = 0; i < job->sp->n; i++) {
        if (isnan(job->values[i]))
            continue;
        char name[128], val[256];
        env_name(job->sp->p[i].name, name, sizeof name);
        space_format_value(job->sp, i, job->values[i], val, sizeof val);
        vars[nv] = buf + (size_t)nv * 512;
        snprintf(vars[nv], 512, "%s=%s", name, val);
        nv++;
    }
    vars[nv] = buf + (size_t)nv * 512;
    snprintf(vars[nv++], 512, "TUNELAB_TRIAL=%d", job->number);
    vars[nv] = buf + (size_t)nv * 512;
    snprintf(vars[nv++], 512, "TUNELAB_BUDGET=%.17g", job->budget);
    vars[nv] = buf + (size_t)nv * 512;
    snprintf(vars[nv++], 512, "TUNELAB_SEED=%llu", (unsigned long long)job->seed);
    size_t k = 0;
    for (size_t e = 0; e < nenv; e++) {
        const char *eq = strchr(environ[e], '=');
        size_t nl = eq ? (size_t)(eq - environ[e]) : strlen(environ[e]);
        int shadowed = 0;
        for (int v = 0; v < nv && !shadowed; v++)
            shadowed = strncmp(vars[v], environ[e], nl) == 0 && vars[v][nl] == '=';
        if (!shadowed)
            envp[k++] = environ[e];
    }
    for (int v = 0; v < nv; v++)
        envp[k++] = vars[v];
    envp[k] = NULL;
    *strings = buf;
    return envp;
}

/* Last number among the words of line (split at blanks, '=', ':', ',', ';'). */
static int last_number(char *line, double *v)
{
    int found = 0;
    for (char *w = strtok(line, " \t\r=:,;"); w; w = strtok(NULL, " \t\r=:,;")) {
        char *end;
        errno = 0;
        double x = strtod(w, &end);
        if (end != w && *end == 0 && errno != ERANGE) {
            *v = x;
            found = 1;
        }
    }
    return found;
}

typedef struct run_state {
    study *s;
    const trial_job *job;
    trial_outcome *out;
    double value;          /* last number seen */
    int have_value;
    int stop;              /* 1: stop (pruned), 2: pause */
    int study_err;         /* a study_report error */
    char errtail[ERR_TAIL + 1];
} run_state;

int cmd_objective_parse_line(char *line, cmd_line *out)
{
    memset(out, 0, sizeof *out);
    const char *tag = "tunelab-report";
    size_t tl = strlen(tag);
    if (strncmp(line, tag, tl) == 0 && (line[tl] == ' ' || line[tl] == '\t')) {
        char *p = line + tl, *end;
        long step = strtol(p, &end, 10);
        if (end == p || step < INT_MIN || step > INT_MAX)
            return out->kind = CMD_LINE_NONE;
        p = end;
        double v = strtod(p, &end);
        if (end == p)
            return out->kind = CMD_LINE_NONE;
        p = end;
        double budget = strtod(p, &end);
        out->step = (int)step;
        out->value = v;
        out->budget = end == p ? NAN : budget;
        return out->kind = CMD_LINE_REPORT;
    }
    return out->kind = last_number(line, &out->value) ? CMD_LINE_VALUE : CMD_LINE_NONE;
}

static void handle_line(run_state *rs, char *line)
{
    cmd_line cl;
    int kind = cmd_objective_parse_line(line, &cl);
    if (kind == CMD_LINE_REPORT) {
        int dec = DECIDE_CONTINUE;
        tl_err e = { 0 };
        if (study_report(rs->s, rs->job->number, cl.step, cl.value, cl.budget, &dec, NULL, &e)) {
            rs->study_err = 1;
            snprintf(rs->out->reason, sizeof rs->out->reason, "report failed: %.200s", e.msg);
            rs->stop = 1;
            return;
        }
        if (dec == DECIDE_STOP)
            rs->stop = 1;
        else if (dec == DECIDE_PAUSE)
            rs->stop = 2;
    } else if (kind == CMD_LINE_VALUE) {
        rs->value = cl.value;
        rs->have_value = 1;
    }
}

static void keep_tail(run_state *rs, const char *data, size_t n)
{
    size_t have = strlen(rs->errtail);
    if (n >= ERR_TAIL) {
        memcpy(rs->errtail, data + n - ERR_TAIL, ERR_TAIL);
        rs->errtail[ERR_TAIL] = 0;
        return;
    }
    if (have + n > ERR_TAIL) {
        size_t drop = have + n - ERR_TAIL;
        memmove(rs->errtail, rs->errtail + drop, have - drop + 1);
        have -= drop;
    }
    memcpy(rs->errtail + have, data, n);
    rs->errtail[have + n] = 0;
}

/* The stderr tail as one line (newlines -> "; ", trimmed). */
static void tail_text(const char *tail, char *out, size_t n)
{
    size_t k = 0;
    for (const char *p = tail; *p && k + 3 < n; p++) {
        if (*p == '\n') {
            if (p[1] && k > 0) {
                out[k++] = ';';
                out[k++] = ' ';
            }
        } else if (*p != '\r') {
            out[k++] = *p;
        }
    }
    out[k] = 0;
}

/* Starts `sh -c cmdline` with environment envp in its own process group,
 * stdin from /dev/null, stdout and stderr into the pipes' write ends
 * (closed here, set to -1).  Returns the pid, or -1 with out->reason. */
static pid_t spawn_sh(char *cmdline, char **envp, int *outp, int *errp, trial_outcome *out)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, outp[1], 1);
    posix_spawn_file_actions_adddup2(&fa, errp[1], 2);
    posix_spawnattr_init(&attr);
    sigset_t none, dfl;
    sigemptyset(&none);
    sigemptyset(&dfl);
    sigaddset(&dfl, SIGPIPE);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &dfl);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                        POSIX_SPAWN_SETSIGDEF);
    char *argv[] = { "sh", "-c", cmdline, NULL };
    pid_t pid = -1;
    int sp_rc = posix_spawn(&pid, "/bin/sh", &fa, &attr, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    close(outp[1]);
    close(errp[1]);
    outp[1] = errp[1] = -1;
    if (sp_rc) {
        snprintf(out->reason, sizeof out->reason, "command: cannot start /bin/sh: %s",
                 strerror(sp_rc));
        return -1;
    }
    return pid;
}

/* Reads the program's stdout line by line into handle_line (line: room
 * for LINE_MAX_LEN + 1 bytes) and keeps the tail of its stderr, until both
 * close, a decision stops it (rs->stop) or the deadline passes.  Returns
 * 1 when it timed out; *open_fds: pipes still open (a poll error leaves
 * out->reason). */
static int pump(run_state *rs, int out_fd, int err_fd, double deadline, char *line, int *open_fds)
{
    size_t linelen = 0;
    int timed_out = 0;
    struct pollfd pf[2] = { { out_fd, POLLIN, 0 }, { err_fd, POLLIN, 0 } };
    char chunk[4096];
    *open_fds = 2;
    while (*open_fds > 0 && !rs->stop) {
        int wait_ms = -1;
        if (isfinite(deadline)) {
            double left = deadline - mono_now();
            if (left <= 0) {
                timed_out = 1;
                break;
            }
            wait_ms = (int)(left * 1000) + 1;
        }
        int n = poll(pf, 2, wait_ms);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            snprintf(rs->out->reason, sizeof rs->out->reason, "command: poll: %s", strerror(errno));
            break;
        }
        for (int k = 0; k < 2; k++) {
            if (pf[k].fd < 0 || !(pf[k].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t got = read(pf[k].fd, chunk, sizeof chunk);
            if (got < 0 && errno == EINTR)
                continue;
            if (got <= 0) {
                pf[k].fd = -1;
                (*open_fds)--;
                continue;
            }
            if (k == 1) {
                keep_tail(rs, chunk, (size_t)got);
                continue;
            }
            for (ssize_t i = 0; i < got && !rs->stop; i++) {
                if (chunk[i] == '\n' || linelen == LINE_MAX_LEN) {
                    line[linelen] = 0;
                    handle_line(rs, line);
                    linelen = 0;
                    if (chunk[i] == '\n')
                        continue;
                }
                line[linelen++] = chunk[i];
            }
        }
    }
    if (!rs->stop && !timed_out && linelen > 0) { /* last line without a newline */
        line[linelen] = 0;
        handle_line(rs, line);
    }
    return timed_out;
}

/* The trial's outcome from how the program ended (wait status `status`).
 * Returns 0 for a COMPLETE, PRUNED or PAUSED trial, TL_ERUNTIME for a
 * FAILED one (out->reason says why). */
static int outcome_of(const run_state *rs, const cmd_obj *co, int timed_out, int status,
                      trial_outcome *out)
{
    char tail[ERR_TAIL + 16];
    tail_text(rs->errtail, tail, sizeof tail);
    out->value = rs->have_value ? rs->value : NAN;
    if (rs->study_err) {
        /* the report's error is the reason */
    } else if (rs->stop == 1 || rs->stop == 2) {
        out->state = rs->stop == 1 ? TRIAL_PRUNED : TRIAL_PAUSED;
        out->value = NAN; /* the study takes the last reported value */
        return 0;
    } else if (timed_out) {
        snprintf(out->reason, sizeof out->reason, "command timed out after %g s", co->timeout);
    } else if (out->reason[0]) {
        /* poll error already described */
    } else if (WIFSIGNALED(status)) {
        snprintf(out->reason, sizeof out->reason, "command killed by signal %d%s%.200s",
                 WTERMSIG(status), tail[0] ? ": " : "", tail);
    } else if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
        snprintf(out->reason, sizeof out->reason, "command exited with status %d%s%.200s",
                 WEXITSTATUS(status), tail[0] ? ": " : "", tail);
    } else if (!rs->have_value) {
        snprintf(out->reason, sizeof out->reason, "command printed no number on stdout");
    } else {
        out->state = TRIAL_COMPLETE;
        return 0;
    }
    out->state = TRIAL_FAILED;
    return TL_ERUNTIME;
}

static int cmd_objective_run(void *ud, study *s, const trial_job *job, trial_outcome *out)
{
    cmd_obj *co = ud;
    int rc = TL_ERUNTIME;
    char *cmdline = malloc(CMD_MAX + LINE_MAX_LEN + 1);
    char *envbuf = NULL, **envp = NULL;
    int outp[2] = { -1, -1 }, errp[2] = { -1, -1 };
    pid_t pid = -1;
    run_state rs = { .s = s, .job = job, .out = out, .value = NAN };
    tl_err e = { 0 };
    if (!cmdline) {
        snprintf(out->reason, sizeof out->reason, "command: out of memory");
        return TL_ERUNTIME;
    }
    if (substitute(co->command, job, cmdline, &e)) {
        snprintf(out->reason, sizeof out->reason, "%.250s", e.msg);
        goto done;
    }
    if (!(envp = build_env(job, &envbuf)) || pipe2(outp, O_CLOEXEC) || pipe2(errp, O_CLOEXEC)) {
        snprintf(out->reason, sizeof out->reason, "command: cannot set up: %s", strerror(errno));
        goto done;
    }
    if ((pid = spawn_sh(cmdline, envp, outp, errp, out)) < 0)
        goto done;
    double deadline = co->timeout > 0 ? mono_now() + co->timeout : INFINITY;
    int open_fds;
    int timed_out = pump(&rs, outp[0], errp[0], deadline, cmdline + CMD_MAX, &open_fds);
    int status = 0;
    if (rs.stop || timed_out || open_fds > 0)
        kill(-pid, SIGKILL);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    pid = -1;
    rc = outcome_of(&rs, co, timed_out, status, out);
done:
    if (pid > 0) {
        kill(-pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    for (int k = 0; k < 2; k++) {
        if (outp[k] >= 0)
            close(outp[k]);
        if (errp[k] >= 0)
            close(errp[k]);
    }
    free(envp);
    free(envbuf);
    free(cmdline);
    return rc;
}

int cmd_objective_new(objective *out, const char *command, double timeout_s, tl_err *err)
{
    memset(out, 0, sizeof *out);
    if (!command || !*command)
        return tl_fail(err, TL_EINPUT, "command: empty command");
    cmd_obj *co = calloc(1, sizeof *co);
    if (!co || !(co->command = strdup(command))) {
        free(co);
        return tl_fail(err, TL_ERUNTIME, "command: out of memory");
    }
    co->timeout = timeout_s > 0 ? timeout_s : 0;
    out->ud = co;
    out->run = cmd_objective_run;
    return 0;
}

void cmd_objective_free(objective *o)
{
    if (!o || o->run != cmd_objective_run)
        return;
    cmd_obj *co = o->ud;
    if (co)
        free(co->command);
    free(co);
    memset(o, 0, sizeof *o);
}

/* ---- function objective ---- */

typedef struct func_obj {
    const benchfn *tf;
    int idx[BENCHFN_MAX_DIM]; /* parameter index of each coordinate */
} func_obj;

static int func_run(void *ud, study *s, const trial_job *job, trial_outcome *out)
{
    const func_obj *fo = ud;
    double x[BENCHFN_MAX_DIM];
    for (int d = 0; d < fo->tf->dim; d++) {
        const param *p = &job->sp->p[fo->idx[d]];
        x[d] = job->values[fo->idx[d]];
        if (p->kind == PARAM_CAT && !isnan(x[d]))
            x[d] = p->catnum[(int)x[d]]; /* a numeric choice: its number */
        if (isnan(x[d])) {
            snprintf(out->reason, sizeof out->reason, "%s: coordinate %d is inactive",
                     fo->tf->name, d);
            return TL_EINPUT;
        }
    }
    out->value = fo->tf->f(x);
    out->state = TRIAL_COMPLETE;
    return 0;
}

int function_objective_new(objective *out, const char *name, const space *sp, tl_err *err)
{
    memset(out, 0, sizeof *out);
    const benchfn *tf = benchfn_find(name);
    if (!tf) {
        int n;
        const benchfn *all = benchfn_all(&n);
        char list[256];
        size_t at = 0;
        for (int k = 0; k < n && at < sizeof list; k++)
            at += (size_t)snprintf(list + at, sizeof list - at, "%s%s", k ? ", " : "",
                                   all[k].name);
        return tl_fail(err, TL_EINPUT, "function: unknown test function '%s' (known: %s)",
                       name ? name : "", list);
    }
    if (sp->n < tf->dim)
        return tl_fail(err, TL_EINPUT, "function %s: needs %d parameters, the space has %d",
                       tf->name, tf->dim, sp->n);
    func_obj *fo = calloc(1, sizeof *fo);
    if (!fo)
        return tl_fail(err, TL_ERUNTIME, "function: out of memory");
    fo->tf = tf;
    int named = 1;
    for (int d = 0; d < tf->dim; d++) {
        char xn[16];
        snprintf(xn, sizeof xn, "x%d", d);
        fo->idx[d] = space_find(sp, xn);
        named &= fo->idx[d] >= 0;
    }
    for (int d = 0; d < tf->dim; d++) {
        if (!named)
            fo->idx[d] = d;
        const param *p = &sp->p[fo->idx[d]];
        for (int k = 0; p->kind == PARAM_CAT && k < p->ncat; k++)
            if (!isfinite(p->catnum[k])) {
                tl_fail(err, TL_EINPUT,
                        "function %s: parameter %s: choice '%s' is not a number (a test function "
                        "takes numbers; write choice(-5, 0, 5) or uniform(low, high))",
                        tf->name, p->name, p->cats[k]);
                free(fo);
                return TL_EINPUT;
            }
    }
    out->ud = fo;
    out->run = func_run;
    return 0;
}

void function_objective_free(objective *o)
{
    if (!o || o->run != func_run)
        return;
    free(o->ud);
    memset(o, 0, sizeof *o);
}
