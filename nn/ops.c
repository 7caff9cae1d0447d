/* nn/ops.c: forward/backward kernels of the layers declared in nn/ops.h.
 * Shapes: N rows, B batch, T time, C channels, OC out channels, V classes,
 * NH heads, hs = C/NH head size.
 *
 * Matmuls are cblas_sgemm calls with the transposes as flags (no copies);
 * attention runs two sgemms per (batch, head) pair, the pairs spread over
 * the OpenMP threads (each sgemm then runs on its calling thread).
 * Element-wise loops are `omp simd` loops; expf and tanhf vectorize through
 * glibc's libmvec (declared below, since math.h exposes the vector variants
 * only under -ffast-math, which this project does not use).
 *
 * The batch-split helpers at the end (nn_split_*) hold the models'
 * per-thread gradient buffers: the one allocation here, grown once.
 *
 * Not here: shape checks (callers validate once), any other allocation or
 * state.
 */
#include "nn/ops.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <omp.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define OPS_PAUSE() _mm_pause()
#else
#define OPS_PAUSE() ((void)0)
#endif

#include "nn/model.h"

/* libmvec (glibc >= 2.35 on x86-64) has AVX2/AVX-512 variants of expf and
 * tanhf with the vector-function ABI; declaring them `omp declare simd`
 * lets GCC call them from simd loops.  Elsewhere the loops call the scalar
 * functions: slower, same results within a few ulps. */
#if defined(__x86_64__) && defined(__GLIBC__) && defined(_OPENMP) && \
    (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 35))
#pragma omp declare simd notinbranch
extern float expf(float);
#pragma omp declare simd notinbranch
extern float tanhf(float);
#endif

#define GELU_S 0.7978845608028654f /* sqrt(2/pi) */
#define GELU_C 0.044715f

/* Columns [*c0, *c1) of C for the calling thread of the current team, in
 * chunks that are multiples of 16 floats (one AVX-512 vector). */
static void ops_span(int C, int *c0, int *c1)
{
    int nt = omp_get_num_threads(), t = omp_get_thread_num();
    int chunk = ((C + nt - 1) / nt + 15) & ~15;
    int a = t * chunk;
    *c0 = a < C ? a : C;
    *c1 = a + chunk < C ? a + chunk : C;
}

/* dst (C) += column sums of src (N,C); columns split over threads, each
 * summed in row order (same bits for any thread count). */
static void colsum_add(float *restrict dst, const float *restrict src, int N, int C)
{
#pragma omp parallel if ((size_t)N * C >= OPS_PAR_MIN && C >= 32)
    {
        int c0, c1;
        ops_span(C, &c0, &c1);
        for (int n = 0; n < N; n++) {
            const float *row = src + (size_t)n * C;
#pragma omp simd
            for (int c = c0; c < c1; c++)
                dst[c] += row[c];
        }
    }
}

/* ---- linear ---- */

/* C (M,N; ldc) = alpha op(A) op(B): C zeroed with memset and the product
 * added (beta = 1).  The same bits as beta = 0, whose zeroing pass in
 * OpenBLAS (sgemm_beta) ran at a fifth of memset's speed on the AMD EPYC
 * (Zen 3): 0.08 ms per MB, 1.5% of an MLP step at batch 1024. */
static void sgemm_set(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int M, int N, int K, float alpha,
                      const float *A, int lda, const float *B, int ldb, float *C, int ldc)
{
    if (ldc == N)
        memset(C, 0, (size_t)M * N * sizeof(float));
    else
        for (int i = 0; i < M; i++)
            memset(C + (size_t)i * ldc, 0, (size_t)N * sizeof(float));
    cblas_sgemm(CblasRowMajor, ta, tb, M, N, K, alpha, A, lda, B, ldb, 1.0f, C, ldc);
}

