/* hpo/study_remote.h: a study whose calls are answered somewhere else.
 *
 * An objective only talks to its study through study_report,
 * study_state_copy, study_get_values and the attribute functions.  A
 * remote study forwards exactly those calls to a vtable (the MPI executor
 * sends them to the rank that owns the real study), so the ordinary
 * objective runs unchanged on a rank that has no storage, no sampler and
 * no scheduler.  study_space and study_get_config answer locally from the
 * copies given at open.  Any other study function must not be called on a
 * remote study.  study_close(s) frees it.
 *
 * Does not: know MPI (the vtable does), store anything.
 */
#ifndef TL_HPO_STUDY_REMOTE_H
#define TL_HPO_STUDY_REMOTE_H

#include <stddef.h>

#include "hpo/study.h"
#include "util/err.h"

/* What a remote study forwards; the contracts are study.h's functions of
 * the same names.  attr_set/attr_get take trial -1 for a study attribute.
 * state_copy copies trial src's kept state into the local state dst. */
typedef struct study_remote_vt {
    int (*report)(void *ud, int trial, int step, double value, double budget_used, int *decision,
                  int *exploit_src, tl_err *err);
    int (*state_copy)(void *ud, int src, void *dst, tl_err *err);
    int (*get_values)(void *ud, int trial, double *values, tl_err *err);
    int (*attr_set)(void *ud, int trial, const char *key, const char *value, tl_err *err);
    int (*attr_get)(void *ud, int trial, const char *key, char *buf, size_t n);
} study_remote_vt;

/* Makes a remote study with copies of cfg and sp whose forwarded calls
 * go to vt with ud (both must outlive it).  Returns 0 with *out owned by
 * the caller (study_close), or TL_ERUNTIME (memory). */
int study_open_remote(study **out, const study_config *cfg, const space *sp, const study_remote_vt *vt,
                      void *ud, tl_err *err);

/* Frees a remote study (study_close calls it).  NULL is a no-op. */
void study_remote_free(study *s);

#endif
