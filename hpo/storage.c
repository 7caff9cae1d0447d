/* hpo/storage.c: the SQLite implementation of the storage interface.
 *
 * Does: schema creation, WAL mode, nestable IMMEDIATE write transactions,
 * trials with their values, intermediate values and attributes, an
 * incremental reload of changed trials through a per-study change counter,
 * and, for readers, a read-only open and a snapshot of a whole study in
 * one read transaction.  This file is the only one that knows the schema.
 * Does not: decide anything (the study does), cache statements across
 * calls (every call prepares its statement: simple, and cheap next to an
 * fsync), migrate or repair a database, or print.
 */
#include "hpo/storage.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BUSY_TIMEOUT_MS 60000

typedef struct sql_store {
    sqlite3 *db;
    int depth;           /* nesting of begin() */
    int readonly;        /* opened by storage_sqlite_open_readonly: writes refused */
    int reading;         /* inside a snapshot's read transaction */
    char path[512];
} sql_store;

/* The tables a tunelab study database has (a reader checks them all). */
static const char *const tables[] = { "studies", "study_params", "trials", "trial_values",
                                      "trial_intermediate", "trial_attrs", "study_attrs" };

static const char *const schema =
    "CREATE TABLE IF NOT EXISTS studies("
    " id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, direction TEXT NOT NULL,"
    " metric TEXT, seed INTEGER, created REAL, seq INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS study_params("
    " study_id INTEGER NOT NULL, idx INTEGER NOT NULL, name TEXT NOT NULL, kind TEXT NOT NULL,"
    " expr TEXT NOT NULL, PRIMARY KEY(study_id, idx));"
    "CREATE TABLE IF NOT EXISTS trials("
    " id INTEGER PRIMARY KEY, study_id INTEGER NOT NULL, number INTEGER NOT NULL,"
    " state TEXT NOT NULL, value REAL, budget REAL NOT NULL DEFAULT 0, target REAL,"
    " parent INTEGER, started REAL, finished REAL, host TEXT, pid INTEGER, worker INTEGER,"
    " reason TEXT, seq INTEGER NOT NULL DEFAULT 0, UNIQUE(study_id, number));"
    "CREATE INDEX IF NOT EXISTS trials_seq ON trials(study_id, seq);"
    "CREATE TABLE IF NOT EXISTS trial_values("
    " trial_id INTEGER NOT NULL, param TEXT NOT NULL, value REAL, text TEXT,"
    " PRIMARY KEY(trial_id, param));"
    "CREATE TABLE IF NOT EXISTS trial_intermediate("
    " trial_id INTEGER NOT NULL, step INTEGER NOT NULL, value REAL,"
    " PRIMARY KEY(trial_id, step));"
    "CREATE TABLE IF NOT EXISTS trial_attrs("
    " trial_id INTEGER NOT NULL, key TEXT NOT NULL, value TEXT, PRIMARY KEY(trial_id, key));"
    "CREATE TABLE IF NOT EXISTS study_attrs("
    " study_id INTEGER NOT NULL, key TEXT NOT NULL, value TEXT, PRIMARY KEY(study_id, key));";

static int db_fail(sql_store *st, tl_err *err, const char *what)
{
    return tl_fail(err, TL_ERUNTIME, "%s: %s: %s", st->path, what, sqlite3_errmsg(st->db));
}

static int exec(sql_store *st, const char *sql, tl_err *err)
{
    char *msg = NULL;
    if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        tl_fail(err, TL_ERUNTIME, "%s: %s", st->path, msg ? msg : sqlite3_errmsg(st->db));
        sqlite3_free(msg);
        return TL_ERUNTIME;
    }
    return 0;
}

/* exec, retrying while the database is busy or locked: opening a file that
 * another process is switching to WAL, or recovering, can answer
 * SQLITE_BUSY without calling the busy handler.  Gives up after the busy
 * timeout. */
static int exec_retry(sql_store *st, const char *sql, tl_err *err)
{
    struct timespec nap = { 0, 5000000 };
    for (int tries = BUSY_TIMEOUT_MS / 5;; tries--) {
        int rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);
        if (rc == SQLITE_OK)
            return 0;
        int base = rc & 0xff;
        if ((base != SQLITE_BUSY && base != SQLITE_LOCKED) || tries <= 0)
            return exec(st, sql, err); /* once more, to fill err */
        nanosleep(&nap, NULL);
    }
}

static sqlite3_stmt *prep(sql_store *st, const char *sql, tl_err *err)
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(st->db, sql, -1, &q, NULL) != SQLITE_OK) {
        db_fail(st, err, "prepare");
        return NULL;
    }
    return q;
}

