/* tune/objective_train.h: the objective that trains a model for a trial.
 *
 * For each trial it copies the base config, applies the trial's values
 * (each space parameter is a config key), builds a session over the shared
 * task data and trains it epoch by epoch up to the trial's budget, reporting
 * the study metric after every epoch and obeying the scheduler: stop
 * (pruned), pause (the session is kept as the trial's state, in memory or
 * saved as a checkpoint), exploit (PBT: copy another trial's trainer, take
 * the new hyperparameters, go on).  A diverged trial fails with its reason.
 * Every run that ends or pauses (complete, pruned, paused) records
 * test_accuracy/test_loss of its current weights where a test set exists;
 * trained trials also get params, epochs, train_flops (tune/nas.h: nas_train_flops),
 * seconds, status.  With nas.inherit a new child starts from its parent's
 * morphed weights and a finished trial leaves its state for its children
 * (tune/nas_inherit.h).
 */
#ifndef TL_TUNE_OBJECTIVE_TRAIN_H
#define TL_TUNE_OBJECTIVE_TRAIN_H

#include "hpo/objective.h"
#include "tune/config.h"
#include "tune/metric.h"
#include "tune/session.h"

typedef struct objective_train {
    const config *base;       /* borrowed */
    const task_data *data;    /* borrowed, shared by every trial */
    int metric;               /* enum metric_kind (tune/metric.h) */
    int maximize;
} objective_train;

/* Fills *obj to run trials of `to` (which must outlive obj) over base and
 * data (both borrowed; they must outlive obj too).  Returns 0, or TL_EINPUT
 * "SOURCE: study.metric: ..." for a name that is not a training metric, a
 * val_accuracy of a text model, or a test_accuracy without a test set. */
int objective_train_init(objective *obj, objective_train *to, const config *base, const task_data *data,
                         tl_err *err);
#endif
