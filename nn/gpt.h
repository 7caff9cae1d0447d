/* nn/gpt.h: a decoder-only transformer language model (GPT-2 style) behind
 * the nn_model interface.
 * Shapes: B batch, T time (<= ctx), C = d_model, L layers, NH heads,
 * hs = C/NH, F = mlp_ratio*C, V vocab, maxT = ctx.
 *
 * tokens (B,T) -> token + learned position embedding -> L pre-LayerNorm
 * blocks [x += attn(ln1(x)); x += mlp(ln2(x))] with causal multi-head
 * self-attention and a GELU (tanh) MLP -> final LayerNorm -> logits (B,T,V)
 * through the TIED LM head (logits = lnf @ wte^T, as GPT-2) -> mean softmax
 * cross-entropy over the B*T next-token targets.
 *
 * Tensors (llm.c names and order; per-layer tensors stacked over L):
 *   wte (V,C)  wpe (maxT,C)  ln1w ln1b (L,C)  qkvw (L,3C,C)  qkvb (L,3C)
 *   attprojw (L,C,C)  attprojb (L,C)  ln2w ln2b (L,C)  fcw (L,F,C)  fcb (L,F)
 *   fcprojw (L,C,F)  fcprojb (L,C)  lnfw lnfb (C)
 * Weight decay (nanoGPT's rule, every 2-D-per-layer matrix): decay = 1 for
 * wte, wpe, qkvw, attprojw, fcw, fcprojw; 0 for biases and LayerNorms.
 * Init as GPT-2: matrices and embeddings N(0, 0.02), the residual
 * projections (attprojw, fcprojw) N(0, 0.02/sqrt(2L)), biases 0,
 * LayerNorm weights 1.
 *
 * Dropout (optional, inverted) as GPT-2's embd/resid dropout: on the
 * embedding sum and on each branch output before its residual add.  Not
 * here: attention-probability dropout, a KV cache (gpt_generate reruns the
 * window), an ignore index in targets.
 */
#ifndef TL_NN_GPT_H
#define TL_NN_GPT_H

#include <stddef.h>

#include "nn/model.h"
#include "util/err.h"
#include "util/rng.h"

typedef struct gpt_config {
    int vocab;      /* V >= 2 */
    int ctx;        /* maxT >= 1: longest sequence */
    int d_model;    /* C >= 1, divisible by heads */
    int layers;     /* L >= 1 */
    int heads;      /* NH >= 1 */
    int mlp_ratio;  /* F = mlp_ratio * C; 0 means the default 4 */
    float dropout;  /* in [0, 1) */
} gpt_config;

/* Checks c and max_batch (>= 1): returns 0, or TL_EINPUT naming the key,
 * e.g. "model.heads: d_model 130 is not divisible by 4 heads". */
int gpt_check(const gpt_config *c, int max_batch, tl_err *err);

/* Number of parameters of c (with the tied head: wte counted once); 0 if c
 * is invalid.  GPT-2 small (50257, 1024, 768, 12, 12) gives 124,439,808. */
size_t gpt_param_count(const gpt_config *c);

/* Forward FLOPs per token of c at full context (T = ctx), 2 per
 * multiply-add: per layer the qkv (3C^2) and output (C^2) projections, the
 * MLP (2CF), the attention scores and mixing over the context (2TC); then
 * the tied head (CV):  2 * (L * (4C^2 + 2CF + 2TC) + CV).  Embeddings,
 * LayerNorms, softmax and GELU are not counted.  0 if c is invalid.
 * Cannot fail otherwise. */
double gpt_flops(const gpt_config *c);

/* Builds a GPT for up to max_batch sequences of up to ctx tokens,
 * initialized from init.  On success returns 0 and *out owns the model
 * (free with nn_model_free).  TL_EINPUT for a bad config (gpt_check),
 * TL_ERUNTIME when out of memory; *out is then NULL. */
int gpt_create(const gpt_config *c, int max_batch, rng *init, nn_model **out, tl_err *err);

/* The config m was built with (mlp_ratio resolved), or NULL if m is not a
 * GPT.  Owned by m. */
const gpt_config *gpt_config_of(const nn_model *m);

/* The logits (B,T,V) of the last forward (or generation step); NULL if m is
 * not a GPT.  Owned by m, overwritten by the next forward. */
const float *gpt_logits(const nn_model *m);

/* Kernel path of forward and backward: enum nn_path (nn/ops.h).  The
 * split path gives each thread a slice of the sequences; AUTO takes it when
 * each thread gets at least GPT_SPLIT_MIN_SEQS of them.  Ignored if m is
 * not a GPT or path is out of range. */
#define GPT_SPLIT_MIN_SEQS 1
void gpt_set_path(nn_model *m, int path);

/* The path the last forward took: NN_PATH_PLAIN or NN_PATH_SPLIT
 * (NN_PATH_AUTO before any forward, or if m is not a GPT). */
int gpt_last_path(const nn_model *m);

/* Appends nnew tokens to prompt (nprompt >= 1 ids in [0,V)) into out
 * (nnew ints): each step runs the model on the last min(ctx, length)
 * tokens and picks the argmax (temperature <= 0) or samples
 * softmax(logits / temperature) with r.  Overwrites the activations (call
 * it between training steps, not between a forward and its backward).
 * Returns 0, or TL_EINPUT for a bad argument (message says which). */
int gpt_generate(nn_model *m, const int *prompt, int nprompt, int nnew, float temperature,
                 rng *r, int *out, tl_err *err);

#endif
