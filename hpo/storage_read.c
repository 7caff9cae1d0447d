/* hpo/storage_read.c: the SQLite storage's read side (the writes and the
 * read-write open are in storage.c; the struct and helpers they share in
 * storage_internal.h).
 *
 * Does: load the space and attributes, reload the trials changed since a
 * change counter (the study's incremental sync), take a snapshot of a
 * whole study in one read transaction, and open a study database for
 * reading only: never created, written or migrated, read as immutable in
 * a folder this process cannot write when no write-ahead log is pending.
 * Does not: write (every write through a read-only store is refused in
 * storage.c), decide anything, or print.
 */
#include "hpo/storage.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hpo/storage_internal.h"

/* ---- the space and attributes ---- */

int sql_space_load(void *self, int study_id, space *sp, tl_err *err)
{
    sql_store *st = self;
    sqlite3_stmt *q = sql_prep(st, "SELECT name, expr FROM study_params WHERE study_id = ?"
                                   " ORDER BY idx", err);
    if (!q)
        return TL_ERUNTIME;
    sqlite3_bind_int(q, 1, study_id);
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        char name[128], expr[2048];
        sql_col_text(q, 0, name, sizeof name);
        sql_col_text(q, 1, expr, sizeof expr);
        if (space_add(sp, name, expr, err)) {
            sqlite3_finalize(q);
            tl_prefix(err, "%s: stored space", st->path);
            return TL_ERUNTIME;
        }
    }
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? 0 : sql_fail(st, err, "reading the space");
}

int sql_attr_get(void *self, int study_id, int number, const char *key, char *buf, size_t n,
                 tl_err *err)
{
    sql_store *st = self;
    sqlite3_stmt *q;
    if (number < 0) {
        q = sql_prep(st, "SELECT value FROM study_attrs WHERE study_id = ? AND key = ?", err);
        if (!q)
            return -1;
        sqlite3_bind_int(q, 1, study_id);
    } else {
        q = sql_prep(st, "SELECT a.value FROM trial_attrs a JOIN trials t ON a.trial_id = t.id"
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
            sql_col_text(q, 0, buf, n);
        found = 1;
    } else if (rc != SQLITE_DONE) {
        sql_fail(st, err, "reading an attribute");
        found = -1;
    }
    sqlite3_finalize(q);
    return found;
}

/* ---- loading ---- */

static int load_trial_details(sql_store *st, sqlite3_int64 tid, const space *sp, trial *t,
                              tl_err *err)
{
    sqlite3_stmt *q = sql_prep(st, "SELECT param, value FROM trial_values WHERE trial_id = ?", err);
    if (!q)
        return TL_ERUNTIME;
    sqlite3_bind_int64(q, 1, tid);
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(q, 0);
        int i = name ? space_find(sp, name) : -1;
        if (i >= 0 && i < t->nparams)
            t->values[i] = sql_col_real(q, 1);
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE)
        return sql_fail(st, err, "reading values");
    q = sql_prep(st, "SELECT step, value FROM trial_intermediate WHERE trial_id = ?"
                     " ORDER BY step", err);
    if (!q)
        return TL_ERUNTIME;
    sqlite3_bind_int64(q, 1, tid);
    while ((rc = sqlite3_step(q)) == SQLITE_ROW)
        if (trial_set_inter(t, sqlite3_column_int(q, 0), sql_col_real(q, 1))) {
            sqlite3_finalize(q);
            return tl_fail(err, TL_ERUNTIME, "out of memory");
        }
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? 0 : sql_fail(st, err, "reading intermediate values");
}

