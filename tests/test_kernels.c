/* tests/test_kernels.c: every kernel path of the models gives the results
 * of the reference path (nn/ops.h enum nn_path):
 *   - the batch-split path (each thread a slice of the batch, per-thread
 *     weight gradients added in thread order) against the plain path (each
 *     op over the whole batch), for the MLP (ReLU and GELU, with dropout)
 *     and the GPT (with dropout): the same losses and correct counts, and
 *     gradients within TOL_A x (largest gradient of the tensor) + TOL_R x
 *     |g| (the split path sums each weight gradient in per-thread parts, a
 *     few float roundings: measured on AMD EPYC (Zen 3), Zen kernels, at
 *     most 0.04 of this tolerance, the GPT; the MLPs 0.01);
 *   - the split path gives the same bits run after run at the same thread
 *     count, and at one thread the same bits as the plain path;
 *   - gradients accumulate over two backwards on both paths (the contract
 *     of nn_model's backward);
 *   - the serial path (MLP) against the plain path at 2 threads within the
 *     same tolerance, and bit for bit against the plain path at 1 thread;
 *   - the column split path (MLP) against the plain path at 2 and 1 threads
 *     within the same tolerance, and the same bits run to run;
 *   - the MLP's fused training step (one region for forward, backward and
 *     update) gives the bits of the separate calls;
 *   - AUTO picks the path by shapes and thread count only.
 * scripts/kernel_matrix.sh reruns this suite under every OpenBLAS kernel
 * family the CPU can execute. */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "nn/gpt.h"
#include "nn/mlp.h"
#include "nn/ops.h"
#include "nn/optim.h"
#include "util/rng.h"

#define TOL_A 1e-5
#define TOL_R 1e-5

typedef struct run {
    float loss[2];
    long hits;
    float *grads;
    size_t n;
} run;

static void set_path(nn_model *m, int is_gpt, int path)
{
    if (is_gpt)
        gpt_set_path(m, path);
    else
        mlp_set_path(m, path);
}

static int last_path(const nn_model *m, int is_gpt)
{
    return is_gpt ? gpt_last_path(m) : mlp_last_path(m);
}

/* Builds model `kind` (0 MLP ReLU, 1 MLP GELU, 2 GPT) from a fixed seed,
 * runs two training forwards and backwards on `path` at `threads` threads
 * (gradients accumulating) and an evaluation forward; returns the
 * gradients (caller frees) and what the forwards said. */
static run run_path(int kind, int path, int threads, int B)
{
    int is_gpt = kind == 2;
    omp_set_num_threads(threads);
    rng r;
    rng_seed(&r, 17, 0);
    nn_model *m = NULL;
    tl_err err = {0};
    enum { D = 96, T = 48, V = 30 };
    if (is_gpt) {
        gpt_config c = {.vocab = V, .ctx = T, .d_model = 64, .layers = 2, .heads = 4,
                        .dropout = 0.1f};
        cr_assert_eq(gpt_create(&c, B, &r, &m, &err), 0, "%s", err.msg);
    } else {
        mlp_config c = {.in_dim = D, .nhidden = 2, .hidden = {80, 48}, .out_dim = 7,
                        .act = kind ? NN_GELU : NN_RELU, .dropout = 0.2f};
        cr_assert_eq(mlp_create(&c, B, &r, &m, &err), 0, "%s", err.msg);
    }
    set_path(m, is_gpt, path);
    int tt = is_gpt ? T : 1;
    float *x = malloc(sizeof(float) * (size_t)B * D);
    int *tok = malloc(sizeof(int) * (size_t)B * tt + sizeof(int));
    for (size_t i = 0; i < (size_t)B * D; i++)
        x[i] = (float)(rng_uniform(&r) * 2.0 - 1.0);
    for (int i = 0; i < B * tt + 1; i++)
        tok[i] = (int)rng_below(&r, is_gpt ? V : 7);
    nn_batch b = is_gpt ? (nn_batch){.B = B, .T = T, .tokens = tok, .targets = tok + 1}
                        : (nn_batch){.B = B, .T = 1, .x = x, .targets = tok};
    run out = {0};
    nn_zero_grad(m);
    for (int k = 0; k < 2; k++) {
        out.loss[k] = m->vt->forward(m, &b, 1, &r, NULL);
        m->vt->backward(m, &b, 0.5f);
    }
    int want = path == NN_PATH_PLAIN    ? NN_PATH_PLAIN
               : path == NN_PATH_SERIAL ? (is_gpt ? NN_PATH_PLAIN : NN_PATH_SERIAL)
               : path == NN_PATH_COLS   ? (is_gpt ? NN_PATH_PLAIN : NN_PATH_COLS)
                                        : NN_PATH_SPLIT;
    cr_assert_eq(last_path(m, is_gpt), want, "kind %d, path %s at %d threads took %s", kind,
                 nn_path_str(path), threads, nn_path_str(last_path(m, is_gpt)));
    m->vt->forward(m, &b, 0, NULL, &out.hits);
    out.n = m->nparams;
    out.grads = malloc(m->nparams * sizeof(float));
    memcpy(out.grads, m->grads, m->nparams * sizeof(float));
    nn_model_free(m);
    free(x), free(tok);
    return out;
}

