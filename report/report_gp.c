/* report/report_gp.c: the Bayesian-optimization section of `tunelab report`
 * (id "gp"), for studies run with the "bayes" sampler, and the model its
 * figures draw.  It makes the loop (fit the GP, maximize the acquisition,
 * evaluate, update) visible:
 *   a table of the GP's fitted lengthscales on all complete trials (short:
 *   important), which picks the parameters to draw (or --gp-param);
 *   gp_slice_k<K>.png for 3 iterations K (the end of the initial design,
 *   the middle, the last one with a next trial) and gp_2d_k<K>.png at the
 *   last one (drawn by report/report_gp_figures.c), with their captions.
 * The model of iteration K is the sampler's own (hpo/bo.h: bo_fit,
 * bo_predict) fitted to the first K complete trials, with the study's
 * acquisition, xi and beta read from its attributes (the CLI's defaults,
 * logei / 0 / 2, when they were not stored).  Does not: rebuild any part of
 * the GP, write the database, draw categorical parameters (they stay at the
 * best trial's choice), show pending trials the sampler conditioned on.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hpo/acq.h"
#include "report/report.h"
#include "report/report_gp.h"

#define GP_PARAM_ATTR "report:gp_param" /* in-memory only: set by report_gp_select */
#define NITER 3                         /* iterations drawn as 1-D slices */
#define FIT_STREAM 0x6E90F17ULL         /* rng stream of the fits' random restarts */

/* Trims spaces around s in place; returns the start. */
static char *trim(char *s)
{
    while (*s == ' ')
        s++;
    size_t n = strlen(s);
    while (n && s[n - 1] == ' ')
        s[--n] = 0;
    return s;
}

int report_gp_select(report_study *rs, const char *names, tl_err *err)
{
    char buf[256];
    if (!names || snprintf(buf, sizeof buf, "%s", names) >= (int)sizeof buf)
        return tl_fail(err, TL_EINPUT, "--gp-param: needs one or two parameter names");
    int got = 0, idx[2];
    for (char *save = NULL, *s = strtok_r(buf, ",", &save); s; s = strtok_r(NULL, ",", &save)) {
        s = trim(s);
        int i = space_find(&rs->sp, s);
        if (i < 0)
            return tl_fail(err, TL_EINPUT, "--gp-param: %s: no such parameter in study '%s'", s, rs->name);
        if (rs->sp.p[i].kind == PARAM_CAT)
            return tl_fail(err, TL_EINPUT, "--gp-param: %s: categorical parameters are not sliced "
                                           "(they stay at the best trial's choice)", s);
        if (got == 2)
            return tl_fail(err, TL_EINPUT, "--gp-param: at most two parameters (got '%s')", names);
        if (got == 1 && idx[0] == i)
            return tl_fail(err, TL_EINPUT, "--gp-param: %s: named twice", s);
        idx[got++] = i;
    }
    if (!got)
        return tl_fail(err, TL_EINPUT, "--gp-param: needs one or two parameter names");
    char *value = strdup(names);
    if (!value)
        return tl_fail(err, TL_ERUNTIME, "report: out of memory");
    for (int k = 0; k < rs->nattrs; k++)
        if (!strcmp(rs->attrs[k].key, GP_PARAM_ATTR)) {
            free(rs->attrs[k].value);
            rs->attrs[k].value = value;
            return 0;
        }
    char *key = strdup(GP_PARAM_ATTR);
    storage_attr *kv = key ? realloc(rs->attrs, sizeof *kv * (size_t)(rs->nattrs + 1)) : NULL;
    if (!kv) {
        free(key);
        free(value);
        return tl_fail(err, TL_ERUNTIME, "report: out of memory");
    }
    rs->attrs = kv;
    kv[rs->nattrs].key = key;
    kv[rs->nattrs].value = value;
    rs->nattrs++;
    return 0;
}

static int gp_applies(const report_study *rs)
{
    return report_uses(rs, "bayes");
}

/* The acquisition settings from the study attributes; *stored receives 1
 * when all three were there. */
