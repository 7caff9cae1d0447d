/* nn/ops.h: the layers of the models as forward/backward pairs (llm.c style).
 *
 * Shape legend: N rows (B*T), B batch, T time, C input channels, OC output
 * channels, V classes or vocabulary, NH heads, hs = C/NH head size.  Every
 * buffer is row-major float32; weights use PyTorch's nn.Linear layout
 * (OC, C), so a parameter dump compares to PyTorch without transposes.
 *
 * Argument order: outputs and saved caches first, then inputs and weights,
 * then the plain int dims.
 *
 * Gradient contract: a backward ADDS into every parameter gradient and into
 * dinp (so gradients from two paths, such as a residual and its branch, just
 * add), EXCEPT the element-wise ops marked "writes": their dinp = ... so they
 * can run in place (dinp may alias dout); and linear and attention, whose
 * `accumulate` flag chooses: 1 adds into dinp, 0 overwrites it (the models
 * pass 0 where a buffer has one writer, which saves zeroing it).
 *
 * Threads: loops run on the caller's OpenMP threads and go parallel only
 * when big enough to pay (OPS_PAR_MIN elements); called from inside a
 * parallel region they run on the calling thread alone (nested parallelism
 * stays off, and the OpenMP OpenBLAS checks omp_in_parallel()).  Reductions
 * over rows (bias, LayerNorm and embedding gradients) are split by column,
 * each column summed in row order, so they give the same bits for any
 * thread count.  Matmuls go through cblas_sgemm with transposes expressed as
 * flags; nothing here allocates (but nn_split_threads, once).
 *
 * What this file does not do: no parameter ownership, no shape checks (the
 * models validate their configs and batches once), no attention-probability
 * dropout, no masking other than causal.
 */
#ifndef TL_NN_OPS_H
#define TL_NN_OPS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "util/rng.h"

/* Below this many elements an element-wise loop runs serially. */
#define OPS_PAR_MIN 131072

/* ---- linear: out = inp @ w^T + bias ---- */

/* out (N,OC) = inp (N,C) @ w (OC,C)^T + bias (OC); bias may be NULL. */
void linear_forward(float *out, const float *inp, const float *w, const float *bias,
                    int N, int C, int OC);

/* Fused linear + activation (act: enum nn_act): pre (N,OC) = inp @ w^T +
 * bias, out (N,OC) = act(pre).  For NN_RELU out may equal pre (the backward
 * then reads out, since relu'(x) = out > 0). */
void linear_act_forward(float *out, float *pre, const float *inp, const float *w,
                        const float *bias, int N, int C, int OC, int act);

/* linear_act_forward with dropout in the same pass: out = act(pre) * mask
 * (N,OC) / (1-p) when mask is not NULL (then out must not alias pre under
 * GELU; under ReLU out may equal pre, as the backward reads out). */
void linear_act_drop_forward(float *out, float *pre, const float *inp, const float *w,
                             const float *bias, const uint8_t *mask, float p, int N, int C,
                             int OC, int act);

/* Output columns [j0, j1) of linear_act_drop_forward on the calling thread
 * (single-threaded sgemm): the other columns of pre and out are not
 * touched.  Each column's values do not depend on j0, j1 (the column split
 * path, NN_PATH_COLS); GELU may differ from the whole-row pass in the last
 * bits (vector and scalar tanhf). */
void linear_act_drop_forward_cols(float *out, float *pre, const float *inp, const float *w,
                                  const float *bias, const uint8_t *mask, float p, int N,
                                  int C, int OC, int act, int j0, int j1);

/* The input gradient of a hidden layer and the bias gradient of the layer
 * below, in one pass after the product: writes dinp (N,C) = act'(x) *
 * mask/(1-p) * (dout (N,OC) @ w (OC,C)) (mask NULL: no dropout; x as
 * act_backward takes it: the forward's output for NN_RELU, its input for
 * NN_GELU) and adds dbias (C) += the column sums of dinp (row order; may be
 * NULL).  The same bits as the sgemm, dropout_backward, act_backward and
 * the column sums of linear_backward one after the other; under ReLU one
 * pass over dinp instead of three. */
void linear_act_backward(float *dinp, float *dbias, const float *dout, const float *w,
                         const float *x, const uint8_t *mask, float p, int N, int C, int OC,
                         int act);

/* Input columns [k0, k1) of linear_act_backward on the calling thread:
 * writes dinp[:, k0:k1], adds dbias[k0:k1] (may be NULL). */
void linear_act_backward_cols(float *dinp, float *dbias, const float *dout, const float *w,
                              const float *x, const uint8_t *mask, float p, int N, int C,
                              int OC, int act, int k0, int k1);

/* Rows [j0, j1) of a weight gradient on the calling thread: dw[j0:j1, :]
 * (OC,C) += dout[:, j0:j1]^T @ inp (N,C), dbias[j0:j1] += the column sums
 * of dout (row order; dbias may be NULL). */
