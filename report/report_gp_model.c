/* report/report_gp_model.c: the GP of one Bayesian-optimization iteration,
 * rebuilt from a study's trials for the report's figures (see
 * report/report_gp.h).  Uses hpo/gp.h to fit and predict and hpo/acq.h for
 * the acquisition; mirrors hpo/bo.c's input encoding and its use of the
 * acquisition (standardized units, variance floor) so that the curves are
 * what the sampler maximized.
 *
 * Does not: suggest points, snap them, condition on pending trials, draw,
 * or know report.c (tests compile this file into their own unit).
 */
#include "report/report_gp.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hpo/acq.h"
#include "hpo/study.h"

#define VAR_FLOOR 1e-18                  /* as hpo/bo.c */
#define FIT_STREAM 0x6E90F17ULL          /* rng stream of the fit's random restarts */

void report_gp_opts_default(report_gp_opts *o)
{
    o->acq = ACQ_LOGEI;
    o->xi = 0.0;
    o->beta = 2.0;
    o->seed = 0;
}

int report_gp_count(const trial *const *hist, int n)
{
    int c = 0;
    for (int i = 0; i < n; i++)
        c += hist[i] && hist[i]->state == TRIAL_COMPLETE && isfinite(hist[i]->value);
    return c;
}

void report_gp_model_free(report_gp_model *m)
{
    if (!m)
        return;
    free(m->pos);
    free(m->ncat);
    free(m->rows);
    free(m->U);
    free(m->y);
    free(m->enc);
    free(m->mu);
    free(m->var);
    gp_free(&m->g);
    memset(m, 0, sizeof *m);
}

static int bin_of(double u, int n)
{
    int b = (int)floor(u * n);
    return b < 0 ? 0 : b >= n ? n - 1 : b;
}

/* u (d) -> z (D) as hpo/bo.c encode(): floats and ints as they are (NAN:
 * 0.5), categoricals one-hot (NAN: all zero). */
static void encode(const report_gp_model *m, const double *u, double *z)
{
    for (int i = 0; i < m->d; i++) {
        double *zi = z + m->pos[i];
        if (m->ncat[i]) {
            memset(zi, 0, sizeof *zi * m->ncat[i]);
            if (!isnan(u[i]))
                zi[bin_of(u[i], m->ncat[i])] = 1.0;
        } else {
            zi[0] = isnan(u[i]) ? 0.5 : u[i] < 0 ? 0.0 : u[i] > 1 ? 1.0 : u[i];
        }
    }
}