static void study_opts(const report_study *rs, report_gp_opts *o, int *stored)
{
    report_gp_opts_default(o);
    o->seed = rs->seed;
    const char *a = report_study_attr(rs, "acquisition");
    const char *xi = report_study_attr(rs, "xi");
    const char *beta = report_study_attr(rs, "beta");
    *stored = a && xi && beta;
    int k = acq_parse(a);
    if (k >= 0)
        o->acq = k;
    double v = xi ? strtod(xi, NULL) : NAN;
    if (v >= 0 && isfinite(v))
        o->xi = v;
    v = beta ? strtod(beta, NULL) : NAN;
    if (v >= 0 && isfinite(v))
        o->beta = v;
}

static void value_text(const report_study *rs, int i, char *buf, size_t n)
{
    size_t u = 0;
    buf[0] = 0;
    for (int p = 0; p < rs->sp.n && u < n; p++) {
        char s[128];
        double v = rs->trials[i].t.values[p];
        if (rs->sp.p[p].kind == PARAM_FLOAT && isfinite(v))
            snprintf(s, sizeof s, "%.3g", v); /* a caption, not a command: 3 digits */
        else
            space_format_value(&rs->sp, p, v, s, sizeof s);
        u += (size_t)snprintf(buf + u, n - u, "%s%s=%s", u ? ", " : "", rs->sp.p[p].name, s);
    }
}

/* Parameters to draw: from --gp-param, else the non-categorical ones by
 * lengthscale of the full fit (shortest first).  Returns how many (0-2). */
static int choose(const report_study *rs, const report_gp_model *full, int *pick)
{
    int n = 0;
    const char *chosen = report_study_attr(rs, GP_PARAM_ATTR);
    if (chosen) {
        char buf[256];
        snprintf(buf, sizeof buf, "%s", chosen);
        for (char *save = NULL, *s = strtok_r(buf, ",", &save); s && n < 2; s = strtok_r(NULL, ",", &save)) {
            s = trim(s);
            int i = space_find(&rs->sp, s);
            if (i >= 0 && rs->sp.p[i].kind != PARAM_CAT)
                pick[n++] = i;
        }
    }
    while (n < 2) { /* fill up by lengthscale */
        int arg = -1;
        for (int i = 0; i < rs->sp.n; i++) {
            double l = bo_lengthscale(&full->b, i);
            if (isnan(l) || (n && pick[0] == i))
                continue;
            if (arg < 0 || l < bo_lengthscale(&full->b, arg))
                arg = i;
        }
        if (arg < 0)
            break;
        pick[n++] = arg;
    }
    return n;
}

/* ---- the model of one iteration ---- */

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
    free(m->rows);
    free(m->U);
    free(m->y);
    bo_free(&m->b);
    memset(m, 0, sizeof *m);
}

/* The engine the "bayes" sampler makes for sp, with o's acquisition. */
static int engine_init(report_gp_model *m, const space *sp, tl_err *err)
{
    bo_config c;
    bo_config_default(&c);
    c.acq = m->o.acq;
    c.xi = m->o.xi;
    c.beta = m->o.beta;
    bo_param p[SPACE_MAX_PARAMS]; /* as hpo/sampler_bayes.c describes the space */
    for (int i = 0; i < sp->n; i++) {
        const param *q = &sp->p[i];
        p[i].kind = q->kind == PARAM_CAT ? BO_CAT : q->kind == PARAM_INT ? BO_INT : BO_FLOAT;
        p[i].n = q->kind == PARAM_CAT ? q->ncat : q->kind == PARAM_INT ? (int)(q->high - q->low + 1) : 0;
    }
    return bo_init(&m->b, sp->n, p, &c, m->o.seed, err);
}

