/* nn/train.h: the training loop: epochs of optimizer steps over a batch
 * source, evaluation, early stopping, history, in-memory copies (PBT) and an
 * LR range test.
 *
 * What it does: a `trainer` drives one model (NOT owned: the caller frees
 * the model after trainer_free) with its own optimizer state, an rng seeded
 * from the config's seed (shuffling, text windows, dropout), the step and
 * epoch counters (which are the schedule position), a run-time lr
 * multiplier, early-stopping state with a copy of the best parameters, and a
 * per-epoch history.  One epoch is one pass of the train source in
 * micro-batches of batch_size; every accum_steps micro-batches make one
 * optimizer step (backward scale 1/accum_steps; a short last group at the
 * end of the epoch is rescaled to its own mean).  After each epoch the whole
 * val source is evaluated in eval mode and the hook is called.
 *
 *   lr(step) = cfg.live.opt.lr * scaling(batch_size*accum_steps / base_batch_size)
 *              * schedule(step, epoch) * lr_mult
 *   scaling: none 1, linear k, sqrt sqrt(k)
 *
 * Determinism: the same config, seed, data and thread count give the same
 * bits; trainer_copy and checkpoints resume bit for bit at epoch
 * boundaries.  This needs sources whose reset() order is a function of the
 * rng alone (not of the previous epoch's order).  Evaluation uses its own
 * rng, re-seeded from the seed at every evaluation.
 *
 * What it does not do: no printing, no files (see nn/ckpt.h), no knowledge
 * of tuning: the hook returns continue / stop / pause and the caller
 * decides.  Nothing allocates inside an epoch.  The live hyperparameters
 * (cfg.live: lr, momentum, nesterov, beta1, beta2, eps, weight_decay,
 * clip_norm; and t->lr_mult) are read at every step and may be changed
 * between runs or from the hook (they are re-checked after the hook);
 * other cfg fields are fixed after trainer_init.
 */
#ifndef TL_NN_TRAIN_H
#define TL_NN_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "nn/model.h"
#include "nn/optim.h"
#include "nn/schedule.h"
#include "util/err.h"
#include "util/rng.h"

enum train_lr_scaling { TRAIN_SCALE_NONE, TRAIN_SCALE_LINEAR, TRAIN_SCALE_SQRT, TRAIN_SCALE_COUNT };
enum train_monitor { TRAIN_MONITOR_VAL_LOSS, TRAIN_MONITOR_VAL_ACC, TRAIN_MONITOR_COUNT };

/* Why trainer_run returned. */
enum train_status {
    TRAIN_NOT_STARTED,
    TRAIN_BUDGET_REACHED,  /* epoch == until_epoch < cfg.epochs: may continue */
    TRAIN_PAUSED,          /* the hook said pause: may continue */
    TRAIN_STOPPED_BY_HOOK, /* the hook said stop (pruned) */
    TRAIN_COMPLETED,       /* epoch == cfg.epochs (final) */
    TRAIN_EARLY_STOPPED,   /* patience ran out (final) */
    TRAIN_DIVERGED,        /* NaN/inf loss or gradient norm (final); see reason */
    TRAIN_STATUS_COUNT
};

/* The hook's answer. */
enum train_decision { TRAIN_CONTINUE, TRAIN_STOP, TRAIN_PAUSE, TRAIN_DECISION_COUNT };

/* Names: "none|linear|sqrt", "val_loss|val_acc", "completed", ... ; "?" if
 * out of range. */
const char *train_scaling_str(int s);
const char *train_monitor_str(int m);
const char *train_status_str(int s);
/* Parse the names above; 0 or TL_EINPUT listing the valid names. */
int train_scaling_parse(const char *name, int *s, tl_err *err);
int train_monitor_parse(const char *name, int *m, tl_err *err);

