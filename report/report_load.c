/* report/report_load.c: reads a study back from its SQLite database for
 * show, best, export and report (see report/report.h).
 *
 * Does: a read-only open (never creates or changes the file), plain
 * queries on the schema of hpo/storage.h, the space rebuilt with
 * space_add from each parameter's canonical expression, trials with their
 * values, intermediate values and attributes, the best trial and counts.
 * Does not: go through hpo/study (whose open creates missing files and
 * needs the config), know any sampler or scheduler, or print.
 */
#include "report/report.h"

#include <errno.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define BUSY_MS 10000

typedef struct loader {
    sqlite3 *db;
    const char *path;
    report_study *rs;
    int study_id;
    int *pos;              /* (maxnum + 1) trial number -> index in rs->trials, -1 none */
    int maxnum;
    tl_err *err;
} loader;

static int db_fail(loader *L, const char *what)
{
    return tl_fail(L->err, TL_ERUNTIME, "%s: %s: %s", L->path, what, sqlite3_errmsg(L->db));
}

static sqlite3_stmt *prep(loader *L, const char *sql, const char *what)
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(L->db, sql, -1, &q, NULL) != SQLITE_OK) {
        db_fail(L, what);
        return NULL;
    }
    return q;
}

/* prep for a query whose one parameter is the study id, bound here.
 * Returns the statement (the caller finalizes it), or NULL with L->err
 * filled. */
static sqlite3_stmt *prep_study(loader *L, const char *sql, const char *what)
{
    sqlite3_stmt *q = prep(L, sql, what);
    if (q)
        sqlite3_bind_int(q, 1, L->study_id);
    return q;
}

static double col_real(sqlite3_stmt *q, int i)
{
    return sqlite3_column_type(q, i) == SQLITE_NULL ? NAN : sqlite3_column_double(q, i);
}

static void col_text(sqlite3_stmt *q, int i, char *buf, size_t n)
{
    const unsigned char *t = sqlite3_column_text(q, i);
    snprintf(buf, n, "%s", t ? (const char *)t : "");
}

static char *col_dup(sqlite3_stmt *q, int i)
{
    const unsigned char *t = sqlite3_column_text(q, i);
    return strdup(t ? (const char *)t : "");
}

/* Index of trial number `number`, or -1. */
static int pos_of(const loader *L, int number)
{
    return number >= 0 && number <= L->maxnum ? L->pos[number] : -1;
}