/* C = alpha op(A) op(B) + beta C for beta 0 (through sgemm_set) or 1. */
static void sgemm_acc(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int M, int N, int K, float alpha,
                      const float *A, int lda, const float *B, int ldb, float beta, float *C,
                      int ldc)
{
    if (beta == 0.0f)
        sgemm_set(ta, tb, M, N, K, alpha, A, lda, B, ldb, C, ldc);
    else
        cblas_sgemm(CblasRowMajor, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

static void add_bias(float *out, const float *bias, int N, int OC)
{
#pragma omp parallel for if ((size_t)N * OC >= OPS_PAR_MIN)
    for (int n = 0; n < N; n++) {
        float *o = out + (size_t)n * OC;
#pragma omp simd
        for (int j = 0; j < OC; j++)
            o[j] += bias[j];
    }
}

void linear_forward(float *out, const float *inp, const float *w, const float *bias,
                    int N, int C, int OC)
{
    sgemm_set(CblasNoTrans, CblasTrans, N, OC, C, 1.0f, inp, C, w, C, out, OC);
    if (bias)
        add_bias(out, bias, N, OC);
}

static inline float gelu1(float x)
{
    float u = GELU_S * (x + GELU_C * x * x * x);
    return 0.5f * x * (1.0f + tanhf(u));
}

/* gelu'(x), the tanh approximation's derivative. */
static inline float gelu_grad1(float x)
{
    float t = tanhf(GELU_S * (x + GELU_C * x * x * x));
    return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * GELU_S * (1.0f + 3.0f * GELU_C * x * x);
}

/* One row of the fused bias + activation: p += bias (if any), o = act(p). */
static inline void bias_act_row(float *o, float *p, const float *bias, int OC, int act)
{
    if (act == NN_GELU) {
        if (bias) {
#pragma omp simd
            for (int j = 0; j < OC; j++) {
                float x = p[j] + bias[j];
                p[j] = x;
                o[j] = gelu1(x);
            }
        } else {
#pragma omp simd
            for (int j = 0; j < OC; j++)
                o[j] = gelu1(p[j]);
        }
    } else {
        if (bias) {
#pragma omp simd
            for (int j = 0; j < OC; j++) {
                float x = p[j] + bias[j];
                p[j] = x;
                o[j] = x < 0.0f ? 0.0f : x; /* NaN passes through */
            }
        } else {
#pragma omp simd
            for (int j = 0; j < OC; j++)
                o[j] = p[j] < 0.0f ? 0.0f : p[j];
        }
    }
}

/* Columns [j0, j1) of one row (o, p, mk: the row's starts) of the fused
 * bias + activation + dropout: o = act(p + bias) * mk / (1-p) (mk NULL: no
 * dropout). */
static inline void bias_act_drop_span(float *o, float *pr, const float *bias, const uint8_t *mk,
                                      float p, int j0, int j1, int act)
{
    bias_act_row(o + j0, pr + j0, bias ? bias + j0 : NULL, j1 - j0, act);
    if (mk) {
        float s = 1.0f / (1.0f - p);
#pragma omp simd
        for (int j = j0; j < j1; j++)
            o[j] = o[j] * ((float)mk[j] * s);
    }
}

void linear_act_forward(float *out, float *pre, const float *inp, const float *w,
                        const float *bias, int N, int C, int OC, int act)
{
    linear_act_drop_forward(out, pre, inp, w, bias, NULL, 0.0f, N, C, OC, act);
}

void linear_act_drop_forward(float *out, float *pre, const float *inp, const float *w,
                             const float *bias, const uint8_t *mask, float p, int N, int C,
                             int OC, int act)
{
    sgemm_set(CblasNoTrans, CblasTrans, N, OC, C, 1.0f, inp, C, w, C, pre, OC);
    /* One pass for bias, activation and dropout; out may equal pre (ReLU). */
    size_t work = (size_t)N * OC * (act == NN_GELU ? 4 : 1);
#pragma omp parallel for if (work >= OPS_PAR_MIN)
    for (int n = 0; n < N; n++)
        bias_act_drop_span(out + (size_t)n * OC, pre + (size_t)n * OC, bias,
                           mask ? mask + (size_t)n * OC : NULL, p, 0, OC, act);
}

void linear_act_drop_forward_cols(float *out, float *pre, const float *inp, const float *w,
                                  const float *bias, const uint8_t *mask, float p, int N,
                                  int C, int OC, int act, int j0, int j1)
{
    if (j0 >= j1)
        return;
    sgemm_set(CblasNoTrans, CblasTrans, N, j1 - j0, C, 1.0f, inp, C, w + (size_t)j0 * C, C,
              pre + j0, OC);
    for (int n = 0; n < N; n++)
        bias_act_drop_span(out + (size_t)n * OC, pre + (size_t)n * OC, bias,
                           mask ? mask + (size_t)n * OC : NULL, p, j0, j1, act);
}

/* Columns [c0, c1) of one row of the fused input-gradient pass: d =
 * act'(x) * ((mask * s) * d) (the order of dropout_backward then
 * act_backward; mk NULL: no dropout), and db += d (db may be NULL). */
static inline void act_drop_grad_span(float *restrict d, const float *restrict x,
                                      const uint8_t *restrict mk, float s, float *restrict db,
                                      int c0, int c1, int act)
{
    if (mk) {
#pragma omp simd
        for (int c = c0; c < c1; c++)
            d[c] = d[c] * ((float)mk[c] * s);
    }
    if (act == NN_GELU) {
#pragma omp simd
        for (int c = c0; c < c1; c++)
            d[c] = d[c] * gelu_grad1(x[c]);
    } else {
#pragma omp simd
        for (int c = c0; c < c1; c++)
            d[c] = x[c] > 0.0f ? d[c] : 0.0f;
    }
    if (db) {
#pragma omp simd
        for (int c = c0; c < c1; c++)
            db[c] += d[c];
    }
}

void linear_act_backward(float *dinp, float *dbias, const float *dout, const float *w,
                         const float *x, const uint8_t *mask, float p, int N, int C, int OC,
                         int act)
{
    sgemm_set(CblasNoTrans, CblasNoTrans, N, C, OC, 1.0f, dout, OC, w, C, dinp, C);
    size_t cnt = (size_t)N * C;
    if (act == NN_GELU) {
        /* Flat passes: tanhf's vector and scalar variants differ in the
         * last bits, so a pass per row would move the bits of the rows'
         * ends. */
        if (mask)
            dropout_backward(dinp, dinp, mask, p, cnt);
        gelu_backward(dinp, dinp, x, cnt);
        if (dbias)
            colsum_add(dbias, dinp, N, C);
        return;
    }
    float s = 1.0f / (1.0f - p);
    /* Columns split over threads, each summed in row order (dbias). */
#pragma omp parallel if (cnt >= OPS_PAR_MIN && C >= 32)
    {
        int c0, c1;
        ops_span(C, &c0, &c1);
        for (int n = 0; n < N && c0 < c1; n++)
            act_drop_grad_span(dinp + (size_t)n * C, x + (size_t)n * C,
                               mask ? mask + (size_t)n * C : NULL, s, dbias, c0, c1, NN_RELU);
    }
}

void linear_act_backward_cols(float *dinp, float *dbias, const float *dout, const float *w,
                              const float *x, const uint8_t *mask, float p, int N, int C,
                              int OC, int act, int k0, int k1)
{
    if (k0 >= k1)
        return;
    sgemm_set(CblasNoTrans, CblasNoTrans, N, k1 - k0, OC, 1.0f, dout, OC, w + k0, C, dinp + k0,
              C);
    float s = 1.0f / (1.0f - p);
    for (int n = 0; n < N; n++) {
        float *d = dinp + (size_t)n * C;
        const float *xr = x + (size_t)n * C;
        act_drop_grad_span(d, xr, mask ? mask + (size_t)n * C : NULL, s, dbias, k0, k1, act);
    }
}

void linear_wgrad_rows(float *dw, float *dbias, const float *dout, const float *inp, int N,
                       int C, int OC, int j0, int j1)
{
    if (j0 >= j1)
        return;
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, j1 - j0, C, N, 1.0f, dout + j0, OC, inp,
                C, 1.0f, dw + (size_t)j0 * C, C);
    if (dbias)
        for (int n = 0; n < N; n++) {
            const float *row = dout + (size_t)n * OC;
#pragma omp simd
            for (int j = j0; j < j1; j++)
                dbias[j] += row[j];
        }
}

void linear_backward(float *dinp, float *dw, float *dbias, const float *dout,
                     const float *inp, const float *w, int N, int C, int OC, int accumulate)
{
    if (dinp)
        sgemm_acc(CblasNoTrans, CblasNoTrans, N, C, OC, 1.0f, dout, OC, w, C,
                  accumulate ? 1.0f : 0.0f, dinp, C);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, C, N, 1.0f, dout, OC, inp, C,
                1.0f, dw, C);
    if (dbias)
        colsum_add(dbias, dout, N, OC);
}

