/* nn/optim.h: optimizers over a model's flat parameter buffer.
 * Shapes: N = nparams (every buffer below is (N) floats).
 *
 * What it does: SGD with momentum (optionally Nesterov) and AdamW, both with
 * PyTorch 1.13 semantics, and gradient clipping by global L2 norm.  Weight
 * decay applies only to tensors with nn_tensor.decay == 1; the decay mask is
 * resolved once at init into runs of consecutive tensors.  A step (SGD or
 * AdamW) is one pass over all N parameters in one parallel region, in
 * fixed chunks of [0, N) whatever runs they cross (OpenMP-parallel
 * from OPTIM_PAR_MIN elements, serial below so small models do not pay for
 * a thread team).  The compiler vectorizes the
 * SGD loops; AdamW's blocks of 8 use AVX where available (same bits as the
 * scalar formula, so the slicing changes no result).
 *
 *   SGD   (torch.optim.SGD, dampening 0):
 *         d = g + wd*p            (coupled L2 decay, decay tensors only)
 *         b = d on the first momentum step, else b = mu*b + d
 *         d = d + mu*b (Nesterov) or d = b;   p -= lr*d
 *   AdamW (torch.optim.AdamW):
 *         p *= 1 - lr*wd          (decoupled decay, decay tensors only)
 *         m = b1*m + (1-b1)*g;  v = b2*v + (1-b2)*g*g
 *         p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)
 *
 * Hyperparameters arrive with every step (optim_hparams), so a running trial
 * may change them between steps (PBT).  The state is one contiguous buffer
 * per role (SGD momentum in m; AdamW first moment m and second moment v) and
 * the step count t, so copying or checkpointing an optimizer is two memcpys.
 *
 * What it does not do: no allocation after optim_init, no per-parameter
 * groups beyond the decay mask, no AMSGrad, no dampening.  Elementwise
 * updates give the same bits for any thread count; the norm reduction uses
 * fixed chunks summed in order, so it does too.
 */
#ifndef TL_NN_OPTIM_H
#define TL_NN_OPTIM_H

#include <stddef.h>

#include "nn/model.h"
#include "util/err.h"

enum optim_kind { OPTIM_SGD, OPTIM_ADAMW, OPTIM_COUNT };

/* Below this many elements a loop runs serially. */
#define OPTIM_PAR_MIN 65536
/* Elements per partial sum of the gradient-norm reduction (fixed, so the
 * result does not depend on the thread count). */
#define OPTIM_NORM_CHUNK 8192
/* A step's work units (optim_pass in optim.c): chunks of this many
 * parameters, taken by the threads as they come, and the last
 * OPTIM_STEP_TAIL parameters, which thread 0 updates after the others are
 * done (multiples of 16 floats: cache lines stay with one thread). */
#define OPTIM_STEP_CHUNK 16384
#define OPTIM_STEP_TAIL 2048

/* The name of an optim_kind ("sgd", "adamw"), "?" if out of range. */
const char *optim_str(int kind);

/* Parses "sgd" or "adamw" into *kind.  Returns 0, or TL_EINPUT with a
 * message listing the valid names. */
int optim_parse(const char *name, int *kind, tl_err *err);

/* The hyperparameters of one step; any may change between steps. */
typedef struct optim_hparams {
    double lr;
    double weight_decay;
    double momentum;      /* SGD */
    int nesterov;         /* SGD: 1 for Nesterov momentum (needs momentum > 0) */
    double beta1, beta2;  /* AdamW */
    double eps;           /* AdamW */
} optim_hparams;

/* A run of consecutive parameters sharing one decay flag. */
typedef struct optim_run {
    size_t offset, size;
    int decay;
} optim_run;

typedef struct optim {
    int kind;             /* enum optim_kind */
    size_t n;             /* nparams */
    long t;               /* optimizer steps taken */
    int mom_valid;        /* SGD: m holds a momentum buffer (torch's buffer is not None) */
    float *m;             /* (N) SGD momentum / AdamW first moment */
    float *v;             /* (N) AdamW second moment; NULL for SGD */
    optim_run *runs;      /* (nruns) decay mask as runs */
    int nruns;
    double *partial;      /* (nchunks) scratch of the norm reduction */
    size_t nchunks;
} optim;

/* Sets up o for model m's parameter table: allocates the state (zeroed) and
 * resolves the decay mask.  Returns 0, TL_EINPUT for a bad kind or an
 * inconsistent tensor table (message names the tensor), TL_ERUNTIME when
 * out of memory (o is then left freed).  o owns its buffers: optim_free. */
int optim_init(optim *o, int kind, const nn_model *m, tl_err *err);

/* Frees o's buffers and zeroes o; NULL is a no-op. */
void optim_free(optim *o);

/* Checks h for kind: lr > 0, weight_decay >= 0, 0 <= momentum < 1, Nesterov
 * only with momentum > 0, 0 <= beta < 1, eps > 0, all finite.  Returns 0 or
 * TL_EINPUT naming the key ("train.lr: must be > 0 (got -1)"). */
int optim_hparams_check(int kind, const optim_hparams *h, tl_err *err);

/* Global L2 norm of grads (N), accumulated in double in fixed chunks, and,
 * if max_norm > 0, scales grads by max_norm/(norm + 1e-6) when that is < 1
 * (torch.nn.utils.clip_grad_norm_).  Returns the norm before clipping; NaN
 * or inf when a gradient is not finite (grads are then left untouched).
 * Cannot fail; allocates nothing. */
double optim_clip_grad_norm(optim *o, float *grads, double max_norm);

/* One update of params (N) from grads (N) with h; increments o->t.  The
 * caller has checked h (optim_hparams_check).  Cannot fail; allocates
 * nothing. */
void optim_step(optim *o, float *params, const float *grads, const optim_hparams *h);

struct nn_team;

/* optim_clip_grad_norm(o, grads, max_norm) and then, when the norm is
 * finite, optim_step(o, params, grads, h), run by every thread of the
 * current team (nn/ops.h nn_team, initialized before the region; outside a
 * region a team of one): the norm's chunks and the step's chunks are taken
 * as the threads come, with two team barriers.  The same bits as the two
 * calls.  Returns the pre-clip norm on every thread; when it is not
 * finite, nothing is changed.  Lets a model run a whole training step in
 * one parallel region (nn/model.h train_step). */
double optim_clip_step_team(optim *o, float *params, float *grads, const optim_hparams *h,
                            double max_norm, struct nn_team *tm);

/* The same in a parallel region of its own (serial below OPTIM_PAR_MIN):
 * one region per step where the two calls open two or three. */
double optim_clip_step(optim *o, float *params, float *grads, const optim_hparams *h,
                       double max_norm);

/* Copies src's state (t, m, v) into dst, which must have been initialized
 * for the same kind and nparams.  Returns 0 or TL_EINPUT on a mismatch. */
int optim_copy(optim *dst, const optim *src, tl_err *err);

/* Number of state buffers of kind: 1 (SGD) or 2 (AdamW). */
int optim_nstate(int kind);

#endif
