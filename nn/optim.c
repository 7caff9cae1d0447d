/* nn/optim.c: SGD (momentum, Nesterov) and AdamW steps, global-norm gradient
 * clipping.  See optim.h for the formulas.  Every loop is flat over a run of
 * parameters; scalars are computed once per step in double and applied in
 * float, as PyTorch does for float tensors.  Nothing here allocates after
 * optim_init. */
#include "nn/optim.h"

#include "nn/ops.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>
#if defined(__AVX__)
#include <immintrin.h>
#endif

static const char *const optim_names[OPTIM_COUNT] = { "sgd", "adamw" };

const char *optim_str(int kind)
{
    return kind >= 0 && kind < OPTIM_COUNT ? optim_names[kind] : "?";
}

int optim_parse(const char *name, int *kind, tl_err *err)
{
    for (int k = 0; k < OPTIM_COUNT; k++)
        if (name && strcmp(name, optim_names[k]) == 0) {
            *kind = k;
            return 0;
        }
    return tl_fail(err, TL_EINPUT, "unknown optimizer '%s' (valid: sgd, adamw)",
                   name ? name : "(null)");
}

int optim_nstate(int kind)
{
    return kind == OPTIM_ADAMW ? 2 : 1;
}

void optim_free(optim *o)
{
    if (!o)
        return;
    free(o->m);
    free(o->v);
    free(o->runs);
    free(o->partial);
    memset(o, 0, sizeof *o);
}

int optim_init(optim *o, int kind, const nn_model *m, tl_err *err)
{
    memset(o, 0, sizeof *o);
    if (kind < 0 || kind >= OPTIM_COUNT)
        return tl_fail(err, TL_EINPUT, "train.optimizer: unknown optimizer kind %d", kind);
    if (!m || m->nparams == 0 || m->ntensors <= 0 || !m->tensors)
        return tl_fail(err, TL_EINPUT, "optimizer: model has no parameters");
    /* The tensors must tile [0, nparams) in order: the decay runs rely on it. */
    size_t at = 0;
    for (int i = 0; i < m->ntensors; i++) {
        const nn_tensor *tt = &m->tensors[i];
        if (tt->offset != at || tt->size > m->nparams - at)
            return tl_fail(err, TL_EINPUT,
                           "optimizer: tensor %d (%s) at offset %zu size %zu does not follow "
                           "the previous tensor (expected offset %zu, nparams %zu)",
                           i, tt->name, tt->offset, tt->size, at, m->nparams);
        at += tt->size;
    }
    if (at != m->nparams)
        return tl_fail(err, TL_EINPUT, "optimizer: tensors cover %zu of %zu parameters",
                       at, m->nparams);

    o->kind = kind;
    o->n = m->nparams;
    o->nchunks = (o->n + OPTIM_NORM_CHUNK - 1) / OPTIM_NORM_CHUNK;
    o->m = nn_fzalloc(o->n);
    o->v = kind == OPTIM_ADAMW ? nn_fzalloc(o->n) : NULL;
    o->runs = malloc((size_t)m->ntensors * sizeof *o->runs);
    o->partial = calloc(o->nchunks, sizeof *o->partial);
    if (!o->m || (kind == OPTIM_ADAMW && !o->v) || !o->runs || !o->partial) {
        optim_free(o);
        return tl_fail(err, TL_ERUNTIME, "optimizer: out of memory for %zu parameters",
                       m->nparams);
    }
    for (int i = 0; i < m->ntensors; i++) {
        const nn_tensor *tt = &m->tensors[i];
        int d = tt->decay ? 1 : 0;
        if (tt->size == 0)
            continue;
        if (o->nruns > 0 && o->runs[o->nruns - 1].decay == d) {
            o->runs[o->nruns - 1].size += tt->size;
        } else {
            o->runs[o->nruns].offset = tt->offset;
            o->runs[o->nruns].size = tt->size;
            o->runs[o->nruns].decay = d;
            o->nruns++;
        }
    }
    return 0;
}

static int bad(tl_err *err, const char *key, const char *what, double got)
{
    return tl_fail(err, TL_EINPUT, "%s: %s (got %g)", key, what, got);
}