int report_gp_fit(report_gp_model *m, const space *sp, const trial *const *hist, int n,
                  int direction, int k, const report_gp_opts *o, tl_err *err)
{
    memset(m, 0, sizeof *m);
    report_gp_opts_default(&m->o);
    if (o)
        m->o = *o;
    int d = sp->n, nc = report_gp_count(hist, n);
    if (d < 1)
        return tl_fail(err, TL_EINPUT, "gp: the space has no parameters");
    if (k < 2 || k > nc)
        return tl_fail(err, TL_EINPUT, "gp: iteration %d needs 2 to %d complete trials", k, nc);
    if (engine_init(m, sp, err))
        return tl_prefix(err, "gp: iteration %d", k);
    m->d = d;
    m->k = k;
    m->sign = direction == STUDY_MAXIMIZE ? -1 : 1;
    m->rows = malloc(sizeof *m->rows * k);
    m->U = malloc(sizeof *m->U * (size_t)k * d);
    m->y = malloc(sizeof *m->y * k);
    double *yt = malloc(sizeof *yt * k);
    if (!m->rows || !m->U || !m->y || !yt) {
        free(yt);
        return tl_fail(err, TL_ERUNTIME, "gp: out of memory");
    }
    for (int i = 0, j = 0; i < n && j < k; i++) {
        const trial *t = hist[i];
        if (!t || t->state != TRIAL_COMPLETE || !isfinite(t->value))
            continue;
        m->rows[j] = i;
        for (int p = 0; p < d; p++)
            m->U[(size_t)j * d + p] = p < t->nparams ? space_to_unit(sp, p, t->values[p]) : NAN;
        m->y[j] = t->value;
        yt[j] = m->sign * t->value; /* the sampler minimizes */
        if (j == 0 || yt[j] < m->sign * hist[m->best]->value)
            m->best = i;
        j++;
    }
    m->last = m->rows[k - 1];
    m->next = m->last + 1 < n ? m->last + 1 : -1;
    rng r;
    rng_seed(&r, m->o.seed, FIT_STREAM + (uint64_t)k);
    int rc = bo_fit(&m->b, m->U, yt, k, &r, err);
    free(yt);
    return rc ? tl_prefix(err, "gp: iteration %d", k) : 0;
}

void report_gp_predict(report_gp_model *m, const double *u, int npts, double *mean, double *sd,
                       double *acq)
{
    bo_predict(&m->b, u, npts, mean, sd, acq);
    for (int q = 0; q < npts; q++)
        mean[q] *= m->sign;
}

/* ---- the section ---- */

/* What the parts of the section share. */
typedef struct gp_section {
    const report_study *rs;
    report_out *o;
    const trial **hist;   /* (n) the trials, as the model takes them */
    int n, d, nc;         /* trials, parameters, complete trials with a finite value */
    int n_init;           /* trials of the initial design */
    report_gp_opts opts;
    int pick[2], npick;   /* the parameters sliced through */
    report_gp_work w;
} gp_section;

/* The explanation and the acquisition settings. */
static void gp_intro(gp_section *g)
{
    report_out *o = g->o;
    int stored;
    study_opts(g->rs, &g->opts, &stored);
    const char *ni = report_study_attr(g->rs, "n_init");
    long v = ni ? strtol(ni, NULL, 10) : 0;
    g->n_init = v > 0 && v < 1000000 ? (int)v : 2 * g->d + 2 > 5 ? 2 * g->d + 2 : 5;
    report_html(o, "<p>Bayesian optimization repeats one loop: <b>fit</b> a Gaussian process (GP) to the "
                   "trials evaluated so far (its mean is the best guess of the objective everywhere, its "
                   "standard deviation how unsure that guess is); <b>maximize</b> the acquisition function, "
                   "which scores every point by how promising it is given both (EI: the improvement "
                   "expected over the best so far; PI: the probability of improving; UCB: an optimistic "
                   "bound); <b>evaluate</b> the objective there (train the model); <b>update</b> the data "
                   "and start again.  The first %d trials come from a Sobol design, before the GP has "
                   "data.</p>\n", g->n_init);
    report_html(o, "<p>Acquisition: %s, xi = %g, beta = %g", acq_kind_str(g->opts.acq), g->opts.xi,
                g->opts.beta);
    if (!stored)
        report_html(o, " (not stored with the study: the CLI's defaults)");
    report_html(o, ".  The GP is refitted here from the trials; its hyperparameters can differ slightly "
                   "from the sampler's warm-started fits, and trials that were still running when a "
                   "suggestion was made (several workers) are left out.</p>\n");
}

/* The lengthscales of the fit on every complete trial, and the parameters
 * to slice through (g->pick). */