/* ---- activations ---- */

void relu_forward(float *out, const float *inp, size_t n)
{
#pragma omp parallel for simd if (parallel : n >= OPS_PAR_MIN)
    for (size_t i = 0; i < n; i++)
        out[i] = inp[i] < 0.0f ? 0.0f : inp[i];
}

void relu_backward(float *dinp, const float *dout, const float *out, size_t n)
{
#pragma omp parallel for simd if (parallel : n >= OPS_PAR_MIN)
    for (size_t i = 0; i < n; i++)
        dinp[i] = out[i] > 0.0f ? dout[i] : 0.0f;
}

void gelu_forward(float *out, const float *inp, size_t n)
{
#pragma omp parallel for simd if (parallel : n >= OPS_PAR_MIN / 4)
    for (size_t i = 0; i < n; i++)
        out[i] = gelu1(inp[i]);
}

void gelu_backward(float *dinp, const float *dout, const float *inp, size_t n)
{
#pragma omp parallel for simd if (parallel : n >= OPS_PAR_MIN / 4)
    for (size_t i = 0; i < n; i++)
        dinp[i] = dout[i] * gelu_grad1(inp[i]);
}

void act_backward(float *dinp, const float *dout, const float *x, size_t n, int act)
{
    if (act == NN_GELU)
        gelu_backward(dinp, dout, x, n);
    else
        relu_backward(dinp, dout, x, n);
}

