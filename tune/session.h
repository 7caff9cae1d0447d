/* tune/session.h: turns a config and its data (tune/task_data.h) into a
 * model and a trainer.
 *
 * A session is one training run: its own model, trainer and batch sources
 * over the shared, read-only views of a task_data, so several sessions
 * train side by side in one process.
 */
#ifndef TL_TUNE_SESSION_H
#define TL_TUNE_SESSION_H

#include "tune/config.h"
#include "tune/task_data.h"
#include "nn/gpt.h"
#include "nn/mlp.h"
#include "nn/model.h"
#include "nn/train.h"

typedef struct session_src session_src;

typedef struct session {
    nn_model *model;
    trainer tr;
    int has_trainer;
    session_src *train_src, *val_src, *test_src;
    size_t nparams;
} session;

/* Builds the model (initialized from train.seed), trainer and batch
 * sources for c over d (d must outlive the session; c is not kept).
 * Returns 0, TL_EINPUT for a config the model or trainer rejects (message
 * names the key), TL_ERUNTIME for memory; s is then empty.  s owns what it
 * holds: session_free.  Sessions share nothing: two may train side by side
 * on different threads. */
int session_new(session *s, const config *c, const task_data *d, tl_err *err);

/* Frees what s owns (model, trainer, sources) and empties it; NULL and an
 * empty session are no-ops. */
void session_free(session *s);

/* The train, validation and test batch sources of s, owned by s (test:
 * NULL when the data has no test set).  Cannot fail. */
nn_batch_src *session_train(session *s);
nn_batch_src *session_val(session *s);
nn_batch_src *session_test(session *s);

/* The MLP config c describes over d (model.widths, else model.widthN or
 * model.hidden per layer).  Returns 0, or TL_EINPUT naming the key (too
 * many layers, unknown activation); err may be NULL.  Checks no sizes
 * (mlp_check does). */
int session_mlp_config(const config *c, const task_data *d, mlp_config *m, tl_err *err);

/* The GPT config c describes over d (d->vocab).  Checks nothing (gpt_check
 * does); cannot fail. */
void session_gpt_config(const config *c, const task_data *d, gpt_config *g);

/* Fills a train_config from c (names resolved to enums, the live
 * hyperparameters as one train_live).  Returns 0 or TL_EINPUT naming the
 * key, prefixed with c's source. */
int session_train_config(const config *c, train_config *tc, tl_err *err);

/* Gives the running session s the values of c that may change while a
 * trial trains (PBT explore, pbt-replay): the trainer's live
 * hyperparameters (train_live: lr, weight_decay, momentum, nesterov, beta1,
 * beta2, eps, clip_norm) and, when it differs from was->dropout, the model's
 * dropout.  Checks nothing (trainer_run checks the live values before it
 * trains).  Cannot fail. */
void session_apply_live(session *s, const config *was, const config *c);

/* ---- checkpoints (nn/ckpt.h) holding the run's config ---- */

/* Writes s's trainer (model, optimizer, position, history) and ini, the
 * run's resolved config as INI text (config_to_string), to path
 * atomically.  Returns 0 or TL_ERUNTIME naming the file (path untouched). */
int session_save(const session *s, const char *ini, const char *path, tl_err *err);

/* Loads the trainer state saved at path into s, which must have been built
 * from the config the checkpoint holds (session_config_of_ckpt).  Returns
 * 0, or TL_EINPUT naming the file and the problem (missing, damaged,
 * another architecture or optimizer); s is then untouched. */
int session_resume(session *s, const char *path, tl_err *err);

/* session_resume on the n bytes of a checkpoint file already in memory
 * (under mpirun, rank 0's file sent to every rank); name, the file's
 * path, prefixes the errors.  Returns as session_resume. */
int session_resume_mem(session *s, const unsigned char *bytes, size_t n, const char *name, tl_err *err);

/* Reads the config saved in the checkpoint at path into c: the defaults,
 * then the stored INI text (c->source = path).  Returns 0, the errors of
 * session_resume for a missing or damaged file, or TL_EINPUT from the
 * config text, with *bad_text (may be NULL) set to 1 then only. */
int session_config_of_ckpt(config *c, const char *path, int *bad_text, tl_err *err);

/* session_config_of_ckpt on the n bytes of a checkpoint file in memory;
 * name stands for the file in errors and in c->source. */
int session_config_of_ckpt_mem(config *c, const unsigned char *bytes, size_t n, const char *name, int *bad_text,
                               tl_err *err);

/* A short architecture description into buf (n bytes, always
 * terminated): "mlp 784-256-256-10 relu" or "gpt layers=4 heads=4
 * d_model=128 ctx=64 vocab=96 mlp_ratio=4".  Cannot fail. */
void session_describe(const config *c, const task_data *d, char *buf, size_t n);
#endif