int sql_trials_since(void *self, int study_id, const space *sp, int64_t *seq,
                     storage_trial_fn fn, void *ud, tl_err *err)
{
    sql_store *st = self;
    int own_txn = st->depth == 0 && !st->reading;
    if (own_txn && sql_exec(st, "BEGIN", err)) /* one snapshot for the whole read */
        return TL_ERUNTIME;
    int rc = TL_ERUNTIME;
    sqlite3_int64 cur = 0;
    trial t;
    if (trial_init(&t, sp->n)) {
        tl_fail(err, TL_ERUNTIME, "out of memory");
        goto out;
    }
    sqlite3_stmt *q = sql_prep(st, "SELECT seq FROM studies WHERE id = ?", err);
    if (!q)
        goto out;
    sqlite3_bind_int(q, 1, study_id);
    if (sqlite3_step(q) == SQLITE_ROW)
        cur = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    q = sql_prep(st, "SELECT id, number, state, value, budget, target, parent, started, finished,"
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
        sql_col_text(q, 2, state, sizeof state);
        t.state = trial_state_parse(state);
        if (t.state < 0)
            t.state = TRIAL_FAILED;
        t.value = sql_col_real(q, 3);
        t.budget = sql_col_real(q, 4);
        if (isnan(t.budget))
            t.budget = 0;
        m.target = sql_col_real(q, 5);
        t.parent = sqlite3_column_type(q, 6) == SQLITE_NULL ? -1 : sqlite3_column_int(q, 6);
        t.started = sql_col_real(q, 7);
        t.finished = sql_col_real(q, 8);
        sql_col_text(q, 9, m.host, sizeof m.host);
        m.pid = (long)sqlite3_column_int64(q, 10);
        m.worker = sqlite3_column_int(q, 11);
        sql_col_text(q, 12, t.reason, sizeof t.reason);
        if (load_trial_details(st, tid, sp, &t, err) || fn(ud, &t, &m, err)) {
            sqlite3_finalize(q);
            goto out;
        }
    }
    sqlite3_finalize(q);
    if (s != SQLITE_DONE) {
        sql_fail(st, err, "reading trials");
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
    g[*n].key = sql_col_dup(q, kcol);
    g[*n].value = sql_col_dup(q, vcol);
    (*n)++;
    return g[*n - 1].key && g[*n - 1].value ? 0 : -1;
}

/* Finds study `name` (NULL: the only one) and fills ss's header from its
 * row.  Returns 0 with *study_id set, TL_EINPUT naming the studies there,
 * or TL_ERUNTIME. */
static int find_study(sql_store *st, const char *name, storage_study *ss, int *study_id,
                      tl_err *err)
{
    sqlite3_stmt *q = sql_prep(st, "SELECT " STUDY_COLS " FROM studies ORDER BY id", err);
    if (!q)
        return TL_ERUNTIME;
    int found = 0, count = 0, rc;
    char names[512] = "";
    size_t at = 0;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        study_row r;
        sql_read_study_row(q, &r);
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
        return sql_fail(st, err, "reading studies");
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
    sqlite3_stmt *q = sql_prep(st, "SELECT t.number, a.key, a.value FROM trial_attrs a"
                                   " JOIN trials t ON t.id = a.trial_id WHERE t.study_id = ?"
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
        return sql_fail(st, err, "reading trial attributes");
    q = sql_prep(st, "SELECT key, value FROM study_attrs WHERE study_id = ? ORDER BY key", err);
    if (!q)
        return TL_ERUNTIME;
    sqlite3_bind_int(q, 1, study_id);
    while (!bad && (rc = sqlite3_step(q)) == SQLITE_ROW)
        bad = attr_push(&ss->attrs, &ss->nattrs, q, 0, 1);
    sqlite3_finalize(q);
    if (bad)
        return tl_fail(err, TL_ERUNTIME, "%s: out of memory", st->path);
    return rc == SQLITE_DONE ? 0 : sql_fail(st, err, "reading study attributes");
}

int sql_snapshot(void *self, const char *name, storage_study *out, tl_err *err)
{
    sql_store *st = self;
    memset(out, 0, sizeof *out);
    space_init(&out->sp);
    int own_txn = st->depth == 0 && !st->reading;
    if (own_txn && sql_exec(st, "BEGIN", err)) /* deferred: a read transaction */
        return TL_ERUNTIME;
    st->reading++;
    int study_id = -1;
    int64_t seq = -1; /* every trial, also a row a hand edit left at change counter 0 */
    int rc = find_study(st, name, out, &study_id, err);
    if (!rc)
        rc = sql_space_load(st, study_id, &out->sp, err);
    if (!rc)
        rc = sql_trials_since(st, study_id, &out->sp, &seq, add_trial, out, err);
    if (!rc)
        rc = load_attrs(st, study_id, out, err);
    st->reading--;
    if (own_txn)
        sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL);
    if (rc)
        storage_study_free(out);
    return rc;
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
int sql_check_schema(sql_store *st, int *sqlite_rc, tl_err *err)
{
    sqlite3_stmt *q = NULL;
    int rc = sqlite3_prepare_v2(st->db, "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
                                        " AND name = ?", -1, &q, NULL);
    for (size_t k = 0; rc == SQLITE_OK && k < SQL_NTABLES; k++) {
        sqlite3_reset(q);
        sqlite3_bind_text(q, 1, sql_tables[k], -1, SQLITE_STATIC);
        if ((rc = sqlite3_step(q)) != SQLITE_ROW)
            break;
        rc = SQLITE_OK;
        if (sqlite3_column_int(q, 0) == 0) {
            sqlite3_finalize(q);
            return tl_fail(err, TL_EINPUT, "%s: not a tunelab study database (no table %s)",
                           st->path, sql_tables[k]);
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
    return rc ? rc : sql_check_schema(st, &sq, err);
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
    if (!rc && (rc = sql_check_schema(st, &sqlite_rc, err)) == TL_ERUNTIME &&
        ((sqlite_rc & 0xff) == SQLITE_READONLY || (sqlite_rc & 0xff) == SQLITE_CANTOPEN))
        rc = reopen_immutable(st, err);
    if (rc) {
        sql_close(st);
        return rc;
    }
    out->vt = &sql_vt;
    out->self = st;
    return 0;
}
