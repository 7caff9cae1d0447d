/* tune/metric.c: the training metrics' names (see metric.h). */
#include "tune/metric.h"

#include <string.h>

static const char *const NAMES[METRIC_COUNT] = {"val_loss", "val_accuracy", "val_perplexity", "test_accuracy",
                                                "train_loss"};

const char *metric_str(int m)
{
    return m >= 0 && m < METRIC_COUNT ? NAMES[m] : "?";
}

int metric_parse(const char *name, int *m, tl_err *err)
{
    for (int k = 0; k < METRIC_COUNT; k++)
        if (name && !strcmp(name, NAMES[k])) {
            *m = k;
            return 0;
        }
    return tl_fail(err, TL_EINPUT,
                   "study.metric: '%s' is not a training metric (val_loss, val_accuracy, val_perplexity, "
                   "test_accuracy, train_loss)",
                   name ? name : "(null)");
}

int metric_maximized(int m)
{
    return m == METRIC_VAL_ACCURACY || m == METRIC_TEST_ACCURACY;
}
