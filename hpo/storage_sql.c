/* hpo/storage_sql.c: the small SQLite helpers both halves of the storage
 * use (declared in storage_internal.h): errors that name the path, exec
 * with a retry while busy, prepare, NULL-aware binds and columns, the
 * read-only guard of every write, and reading a row of studies.
 *
 * Does not: know any table but studies' columns (STUDY_COLS), or print.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hpo/storage_internal.h"

int sql_fail(sql_store *st, tl_err *err, const char *what)
{
    return tl_fail(err, TL_ERUNTIME, "%s: %s: %s", st->path, what, sqlite3_errmsg(st->db));
}

int sql_exec(sql_store *st, const char *sql, tl_err *err)
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
int sql_exec_retry(sql_store *st, const char *sql, tl_err *err)
{
    struct timespec nap = { 0, 5000000 };
    for (int tries = BUSY_TIMEOUT_MS / 5;; tries--) {
        int rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);
        if (rc == SQLITE_OK)
            return 0;
        int base = rc & 0xff;
        if ((base != SQLITE_BUSY && base != SQLITE_LOCKED) || tries <= 0)
            return sql_exec(st, sql, err); /* once more, to fill err */
        nanosleep(&nap, NULL);
    }
}

sqlite3_stmt *sql_prep(sql_store *st, const char *sql, tl_err *err)
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(st->db, sql, -1, &q, NULL) != SQLITE_OK) {
        sql_fail(st, err, "prepare");
        return NULL;
    }
    return q;
}

void sql_bind_real(sqlite3_stmt *q, int i, double v)
{
    if (isfinite(v))
        sqlite3_bind_double(q, i, v);
    else
        sqlite3_bind_null(q, i);
}

double sql_col_real(sqlite3_stmt *q, int i)
{
    return sqlite3_column_type(q, i) == SQLITE_NULL ? NAN : sqlite3_column_double(q, i);
}

void sql_col_text(sqlite3_stmt *q, int i, char *buf, size_t n)
{
    const unsigned char *t = sqlite3_column_text(q, i);
    snprintf(buf, n, "%s", t ? (const char *)t : "");
}

char *sql_col_dup(sqlite3_stmt *q, int i)
{
    const unsigned char *t = sqlite3_column_text(q, i);
    return strdup(t ? (const char *)t : "");
}

int sql_writable(sql_store *st, tl_err *err)
{
    return st->readonly ? tl_fail(err, TL_EINPUT, "%s: opened read-only: no writes", st->path) : 0;
}

int sql_step_done(sql_store *st, sqlite3_stmt *q, tl_err *err, const char *what)
{
    int rc = sqlite3_step(q);
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return sql_fail(st, err, what);
    return 0;
}

void sql_read_study_row(sqlite3_stmt *q, study_row *r)
{
    char dir[16];
    r->id = sqlite3_column_int(q, 0);
    sql_col_text(q, 1, r->name, sizeof r->name);
    sql_col_text(q, 2, dir, sizeof dir);
    r->direction = strcmp(dir, "maximize") == 0 ? STUDY_MAXIMIZE : STUDY_MINIMIZE;
    sql_col_text(q, 3, r->metric, sizeof r->metric);
    r->seed = (uint64_t)sqlite3_column_int64(q, 4);
    r->created = sql_col_real(q, 5);
}
