/* hpo/acq.h: acquisition functions for Bayesian optimization (minimization).
 *
 * Closed forms on a Gaussian posterior N(mu, sigma^2) at a point, given the
 * best (lowest) value observed so far, all in the same (standardized) units:
 *   z      = (best - xi - mu) / sigma
 *   EI     = sigma * h(z),  h(z) = phi(z) + z Phi(z)
 *   logEI  = log(sigma) + log h(z), computed stably for z down to -1e300
 *            (Ament et al. 2023, "Unexpected improvements to expected
 *            improvement"; BoTorch's LogExpectedImprovement)
 *   PI     = Phi(z)  (logPI = log Phi(z), stable in the far tail)
 *   UCB    = -mu + sqrt(beta) sigma  (the lower confidence bound, negated,
 *            so that larger is better for every acquisition)
 * Pure functions: no state, no allocation, thread-safe.  Does not know
 * about GPs or search spaces; acq_eval is what the optimizer maximizes.
 */
#ifndef TL_HPO_ACQ_H
#define TL_HPO_ACQ_H

enum acq_kind { ACQ_EI, ACQ_LOGEI, ACQ_PI, ACQ_UCB, ACQ_KIND_COUNT };

/* "ei", "logei", "pi", "ucb"; "?" out of range. */
const char *acq_kind_str(int kind);

/* Kind named `name` (as acq_kind_str prints it), or -1 when unknown or NULL. */
int acq_parse(const char *name);

/* The closed forms above at one point; sigma must be > 0.  Each returns
 * its value (EI underflows to 0 and PI to 0 far in the tail, where the log
 * forms stay finite).  Cannot fail. */
double acq_ei(double mu, double sigma, double best, double xi);
double acq_logei(double mu, double sigma, double best, double xi);
double acq_pi(double mu, double sigma, double best, double xi);
double acq_logpi(double mu, double sigma, double best, double xi);
double acq_ucb(double mu, double sigma, double beta);

/* log(phi(z) + z Phi(z)), accurate for all finite z. */
double acq_log_h(double z);

/* Scaled complementary error function exp(x^2) erfc(x); accurate for
 * x >= 0 (about 1e-13 relative), overflows to inf for x below about -26. */
double acq_erfcx(double x);

/* The objective the acquisition optimizer maximizes for `kind` (EI itself
 * for ACQ_EI, log EI for ACQ_LOGEI, log PI for ACQ_PI, UCB for ACQ_UCB),
 * and its partial derivatives with respect to mu and sigma in *dmu and
 * *dsigma when not NULL.  sigma must be > 0.  Cannot fail. */
double acq_eval(int kind, double mu, double sigma, double best, double xi, double beta,
                double *dmu, double *dsigma);

#endif