int report_gp_fit(report_gp_model *m, const space *sp, const trial *const *hist, int n,
                  int direction, int k, const report_gp_opts *o, tl_err *err)
{
    memset(m, 0, sizeof *m);
    report_gp_opts_default(&m->o);
    if (o)
        m->o = *o;
    if (m->o.acq < 0 || m->o.acq >= ACQ_KIND_COUNT || !(m->o.xi >= 0) || !(m->o.beta >= 0))
        return tl_fail(err, TL_EINPUT, "gp: bad acquisition settings (kind %d, xi %g, beta %g)",
                       m->o.acq, m->o.xi, m->o.beta);
    int d = sp->n;
    if (d < 1)
        return tl_fail(err, TL_EINPUT, "gp: the space has no parameters");
    int nc = report_gp_count(hist, n);
    if (k < 2 || k > nc)
        return tl_fail(err, TL_EINPUT, "gp: iteration %d needs 2 to %d complete trials", k, nc);
    m->d = d;
    m->k = k;
    m->sign = direction == STUDY_MAXIMIZE ? -1 : 1;
    m->pos = malloc(sizeof *m->pos * d);
    m->ncat = malloc(sizeof *m->ncat * d);
    m->rows = malloc(sizeof *m->rows * k);
    m->U = malloc(sizeof *m->U * (size_t)k * d);
    m->y = malloc(sizeof *m->y * k);
    double *yt = malloc(sizeof *yt * k);
    if (!m->pos || !m->ncat || !m->rows || !m->U || !m->y || !yt) {
        free(yt);
        return tl_fail(err, TL_ERUNTIME, "gp: out of memory");
    }
    for (int i = 0; i < d; i++) {
        m->pos[i] = m->D;
        m->ncat[i] = sp->p[i].kind == PARAM_CAT ? sp->p[i].ncat : 0;
        m->D += m->ncat[i] ? m->ncat[i] : 1;
    }
    int j = 0;
    for (int i = 0; i < n && j < k; i++) {
        const trial *t = hist[i];
        if (!t || t->state != TRIAL_COMPLETE || !isfinite(t->value))
            continue;
        m->rows[j] = i;
        for (int p = 0; p < d; p++)
            m->U[(size_t)j * d + p] = p < t->nparams ? space_to_unit(sp, p, t->values[p]) : NAN;
        m->y[j] = t->value;
        yt[j] = m->sign * t->value;
        if (j == 0 || yt[j] < m->sign * hist[m->best]->value)
            m->best = i;
        j++;
    }
    m->last = m->rows[k - 1];
    int rc = gp_init(&m->g, m->D, k, err);
    m->enc = malloc(sizeof *m->enc * (size_t)REPORT_GP_CHUNK * (m->D ? m->D : 1));
    m->mu = malloc(sizeof *m->mu * REPORT_GP_CHUNK);
    m->var = malloc(sizeof *m->var * REPORT_GP_CHUNK);
    double *X = malloc(sizeof *X * (size_t)k * m->D);
    if (!rc && (!m->enc || !m->mu || !m->var || !X))
        rc = tl_fail(err, TL_ERUNTIME, "gp: out of memory");
    for (int r = 0; !rc && r < k; r++)
        encode(m, m->U + (size_t)r * d, X + (size_t)r * m->D);
    if (!rc)
        rc = gp_set_data(&m->g, X, yt, k, err);
    if (!rc) {
        /* The fit the sampler makes while it has few points (hpo/bo.c, n <= 60). */
        gp_fit_opts fo;
        gp_fit_opts_default(&fo);
        fo.prior = GP_PRIOR_GAMMA;
        fo.restarts = 2;
        fo.maxeval = 150;
        rng r;
        rng_seed(&r, m->o.seed, FIT_STREAM + (uint64_t)k);
        rc = gp_fit(&m->g, &fo, &r, err);
    }
    free(X);
    free(yt);
    if (rc)
        return tl_prefix(err, "gp: iteration %d", k);
    m->ybest = HUGE_VAL;
    for (int r = 0; r < k; r++)
        m->ybest = m->g.y[r] < m->ybest ? m->g.y[r] : m->ybest;
    return 0;
}

void report_gp_predict(report_gp_model *m, const double *u, int npts, double *mean, double *sd,
                       double *acq)
{
    int d = m->d, D = m->D;
    for (int at = 0; at < npts; at += REPORT_GP_CHUNK) {
        int c = npts - at < REPORT_GP_CHUNK ? npts - at : REPORT_GP_CHUNK;
        for (int q = 0; q < c; q++)
            encode(m, u + (size_t)(at + q) * d, m->enc + (size_t)q * D);
        gp_predict(&m->g, m->enc, c, m->mu, m->var);
        for (int q = 0; q < c; q++) {
            double s = m->var[q] > VAR_FLOOR ? sqrt(m->var[q]) : sqrt(VAR_FLOOR);
            mean[at + q] = m->sign * (m->g.ymean + m->g.ystd * m->mu[q]);
            sd[at + q] = m->g.ystd * (m->var[q] > 0 ? sqrt(m->var[q]) : 0.0);
            if (acq)
                acq[at + q] = acq_eval(m->o.acq, m->mu[q], s, m->ybest, m->o.xi, m->o.beta, NULL, NULL);
        }
    }
}

double report_gp_lengthscale(const report_gp_model *m, int i)
{
    if (i < 0 || i >= m->d || m->ncat[i])
        return NAN;
    return exp(m->g.theta[m->pos[i]]);
}

double report_gp_axis(const space *sp, int i, double u)
{
    const param *p = &sp->p[i];
    u = u < 0 ? 0 : u > 1 ? 1 : u;
    if (p->kind == PARAM_CAT)
        return u * p->ncat - 0.5;
    double lo = p->low, hi = p->high;
    if (p->kind == PARAM_INT) {
        lo -= 0.5;
        hi += 0.5;
    }
    if (p->log)
        return exp(log(lo) + u * (log(hi) - log(lo)));
    return lo + u * (hi - lo);
}
