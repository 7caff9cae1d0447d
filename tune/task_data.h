/* tune/task_data.h: the data a config names, loaded once per process and
 * shared read-only by every trial: the datasets and their train,
 * validation and test views.
 *
 * Does: load Fashion-MNIST, a folder of images, a text file or a synthetic
 * set (data/), split off the validation fraction with data.seed, apply the
 * train/val/test limits, check text views against the context length, and
 * write the views' rows to data.split_file when set (so that a peer, e.g.
 * scripts/race_optuna.py, trains and validates on the very same rows).
 * Does not: build batches (tune/session.c does, per session) or models.
 */
#ifndef TL_TUNE_TASK_DATA_H
#define TL_TUNE_TASK_DATA_H

#include "data/dataset.h"
#include "tune/config.h"
#include "util/err.h"

typedef struct task_data {
    dataset *train_set;     /* owned */
    dataset *test_set;      /* owned; NULL when the dataset has no test set */
    data_view train, val, test;
    int is_text;
    int in_dim, nclass, vocab;
} task_data;

/* Loads the data c names and splits it into d (overwritten); with
 * data.split_file set, writes the split there (task_data_write_split).
 * Returns 0, TL_EINPUT naming the file or key (missing file, data.path
 * required, a text view shorter than the context, an unwritable
 * data.split_file), TL_ERUNTIME for memory; d is then empty.  d owns what
 * it holds: task_data_free. */
int task_data_load(const config *c, task_data *d, tl_err *err);

/* Writes d's split to path as one JSON object: "format": "tunelab-split",
 * "version": 1, the dataset, data.path, data.seed, data.val_fraction and
 * the three limits; for a classification set "rows" and "test_rows" (the
 * sizes of the loaded training and test sets) and "train", "val" and
 * "test": the 0-based row numbers of each view in the order the trainer
 * holds them (after the limits; for Fashion-MNIST, rows of the train-* and
 * t10k-* IDX files); for text "train_tokens" and "val_tokens" as [begin,
 * end).  The same config gives the same bytes.  Written to a temporary
 * file beside path, then renamed.  Returns 0 or TL_EINPUT naming path and
 * the system's reason (folder missing, not writable); path is then
 * untouched. */
int task_data_write_split(const config *c, const task_data *d, const char *path, tl_err *err);

/* Mean unigram entropy of the validation text in nats per character (the
 * loss of a model that ignores context); NAN when d is not text.  Cannot
 * fail. */
double task_data_unigram_entropy(const task_data *d);

/* Frees what d owns and empties it; NULL is a no-op. */
void task_data_free(task_data *d);

#endif
