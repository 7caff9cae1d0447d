/* tests/epoch_objective.h: the body of a synthetic resumable objective
 * shared by test_hyperband.c (bohb) and test_report_hyperband.c: it trains
 * from the epochs kept in its state up to the job's budget, reports
 * value = f + c / epoch at every epoch, pauses with its state when the
 * scheduler says so.  Header-only (static inline), test code only. */
#ifndef TL_TESTS_EPOCH_OBJECTIVE_H
#define TL_TESTS_EPOCH_OBJECTIVE_H

#include <math.h>
#include <stdlib.h>

#include "hpo/executor.h"
#include "hpo/study.h"

typedef struct eo_state {
    int epochs; /* epochs trained so far */
} eo_state;

/* Runs job on s as described above (f: the trial's value at infinite
 * budget).  Returns 0 with *out filled (the state handed over on a pause,
 * freed otherwise), 1 when study_report fails. */
static inline int eo_train(study *s, const trial_job *job, trial_outcome *out, double f, double c)
{
    eo_state *st = job->obj_state;
    if (!st)
        st = calloc(1, sizeof *st);
    double v = NAN;
    int until = (int)ceil(job->budget - 1e-9);
    for (int e = st->epochs + 1; e <= until; e++) {
        st->epochs = e;
        v = f + c / e;
        int dec = DECIDE_CONTINUE;
        tl_err err = { 0 };
        if (study_report(s, job->number, e, v, e, &dec, NULL, &err)) {
            free(st);
            return 1;
        }
        if (dec == DECIDE_PAUSE) {
            out->state = TRIAL_PAUSED;
            out->value = v;
            out->obj_state = st;
            return 0;
        }
    }
    out->state = TRIAL_COMPLETE;
    out->value = v;
    free(st);
    return 0;
}

/* objective.state_free for eo_state. */
static inline void eo_free(void *ud, void *st)
{
    (void)ud;
    free(st);
}

#endif