/* The live hyperparameters: the values a running trial may change between
 * steps (PBT explore, pbt-replay), kept as one record so that the trainer,
 * its copies and its checkpoints move them with one assignment.  opt.lr is
 * the peak lr before batch scaling, schedule and multiplier; each step hands
 * opt to the optimizer with lr replaced by that step's rate. */
typedef struct train_live {
    optim_hparams opt;      /* lr, weight_decay (decay tensors only), momentum and
                               nesterov (SGD), beta1, beta2, eps (AdamW) */
    double clip_norm;       /* global-norm clipping, 0 = off */
} train_live;

typedef struct train_config {
    int optimizer;          /* enum optim_kind */
    train_live live;        /* read at every step; may change while training */
    sched_config sched;
    int epochs;             /* the full budget; the schedule spans it */
    int batch_size;         /* micro-batch, <= model max_batch */
    int accum_steps;        /* micro-batches per optimizer step */
    int lr_scaling;         /* enum train_lr_scaling */
    int base_batch_size;    /* reference batch of lr; 0 = the effective batch */
    int patience;           /* early stopping after this many bad epochs; 0 = off */
    double min_delta;       /* an improvement must beat best by more than this */
    int monitor;            /* enum train_monitor */
    int restore_best;       /* restore the best parameters when the run ends */
    uint64_t seed;
} train_config;

/* PyTorch-like defaults: adamw, lr 1e-3, momentum 0.9, betas (0.9, 0.999),
 * eps 1e-8, weight_decay 0.01, no clipping, constant schedule, 10 epochs,
 * batch 64, accum 1, no scaling, patience 0, monitor val_loss,
 * restore_best 1, seed 0.  Cannot fail. */
void train_config_default(train_config *c);

/* Checks every field.  Returns 0 or TL_EINPUT naming the key. */
int train_config_check(const train_config *c, tl_err *err);

/* batch_size * accum_steps. */
int train_effective_batch(const train_config *c);
/* cfg.live.opt.lr times the batch-size scaling factor (the schedule's peak lr, before
 * the multiplier): what the CLI prints as "effective lr". */
double train_scaled_lr(const train_config *c);

/* Passed to the hook once per evaluation (end of each epoch). */
typedef struct train_event {
    int epoch;              /* epochs completed: 1 after the first */
    long step;              /* optimizer steps completed */
    double train_loss;      /* mean over the epoch's training samples (tokens) */
    double val_loss;        /* mean over the val samples (tokens); NAN without val */
    double val_acc;         /* fraction of correct argmax; NAN without val */
    double lr;              /* lr of the epoch's last step */
    double grad_norm;       /* mean pre-clip gradient norm over the epoch */
    double samples_per_sec; /* training throughput of the epoch */
    double elapsed;         /* seconds spent in trainer_run so far (all runs) */
    double best_metric;     /* best monitored value so far */
    int best_epoch;         /* epoch of best_metric */
    int is_best;            /* this epoch improved on the best */
} train_event;

typedef struct trainer trainer;

/* Called once per evaluation; returns enum train_decision.  May change the
 * live hyperparameters of t (see above); must not free or copy into t. */
typedef int (*train_hook)(trainer *t, const train_event *ev, void *ud);

/* Per optimizer step, for progress display. */
typedef struct train_progress {
    int epoch;              /* 0-based epoch in progress */
    long step;              /* optimizer steps completed */
    long step_in_epoch;     /* 1-based */
    long steps_per_epoch;
    double loss;            /* mean loss of this step's micro-batches */
    double lr;
    double grad_norm;
} train_progress;
typedef void (*train_progress_fn)(const train_progress *p, void *ud);

/* One row of history per epoch. */
typedef struct train_record {
    int epoch;
    long step;
    double train_loss, val_loss, val_acc, lr, grad_norm, elapsed;
} train_record;

