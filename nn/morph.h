/* nn/morph.h: network morphisms (Net2Net, Chen et al. 2016; network
 * morphism, Wei et al. 2016): fill a freshly built child model from a
 * trained parent of another shape so that, where it can be done exactly,
 * the child computes the parent's function before any training.
 * Shapes as in nn/mlp.h (D, H, K) and nn/gpt.h (C, L, NH, hs, F, V).
 *
 * The child must already be built (mlp_create / gpt_create) with its own
 * initialization: the morphism overwrites what it inherits and leaves the
 * child's fresh values where nothing is inherited (new LayerNorms, new
 * blocks' attention and MLP input weights).
 *
 * Optimizer moments (morph_apply_moments): for the MLP the parent's AdamW
 * moments (or SGD momentum) move with the weights, so the child's
 * optimizer continues the parent's: a kept or copied weight keeps its
 * moments, except that they follow the gradients of the wider net, which
 * computes the parent's function: a unit copied c times has output
 * gradient 1/c of the parent unit's, so its incoming weights' and bias'
 * first moment is / c and second moment / c^2, while each copy's
 * outgoing weight sees the parent's gradient and keeps its moments
 * (Adam's step m / sqrt(v) is the parent's for both).  New weights
 * (identity layers, an output layer folded with a dropped layer) start at
 * 0.  The GPT's moments are not transformed (info->moments = 0): the
 * caller resets them.
 *
 * Exact morphisms (child == parent to float rounding, tests/test_morph.c):
 *   MLP wider layer l: Net2WiderNet: child unit j < H copies parent unit j,
 *     an extra unit copies a random parent unit g(j) (incoming weights and
 *     bias); layer l+1's column of every copy of unit u is the parent's
 *     column u divided by the number of copies of u.
 *   MLP deeper: a new hidden layer before the output layer, W = I, b = 0.
 *     Exact with ReLU because its input, the previous layer's ReLU output,
 *     is already non-negative, so ReLU(I x + 0) = x.  Not exact with GELU
 *     (GELU(x) != x), nor for a first hidden layer over raw inputs with
 *     negative features.
 *   GPT wider MLP (mlp_ratio up, same d_model): Net2WiderNet on the F
 *     hidden units (GELU is element-wise): fcw rows and fcb copied,
 *     fcprojw columns split.
 *   GPT deeper: new blocks appended after the parent's; each keeps the
 *     child's init except attprojw, attprojb, fcprojw, fcprojb = 0, so
 *     both branches add zero to the residual stream: the block is the
 *     identity (and still trains: the projections' gradients are not zero).
 *   GPT d_model C -> Cc = m C (m >= 2): the residual stream is repeated m
 *     times (child channel j carries parent channel j % C): embeddings and
 *     every projection into the stream copy their rows, so each LayerNorm
 *     sees the parent's mean and variance; LayerNorm gains and biases are
 *     multiplied by 1/m, and every reader of a LayerNorm output (q/k/v,
 *     fc, the tied logits through wte) sums the m copies back.  The head
 *     size grows (hs -> m hs): each head keeps its query/key/value rows
 *     (q scaled by sqrt(hs_child / hs_parent) so the score keeps the
 *     parent's 1/sqrt(hs)), extra rows 0.
 *   GPT heads H -> m H at the same d_model (hs -> hs/m): child head c
 *     takes parent head c/m.  Its value rows (and their attprojw columns)
 *     are part c % m of the parent head's, so the m heads' outputs side by
 *     side are the parent head's output IF they all attend like it.  The
 *     parent head's score is x~' M y~ / sqrt(hs) with M = Q~' K~ of rank
 *     <= hs (x~ = [LayerNorm output, 1], Q~, K~ the head's (hs, C+1)
 *     query/key rows with biases); a child head has only hs/m dimensions,
 *     so every child head of the parent gets the best rank-hs/m form of M
 *     (truncated SVD, Eckart-Young).  Exact (reported exact) when each
 *     parent head's M has rank <= hs/m; in general the softmax input moves
 *     by at most info->score_err * |x~_i| |x~_j| per score (score_err =
 *     max over heads of s_{hs/m+1}(M) / sqrt(hs), the first dropped
 *     singular value), so the attention weights change by a factor within
 *     exp(+-2 delta) with delta that bound (tests/test_morph.c checks the
 *     bound score by score).  No construction is exact in general: a
 *     softmax over an hs/m-dimensional score cannot reproduce one of rank
 *     hs.  With T = 1 (one key) any split is exact.
 * Approximate (info->exact = 0):
 *   GPT d_model C -> Cc, C < Cc not a multiple: new channels are 0 and the
 *     LayerNorm gains are scaled by sqrt(C/Cc); exact (but for the
 *     LayerNorm's eps) only when every token's stream has zero mean, since
 *     the padded stream's mean is mu C/Cc and its variance
 *     (C/Cc)(var + mu^2) - (C/Cc)^2 mu^2;
 *   MLP narrower layer: the units with the largest |incoming weights and
 *     bias| x |outgoing weights| are kept (in their order) with their
 *     outgoing weights, the rest dropped; GPT narrower MLP: the first
 *     units are kept;
 *   MLP shallower: each dropped last hidden layer is folded into the
 *     output layer as if it had no activation (W_out W_hid, W_out b_hid +
 *     b_out): exact where the dropped layer's ReLU pre-activations are
 *     >= 0 (tested), otherwise approximate; GPT shallower: the last
 *     blocks are dropped;
 *   GPT fewer heads, or a head count that is not a multiple: every
 *     q/k/v channel is copied as it is (q scaled by sqrt(hs_child /
 *     hs_parent)): merged heads sum their partial scores;
 *   GPT d_model smaller: the first Cc channels of every tensor.
 */