static int gp_lengthscales(gp_section *g, tl_err *err)
{
    const report_study *rs = g->rs;
    report_gp_model full = {0};
    int rc = report_gp_fit(&full, &rs->sp, g->hist, g->n, rs->direction, g->nc, &g->opts, err);
    if (rc) {
        report_gp_model_free(&full);
        return rc;
    }
    report_html(g->o, "<h3>Lengthscales</h3>\n<p>Fitted on all %d complete trials, on the unit cube (log "
                      "scale for log parameters).  A short lengthscale means the objective changes quickly "
                      "along that parameter: the GP found it important.</p>\n<table>\n<tr><th>parameter</th>"
                      "<th>lengthscale</th></tr>\n", g->nc);
    for (int i = 0; i < g->d; i++) {
        report_html(g->o, "<tr><td>");
        report_text(g->o, rs->sp.p[i].name);
        double l = bo_lengthscale(&full.b, i);
        if (isnan(l))
            report_html(g->o, "</td><td>categorical (one-hot)</td></tr>\n");
        else
            report_html(g->o, "</td><td class=\"num\">%.3g</td></tr>\n", l);
    }
    report_html(g->o, "</table>\n");
    g->npick = choose(rs, &full, g->pick);
    report_gp_model_free(&full);
    return 0;
}

/* The iterations drawn: the end of the initial design, the middle, the
 * last one that has a next trial (or all trials when the study went on
 * past the last complete one).  Writes them to ks (NITER); returns how
 * many (repeats dropped). */
static int gp_iterations(const gp_section *g, int *ks)
{
    int last_c = -1;
    for (int i = 0, c = 0; i < g->n; i++)
        if (g->hist[i]->state == TRIAL_COMPLETE && isfinite(g->hist[i]->value) && ++c == g->nc)
            last_c = i;
    int kmax = last_c + 1 < g->n ? g->nc : g->nc - 1;
    if (kmax < 2)
        kmax = 2;
    int k0 = g->n_init < 2 ? 2 : g->n_init > kmax ? kmax : g->n_init;
    int all[NITER] = {k0, (k0 + kmax) / 2, kmax}, nk = 0;
    for (int j = 0; j < NITER; j++)
        if (!nk || all[j] != ks[nk - 1])
            ks[nk++] = all[j];
    return nk;
}

/* The caption of iteration m's 1-D slice through parameter name pn. */
static void slice_caption(const gp_section *g, const report_gp_model *m, const char *pn, char *cap,
                          size_t n)
{
    const report_study *rs = g->rs;
    char best[1024];
    value_text(rs, m->best, best, sizeof best);
    int at = snprintf(cap, n,
                      "Iteration %d: the GP fitted on the first %d completed trials (up to trial %d). "
                      "Top: posterior mean of %s (line) and mean +/- 2 standard deviations (band) "
                      "along %s, every other parameter fixed at the best trial so far (trial %d: %s); "
                      "black dots: the %d evaluated trials, projected onto %s (they differ in the "
                      "other parameters, so they need not lie on the curve); green circle: the best. "
                      "Bottom: the acquisition (%s) along the same slice, its maximum on the slice "
                      "marked.",
                      m->k, m->k, rs->trials[m->last].t.number, rs->metric, pn, rs->trials[m->best].t.number,
                      best, m->k, pn, report_gp_acq_label(m->o.acq));
    if (m->next < 0 || at >= (int)n)
        return;
    const trial *t = &rs->trials[m->next].t;
    char val[64] = "";
    if (t->state == TRIAL_COMPLETE && isfinite(t->value))
        snprintf(val, sizeof val, "it scored %.4g", t->value);
    else
        snprintf(val, sizeof val, "it ended %s", trial_state_str(t->state));
    snprintf(cap + at, n - at, " Red dashed line (and cross): trial %d, the next suggestion (%s); %s. ",
             t->number, t->number < g->n_init ? "from the initial design, not the GP"
                                              : "the acquisition's maximum over the whole space, "
                                                "so not necessarily this slice's",
             val);
}

