#include "util/blas_kernels.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void tl_blas_select_kernels(char **argv)
{
    if (getenv("OPENBLAS_CORETYPE") || getenv("TUNELAB_KEEP_BLAS_CORE"))
        return;
    const char *core = openblas_get_corename();
    if (!core || strcmp(core, "Prescott"))
        return;
    const char *want = NULL;
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq"))
        want = "SkylakeX";
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        want = "Haswell";
    if (!want)
        return;
    setenv("OPENBLAS_CORETYPE", want, 1);
    setenv("TUNELAB_KEEP_BLAS_CORE", "1", 1); /* never loop */
    execv("/proc/self/exe", argv);
}
