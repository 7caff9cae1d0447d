/* tune/study_setup.h: from a config to what `tunelab run` hands hpo/: the
 * search space, the study settings with the chosen algorithms' options,
 * and the objective (training, a benchmark function, or a command); and
 * the command that retrains a trial.
 *
 * Does: read the [space], study.*, tpe.*, cmaes.*, pbt.* and nas.* keys into hpo/'s types,
 * build and release the objective.  Does not: check the algorithms'
 * options (hpo's validate hooks do, through study_validate), open the
 * study, or print.
 */
#ifndef TL_TUNE_STUDY_SETUP_H
#define TL_TUNE_STUDY_SETUP_H

#include <stddef.h>

#include "hpo/objective.h"
#include "hpo/pbt.h"
#include "hpo/sampler_bayes.h"
#include "hpo/sampler_cmaes.h"
#include "hpo/sampler_evolution.h"
#include "hpo/sampler_grid.h"
#include "hpo/sampler_tpe.h"
#include "hpo/sched_halving.h"
#include "hpo/sched_median.h"
#include "hpo/space.h"
#include "hpo/study.h"
#include "tune/config.h"
#include "tune/objective_train.h"
#include "tune/session.h"

/* Builds the space from c's [space] lines (errors prefixed "file:line").
 * Returns 0 or TL_EINPUT; sp is initialized either way (space_free it). */
int tune_space_from_config(const config *c, space *sp, tl_err *err);

/* The options of every algorithm a config can choose, read from its keys. */
typedef struct tune_algo_options {
    grid_options grid;
    bayes_options bayes;
    evolution_options evolution;
    tpe_options tpe;
    cmaes_options cmaes;
    median_options median;
    halving_options halving;   /* sha, hyperband, asha */
    pbt_options pbt;
} tune_algo_options;

/* Fills sc with c's core study settings and opts with every algorithm's
 * options, then points sc->sampler_opts and sc->scheduler_opts at the
 * entries of opts that c's sampler and scheduler take (NULL for random,
 * sobol and fifo); opts must outlive study_validate and study_open with
 * sc.  For objective.type train, PBT's options refuse parameters a copied
 * state cannot change (the model's shape, the optimizer, the batch
 * size); for function and command objectives the metric "val_loss"
 * becomes "value" and an unset study.max_budget becomes 1 (train.epochs
 * for train).  Cannot fail. */
void tune_study_config(const config *c, study_config *sc, tune_algo_options *opts);

/* What a trial runs (objective.type). */
enum tune_objective_kind {
    TUNE_OBJECTIVE_TRAIN,      /* trains the config's model (tune/objective_train.h) */
    TUNE_OBJECTIVE_FUNCTION,   /* a benchmark function (objective.function) */
    TUNE_OBJECTIVE_COMMAND,    /* a program (objective.command, objective.timeout) */
    TUNE_OBJECTIVE_COUNT
};

/* The kind c's objective.type names ("function", "command"; anything else
 * is train).  Cannot fail. */
int tune_objective_kind(const config *c);

/* An objective built from a config, with what it owns. */
typedef struct tune_objective {
    int kind;                  /* enum tune_objective_kind */
    objective obj;             /* what study_optimize runs */
    objective_train train;     /* TRAIN: the training objective's settings */
    task_data data;            /* TRAIN: the dataset, shared by every trial */
} tune_objective;

/* Builds the objective of c's kind over space sp (borrowed, as is c: both
 * must outlive o): loads the dataset for train.  o must not move while
 * open.  Returns 0 or a tl_code (TL_EINPUT: an unknown function or
 * metric, an empty command; TL_ERUNTIME: data, memory); o can be closed
 * either way. */
int tune_objective_open(tune_objective *o, const config *c, const space *sp, tl_err *err);

/* Releases what tune_objective_open built.  A zeroed o is a no-op. */
void tune_objective_close(tune_objective *o);

/* Runs study st with o's objective on `workers` threads until its budget
 * is spent (hpo/executor.h, study_optimize), reporting progress to fn
 * (may be NULL).  Returns 0 or study_optimize's tl_code. */
int tune_objective_optimize(tune_objective *o, study *st, int workers, study_progress_fn fn, void *ud,
                            tl_err *err);

/* ---- study.workers = auto ---- */

/* What the workers probe chose and why. */
typedef struct tune_layout {
    int workers;        /* the chosen layout: workers x threads per trial */
    int threads;
    int cores;          /* the threads available (the caller's OpenMP maximum) */
    int measured;       /* 1 when both layouts were timed */
    double rate_one;    /* samples/s, 1 worker x cores threads */
    double rate_many;   /* samples/s, cores workers x 1 thread */
    int nbatch;         /* batch sizes probed (1 or 2) */
    int batch[2];
    int steps;          /* timed steps per session and batch size (the fewest of
                         * the probes; 0: the warm-up's 3 steps were the
                         * measure, TUNE_PROBE_SECONDS) */
    double seconds;     /* the whole probe, wall clock */
    char why[200];      /* when not measured: why */
} tune_layout;

/* study.workers = auto: chooses between 1 worker x `cores` threads and
 * `cores` workers x 1 thread by timing TUNE_PROBE_STEPS optimizer steps
 * (after one untimed step) of the study's model (the base config's) at its
 * batch sizes (train.batch_size, or the two ends of its range when the
 * space tunes it) under both layouts: one session on all threads, then
 * `cores` sessions side by side in a parallel region, one thread each
 * (a slow model: see TUNE_PROBE_SECONDS).
 * Picks the layout with more samples per second.  The probe's sessions are
 * thrown away: no trial and no rng of the study sees them; a trial depends
 * on the choice only through its thread count.  Objectives that are not
 * training, and cores < 2, are not measured (cores workers, or 1).  Call
 * it outside any parallel region, after the OpenMP thread count is set.
 * Returns 0, or TL_ERUNTIME/TL_EINPUT from building a session. */
#define TUNE_PROBE_STEPS 4
int tune_workers_auto(const tune_objective *o, const config *c, const space *sp, int cores,
                      tune_layout *out, tl_err *err);

/* The time cap: a layout whose warm-up (3 steps, untimed before) takes
 * TUNE_PROBE_SECONDS or more is measured by that warm-up alone, so a huge
 * model's probe costs 3 steps per layout and batch size, not 7.
 * tune_workers_auto_capped takes the cap in seconds (0: every layout is
 * measured by its warm-up; tests use it); otherwise as tune_workers_auto. */
#define TUNE_PROBE_SECONDS 1.0
int tune_workers_auto_capped(const tune_objective *o, const config *c, const space *sp, int cores,
                             double cap, tune_layout *out, tl_err *err);

/* Writes "PROGRAM train CONFIG --set k=v ... --set train.threads=N" for a
 * trial's values (PROGRAM: tl_program_name, "tunelab" or the binary's
 * absolute path; words quoted for sh, as report_retrain_command); threads is the trial's "threads" attribute (the OpenMP
 * threads it trained on; "" or NULL leaves train.threads out).  With the
 * same threads the retrain gives the trial's value bit for bit on the same
 * machine and OpenBLAS kernels (README.md "What replays bit for bit"). */
void tune_retrain_command(const config *c, const space *sp, const double *values,
                          const char *threads, char *buf, size_t n);
#endif
