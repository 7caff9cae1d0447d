/* tests/test_blas.c: what the engine promises about OpenBLAS kernels and
 * thread counts (README.md "What replays bit for bit"):
 *   - the same thread count gives the same bits, run after run;
 *   - another thread count stays within a stated tolerance (OpenBLAS's
 *     threaded sgemm splits its work by the thread count, and with some
 *     kernel families, Zen and Haswell among them, that changes the order
 *     of the sums in the last bits);
 *   - the kernels in use are the ones OPENBLAS_CORETYPE asks for.
 * scripts/kernel_matrix.sh reruns this suite (with ops, mlp, gpt) under
 * every OpenBLAS kernel family the CPU can execute. */
#include <criterion/criterion.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cblas.h>

#include "nn/gpt.h"
#include "nn/mlp.h"
#include "util/blas_kernels.h"
#include "util/rng.h"

#include "gradcheck.h"

/* Across thread counts, after STEPS SGD steps: |a - b| <= ATOL + RTOL |a|
 * for every parameter and loss: a few float roundings.  Measured on AMD
 * EPYC (Zen 3) with the Zen and Haswell kernels: the worst parameter of the
 * MLP at 0.054, of the GPT at 0.096 of this tolerance (the test logs it). */
#define STEPS 4
#define ATOL 5e-8
#define RTOL 1e-6

Test(blas, kernel_family_is_the_one_asked_for)
{
    tl_blas_info bi;
    tl_blas_info_get(&bi);
    const char *env = getenv("OPENBLAS_CORETYPE");
    if (env && *env) {
        cr_assert(!strcasecmp(bi.core, env), "OPENBLAS_CORETYPE=%s but OpenBLAS runs %s", env, bi.core);
        /* An AVX2 family asked for on an AVX-512 CPU: the header says what
         * it leaves unused. */
        int narrow = !strcasecmp(env, "Haswell") || !strcasecmp(env, "Zen");
        const char *chose = getenv(TL_BLAS_CHOSE_ENV);
        int by_tunelab = chose && !strcasecmp(chose, env);
        cr_assert(!!strstr(bi.reason, "also runs the AVX-512 family") ==
                      (narrow && !strcmp(bi.isa, "AVX-512") && !by_tunelab),
                  "reason '%s' for OPENBLAS_CORETYPE=%s on a %s CPU", bi.reason, env, bi.isa);
    }
    cr_assert(bi.cpu[0] && bi.core[0] && bi.reason[0]);
    cr_assert(bi.want[0] == 0 || !strcmp(bi.core, "Prescott"), "re-exec advised away from %s", bi.core);
    char d[512];
    tl_blas_describe(&bi, d, sizeof d);
    cr_assert(strstr(d, bi.core) && strstr(d, "cpu: "), "%s", d);
    const char *fam[5];
    int n = tl_blas_families(fam, 5);
    __builtin_cpu_init();
    int bf16 = !!__builtin_cpu_supports("avx512bf16");
    cr_assert(n == (!strcmp(bi.isa, "AVX-512") ? 3 + bf16 : !strcmp(bi.isa, "AVX2") ? 2 : 0),
              "%d families on a %s CPU%s", n, bi.isa, bf16 ? " with AVX512-BF16" : "");
    /* OpenBLAS's own pick, on a CPU it knows, is one of the families the
     * kernel matrix runs (here: Cooperlake on AMD Zen 5, Zen on Zen 3). */
    if (n > 0 && !(env && *env) && strcmp(bi.core, "Prescott")) {
        int listed = 0;
        for (int i = 0; i < n; i++)
            listed |= !strcasecmp(fam[i], bi.core);
        cr_assert(listed, "OpenBLAS picked %s, which the kernel matrix does not run", bi.core);
    }
}

static float *urand(size_t n, rng *r)
{
    float *x = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(rng_uniform(r) * 2.0 - 1.0);
    return x;
}

/* STEPS SGD steps of a model at `threads` threads from a fixed seed;
 * returns its parameters (caller frees), writes the losses and *n. */