/* Opens the file read-only and checks it holds the tables we read. */
static int open_db(loader *L)
{
    struct stat stt;
    if (stat(L->path, &stt) != 0)
        return tl_fail(L->err, TL_EINPUT, "%s: %s", L->path,
                       errno == ENOENT ? "no such file" : strerror(errno));
    if (S_ISDIR(stt.st_mode))
        return tl_fail(L->err, TL_EINPUT, "%s: is a folder, not a study database", L->path);
    if (sqlite3_open_v2(L->path, &L->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        return tl_fail(L->err, TL_EINPUT, "%s: cannot open: %s", L->path,
                       L->db ? sqlite3_errmsg(L->db) : "out of memory");
    sqlite3_busy_timeout(L->db, BUSY_MS);
    static const char *const need[] = {"studies", "study_params", "trials", "trial_values",
                                       "trial_intermediate", "trial_attrs", "study_attrs"};
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(L->db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?",
                           -1, &q, NULL) != SQLITE_OK)
        return tl_fail(L->err, TL_EINPUT, "%s: not a tunelab study database (%s)", L->path,
                       sqlite3_errmsg(L->db));
    for (size_t k = 0; k < sizeof need / sizeof need[0]; k++) {
        sqlite3_reset(q);
        sqlite3_bind_text(q, 1, need[k], -1, SQLITE_STATIC);
        int rc = sqlite3_step(q);
        if (rc != SQLITE_ROW) {
            tl_fail(L->err, TL_EINPUT, "%s: not a tunelab study database (%s)", L->path,
                    sqlite3_errmsg(L->db));
            sqlite3_finalize(q);
            return TL_EINPUT;
        }
        if (sqlite3_column_int(q, 0) == 0) {
            sqlite3_finalize(q);
            return tl_fail(L->err, TL_EINPUT, "%s: not a tunelab study database (no table %s)", L->path,
                           need[k]);
        }
    }
    sqlite3_finalize(q);
    return 0;
}

/* Finds the study: by name, or the only one. */
static int find_study(loader *L, const char *name)
{
    report_study *rs = L->rs;
    sqlite3_stmt *q = prep(L, "SELECT id, name, direction, metric, seed, created FROM studies ORDER BY id",
                           "reading studies");
    if (!q)
        return TL_ERUNTIME;
    int found = 0, count = 0, rc;
    char names[512] = "";
    size_t at = 0;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        char nm[128];
        col_text(q, 1, nm, sizeof nm);
        count++;
        if (at < sizeof names)
            at += (size_t)snprintf(names + at, sizeof names - at, "%s'%s'", count > 1 ? ", " : "", nm);
        if (found || (name && strcmp(nm, name)))
            continue;
        found = 1;
        L->study_id = sqlite3_column_int(q, 0);
        snprintf(rs->name, sizeof rs->name, "%s", nm);
        char dir[16];
        col_text(q, 2, dir, sizeof dir);
        rs->direction = strcmp(dir, "maximize") == 0 ? STUDY_MAXIMIZE : STUDY_MINIMIZE;
        col_text(q, 3, rs->metric, sizeof rs->metric);
        rs->seed = (uint64_t)sqlite3_column_int64(q, 4);
        rs->created = col_real(q, 5);
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE)
        return db_fail(L, "reading studies");
    if (count == 0)
        return tl_fail(L->err, TL_EINPUT, "%s: no study in this database", L->path);
    if (!found)
        return tl_fail(L->err, TL_EINPUT, "%s: no study '%s' (there: %s)", L->path, name, names);
    if (!name && count > 1)
        return tl_fail(L->err, TL_EINPUT, "%s: %d studies (%s): choose one with --study NAME", L->path,
                       count, names);
    return 0;
}

static int load_space(loader *L)
{
    sqlite3_stmt *q = prep_study(L, "SELECT name, expr FROM study_params WHERE study_id = ? ORDER BY idx",
                                 "reading the space");
    if (!q)
        return TL_ERUNTIME;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        char name[128], expr[2048];
        col_text(q, 0, name, sizeof name);
        col_text(q, 1, expr, sizeof expr);
        if (space_add(&L->rs->sp, name, expr, L->err)) {
            sqlite3_finalize(q);
            return tl_prefix(L->err, "%s: stored space", L->path);
        }
    }
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? 0 : db_fail(L, "reading the space");
}