/* Largest |a - b| / (TOL_A max|a| + TOL_R |a|) over n floats (<= 1: within). */
static double worst(const float *a, const float *b, size_t n)
{
    double amax = 0.0, w = 0.0;
    for (size_t i = 0; i < n; i++)
        amax = fabs((double)a[i]) > amax ? fabs((double)a[i]) : amax;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - b[i]) / (TOL_A * amax + TOL_R * fabs((double)a[i]) + 1e-30);
        w = e > w ? e : w;
    }
    return w;
}

static const char *const kinds[3] = {"mlp relu", "mlp gelu", "gpt"};

/* Asserts that run s (path `name`) matches the plain run p of the same
 * kind and batch B: losses to 1e-6 relative, the same correct counts,
 * gradients within the tolerance (worst); logs the worst gradient. */
static void near_plain(const run *p, const run *s, int kind, int B, const char *name)
{
    for (int k = 0; k < 2; k++)
        cr_assert(fabsf(p->loss[k] - s->loss[k]) <= 1e-6f * fabsf(p->loss[k]),
                  "%s B %d loss %d: plain %.9g, %s %.9g", kinds[kind], B, k, (double)p->loss[k], name,
                  (double)s->loss[k]);
    cr_assert_eq(p->hits, s->hits, "%s B %d: correct counts %ld vs %ld", kinds[kind], B, p->hits, s->hits);
    double w = worst(p->grads, s->grads, p->n);
    cr_log_info("%s B %d: %s vs plain at %d threads, worst gradient %.3g of the tolerance", kinds[kind], B, name,
                omp_get_max_threads(), w);
    cr_assert(w <= 1.0, "%s B %d %s gradients: %.3g x the tolerance", kinds[kind], B, name, w);
}

Test(kernels, split_matches_plain_within_tolerance)
{
    for (int kind = 0; kind < 3; kind++) {
        int B = kind == 2 ? 5 : 37; /* uneven slices */
        run p = run_path(kind, NN_PATH_PLAIN, 2, B), s = run_path(kind, NN_PATH_SPLIT, 2, B);
        near_plain(&p, &s, kind, B, "split");
        free(p.grads), free(s.grads);
    }
    omp_set_num_threads(2);
}

Test(kernels, split_gives_the_same_bits_at_the_same_thread_count)
{
    for (int kind = 0; kind < 3; kind++) {
        int B = kind == 2 ? 4 : 32;
        run a = run_path(kind, NN_PATH_SPLIT, 2, B), b = run_path(kind, NN_PATH_SPLIT, 2, B);
        cr_assert(memcmp(a.loss, b.loss, sizeof a.loss) == 0, "%s losses", kinds[kind]);
        cr_assert(memcmp(a.grads, b.grads, a.n * sizeof(float)) == 0, "%s gradients", kinds[kind]);
        free(a.grads), free(b.grads);
        /* One thread: the split path runs the plain path's operations. */
        run p1 = run_path(kind, NN_PATH_PLAIN, 1, B), s1 = run_path(kind, NN_PATH_SPLIT, 1, B);
        cr_assert(memcmp(p1.loss, s1.loss, sizeof p1.loss) == 0, "%s losses at 1 thread",
                  kinds[kind]);
        cr_assert(memcmp(p1.grads, s1.grads, p1.n * sizeof(float)) == 0,
                  "%s gradients at 1 thread", kinds[kind]);
        free(p1.grads), free(s1.grads);
    }
    omp_set_num_threads(2);
}