int optim_hparams_check(int kind, const optim_hparams *h, tl_err *err)
{
    if (!(h->lr > 0) || !isfinite(h->lr))
        return bad(err, "train.lr", "must be > 0 and finite", h->lr);
    if (!(h->weight_decay >= 0) || !isfinite(h->weight_decay))
        return bad(err, "train.weight_decay", "must be >= 0 and finite", h->weight_decay);
    if (kind == OPTIM_SGD) {
        if (!(h->momentum >= 0 && h->momentum < 1))
            return bad(err, "train.momentum", "must be in [0, 1)", h->momentum);
        if (h->nesterov && !(h->momentum > 0))
            return bad(err, "train.nesterov", "needs train.momentum > 0; momentum is",
                       h->momentum);
    } else if (kind == OPTIM_ADAMW) {
        if (!(h->beta1 >= 0 && h->beta1 < 1))
            return bad(err, "train.beta1", "must be in [0, 1)", h->beta1);
        if (!(h->beta2 >= 0 && h->beta2 < 1))
            return bad(err, "train.beta2", "must be in [0, 1)", h->beta2);
        if (!(h->eps > 0) || !isfinite(h->eps))
            return bad(err, "train.eps", "must be > 0 and finite", h->eps);
    } else {
        return tl_fail(err, TL_EINPUT, "train.optimizer: unknown optimizer kind %d", kind);
    }
    return 0;
}

/* The sum of squares of norm chunk c of grads (N): the one loop every
 * norm reduction runs, so that a chunk's partial has the same bits
 * whichever function and thread computes it. */
__attribute__((noinline)) static double norm_chunk(const float *grads, size_t n, size_t c)
{
    size_t lo = c * OPTIM_NORM_CHUNK;
    size_t hi = lo + OPTIM_NORM_CHUNK < n ? lo + OPTIM_NORM_CHUNK : n;
    double s = 0.0;
    #pragma omp simd reduction(+:s)
    for (size_t i = lo; i < hi; i++)
        s += (double)grads[i] * (double)grads[i];
    return s;
}

/* The norm from the chunks' partial sums, in chunk order. */
static double norm_of_partials(const optim *o)
{
    double ss = 0.0;
    for (size_t c = 0; c < o->nchunks; c++)
        ss += o->partial[c];
    return sqrt(ss);
}

/* The clip factor for norm (1 when no clip applies); *clip = 1 when one does. */
static float clip_factor(double norm, double max_norm, int *clip)
{
    *clip = 0;
    if (!(max_norm > 0))
        return 1.0f;
    double coef = max_norm / (norm + 1e-6);
    *clip = coef < 1.0;
    return *clip ? (float)coef : 1.0f;
}

double optim_clip_grad_norm(optim *o, float *grads, double max_norm)
{
    const size_t n = o->n, nch = o->nchunks;
    #pragma omp parallel for schedule(static) if (n >= OPTIM_PAR_MIN)
    for (size_t c = 0; c < nch; c++)
        o->partial[c] = norm_chunk(grads, n, c);
    double norm = norm_of_partials(o);
    int clip;
    const float cf = clip_factor(norm, max_norm, &clip);
    if (!isfinite(norm) || !clip)
        return norm;
    #pragma omp parallel for simd schedule(static) if (n >= OPTIM_PAR_MIN)
    for (size_t i = 0; i < n; i++)
        grads[i] *= cf;
    return norm;
}

/* SGD over [0, n) of one run, serially (the caller splits the work).
 * mode: 0 plain (no momentum), 1 first momentum step (b = d), 2 momentum,
 * and +3 for Nesterov. */
static void sgd_span(float *restrict p, const float *restrict g, float *restrict b,
                     size_t n, float lr, float wd, float mu, int mode)
{
    switch (mode) {
    case 0:
        #pragma omp simd
        for (size_t i = 0; i < n; i++) {
            float d = g[i] + wd * p[i];
            b[i] = d;
            p[i] -= lr * d;
        }
        break;
    case 1:
    case 4:
        #pragma omp simd
        for (size_t i = 0; i < n; i++) {
            float d = g[i] + wd * p[i];
            b[i] = d;
            p[i] -= lr * (mode == 4 ? d + mu * d : d);
        }
        break;
    case 2:
        #pragma omp simd
        for (size_t i = 0; i < n; i++) {
            float d = g[i] + wd * p[i];
            float bb = mu * b[i] + d;
            b[i] = bb;
            p[i] -= lr * bb;
        }
        break;
    case 5:
        #pragma omp simd
        for (size_t i = 0; i < n; i++) {
            float d = g[i] + wd * p[i];
            float bb = mu * b[i] + d;
            b[i] = bb;
            p[i] -= lr * (d + mu * bb);
        }
        break;
    }
}

