#include "util/blas_kernels.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int avx512(void)
{
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
}

/* Cooperlake is SkylakeX's sgemm plus bf16 kernels: OpenBLAS 0.3.21 picks
 * it by itself wherever AVX512-BF16 exists (AMD Zen 4 and 5, Cooper Lake,
 * Sapphire Rapids once it knows them). */
static int avx512bf16(void) { return avx512() && __builtin_cpu_supports("avx512bf16"); }

static int avx2fma(void) { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }

/* "model name" of /proc/cpuinfo with its family and model numbers
 * ("AMD EPYC, family 25 model 1"): the name alone can be as vague as that. */
static void cpu_model(char *buf, size_t n)
{
    snprintf(buf, n, "unknown CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[512], name[160] = "";
    int family = -1, model = -1;
    while (fgets(line, sizeof line, f) && !(name[0] && family >= 0 && model >= 0)) {
        char *v = strchr(line, ':');
        if (!v)
            continue;
        v++;
        while (*v == ' ' || *v == '\t')
            v++;
        v[strcspn(v, "\n")] = 0;
        if (!strncmp(line, "model name", 10))
            snprintf(name, sizeof name, "%s", v);
        else if (!strncmp(line, "cpu family", 10))
            family = atoi(v);
        else if (!strncmp(line, "model", 5) && (line[5] == ' ' || line[5] == '\t'))
            model = atoi(v);
    }
    fclose(f);
    if (name[0] && family >= 0)
        snprintf(buf, n, "%s, family %d model %d", name, family, model);
    else if (name[0])
        snprintf(buf, n, "%s", name);
}

void tl_blas_info_get(tl_blas_info *info)
{
    memset(info, 0, sizeof *info);
    __builtin_cpu_init();
    cpu_model(info->cpu, sizeof info->cpu);
    info->isa = avx512() ? "AVX-512" : avx2fma() ? "AVX2" : __builtin_cpu_supports("avx") ? "AVX" : "SSE";
    const char *core = openblas_get_corename();
    snprintf(info->core, sizeof info->core, "%s", core ? core : "?");
    const char *env = getenv("OPENBLAS_CORETYPE"), *chose = getenv(TL_BLAS_CHOSE_ENV);
    if (env && *env) {
        if (chose && !strcasecmp(chose, env))
            snprintf(info->reason, sizeof info->reason,
                     "chosen by tunelab: OpenBLAS took this %s CPU for Prescott (SSE3)", info->isa);
        else if (avx512() && (!strcasecmp(env, "Haswell") || !strcasecmp(env, "Zen")))
            /* A setting made for another machine, or to be safe, that halves
             * the sgemm peak here (measured on an AMD Zen 5). */
            snprintf(info->reason, sizeof info->reason,
                     "OPENBLAS_CORETYPE=%.32s from the environment; this CPU also runs the "
                     "AVX-512 family %s, faster",
                     env, avx512bf16() ? "Cooperlake" : "SkylakeX");
        else
            snprintf(info->reason, sizeof info->reason, "OPENBLAS_CORETYPE=%.32s from the environment",
                     env);
        return;
    }
    if (strcmp(info->core, "Prescott")) {
        snprintf(info->reason, sizeof info->reason, "detected by OpenBLAS");
        return;
    }
    const char *want = avx512() ? "SkylakeX" : avx2fma() ? "Haswell" : NULL;
    if (!want) {
        snprintf(info->reason, sizeof info->reason, "detected by OpenBLAS (no AVX2 on this CPU)");
    } else if (getenv(TL_BLAS_KEEP_ENV)) {
        snprintf(info->reason, sizeof info->reason,
                 "OpenBLAS's generic fallback, kept by %s (%s would be faster)", TL_BLAS_KEEP_ENV, want);
    } else {
        snprintf(info->reason, sizeof info->reason,
                 "OpenBLAS's generic fallback on this %s CPU (%s would be faster)", info->isa, want);
        snprintf(info->want, sizeof info->want, "%s", want);
    }
}

const char *tl_blas_core(void)
{
    const char *c = openblas_get_corename();
    return c ? c : "?";
}

char *tl_blas_describe(const tl_blas_info *info, char *buf, unsigned n)
{
    if (n == 0)
        return buf;
    const char *cfg = openblas_get_config();
    char ver[32] = "";
    /* openblas_get_config(): "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY ..." */
    if (cfg && !strncmp(cfg, "OpenBLAS ", 9))
        sscanf(cfg + 9, "%31s", ver);
    snprintf(buf, n, "cpu: %s (%s); OpenBLAS %s kernels: %s (%s)", info->cpu, info->isa,
             ver[0] ? ver : "?", info->core, info->reason);
    return buf;
}

int tl_blas_families(const char **out, int max)
{
    int n = 0;
    __builtin_cpu_init();
    if (avx512bf16() && n < max)
        out[n++] = "Cooperlake";
    if (avx512() && n < max)
        out[n++] = "SkylakeX";
    if (avx2fma() && n < max)
        out[n++] = "Haswell";
    if (avx2fma() && n < max)
        out[n++] = "Zen";
    return n;
}