/* The serial path runs the plain path's operations on one thread: at 2
 * threads it matches the plain path at 2 threads within the tolerance (the
 * threaded sgemms may split sums elsewhere) and gives exactly the plain
 * path's bits at 1 thread; it gives the same bits run after run, and the
 * caller's thread count is back afterwards. */
Test(kernels, serial_matches_plain_and_one_thread)
{
    for (int kind = 0; kind < 2; kind++) {
        int B = 37;
        run p = run_path(kind, NN_PATH_PLAIN, 2, B), s = run_path(kind, NN_PATH_SERIAL, 2, B);
        cr_assert_eq(omp_get_max_threads(), 2, "serial path left %d threads",
                     omp_get_max_threads());
        run s2 = run_path(kind, NN_PATH_SERIAL, 2, B), p1 = run_path(kind, NN_PATH_PLAIN, 1, B);
        omp_set_num_threads(2);
        near_plain(&p, &s, kind, B, "serial");
        cr_assert(memcmp(s.grads, s2.grads, s.n * sizeof(float)) == 0, "%s: serial run to run",
                  kinds[kind]);
        cr_assert(memcmp(s.loss, p1.loss, sizeof s.loss) == 0 &&
                      memcmp(s.grads, p1.grads, s.n * sizeof(float)) == 0,
                  "%s: serial at 2 threads must be the plain path at 1 thread", kinds[kind]);
        free(p.grads), free(s.grads), free(s2.grads), free(p1.grads);
    }
    omp_set_num_threads(2);
}

/* The column split path (MLP): within the tolerance of the plain path at
 * 2 and at 1 thread (its sgemms over column chunks may round the last bits
 * differently), the same bits run after run (whichever thread takes a
 * chunk); on an uneven batch and a batch of 1. */
Test(kernels, cols_matches_plain_and_one_thread)
{
    for (int kind = 0; kind < 2; kind++) {
        for (int B = 1; B <= 37; B += 36) {
            run p = run_path(kind, NN_PATH_PLAIN, 2, B), s = run_path(kind, NN_PATH_COLS, 2, B);
            run s2 = run_path(kind, NN_PATH_COLS, 2, B);
            near_plain(&p, &s, kind, B, "cols");
            cr_assert(memcmp(s.loss, s2.loss, sizeof s.loss) == 0 &&
                          memcmp(s.grads, s2.grads, s.n * sizeof(float)) == 0,
                      "%s B %d: cols run to run", kinds[kind], B);
            run p1 = run_path(kind, NN_PATH_PLAIN, 1, B), s1 = run_path(kind, NN_PATH_COLS, 1, B);
            near_plain(&p1, &s1, kind, B, "cols");
            free(p.grads), free(s.grads), free(s2.grads), free(p1.grads), free(s1.grads);
        }
    }
    omp_set_num_threads(2);
}

/* A thread count, a batch and the path AUTO must take. */
typedef struct auto_case {
    int threads, B, want;
} auto_case;

/* Runs an evaluation forward of m for each case (x, y: inputs and targets
 * for the largest batch) and checks the path it took. */
static void check_auto(nn_model *m, const float *x, const int *y, const auto_case *cases,
                       size_t n)
{
    for (size_t i = 0; i < n; i++) {
        omp_set_num_threads(cases[i].threads);
        nn_batch b = {.B = cases[i].B, .T = 1, .x = x, .targets = y};
        m->vt->forward(m, &b, 0, NULL, NULL);
        cr_assert_eq(mlp_last_path(m), cases[i].want, "case %zu took %s", i,
                     nn_path_str(mlp_last_path(m)));
    }
}

/* AUTO takes the column split below MLP_SPLIT_MIN_ROWS rows per thread
 * when the layers are wide and the products big enough. */
Test(kernels, auto_picks_cols_for_small_batches)
{
    rng r;
    rng_seed(&r, 5, 0);
    tl_err err = {0};
    nn_model *m = NULL;
    mlp_config c = {.in_dim = 1024, .nhidden = 2, .hidden = {128, 128}, .out_dim = 10,
                    .act = NN_RELU};
    cr_assert_eq(mlp_create(&c, 64, &r, &m, &err), 0, "%s", err.msg);
    float *x = calloc(64 * 1024, sizeof(float));
    int y[64] = {0};
    const auto_case cases[] = {
        {2, 32, NN_PATH_COLS},
        {2, 2 * MLP_SPLIT_MIN_ROWS - 1, NN_PATH_COLS},
        {2, 2 * MLP_SPLIT_MIN_ROWS, NN_PATH_SPLIT},
        {1, 32, NN_PATH_PLAIN},
        {2, 4, NN_PATH_PLAIN}, /* 4 x 148736 multiply-adds < MLP_COLS_MIN_MACS */
    };
    check_auto(m, x, y, cases, sizeof cases / sizeof cases[0]);
    cr_assert_str_eq(nn_path_str(NN_PATH_COLS), "cols");
    nn_model_free(m);
    free(x);
    omp_set_num_threads(2);
}

