/* hpo/objective.h: what the executor runs for each trial.
 *
 * `run` trains (or evaluates) one trial given its job: the values, the
 * per-trial generator, the budget to reach, and for a resumed trial its
 * state.  It calls study_report at each step or epoch and obeys the
 * decision (stop -> TRIAL_PRUNED, pause -> TRIAL_PAUSED with its state in
 * out->obj_state, exploit -> study_state_copy + study_get_values).  It
 * fills *out and returns 0; a nonzero return (or a NaN value) makes the
 * trial FAILED with out->reason, and the study goes on.
 *
 * The state hooks are optional (NULL): state_free releases a state the
 * study kept; state_copy copies src into the existing dst (PBT exploit);
 * state_save / state_load write and read a paused trial's state so a
 * later process can resume it (load allocates *state, owned by the
 * caller); state_pack / state_unpack do the same in memory: pack writes
 * into a malloc'd *bytes (*n; the caller frees it) exactly the bytes
 * state_save writes to its file, and unpack reads them back (allocates
 * *state).  The MPI executor moves states between ranks with them
 * (hpo/executor_mpi.h).  hpo/ never looks inside a state.
 */
#ifndef TL_HPO_OBJECTIVE_H
#define TL_HPO_OBJECTIVE_H

#include <stddef.h>

#include "hpo/study.h"
#include "util/err.h"

typedef struct trial_outcome {
    int state;          /* TRIAL_COMPLETE, TRIAL_PRUNED, TRIAL_FAILED or TRIAL_PAUSED */
    double value;       /* final value; pruned/paused: the last value (NAN: last reported) */
    void *obj_state;    /* PAUSED: the state to keep (ownership passes to the study);
                           otherwise NULL, or a state the executor frees with state_free */
    char reason[256];   /* FAILED: why; otherwise optional note */
} trial_outcome;

typedef struct objective {
    void *ud;
    int (*run)(void *ud, study *s, const trial_job *job, trial_outcome *out);
    void (*state_free)(void *ud, void *state);
    int (*state_copy)(void *ud, void *dst, const void *src);
    int (*state_save)(void *ud, const void *state, const char *path, tl_err *err);
    int (*state_load)(void *ud, void **state, const char *path, tl_err *err);
    int (*state_pack)(void *ud, const void *state, unsigned char **bytes, size_t *n, tl_err *err);
    int (*state_unpack)(void *ud, void **state, const unsigned char *bytes, size_t n, tl_err *err);
} objective;

#endif