static int load_trials(loader *L)
{
    report_study *rs = L->rs;
    sqlite3_stmt *q = prep_study(L, "SELECT count(*), coalesce(max(number), -1) FROM trials WHERE study_id = ?",
                                 "reading trials");
    if (!q)
        return TL_ERUNTIME;
    int n = 0;
    if (sqlite3_step(q) == SQLITE_ROW) {
        n = sqlite3_column_int(q, 0);
        L->maxnum = sqlite3_column_int(q, 1);
    }
    sqlite3_finalize(q);
    rs->trials = calloc((size_t)(n ? n : 1), sizeof *rs->trials);
    L->pos = malloc((size_t)(L->maxnum + 2) * sizeof *L->pos);
    if (!rs->trials || !L->pos)
        return tl_fail(L->err, TL_ERUNTIME, "%s: out of memory", L->path);
    for (int k = 0; k <= L->maxnum; k++)
        L->pos[k] = -1;

    q = prep_study(L,
                   "SELECT number, state, value, budget, target, parent, started, finished, host, pid, worker,"
                   " reason FROM trials WHERE study_id = ? ORDER BY number",
                   "reading trials");
    if (!q)
        return TL_ERUNTIME;
    int rc = SQLITE_DONE;
    while (rs->ntrials < n && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        report_trial *r = &rs->trials[rs->ntrials];
        if (trial_init(&r->t, rs->sp.n)) {
            sqlite3_finalize(q);
            return tl_fail(L->err, TL_ERUNTIME, "%s: out of memory", L->path);
        }
        rs->ntrials++;
        trial *t = &r->t;
        t->number = sqlite3_column_int(q, 0);
        char st[32];
        col_text(q, 1, st, sizeof st);
        t->state = trial_state_parse(st);
        if (t->state < 0) {
            sqlite3_finalize(q);
            return tl_fail(L->err, TL_EINPUT, "%s: trial %d: unknown state '%s'", L->path, t->number, st);
        }
        t->value = col_real(q, 2);
        t->budget = col_real(q, 3);
        r->target = col_real(q, 4);
        t->parent = sqlite3_column_type(q, 5) == SQLITE_NULL ? -1 : sqlite3_column_int(q, 5);
        t->started = col_real(q, 6);
        t->finished = col_real(q, 7);
        col_text(q, 8, r->host, sizeof r->host);
        r->pid = (long)sqlite3_column_int64(q, 9);
        r->worker = sqlite3_column_int(q, 10);
        col_text(q, 11, t->reason, sizeof t->reason);
        if (t->number >= 0 && t->number <= L->maxnum)
            L->pos[t->number] = rs->ntrials - 1;
    }
    sqlite3_finalize(q);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : db_fail(L, "reading trials");
}

/* Runs sql (study id bound, column 0 a trial number) and calls
 * row(L, q, i) for each row of loaded trial i; row returns nonzero when
 * out of memory.  Returns 0, or TL_ERUNTIME with L->err filled (what
 * names the query in database errors). */
static int each_trial_row(loader *L, const char *sql, const char *what,
                          int (*row)(loader *L, sqlite3_stmt *q, int i))
{
    sqlite3_stmt *q = prep_study(L, sql, what);
    if (!q)
        return TL_ERUNTIME;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        int i = pos_of(L, sqlite3_column_int(q, 0));
        if (i >= 0 && row(L, q, i)) {
            sqlite3_finalize(q);
            return tl_fail(L->err, TL_ERUNTIME, "%s: out of memory", L->path);
        }
    }
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? 0 : db_fail(L, what);
}

/* Row (number, param, value) of trial i. */
static int row_value(loader *L, sqlite3_stmt *q, int i)
{
    char name[128];
    col_text(q, 1, name, sizeof name);
    int p = space_find(&L->rs->sp, name);
    if (p >= 0)
        L->rs->trials[i].t.values[p] = col_real(q, 2);
    return 0;
}

/* Row (number, step, value) of trial i; nonzero when out of memory. */
static int row_inter(loader *L, sqlite3_stmt *q, int i)
{
    return trial_set_inter(&L->rs->trials[i].t, sqlite3_column_int(q, 1), col_real(q, 2));
}

static int load_values(loader *L)
{
    int rc = each_trial_row(L,
                            "SELECT t.number, v.param, v.value FROM trial_values v JOIN trials t"
                            " ON t.id = v.trial_id WHERE t.study_id = ?",
                            "reading values", row_value);
    if (rc)
        return rc;
    return each_trial_row(L,
                          "SELECT t.number, i.step, i.value FROM trial_intermediate i JOIN trials t"
                          " ON t.id = i.trial_id WHERE t.study_id = ? ORDER BY t.number, i.step",
                          "reading intermediate values", row_inter);
}

/* Appends key/value to the list (*kv, *n). */
static int kv_push(report_kv **kv, int *n, sqlite3_stmt *q, int kcol, int vcol)
{
    report_kv *g = realloc(*kv, (size_t)(*n + 1) * sizeof *g);
    if (!g)
        return -1;
    *kv = g;
    g[*n].key = col_dup(q, kcol);
    g[*n].value = col_dup(q, vcol);
    (*n)++;
    return g[*n - 1].key && g[*n - 1].value ? 0 : -1;
}

