/* bench/bench_train.c: tunelab's side of `make bench` (scripts/bench.sh).
 *
 * What it does: times one training workload of
 * /work/shared/benchmarks/workloads.md on the calling process's OpenMP
 * threads and prints one flat JSON object on stdout, with the same keys as
 * scripts/bench_torch.py:
 *   --workload mlp32|mlp128|mlp1024  784-256-256-10 ReLU MLP, batch 32/128/1024
 *   --workload gpt     vocab 96, context 128, d_model 128, 4 layers, 4 heads,
 *                      16 sequences
 *     one step = zero grads, forward, backward, AdamW (lr 1e-3, wd 0.01) on
 *     synthetic inputs from a fixed seed; 10 warm-up steps, then 5 repeats
 *     of max(50, about 0.5 s worth of) steps; median, min and max throughput.
 *   --workload epoch   epochs of the MLP on the 60000 Fashion-MNIST training
 *                      images, batch 128, reshuffled each epoch (synthetic
 *                      data of the same size, said in "data", when the files
 *                      are missing); seconds per epoch, batch gather included.
 *   --sgemm            cblas_sgemm 2048x2048x2048: best and median GFLOP/s.
 *   --corename         prints OpenBLAS's core name (bench.sh checks it).
 *   --describe         one JSON object: the CPU model, its widest vector ISA
 *                      (AVX2, AVX-512), the OpenBLAS kernel family and why,
 *                      and the small-matrix library (none: libxsmm is not
 *                      used, see README "Speed").
 * Every workload line names the kernel path the model took ("path": plain,
 * split, cols or serial, nn/ops.h enum nn_path); --path forces one
 * (default auto).
 * It takes the kernels OpenBLAS loads: scripts/bench.sh sets
 * OPENBLAS_CORETYPE where OpenBLAS falls back to Prescott.
 * Flush-to-zero and denormals-are-zero are set in the main thread before
 * any other thread exists (so OpenMP workers inherit them) and again in
 * every OpenMP thread; --no-ftz leaves them off, to show what they buy.
 *
 * What it does not do: compare with PyTorch or print a table (bench.sh),
 * check numerical results (the tests do), or measure evaluation.
 */
#include <cblas.h>
#include <float.h>
#include <math.h>
#include <omp.h>
#include <pmmintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xmmintrin.h>

#include "data/dataset.h"
#include "nn/gpt.h"
#include "nn/mlp.h"
#include "nn/model.h"
#include "nn/ops.h"
#include "nn/optim.h"
#include "nn/train.h"
#include "util/blas_kernels.h"
#include "util/err.h"
#include "util/rng.h"
#include "util/timer.h"

/* OpenBLAS extras (not in cblas.h of every build). */
char *openblas_get_corename(void);
void openblas_set_num_threads(int n);

#define SEED 1234
#define MLP_IN 784
#define MLP_HIDDEN 256
#define MLP_OUT 10
#define EPOCH_BATCH 128
#define GPT_V 96
#define GPT_T 128
#define GPT_C 128
#define GPT_L 4
#define GPT_NH 4
#define GPT_B 16

typedef struct opts {
    const char *workload;
    int threads;
    int quick;
    int repeats;        /* 0: default */
    int epochs;         /* 0: default */
    int ftz;
    int path;           /* enum nn_path */
    const char *fmnist;
} opts;

typedef struct timing_plan {
    int warmup, min_steps, repeats;
    double target_s;
} timing_plan;

static void set_ftz(int on)
{
    unsigned csr = _mm_getcsr();
    if (on)
        csr |= _MM_FLUSH_ZERO_ON | _MM_DENORMALS_ZERO_ON;
    else
        csr &= ~(unsigned)(_MM_FLUSH_ZERO_ON | _MM_DENORMALS_ZERO_ON);
    _mm_setcsr(csr);
}