Test(kernels, auto_picks_by_shape_and_threads)
{
    rng r;
    rng_seed(&r, 5, 0);
    tl_err err = {0};
    nn_model *m = NULL;
    mlp_config c = {.in_dim = 4, .nhidden = 1, .hidden = {6}, .out_dim = 3, .act = NN_RELU};
    cr_assert_eq(mlp_create(&c, 64, &r, &m, &err), 0, "%s", err.msg);
    cr_assert_eq(mlp_last_path(m), NN_PATH_AUTO);
    float x[64 * 4] = {0};
    int y[64] = {0};
    const auto_case cases[] = {
        {1, 64, NN_PATH_PLAIN},
        {2, 64, NN_PATH_SPLIT},
        {2, 2 * MLP_SPLIT_MIN_ROWS, NN_PATH_SPLIT},
        {2, 2 * MLP_SPLIT_MIN_ROWS - 1, NN_PATH_PLAIN}, /* too narrow for cols */
        {2, 1, NN_PATH_PLAIN},
    };
    check_auto(m, x, y, cases, sizeof cases / sizeof cases[0]);
    /* Inside a parallel region a model runs plain on its calling thread. */
    int inside = -1;
    nn_batch b = {.B = 64, .T = 1, .x = x, .targets = y};
#pragma omp parallel num_threads(2)
    {
#pragma omp single
        {
            m->vt->forward(m, &b, 0, NULL, NULL);
            inside = mlp_last_path(m);
        }
    }
    cr_assert_eq(inside, NN_PATH_PLAIN);
    mlp_set_path(m, 99); /* out of range: ignored */
    m->vt->forward(m, &b, 0, NULL, NULL);
    cr_assert_eq(mlp_last_path(m), NN_PATH_SPLIT);
    cr_assert_str_eq(nn_path_str(NN_PATH_SPLIT), "split");
    cr_assert_str_eq(nn_path_str(NN_PATH_SERIAL), "serial");
    cr_assert_str_eq(nn_path_str(7), "?");
    nn_model_free(m);
    omp_set_num_threads(2);
}

/* The fused passes of nn/ops.h give the bits of the separate ops they
 * replace: linear_act_drop_forward = linear_act_forward then
 * dropout_forward; linear_act_backward = the input product (linear_backward
 * with accumulate 0), dropout_backward, act_backward and the bias column
 * sums.  ReLU and GELU, with and without a mask, at 1 and 2 threads, on a
 * size that goes parallel (N x C >= OPS_PAR_MIN) and a small one. */