static float *train_steps(int is_gpt, int threads, float *losses, size_t *n)
{
    omp_set_num_threads(threads);
    rng r;
    rng_seed(&r, 3, 0);
    nn_model *m = NULL;
    tl_err err = {0};
    enum { B = 128, T = 64, D = 784, GB = 16 };
    if (is_gpt) {
        gpt_config c = {.vocab = 40, .ctx = T, .d_model = 128, .layers = 2, .heads = 4,
                        .dropout = 0.1f};
        cr_assert_eq(gpt_create(&c, GB, &r, &m, &err), 0, "%s", err.msg);
    } else {
        mlp_config c = {.in_dim = D, .nhidden = 2, .hidden = {256, 256}, .out_dim = 10,
                        .act = NN_RELU, .dropout = 0.1f};
        cr_assert_eq(mlp_create(&c, B, &r, &m, &err), 0, "%s", err.msg);
    }
    float *x = urand((size_t)B * D, &r);
    int *tok = malloc(sizeof(int) * GB * (T + 1));
    for (int i = 0; i < GB * (T + 1); i++)
        tok[i] = (int)rng_below(&r, is_gpt ? 40 : 10);
    nn_batch b = is_gpt ? (nn_batch){.B = GB, .T = T, .tokens = tok, .targets = tok + 1}
                        : (nn_batch){.B = B, .T = 1, .x = x, .targets = tok};
    for (int s = 0; s < STEPS; s++)
        losses[s] = (float)gc_sgd_step(m, &b, &r, 0.05f);
    *n = m->nparams;
    float *p = malloc(m->nparams * sizeof(float));
    memcpy(p, m->params, m->nparams * sizeof(float));
    nn_model_free(m);
    free(x), free(tok);
    return p;
}

/* Largest |a - b| / (ATOL + RTOL |a|) over n floats (<= 1: within). */
static double worst(const float *a, const float *b, size_t n)
{
    double w = 0.0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - b[i]) / (ATOL + RTOL * fabs((double)a[i]));
        w = e > w ? e : w;
    }
    return w;
}

Test(blas, training_gives_the_same_bits_at_the_same_thread_count)
{
    for (int is_gpt = 0; is_gpt < 2; is_gpt++)
        for (int t = 1; t <= 2; t++) {
            float l0[STEPS], l1[STEPS];
            size_t n;
            float *a = train_steps(is_gpt, t, l0, &n), *b = train_steps(is_gpt, t, l1, &n);
            cr_assert(memcmp(l0, l1, sizeof l0) == 0, "%s at %d threads: losses",
                      is_gpt ? "gpt" : "mlp", t);
            cr_assert(memcmp(a, b, n * sizeof(float)) == 0, "%s at %d threads: parameters",
                      is_gpt ? "gpt" : "mlp", t);
            cr_assert(l0[STEPS - 1] < l0[0], "%s trains", is_gpt ? "gpt" : "mlp");
            free(a), free(b);
        }
}

Test(blas, training_at_other_thread_counts_stays_within_tolerance)
{
    for (int is_gpt = 0; is_gpt < 2; is_gpt++) {
        float loss[3][STEPS];
        float *p[3];
        size_t n = 0;
        for (int t = 0; t < 3; t++)
            p[t] = train_steps(is_gpt, t + 1, loss[t], &n);
        for (int t = 1; t < 3; t++) {
            double wl = worst(loss[0], loss[t], STEPS), wp = worst(p[0], p[t], n);
            cr_log_info("%s, 1 vs %d threads (%s kernels): %s parameters, worst %.3g of the "
                        "tolerance", is_gpt ? "gpt" : "mlp", t + 1, tl_blas_core(),
                        memcmp(p[0], p[t], n * sizeof(float)) ? "other" : "the same", wp);
            cr_assert(wl <= 1.0, "%s losses at %d threads: %.3g x the tolerance",
                      is_gpt ? "gpt" : "mlp", t + 1, wl);
            cr_assert(wp <= 1.0, "%s parameters at %d threads: %.3g x the tolerance",
                      is_gpt ? "gpt" : "mlp", t + 1, wp);
        }
        for (int t = 0; t < 3; t++)
            free(p[t]);
    }
    omp_set_num_threads(2);
}

/* The weight gradient the report on AMD named (dW = dout^T @ inp): at 1
 * and 2 threads it agrees within float rounding of its N-term sums. */
Test(blas, weight_gradient_sgemm_across_thread_counts_is_within_rounding)
{
    rng r;
    rng_seed(&r, 11, 0);
    int shapes[][3] = {{64, 32, 32}, {256, 64, 64}, {128, 784, 256}, {1024, 256, 256}};
    for (int s = 0; s < 4; s++) {
        int N = shapes[s][0], C = shapes[s][1], OC = shapes[s][2];
        float *x = urand((size_t)N * C, &r), *g = urand((size_t)N * OC, &r);
        float *dw[2];
        for (int t = 0; t < 2; t++) {
            omp_set_num_threads(t + 1);
            dw[t] = calloc((size_t)OC * C, sizeof(float));
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, C, N, 1.0f, g, OC, x, C, 1.0f,
                        dw[t], C);
        }
        /* terms of size <= 1, N of them: float rounding bound ~ N * 2^-24 */
        for (size_t i = 0; i < (size_t)OC * C; i++)
            cr_assert(fabsf(dw[0][i] - dw[1][i]) <= N * 1.2e-7f, "N %d C %d OC %d [%zu]: %g vs %g",
                      N, C, OC, i, (double)dw[0][i], (double)dw[1][i]);
        free(dw[0]), free(dw[1]), free(x), free(g);
    }
    omp_set_num_threads(2);
}