static void set_ftz_all_threads(int on)
{
    if (on) {
        train_enable_ftz();
        return;
    }
    set_ftz(0);
#pragma omp parallel
    set_ftz(0);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of v[0..n), sorting v in place. */
static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Prints s as a JSON string literal (quotes, backslashes and control
 * characters escaped). */
static void print_json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

/* ---- sgemm peak ---- */

static int bench_sgemm(const opts *o)
{
    const int n = 2048;
    const int reps = o->quick ? 2 : (o->repeats > 0 ? o->repeats : 5);
    float *a = malloc(sizeof(float) * (size_t)n * n);
    float *b = malloc(sizeof(float) * (size_t)n * n);
    float *c = malloc(sizeof(float) * (size_t)n * n);
    if (!a || !b || !c) {
        free(a), free(b), free(c);
        fprintf(stderr, "bench_train: out of memory\n");
        return 1;
    }
    rng r;
    rng_seed(&r, SEED, 0);
    for (size_t i = 0; i < (size_t)n * n; i++) {
        a[i] = rng_uniformf(&r) - 0.5f;
        b[i] = rng_uniformf(&r) - 0.5f;
    }
    double gf[16];
    for (int k = -1; k < reps && k < 16; k++) {   /* k = -1: warm-up */
        double t0 = tl_now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n,
                    0.0f, c, n);
        double dt = tl_now() - t0;
        if (k >= 0)
            gf[k] = 2.0 * n * n * (double)n / dt * 1e-9;
    }
    int m = reps < 16 ? reps : 16;
    double best = 0;
    for (int k = 0; k < m; k++)
        best = gf[k] > best ? gf[k] : best;
    printf("{\"impl\": \"tunelab\", \"workload\": \"sgemm\", \"threads\": %d, \"n\": %d, "
           "\"best\": %.2f, \"median\": %.2f, \"repeats\": %d, \"corename\": \"%s\"}\n",
           o->threads, n, best, median(gf, m), m, openblas_get_corename());
    free(a), free(b), free(c);
    return 0;
}

/* ---- workloads ---- */

/* Matmul FLOPs of one training step (nn/mlp.h's mlp_flops counts the
 * forward only): 2 forward + 2 dW + 2 dX per weight and sample, less the
 * first layer's dX (the input needs no gradient). */
static double mlp_step_flops(int batch)
{
    double w0 = (double)MLP_IN * MLP_HIDDEN;
    double w = w0 + (double)MLP_HIDDEN * MLP_HIDDEN + (double)MLP_HIDDEN * MLP_OUT;
    return (6.0 * w - 2.0 * w0) * batch;
}

/* FLOPs of one training step (nn/gpt.h's gpt_flops counts the forward
 * only): 6 N tokens for the matmul weights N (qkv, proj, fc, fcproj, lm
 * head), plus 12 L T C per token for the attention scores and values
 * (PaLM). */
static double gpt_step_flops(int V, int T, int C, int L, int B)
{
    double n = (double)L * 12.0 * C * C + (double)C * V;
    double tokens = (double)B * T;
    return 6.0 * n * tokens + 12.0 * L * (double)T * C * tokens;
}

typedef struct stepper {
    nn_model *m;
    optim opt;
    optim_hparams h;
    nn_batch b;
    rng r;
    float loss;
} stepper;

/* The update of a fused step, on its team: the gradient norm (which the
 * trainer records every step) and AdamW, no clipping. */
static void post_update(void *ctx, struct nn_team *tm)
{
    stepper *s = ctx;
    optim_clip_step_team(&s->opt, s->m->params, s->m->grads, &s->h, 0.0, tm);
}

/* One training step as the trainer runs it (nn/train.c): in one parallel
 * region where the model offers it (nn_model_vt.train_step), else zero
 * grads, forward, backward, then the norm and AdamW in one region. */