/* Data parallelism across processes (optional; set after trainer_init and
 * not copied by trainer_copy): every process draws the same micro-batches
 * (same rng) and takes rows [B*rank/size, B*(rank+1)/size) of each; its
 * backward is scaled by its share of the rows, and at the end of the
 * step's micro-batches `reduce` must replace grads (n floats) and sums
 * (nsums doubles: the loss sums) by their totals over all processes, the
 * same bits on every process (then every optimizer step is identical).
 * x_row: floats per sample in nn_batch.x (classification).  Dropout masks
 * depend on (seed, step, micro-batch, row of the whole batch), not on the
 * process (nn_batch.row0), so with dropout too the run equals the
 * one-process run up to float rounding.  Process 0 alone evaluates after
 * each epoch and its hook's decision counts: `share` must replace d (n
 * doubles) on every process by process 0's (the others skip the
 * evaluation, wait, and take its loss, accuracy and decision, so early
 * stopping and the best epoch agree everywhere; share NULL: every process
 * evaluates and decides alone).  reduce and share are collective; they
 * return 0, or nonzero to stop training with an error. */
typedef struct train_dp {
    int rank, size;         /* size <= 1: one process */
    int x_row;
    int (*reduce)(void *ud, float *grads, size_t n, double *sums, int nsums);
    int (*share)(void *ud, double *d, int n);
    void *ud;
} train_dp;

struct trainer {
    nn_model *model;        /* not owned */
    train_config cfg;
    optim opt;
    rng rng;                /* training draws: shuffles, windows (dropout: train.c, per micro-batch) */
    long step;              /* optimizer steps completed (schedule position) */
    int epoch;              /* epochs completed (schedule position) */
    double lr_mult;         /* run-time multiplier (PBT), 1 */
    double last_lr;         /* lr of the last step (scaled lr before any) */
    int status;             /* enum train_status */
    char reason[160];       /* why it diverged, "" otherwise */
    /* early stopping */
    int has_best;           /* best_metric is set */
    double best_metric;
    int best_epoch;
    int bad_epochs;
    float *best_params;     /* (nparams) params at best_epoch; NULL if !restore_best */
    /* history, one record per epoch */
    train_record *hist;
    int nhist, cap_hist;
    double elapsed;
    /* per-run */
    sched sched;
    long steps_per_epoch;
    train_progress_fn progress;
    void *progress_ud;
    train_dp dp;            /* data parallelism; zeroed (one process) by trainer_init */
};

/* Initializes t to train m with c: checks c (and batch_size <= max_batch),
 * allocates optimizer state, best-parameter copy and history, seeds the rng.
 * Returns 0; TL_EINPUT for a bad config (t left freed); TL_ERUNTIME when out
 * of memory.  m stays owned by the caller and must outlive t. */
int trainer_init(trainer *t, nn_model *m, const train_config *c, tl_err *err);

/* Frees what t owns (not the model); NULL is a no-op. */
void trainer_free(trainer *t);

/* Sets the per-step progress callback (NULL to remove).  Cannot fail. */
void trainer_set_progress(trainer *t, train_progress_fn fn, void *ud);

/* Trains from the current epoch until epoch == until_epoch (<= 0: cfg.epochs;
 * more than cfg.epochs is an error), an early stop, divergence, or the hook
 * returning stop or pause.  hook and val may be NULL (then early stopping
 * and the best state follow the train loss; monitor val_acc needs val).
 * Returns 0 with t->status telling why it ended (a divergence is a status,
 * not an error), TL_EINPUT for bad arguments or hyperparameters set by the
 * hook, TL_ERUNTIME for a batch the model cannot take.  On a final status
 * (completed, early stopped, diverged) the best parameters are restored if
 * cfg.restore_best; a run on a finished trainer returns at once. */
int trainer_run(trainer *t, nn_batch_src *train, nn_batch_src *val, int until_epoch,
                train_hook hook, void *ud, tl_err *err);

/* Evaluates the model on the whole of src in eval mode with the eval rng.
 * Fills *loss (mean over samples/tokens) and *acc; NAN for an empty source.
 * Returns 0, or TL_ERUNTIME for a batch the model cannot take. */
