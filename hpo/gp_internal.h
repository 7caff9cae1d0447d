/* hpo/gp_internal.h: what hpo/gp.c and hpo/gp_update.c share (not a public
 * interface: only these two files include it).  Shapes as hpo/gp.h. */
#ifndef TL_HPO_GP_INTERNAL_H
#define TL_HPO_GP_INTERNAL_H

#include <math.h>

#include "hpo/gp.h"

#define SQRT5 2.23606797749979

/* Matern-5/2 kernel between a and b (D) with inverse squared lengthscales
 * il2 (D) and signal variance sf2; writes the gradient factor
 * E = sf2 (5/3) (1 + s) exp(-s) to *e.  Cannot fail. */
static inline double gp_matern52(const double *a, const double *b, const double *il2, int D,
                                 double sf2, double *e)
{
    double r2 = 0.0;
    for (int k = 0; k < D; k++) {
        double d = a[k] - b[k];
        r2 += d * d * il2[k];
    }
    double s = SQRT5 * sqrt(r2), ex = exp(-s);
    *e = sf2 * (5.0 / 3.0) * (1.0 + s) * ex;
    return sf2 * (1.0 + s + s * s / 3.0) * ex;
}

/* Builds K and E for rows [from, n) at theta, copies the lower triangle
 * plus noise into L and factorizes the whole, escalating jitter when
 * needed; invalidates Kinv.  Returns 0 or -1. */
int gp_factorize(gp *g, const double *theta, int from);

/* alpha = (K + sn2 I)^-1 (y - c) from the current factor. */
void gp_solve_alpha(gp *g, double c);

#endif