/* ---- dropout ---- */

void dropout_mask(uint8_t *mask, float p, size_t n, rng *r)
{
    double t = (double)p * 4294967296.0;
    uint32_t thr = t >= 4294967295.0 ? 4294967295u : t <= 0.0 ? 0u : (uint32_t)t;
    size_t i = 0;
    for (; i + 1 < n; i += 2) {
        uint64_t u = rng_u64(r);
        mask[i] = (uint32_t)u >= thr;
        mask[i + 1] = (uint32_t)(u >> 32) >= thr;
    }
    if (i < n)
        mask[i] = (uint32_t)rng_u64(r) >= thr;
}

void dropout_mask_rows(uint8_t *mask, float p, int rows, size_t cols, uint64_t key, long row0)
{
    for (int i = 0; i < rows; i++) {
        rng r;
        rng_seed(&r, key, (uint64_t)(row0 + i));
        dropout_mask(mask + (size_t)i * cols, p, cols, &r);
    }
}

void dropout_forward(float *out, const float *inp, const uint8_t *mask, float p, size_t n)
{
    float s = 1.0f / (1.0f - p);
#pragma omp parallel for simd if (parallel : n >= OPS_PAR_MIN)
    for (size_t i = 0; i < n; i++)
        out[i] = inp[i] * ((float)mask[i] * s);
}

void dropout_backward(float *dinp, const float *dout, const uint8_t *mask, float p, size_t n)
{
    dropout_forward(dinp, dout, mask, p, n);
}

/* ---- residual ---- */

void residual_forward(float *out, const float *a, const float *b, size_t n)
{
#pragma omp parallel for simd if (parallel : n >= OPS_PAR_MIN)
    for (size_t i = 0; i < n; i++)
        out[i] = a[i] + b[i];
}

void residual_backward(float *da, float *db, const float *dout, size_t n)
{
    if (da) {
#pragma omp parallel for simd if (parallel : n >= OPS_PAR_MIN)
        for (size_t i = 0; i < n; i++)
            da[i] += dout[i];
    }
    if (db) {
#pragma omp parallel for simd if (parallel : n >= OPS_PAR_MIN)
        for (size_t i = 0; i < n; i++)
            db[i] += dout[i];
    }
}

/* ---- LayerNorm ---- */

void layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
                       const float *w, const float *b, int N, int C)
{
#pragma omp parallel for if ((size_t)N * C >= OPS_PAR_MIN)
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C;
        float *o = out + (size_t)n * C;
        float m = 0.0f, v = 0.0f;
        /* Two passes over a row that sits in L1: exact-enough variance. */
#pragma omp simd reduction(+ : m)
        for (int c = 0; c < C; c++)
            m += x[c];
        m /= (float)C;
#pragma omp simd reduction(+ : v)
        for (int c = 0; c < C; c++) {
            float d = x[c] - m;
            v += d * d;
        }
        v /= (float)C;
        float s = 1.0f / sqrtf(v + 1e-5f);
#pragma omp simd
        for (int c = 0; c < C; c++)
            o[c] = (x[c] - m) * s * w[c] + b[c];
        mean[n] = m;
        rstd[n] = s;
    }
}