/* Iteration k: its 1-D slice, and when last its 2-D slice, with captions. */
static int gp_iteration(gp_section *g, int k, int last, tl_err *err)
{
    const report_study *rs = g->rs;
    const char *pn = rs->sp.p[g->pick[0]].name;
    report_gp_model m = {0};
    char png[64], cap[2048];
    int rc = report_gp_fit(&m, &rs->sp, g->hist, g->n, rs->direction, k, &g->opts, err);
    if (!rc)
        rc = report_gp_slice_1d(rs, g->o, &m, &g->w, g->pick[0], err);
    if (!rc) {
        slice_caption(g, &m, pn, cap, sizeof cap);
        snprintf(png, sizeof png, "gp_slice_k%d.png", m.k);
        report_figure(g->o, png, cap);
    }
    if (!rc && last && g->npick == 2 &&
        !(rc = report_gp_slice_2d(rs, g->o, &m, &g->w, g->pick[0], g->pick[1], err))) {
        snprintf(png, sizeof png, "gp_2d_k%d.png", m.k);
        snprintf(cap, sizeof cap,
                 "Iteration %d over the two %s parameters, %s (x) and %s (y), the others at the best "
                 "trial so far. Left: contours of the GP mean of %s; right: the acquisition (%s). "
                 "Black dots: evaluated trials (projected); green circle: the best; white cross: the "
                 "next trial.",
                 m.k, report_study_attr(rs, GP_PARAM_ATTR) ? "chosen" : "most important", pn,
                 rs->sp.p[g->pick[1]].name, rs->metric, report_gp_acq_label(m.o.acq));
        report_figure(g->o, png, cap);
    }
    report_gp_model_free(&m);
    return rc;
}

/* The iterations, after their introduction. */
static int gp_loop(gp_section *g, tl_err *err)
{
    const report_study *rs = g->rs;
    int ks[NITER], nk = gp_iterations(g, ks), np = REPORT_GP_NGRID * REPORT_GP_NGRID;
    g->w.u = malloc(sizeof *g->w.u * (size_t)np * g->d);
    g->w.mean = malloc(sizeof *g->w.mean * np);
    g->w.sd = malloc(sizeof *g->w.sd * np);
    g->w.acq = malloc(sizeof *g->w.acq * np);
    if (!g->w.u || !g->w.mean || !g->w.sd || !g->w.acq)
        return tl_fail(err, TL_ERUNTIME, "report: out of memory");
    report_html(g->o, "<h3>The loop, iteration by iteration</h3>\n<p>Each figure is one iteration k: the GP "
                      "fitted on the first k completed trials.  A GP over %d parameters cannot be drawn "
                      "whole, so the figures cut a slice through <code>", g->d);
    report_text(g->o, rs->sp.p[g->pick[0]].name);
    report_html(g->o, "</code>%s with the other parameters held at the best trial so far.</p>\n",
                report_study_attr(rs, GP_PARAM_ATTR) ? " (chosen with --gp-param)" : " (the shortest lengthscale)");
    int rc = 0;
    for (int j = 0; j < nk && !rc; j++)
        rc = gp_iteration(g, ks[j], j == nk - 1, err);
    return rc;
}

static int gp_write(const report_study *rs, report_out *o, tl_err *err)
{
    gp_section g = {.rs = rs, .o = o, .n = rs->ntrials, .d = rs->sp.n};
    g.hist = malloc(sizeof *g.hist * (size_t)(g.n ? g.n : 1));
    if (!g.hist)
        return tl_fail(err, TL_ERUNTIME, "report: out of memory");
    for (int i = 0; i < g.n; i++)
        g.hist[i] = &rs->trials[i].t;
    g.nc = report_gp_count(g.hist, g.n);
    gp_intro(&g);
    int rc = 0;
    if (g.nc < 3 || g.d < 1)
        report_html(o, "<p>%d complete trials: the GP needs at least 3.</p>\n", g.nc);
    else if (!(rc = gp_lengthscales(&g, err)) && !g.npick)
        report_html(o, "<p>Every parameter is categorical: no slice to draw.</p>\n");
    else if (!rc)
        rc = gp_loop(&g, err);
    free(g.w.u);
    free(g.w.mean);
    free(g.w.sd);
    free(g.w.acq);
    free(g.hist);
    return rc;
}

const report_section report_section_gp = {"gp", "Bayesian optimization", gp_applies, gp_write};
