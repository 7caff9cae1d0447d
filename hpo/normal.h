/* hpo/normal.h: the standard normal distribution for the samplers (TPE's
 * truncated Parzen kernels, CMA-ES's integer margin).
 *
 * Does: the CDF and its complement through libm's erf/erfc, the quantile
 * function, and draws from a normal truncated to [lo, hi] by inverting its
 * CDF.  Does not: keep state or draw from any generator but the caller's.
 */
#ifndef TL_HPO_NORMAL_H
#define TL_HPO_NORMAL_H

#include "util/rng.h"

/* P(Z <= x) for a standard normal Z.  Cannot fail. */
double normal_cdf(double x);

/* The x with normal_cdf(x) = p for p in (0, 1); -inf at 0, +inf at 1,
 * NAN outside [0, 1].  Relative error below 1e-12.  Cannot fail. */
double normal_ppf(double p);

/* log P(a <= Z <= b) for a <= b (accurate in both tails).  Cannot fail. */
double normal_log_mass(double a, double b);

/* A draw from N(mu, sigma^2) truncated to [lo, hi] (lo < hi, sigma > 0),
 * by inverting the CDF with one uniform from r; the result lies in
 * [lo, hi].  Cannot fail. */
double normal_truncated(rng *r, double mu, double sigma, double lo, double hi);

#endif
