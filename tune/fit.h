/* tune/fit.h: one model trained from a config outside any study: the work
 * behind `tunelab train`, `tunelab schedule` and `tunelab lr-find`.
 *
 * A fit owns a copy of the run's config, its data (task_data), its session
 * (model, trainer, batch sources) and the config's INI text, which every
 * checkpoint stores so that `--resume` rebuilds the same run.
 *   fit_run      trains epoch by epoch up to a budget, calls the caller's
 *                epoch callback (which prints), then writes the checkpoint;
 *   fit_finish   evaluates the result (validation, and test at the end);
 *   fit_schedule tabulates the learning rate of every step of the run;
 *   fit_lr_find  runs the learning-rate range test on the fresh model.
 * Same config, seed and threads: same numbers, bit for bit.
 *
 * Does not: print, parse arguments, or set the thread count (the program
 * does, from train.threads).
 */
#ifndef TL_TUNE_FIT_H
#define TL_TUNE_FIT_H

#include <stddef.h>

#include "tune/config.h"
#include "tune/session.h"
#include "tune/task_data.h"

typedef struct fit {
    config cfg;             /* the run's resolved config */
    task_data data;
    session s;
    char *ini;              /* cfg as INI text: what every checkpoint stores */
    const char *ckpt;       /* where each epoch's checkpoint goes (train.checkpoint, else the
                               resumed file); NULL: none.  Borrowed */
    int resumed;            /* opened from a checkpoint */
    int ckpt_failed;        /* fit_run stopped because a checkpoint could not be written */
    train_lr_find_result sweep; /* fit_lr_find's result */
} fit;

/* Loads the data c names, builds the model and trainer, and with `resume`
 * (NULL: a fresh run) restores the trainer saved there.  c is copied; resume
 * is borrowed and must outlive f.  Returns 0, TL_EINPUT naming the file or
 * key (data, model config, a checkpoint that does not fit; a train.checkpoint
 * that cannot be written, or that holds another file or another model's
 * checkpoint: fit_check_output), TL_ERUNTIME for
 * memory; f is then empty.  f owns what it holds: fit_close. */
int fit_open(fit *f, const config *c, const char *resume, tl_err *err);

/* fit_open with the checkpoint at `resume` already in memory (n bytes:
 * under mpirun, rank 0's file sent to every rank, mpi_world_bcast_file);
 * resume still names it in messages and as the place to go on saving. */
int fit_open_mem(fit *f, const config *c, const char *resume, const unsigned char *bytes, size_t n, tl_err *err);

/* Checks, before any work, that an output file can be written at path:
 * not a folder, its folder exists and takes a new file, an existing file
 * is writable.  Changes nothing on disk.  `what` names the output in
 * messages ("train.checkpoint", "--plot").  Returns 0 or TL_EINPUT. */
int fit_check_output(const char *path, const char *what, tl_err *err);

/* Frees what f owns; NULL is a no-op. */
void fit_close(fit *f);

/* What `tunelab train` says about a run before it starts. */
typedef struct fit_info {
    char model[256];        /* "mlp 784-256-256-10 relu" (session_describe) */
    size_t nparams;
    long ntrain, nval, ntest;   /* samples, or tokens for text */
    int is_text;
    double unigram_entropy; /* text: nats/char of the validation text; NAN otherwise */
    int effective_batch;    /* batch_size * accum_steps */
    double effective_lr;    /* train.lr after the batch-size scaling */
    int epoch;              /* where training stands (a resumed run: the checkpoint's) */
    long step;
    char threads[256];      /* the thread layout (OpenMP, OpenBLAS) */
} fit_info;

/* Fills *info from f.  Cannot fail. */
void fit_describe(const fit *f, fit_info *info);

/* Called after each epoch's evaluation, before its checkpoint. */
typedef void (*fit_epoch_fn)(const train_event *ev, void *ud);

/* Trains f until epoch `until` (<= 0: train.epochs), an early stop, a
 * divergence (a status, see fit_finish) or a checkpoint that cannot be
 * written.  After every epoch calls on_epoch (may be NULL), then writes
 * f->ckpt when set.  progress (may be NULL) is called after every
 * optimizer step.  Returns 0; TL_ERUNTIME naming the checkpoint with
 * f->ckpt_failed = 1 when one could not be written (training stopped
 * there); or the trainer's errors (TL_EINPUT for an epoch beyond
 * train.epochs, TL_ERUNTIME for a bad batch). */
int fit_run(fit *f, int until, fit_epoch_fn on_epoch, train_progress_fn progress, void *ud, tl_err *err);

/* Where a run ended and how good it is. */
typedef struct fit_result {
    const char *status;     /* train_status_str: "completed", "budget_reached", ... */
    int diverged;           /* NaN or inf loss: reason says where */
    int can_continue;       /* the budget (--until) was reached before train.epochs */
    const char *reason;     /* borrowed from f; "" unless diverged */
    int epochs;             /* epochs trained */
    long steps;             /* optimizer steps */
    int best_epoch;         /* early stopping's best epoch (-1 when not tracked) */
    double val_loss, val_acc;   /* NAN after a divergence */
    double test_loss, test_acc; /* at a final status with a test set; NAN otherwise */
    size_t nparams;
    double seconds;         /* training time, all runs of the trainer */
} fit_result;

/* Evaluates f's model on the validation set (unless it diverged) and, when
 * the run is final (not can_continue), on the test set, and fills *r.
 * Evaluation failures leave NAN.  Cannot fail otherwise. */
void fit_finish(fit *f, fit_result *r);

/* The learning rate of every step of f's run (every epoch when
 * train.schedule_unit = epochs): batch-size scaling and schedule, no
 * multiplier. */
typedef struct fit_lr_row {
    long step;              /* optimizer step (per epoch: the epoch's first step) */
    int epoch;
    double lr;
} fit_lr_row;

typedef struct fit_lr_table {
    long steps_per_epoch;
    int epochs;
    int per_epoch;          /* one row per epoch */
    double lr0;             /* the scaled peak lr */
    int effective_batch;
    long n;
    fit_lr_row *rows;       /* (n), owned: fit_lr_table_free */
} fit_lr_table;

/* Fills *t (overwritten) for f's run.  Returns 0, TL_EINPUT for a schedule
 * the run's length cannot hold (sched_resolve), TL_ERUNTIME for memory. */
int fit_schedule(fit *f, fit_lr_table *t, tl_err *err);

/* Frees t's rows; NULL is a no-op. */
void fit_lr_table_free(fit_lr_table *t);

/* The learning-rate range test (trainer_lr_find with smoothing 0.95) on
 * f's fresh model: changes its weights, so run it on a fit of its own.
 * Returns 0 with *out pointing at the sweep, owned by f (until the next
 * fit_lr_find or fit_close), or the errors of trainer_lr_find. */
int fit_lr_find(fit *f, double lo, double hi, int steps, const train_lr_find_result **out, tl_err *err);

#endif
