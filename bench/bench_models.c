/* bench/bench_models.c: forward + backward throughput of the models alone.
 *
 * Times zero-grad + forward + backward (no optimizer step: that is
 * bench_train's job) for the workloads of the training benchmark: MLP
 * 784-256-256-10 ReLU at batch 32, 128 and 1024 (samples/s), and the GPT
 * (vocab 96, ctx 128, d 128, 4 layers, 4 heads, batch 16; tokens/s).
 * Synthetic inputs from a fixed seed; 10 warm-up steps, then at least 50
 * steps and 0.5 s per repeat; prints the best of the repeats (default 3)
 * with the thread count OpenMP gives (set OMP_NUM_THREADS).
 *
 * Also prints the rate of the fastest single step, and the process CPU
 * time per step (all threads): on a busy machine these two are disturbed
 * less than the repeats' wall-clock rates (at 1 thread, CPU ms/step is
 * about what an idle machine's wall clock would show).
 *
 * It prints the CPU and the OpenBLAS kernels in use (util/blas_kernels.h);
 * where OpenBLAS falls back to its Prescott kernels, set OPENBLAS_CORETYPE
 * (scripts/bench.sh does) to measure the right ones.
 *
 * Usage: bench_models [--repeats N] [--workloads mlp32,mlp128,mlp1024,gpt]
 * Output: one line per workload: name, threads, best and median rate of the
 * repeats, the fastest step's rate, ms/step of the best repeat.
 */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cblas.h>

#include "nn/gpt.h"
#include "nn/mlp.h"
#include "util/rng.h"
#include "util/timer.h"
#include "util/blas_kernels.h"

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Best and median steps/s of `repeats` timed runs of fwd+bwd on b, and
 * the rate of the fastest single step in *peak. */
static void time_model(nn_model *m, const nn_batch *b, int repeats, double *best, double *median,
                       double *peak, double *cpu_step)
{
    double fastest = 1e30, cpu_best = 1e30;
    rng r;
    rng_seed(&r, 1, 99);
    double rates[32];
    if (repeats > 32)
        repeats = 32;
    for (int i = 0; i < 10; i++) {
        nn_zero_grad(m);
        m->vt->forward(m, b, 1, &r, NULL);
        m->vt->backward(m, b, 1.0f);
    }
    for (int rep = 0; rep < repeats; rep++) {
        int steps = 0;
        double t0 = tl_now(), c0 = cpu_now(), dt;
        double prev = t0;
        do {
            nn_zero_grad(m);
            m->vt->forward(m, b, 1, &r, NULL);
            m->vt->backward(m, b, 1.0f);
            steps++;
            double now = tl_now();
            if (now - prev < fastest)
                fastest = now - prev;
            prev = now;
            dt = now - t0;
        } while (steps < 50 || dt < 0.5);
        rates[rep] = steps / dt;
        double c = (cpu_now() - c0) / steps;
        cpu_best = c < cpu_best ? c : cpu_best;
    }
    *cpu_step = cpu_best;
    qsort(rates, (size_t)repeats, sizeof rates[0], cmp_double);
    *best = rates[repeats - 1];
    *median = rates[repeats / 2];
    *peak = 1.0 / fastest;
}

static void report(const char *name, double best, double median, double peak, double cpu,
                   double per_step, const char *unit)
{
    printf("%-8s threads %d  best %8.0f %s  median %8.0f  fastest step %8.0f  "
           "(%.3f ms/step, cpu %.3f ms/step)\n",
           name, omp_get_max_threads(), best * per_step, unit, median * per_step, peak * per_step,
           1e3 / best, 1e3 * cpu);
    fflush(stdout);
}

static int bench_mlp(int B, int repeats)
{
    mlp_config c = {.in_dim = 784, .nhidden = 2, .hidden = {256, 256}, .out_dim = 10,
                    .act = NN_RELU};
    rng r;
    rng_seed(&r, 1234, 0);
    nn_model *m;
    tl_err err;
    if (mlp_create(&c, B, &r, &m, &err)) {
        fprintf(stderr, "bench_models: %s\n", err.msg);
        return 1;
    }
    float *x = malloc(sizeof(float) * (size_t)B * 784);
    int *y = malloc(sizeof(int) * (size_t)B);
    for (size_t i = 0; i < (size_t)B * 784; i++)
        x[i] = rng_uniformf(&r);
    for (int i = 0; i < B; i++)
        y[i] = (int)rng_below(&r, 10);
    nn_batch b = {.B = B, .T = 1, .x = x, .targets = y};
    double best, median, peak, cpu;
    time_model(m, &b, repeats, &best, &median, &peak, &cpu);
    char name[16];
    snprintf(name, sizeof name, "mlp%d", B);
    report(name, best, median, peak, cpu, B, "samples/s");
    nn_model_free(m);
    free(x);
    free(y);
    return 0;
}

static int bench_gpt(int repeats)
{
    gpt_config c = {.vocab = 96, .ctx = 128, .d_model = 128, .layers = 4, .heads = 4};
    int B = 16, T = 128;
    rng r;
    rng_seed(&r, 1234, 1);
    nn_model *m;
    tl_err err;
    if (gpt_create(&c, B, &r, &m, &err)) {
        fprintf(stderr, "bench_models: %s\n", err.msg);
        return 1;
    }
    int *tok = malloc(sizeof(int) * B * T), *tgt = malloc(sizeof(int) * B * T);
    for (int i = 0; i < B * T; i++) {
        tok[i] = (int)rng_below(&r, 96);
        tgt[i] = (int)rng_below(&r, 96);
    }
    nn_batch b = {.B = B, .T = T, .tokens = tok, .targets = tgt};
    double best, median, peak, cpu;
    time_model(m, &b, repeats, &best, &median, &peak, &cpu);
    report("gpt", best, median, peak, cpu, (double)B * T, "tokens/s ");
    nn_model_free(m);
    free(tok);
    free(tgt);
    return 0;
}

int main(int argc, char **argv)
{
    int repeats = 3;
    const char *which = "mlp32,mlp128,mlp1024,gpt";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--repeats") && i + 1 < argc) {
            char *end;
            long v = strtol(argv[++i], &end, 10);
            if (*end || v < 1 || v > 32) {
                fprintf(stderr, "bench_models: --repeats takes 1..32\n");
                return 2;
            }
            repeats = (int)v;
        } else if (!strcmp(argv[i], "--workloads") && i + 1 < argc) {
            which = argv[++i];
        } else {
            fprintf(stderr, "usage: bench_models [--repeats N] [--workloads mlp32,mlp128,mlp1024,gpt]\n");
            return 2;
        }
    }
    char list[256];
    snprintf(list, sizeof list, ",%s,", which);
    tl_blas_info bi;
    char desc[512];
    tl_blas_info_get(&bi);
    printf("%s; %d OpenMP threads\n", tl_blas_describe(&bi, desc, sizeof desc),
           omp_get_max_threads());
    int rc = 0;
    if (strstr(list, ",mlp32,"))
        rc |= bench_mlp(32, repeats);
    if (strstr(list, ",mlp128,"))
        rc |= bench_mlp(128, repeats);
    if (strstr(list, ",mlp1024,"))
        rc |= bench_mlp(1024, repeats);
    if (strstr(list, ",gpt,"))
        rc |= bench_gpt(repeats);
    return rc;
}