static void step(stepper *s)
{
    if (s->m->vt->train_step &&
        s->m->vt->train_step(s->m, &s->b, &s->r, 1.0f, &(nn_step_post){post_update, s}, &s->loss))
        return;
    nn_zero_grad(s->m);
    s->loss = s->m->vt->forward(s->m, &s->b, 1, &s->r, NULL);
    s->m->vt->backward(s->m, &s->b, 1.0f);
    optim_clip_step(&s->opt, s->m->params, s->m->grads, &s->h, 0.0);
}

static void adamw_hparams(optim_hparams *h)
{
    memset(h, 0, sizeof *h);
    h->lr = 1e-3;
    h->weight_decay = 0.01;
    h->beta1 = 0.9;
    h->beta2 = 0.999;
    h->eps = 1e-8;
}

static int build_mlp(nn_model **m, int max_batch, rng *r, tl_err *err)
{
    mlp_config c = {.in_dim = MLP_IN, .nhidden = 2, .hidden = {MLP_HIDDEN, MLP_HIDDEN},
                    .out_dim = MLP_OUT, .act = NN_RELU, .dropout = 0.0f};
    return mlp_create(&c, max_batch, r, m, err);
}

static int build_gpt(nn_model **m, int max_batch, rng *r, tl_err *err)
{

    gpt_config c = {.vocab = GPT_V, .ctx = GPT_T, .d_model = GPT_C, .layers = GPT_L,
                    .heads = GPT_NH, .mlp_ratio = 4, .dropout = 0.0f};
    return gpt_create(&c, max_batch, r, m, err);
}

/* The kernel path the model's last forward took: "plain", "split", "cols" or "serial". */
static const char *path_taken(const nn_model *m)
{
    int p = mlp_config_of(m) ? mlp_last_path(m) : gpt_last_path(m);
    return nn_path_str(p);
}

static void emit(const opts *o, const char *name, const char *unit, const stepper *s,
                 int items, double flops, int steps, double *rates, int reps)
{
    double lo = rates[0], hi = rates[0];
    for (int k = 1; k < reps; k++) {
        lo = rates[k] < lo ? rates[k] : lo;
        hi = rates[k] > hi ? rates[k] : hi;
    }
    double med = median(rates, reps);
    printf("{\"impl\": \"tunelab\", \"workload\": \"%s\", \"threads\": %d, \"unit\": \"%s\", "
           "\"params\": %zu, \"items_per_step\": %d, \"flops_per_step\": %.0f, \"steps\": %d, "
           "\"repeats\": %d, \"median\": %.2f, \"min\": %.2f, \"max\": %.2f, \"gflops\": %.3f, "
           "\"loss\": %.6g, \"ftz\": %d, \"path\": \"%s\"}\n",
           name, o->threads, unit, s->m->nparams, items, flops, steps, reps, med, lo, hi,
           flops * med / items * 1e-9, (double)s->loss, o->ftz, path_taken(s->m));
}

