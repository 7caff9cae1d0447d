/* hpo/storage.h: where studies live.  An interface (vtable) with one
 * implementation, SQLite (storage_sqlite_open).
 *
 * SQLite schema (query it with the sqlite3 shell; states are words):
 *   studies(id, name UNIQUE, direction 'minimize'|'maximize', metric, seed,
 *           created, seq)
 *   study_params(study_id, idx, name, kind, expr)      the space, one row per
 *           parameter; expr is space_describe's canonical text
 *   trials(id, study_id, number, state, value, budget, target, parent,
 *          started, finished, host, pid, worker, reason, seq)
 *          UNIQUE(study_id, number); value NULL for none/NaN; times in unix
 *          seconds; target = the budget the trial was last asked to reach;
 *          seq = the study's change counter at the trial's last change
 *   trial_values(trial_id, param, value, text)         internal value and
 *          its text (space_format_value); inactive parameters have no row
 *   trial_intermediate(trial_id, step, value)
 *   trial_attrs(trial_id, key, value)
 *   study_attrs(study_id, key, value)
 * WAL journal, a busy timeout, and write transactions opened with BEGIN
 * IMMEDIATE so concurrent processes serialize their claims.
 *
 * The study calls every write between begin and commit (the transaction
 * nests: only the outermost begin/commit reach the database).
 *
 * Reading a study back (show, best, export, report, pbt-replay): open the
 * file with storage_sqlite_open_readonly, which never creates, writes or
 * migrates it, then take the whole study with vt->snapshot in one read
 * transaction (a consistent view while `tunelab run` writes to the same
 * file from another process).  The snapshot reads through the same code
 * as the study's own reload (space_load, trials_since) plus the attribute
 * lists.
 *
 * Does not know samplers or schedulers; does not print.
 */
#ifndef TL_HPO_STORAGE_H
#define TL_HPO_STORAGE_H

#include <stddef.h>
#include <stdint.h>

#include "hpo/space.h"
#include "hpo/trial.h"
#include "util/err.h"

/* Who runs a trial, and the budget it was asked to reach. */
typedef struct trial_meta {
    double target;
    char host[64];
    long pid;
    int worker;
} trial_meta;

/* Called for each trial row loaded: t and m are valid during the call only. */
typedef int (*storage_trial_fn)(void *ud, const trial *t, const trial_meta *m, tl_err *err);

/* One attribute: key -> text (often JSON).  Both strings are owned by the
 * snapshot that holds them. */
typedef struct storage_attr {
    char *key;
    char *value;
} storage_attr;

/* A trial as stored, with its attributes. */
typedef struct storage_trial {
    trial t;               /* number, state, values (NAN inactive), value, intermediate
                              values (steps ascending), budget, parent, times, reason */
    trial_meta m;          /* target (NAN if none), host, pid, worker */
    int nattrs;
    storage_attr *attrs;   /* (nattrs) trial attributes, by key */
} storage_trial;

/* A whole study as stored (vt->snapshot). */
typedef struct storage_study {
    char name[128];
    int direction;         /* STUDY_MINIMIZE or STUDY_MAXIMIZE */
    char metric[64];
    uint64_t seed;
    double created;        /* unix seconds; NAN if not stored */
    space sp;              /* rebuilt from study_params */
    int ntrials;
    storage_trial *trials; /* (ntrials) in number order */
    int nattrs;
    storage_attr *attrs;   /* (nattrs) study attributes, by key */
} storage_study;

/* Frees what ss owns (not ss itself) and leaves it empty; NULL is a no-op. */
void storage_study_free(storage_study *ss);

