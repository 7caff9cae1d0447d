/* hpo/trial.h: a trial as samplers and schedulers see it (read-only).
 * See space.h for the internal value representation. */
#ifndef TL_HPO_TRIAL_H
#define TL_HPO_TRIAL_H

enum trial_state {
    TRIAL_RUNNING,
    TRIAL_COMPLETE,
    TRIAL_PRUNED,
    TRIAL_FAILED,
    TRIAL_PAUSED,     /* waiting for a promotion (Hyperband) or a PBT ready point */
    TRIAL_WAITING,    /* created (asked) but not started */
    TRIAL_STATE_COUNT
};
const char *trial_state_str(int state);

enum study_direction { STUDY_MINIMIZE, STUDY_MAXIMIZE };

typedef struct trial {
    int number;             /* 0, 1, 2, ... within the study */
    int state;              /* enum trial_state */
    int nparams;
    double *values;         /* (nparams) internal values, NAN where inactive */
    double value;           /* final value (complete) or last reported value; NAN if none */
    int nsteps;             /* intermediate values reported so far */
    int cap_steps;
    int *steps;             /* (nsteps) step (epoch or training step) of each report */
    double *inter;          /* (nsteps) intermediate values */
    double budget;          /* resources consumed (epochs or steps), summed over resumptions */
    int parent;             /* trial it copied from (PBT, NAS), -1 if none */
    double started, finished; /* unix seconds */
    char reason[256];       /* failure reason or a note ("reused result of trial 12") */
} trial;

#endif