static int bench_synthetic(const opts *o)
{
    const int is_gpt = strcmp(o->workload, "gpt") == 0;
    int batch = 0;
    if (!strcmp(o->workload, "mlp32"))
        batch = 32;
    else if (!strcmp(o->workload, "mlp128"))
        batch = 128;
    else if (!strcmp(o->workload, "mlp1024"))
        batch = 1024;
    else if (is_gpt)
        batch = GPT_B;
    timing_plan p = o->quick ? (timing_plan){3, 10, 1, 0.15} : (timing_plan){10, 50, 5, 0.5};
    if (o->repeats > 0)
        p.repeats = o->repeats;
    if (p.repeats > 64)
        p.repeats = 64;

    const int T = is_gpt ? GPT_T : 1, V = GPT_V;
    stepper s = {0};
    tl_err err = {0};
    rng init;
    rng_seed(&init, SEED, 0);
    rng_seed(&s.r, SEED, 2);
    int rc = is_gpt ? build_gpt(&s.m, batch, &init, &err) : build_mlp(&s.m, batch, &init, &err);
    if (!rc)
        is_gpt ? gpt_set_path(s.m, o->path) : mlp_set_path(s.m, o->path);
    if (!rc)
        rc = optim_init(&s.opt, OPTIM_ADAMW, s.m, &err);
    float *x = NULL;
    int *tok = NULL, *tgt = NULL;
    if (!rc) {
        x = is_gpt ? NULL : malloc(sizeof(float) * (size_t)batch * MLP_IN);
        tok = is_gpt ? malloc(sizeof(int) * (size_t)batch * T) : NULL;
        tgt = malloc(sizeof(int) * (size_t)batch * T);
        if ((!is_gpt && !x) || (is_gpt && !tok) || !tgt)
            rc = tl_fail(&err, TL_ERUNTIME, "out of memory");
    }
    if (rc) {
        fprintf(stderr, "bench_train: %s: %s\n", o->workload, err.msg);
        free(x), free(tok), free(tgt);
        optim_free(&s.opt);
        nn_model_free(s.m);
        return 1;
    }
    rng data;
    rng_seed(&data, SEED, 1);
    if (is_gpt) {
        for (int i = 0; i < batch * T; i++) {
            tok[i] = (int)rng_below(&data, (uint64_t)V);
            tgt[i] = (int)rng_below(&data, (uint64_t)V);
        }
    } else {
        for (size_t i = 0; i < (size_t)batch * MLP_IN; i++)
            x[i] = rng_uniformf(&data);
        for (int i = 0; i < batch; i++)
            tgt[i] = (int)rng_below(&data, MLP_OUT);
    }
    s.b = (nn_batch){.B = batch, .T = T, .x = x, .tokens = tok, .targets = tgt};
    adamw_hparams(&s.h);

    double t0 = tl_now();
    for (int k = 0; k < p.warmup; k++)
        step(&s);
    double per = (tl_now() - t0) / p.warmup;
    int steps = (int)ceil(p.target_s / (per > 1e-9 ? per : 1e-9));
    steps = steps < p.min_steps ? p.min_steps : steps;

    double rates[64];
    const int items = batch * T;
    for (int k = 0; k < p.repeats; k++) {
        t0 = tl_now();
        for (int i = 0; i < steps; i++)
            step(&s);
        rates[k] = (double)items * steps / (tl_now() - t0);
    }
    double flops = is_gpt ? gpt_step_flops(V, T, GPT_C, GPT_L, batch) : mlp_step_flops(batch);
    emit(o, o->workload, is_gpt ? "tokens/s" : "samples/s", &s, items, flops, steps, rates,
         p.repeats);
    free(x), free(tok), free(tgt);
    optim_free(&s.opt);
    nn_model_free(s.m);
    return 0;
}

/* Subnormal values in v[0..n): what flush-to-zero keeps out of AdamW. */
static long count_subnormal(const float *v, size_t n)
{
    long c = 0;
    for (size_t i = 0; i < n; i++)
        c += v[i] != 0.0f && fabsf(v[i]) < FLT_MIN;
    return c;
}

