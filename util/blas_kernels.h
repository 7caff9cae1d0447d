/* util/blas_kernels.h: which OpenBLAS kernels run, on which CPU, and why.
 *
 * Debian's OpenBLAS 0.3.21 (DYNAMIC_ARCH) picks its kernels when it is
 * loaded.  It knows AMD Zen (Zen kernels) and most Intel cores, but takes
 * some recent Xeons (Sapphire Rapids among them) for a generic "Prescott"
 * and runs its SSE3 kernels there, 3-7x slower.  OpenBLAS reads
 * OPENBLAS_CORETYPE only at load time, so only a program can fix that, by
 * setting it and executing itself again: tl_blas_info_get says what the
 * program should do (want[]), and the program (cli/main.c) decides.  This
 * module never changes the environment and never executes anything.
 *
 * Kernel families and bits: OpenBLAS's kernels differ in the order of
 * their sums, so results differ in the last bits between families (and,
 * with threaded sgemm, between thread counts): README.md "What replays bit
 * for bit" says what is promised; tests/test_blas.c pins it, and
 * scripts/kernel_matrix.sh reruns those tests under every family the CPU
 * can execute.
 */
#ifndef TL_UTIL_BLAS_KERNELS_H
#define TL_UTIL_BLAS_KERNELS_H

/* Set by a program that re-executed itself with OPENBLAS_CORETYPE it chose
 * (value: the family), so the header can say who chose the kernels. */
#define TL_BLAS_CHOSE_ENV "TUNELAB_BLAS_CHOSE"
/* Set by a user (any value) to keep OpenBLAS's own choice, even Prescott. */
#define TL_BLAS_KEEP_ENV "TUNELAB_KEEP_BLAS_CORE"

typedef struct tl_blas_info {
    char cpu[128];    /* "AMD EPYC 7B13" (/proc/cpuinfo model name; "unknown CPU") */
    const char *isa;  /* widest vector ISA: "AVX-512", "AVX2", "AVX", "SSE" */
    char core[32];    /* the OpenBLAS kernel family in use: "Zen", "Haswell", ... */
    char reason[192]; /* why that family: detected, environment, or chosen */
    char want[16];    /* a family the program should re-execute with ("" = none) */
} tl_blas_info;

/* Fills *info from the CPU, the loaded OpenBLAS and the environment.
 * Cannot fail; reads /proc/cpuinfo once. */
void tl_blas_info_get(tl_blas_info *info);

/* The OpenBLAS kernel family in use ("Zen"); cannot fail. */
const char *tl_blas_core(void);

/* "cpu: <model> (<isa>); OpenBLAS <version> kernels: <core> (<reason>)"
 * into buf (n bytes, always terminated); returns buf. */
char *tl_blas_describe(const tl_blas_info *info, char *buf, unsigned n);

/* The OpenBLAS kernel families this CPU can execute, best first, written
 * as OPENBLAS_CORETYPE values into out (up to max); returns how many.
 * Cooperlake needs AVX-512 F/BW/DQ/VL and BF16, SkylakeX AVX-512 F/BW/DQ/VL,
 * Haswell and Zen AVX2 + FMA. */
int tl_blas_families(const char **out, int max);
#endif
