/* util/blas_kernels.h: choosing OpenBLAS kernels the processor has.
 *
 * Debian's OpenBLAS 0.3.21 (DYNAMIC_ARCH) does not recognize some recent
 * Xeons (Sapphire Rapids among them) and falls back to its generic
 * "Prescott" SSE3 kernels, which run sgemm 3-7x slower (here 25-50 against
 * 135-180 GFLOP/s on one core).  OpenBLAS reads OPENBLAS_CORETYPE only when
 * it is loaded, so a program that wants the right kernels must set it and
 * re-execute itself.  Programs call this first thing in main().
 */
#ifndef TL_UTIL_BLAS_KERNELS_H
#define TL_UTIL_BLAS_KERNELS_H

/* When OPENBLAS_CORETYPE and TUNELAB_KEEP_BLAS_CORE are unset and OpenBLAS
 * took its Prescott fallback on a processor with AVX-512 (or AVX2 + FMA),
 * sets OPENBLAS_CORETYPE to SkylakeX (or Haswell) and re-executes
 * /proc/self/exe with argv; sets TUNELAB_KEEP_BLAS_CORE=1 so it happens
 * once.  Returns only when nothing needed doing or exec failed (then the
 * generic kernels stay).  The one place in tunelab that touches the
 * process environment. */
void tl_blas_select_kernels(char **argv);
#endif