void linear_wgrad_rows(float *dw, float *dbias, const float *dout, const float *inp, int N,
                       int C, int OC, int j0, int j1);

/* dinp (N,C) += dout @ w (accumulate = 1; = with 0), dw (OC,C) += dout^T @
 * inp, dbias (OC) += column sums of dout.  dinp and dbias may be NULL
 * (skipped: the first layer of a model needs no input gradient). */
void linear_backward(float *dinp, float *dw, float *dbias, const float *dout,
                     const float *inp, const float *w, int N, int C, int OC, int accumulate);

/* ---- activations (element-wise, n elements) ---- */

/* out = max(inp, 0); out may alias inp. */
void relu_forward(float *out, const float *inp, size_t n);
/* Writes dinp = dout * (out > 0), from the forward's OUTPUT; may alias. */
void relu_backward(float *dinp, const float *dout, const float *out, size_t n);

/* GELU, tanh approximation (GPT-2, PyTorch approximate='tanh'):
 * out = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))); out may alias inp. */
void gelu_forward(float *out, const float *inp, size_t n);
/* Writes dinp = dout * gelu'(inp), from the forward's INPUT; may alias dout. */
void gelu_backward(float *dinp, const float *dout, const float *inp, size_t n);

/* Dispatches on act (NN_RELU: `x` is the forward's output; NN_GELU: its
 * input).  Writes; may alias. */
void act_backward(float *dinp, const float *dout, const float *x, size_t n, int act);

/* ---- dropout (inverted: kept values scaled by 1/(1-p)) ---- */

/* Draws mask (n) from r: 1 keeps, 0 drops, each dropped with probability p
 * (one 32-bit draw per element, two per rng output).  p in [0, 1). */
void dropout_mask(uint8_t *mask, float p, size_t n, rng *r);
/* Draws mask (rows, cols) row by row: row i with dropout_mask from a
 * generator seeded (key, row0 + i), so a row's mask depends on the key and
 * its index only, not on the rows around it (data parallelism).  p in
 * [0, 1). */
void dropout_mask_rows(uint8_t *mask, float p, int rows, size_t cols, uint64_t key, long row0);
/* out = inp * mask / (1-p).  Writes; out may alias inp. */
void dropout_forward(float *out, const float *inp, const uint8_t *mask, float p, size_t n);
/* Writes dinp = dout * mask / (1-p); may alias. */
void dropout_backward(float *dinp, const float *dout, const uint8_t *mask, float p, size_t n);

/* ---- residual: out = a + b ---- */

/* Writes out (n) = a + b; out may alias a or b. */
void residual_forward(float *out, const float *a, const float *b, size_t n);
/* Adds da += dout and db += dout; either may be NULL. */
void residual_backward(float *da, float *db, const float *dout, size_t n);

/* ---- LayerNorm over the last dim (eps 1e-5, as PyTorch) ---- */

/* out (N,C) = (inp - mean) * rstd * w (C) + b (C); saves mean (N), rstd (N). */
void layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
                       const float *w, const float *b, int N, int C);
/* Adds dinp (N,C), dw (C), db (C). */
void layernorm_backward(float *dinp, float *dw, float *db, const float *dout,
                        const float *inp, const float *w, const float *mean,
                        const float *rstd, int N, int C);

/* ---- token + position embedding ---- */

/* out (B,T,C) = wte[tokens[b,t]] (V,C) + wpe[t] (maxT,C); tokens in [0,V). */
void encoder_forward(float *out, const int *tokens, const float *wte, const float *wpe,
                     int B, int T, int C);
/* Adds dwte[tokens[b,t]] += dout[b,t] and dwpe[t] += dout[b,t]. */
void encoder_backward(float *dwte, float *dwpe, const float *dout, const int *tokens,
                      int B, int T, int C);

/* ---- causal multi-head self-attention ---- */

/* qkv (B,T,3C) holds q, k, v side by side; head h uses channels
 * [h*hs, (h+1)*hs) of each.  att (B,NH,T,T) receives the softmax
 * probabilities: row i holds them in [0, i] and zeros up to the end of its
 * block of 32 rows; the rest of the row is not written (the products work
 * in causal blocks).  out (B,T,C) gets the heads' outputs side by side.
 * Scores scaled by 1/sqrt(hs). */
void attention_forward(float *out, float *att, const float *qkv, int B, int T, int C, int NH);
/* dqkv (B,T,3C) += the gradient (accumulate = 1; = with 0).  datt
 * (B,NH,T,T) is scratch, overwritten. */
void attention_backward(float *dqkv, float *datt, const float *dout, const float *att,
                        const float *qkv, int B, int T, int C, int NH, int accumulate);

/* ---- softmax cross-entropy over V classes per row ---- */

