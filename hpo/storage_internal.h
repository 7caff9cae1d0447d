/* hpo/storage_internal.h: what the two halves of the SQLite storage share.
 * NOT a public header: only hpo/storage*.c include it; everything else
 * sees storage through hpo/storage.h.
 *
 *   storage.c       the schema, the read-write open (which refuses another
 *                   program's SQLite file before writing anything),
 *                   transactions and every write, the vtable
 *   storage_read.c  every read: the space, attributes, the incremental
 *                   trial reload, the snapshot of a whole study, and the
 *                   read-only open
 *   storage_sql.c   the helpers below (errors, exec, binds, columns)
 *
 * The helpers below fill err with the path and SQLite's message; none
 * prints.  Does not: cache statements, or know samplers and schedulers.
 */
#ifndef TL_HPO_STORAGE_INTERNAL_H
#define TL_HPO_STORAGE_INTERNAL_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "hpo/storage.h"

#define BUSY_TIMEOUT_MS 60000

typedef struct sql_store {
    sqlite3 *db;
    int depth;           /* nesting of begin() */
    int readonly;        /* opened by storage_sqlite_open_readonly: writes refused */
    int reading;         /* inside a snapshot's read transaction */
    char path[512];
} sql_store;

/* The tables a tunelab study database has (SQL_NTABLES of them). */
#define SQL_NTABLES 7
extern const char *const sql_tables[SQL_NTABLES];

/* The one vtable both opens hand out. */
extern const storage_vt sql_vt;

/* TL_ERUNTIME "path: what: sqlite's message". */
int sql_fail(sql_store *st, tl_err *err, const char *what);
/* Runs sql (no rows); 0 or TL_ERUNTIME. */
int sql_exec(sql_store *st, const char *sql, tl_err *err);
/* sql_exec, retrying while the database is busy or locked, up to the busy
 * timeout. */
int sql_exec_retry(sql_store *st, const char *sql, tl_err *err);
/* A prepared statement (caller finalizes), or NULL with err filled. */
sqlite3_stmt *sql_prep(sql_store *st, const char *sql, tl_err *err);
/* Binds a double, NULL for NaN or infinities (SQLite stores no NaN). */
void sql_bind_real(sqlite3_stmt *q, int i, double v);
/* Column i as a double, NAN for NULL. */
double sql_col_real(sqlite3_stmt *q, int i);
/* Column i as text into buf (truncated; "" for NULL). */
void sql_col_text(sqlite3_stmt *q, int i, char *buf, size_t n);
/* Column i as a malloc'd string ("" for NULL), or NULL (memory). */
char *sql_col_dup(sqlite3_stmt *q, int i);
/* 0, or TL_EINPUT when st was opened read-only (called first by every
 * write, so that a reader never reaches SQLite with one). */
int sql_writable(sql_store *st, tl_err *err);
/* Runs a statement expected to return no row; finalizes it. */
int sql_step_done(sql_store *st, sqlite3_stmt *q, tl_err *err, const char *what);

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

/* Fills *r from the current row of a SELECT STUDY_COLS.  Cannot fail. */
void sql_read_study_row(sqlite3_stmt *q, study_row *r);

/* The first read of a freshly opened connection: checks that every table
 * of the schema is there.  Returns 0, TL_EINPUT "path: not a tunelab study
 * database (...)" for a file that is not SQLite or lacks a table, or
 * TL_ERUNTIME with the SQLite result code in *sqlite_rc. */
int sql_check_schema(sql_store *st, int *sqlite_rc, tl_err *err);

/* The vtable's reads (storage_read.c) and close (storage.c); see
 * storage_vt. */
int sql_space_load(void *self, int study_id, space *sp, tl_err *err);
int sql_attr_get(void *self, int study_id, int number, const char *key, char *buf, size_t n,
                 tl_err *err);
int sql_trials_since(void *self, int study_id, const space *sp, int64_t *seq,
                     storage_trial_fn fn, void *ud, tl_err *err);
int sql_snapshot(void *self, const char *name, storage_study *out, tl_err *err);
void sql_close(void *self);

#endif
