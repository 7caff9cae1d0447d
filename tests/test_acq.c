/* tests/test_acq.c: acquisition closed forms against 50-digit references,
 * stability of logEI in the far tail, and analytic derivatives. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>

#include "hpo/acq.h"

/* References from /usr/bin/python3 with mpmath (mp.dps = 50):
 *   phi = lambda z: mp.exp(-z*z/2)/mp.sqrt(2*mp.pi)
 *   Phi = lambda z: mp.erfc(-z/mp.sqrt(2))/2
 *   h   = lambda z: phi(z) + z*Phi(z)
 *   log_h:  mp.log(h(mp.mpf(z)))
 *   erfcx:  mp.exp(x*x)*mp.erfc(x)
 *   cases:  z = (best - xi - mu)/s; EI = s*h(z), log EI, PI = Phi(z), log PI
 * (inputs converted from the same doubles the C code uses). */
static void close_rel(double got, double want, double rel, const char *what)
{
    cr_assert(fabs(got - want) <= rel * fabs(want) + 1e-300, "%s: got %.17g want %.17g", what,
              got, want);
}

Test(acq, log_h_matches_mpmath_from_far_tail_to_large_z)
{
    static const double ref[][2] = {
        {-1e8, -5000000000000037.8},
        {-1e3, -500014.73445209116},
        {-40, -808.29856835661996},
        {-12, -77.909100545007348},
        {-9.5, -50.578559393519755},
        {-5, -16.74430116266099},
        {-1, -2.4851210257126413},
        {-0.3, -1.3214012449190435},
        {0, -0.91893853320467274},
        {2.5, 0.91709206559216452},
        {30, 3.4011973816621554},
    };
    for (size_t i = 0; i < sizeof ref / sizeof ref[0]; i++) {
        char what[64];
        snprintf(what, sizeof what, "log_h(%g)", ref[i][0]);
        close_rel(acq_log_h(ref[i][0]), ref[i][1], 1e-12, what);
    }
}

Test(acq, erfcx_matches_mpmath)
{
    static const double ref[][2] = {
        {0.0, 1.0},
        {0.5, 0.61569034419292587},
        {3.0, 0.17900115118138995},
        {10.0, 0.056140992743822586},
        {24.9, 0.022639987776049505},
        {25.1, 0.02245987581758139},
        {100.0, 0.0056416137829894329},
        {1.0e+6, 5.6418958354747419e-7},
    };
    for (size_t i = 0; i < sizeof ref / sizeof ref[0]; i++)
        close_rel(acq_erfcx(ref[i][0]), ref[i][1], 1e-12, "erfcx");
}

Test(acq, ei_logei_pi_logpi_closed_forms)
{
    /* mu, sigma, best, xi, EI, log EI, PI, log PI */
    static const double ref[][8] = {
        {0.3, 0.7, 0.1, 0.0, 0.19058103574135004, -1.6576777903966757, 0.38754848109799235, -0.94791432550370484},
        {-1.2, 0.05, -1.0, 0.01, 0.19000085121794376, -1.6607267267372457, 0.99992765195607488, -7.2350661171086037e-5},
        {2.0, 0.1, -1.0, 0.0, 1.631956734091483e-200, -460.027238853592, 4.9067139271484325e-198, -454.32124395634315},
        {5.0, 0.02, 0.0, 0.0, 0.0 /* 2.5e-13579 underflows */, -31265.873931371668, 0.0, -31256.440415450426},
        {-0.5, 2.0, 0.0, 0.1, 1.013789271726553, 0.013695064761564672, 0.57925970943910302, -0.54600435372277413},
    };
    for (size_t i = 0; i < sizeof ref / sizeof ref[0]; i++) {
        const double *c = ref[i];
        /* EI near 1e-200 is computed from a subtraction-free sum, but its
         * erfc is only good to about 1e-13 that deep */
        close_rel(acq_ei(c[0], c[1], c[2], c[3]), c[4], 1e-10, "ei");
        close_rel(acq_logei(c[0], c[1], c[2], c[3]), c[5], 1e-12, "logei");
        close_rel(acq_pi(c[0], c[1], c[2], c[3]), c[6], 1e-10, "pi");
        close_rel(acq_logpi(c[0], c[1], c[2], c[3]), c[7], 1e-12, "logpi");
        close_rel(acq_eval(ACQ_LOGEI, c[0], c[1], c[2], c[3], 0, NULL, NULL), c[5], 1e-12, "eval logei");
        close_rel(acq_eval(ACQ_PI, c[0], c[1], c[2], c[3], 0, NULL, NULL), c[7], 1e-12, "eval pi");
    }
    close_rel(acq_ucb(0.5, 0.2, 4.0), -0.1, 1e-15, "ucb");
}

Test(acq, logei_is_monotone_where_ei_underflows)
{
    /* EI is 0 for every one of these; logEI keeps ordering them */
    double prev = -INFINITY;
    for (double mu = 60.0; mu >= 40.0; mu -= 0.5) {
        double v = acq_logei(mu, 1.0, 0.0, 0.0);
        cr_assert(isfinite(v), "logei(mu=%g) = %g", mu, v);
        cr_assert_gt(v, prev, "not increasing at mu=%g", mu);
        prev = v;
        cr_assert_eq(acq_ei(mu, 1.0, 0.0, 0.0), 0.0);
    }
}

Test(acq, derivatives_match_central_differences)
{
    static const double pts[][3] = {/* mu, sigma, best */
        {0.3, 0.7, 0.1}, {-1.2, 0.05, -1.0}, {2.0, 0.1, -1.0}, {0.0, 0.03, -1.2}, {-0.5, 2.0, 0.0},
        {40.0, 1.0, 0.0}};
    for (int kind = 0; kind < ACQ_KIND_COUNT; kind++)
        for (size_t i = 0; i < sizeof pts / sizeof pts[0]; i++) {
            double mu = pts[i][0], s = pts[i][1], best = pts[i][2], xi = 0.01, beta = 2.0;
            if (kind == ACQ_EI && (best - mu) / s < -8)
                continue; /* EI itself underflows there: that is logEI's job */
            double dmu, ds;
            acq_eval(kind, mu, s, best, xi, beta, &dmu, &ds);
            double hm = 1e-6 * s, hs = 1e-6 * s;
            double nm = (acq_eval(kind, mu + hm, s, best, xi, beta, NULL, NULL) -
                         acq_eval(kind, mu - hm, s, best, xi, beta, NULL, NULL)) / (2 * hm);
            double ns = (acq_eval(kind, mu, s + hs, best, xi, beta, NULL, NULL) -
                         acq_eval(kind, mu, s - hs, best, xi, beta, NULL, NULL)) / (2 * hs);
            cr_assert(fabs(dmu - nm) <= 1e-6 + 1e-5 * fabs(nm), "%s pt %zu: dmu %.10g vs %.10g",
                      acq_kind_str(kind), i, dmu, nm);
            cr_assert(fabs(ds - ns) <= 1e-6 + 1e-5 * fabs(ns), "%s pt %zu: dsigma %.10g vs %.10g",
                      acq_kind_str(kind), i, ds, ns);
        }
}

Test(acq, names_round_trip)
{
    for (int k = 0; k < ACQ_KIND_COUNT; k++)
        cr_assert_eq(acq_parse(acq_kind_str(k)), k);
    cr_assert_eq(acq_parse("nope"), -1);
    cr_assert_eq(acq_parse(NULL), -1);
    cr_assert_str_eq(acq_kind_str(ACQ_KIND_COUNT), "?");
}