/* Row (number, key, value) of trial i; nonzero when out of memory. */
static int row_attr(loader *L, sqlite3_stmt *q, int i)
{
    return kv_push(&L->rs->trials[i].attrs, &L->rs->trials[i].nattrs, q, 1, 2);
}

static int load_attrs(loader *L)
{
    report_study *rs = L->rs;
    int rc = each_trial_row(L,
                            "SELECT t.number, a.key, a.value FROM trial_attrs a JOIN trials t"
                            " ON t.id = a.trial_id WHERE t.study_id = ? ORDER BY t.number, a.key",
                            "reading trial attributes", row_attr);
    if (rc)
        return rc;
    sqlite3_stmt *q = prep_study(L, "SELECT key, value FROM study_attrs WHERE study_id = ? ORDER BY key",
                                 "reading study attributes");
    if (!q)
        return TL_ERUNTIME;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW)
        if (kv_push(&rs->attrs, &rs->nattrs, q, 0, 1)) {
            sqlite3_finalize(q);
            return tl_fail(L->err, TL_ERUNTIME, "%s: out of memory", L->path);
        }
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? 0 : db_fail(L, "reading study attributes");
}

/* Is a better than b (both finite values) for the study's direction? */
static int better(const report_study *rs, double a, double b)
{
    return rs->direction == STUDY_MAXIMIZE ? a > b : a < b;
}

static void summarize(report_study *rs)
{
    const char *a;
    if ((a = report_study_attr(rs, "sampler")))
        snprintf(rs->sampler, sizeof rs->sampler, "%s", a);
    if ((a = report_study_attr(rs, "scheduler")))
        snprintf(rs->scheduler, sizeof rs->scheduler, "%s", a);
    if ((a = report_study_attr(rs, "config")))
        snprintf(rs->config, sizeof rs->config, "%s", a);
    if ((a = report_study_attr(rs, "objective")))
        snprintf(rs->objective, sizeof rs->objective, "%s", a);
    rs->best = -1;
    rs->first_start = rs->last_finish = NAN;
    for (int i = 0; i < rs->ntrials; i++) {
        const trial *t = &rs->trials[i].t;
        rs->counts[t->state]++;
        if (isfinite(t->budget))
            rs->budget_used += t->budget;
        if (isfinite(t->started) && !(t->started >= rs->first_start))
            rs->first_start = t->started;
        if (isfinite(t->finished) && !(t->finished <= rs->last_finish))
            rs->last_finish = t->finished;
        if (t->state == TRIAL_COMPLETE && isfinite(t->value) &&
            (rs->best < 0 || better(rs, t->value, rs->trials[rs->best].t.value)))
            rs->best = i;
    }
}

int report_study_load(report_study **out, const char *path, const char *name, tl_err *err)
{
    *out = NULL;
    report_study *rs = calloc(1, sizeof *rs);
    if (!rs)
        return tl_fail(err, TL_ERUNTIME, "%s: out of memory", path);
    space_init(&rs->sp);
    snprintf(rs->path, sizeof rs->path, "%s", path);
    loader L = {.path = path, .rs = rs, .err = err, .maxnum = -1};
    int rc;
    if ((rc = open_db(&L)) || (rc = sqlite3_exec(L.db, "BEGIN", NULL, NULL, NULL) ? db_fail(&L, "begin") : 0) ||
        (rc = find_study(&L, name)) || (rc = load_space(&L)) || (rc = load_trials(&L)) ||
        (rc = load_values(&L)) || (rc = load_attrs(&L))) {
        free(L.pos);
        sqlite3_close(L.db);
        report_study_free(rs);
        return rc;
    }
    /* One read transaction: a consistent snapshot while another process writes. */
    sqlite3_exec(L.db, "COMMIT", NULL, NULL, NULL);
    free(L.pos);
    sqlite3_close(L.db);
    summarize(rs);
    *out = rs;
    return 0;
}

static void kv_free(report_kv *kv, int n)
{
    for (int k = 0; k < n; k++) {
        free(kv[k].key);
        free(kv[k].value);
    }
    free(kv);
}