/* probs (N,V) = softmax(logits); losses (N) = -log probs[n, targets[n]].
 * Returns the SUM of the losses, accumulated in double in row order.  If
 * ncorrect is not NULL it receives the number of rows whose argmax (first
 * on ties) equals the target.  targets in [0,V). */
double softmax_xent_forward(float *probs, float *losses, long *ncorrect, const float *logits,
                            const int *targets, int N, int V);
/* Writes dlogits (N,V) = scale * (probs - onehot(targets)); dlogits may alias
 * probs.  For the mean loss pass scale = 1/N. */
void softmax_xent_backward(float *dlogits, const float *probs, const int *targets,
                           int N, int V, float scale);

/* ---- large buffers: parameters, gradients, moments, activations ---- */

/* n floats (n > 0), uninitialised, in whole 2 MB blocks at a 2 MB
 * boundary (so 64-byte aligned, as the vector loops assume); free() frees
 * them; NULL when out of memory.  The kernel is asked for transparent huge
 * pages (madvise MADV_HUGEPAGE) over every block at least half used, so a
 * buffer takes at most 1 MB more memory than it asks for; where THP is
 * "never" that advice does nothing.  Why: on the 2-core AMD EPYC (Zen 3) a
 * small-batch step ran at one of two or three speeds from process to
 * process, depending on which 4 KB pages its buffers got (mlp32 at 1
 * thread 33k or 44k samples/s); on 2 MB pages it ran at 45k in every
 * process (experiments/speed.md, "Huge pages for the large buffers").
 * Addresses change, never a result. */
#define NN_FALLOC_BLOCK ((size_t)2 << 20)
float *nn_falloc(size_t n);

/* nn_falloc, set to zero. */
float *nn_fzalloc(size_t n);

/* ---- batch split: the models' per-thread kernel path ---- */

/* Kernel paths of the models' forward and backward (mlp_set_path,
 * gpt_set_path); all give the same results within float rounding
 * (tests/test_kernels.c pins it):
 *   NN_PATH_PLAIN  each op over the whole batch on every OpenMP thread
 *                  (OpenBLAS splits each product; one wake-up per op);
 *   NN_PATH_SPLIT  one parallel region per forward and per backward: each
 *                  thread takes a fixed slice of the batch (samples or
 *                  sequences) and runs the whole pass on it with
 *                  single-threaded sgemms; threads 1.. write their weight
 *                  gradients to their own buffers (nn_split), added to
 *                  thread 0's in thread order (same bits at the same
 *                  thread count; another count moves the last bits);
 *   NN_PATH_SERIAL (MLP only; the GPT runs it as PLAIN) the forward and
 *                  backward on the calling thread alone, single-threaded
 *                  sgemms, no thread woken (the optimizer step still uses
 *                  the team): the plain path's operations at one thread;
 *   NN_PATH_COLS   (MLP only; the GPT runs it as PLAIN) one parallel
 *                  region per forward and per backward in which the
 *                  threads split every hidden layer by columns over the
 *                  whole batch (see "column split" below): no weight packed
 *                  twice, no per-thread gradient buffers;
 *   NN_PATH_AUTO   (the default) SPLIT when more than one thread would run
 *                  and the batch and model fit the model's rule (a
 *                  function of shapes and thread count only, never of
 *                  timings), else COLS where the MLP's rule takes it
 *                  (fewer rows per thread, wide layers: nn/mlp.h), else
 *                  PLAIN (never SERIAL). */
enum nn_path {
    NN_PATH_AUTO,
    NN_PATH_PLAIN,
    NN_PATH_SPLIT,
    NN_PATH_SERIAL,
    NN_PATH_COLS,
    NN_PATH_COUNT
};
/* "auto", "plain", "split", "serial", "cols"; "?" out of range. */
const char *nn_path_str(int path);

/* The split path runs on at most this many threads. */
#define NN_SPLIT_MAX_THREADS 64
/* AUTO splits only while the extra gradient buffers, (threads - 1) x
 * nparams floats, stay under this many floats (256 MB). */
#define NN_SPLIT_MAX_FLOATS ((size_t)64 << 20)

/* Per-thread gradient buffers of the split path: n buffers of `stride`
 * floats for threads 1..n. */
typedef struct nn_split {
    float *buf;
    size_t stride;
    int n;
} nn_split;

/* Threads the split path takes for `units` rows of work (samples or
 * sequences) under `path` (enum nn_path): 0 means the plain path.  AUTO
 * needs >= 2 threads, units >= min_units x threads and the buffers under
 * NN_SPLIT_MAX_FLOATS; SPLIT needs units >= 1.  Grows sp's buffers for
 * nparams floats when needed (the only allocation; 0 if it fails).
 * Called outside any parallel region (inside one: 0). */
