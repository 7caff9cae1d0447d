/* nn/morph.h: network morphisms (Net2Net, Chen et al. 2016; network
 * morphism, Wei et al. 2016): fill a freshly built child model from a
 * trained parent of another shape so that, where it can be done exactly,
 * the child computes the parent's function before any training.
 * Shapes as in nn/mlp.h (D, H, K) and nn/gpt.h (C, L, NH, hs, F, V).
 *
 * The child must already be built (mlp_create / gpt_create) with its own
 * initialization: the morphism overwrites what it inherits and leaves the
 * child's fresh values where nothing is inherited (new LayerNorms, new
 * blocks' attention and MLP input weights).  Only parameters move; the
 * optimizer state is NOT transformed: the caller resets it (a new
 * trainer), see tune/nas_inherit.c.
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
 * Best-effort copies (NOT function-preserving; info->exact = 0):
 *   narrower (MLP layer or GPT MLP): the first units are kept, the rest
 *     dropped with their outgoing weights;
 *   shallower: the last hidden layers (blocks) are dropped; an MLP output
 *     layer keeps its overlapping input columns;
 *   GPT heads at the same d_model: every weight is copied and the query
 *     rows are scaled by sqrt(hs_child / hs_parent), so each new head's
 *     partial score q.k/sqrt(hs) has the parent's temperature; the softmax
 *     over a different grouping of the C dimensions still differs, so the
 *     output is preserved only at T = 1 (one key: the softmax is 1).  The
 *     difference at full context is measured in tests/test_morph.c;
 *   GPT d_model: every tensor's overlapping block is copied, new residual
 *     dimensions of the embeddings and of the projections into the stream
 *     are 0; LayerNorm statistics over C differ, so this is approximate.
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
} morph_info;

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

#endif
