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


/* Parses the text trial_state_str gives back into the state; -1 if unknown. */
int trial_state_parse(const char *text);

/* 1 for the finished states (complete, pruned, failed), else 0. */
int trial_state_finished(int state);

/* Makes t an empty trial with room for nparams values (set to NAN), no
 * intermediate values, parent -1.  Returns 0 or TL_ERUNTIME (memory; t is
 * then empty and trial_free-able). */
int trial_init(trial *t, int nparams);

/* Frees what t owns (not t itself); NULL is a no-op. */
void trial_free(trial *t);

/* Deep copy of src into dst (dst must be empty or freed).  Returns 0 or -1
 * (memory; dst left empty). */
int trial_copy(trial *dst, const trial *src);

/* Records intermediate value `value` at `step`, replacing an earlier value
 * at the same step (steps are kept in the order first reported).  Returns 0
 * or -1 (memory). */
int trial_set_inter(trial *t, int step, double value);

/* Finds the intermediate value at step: returns 1 and fills *value, or 0. */
int trial_inter_at(const trial *t, int step, double *value);

/* The largest reported step, or -1 when the trial has reported nothing. */
int trial_last_step(const trial *t);

#endif
