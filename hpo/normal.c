/* hpo/normal.c: the standard normal CDF, quantile and truncated draws
 * (see normal.h). */
#include "hpo/normal.h"

#include <math.h>

double normal_cdf(double x)
{
    return 0.5 * erfc(-x / M_SQRT2);
}

/* Acklam's rational approximation (relative error 1.2e-9), then one
 * Halley step on erfc, which brings it to machine precision. */
double normal_ppf(double p)
{
    static const double a[] = { -3.969683028665376e+01, 2.209460984245205e+02,
                                -2.759285104469687e+02, 1.383577518672690e+02,
                                -3.066479806614716e+01, 2.506628277459239e+00 };
    static const double b[] = { -5.447609879822406e+01, 1.615858368580409e+02,
                                -1.556989798598866e+02, 6.680131188771972e+01,
                                -1.328068155288572e+01 };
    static const double c[] = { -7.784894002430293e-03, -3.223964580411365e-01,
                                -2.400758277161838e+00, -2.549732539343734e+00,
                                4.374664141464968e+00,  2.938163982698783e+00 };
    static const double d[] = { 7.784695709041462e-03, 3.224671290700398e-01,
                                2.445134137142996e+00, 3.754408661907416e+00 };
    if (!(p >= 0 && p <= 1))
        return NAN;
    if (p == 0)
        return -INFINITY;
    if (p == 1)
        return INFINITY;
    double x, q;
    if (p < 0.02425) {
        q = sqrt(-2 * log(p));
        x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    } else if (p <= 1 - 0.02425) {
        q = p - 0.5;
        double r = q * q;
        x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
            (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
    } else {
        q = sqrt(-2 * log(1 - p));
        x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    }
    double e = normal_cdf(x) - p;
    double u = e * sqrt(2 * M_PI) * exp(0.5 * x * x);
    return x - u / (1 + 0.5 * x * u);
}

double normal_log_mass(double a, double b)
{
    if (!(b > a))
        return -INFINITY;
    /* work in the tail where the difference keeps its digits */
    if (a > 0) {
        double hi = 0.5 * erfc(a / M_SQRT2), lo = 0.5 * erfc(b / M_SQRT2);
        return log(hi - lo);
    }
    double hi = 0.5 * erfc(-b / M_SQRT2), lo = 0.5 * erfc(-a / M_SQRT2);
    return log(hi - lo);
}

double normal_truncated(rng *r, double mu, double sigma, double lo, double hi)
{
    double a = (lo - mu) / sigma, b = (hi - mu) / sigma, u = rng_uniform(r), x;
    if (a > 0) { /* right tail: invert the upper CDF */
        double qa = 0.5 * erfc(a / M_SQRT2), qb = 0.5 * erfc(b / M_SQRT2);
        x = -normal_ppf(qa - u * (qa - qb));
    } else {
        double pa = normal_cdf(a), pb = normal_cdf(b);
        x = normal_ppf(pa + u * (pb - pa));
    }
    x = mu + sigma * x;
    return x < lo ? lo : x > hi ? hi : x;
}
