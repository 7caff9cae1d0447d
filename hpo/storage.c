/* hpo/storage.c: the SQLite implementation of the storage interface, its
 * write side (the read side is storage_read.c; the struct and helpers
 * they share are in storage_internal.h, the helpers in storage_sql.c).
 *
 * Does: the schema, the read-write open (WAL mode; refuses a URL and
 * another program's SQLite file before writing anything to it), nestable
 * IMMEDIATE write transactions, and every write: studies, the space,
 * trials with their values, intermediate values and attributes, each
 * bumping the study's change counter that the incremental reload follows.
 * With storage_read.c, the only code that knows the schema.
 * Does not: decide anything (the study does), read trials back, cache
 * statements across calls (every call prepares its statement: simple, and
 * cheap next to an fsync), migrate or repair a database, or print.
 */
#include "hpo/storage.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "hpo/storage_internal.h"

const char *const sql_tables[SQL_NTABLES] = { "studies", "study_params", "trials",
                                              "trial_values", "trial_intermediate",
                                              "trial_attrs", "study_attrs" };

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

/* ---- transactions ---- */

static int st_begin(void *self, tl_err *err)
{
    sql_store *st = self;
    if (sql_writable(st, err))
        return TL_EINPUT;
    if (st->depth++ > 0)
        return 0;
    if (sql_exec_retry(st, "BEGIN IMMEDIATE", err)) {
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
    if (sql_exec(st, "COMMIT", err)) {
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
    sqlite3_stmt *q = sql_prep(st, "SELECT " STUDY_COLS " FROM studies WHERE name = ?", err);
    if (!q)
        return TL_ERUNTIME;
    sqlite3_bind_text(q, 1, name, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        study_row r;
        sql_read_study_row(q, &r);
        *study_id = r.id;
        *stored_direction = r.direction;
        snprintf(stored_metric, metric_n, "%s", r.metric);
        *created = 0;
        sqlite3_finalize(q);
        return 0;
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE)
        return sql_fail(st, err, "reading studies");
    if (st->readonly)
        return tl_fail(err, TL_EINPUT, "%s: no study '%s' (opened read-only: not created)",
                       st->path, name);
    q = sql_prep(st, "INSERT INTO studies(name, direction, metric, seed, created)"
                     " VALUES (?,?,?,?,?)", err);
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
    if (sql_step_done(st, q, err, "creating the study"))
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
    if (sql_writable(st, err))
        return TL_EINPUT;
    char expr[2048];
    for (int i = 0; i < sp->n; i++) {
        sqlite3_stmt *q = sql_prep(st, "INSERT OR REPLACE INTO study_params(study_id, idx,"
                                       " name, kind, expr) VALUES (?,?,?,?,?)", err);
        if (!q)
            return TL_ERUNTIME;
        space_describe(sp, i, 1, expr, sizeof expr);
        sqlite3_bind_int(q, 1, study_id);
        sqlite3_bind_int(q, 2, i);
        sqlite3_bind_text(q, 3, sp->p[i].name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(q, 4, param_kind_str(sp->p[i].kind), -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 5, expr, -1, SQLITE_TRANSIENT);
        if (sql_step_done(st, q, err, "saving the space"))
            return TL_ERUNTIME;
    }
    return 0;
}

/* ---- trials ---- */

/* Bumps the study's change counter; returns the new value, or -1. */
static sqlite3_int64 bump(sql_store *st, int study_id, tl_err *err)
{
    sqlite3_stmt *q = sql_prep(st, "UPDATE studies SET seq = seq + 1 WHERE id = ?"
                                   " RETURNING seq", err);
    if (!q)
        return -1;
    sqlite3_bind_int(q, 1, study_id);
    sqlite3_int64 v = -1;
    if (sqlite3_step(q) == SQLITE_ROW)
        v = sqlite3_column_int64(q, 0);
    else
        sql_fail(st, err, "updating the change counter");
    sqlite3_finalize(q);
    return v;
}

/* Row id of trial `number`, or -1 (err filled). */
static sqlite3_int64 trial_id(sql_store *st, int study_id, int number, tl_err *err)
{
    sqlite3_stmt *q = sql_prep(st, "SELECT id FROM trials WHERE study_id = ? AND number = ?", err);
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
    sqlite3_stmt *q = sql_prep(st, "UPDATE trials SET seq = ? WHERE study_id = ?"
                                   " AND number = ?", err);
    if (!q)
        return TL_ERUNTIME;
    sqlite3_bind_int64(q, 1, seq);
    sqlite3_bind_int(q, 2, study_id);
    sqlite3_bind_int(q, 3, number);
    return sql_step_done(st, q, err, "updating a trial");
}

static int write_values(sql_store *st, sqlite3_int64 tid, const space *sp, const double *values,
                        tl_err *err)
{
    sqlite3_stmt *q = sql_prep(st, "DELETE FROM trial_values WHERE trial_id = ?", err);
    if (!q)
        return TL_ERUNTIME;
    sqlite3_bind_int64(q, 1, tid);
    if (sql_step_done(st, q, err, "writing values"))
        return TL_ERUNTIME;
    char text[512];
    for (int i = 0; i < sp->n; i++) {
        if (isnan(values[i]))
            continue;
        q = sql_prep(st, "INSERT INTO trial_values(trial_id, param, value, text)"
                         " VALUES (?,?,?,?)", err);
        if (!q)
            return TL_ERUNTIME;
        space_format_value(sp, i, values[i], text, sizeof text);
        sqlite3_bind_int64(q, 1, tid);
        sqlite3_bind_text(q, 2, sp->p[i].name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_double(q, 3, values[i]);
        sqlite3_bind_text(q, 4, text, -1, SQLITE_TRANSIENT);
        if (sql_step_done(st, q, err, "writing values"))
            return TL_ERUNTIME;
    }
    return 0;
}

static void bind_trial_fields(sqlite3_stmt *q, const trial *t, const trial_meta *m, int first)
{
    sqlite3_bind_text(q, first, trial_state_str(t->state), -1, SQLITE_STATIC);
    sql_bind_real(q, first + 1, t->value);
    sqlite3_bind_double(q, first + 2, isfinite(t->budget) ? t->budget : 0);
    sql_bind_real(q, first + 3, m->target);
    if (t->parent >= 0)
        sqlite3_bind_int(q, first + 4, t->parent);
    else
        sqlite3_bind_null(q, first + 4);
    sql_bind_real(q, first + 5, t->started);
    sql_bind_real(q, first + 6, t->finished);
    sqlite3_bind_text(q, first + 7, m->host, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(q, first + 8, m->pid);
    sqlite3_bind_int(q, first + 9, m->worker);
    sqlite3_bind_text(q, first + 10, t->reason, -1, SQLITE_TRANSIENT);
}

static int st_trial_create(void *self, int study_id, const space *sp, const trial *t,
                           const trial_meta *m, tl_err *err)
{
    sql_store *st = self;
    if (sql_writable(st, err))
        return TL_EINPUT;
    sqlite3_int64 seq = bump(st, study_id, err);
    if (seq < 0)
        return TL_ERUNTIME;
    sqlite3_stmt *q = sql_prep(st, "INSERT INTO trials(study_id, number, state, value, budget,"
                                   " target, parent, started, finished, host, pid, worker,"
                                   " reason, seq)"
                                   " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", err);
    if (!q)
        return TL_ERUNTIME;
    sqlite3_bind_int(q, 1, study_id);
    sqlite3_bind_int(q, 2, t->number);
    bind_trial_fields(q, t, m, 3);
    sqlite3_bind_int64(q, 14, seq);
    if (sql_step_done(st, q, err, "creating a trial"))
        return TL_ERUNTIME;
    return write_values(st, sqlite3_last_insert_rowid(st->db), sp, t->values, err);
}

static int st_trial_update(void *self, int study_id, const trial *t, const trial_meta *m,
                           tl_err *err)
{
    sql_store *st = self;
    if (sql_writable(st, err))
        return TL_EINPUT;
    sqlite3_int64 seq = bump(st, study_id, err);
    if (seq < 0)
        return TL_ERUNTIME;
    sqlite3_stmt *q = sql_prep(st, "UPDATE trials SET state=?, value=?, budget=?, target=?,"
                                   " parent=?, started=?, finished=?, host=?, pid=?, worker=?,"
                                   " reason=?, seq=?"
                                   " WHERE study_id = ? AND number = ?", err);
    if (!q)
        return TL_ERUNTIME;
    bind_trial_fields(q, t, m, 1);
    sqlite3_bind_int64(q, 12, seq);
    sqlite3_bind_int(q, 13, study_id);
    sqlite3_bind_int(q, 14, t->number);
    if (sql_step_done(st, q, err, "updating a trial"))
        return TL_ERUNTIME;
    if (sqlite3_changes(st->db) != 1)
        return tl_fail(err, TL_EINPUT, "%s: no trial %d", st->path, t->number);
    return 0;
}

static int st_trial_set_values(void *self, int study_id, const space *sp, int number,
                               const double *values, tl_err *err)
{
    sql_store *st = self;
    if (sql_writable(st, err))
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
    if (sql_writable(st, err))
        return TL_EINPUT;
    sqlite3_int64 tid = trial_id(st, study_id, number, err);
    if (tid < 0)
        return TL_EINPUT;
    sqlite3_stmt *q = sql_prep(st, "INSERT OR REPLACE INTO trial_intermediate(trial_id, step,"
                                   " value) VALUES (?,?,?)", err);
    if (!q)
        return TL_ERUNTIME;
    sqlite3_bind_int64(q, 1, tid);
    sqlite3_bind_int(q, 2, step);
    sql_bind_real(q, 3, value);
    if (sql_step_done(st, q, err, "writing an intermediate value"))
        return TL_ERUNTIME;
    return touch(st, study_id, number, err);
}

static int st_inter_clear(void *self, int study_id, int number, tl_err *err)
{
    sql_store *st = self;
    if (sql_writable(st, err))
        return TL_EINPUT;
    sqlite3_int64 tid = trial_id(st, study_id, number, err);
    if (tid < 0)
        return TL_EINPUT;
    sqlite3_stmt *q = sql_prep(st, "DELETE FROM trial_intermediate WHERE trial_id = ?", err);
    if (!q)
        return TL_ERUNTIME;
    sqlite3_bind_int64(q, 1, tid);
    if (sql_step_done(st, q, err, "clearing intermediate values"))
        return TL_ERUNTIME;
    return touch(st, study_id, number, err);
}

/* ---- attributes ---- */

static int st_attr_set(void *self, int study_id, int number, const char *key, const char *value,
                       tl_err *err)
{
    sql_store *st = self;
    if (sql_writable(st, err))
        return TL_EINPUT;
    sqlite3_stmt *q;
    if (number < 0) {
        q = sql_prep(st, "INSERT OR REPLACE INTO study_attrs(study_id, key, value)"
                         " VALUES (?,?,?)", err);
        if (!q)
            return TL_ERUNTIME;
        sqlite3_bind_int(q, 1, study_id);
    } else {
        sqlite3_int64 tid = trial_id(st, study_id, number, err);
        if (tid < 0)
            return TL_EINPUT;
        q = sql_prep(st, "INSERT OR REPLACE INTO trial_attrs(trial_id, key, value)"
                         " VALUES (?,?,?)", err);
        if (!q)
            return TL_ERUNTIME;
        sqlite3_bind_int64(q, 1, tid);
    }
    sqlite3_bind_text(q, 2, key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(q, 3, value ? value : "", -1, SQLITE_TRANSIENT);
    return sql_step_done(st, q, err, "writing an attribute");
}

void sql_close(void *self)
{
    sql_store *st = self;
    if (!st)
        return;
    sqlite3_close(st->db);
    free(st);
}

const storage_vt sql_vt = {
    .name = "sqlite",
    .begin = st_begin,
    .commit = st_commit,
    .rollback = st_rollback,
    .study_open = st_study_open,
    .space_save = st_space_save,
    .space_load = sql_space_load,
    .trial_create = st_trial_create,
    .trial_update = st_trial_update,
    .trial_set_values = st_trial_set_values,
    .inter_add = st_inter_add,
    .inter_clear = st_inter_clear,
    .attr_set = st_attr_set,
    .attr_get = sql_attr_get,
    .trials_since = sql_trials_since,
    .close = sql_close,
    .snapshot = sql_snapshot,
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

/* 1 when path is a URL (scheme://...), which tunelab does not store in. */
static int is_url(const char *path)
{
    return strstr(path, "://") != NULL;
}

/* Refuses another program's SQLite file before anything is written to it
 * (even the switch to WAL rewrites the file's header): a new or empty
 * file, one without any table, index, view or trigger of its own, or a
 * tunelab study database passes.  Retries while the database is busy, as
 * sql_exec_retry.  Returns 0, TL_EINPUT "path: not a tunelab study
 * database (...)", or TL_ERUNTIME. */
static int refuse_foreign(sql_store *st, tl_err *err)
{
    struct timespec nap = { 0, 5000000 };
    for (int tries = BUSY_TIMEOUT_MS / 5;; tries--) {
        sqlite3_stmt *q = NULL;
        int rc = sqlite3_prepare_v2(st->db, "SELECT count(*) FROM sqlite_master WHERE name NOT"
                                            " LIKE 'sqlite\\_%' ESCAPE '\\'", -1, &q, NULL);
        if (rc == SQLITE_OK)
            rc = sqlite3_step(q);
        sqlite3_int64 objects = rc == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
        sqlite3_finalize(q);
        int base = rc & 0xff;
        if (rc == SQLITE_ROW && objects == 0)
            return 0; /* new or empty: tunelab initializes it */
        if (rc == SQLITE_ROW || base == SQLITE_NOTADB || base == SQLITE_CORRUPT) {
            int sq = SQLITE_OK;
            if ((rc = sql_check_schema(st, &sq, err)) != TL_EINPUT)
                return rc;
            char why[sizeof err->msg];
            snprintf(why, sizeof why, "%s", err->msg);
            return tl_fail(err, TL_EINPUT, "%s; tunelab writes a study only to a new file or "
                           "to its own study database, and left this one unchanged", why);
        }
        if ((base != SQLITE_BUSY && base != SQLITE_LOCKED) || tries <= 0)
            return sql_fail(st, err, "reading the schema");
        nanosleep(&nap, NULL);
    }
}

/* WAL mode and the schema, in one IMMEDIATE transaction. */
static int init_schema(sql_store *st, tl_err *err)
{
    /* WAL: readers never block the writer; NORMAL sync keeps every commit
     * across a process crash (what resume needs), not across power loss. */
    if (sql_exec_retry(st, "PRAGMA journal_mode=WAL", err) ||
        sql_exec_retry(st, "PRAGMA synchronous=NORMAL", err) ||
        sql_exec_retry(st, "BEGIN IMMEDIATE", err))
        return TL_ERUNTIME;
    if (sql_exec(st, schema, err)) {
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
        return TL_ERUNTIME;
    }
    return sql_exec(st, "COMMIT", err);
}

int storage_sqlite_open(storage *out, const char *path, tl_err *err)
{
    out->vt = NULL;
    out->self = NULL;
    if (!path || !*path)
        return tl_fail(err, TL_EINPUT, "storage: empty path");
    if (is_url(path))
        return tl_fail(err, TL_EINPUT, "%s: tunelab stores studies in SQLite files; give a file "
                       "path", path);
    if (strlen(path) >= sizeof ((sql_store *)0)->path)
        return tl_fail(err, TL_EINPUT, "%s: storage path too long", path);
    if (make_parent_dirs(path, err))
        return TL_ERUNTIME;
    sql_store *st = calloc(1, sizeof *st);
    if (!st)
        return tl_fail(err, TL_ERUNTIME, "%s: out of memory", path);
    snprintf(st->path, sizeof st->path, "%s", path);
    int rc;
    if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                                           SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
        tl_fail(err, TL_ERUNTIME, "%s: cannot open: %s", path,
                st->db ? sqlite3_errmsg(st->db) : "out of memory");
        sql_close(st);
        return TL_ERUNTIME;
    }
    sqlite3_busy_timeout(st->db, BUSY_TIMEOUT_MS);
    if ((rc = refuse_foreign(st, err)) || (rc = init_schema(st, err))) {
        sql_close(st);
        return rc;
    }
    out->vt = &sql_vt;
    out->self = st;
    return 0;
}