void layernorm_backward(float *dinp, float *dw, float *db, const float *dout,
                        const float *inp, const float *w, const float *mean,
                        const float *rstd, int N, int C)
{
    int par = (size_t)N * C >= OPS_PAR_MIN;
#pragma omp parallel if (par)
    {
#pragma omp for
        for (int n = 0; n < N; n++) {
            const float *x = inp + (size_t)n * C;
            const float *g = dout + (size_t)n * C;
            float *di = dinp + (size_t)n * C;
            float m = mean[n], s = rstd[n];
            float dmean = 0.0f, dnmean = 0.0f;
#pragma omp simd reduction(+ : dmean, dnmean)
            for (int c = 0; c < C; c++) {
                float dn = w[c] * g[c];
                dmean += dn;
                dnmean += dn * (x[c] - m) * s;
            }
            dmean /= (float)C;
            dnmean /= (float)C;
#pragma omp simd
            for (int c = 0; c < C; c++) {
                float norm = (x[c] - m) * s;
                di[c] += (w[c] * g[c] - dmean - norm * dnmean) * s;
            }
        }
        /* Parameter gradients: columns split over threads, rows in order. */
        int c0, c1;
        ops_span(C, &c0, &c1);
        for (int n = 0; n < N; n++) {
            const float *x = inp + (size_t)n * C;
            const float *g = dout + (size_t)n * C;
            float m = mean[n], s = rstd[n];
#pragma omp simd
            for (int c = c0; c < c1; c++) {
                dw[c] += g[c] * (x[c] - m) * s;
                db[c] += g[c];
            }
        }
    }
}

/* ---- embeddings ---- */

void encoder_forward(float *out, const int *tokens, const float *wte, const float *wpe,
                     int B, int T, int C)
{
#pragma omp parallel for if ((size_t)B * T * C >= OPS_PAR_MIN)
    for (int bt = 0; bt < B * T; bt++) {
        float *o = out + (size_t)bt * C;
        const float *e = wte + (size_t)tokens[bt] * C;
        const float *p = wpe + (size_t)(bt % T) * C;
#pragma omp simd
        for (int c = 0; c < C; c++)
            o[c] = e[c] + p[c];
    }
}

void encoder_backward(float *dwte, float *dwpe, const float *dout, const int *tokens,
                      int B, int T, int C)
{
    /* Scattered adds: rows may share a token, so split by column instead. */
#pragma omp parallel if ((size_t)B * T * C >= OPS_PAR_MIN && C >= 32)
    {
        int c0, c1;
        ops_span(C, &c0, &c1);
        for (int bt = 0; bt < B * T; bt++) {
            const float *g = dout + (size_t)bt * C;
            float *e = dwte + (size_t)tokens[bt] * C;
            float *p = dwpe + (size_t)(bt % T) * C;
#pragma omp simd
            for (int c = c0; c < c1; c++) {
                e[c] += g[c];
                p[c] += g[c];
            }
        }
    }
}

/* ---- attention ---- */

/* Rows per causal block: block [r0, r1) only needs keys [0, r1), so the
 * score and value products skip most of the masked upper triangle (62% of
 * the full products at T = 128). */
#define ATT_BLK 32