/* An update of parameters [lo, hi) (which may cross runs) with the step's
 * scalars k. */
typedef void (*optim_range_fn)(const optim *o, float *params, const float *grads, size_t lo,
                               size_t hi, const void *k);

/* One pass of fn over [0, n) in one parallel region (from OPTIM_PAR_MIN
 * elements): chunks of OPTIM_STEP_CHUNK taken as the threads come (the
 * first awake starts alone, so a late thread costs no idle time), then
 * after a spinning team barrier (nn/ops.h nn_team: no thread sleeps in the
 * kernel on the way) thread 0 alone updates the last OPTIM_STEP_TAIL
 * elements, so that it reaches the region's end after the others and does
 * not wait there for a sleeping thread's wake-up.  Elementwise, so the
 * bits do not depend on who takes which chunk. */
static void optim_pass(const optim *o, float *params, const float *grads, optim_range_fn fn,
                       const void *k)
{
    const size_t n = o->n, tail = n < OPTIM_STEP_TAIL ? n : OPTIM_STEP_TAIL, body = n - tail;
    const int nch = (int)((body + OPTIM_STEP_CHUNK - 1) / OPTIM_STEP_CHUNK);
    nn_team tm;
    nn_team_init(&tm);
    #pragma omp parallel if (n >= OPTIM_PAR_MIN)
    {
        for (int c; (c = nn_team_next(&tm)) < nch;) {
            size_t lo = (size_t)c * OPTIM_STEP_CHUNK;
            fn(o, params, grads, lo, lo + OPTIM_STEP_CHUNK < body ? lo + OPTIM_STEP_CHUNK : body, k);
        }
        nn_team_barrier(&tm);
        if (omp_get_thread_num() == 0)
            fn(o, params, grads, body, n, k);
    }
}

/* The SGD scalars of one step. */
typedef struct sgd_k {
    float lr, wd, mu;
    int mode;
} sgd_k;

/* SGD over parameters [lo, hi), which may cross runs. */
static void sgd_range(const optim *o, float *params, const float *grads, size_t lo, size_t hi,
                      const void *kp)
{
    const sgd_k *k = kp;
    for (int r = 0; r < o->nruns; r++) {
        const optim_run *ru = &o->runs[r];
        size_t a = ru->offset > lo ? ru->offset : lo;
        size_t e = ru->offset + ru->size < hi ? ru->offset + ru->size : hi;
        if (a >= e)
            continue;
        sgd_span(params + a, grads + a, o->m + a, e - a, k->lr, ru->decay ? k->wd : 0.0f, k->mu,
                 k->mode);
    }
}

/* One AdamW element, in torch's operation order (addcdiv: p + (-step * m) /
 * denom). */
static inline float adamw_one(float *restrict mp, float *restrict vp, float p, float g,
                              float decay_mul, float b1, float omb1, float b2, float omb2,
                              float step_size, float bc2_sqrt, float eps)
{
    float pi = p * decay_mul;
    float mi = *mp * b1 + g * omb1;
    float vi = *vp * b2 + omb2 * g * g;
    *mp = mi;
    *vp = vi;
    return pi + (-step_size * mi) / (sqrtf(vi) / bc2_sqrt + eps);
}

/* The AdamW scalars of one step, in float as applied. */
typedef struct adamw_k {
    float decay_mul, b1, omb1, b2, omb2, step_size, bc2_sqrt, eps;
} adamw_k;