/* Binds a double, NULL for NaN or infinities (SQLite stores no NaN). */
static void bind_real(sqlite3_stmt *q, int i, double v)
{
    if (isfinite(v))
        sqlite3_bind_double(q, i, v);
    else
        sqlite3_bind_null(q, i);
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

/* 0, or TL_EINPUT when st was opened read-only (called first by every
 * write, so that a reader never reaches SQLite with one). */
static int writable(sql_store *st, tl_err *err)
{
    return st->readonly ? tl_fail(err, TL_EINPUT, "%s: opened read-only: no writes", st->path) : 0;
}

/* Runs a statement expected to return no row; finalizes it. */
static int step_done(sql_store *st, sqlite3_stmt *q, tl_err *err, const char *what)
{
    int rc = sqlite3_step(q);
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return db_fail(st, err, what);
    return 0;
}

/* ---- transactions ---- */

static int st_begin(void *self, tl_err *err)
{
    sql_store *st = self;
    if (writable(st, err))
        return TL_EINPUT;
    if (st->depth++ > 0)
        return 0;
    if (exec_retry(st, "BEGIN IMMEDIATE", err)) {
        st->depth = 0;
        return TL_ERUNTIME;
    }
    return 0;
}

static int st_commit(void *self, tl_err *err)
{
    sql_store *st = self;
    if (st->depth <= 0)
        return 0;
    if (--st->depth > 0)
        return 0;
    if (exec(st, "COMMIT", err)) {
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
        return TL_ERUNTIME;
    }
    return 0;
}

static void st_rollback(void *self)
{
    sql_store *st = self;
    if (st->depth <= 0)
        return;
    st->depth = 0;
    if (!sqlite3_get_autocommit(st->db))
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}

/* ---- studies and space ---- */

/* A row of studies, as SELECT STUDY_COLS reads it. */
#define STUDY_COLS "id, name, direction, metric, seed, created"
typedef struct study_row {
    int id;
    char name[128];
    int direction;
    char metric[64];
    uint64_t seed;
    double created;
} study_row;

static void read_study_row(sqlite3_stmt *q, study_row *r)
{
    char dir[16];
    r->id = sqlite3_column_int(q, 0);
    col_text(q, 1, r->name, sizeof r->name);
    col_text(q, 2, dir, sizeof dir);
    r->direction = strcmp(dir, "maximize") == 0 ? STUDY_MAXIMIZE : STUDY_MINIMIZE;
    col_text(q, 3, r->metric, sizeof r->metric);
    r->seed = (uint64_t)sqlite3_column_int64(q, 4);
    r->created = col_real(q, 5);
}

static int st_study_open(void *self, const char *name, int direction, const char *metric,
                         uint64_t seed, int *study_id, int *created, int *stored_direction,
                         char *stored_metric, size_t metric_n, tl_err *err)
{
    sql_store *st = self;
    sqlite3_stmt *q = prep(st, "SELECT " STUDY_COLS " FROM studies WHERE name = ?", err);
    if (!q)
        return TL_ERUNTIME;
    sqlite3_bind_text(q, 1, name, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        study_row r;
        read_study_row(q, &r);
        *study_id = r.id;
        *stored_direction = r.direction;
        snprintf(stored_metric, metric_n, "%s", r.metric);
        *created = 0;
        sqlite3_finalize(q);
        return 0;
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE)
        return db_fail(st, err, "reading studies");
    if (st->readonly)
        return tl_fail(err, TL_EINPUT, "%s: no study '%s' (opened read-only: not created)",
                       st->path, name);
    q = prep(st, "INSERT INTO studies(name, direction, metric, seed, created) VALUES (?,?,?,?,?)",
             err);
    if (!q)
        return TL_ERUNTIME;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    sqlite3_bind_text(q, 1, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(q, 2, direction == STUDY_MAXIMIZE ? "maximize" : "minimize", -1,
                      SQLITE_STATIC);
    sqlite3_bind_text(q, 3, metric, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(q, 4, (sqlite3_int64)seed);
    sqlite3_bind_double(q, 5, (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec);
    if (step_done(st, q, err, "creating the study"))
        return TL_ERUNTIME;
    *study_id = (int)sqlite3_last_insert_rowid(st->db);
    *created = 1;
    *stored_direction = direction;
    snprintf(stored_metric, metric_n, "%s", metric);
    return 0;
}

static int st_space_save(void *self, int study_id, const space *sp, tl_err *err)
{
    sql_store *st = self;
    if (writable(st, err))
        return TL_EINPUT;
    char expr[2048];
    for (int i = 0; i < sp->n; i++) {
        sqlite3_stmt *q = prep(st, "INSERT OR REPLACE INTO study_params(study_id, idx, name, kind,"
                                   " expr) VALUES (?,?,?,?,?)", err);
        if (!q)
            return TL_ERUNTIME;
        space_describe(sp, i, 1, expr, sizeof expr);
        sqlite3_bind_int(q, 1, study_id);
        sqlite3_bind_int(q, 2, i);
        sqlite3_bind_text(q, 3, sp->p[i].name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(q, 4, param_kind_str(sp->p[i].kind), -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 5, expr, -1, SQLITE_TRANSIENT);
        if (step_done(st, q, err, "saving the space"))
            return TL_ERUNTIME;
    }
    return 0;
}

static int st_space_load(void *self, int study_id, space *sp, tl_err *err)
{
    sql_store *st = self;
    sqlite3_stmt *q = prep(st, "SELECT name, expr FROM study_params WHERE study_id = ? ORDER BY idx",
                           err);
    if (!q)
        return TL_ERUNTIME;
    sqlite3_bind_int(q, 1, study_id);
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        char name[128], expr[2048];
        col_text(q, 0, name, sizeof name);
        col_text(q, 1, expr, sizeof expr);
        if (space_add(sp, name, expr, err)) {
            sqlite3_finalize(q);
            tl_prefix(err, "%s: stored space", st->path);
            return TL_ERUNTIME;
        }
    }
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? 0 : db_fail(st, err, "reading the space");
}

/* ---- trials ---- */

/* Bumps the study's change counter; returns the new value, or -1. */
static sqlite3_int64 bump(sql_store *st, int study_id, tl_err *err)
{
    sqlite3_stmt *q = prep(st, "UPDATE studies SET seq = seq + 1 WHERE id = ? RETURNING seq", err);
    if (!q)
        return -1;
    sqlite3_bind_int(q, 1, study_id);
    sqlite3_int64 v = -1;
    if (sqlite3_step(q) == SQLITE_ROW)
        v = sqlite3_column_int64(q, 0);
    else
        db_fail(st, err, "updating the change counter");
    sqlite3_finalize(q);
    return v;
}

/* Row id of trial `number`, or -1 (err filled). */
static sqlite3_int64 trial_id(sql_store *st, int study_id, int number, tl_err *err)
{
    sqlite3_stmt *q = prep(st, "SELECT id FROM trials WHERE study_id = ? AND number = ?", err);
    if (!q)
        return -1;
    sqlite3_bind_int(q, 1, study_id);
    sqlite3_bind_int(q, 2, number);
    sqlite3_int64 id = -1;
    if (sqlite3_step(q) == SQLITE_ROW)
        id = sqlite3_column_int64(q, 0);
    else
        tl_fail(err, TL_EINPUT, "%s: no trial %d", st->path, number);
    sqlite3_finalize(q);
    return id;
}

/* Marks trial `number` changed (seq = a fresh counter value). */
static int touch(sql_store *st, int study_id, int number, tl_err *err)
{
    sqlite3_int64 seq = bump(st, study_id, err);
    if (seq < 0)
        return TL_ERUNTIME;
    sqlite3_stmt *q = prep(st, "UPDATE trials SET seq = ? WHERE study_id = ? AND number = ?", err);
    if (!q)
        return TL_ERUNTIME;
    sqlite3_bind_int64(q, 1, seq);
    sqlite3_bind_int(q, 2, study_id);
    sqlite3_bind_int(q, 3, number);
    return step_done(st, q, err, "updating a trial");
}

static int write_values(sql_store *st, sqlite3_int64 tid, const space *sp, const double *values,
                        tl_err *err)
{
    sqlite3_stmt *q = prep(st, "DELETE FROM trial_values WHERE trial_id = ?", err);
    if (!q)
        return TL_ERUNTIME;
    sqlite3_bind_int64(q, 1, tid);
    if (step_done(st, q, err, "writing values"))
        return TL_ERUNTIME;
    char text[512];
    for (int i = 0; i < sp->n; i++) {
        if (isnan(values[i]))
            continue;
        q = prep(st, "INSERT INTO trial_values(trial_id, param, value, text) VALUES (?,?,?,?)", err);
        if (!q)
            return TL_ERUNTIME;
        space_format_value(sp, i, values[i], text, sizeof text);
        sqlite3_bind_int64(q, 1, tid);
        sqlite3_bind_text(q, 2, sp->p[i].name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_double(q, 3, values[i]);
        sqlite3_bind_text(q, 4, text, -1, SQLITE_TRANSIENT);
        if (step_done(st, q, err, "writing values"))
            return TL_ERUNTIME;
    }
    return 0;
}

static void bind_trial_fields(sqlite3_stmt *q, const trial *t, const trial_meta *m, int first)
{
    sqlite3_bind_text(q, first, trial_state_str(t->state), -1, SQLITE_STATIC);
    bind_real(q, first + 1, t->value);
    sqlite3_bind_double(q, first + 2, isfinite(t->budget) ? t->budget : 0);
    bind_real(q, first + 3, m->target);
    if (t->parent >= 0)
        sqlite3_bind_int(q, first + 4, t->parent);
    else
        sqlite3_bind_null(q, first + 4);
    bind_real(q, first + 5, t->started);
    bind_real(q, first + 6, t->finished);
    sqlite3_bind_text(q, first + 7, m->host, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(q, first + 8, m->pid);
    sqlite3_bind_int(q, first + 9, m->worker);
    sqlite3_bind_text(q, first + 10, t->reason, -1, SQLITE_TRANSIENT);
}

static int st_trial_create(void *self, int study_id, const space *sp, const trial *t,
                           const trial_meta *m, tl_err *err)
{
    sql_store *st = self;
    if (writable(st, err))
        return TL_EINPUT;
    sqlite3_int64 seq = bump(st, study_id, err);
    if (seq < 0)
        return TL_ERUNTIME;
    sqlite3_stmt *q = prep(st, "INSERT INTO trials(study_id, number, state, value, budget, target,"
                               " parent, started, finished, host, pid, worker, reason, seq)"
                               " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", err);
    if (!q)
        return TL_ERUNTIME;
    sqlite3_bind_int(q, 1, study_id);
    sqlite3_bind_int(q, 2, t->number);
    bind_trial_fields(q, t, m, 3);
    sqlite3_bind_int64(q, 14, seq);
    if (step_done(st, q, err, "creating a trial"))
        return TL_ERUNTIME;
    return write_values(st, sqlite3_last_insert_rowid(st->db), sp, t->values, err);
}

static int st_trial_update(void *self, int study_id, const trial *t, const trial_meta *m,
                           tl_err *err)
{
    sql_store *st = self;
    if (writable(st, err))
        return TL_EINPUT;
    sqlite3_int64 seq = bump(st, study_id, err);
    if (seq < 0)
        return TL_ERUNTIME;
    sqlite3_stmt *q = prep(st, "UPDATE trials SET state=?, value=?, budget=?, target=?, parent=?,"
                               " started=?, finished=?, host=?, pid=?, worker=?, reason=?, seq=?"
                               " WHERE study_id = ? AND number = ?", err);
    if (!q)
        return TL_ERUNTIME;
    bind_trial_fields(q, t, m, 1);
    sqlite3_bind_int64(q, 12, seq);
    sqlite3_bind_int(q, 13, study_id);
    sqlite3_bind_int(q, 14, t->number);
    if (step_done(st, q, err, "updating a trial"))
        return TL_ERUNTIME;
    if (sqlite3_changes(st->db) != 1)
        return tl_fail(err, TL_EINPUT, "%s: no trial %d", st->path, t->number);
    return 0;
}

static int st_trial_set_values(void *self, int study_id, const space *sp, int number,
                               const double *values, tl_err *err)
{
    sql_store *st = self;
    if (writable(st, err))
        return TL_EINPUT;
    sqlite3_int64 tid = trial_id(st, study_id, number, err);
    if (tid < 0)
        return TL_EINPUT;
    if (write_values(st, tid, sp, values, err))
        return TL_ERUNTIME;
    return touch(st, study_id, number, err);
}

static int st_inter_add(void *self, int study_id, int number, int step, double value, tl_err *err)
{
    sql_store *st = self;
    if (writable(st, err))
        return TL_EINPUT;
    sqlite3_int64 tid = trial_id(st, study_id, number, err);
    if (tid < 0)
        return TL_EINPUT;
    sqlite3_stmt *q = prep(st, "INSERT OR REPLACE INTO trial_intermediate(trial_id, step, value)"
                               " VALUES (?,?,?)", err);
    if (!q)
        return TL_ERUNTIME;
    sqlite3_bind_int64(q, 1, tid);
    sqlite3_bind_int(q, 2, step);
    bind_real(q, 3, value);
    if (step_done(st, q, err, "writing an intermediate value"))
        return TL_ERUNTIME;
    return touch(st, study_id, number, err);
}

static int st_inter_clear(void *self, int study_id, int number, tl_err *err)
{
    sql_store *st = self;
    if (writable(st, err))
        return TL_EINPUT;
    sqlite3_int64 tid = trial_id(st, study_id, number, err);
    if (tid < 0)
        return TL_EINPUT;
    sqlite3_stmt *q = prep(st, "DELETE FROM trial_intermediate WHERE trial_id = ?", err);
    if (!q)
        return TL_ERUNTIME;
    sqlite3_bind_int64(q, 1, tid);
    if (step_done(st, q, err, "clearing intermediate values"))
        return TL_ERUNTIME;
    return touch(st, study_id, number, err);
}

/* ---- attributes ---- */

static int st_attr_set(void *self, int study_id, int number, const char *key, const char *value,
                       tl_err *err)
{
    sql_store *st = self;
    if (writable(st, err))
        return TL_EINPUT;
    sqlite3_stmt *q;
    if (number < 0) {
        q = prep(st, "INSERT OR REPLACE INTO study_attrs(study_id, key, value) VALUES (?,?,?)", err);
        if (!q)
            return TL_ERUNTIME;
        sqlite3_bind_int(q, 1, study_id);
    } else {
        sqlite3_int64 tid = trial_id(st, study_id, number, err);
        if (tid < 0)
            return TL_EINPUT;
        q = prep(st, "INSERT OR REPLACE INTO trial_attrs(trial_id, key, value) VALUES (?,?,?)", err);
        if (!q)
            return TL_ERUNTIME;
        sqlite3_bind_int64(q, 1, tid);
    }
    sqlite3_bind_text(q, 2, key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(q, 3, value ? value : "", -1, SQLITE_TRANSIENT);
    return step_done(st, q, err, "writing an attribute");
}

static int st_attr_get(void *self, int study_id, int number, const char *key, char *buf, size_t n,
                       tl_err *err)
{
    sql_store *st = self;
    sqlite3_stmt *q;
    if (number < 0) {
        q = prep(st, "SELECT value FROM study_attrs WHERE study_id = ? AND key = ?", err);
        if (!q)
            return -1;
        sqlite3_bind_int(q, 1, study_id);
    } else {
        q = prep(st, "SELECT a.value FROM trial_attrs a JOIN trials t ON a.trial_id = t.id"
                     " WHERE t.study_id = ? AND t.number = ? AND a.key = ?", err);
        if (!q)
            return -1;
        sqlite3_bind_int(q, 1, study_id);
        sqlite3_bind_int(q, 2, number);
    }
    sqlite3_bind_text(q, number < 0 ? 2 : 3, key, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(q), found = 0;
    if (rc == SQLITE_ROW) {
        if (buf && n)
            col_text(q, 0, buf, n);
        found = 1;
    } else if (rc != SQLITE_DONE) {
        db_fail(st, err, "reading an attribute");
        found = -1;
    }
    sqlite3_finalize(q);
    return found;
}

/* ---- loading ---- */

static int load_trial_details(sql_store *st, sqlite3_int64 tid, const space *sp, trial *t,
                              tl_err *err)
{
    sqlite3_stmt *q = prep(st, "SELECT param, value FROM trial_values WHERE trial_id = ?", err);
    if (!q)
        return TL_ERUNTIME;
    sqlite3_bind_int64(q, 1, tid);
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(q, 0);
        int i = name ? space_find(sp, name) : -1;
        if (i >= 0 && i < t->nparams)
            t->values[i] = col_real(q, 1);
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE)
        return db_fail(st, err, "reading values");
    q = prep(st, "SELECT step, value FROM trial_intermediate WHERE trial_id = ? ORDER BY step", err);
    if (!q)
        return TL_ERUNTIME;
    sqlite3_bind_int64(q, 1, tid);
    while ((rc = sqlite3_step(q)) == SQLITE_ROW)
        if (trial_set_inter(t, sqlite3_column_int(q, 0), col_real(q, 1))) {
            sqlite3_finalize(q);
            return tl_fail(err, TL_ERUNTIME, "out of memory");
        }
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? 0 : db_fail(st, err, "reading intermediate values");
}

static int st_trials_since(void *self, int study_id, const space *sp, int64_t *seq,
                           storage_trial_fn fn, void *ud, tl_err *err)
{
    sql_store *st = self;
    int own_txn = st->depth == 0 && !st->reading;
    if (own_txn && exec(st, "BEGIN", err)) /* one snapshot for the whole read */
        return TL_ERUNTIME;
    int rc = TL_ERUNTIME;
    sqlite3_int64 cur = 0;
    trial t;
    if (trial_init(&t, sp->n)) {
        tl_fail(err, TL_ERUNTIME, "out of memory");
        goto out;
    }
    sqlite3_stmt *q = prep(st, "SELECT seq FROM studies WHERE id = ?", err);
    if (!q)
        goto out;
    sqlite3_bind_int(q, 1, study_id);
    if (sqlite3_step(q) == SQLITE_ROW)
        cur = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    q = prep(st, "SELECT id, number, state, value, budget, target, parent, started, finished,"
                 " host, pid, worker, reason FROM trials WHERE study_id = ? AND seq > ?"
                 " ORDER BY number", err);
    if (!q)
        goto out;
    sqlite3_bind_int(q, 1, study_id);
    sqlite3_bind_int64(q, 2, *seq);
    int s;
    while ((s = sqlite3_step(q)) == SQLITE_ROW) {
        trial_meta m;
        char state[32];
        t.nsteps = 0;
        for (int i = 0; i < sp->n; i++)
            t.values[i] = NAN;
        sqlite3_int64 tid = sqlite3_column_int64(q, 0);
        t.number = sqlite3_column_int(q, 1);
        col_text(q, 2, state, sizeof state);
        t.state = trial_state_parse(state);
        if (t.state < 0)
            t.state = TRIAL_FAILED;
        t.value = col_real(q, 3);
        t.budget = col_real(q, 4);
        if (isnan(t.budget))
            t.budget = 0;
        m.target = col_real(q, 5);
        t.parent = sqlite3_column_type(q, 6) == SQLITE_NULL ? -1 : sqlite3_column_int(q, 6);
        t.started = col_real(q, 7);
        t.finished = col_real(q, 8);
        col_text(q, 9, m.host, sizeof m.host);
        m.pid = (long)sqlite3_column_int64(q, 10);
        m.worker = sqlite3_column_int(q, 11);
        col_text(q, 12, t.reason, sizeof t.reason);
        if (load_trial_details(st, tid, sp, &t, err) || fn(ud, &t, &m, err)) {
            sqlite3_finalize(q);
            goto out;
        }
    }
    sqlite3_finalize(q);
    if (s != SQLITE_DONE) {
        db_fail(st, err, "reading trials");
        goto out;
    }
    *seq = cur;
    rc = 0;
out:
    trial_free(&t);
    if (own_txn)
        sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL);
    return rc;
}

/* ---- a whole study, for readers ---- */

static void attrs_free(storage_attr *kv, int n)
{
    for (int k = 0; k < n; k++) {
        free(kv[k].key);
        free(kv[k].value);
    }
    free(kv);
}

void storage_study_free(storage_study *ss)
{
    if (!ss)
        return;
    for (int i = 0; i < ss->ntrials; i++) {
        trial_free(&ss->trials[i].t);
        attrs_free(ss->trials[i].attrs, ss->trials[i].nattrs);
    }
    free(ss->trials);
    attrs_free(ss->attrs, ss->nattrs);
    space_free(&ss->sp);
    memset(ss, 0, sizeof *ss);
    space_init(&ss->sp);
}

/* Appends the row's (key, value) columns to the list (*kv, *n).  Returns 0
 * or -1 (memory). */
static int attr_push(storage_attr **kv, int *n, sqlite3_stmt *q, int kcol, int vcol)
{
    storage_attr *g = realloc(*kv, (size_t)(*n + 1) * sizeof *g);
    if (!g)
        return -1;
    *kv = g;
    g[*n].key = col_dup(q, kcol);
    g[*n].value = col_dup(q, vcol);
    (*n)++;
    return g[*n - 1].key && g[*n - 1].value ? 0 : -1;
}

/* Finds study `name` (NULL: the only one) and fills ss's header from its
 * row.  Returns 0 with *study_id set, TL_EINPUT naming the studies there,
 * or TL_ERUNTIME. */
static int find_study(sql_store *st, const char *name, storage_study *ss, int *study_id,
                      tl_err *err)
{
    sqlite3_stmt *q = prep(st, "SELECT " STUDY_COLS " FROM studies ORDER BY id", err);
    if (!q)
        return TL_ERUNTIME;
    int found = 0, count = 0, rc;
    char names[512] = "";
    size_t at = 0;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        study_row r;
        read_study_row(q, &r);
        count++;
        if (at < sizeof names)
            at += (size_t)snprintf(names + at, sizeof names - at, "%s'%s'", count > 1 ? ", " : "",
                                   r.name);
        if (found || (name && strcmp(r.name, name)))
            continue;
        found = 1;
        *study_id = r.id;
        snprintf(ss->name, sizeof ss->name, "%s", r.name);
        ss->direction = r.direction;
        snprintf(ss->metric, sizeof ss->metric, "%s", r.metric);
        ss->seed = r.seed;
        ss->created = r.created;
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE)
        return db_fail(st, err, "reading studies");
    if (count == 0)
        return tl_fail(err, TL_EINPUT, "%s: no study in this database", st->path);
    if (!found)
        return tl_fail(err, TL_EINPUT, "%s: no study '%s' (there: %s)", st->path, name, names);
    if (!name && count > 1)
        return tl_fail(err, TL_EINPUT, "%s: %d studies (%s): choose one with --study NAME",
                       st->path, count, names);
    return 0;
}

/* storage_trial_fn of the snapshot: appends a deep copy of the trial. */
static int add_trial(void *ud, const trial *t, const trial_meta *m, tl_err *err)
{
    storage_study *ss = ud;
    if ((ss->ntrials & (ss->ntrials - 1)) == 0) { /* capacity: powers of two */
        storage_trial *g = realloc(ss->trials, sizeof *g * (size_t)(ss->ntrials ? 2 * ss->ntrials : 1));
        if (!g)
            return tl_fail(err, TL_ERUNTIME, "out of memory");
        ss->trials = g;
    }
    storage_trial *r = &ss->trials[ss->ntrials];
    memset(r, 0, sizeof *r);
    if (trial_copy(&r->t, t))
        return tl_fail(err, TL_ERUNTIME, "out of memory");
    r->m = *m;
    ss->ntrials++;
    return 0;
}

/* Index of trial `number` among ss's trials (number order), or -1. */
static int trial_index(const storage_study *ss, int number)
{
    int lo = 0, hi = ss->ntrials - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2, k = ss->trials[mid].t.number;
        if (k == number)
            return mid;
        if (k < number)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

/* Every trial attribute and study attribute of the study, by key. */
static int load_attrs(sql_store *st, int study_id, storage_study *ss, tl_err *err)
{
    sqlite3_stmt *q = prep(st, "SELECT t.number, a.key, a.value FROM trial_attrs a JOIN trials t"
                               " ON t.id = a.trial_id WHERE t.study_id = ?"
                               " ORDER BY t.number, a.key", err);
    if (!q)
        return TL_ERUNTIME;
    sqlite3_bind_int(q, 1, study_id);
    int rc, bad = 0;
    while (!bad && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        int i = trial_index(ss, sqlite3_column_int(q, 0));
        bad = i >= 0 && attr_push(&ss->trials[i].attrs, &ss->trials[i].nattrs, q, 1, 2);
    }
    sqlite3_finalize(q);
    if (bad)
        return tl_fail(err, TL_ERUNTIME, "%s: out of memory", st->path);
    if (rc != SQLITE_DONE)
        return db_fail(st, err, "reading trial attributes");
    q = prep(st, "SELECT key, value FROM study_attrs WHERE study_id = ? ORDER BY key", err);
    if (!q)
        return TL_ERUNTIME;
    sqlite3_bind_int(q, 1, study_id);
    while (!bad && (rc = sqlite3_step(q)) == SQLITE_ROW)
        bad = attr_push(&ss->attrs, &ss->nattrs, q, 0, 1);
    sqlite3_finalize(q);
    if (bad)
        return tl_fail(err, TL_ERUNTIME, "%s: out of memory", st->path);
    return rc == SQLITE_DONE ? 0 : db_fail(st, err, "reading study attributes");
}

static int st_snapshot(void *self, const char *name, storage_study *out, tl_err *err)
{
    sql_store *st = self;
    memset(out, 0, sizeof *out);
    space_init(&out->sp);
    int own_txn = st->depth == 0 && !st->reading;
    if (own_txn && exec(st, "BEGIN", err)) /* deferred: a read transaction */
        return TL_ERUNTIME;
    st->reading++;
    int study_id = -1;
    int64_t seq = -1; /* every trial, also a row a hand edit left at change counter 0 */
    int rc = find_study(st, name, out, &study_id, err);
    if (!rc)
        rc = st_space_load(st, study_id, &out->sp, err);
    if (!rc)
        rc = st_trials_since(st, study_id, &out->sp, &seq, add_trial, out, err);
    if (!rc)
        rc = load_attrs(st, study_id, out, err);
    st->reading--;
    if (own_txn)
        sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL);
    if (rc)
        storage_study_free(out);
    return rc;
}

static void st_close(void *self)
{
    sql_store *st = self;
    if (!st)
        return;
    sqlite3_close(st->db);
    free(st);
}

static const storage_vt sqlite_vt = {
    .name = "sqlite",
    .begin = st_begin,
    .commit = st_commit,
    .rollback = st_rollback,
    .study_open = st_study_open,
    .space_save = st_space_save,
    .space_load = st_space_load,
    .trial_create = st_trial_create,
    .trial_update = st_trial_update,
    .trial_set_values = st_trial_set_values,
    .inter_add = st_inter_add,
    .inter_clear = st_inter_clear,
    .attr_set = st_attr_set,
    .attr_get = st_attr_get,
    .trials_since = st_trials_since,
    .close = st_close,
    .snapshot = st_snapshot,
};

/* mkdir -p of the folder part of path. */
static int make_parent_dirs(const char *path, tl_err *err)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(buf, 0777) && errno != EEXIST)
            return tl_fail(err, TL_ERUNTIME, "%s: cannot create folder %s: %s", path, buf,
                           strerror(errno));
        *p = '/';
    }
    return 0;
}

int storage_sqlite_open(storage *out, const char *path, tl_err *err)
{
    out->vt = NULL;
    out->self = NULL;
    if (!path || !*path)
        return tl_fail(err, TL_EINPUT, "storage: empty path");
    if (strlen(path) >= sizeof ((sql_store *)0)->path)
        return tl_fail(err, TL_EINPUT, "%s: storage path too long", path);
    if (make_parent_dirs(path, err))
        return TL_ERUNTIME;
    sql_store *st = calloc(1, sizeof *st);
    if (!st)
        return tl_fail(err, TL_ERUNTIME, "%s: out of memory", path);
    snprintf(st->path, sizeof st->path, "%s", path);
    if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                                           SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
        tl_fail(err, TL_ERUNTIME, "%s: cannot open: %s", path,
                st->db ? sqlite3_errmsg(st->db) : "out of memory");
        st_close(st);
        return TL_ERUNTIME;
    }
    sqlite3_busy_timeout(st->db, BUSY_TIMEOUT_MS);
    /* WAL: readers never block the writer; NORMAL sync keeps every commit
     * across a process crash (what resume needs), not across power loss. */
    if (exec_retry(st, "PRAGMA journal_mode=WAL", err) ||
        exec_retry(st, "PRAGMA synchronous=NORMAL", err) ||
        exec_retry(st, "BEGIN IMMEDIATE", err)) {
        st_close(st);
        return TL_ERUNTIME;
    }
    if (exec(st, schema, err)) {
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
        st_close(st);
        return TL_ERUNTIME;
    }
    if (exec(st, "COMMIT", err)) {
        st_close(st);
        return TL_ERUNTIME;
    }
    out->vt = &sqlite_vt;
    out->self = st;
    return 0;
}

/* ---- the read-only open ---- */

/* Opens st->db on `name` (a path, or a file: URI when uri) for reading. */
static int ro_connect(sql_store *st, const char *name, int uri, tl_err *err)
{
    int flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_FULLMUTEX | (uri ? SQLITE_OPEN_URI : 0);
    if (sqlite3_open_v2(name, &st->db, flags, NULL) != SQLITE_OK) {
        tl_fail(err, TL_EINPUT, "%s: cannot open: %s", st->path,
                st->db ? sqlite3_errmsg(st->db) : "out of memory");
        sqlite3_close(st->db);
        st->db = NULL;
        return TL_EINPUT;
    }
    sqlite3_busy_timeout(st->db, BUSY_TIMEOUT_MS);
    return 0;
}

/* The first read: checks that every table of the schema is there.  This is
 * where SQLite reads the header and, for a WAL database, opens the -wal
 * and -shm files.  Returns 0, TL_EINPUT for a file that is not SQLite or
 * not a study database, or TL_ERUNTIME with the SQLite result code in
 * *sqlite_rc. */
static int check_schema(sql_store *st, int *sqlite_rc, tl_err *err)
{
    sqlite3_stmt *q = NULL;
    int rc = sqlite3_prepare_v2(st->db, "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
                                        " AND name = ?", -1, &q, NULL);
    for (size_t k = 0; rc == SQLITE_OK && k < sizeof tables / sizeof tables[0]; k++) {
        sqlite3_reset(q);
        sqlite3_bind_text(q, 1, tables[k], -1, SQLITE_STATIC);
        if ((rc = sqlite3_step(q)) != SQLITE_ROW)
            break;
        rc = SQLITE_OK;
        if (sqlite3_column_int(q, 0) == 0) {
            sqlite3_finalize(q);
            return tl_fail(err, TL_EINPUT, "%s: not a tunelab study database (no table %s)",
                           st->path, tables[k]);
        }
    }
    *sqlite_rc = rc == SQLITE_OK ? SQLITE_OK : sqlite3_extended_errcode(st->db);
    if (rc != SQLITE_OK)
        rc = (rc & 0xff) == SQLITE_NOTADB || (rc & 0xff) == SQLITE_CORRUPT
                 ? tl_fail(err, TL_EINPUT, "%s: not a tunelab study database (%s)", st->path,
                           sqlite3_errmsg(st->db))
                 : tl_fail(err, TL_ERUNTIME, "%s: cannot read: %s", st->path,
                           sqlite3_errmsg(st->db));
    sqlite3_finalize(q);
    return rc;
}

/* 1 when the SQLite file path-wal exists and is not empty: commits that
 * only a reader with the -shm file can see. */
static int wal_pending(const char *path)
{
    char wal[600];
    struct stat sb;
    snprintf(wal, sizeof wal, "%s-wal", path);
    return stat(wal, &sb) == 0 && sb.st_size > 0;
}

/* path as a file: URI with immutable=1 (characters outside [A-Za-z0-9/._~-]
 * percent-encoded). */
static void immutable_uri(const char *path, char *buf, size_t n)
{
    size_t at = (size_t)snprintf(buf, n, "file:");
    for (const unsigned char *p = (const unsigned char *)path; *p && at + 4 < n; p++)
        at += (size_t)snprintf(buf + at, n - at, isalnum(*p) || strchr("/._~-", *p) ? "%c" : "%%%02X",
                               *p);
    snprintf(buf + at, n - at, "?immutable=1");
}

/* WAL readers coordinate through the -shm file (and read the -wal).  In a
 * folder this process cannot write, SQLite cannot create them when absent:
 * the first read fails with SQLITE_READONLY_DIRECTORY / _CANTINIT, or
 * SQLITE_CANTOPEN (it cannot open a -wal without a -shm).  With an existing
 * -shm it reads without one (SQLite >= 3.22), so reaching here means no
 * usable -shm.  Then, when no -wal content is pending, the database file
 * alone is the study: read it as immutable (no locks, no side files).  A
 * writer would need the -wal and -shm this folder cannot hold, so none can
 * run meanwhile (unless another user, who may write the folder, starts one
 * during the read).  Called after check_schema failed with one of those
 * codes.  Returns 0 with st->db reopened, or a tl_code. */
static int reopen_immutable(sql_store *st, tl_err *err)
{
    int sq = 0;
    if (wal_pending(st->path))
        return tl_fail(err, TL_ERUNTIME,
                       "%s: cannot read: its write-ahead log %s-wal holds commits that SQLite "
                       "reads only through a %s-shm file, which cannot be created in this "
                       "read-only folder; open it once where the folder is writable",
                       st->path, st->path, st->path);
    char uri[3 * sizeof st->path + 32];
    immutable_uri(st->path, uri, sizeof uri);
    sqlite3_close(st->db);
    st->db = NULL;
    int rc = ro_connect(st, uri, 1, err);
    return rc ? rc : check_schema(st, &sq, err);
}

int storage_sqlite_open_readonly(storage *out, const char *path, tl_err *err)
{
    out->vt = NULL;
    out->self = NULL;
    if (!path || !*path)
        return tl_fail(err, TL_EINPUT, "storage: empty path");
    if (strlen(path) >= sizeof ((sql_store *)0)->path)
        return tl_fail(err, TL_EINPUT, "%s: storage path too long", path);
    struct stat sb;
    if (stat(path, &sb) != 0)
        return tl_fail(err, TL_EINPUT, "%s: %s", path,
                       errno == ENOENT ? "no such file" : strerror(errno));
    if (S_ISDIR(sb.st_mode))
        return tl_fail(err, TL_EINPUT, "%s: is a folder, not a study database", path);
    if (!S_ISREG(sb.st_mode))
        return tl_fail(err, TL_EINPUT, "%s: not a regular file, not a study database", path);
    if (access(path, R_OK) != 0)
        return tl_fail(err, TL_EINPUT, "%s: cannot read: %s", path, strerror(errno));
    sql_store *st = calloc(1, sizeof *st);
    if (!st)
        return tl_fail(err, TL_ERUNTIME, "%s: out of memory", path);
    snprintf(st->path, sizeof st->path, "%s", path);
    st->readonly = 1;
    int sqlite_rc = SQLITE_OK;
    int rc = ro_connect(st, path, 0, err);
    if (!rc && (rc = check_schema(st, &sqlite_rc, err)) == TL_ERUNTIME &&
        ((sqlite_rc & 0xff) == SQLITE_READONLY || (sqlite_rc & 0xff) == SQLITE_CANTOPEN))
        rc = reopen_immutable(st, err);
    if (rc) {
        st_close(st);
        return rc;
    }
    out->vt = &sqlite_vt;
    out->self = st;
    return 0;
}