void attention_forward(float *out, float *att, const float *qkv, int B, int T, int C, int NH)
{
    int hs = C / NH, C3 = 3 * C;
    float scale = 1.0f / sqrtf((float)hs);
    int par = B * NH > 1 && (size_t)B * NH * T * T >= OPS_PAR_MIN;
#pragma omp parallel for collapse(2) schedule(static) if (par)
    for (int b = 0; b < B; b++) {
        for (int h = 0; h < NH; h++) {
            const float *q = qkv + (size_t)b * T * C3 + (size_t)h * hs;
            const float *k = q + C, *v = q + 2 * C;
            float *a = att + ((size_t)b * NH + h) * T * T;
            float *o = out + (size_t)b * T * C + (size_t)h * hs;
            for (int r0 = 0; r0 < T; r0 += ATT_BLK) {
                int r1 = r0 + ATT_BLK < T ? r0 + ATT_BLK : T, rb = r1 - r0;
                float *ab = a + (size_t)r0 * T;
                /* scores (rb, r1) = scale * q[r0:r1] (rb,hs) @ k[0:r1] (r1,hs)^T */
                sgemm_set(CblasNoTrans, CblasTrans, rb, r1, hs, scale, q + (size_t)r0 * C3, C3,
                          k, C3, ab, T);
                for (int i = r0; i < r1; i++) {
                    float *row = a + (size_t)i * T;
                    float mx = -INFINITY, sum = 0.0f;
                    for (int j = 0; j <= i; j++)
                        mx = row[j] > mx ? row[j] : mx;
#pragma omp simd reduction(+ : sum)
                    for (int j = 0; j <= i; j++) {
                        float e = expf(row[j] - mx);
                        row[j] = e;
                        sum += e;
                    }
                    float inv = 1.0f / sum;
#pragma omp simd
                    for (int j = 0; j <= i; j++)
                        row[j] *= inv;
                    for (int j = i + 1; j < r1; j++)
                        row[j] = 0.0f;
                }
                /* out[r0:r1] (rb,hs) = att (rb, r1) @ v[0:r1] (r1,hs) */
                sgemm_set(CblasNoTrans, CblasNoTrans, rb, hs, r1, 1.0f, ab, T, v, C3,
                          o + (size_t)r0 * C, C);
            }
        }
    }
}

void attention_backward(float *dqkv, float *datt, const float *dout, const float *att,
                        const float *qkv, int B, int T, int C, int NH, int accumulate)
{
    int hs = C / NH, C3 = 3 * C;
    float scale = 1.0f / sqrtf((float)hs);
    float beta = accumulate ? 1.0f : 0.0f;
    int nblk = (T + ATT_BLK - 1) / ATT_BLK;
    int par = B * NH > 1 && (size_t)B * NH * T * T >= OPS_PAR_MIN;
#pragma omp parallel for collapse(2) schedule(static) if (par)
    for (int b = 0; b < B; b++) {
        for (int h = 0; h < NH; h++) {
            const float *q = qkv + (size_t)b * T * C3 + (size_t)h * hs;
            const float *k = q + C, *v = q + 2 * C;
            float *dq = dqkv + (size_t)b * T * C3 + (size_t)h * hs;
            float *dk = dq + C, *dv = dq + 2 * C;
            const float *a = att + ((size_t)b * NH + h) * T * T;
            float *da = datt + ((size_t)b * NH + h) * T * T;
            const float *g = dout + (size_t)b * T * C + (size_t)h * hs;
            /* Last block first: it covers every key row, so its dk and dv
             * products may overwrite (beta) and the others add. */
            for (int blk = nblk - 1; blk >= 0; blk--) {
                int r0 = blk * ATT_BLK, r1 = r0 + ATT_BLK < T ? r0 + ATT_BLK : T, rb = r1 - r0;
                float bkv = blk == nblk - 1 ? beta : 1.0f;
                const float *ab = a + (size_t)r0 * T, *gb = g + (size_t)r0 * C;
                float *db = da + (size_t)r0 * T;
                /* datt (rb,r1) = dout[r0:r1] @ v[0:r1]^T;  dv[0:r1] += att^T @ dout[r0:r1] */
                sgemm_set(CblasNoTrans, CblasTrans, rb, r1, hs, 1.0f, gb, C, v, C3, db, T);
                sgemm_acc(CblasTrans, CblasNoTrans, r1, hs, rb, 1.0f, ab, T, gb, C, bkv, dv, C3);
                /* softmax backward in place: dpre = att * (datt - sum(att * datt)) */
                for (int i = r0; i < r1; i++) {
                    const float *ar = a + (size_t)i * T;
                    float *dr = da + (size_t)i * T;
                    float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
                    for (int j = 0; j <= i; j++)
                        dot += ar[j] * dr[j];
#pragma omp simd
                    for (int j = 0; j <= i; j++)
                        dr[j] = ar[j] * (dr[j] - dot);
                    for (int j = i + 1; j < r1; j++)
                        dr[j] = 0.0f;
                }
                /* dq[r0:r1] = scale * dpre @ k[0:r1];  dk[0:r1] += scale * dpre^T @ q[r0:r1] */
                sgemm_acc(CblasNoTrans, CblasNoTrans, rb, hs, r1, scale, db, T, k, C3, beta,
                          dq + (size_t)r0 * C3, C3);
                sgemm_acc(CblasTrans, CblasNoTrans, r1, hs, rb, scale, db, T, q + (size_t)r0 * C3,
                          C3, bkv, dk, C3);
            }
        }
    }
}