/* AdamW over [0, n) of one run, serially (the caller splits the work). */
static void adamw_span(float *restrict p, const float *restrict g, float *restrict m,
                       float *restrict v, size_t n, const adamw_k *k)
{
    const float decay_mul = k->decay_mul, b1 = k->b1, omb1 = k->omb1, b2 = k->b2,
                omb2 = k->omb2, step_size = k->step_size, bc2_sqrt = k->bc2_sqrt, eps = k->eps;
    size_t i0 = 0;
    /* Vector blocks with the same correctly rounded IEEE operations in the
     * same order as adamw_one (no FMA: -std=c11 keeps -ffp-contract=off),
     * which gives the same bits as the scalar tail, so neither the block
     * width nor where a span starts changes any result.  VT is the vector
     * type, PFX the intrinsics' prefix, W the lanes: blocks of 16 first where
     * AVX-512 exists (on the AMD Zen 5 the two divisions and the square root
     * bound this loop, and 16 lanes halve their count), then of 8 with AVX
     * (on the Zen 3 the loop is bound by memory, 7 floats moved per element;
     * a multiply by 1/bc2_sqrt measured no faster and would change bits). */
#define ADAMW_BLOCKS(VT, PFX, W)                                                              \
    do {                                                                                      \
        const size_t nb = (n - i0) / (W);                                                     \
        const VT vdm = PFX##_set1_ps(decay_mul), vb1 = PFX##_set1_ps(b1),                     \
                 vomb1 = PFX##_set1_ps(omb1), vb2 = PFX##_set1_ps(b2),                        \
                 vomb2 = PFX##_set1_ps(omb2), vnstep = PFX##_set1_ps(-step_size),             \
                 vbc2 = PFX##_set1_ps(bc2_sqrt), veps = PFX##_set1_ps(eps);                   \
        for (size_t b = 0; b < nb; b++) {                                                     \
            const size_t i = i0 + b * (W);                                                    \
            VT gi = PFX##_loadu_ps(g + i);                                                    \
            VT pi = PFX##_mul_ps(PFX##_loadu_ps(p + i), vdm);                                 \
            VT mi = PFX##_add_ps(PFX##_mul_ps(PFX##_loadu_ps(m + i), vb1),                    \
                                 PFX##_mul_ps(gi, vomb1));                                    \
            VT vi = PFX##_add_ps(PFX##_mul_ps(PFX##_loadu_ps(v + i), vb2),                    \
                                 PFX##_mul_ps(PFX##_mul_ps(vomb2, gi), gi));                  \
            PFX##_storeu_ps(m + i, mi);                                                       \
            PFX##_storeu_ps(v + i, vi);                                                       \
            VT den = PFX##_add_ps(PFX##_div_ps(PFX##_sqrt_ps(vi), vbc2), veps);               \
            PFX##_storeu_ps(p + i, PFX##_add_ps(pi, PFX##_div_ps(PFX##_mul_ps(vnstep, mi), den))); \
        }                                                                                     \
        i0 += nb * (W);                                                                       \
    } while (0)
#if defined(__AVX512F__)
    ADAMW_BLOCKS(__m512, _mm512, 16);
#endif
#if defined(__AVX__)
    ADAMW_BLOCKS(__m256, _mm256, 8);
#endif
#undef ADAMW_BLOCKS
    for (size_t i = i0; i < n; i++)
        p[i] = adamw_one(m + i, v + i, p[i], g[i], decay_mul, b1, omb1, b2, omb2, step_size,
                         bc2_sqrt, eps);
}

/* AdamW over parameters [lo, hi), which may cross runs: each run's part
 * with its decay factor (base->decay_mul on decay runs, 1 elsewhere). */
static void adamw_range(const optim *o, float *params, const float *grads, size_t lo,
                        size_t hi, const void *kp)
{
    const adamw_k *base = kp;
    for (int r = 0; r < o->nruns && lo < hi; r++) {
        const optim_run *ru = &o->runs[r];
        size_t a = ru->offset, e = ru->offset + ru->size;
        if (e <= lo || a >= hi)
            continue;
        a = a > lo ? a : lo;
        e = e < hi ? e : hi;
        adamw_k k = *base;
        k.decay_mul = ru->decay ? base->decay_mul : 1.0f;
        adamw_span(params + a, grads + a, o->m + a, o->v + a, e - a, &k);
    }
}

/* The scalars of step t (1-based) of h into k; returns the range update. */
typedef union step_k {
    sgd_k sgd;
    adamw_k adamw;
} step_k;