static int bench_epoch(const opts *o)
{
    const int epochs = o->epochs > 0 ? o->epochs : (o->quick ? 1 : 2);
    tl_err err = {0}, derr = {0};
    dataset *train = NULL;
    const char *source = "fashion-mnist";
    if (data_load_fmnist(o->fmnist, &train, NULL, &derr)) {
        /* Synthetic stand-in of the same size, said in the output. */
        source = "synthetic";
        rng g;
        rng_seed(&g, SEED, 3);
        if (data_new_classif(60000, MLP_IN, MLP_OUT, &train, &err)) {
            fprintf(stderr, "bench_train: epoch: %s\n", err.msg);
            return 1;
        }
        for (size_t i = 0; i < (size_t)train->n * MLP_IN; i++)
            train->x[i] = rng_uniformf(&g);
        for (long i = 0; i < train->n; i++)
            train->y[i] = (int)rng_below(&g, MLP_OUT);
    }
    int rc = 0;
    data_view v = {0};
    data_loader *l = NULL;
    stepper s = {0};
    float *x = malloc(sizeof(float) * EPOCH_BATCH * MLP_IN);
    int *y = malloc(sizeof(int) * EPOCH_BATCH);
    rng init, shuffle;
    rng_seed(&init, SEED, 0);
    rng_seed(&shuffle, SEED, 4);
    rng_seed(&s.r, SEED, 2);
    if (!x || !y)
        rc = tl_fail(&err, TL_ERUNTIME, "out of memory");
    if (!rc)
        rc = data_view_all(train, &v, &err);
    if (!rc && !(l = data_loader_new(&v, EPOCH_BATCH, 0, &err)))
        rc = err.code ? err.code : TL_ERUNTIME;
    if (!rc)
        rc = build_mlp(&s.m, EPOCH_BATCH, &init, &err);
    if (!rc)
        mlp_set_path(s.m, o->path);
    if (!rc)
        rc = optim_init(&s.opt, OPTIM_ADAMW, s.m, &err);
    if (rc) {
        fprintf(stderr, "bench_train: epoch: %s\n", err.msg);
        goto done;
    }
    adamw_hparams(&s.h);

    double secs[64], loss = 0;
    int ne = epochs < 64 ? epochs : 64;
    for (int e = 0; e < ne; e++) {
        double t0 = tl_now(), tot = 0;
        data_loader_reset(l, &shuffle);
        int b;
        while ((b = data_loader_next(l, x, y, EPOCH_BATCH)) > 0) {
            s.b = (nn_batch){.B = b, .T = 1, .x = x, .targets = y};
            step(&s);
            tot += (double)s.loss * b;
        }
        secs[e] = tl_now() - t0;
        loss = tot / (double)train->n;
    }
    printf("{\"impl\": \"tunelab\", \"workload\": \"epoch\", \"threads\": %d, \"unit\": "
           "\"s/epoch\", \"data\": \"%s\", \"samples\": %ld, \"batch\": %d, \"params\": %zu, "
           "\"flops_per_step\": %.0f, \"epoch_s\": [",
           o->threads, source, train->n, EPOCH_BATCH, s.m->nparams, mlp_step_flops(EPOCH_BATCH));
    double lo = secs[0], hi = secs[0];
    for (int e = 0; e < ne; e++) {
        printf("%s%.4f", e ? ", " : "", secs[e]);
        lo = secs[e] < lo ? secs[e] : lo;
        hi = secs[e] > hi ? secs[e] : hi;
    }
    double med = median(secs, ne);
    printf("], \"median\": %.4f, \"min\": %.4f, \"max\": %.4f, \"gflops\": %.3f, \"loss\": %.6g, "
           "\"v_subnormal\": %ld, \"ftz\": %d, \"path\": \"%s\"",
           med, lo, hi, mlp_step_flops((int)train->n) / med * 1e-9, loss,
           count_subnormal(s.opt.v, s.opt.n), o->ftz, path_taken(s.m));
    if (derr.code) {
        printf(", \"data_error\": ");
        print_json_string(derr.msg);
    }
    printf("}\n");
    if (derr.code)
        fprintf(stderr, "bench_train: epoch on synthetic data: %s\n", derr.msg);
done:
    optim_free(&s.opt);
    nn_model_free(s.m);
    data_loader_free(l);
    data_view_free(&v);
    data_free(train);
    free(x), free(y);
    return rc ? 1 : 0;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bench_train (--workload mlp32|mlp128|mlp1024|gpt|epoch | --sgemm | --corename |\n"
            "                    --describe)\n"
            "                   [--threads N] [--quick] [--repeats N] [--epochs N] [--no-ftz]\n"
            "                   [--fmnist DIR] [--path auto|plain|split|cols|serial]\n"
            "  --threads N   OpenMP and OpenBLAS threads (default: OMP_NUM_THREADS)\n"
            "  --quick       1 repeat of >= 10 steps (a smoke test)\n"
            "  --repeats N   timed repeats (default 5)\n"
            "  --epochs N    epochs for --workload epoch (default 2, --quick 1)\n"
            "  --no-ftz      leave flush-to-zero and denormals-are-zero off\n"
            "  --fmnist DIR  Fashion-MNIST folder (default %s)\n"
            "  --path P      kernel path (nn/ops.h enum nn_path; default auto)\n"
            "Prints one JSON object per line on stdout.\n",
            DATA_FMNIST_DIR);
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

int main(int argc, char **argv)
{
    opts o = {.workload = NULL, .threads = 0, .ftz = 1, .fmnist = NULL};
    int sgemm = 0, corename = 0, describe = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        int *iv = !strcmp(a, "--threads") ? &o.threads
                : !strcmp(a, "--repeats") ? &o.repeats
                : !strcmp(a, "--epochs") ? &o.epochs : NULL;
        int hi = iv == &o.threads ? 1024 : 64;
        if (iv && val && parse_int(val, 1, hi, iv)) {
            fprintf(stderr, "bench_train: %s: '%s' is not an integer in [1, %d]\n", a, val, hi);
            return 2;
        }
        if (iv && val)
            i++;
        else if (!strcmp(a, "--workload") && val)
            o.workload = val, i++;
        else if (!strcmp(a, "--path") && val) {
            o.path = !strcmp(val, "auto") ? NN_PATH_AUTO : !strcmp(val, "plain") ? NN_PATH_PLAIN
                   : !strcmp(val, "split") ? NN_PATH_SPLIT
                   : !strcmp(val, "cols") ? NN_PATH_COLS
                   : !strcmp(val, "serial") ? NN_PATH_SERIAL : -1;
            if (o.path < 0) {
                fprintf(stderr, "bench_train: --path: '%s' is not auto, plain, split, cols or serial\n", val);
                return 2;
            }
            i++;
        } else if (!strcmp(a, "--fmnist") && val)
            o.fmnist = val, i++;
        else if (!strcmp(a, "--quick"))
            o.quick = 1;
        else if (!strcmp(a, "--no-ftz"))
            o.ftz = 0;
        else if (!strcmp(a, "--sgemm"))
            sgemm = 1;
        else if (!strcmp(a, "--corename"))
            corename = 1;
        else if (!strcmp(a, "--describe"))
            describe = 1;
        else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "bench_train: bad argument '%s'%s\n", a,
                    val || a[0] != '-' ? "" : " (missing value?)");
            usage(stderr);
            return 2;
        }
    }
    if (corename) {
        printf("%s\n", openblas_get_corename());
        return 0;
    }
    if (describe) {
        tl_blas_info bi;
        tl_blas_info_get(&bi);
        printf("{\"impl\": \"tunelab\", \"workload\": \"describe\", \"cpu\": ");
        print_json_string(bi.cpu);
        printf(", \"isa\": ");
        print_json_string(bi.isa);
        printf(", \"openblas_core\": ");
        print_json_string(bi.core);
        printf(", \"openblas_reason\": ");
        print_json_string(bi.reason);
        printf(", \"small_matrix_lib\": \"none\"}\n");
        return 0;
    }
    set_ftz(o.ftz);   /* before any thread exists: workers inherit MXCSR */
    if (o.threads > 0) {
        omp_set_num_threads(o.threads);
        openblas_set_num_threads(o.threads);
    }
    o.threads = omp_get_max_threads();
    set_ftz_all_threads(o.ftz);
    if (sgemm)
        return bench_sgemm(&o);
    if (!o.workload) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(o.workload, "epoch"))
        return bench_epoch(&o);
    if (strcmp(o.workload, "mlp32") && strcmp(o.workload, "mlp128") &&
        strcmp(o.workload, "mlp1024") && strcmp(o.workload, "gpt")) {
        fprintf(stderr, "bench_train: unknown workload '%s' (mlp32, mlp128, mlp1024, gpt, epoch)\n",
                o.workload);
        return 2;
    }
    return bench_synthetic(&o);
}