int trainer_evaluate(trainer *t, nn_batch_src *src, double *loss, double *acc, tl_err *err);

/* Copies src into dst: params, model dropout, optimizer state, rng, counters,
 * lr multiplier, config, status, early-stopping state, best parameters and
 * history.  dst must have been initialized on a model of the same
 * architecture (nparams and tensor table) and optimizer; dst->model and its
 * progress callback stay.  The copy then continues bit-identically to src.
 * Returns 0, TL_EINPUT on an architecture or optimizer mismatch (dst
 * untouched), TL_ERUNTIME when out of memory growing dst's history. */
int trainer_copy(trainer *dst, const trainer *src, tl_err *err);

/* Restores the best parameters into the model if there are any.  Returns 1
 * if it did, 0 otherwise.  Cannot fail. */
int trainer_restore_best(trainer *t);

/* The lr the next step would use (after scaling, schedule and multiplier),
 * or the scaled lr before the first run.  Cannot fail. */
double trainer_lr(const trainer *t);

/* Checks that a and b have the same architecture (nparams, tensor names,
 * offsets, sizes, shapes, decay flags).  Returns 0 or TL_EINPUT naming the
 * first difference, prefixed with `what`. */
int train_same_arch(const nn_model *a, const nn_model *b, const char *what, tl_err *err);

/* ---- LR range test ---- */
typedef struct train_lr_find_result {
    int n;                  /* steps run (<= nsteps) */
    double *lr;             /* (n) lr of each step */
    double *loss;           /* (n) raw loss of each step */
    double *smooth;         /* (n) bias-corrected exponential moving average */
    double suggestion;      /* lr at the steepest descent of smooth (see below) */
    double lr_min_div10;    /* lr at the smallest smooth loss, divided by 10 */
    int stopped_early;      /* smooth loss exceeded 4x its best */
} train_lr_find_result;

/* Sweeps the lr exponentially from lo to hi over nsteps optimizer steps of
 * t's optimizer (no schedule, no multiplier), cycling through `train`, and
 * records the loss of each step and its smoothed value
 * (avg = beta*avg + (1-beta)*loss, smooth = avg / (1 - beta^(i+1))).  Stops
 * early when smooth > 4 * best smooth, or on a NaN/inf loss.  The suggestion
 * is the lr where smooth falls fastest per unit of log(lr) (central
 * differences), searched between the first step and the minimum of smooth;
 * when the minimum comes before step 2 it falls back to lr_min_div10.
 * Changes t's parameters and optimizer state: run it on a fresh trainer and
 * throw that away.  Returns 0, TL_EINPUT for bad arguments (0 < lo < hi,
 * nsteps >= 3, 0 <= beta < 1), TL_ERUNTIME when out of memory; *out is
 * then empty.  *out is overwritten (free an earlier result first) and owns
 * its arrays: train_lr_find_free. */
int trainer_lr_find(trainer *t, nn_batch_src *train, double lo, double hi, int nsteps,
                    double beta, train_lr_find_result *out, tl_err *err);

/* Frees r's arrays; NULL is a no-op. */
void train_lr_find_free(train_lr_find_result *r);

/* ---- threads ---- */

/* Sets flush-to-zero and denormals-are-zero in every thread of an OpenMP
 * team and in the calling thread (trainer_run does this at its start).
 * No-op without SSE.  Cannot fail. */
void train_enable_ftz(void);

/* Writes a one-line description of the thread layout (OpenMP threads and
 * whether inside a parallel region, OpenBLAS threads, parallel mode and
 * build config) into buf (n bytes, always terminated).  Returns buf. */
char *train_thread_layout(char *buf, size_t n);

/* The OpenMP threads a training step started here runs on: 1 inside an
 * active parallel region (a study worker; nested parallelism is off),
 * else omp_get_max_threads().  Results are bit for bit the same for the
 * same count on the same OpenBLAS kernels (README.md). */
int train_threads_here(void);

#endif
