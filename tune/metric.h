/* tune/metric.h: the value a training trial reports (study.metric), named
 * once: the enum, its names and their parser.  The training objective, the
 * PBT replay, the NAS objectives and the default study direction all read
 * study.metric through metric_parse; the config's KEYS table lists the same
 * names (plus "value", the function and command objectives' result). */
#ifndef TL_TUNE_METRIC_H
#define TL_TUNE_METRIC_H

#include "util/err.h"

enum metric_kind {
    METRIC_VAL_LOSS,        /* mean validation loss */
    METRIC_VAL_ACCURACY,    /* validation accuracy (classifiers) */
    METRIC_VAL_PERPLEXITY,  /* exp(validation loss) (text) */
    METRIC_TEST_ACCURACY,   /* test accuracy at the end (reported as val_accuracy while training) */
    METRIC_TRAIN_LOSS,      /* mean training loss of the last epoch */
    METRIC_COUNT
};

/* "val_loss", "val_accuracy", "val_perplexity", "test_accuracy",
 * "train_loss"; "?" out of range. */
const char *metric_str(int m);

/* Parses a metric name into *m.  Returns 0, or TL_EINPUT
 * "study.metric: 'NAME' is not a training metric (val_loss, val_accuracy,
 * val_perplexity, test_accuracy, train_loss)". */
int metric_parse(const char *name, int *m, tl_err *err);

/* 1 for the metrics a study maximizes (the accuracies), else 0. */
int metric_maximized(int m);

#endif
