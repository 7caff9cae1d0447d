/* tune/session.h: turns a config into a dataset, a model and a trainer.
 *
 * task_data is loaded once per process and shared read-only by every trial
 * (the datasets and their train/validation/test views).  A session is one
 * training run: its own model, trainer and batch sources over the shared
 * views, so several sessions train side by side in one process.
 */
#ifndef TL_CLI_SESSION_H
#define TL_CLI_SESSION_H

#include "tune/config.h"
#include "data/dataset.h"
#include "nn/gpt.h"
#include "nn/mlp.h"
#include "nn/model.h"
#include "nn/train.h"

typedef struct task_data {
    dataset *train_set;     /* owned */
    dataset *test_set;      /* owned; NULL when the dataset has no test set */
    data_view train, val, test;
    int is_text;
    int in_dim, nclass, vocab;
} task_data;

/* Loads the data the config names and splits it.  Returns 0 or a tl_code
 * (TL_EINPUT names the file). */
int task_data_load(const config *c, task_data *d, tl_err *err);
void task_data_free(task_data *d);

typedef struct batch_src batch_src;

typedef struct session {
    nn_model *model;
    trainer tr;
    int has_trainer;
    batch_src *train_src, *val_src, *test_src;
    size_t nparams;
} session;

/* Builds the model, trainer and sources for c over d (d must outlive the
 * session).  Returns 0, TL_EINPUT for a config the model rejects (message
 * names the key), TL_ERUNTIME for memory. */
int session_new(session *s, const config *c, const task_data *d, tl_err *err);
void session_free(session *s);

/* The train, val and test sources (test may be NULL). */
nn_batch_src *session_train(session *s);
nn_batch_src *session_val(session *s);
nn_batch_src *session_test(session *s);

/* The model configs c describes over d.  session_mlp_config returns 0 or
 * TL_EINPUT naming the key (too many layers, unknown activation). */
int session_mlp_config(const config *c, const task_data *d, mlp_config *m, tl_err *err);
void session_gpt_config(const config *c, const task_data *d, gpt_config *g);

/* Fills a train_config from c.  Returns 0 or TL_EINPUT naming the key. */
int session_train_config(const config *c, train_config *tc, tl_err *err);

/* Gives the running session s the values of c that may change while a
 * trial trains (PBT explore, pbt-replay): the trainer's live
 * hyperparameters (train_live: lr, weight_decay, momentum, nesterov, beta1,
 * beta2, eps, clip_norm) and, when it differs from was->dropout, the model's
 * dropout.  Checks nothing (trainer_run checks the live values before it
 * trains).  Cannot fail. */
void session_apply_live(session *s, const config *was, const config *c);

/* A short architecture description: "mlp 784-256-256-10 relu" or
 * "gpt L4 H4 d128 ctx64 V96". */
void session_describe(const config *c, const task_data *d, char *buf, size_t n);
#endif
