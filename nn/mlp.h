/* nn/mlp.h: a multilayer perceptron classifier behind the nn_model interface.
 * Shapes: B batch, D = in_dim input features, H hidden widths, K = out_dim
 * classes.
 *
 * x (B,D) -> [linear -> ReLU|GELU -> dropout] x nhidden -> linear -> logits
 * (B,K) -> mean softmax cross-entropy.  Weights use nn.Linear's (out, in)
 * layout and init (uniform(+-1/sqrt(fan_in)) for weights and biases, as
 * PyTorch's default), so a run compares to PyTorch.  Tensors, in order:
 * fc0.weight (H0,D), fc0.bias (H0), fc1.weight ..., fcL.bias (K) where L =
 * nhidden; weights decay (decay = 1), biases do not.
 *
 * Dropout is inverted dropout after every hidden activation, its mask drawn
 * from the rng passed to forward.  Not here: batch norm, other losses,
 * input dropout.
 */
#ifndef TL_NN_MLP_H
#define TL_NN_MLP_H

#include <stddef.h>

#include "nn/model.h"
#include "util/err.h"
#include "util/rng.h"

#define MLP_MAX_HIDDEN 16

typedef struct mlp_config {
    int in_dim;                  /* D >= 1 */
    int nhidden;                 /* 0..MLP_MAX_HIDDEN hidden layers */
    int hidden[MLP_MAX_HIDDEN];  /* their widths, each >= 1 */
    int out_dim;                 /* K >= 2 classes */
    int act;                     /* enum nn_act */
    float dropout;               /* in [0, 1) */
} mlp_config;

/* Checks c and max_batch (>= 1): returns 0, or TL_EINPUT with a message
 * naming the key, such as "model.hidden: layer 2 has width 0, must be >= 1". */
int mlp_check(const mlp_config *c, int max_batch, tl_err *err);

/* Number of parameters of c (weights and biases); 0 if c is invalid.
 * Cannot fail otherwise. */
size_t mlp_param_count(const mlp_config *c);

/* Forward FLOPs per sample of c: 2 per multiply-add of the linear layers,
 * 2 * (D*H0 + H0*H1 + ... + H(L-1)*K); biases, activations, dropout and the
 * loss are not counted.  0 if c is invalid.  Cannot fail otherwise. */
double mlp_flops(const mlp_config *c);

/* Builds an MLP for batches of up to max_batch samples, initialized from
 * init (advanced by nparams draws).  On success returns 0 and *out owns the
 * model (free with nn_model_free).  Returns TL_EINPUT for a bad config (see
 * mlp_check), TL_ERUNTIME when out of memory; *out is then NULL. */
int mlp_create(const mlp_config *c, int max_batch, rng *init, nn_model **out, tl_err *err);

/* The config m was built with, or NULL if m is not an MLP.  Owned by m. */
const mlp_config *mlp_config_of(const nn_model *m);

/* Hidden layer l's output (after activation and dropout) of the last
 * forward, (B, hidden[l]); NULL if m is not an MLP or l is out of range.
 * Owned by m, overwritten by the next forward. */
const float *mlp_hidden(const nn_model *m, int l);

/* The logits (B,K) of the last forward; NULL if m is not an MLP.  Owned by
 * m, overwritten by the next forward. */
const float *mlp_logits(const nn_model *m);

/* Kernel path of forward and backward: enum nn_path (nn/ops.h).  AUTO
 * splits the batch when each thread gets at least MLP_SPLIT_MIN_ROWS
 * samples: below that every thread would pack every weight matrix for a
 * few rows (on a 2-core AMD EPYC, Zen 3: split/plain 0.87 at 16 rows per
 * thread, 1.20 at 64, 1.27 at 512).  SERIAL (nn/ops.h) only when set.
 * Ignored if m is not an MLP or path is out of range. */
#define MLP_SPLIT_MIN_ROWS 32
/* Below MLP_SPLIT_MIN_ROWS rows per thread AUTO takes the column split
 * path (NN_PATH_COLS, chunks of MLP_COLS_CHUNK columns) when every hidden
 * layer has at least one chunk per thread and a forward has at least this many multiply-adds (batch x the sum of
 * din x dout): below it the team's wake-up costs more than half the
 * products saves. */
#define MLP_COLS_MIN_MACS (4.0 * 1024 * 1024)
#define MLP_COLS_CHUNK 64
void mlp_set_path(nn_model *m, int path);

/* The path the last forward took: NN_PATH_PLAIN, NN_PATH_SPLIT or
 * NN_PATH_SERIAL (NN_PATH_AUTO before any forward, or if m is not an MLP). */
int mlp_last_path(const nn_model *m);

/* Parses "relu" or "gelu" into *act.  Returns 0, or TL_EINPUT naming the
 * valid choices. */
int mlp_act_parse(const char *name, int *act, tl_err *err);

#endif