/* ---- softmax cross-entropy ---- */

double softmax_xent_forward(float *probs, float *losses, long *ncorrect, const float *logits,
                            const int *targets, int N, int V)
{
#pragma omp parallel for if ((size_t)N * V >= OPS_PAR_MIN)
    for (int n = 0; n < N; n++) {
        const float *x = logits + (size_t)n * V;
        float *p = probs + (size_t)n * V;
        float mx = -INFINITY, sum = 0.0f;
        for (int j = 0; j < V; j++)
            mx = x[j] > mx ? x[j] : mx;
#pragma omp simd reduction(+ : sum)
        for (int j = 0; j < V; j++) {
            float e = expf(x[j] - mx);
            p[j] = e;
            sum += e;
        }
        float inv = 1.0f / sum;
#pragma omp simd
        for (int j = 0; j < V; j++)
            p[j] *= inv;
        losses[n] = logf(sum) + mx - x[targets[n]];
    }
    double total = 0.0;
    for (int n = 0; n < N; n++)
        total += losses[n];
    if (ncorrect) {
        long hits = 0;
        for (int n = 0; n < N; n++) {
            const float *x = logits + (size_t)n * V;
            int best = 0;
            for (int j = 1; j < V; j++)
                if (x[j] > x[best])
                    best = j;
            hits += best == targets[n];
        }
        *ncorrect = hits;
    }
    return total;
}

void softmax_xent_backward(float *dlogits, const float *probs, const int *targets,
                           int N, int V, float scale)
{
#pragma omp parallel for if ((size_t)N * V >= OPS_PAR_MIN)
    for (int n = 0; n < N; n++) {
        const float *p = probs + (size_t)n * V;
        float *d = dlogits + (size_t)n * V;
#pragma omp simd
        for (int j = 0; j < V; j++)
            d[j] = p[j] * scale;
        d[targets[n]] -= scale;
    }
}

/* ---- batch split ---- */

const char *nn_path_str(int path)
{
    static const char *const names[NN_PATH_COUNT] = {"auto", "plain", "split", "serial", "cols"};
    return path >= 0 && path < NN_PATH_COUNT ? names[path] : "?";
}

float *nn_falloc(size_t n)
{
    const size_t bytes = (n ? n : 1) * sizeof(float);
    const size_t blocks = (bytes + NN_FALLOC_BLOCK - 1) / NN_FALLOC_BLOCK;
    float *p = aligned_alloc(NN_FALLOC_BLOCK, blocks * NN_FALLOC_BLOCK);
    if (!p)
        return NULL;
    /* The last block gets huge pages only when at least half of it is used. */
    size_t last = bytes - (blocks - 1) * NN_FALLOC_BLOCK;
    size_t huge = (blocks - (last < NN_FALLOC_BLOCK / 2)) * NN_FALLOC_BLOCK;
    if (huge)
        (void)madvise(p, huge, MADV_HUGEPAGE); /* advice: failing changes nothing */
    return p;
}

float *nn_fzalloc(size_t n)
{
    float *p = nn_falloc(n);
    if (p)
        memset(p, 0, (n ? n : 1) * sizeof(float));
    return p;
}

int nn_split_threads(nn_split *sp, int path, int units, int min_units, size_t nparams)
{
    if (path == NN_PATH_PLAIN || path == NN_PATH_SERIAL || path == NN_PATH_COLS ||
        omp_in_parallel() || units < 1)
        return 0;
    int nt = omp_get_max_threads();
    nt = nt > units ? units : nt;
    nt = nt > NN_SPLIT_MAX_THREADS ? NN_SPLIT_MAX_THREADS : nt;
    size_t stride = (nparams + 15) & ~(size_t)15;
    if (path == NN_PATH_AUTO &&
        (nt < 2 || units < min_units * nt || (size_t)(nt - 1) * stride > NN_SPLIT_MAX_FLOATS))
        return 0;
    if (nt - 1 > sp->n || stride != sp->stride) {
        float *g = nn_falloc((size_t)(nt - 1) * stride);
        if (!g)
            return 0;
        free(sp->buf);
        sp->buf = g;
        sp->stride = stride;
        sp->n = nt - 1;
    }
    return nt;
}

