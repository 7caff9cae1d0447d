/* tune/objective_train.h: the objective that trains a model for a trial.
 *
 * For each trial it copies the base config, applies the trial's values
 * (each space parameter is a config key), builds a session over the shared
 * task data and trains it epoch by epoch up to the trial's budget, reporting
 * the study metric after every epoch and obeying the scheduler: stop
 * (pruned), pause (the session is kept as the trial's state, in memory or
 * saved as a checkpoint), exploit (PBT: copy another trial's trainer, take
 * the new hyperparameters, go on).  A diverged trial fails with its reason.
 * Completed trials get attributes test_accuracy/test_loss (where a test set
 * exists), params, epochs, seconds, status.
 */
#ifndef TL_CLI_OBJECTIVE_TRAIN_H
#define TL_CLI_OBJECTIVE_TRAIN_H

#include "tune/config.h"
#include "tune/session.h"
#include "hpo/objective.h"

typedef struct train_objective {
    const config *base;       /* borrowed */
    const task_data *data;    /* borrowed, shared by every trial */
    int metric;               /* enum metric_kind (objective_train.c) */
    int maximize;
} train_objective;

/* Fills *obj to run trials of `to` (which must outlive obj).  Returns 0 or
 * TL_EINPUT for an unknown study.metric. */
int train_objective_init(objective *obj, train_objective *to, const config *base, const task_data *data,
                         tl_err *err);
#endif