static optim_range_fn step_prepare(const optim *o, const optim_hparams *h, long t, step_k *k)
{
    if (o->kind == OPTIM_SGD) {
        int mode = 0;
        if (h->momentum != 0.0) {
            mode = o->mom_valid ? 2 : 1;
            if (h->nesterov)
                mode += 3;
        }
        k->sgd = (sgd_k){.lr = (float)h->lr, .wd = (float)h->weight_decay,
                         .mu = (float)h->momentum, .mode = mode};
        return sgd_range;
    }
    double bc1 = 1.0 - pow(h->beta1, (double)t);
    double bc2 = 1.0 - pow(h->beta2, (double)t);
    k->adamw = (adamw_k){.decay_mul = (float)(1.0 - h->lr * h->weight_decay),
                         .b1 = (float)h->beta1, .omb1 = (float)(1.0 - h->beta1),
                         .b2 = (float)h->beta2, .omb2 = (float)(1.0 - h->beta2),
                         .step_size = (float)(h->lr / bc1), .bc2_sqrt = (float)sqrt(bc2),
                         .eps = (float)h->eps};
    return adamw_range;
}

/* After a step: the count, and (SGD) whether a momentum buffer is left: like
 * torch, a step without momentum leaves none, and the next momentum step
 * starts it afresh from d. */
static void step_done(optim *o, const optim_hparams *h)
{
    o->t++;
    if (o->kind == OPTIM_SGD)
        o->mom_valid = h->momentum != 0.0;
}

void optim_step(optim *o, float *params, const float *grads, const optim_hparams *h)
{
    step_k k;
    optim_range_fn fn = step_prepare(o, h, o->t + 1, &k);
    /* One pass over every parameter, whatever runs a chunk crosses. */
    optim_pass(o, params, grads, fn, &k);
    step_done(o, h);
}

/* Parameters [lo, hi) of a step: the clip first when one applies. */
static void clip_range(const optim *o, float *params, float *grads, size_t lo, size_t hi,
                       int clip, float cf, optim_range_fn fn, const step_k *k)
{
    if (clip) {
        #pragma omp simd
        for (size_t i = lo; i < hi; i++)
            grads[i] *= cf;
    }
    fn(o, params, grads, lo, hi, k);
}

double optim_clip_step_team(optim *o, float *params, float *grads, const optim_hparams *h,
                            double max_norm, nn_team *tm)
{
    const size_t n = o->n, tail = n < OPTIM_STEP_TAIL ? n : OPTIM_STEP_TAIL, body = n - tail;
    const int nnorm = (int)o->nchunks, nch = (int)((body + OPTIM_STEP_CHUNK - 1) / OPTIM_STEP_CHUNK);
    for (int c; (c = nn_team_next(tm)) < nnorm;)
        o->partial[c] = norm_chunk(grads, n, (size_t)c);
    nn_team_barrier(tm);
    /* Every thread sums the partials in the same order: the same norm. */
    double norm = norm_of_partials(o);
    if (!isfinite(norm))
        return norm;
    int clip;
    const float cf = clip_factor(norm, max_norm, &clip);
    step_k k;
    optim_range_fn fn = step_prepare(o, h, o->t + 1, &k);
    for (int c; (c = nn_team_next(tm)) < nch;) {
        size_t lo = (size_t)c * OPTIM_STEP_CHUNK;
        clip_range(o, params, grads, lo, lo + OPTIM_STEP_CHUNK < body ? lo + OPTIM_STEP_CHUNK : body,
                   clip, cf, fn, &k);
    }
    /* Everyone has read o->t and o->mom_valid before thread 0 changes them. */
    nn_team_barrier(tm);
    if (omp_get_thread_num() == 0) {
        clip_range(o, params, grads, body, n, clip, cf, fn, &k);
        step_done(o, h);
    }
    return norm;
}

double optim_clip_step(optim *o, float *params, float *grads, const optim_hparams *h,
                       double max_norm)
{
    double norm = 0.0;
    nn_team tm;
    nn_team_init(&tm);
    #pragma omp parallel if (o->n >= OPTIM_PAR_MIN)
    {
        double r = optim_clip_step_team(o, params, grads, h, max_norm, &tm);
        if (omp_get_thread_num() == 0)
            norm = r;
    }
    return norm;
}

int optim_copy(optim *dst, const optim *src, tl_err *err)
{
    if (dst->kind != src->kind || dst->n != src->n)
        return tl_fail(err, TL_EINPUT,
                       "optimizer copy: %s with %zu parameters into %s with %zu",
                       optim_str(src->kind), src->n, optim_str(dst->kind), dst->n);
    dst->t = src->t;
    dst->mom_valid = src->mom_valid;
    memcpy(dst->m, src->m, src->n * sizeof *src->m);
    if (src->v)
        memcpy(dst->v, src->v, src->n * sizeof *src->v);
    return 0;
}
