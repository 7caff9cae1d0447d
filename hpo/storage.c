/* hpo/storage.c: the SQLite implementation of the storage interface.
 *
 * Does: schema creation, WAL mode, nestable IMMEDIATE write transactions,
 * trials with their values, intermediate values and attributes, and an
 * incremental reload of changed trials through a per-study change counter.
 * Does not: decide anything (the study does), cache statements across
 * calls (every call prepares its statement: simple, and cheap next to an
 * fsync), or print.
 */
#include "hpo/storage.h"

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
    char path[512];
} sql_store;

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

static int st_study_open(void *self, const char *name, int direction, const char *metric,
                         uint64_t seed, int *study_id, int *created, int *stored_direction,
                         char *stored_metric, size_t metric_n, tl_err *err)
{
    sql_store *st = self;
    sqlite3_stmt *q = prep(st, "SELECT id, direction, metric FROM studies WHERE name = ?", err);
    if (!q)
        return TL_ERUNTIME;
    sqlite3_bind_text(q, 1, name, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        char dir[16];
        *study_id = sqlite3_column_int(q, 0);
        col_text(q, 1, dir, sizeof dir);
        *stored_direction = strcmp(dir, "maximize") == 0 ? STUDY_MAXIMIZE : STUDY_MINIMIZE;
        col_text(q, 2, stored_metric, metric_n);
        *created = 0;
        sqlite3_finalize(q);
        return 0;
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE)
        return db_fail(st, err, "reading studies");
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
    int own_txn = st->depth == 0;
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