Test(kernels, fused_bias_act_dropout_passes_give_the_separate_ops_bits)
{
    enum { CIN = 48, OC = 24 }; /* CIN >= 32: the bias sums split by column */
    int sizes[2] = {7, OPS_PAR_MIN / CIN + 5};
    for (int si = 0; si < 2; si++)
        for (int threads = 1; threads <= 2; threads++)
            for (int act = 0; act < NN_ACT_COUNT; act++)
                for (int drop = 0; drop < 2; drop++) {
                    omp_set_num_threads(threads);
                    int N = sizes[si];
                    size_t nin = (size_t)N * CIN, nout = (size_t)N * OC;
                    rng r;
                    rng_seed(&r, 23, (uint64_t)(si * 8 + act * 2 + drop));
                    float *x = malloc(nin * sizeof(float)), *w = malloc(OC * CIN * sizeof(float));
                    float *bias = malloc(OC * sizeof(float)), *g = malloc(nout * sizeof(float));
                    float *pre[2], *out[2], *dx[2], *db[2];
                    for (int k = 0; k < 2; k++) {
                        pre[k] = malloc(nout * sizeof(float));
                        out[k] = malloc(nout * sizeof(float));
                        dx[k] = malloc(nin * sizeof(float));
                        db[k] = calloc(CIN, sizeof(float));
                    }
                    uint8_t *mask = malloc(nin), *mk = drop ? mask : NULL;
                    for (size_t i = 0; i < nin; i++)
                        x[i] = rng_uniformf(&r) * 2.0f - 1.0f;
                    for (int i = 0; i < OC * CIN; i++)
                        w[i] = rng_uniformf(&r) - 0.5f;
                    for (int i = 0; i < OC; i++)
                        bias[i] = rng_uniformf(&r) - 0.5f;
                    for (size_t i = 0; i < nout; i++)
                        g[i] = rng_uniformf(&r) - 0.5f;
                    dropout_mask(mask, 0.3f, nin, &r);
                    /* forward: fused, then the separate ops */
                    linear_act_drop_forward(out[0], pre[0], x, w, bias, mk, 0.3f, N, CIN, OC, act);
                    linear_act_forward(out[1], pre[1], x, w, bias, N, CIN, OC, act);
                    if (drop)
                        dropout_forward(out[1], out[1], mask, 0.3f, nout);
                    cr_assert(memcmp(out[0], out[1], nout * sizeof(float)) == 0 &&
                                  memcmp(pre[0], pre[1], nout * sizeof(float)) == 0,
                              "forward: N %d, %d threads, %s, dropout %d", N, threads,
                              nn_act_str(act), drop);
                    /* backward of a layer whose input came out of an
                     * activation: x stands for its saved tensor (the output
                     * under ReLU, the input under GELU) */
                    const float *sv = x;
                    float *wt = malloc(OC * CIN * sizeof(float));
                    memcpy(wt, w, OC * CIN * sizeof(float));
                    linear_act_backward(dx[0], db[0], g, wt, sv, mk, 0.3f, N, CIN, OC, act);
                    float *dw = calloc(OC * CIN, sizeof(float));
                    linear_backward(dx[1], dw, NULL, g, x, wt, N, CIN, OC, 0);
                    if (drop)
                        dropout_backward(dx[1], dx[1], mask, 0.3f, nin);
                    act_backward(dx[1], dx[1], sv, nin, act);
                    /* the column sums, row by row in order */
                    for (int n = 0; n < N; n++)
                        for (int c = 0; c < CIN; c++)
                            db[1][c] += dx[1][(size_t)n * CIN + c];
                    cr_assert(memcmp(dx[0], dx[1], nin * sizeof(float)) == 0,
                              "input gradient: N %d, %d threads, %s, dropout %d", N, threads,
                              nn_act_str(act), drop);
                    cr_assert(memcmp(db[0], db[1], CIN * sizeof(float)) == 0,
                              "bias gradient: N %d, %d threads, %s, dropout %d", N, threads,
                              nn_act_str(act), drop);
                    for (int k = 0; k < 2; k++)
                        free(pre[k]), free(out[k]), free(dx[k]), free(db[k]);
                    free(x), free(w), free(bias), free(g), free(mask), free(wt), free(dw);
                }
    omp_set_num_threads(2);
}

/* The update a fused step runs after its backward (nn_step_post). */
static void post_step(void *ctx, struct nn_team *tm)
{
    void **a = ctx;
    nn_model *m = a[0];
    double norm = optim_clip_step_team(a[1], m->params, m->grads, a[2], 0.5, tm);
    if (omp_get_thread_num() == 0)
        *(double *)a[3] = norm;
}

/* One MLP of run_path's shapes (kind 0 ReLU, 1 GELU) on path, a batch of B
 * and its optimizer. */
static nn_model *fused_model(int kind, int path, int B, float *x, int *y, optim *o)
{
    rng r;
    rng_seed(&r, 17, 0);
    nn_model *m = NULL;
    tl_err err = {0};
    mlp_config c = {.in_dim = 96, .nhidden = 2, .hidden = {80, 48}, .out_dim = 7,
                    .act = kind ? NN_GELU : NN_RELU, .dropout = 0.2f};
    cr_assert_eq(mlp_create(&c, B, &r, &m, &err), 0, "%s", err.msg);
    mlp_set_path(m, path);
    for (int i = 0; i < B * 96; i++)
        x[i] = (float)(rng_uniform(&r) * 2.0 - 1.0);
    for (int i = 0; i < B; i++)
        y[i] = (int)rng_below(&r, 7);
    cr_assert_eq(optim_init(o, OPTIM_ADAMW, m, &err), 0, "%s", err.msg);
    return m;
}