typedef struct storage_vt {
    const char *name;
    /* Write transaction (BEGIN IMMEDIATE, waiting up to the busy timeout). */
    int (*begin)(void *self, tl_err *err);
    int (*commit)(void *self, tl_err *err);
    void (*rollback)(void *self);
    /* Finds study `name` or creates it (then *created = 1).  For an existing
     * study, fills the stored direction and metric.  Returns 0 or a tl_code. */
    int (*study_open)(void *self, const char *name, int direction, const char *metric,
                      uint64_t seed, int *study_id, int *created, int *stored_direction,
                      char *stored_metric, size_t metric_n, tl_err *err);
    /* The space: save (new study) and load (into an empty space). */
    int (*space_save)(void *self, int study_id, const space *sp, tl_err *err);
    int (*space_load)(void *self, int study_id, space *sp, tl_err *err);
    /* Trials by number.  create stores a new row with its values; update
     * stores state, value, budget, parent, times, reason, meta. */
    int (*trial_create)(void *self, int study_id, const space *sp, const trial *t,
                        const trial_meta *m, tl_err *err);
    int (*trial_update)(void *self, int study_id, const trial *t, const trial_meta *m,
                        tl_err *err);
    int (*trial_set_values)(void *self, int study_id, const space *sp, int number,
                            const double *values, tl_err *err);
    /* Intermediate values: add (replacing the same step) and clear all. */
    int (*inter_add)(void *self, int study_id, int number, int step, double value, tl_err *err);
    int (*inter_clear)(void *self, int study_id, int number, tl_err *err);
    /* Attributes; number < 0 addresses the study.  get returns 1 found,
     * 0 absent, -1 error. */
    int (*attr_set)(void *self, int study_id, int number, const char *key, const char *value,
                    tl_err *err);
    int (*attr_get)(void *self, int study_id, int number, const char *key, char *buf, size_t n,
                    tl_err *err);
    /* Calls fn for every trial changed after change counter *seq (all when
     * *seq = 0), in number order, then sets *seq to the current counter. */
    int (*trials_since)(void *self, int study_id, const space *sp, int64_t *seq,
                        storage_trial_fn fn, void *ud, tl_err *err);
    /* Closes; NULL self is a no-op. */
    void (*close)(void *self);
    /* Reads study `name` (NULL: the database's only study) whole, in one
     * read transaction: its direction, metric, seed, creation time and
     * space, every trial with values, intermediate values, meta and
     * attributes, and the study attributes.  Writes nothing.  Returns 0
     * with *out filled (free with storage_study_free), or TL_EINPUT
     * "path: ..." when the database holds no study, no study `name` (the
     * message lists those there) or several and name is NULL, or
     * TL_ERUNTIME for a database or memory failure (*out then empty). */
    int (*snapshot)(void *self, const char *name, storage_study *out, tl_err *err);
} storage_vt;

typedef struct storage {
    const storage_vt *vt;
    void *self;
} storage;

/* Opens (creating the file, its folder and the schema when needed) the
 * SQLite database at path: a new path, an empty file or an SQLite file
 * without tables is initialized; a tunelab study database is opened.
 * Returns 0 with *out filled (close with out->vt->close(out->self)),
 * TL_EINPUT naming the path for a URL ("scheme://...": not a file path)
 * and, before anything is written to it, for a file that is not a
 * tunelab study database (another program's SQLite file, or not SQLite
 * at all), or TL_ERUNTIME naming the path. */
int storage_sqlite_open(storage *out, const char *path, tl_err *err);

/* Opens the tunelab study database at path for reading only: never creates
 * the file, never writes or changes it (every write through the vtable is
 * refused with TL_EINPUT), works while another process writes to it.  A
 * WAL database in a folder this process cannot write (SQLite cannot create
 * the -shm file readers coordinate through) is read as immutable, once no
 * pending -wal content could be missed.  Returns 0 with *out filled (close
 * with out->vt->close(out->self)), TL_EINPUT "path: ..." for a missing
 * file, a folder, a file that is not SQLite or a SQLite file without the
 * tunelab tables, TL_ERUNTIME when SQLite cannot read it (e.g. a pending
 * write-ahead log in a read-only folder without its -shm file). */
int storage_sqlite_open_readonly(storage *out, const char *path, tl_err *err);

#endif