int nn_serial_begin(void)
{
    int nt = omp_get_max_threads();
    omp_set_num_threads(1);
    return nt;
}

void nn_serial_end(int threads)
{
    omp_set_num_threads(threads);
}

float *nn_split_grads(nn_split *sp, int t, size_t nparams)
{
    float *g = sp->buf + (size_t)(t - 1) * sp->stride;
    memset(g, 0, nparams * sizeof(float));
    return g;
}

void nn_split_reduce(float *grads, const nn_split *sp, size_t nparams, int t, int nt)
{
    size_t chunk = ((nparams + (size_t)nt - 1) / (size_t)nt + 15) & ~(size_t)15;
    size_t i0 = (size_t)t * chunk < nparams ? (size_t)t * chunk : nparams;
    size_t i1 = i0 + chunk < nparams ? i0 + chunk : nparams;
    for (int u = 1; u < nt; u++) {
        const float *restrict g = sp->buf + (size_t)(u - 1) * sp->stride;
        float *restrict d = grads;
#pragma omp simd
        for (size_t i = i0; i < i1; i++)
            d[i] += g[i];
    }
}

void nn_split_rows(int units, int t, int nt, int *r0, int *r1)
{
    *r0 = (int)((long)units * t / nt);
    *r1 = (int)((long)units * (t + 1) / nt);
}

void nn_split_free(nn_split *sp)
{
    free(sp->buf);
    memset(sp, 0, sizeof *sp);
}

int nn_split_forward(int nt, int units, nn_rows_forward_fn fn, const nn_rows_ctx *c,
                     long *hits)
{
    long th[NN_SPLIT_MAX_THREADS];
    int team = nt;
#pragma omp parallel num_threads(nt)
    {
        int t = omp_get_thread_num(), n = omp_get_num_threads(), r0, r1;
        nn_split_rows(units, t, n, &r0, &r1);
        th[t] = fn(c, r0, r1, hits != NULL);
        if (t == 0)
            team = n;
    }
    if (hits) {
        long h = 0;
        for (int t = 0; t < team; t++)
            h += th[t];
        *hits = h;
    }
    return team;
}

void nn_split_backward(nn_split *sp, float *grads, size_t nparams, int nt, int units,
                       nn_rows_backward_fn fn, const nn_rows_ctx *c)
{
#pragma omp parallel num_threads(nt)
    {
        int t = omp_get_thread_num(), n = omp_get_num_threads(), r0, r1;
        nn_split_rows(units, t, n, &r0, &r1);
        fn(c, t == 0 ? grads : nn_split_grads(sp, t, nparams), r0, r1);
#pragma omp barrier
        nn_split_reduce(grads, sp, nparams, t, n);
    }
}

float nn_dropout_clamp(float p)
{
    if (!(p >= 0.0f))
        p = 0.0f;
    return p > 0.99f ? 0.99f : p;
}

/* ---- column split: the team barrier ---- */

void nn_team_init(nn_team *tm)
{
    atomic_init(&tm->arrived, 0);
    atomic_init(&tm->gen, 0);
    atomic_init(&tm->next, 0);
}

int nn_team_next(nn_team *tm)
{
    return atomic_fetch_add_explicit(&tm->next, 1, memory_order_relaxed);
}

void nn_team_barrier(nn_team *tm)
{
    int nt = omp_get_num_threads();
    if (nt < 2) {
        atomic_store_explicit(&tm->next, 0, memory_order_relaxed);
        return;
    }
    int g = atomic_load_explicit(&tm->gen, memory_order_acquire);
    if (atomic_fetch_add_explicit(&tm->arrived, 1, memory_order_acq_rel) == nt - 1) {
        atomic_store_explicit(&tm->arrived, 0, memory_order_relaxed);
        atomic_store_explicit(&tm->next, 0, memory_order_relaxed);
        atomic_store_explicit(&tm->gen, g + 1, memory_order_release);
        return;
    }
    for (long i = 0; atomic_load_explicit(&tm->gen, memory_order_acquire) == g; i++) {
        if (i < NN_TEAM_SPIN)
            OPS_PAUSE();
        else
            sched_yield();
    }
}