/* The MLP's fused training step (nn_model_vt.train_step: forward, backward
 * and the clipped AdamW update in one parallel region) gives the bits of
 * forward, a zeroed gradient buffer, backward and optim_clip_step, step
 * after step (three steps, gradients left as garbage before each fused
 * one: it writes them all), with dropout, ReLU and GELU, at 2 and 1
 * threads, batches 1 and 37; it declines off the cols path (returns 0 and
 * draws nothing from r); a non-finite loss leaves the parameters alone. */
Test(kernels, fused_train_step_gives_the_separate_calls_bits)
{
    optim_hparams h = {.lr = 0.01, .weight_decay = 0.1, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8};
    for (int threads = 2; threads >= 1; threads--)
        for (int kind = 0; kind < 2; kind++)
            for (int B = 1; B <= 37; B += 36) {
                omp_set_num_threads(threads);
                float *x = malloc(sizeof(float) * B * 96);
                int *y = malloc(sizeof(int) * B);
                optim o[2];
                nn_model *a = fused_model(kind, NN_PATH_COLS, B, x, y, &o[0]);
                nn_model *f = fused_model(kind, NN_PATH_COLS, B, x, y, &o[1]);
                nn_batch b = {.B = B, .T = 1, .x = x, .targets = y};
                for (int k = 0; k < 3; k++) {
                    rng ra, rf;
                    rng_seed(&ra, 99, (uint64_t)k);
                    rng_seed(&rf, 99, (uint64_t)k);
                    nn_zero_grad(a);
                    float la = a->vt->forward(a, &b, 1, &ra, NULL);
                    a->vt->backward(a, &b, 0.5f);
                    double na = optim_clip_step(&o[0], a->params, a->grads, &h, 0.5);
                    for (size_t i = 0; i < f->nparams; i++)
                        f->grads[i] = 12345.0f;
                    float lf = NAN;
                    double nf = NAN;
                    void *ctx[4] = {f, &o[1], &h, &nf};
                    cr_assert_eq(f->vt->train_step(f, &b, &rf, 0.5f, &(nn_step_post){post_step, ctx}, &lf),
                                 1, "the cols path must take the fused step");
                    cr_assert_eq(mlp_last_path(f), NN_PATH_COLS);
                    cr_assert(memcmp(&la, &lf, sizeof la) == 0 && memcmp(&na, &nf, sizeof na) == 0,
                              "%s B %d %d threads step %d: loss %.9g vs %.9g, norm %.17g vs %.17g",
                              kinds[kind], B, threads, k, la, lf, na, nf);
                    cr_assert(memcmp(a->grads, f->grads, a->nparams * sizeof(float)) == 0 &&
                                  memcmp(a->params, f->params, a->nparams * sizeof(float)) == 0,
                              "%s B %d %d threads step %d: gradients or parameters differ",
                              kinds[kind], B, threads, k);
                    cr_assert_eq(rng_u64(&ra), rng_u64(&rf), "the same draws from r");
                }
                /* a non-finite loss: no backward, no update */
                float *p0 = malloc(f->nparams * sizeof(float));
                memcpy(p0, f->params, f->nparams * sizeof(float));
                x[0] = NAN;
                rng rf;
                rng_seed(&rf, 1, 0);
                float lf = 0;
                double nf = 7;
                void *ctx[4] = {f, &o[1], &h, &nf};
                cr_assert_eq(f->vt->train_step(f, &b, &rf, 0.5f, &(nn_step_post){post_step, ctx}, &lf), 1);
                cr_assert(isnan(lf) && nf == 7 && memcmp(p0, f->params, f->nparams * sizeof(float)) == 0,
                          "a NaN loss must stop the step before its backward and update");
                /* off the cols path: declined, nothing drawn */
                mlp_set_path(f, NN_PATH_PLAIN);
                x[0] = 0.5f;
                rng r0, r1;
                rng_seed(&r0, 3, 0);
                rng_seed(&r1, 3, 0);
                cr_assert_eq(f->vt->train_step(f, &b, &r0, 0.5f, &(nn_step_post){post_step, ctx}, &lf), 0);
                cr_assert(rng_u64(&r0) == rng_u64(&r1) &&
                              memcmp(p0, f->params, f->nparams * sizeof(float)) == 0,
                          "a declined step must change nothing");
                free(p0);
                for (int j = 0; j < 2; j++)
                    optim_free(&o[j]);
                nn_model_free(a), nn_model_free(f);
                free(x), free(y);
            }
    omp_set_num_threads(2);
}