#ifndef TL_NN_MORPH_H
#define TL_NN_MORPH_H

#include <stddef.h>

#include "nn/model.h"
#include "util/err.h"
#include "util/rng.h"

typedef struct morph_info {
    int exact;        /* 1: the child computes the parent's function (see above) */
    char desc[200];   /* what changed: "fc0 64->128 wider; +1 identity layer" ("" if nothing) */
    double score_err; /* GPT: bound on the change of any attention score per unit input (see above); 0 for none */
    int moments;      /* 1: the child's moments were filled (morph_apply_moments); 0: left alone */
} morph_info;

/* The optimizer moments that travel with a morph, each aligned with its
 * model's params (optim.m, optim.v): pm, pv the parent's, cm, cv the
 * child's, filled.  pv / cv NULL: a first moment (or momentum) only. */
typedef struct morph_moments {
    const float *pm, *pv;
    float *cm, *cv;
} morph_moments;

/* Fills the child MLP from the parent MLP (see above); r draws the units
 * a widening copies.  Returns 0, or TL_EINPUT when the two are not MLPs or
 * differ in input or output size; TL_ERUNTIME for memory.  The child is
 * unchanged on error. */
int morph_mlp(const nn_model *parent, nn_model *child, rng *r, morph_info *info, tl_err *err);

/* Fills the child GPT from the parent GPT (see above).  Returns 0, or
 * TL_EINPUT when they are not GPTs or differ in vocabulary. */
int morph_gpt(const nn_model *parent, nn_model *child, rng *r, morph_info *info, tl_err *err);

/* morph_mlp or morph_gpt, whichever the two models are; TL_EINPUT for a
 * mixed pair. */
int morph_apply(const nn_model *parent, nn_model *child, rng *r, morph_info *info, tl_err *err);

/* morph_apply that also moves the optimizer moments mo (NULL: none) for an
 * MLP (see above; info->moments = 1); for a GPT the weights only
 * (info->moments = 0, mo's child buffers untouched).  Same errors. */
int morph_apply_moments(const nn_model *parent, nn_model *child, const morph_moments *mo, rng *r,
                        morph_info *info, tl_err *err);

#endif
