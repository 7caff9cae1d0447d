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
 * nests: only the outermost begin/commit reach the database).  Does not
 * know samplers or schedulers; does not print.
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
} storage_vt;

typedef struct storage {
    const storage_vt *vt;
    void *self;
} storage;

/* Opens (creating the file, its folder and the schema when needed) the
 * SQLite database at path.  Returns 0 with *out filled (close with
 * out->vt->close(out->self)), or TL_ERUNTIME naming the path. */
int storage_sqlite_open(storage *out, const char *path, tl_err *err);

#endif