void report_study_free(report_study *rs)
{
    if (!rs)
        return;
    for (int i = 0; i < rs->ntrials; i++) {
        trial_free(&rs->trials[i].t);
        kv_free(rs->trials[i].attrs, rs->trials[i].nattrs);
    }
    free(rs->trials);
    kv_free(rs->attrs, rs->nattrs);
    space_free(&rs->sp);
    free(rs);
}

static const char *kv_get(const report_kv *kv, int n, const char *key)
{
    for (int k = 0; k < n; k++)
        if (!strcmp(kv[k].key, key))
            return kv[k].value;
    return NULL;
}

const char *report_trial_attr(const report_study *rs, int i, const char *key)
{
    if (i < 0 || i >= rs->ntrials)
        return NULL;
    return kv_get(rs->trials[i].attrs, rs->trials[i].nattrs, key);
}

const char *report_study_attr(const report_study *rs, const char *key)
{
    return kv_get(rs->attrs, rs->nattrs, key);
}

int report_uses(const report_study *rs, const char *algo)
{
    return algo && algo[0] && (!strcmp(rs->sampler, algo) || !strcmp(rs->scheduler, algo));
}

int report_ranked(const report_study *rs, int *idx)
{
    int n = 0;
    for (int i = 0; i < rs->ntrials; i++) {
        const trial *t = &rs->trials[i].t;
        if (t->state != TRIAL_COMPLETE || !isfinite(t->value))
            continue;
        /* insertion sort: stable, so ties keep number order */
        int k = n++;
        while (k > 0 && better(rs, t->value, rs->trials[idx[k - 1]].t.value)) {
            idx[k] = idx[k - 1];
            k--;
        }
        idx[k] = i;
    }
    return n;
}

double report_duration(const report_study *rs, int i)
{
    const trial *t = &rs->trials[i].t;
    return isfinite(t->started) && isfinite(t->finished) ? t->finished - t->started : NAN;
}

/* 1 when text can go on a shell command line without quotes. */
static int shell_plain(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-+/:=,@%", *s))
            return 0;
    return 1;
}

/* Appends s, single-quoted for sh when needed, at buf + *at. */
static void put_shell(char *buf, size_t n, size_t *at, const char *s)
{
    if (shell_plain(s)) {
        *at += (size_t)snprintf(buf + (*at < n ? *at : n), *at < n ? n - *at : 0, "%s", s);
        return;
    }
    *at += (size_t)snprintf(buf + (*at < n ? *at : n), *at < n ? n - *at : 0, "'");
    for (; *s; s++)
        *at += (size_t)snprintf(buf + (*at < n ? *at : n), *at < n ? n - *at : 0, *s == '\'' ? "'\\''" : "%c",
                                *s);
    *at += (size_t)snprintf(buf + (*at < n ? *at : n), *at < n ? n - *at : 0, "'");
}

int report_retrain_command(const report_study *rs, int i, char *buf, size_t n)
{
    size_t at = 0;
    if (n)
        buf[0] = 0;
    at += (size_t)snprintf(buf, n, "tunelab train ");
    put_shell(buf, n, &at, rs->config[0] ? rs->config : "CONFIG");
    for (int p = 0; p < rs->sp.n; p++) {
        double v = rs->trials[i].t.values[p];
        if (isnan(v))
            continue;
        char text[300], kv[512];
        space_format_value(&rs->sp, p, v, text, sizeof text);
        snprintf(kv, sizeof kv, "%s=%s", rs->sp.p[p].name, text);
        at += (size_t)snprintf(buf + (at < n ? at : n), at < n ? n - at : 0, " --set ");
        put_shell(buf, n, &at, kv);
    }
    const char *threads = report_trial_attr(rs, i, "threads");
    if (threads && threads[0] && shell_plain(threads))
        at += (size_t)snprintf(buf + (at < n ? at : n), at < n ? n - at : 0, " --set train.threads=%s",
                               threads);
    return (int)at;
}