int nn_split_threads(nn_split *sp, int path, int units, int min_units, size_t nparams);

/* The serial path's bracket: nn_serial_begin sets the calling thread's
 * OpenMP thread count to 1, so the element-wise loops and the OpenMP
 * OpenBLAS (which sizes its team by omp_get_max_threads()) run on this
 * thread alone, and returns the count it replaced; nn_serial_end(that)
 * restores it.  Outside any parallel region; a per-thread OpenMP setting,
 * given back before the model's call returns. */
int nn_serial_begin(void);
void nn_serial_end(int threads);
/* Thread t's buffer (t >= 1), zeroed over nparams floats. */
float *nn_split_grads(nn_split *sp, int t, size_t nparams);
/* Inside the split region, after a barrier: grads[i] += buffer 1 [i] +
 * buffer 2 [i] ... in thread order, over thread t's share of i (of nt). */
void nn_split_reduce(float *grads, const nn_split *sp, size_t nparams, int t, int nt);
/* Rows [*r0, *r1) of thread t of nt over `units`. */
void nn_split_rows(int units, int t, int nt, int *r0, int *r1);
void nn_split_free(nn_split *sp);

/* What a model's rows callbacks see: the model (nn/model.h), its batch,
 * and the pass's settings. */
struct nn_model;
struct nn_batch;
typedef struct nn_rows_ctx {
    struct nn_model *m;
    const struct nn_batch *b;
    int drop;    /* forward: apply the masks drawn before the region */
    float scale; /* backward: the gradient scale per row */
} nn_rows_ctx;

/* A model's forward of rows [r0, r1) of its batch (r0 == r1 possible):
 * returns the correct predictions among them when want_hits, else 0. */
typedef long (*nn_rows_forward_fn)(const nn_rows_ctx *c, int r0, int r1, int want_hits);
/* A model's backward of rows [r0, r1) adding into the gradient buffer
 * `grads` (nparams floats, carved as the model's tensor table). */
typedef void (*nn_rows_backward_fn)(const nn_rows_ctx *c, float *grads, int r0, int r1);

/* The split forward: one parallel region of nt threads (nn_split_threads),
 * thread t running fn on its rows of `units`.  *hits (when not NULL) gets
 * the sum of the threads' hits.  Returns the team's size (the backward's
 * nt). */
int nn_split_forward(int nt, int units, nn_rows_forward_fn fn, const nn_rows_ctx *c,
                     long *hits);
/* The split backward: one parallel region of nt threads; thread 0 runs fn
 * into `grads`, thread t >= 1 into its zeroed buffer of sp; after a
 * barrier the buffers are added into grads in thread order
 * (nn_split_reduce). */
void nn_split_backward(nn_split *sp, float *grads, size_t nparams, int nt, int units,
                       nn_rows_backward_fn fn, const nn_rows_ctx *c);

/* ---- column split (NN_PATH_COLS, the MLP's small batches) ----
 *
 * One parallel region per forward and per backward; each thread computes
 * a fixed range of every layer's output (or input-gradient) columns over
 * the whole batch with single-threaded sgemms, and the rows of the weight
 * gradient that go with them, so no weight is packed twice and no
 * gradient needs a reduction: every value is computed by one thread in
 * the plain path's order of operations, whatever the thread count.
 * Between layers the team meets at nn_team_barrier: under
 * OMP_WAIT_POLICY=PASSIVE an OpenMP barrier sleeps in the kernel (about 30
 * us per barrier on the 2-core AMD EPYC, Zen 3, against 0.35 us spinning),
 * so this one spins for up to NN_TEAM_SPIN pauses (about 40 us on Zen 3:
 * a late thread's wake-up is about 36 us), then yields the core
 * (sched_yield) until the team has arrived.  Bounded because spinning
 * costs an oversubscribed machine: with 20000 pauses mlp32 ran 2.5x
 * slower than plain while a test suite loaded both cores, with 2000 about
 * as fast. */
#define NN_TEAM_SPIN 2000
typedef struct nn_team {
    atomic_int arrived;
    atomic_int gen;
    atomic_int next;
} nn_team;
/* Before the region, in memory the team shares. */
void nn_team_init(nn_team *tm);
/* Inside the region, called by every thread of the current team: returns
 * when all have called it, with their writes before it visible, and the
 * chunk counter (nn_team_next) back at 0. */
void nn_team_barrier(nn_team *tm);
/* The next chunk of the current phase for the calling thread (0, 1, ...
 * in the order threads ask; chunks >= the phase's count mean done): the
 * counter restarts at 0 at every nn_team_barrier.  Which thread takes a
 * chunk changes from run to run, what a chunk computes does not. */
int nn_team_next(nn_team *tm);

/* A dropout probability as the models keep it: NaN and negatives 0, at
 * most 0.99.  Cannot fail. */
float nn_dropout_clamp(float p);

#endif
