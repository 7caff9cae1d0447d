/* nn/model.h: the model interface the training loop, the optimizers and the
 * checkpoints see.  Shapes: B batch, T time (1 for classification), D input
 * features, K classes, V vocab.
 *
 * A model owns one contiguous buffer of parameters and one of gradients,
 * carved into named tensors (the table below), and preallocates its
 * activations for `max_batch` samples (sequences) at build time: nothing
 * allocates in forward or backward but the batch-split path's per-thread
 * gradient buffers, once per larger thread count (nn/ops.h).  Optimizers, zero-grad, checkpoints and
 * PBT weight copies work on the flat buffers.
 *
 * This header does not know any dataset: batches arrive through the small
 * nn_batch_src iterator that tune/ implements on top of data/.
 */
#ifndef TL_NN_MODEL_H
#define TL_NN_MODEL_H

#include <stddef.h>

#include "util/err.h"
#include "util/rng.h"

enum nn_act { NN_RELU, NN_GELU, NN_ACT_COUNT };
/* "relu" or "gelu"; "?" out of range. */
const char *nn_act_str(int act);

typedef struct nn_tensor {
    char name[48];
    size_t offset;      /* into params / grads, in floats */
    size_t size;        /* number of floats */
    int ndim;
    int shape[4];
    int decay;          /* 1: weight decay applies (matrices); 0: biases, norms */
} nn_tensor;

/* One batch.  Classification: x (B, D) floats and targets (B) labels, T = 1.
 * Text: tokens (B, T) and targets (B, T) next-token ids, x = NULL.
 * row0: the index of row 0 in the whole batch when this is one process's
 * slice of it (data parallelism), 0 otherwise: a training forward keys
 * each row's dropout mask by (a draw from its rng, row0 + row), so a
 * sample gets the same mask whichever process runs it. */
typedef struct nn_batch {
    int B, T;
    const float *x;
    const int *tokens;
    const int *targets;
    long row0;
} nn_batch;

typedef struct nn_model nn_model;

/* What a fused training step (nn_model_vt.train_step) runs after the
 * backward: fn(ctx, tm) on every thread of the step's team (nn/ops.h
 * nn_team, with its chunk counter at 0), the gradients complete. */
struct nn_team;
typedef struct nn_step_post {
    void (*fn)(void *ctx, struct nn_team *tm);
    void *ctx;
} nn_step_post;

typedef struct nn_model_vt {
    /* Forward pass and mean softmax cross-entropy over the B*T targets.
     * training=1 applies dropout (one draw from r per dropout site, the
     * mask of each row keyed by it and b->row0 + row) and keeps the activations
     * that backward needs.  If ncorrect is not NULL it receives the number of
     * argmax predictions equal to their target.  b->B <= max_batch. */
    float (*forward)(nn_model *m, const nn_batch *b, int training, rng *r, long *ncorrect);
    /* Backward pass of the last training forward on the same batch; ADDS
     * scale * d(mean loss)/d(param) into m->grads (scale = 1/accum_steps
     * for gradient accumulation). */
    void (*backward)(nn_model *m, const nn_batch *b, float scale);
    /* Optional (NULL: not offered).  A whole training step in one parallel
     * region: the training forward of b with r's dropout masks, as forward;
     * then, when its mean loss (*loss) is finite, the backward, which
     * WRITES scale * d(mean loss)/d(param) into m->grads (no zeroing
     * needed before); then post->fn, called by every thread of the same
     * team.  Returns 1 when it ran, 0 when this model declines for this
     * batch (the shapes or the thread count do not suit its fused path):
     * then nothing has changed, r included, and the caller runs forward,
     * backward and its update itself. */
    int (*train_step)(nn_model *m, const nn_batch *b, rng *r, float scale,
                      const struct nn_step_post *post, float *loss);
    /* Dropout probability may change between steps (PBT). */
    void (*set_dropout)(nn_model *m, float p);
    /* Releases the concrete model (m->self); nn_model_free frees the rest. */
    void (*free)(nn_model *m);
} nn_model_vt;

struct nn_model {
    const nn_model_vt *vt;
    void *self;              /* the concrete model (mlp, gpt) */
    float *params;           /* (nparams) */
    float *grads;            /* (nparams) */
    size_t nparams;
    nn_tensor *tensors;
    int ntensors;
    int max_batch;           /* samples (classification) or sequences (text) */
    int is_text;             /* 1 for token models */
    float dropout;
};

/* Sets every gradient to zero (one memset). */
void nn_zero_grad(nn_model *m);

/* Frees m and everything it owns; NULL is a no-op. */
void nn_model_free(nn_model *m);

/* ---- Batch iterator: implemented by the caller (cli/ wires data/). ---- */
typedef struct nn_batch_src {
    void *self;
    /* Starts a new epoch: reshuffles with r.  May be NULL. */
    void (*reset)(void *self, rng *r);
    /* Fills b with the next batch of at most `max_b` samples, drawing from r
     * where the source samples at random (text windows).  Returns the batch
     * size, 0 at the end of the epoch.  The buffers stay valid until the
     * next call. */
    int (*next)(void *self, nn_batch *b, int max_b, rng *r);
    /* Samples (or sequences) per epoch. */
    long (*count)(void *self);
} nn_batch_src;

#endif
