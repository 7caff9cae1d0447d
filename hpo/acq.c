/* hpo/acq.c: closed-form acquisitions of hpo/acq.h and their derivatives.
 *
 * The far tail of EI (z << 0) follows the idea of Ament et al. (2023): for
 * z <= -1, h(z) = phi(z) (1 - |z| Phi(z)/phi(z)), so
 * log h = log phi(z) + log(h/phi) with h/phi computed without underflow
 * (erfcx above z = -10, an asymptotic series below).  Derivatives
 * use the ratios Phi/h and phi/h computed from the same pieces, so the
 * gradient stays finite and informative where EI underflows to 0.
 */
#include "hpo/acq.h"

#include <math.h>
#include <string.h>

#define INV_SQRT2 0.7071067811865476
#define LOG_SQRT_2PI 0.9189385332046728
#define SQRT_PI_2 1.2533141373155003 /* sqrt(pi/2) */
#define INV_SQRT_PI 0.5641895835477563

const char *acq_kind_str(int kind)
{
    static const char *names[ACQ_KIND_COUNT] = {"ei", "logei", "pi", "ucb"};
    return kind >= 0 && kind < ACQ_KIND_COUNT ? names[kind] : "?";
}

int acq_parse(const char *name)
{
    if (!name)
        return -1;
    for (int k = 0; k < ACQ_KIND_COUNT; k++)
        if (strcmp(name, acq_kind_str(k)) == 0)
            return k;
    return -1;
}

double acq_erfcx(double x)
{
    if (x < 25.0)
        return exp(x * x) * erfc(x);
    /* asymptotic series 1/(x sqrt(pi)) sum (-1)^n (2n-1)!! / (2x^2)^n,
     * terms below 1e-20 relative from x = 25 on */
    double t = 1.0 / (2.0 * x * x), term = 1.0, s = 1.0;
    for (int n = 1; n <= 8; n++) {
        term *= -(2.0 * n - 1.0) * t;
        s += term;
    }
    return s * INV_SQRT_PI / x;
}

static double std_phi(double z) { return exp(-0.5 * z * z - LOG_SQRT_2PI); }
static double std_Phi(double z) { return 0.5 * erfc(-z * INV_SQRT2); }

/* For z <= -1: h(z)/phi(z) = 1 - |z| R and R = Phi(z)/phi(z) (Mills' ratio
 * at |z|).  Above z = -10 from erfcx, where 1 - |z| R loses at most two
 * digits; below, from the asymptotic series in u = 1/z^2,
 *   R = (1/|z|) (1 - u + 3u^2 - 15u^3 + ...),  h/phi = u - 3u^2 + 15u^3 - ...
 * whose terms shrink until n ~ 1/(2u) >= 50, so 24 terms are exact to
 * double precision there. */
static double h_over_phi(double z, double *R)
{
    if (z > -10.0) {
        *R = SQRT_PI_2 * acq_erfcx(-z * INV_SQRT2);
        return 1.0 + z * *R;
    }
    double u = (1.0 / z) * (1.0 / z), t = 1.0, r = 1.0, hp = 0.0;
    for (int n = 1; n <= 24; n++) {
        t *= (2.0 * n - 1.0) * u; /* (2n-1)!! u^n */
        double s = (n % 2) ? t : -t;
        hp += s;
        r -= s;
    }
    *R = r / -z;
    return hp;
}

double acq_log_h(double z)
{
    if (z > -1.0)
        return log(std_phi(z) + z * std_Phi(z));
    double R;
    return -0.5 * z * z - LOG_SQRT_2PI + log(h_over_phi(z, &R));
}

/* Phi(z)/h(z) and phi(z)/h(z), stable for all z. */
static void h_ratios(double z, double *Phi_h, double *phi_h)
{
    if (z > -1.0) {
        double phi = std_phi(z), Phi = std_Phi(z), h = phi + z * Phi;
        *Phi_h = Phi / h;
        *phi_h = phi / h;
        return;
    }
    double R, hp = h_over_phi(z, &R);
    *Phi_h = R / hp;
    *phi_h = 1.0 / hp;
}

double acq_ei(double mu, double sigma, double best, double xi)
{
    double z = (best - xi - mu) / sigma;
    return sigma * (std_phi(z) + z * std_Phi(z));
}

double acq_logei(double mu, double sigma, double best, double xi)
{
    return log(sigma) + acq_log_h((best - xi - mu) / sigma);
}

double acq_pi(double mu, double sigma, double best, double xi)
{
    return std_Phi((best - xi - mu) / sigma);
}

/* log Phi(z): through erfcx in the lower tail, log1p in the upper. */
static double log_Phi(double z)
{
    if (z < 0.0)
        return log(0.5 * acq_erfcx(-z * INV_SQRT2)) - 0.5 * z * z;
    return log1p(-0.5 * erfc(z * INV_SQRT2));
}

/* phi(z)/Phi(z), stable in the lower tail. */
static double phi_over_Phi(double z)
{
    if (z < 0.0)
        return 1.0 / (SQRT_PI_2 * acq_erfcx(-z * INV_SQRT2));
    return std_phi(z) / std_Phi(z);
}

double acq_logpi(double mu, double sigma, double best, double xi)
{
    return log_Phi((best - xi - mu) / sigma);
}

double acq_ucb(double mu, double sigma, double beta)
{
    return -mu + sqrt(beta) * sigma;
}

double acq_eval(int kind, double mu, double sigma, double best, double xi, double beta,
                double *dmu, double *dsigma)
{
    double z = (best - xi - mu) / sigma, v, gm, gs;
    switch (kind) {
    case ACQ_EI: {
        double Phi = std_Phi(z), phi = std_phi(z);
        v = sigma * (phi + z * Phi);
        gm = -Phi;
        gs = phi;
        break;
    }
    case ACQ_LOGEI: {
        double Phi_h, phi_h;
        v = log(sigma) + acq_log_h(z);
        h_ratios(z, &Phi_h, &phi_h);
        gm = -Phi_h / sigma;
        gs = phi_h / sigma;
        break;
    }
    case ACQ_PI: {
        double r = phi_over_Phi(z);
        v = log_Phi(z);
        gm = -r / sigma;
        gs = -r * z / sigma;
        break;
    }
    default: /* ACQ_UCB */
        v = -mu + sqrt(beta) * sigma;
        gm = -1.0;
        gs = sqrt(beta);
        break;
    }
    if (dmu)
        *dmu = gm;
    if (dsigma)
        *dsigma = gs;
    return v;
}
