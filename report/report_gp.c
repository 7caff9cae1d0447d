/* report/report_gp.c: the Bayesian-optimization section of `tunelab report`
 * (id "gp"), for studies run with the "bayes" sampler.  It makes the loop
 * (fit the GP, maximize the acquisition, evaluate, update) visible:
 *   a table of the GP's fitted lengthscales on all complete trials (short:
 *   important), which picks the parameters to draw (or --gp-param);
 *   gp_slice_k<K>.png for 3 iterations K (the end of the initial design,
 *   the middle, the last one with a next trial): the posterior mean and a
 *   2-sigma band of the metric along the most important parameter, the
 *   other parameters fixed at the best trial so far, the evaluated trials
 *   projected onto that parameter, the acquisition along the same slice
 *   and the next trial's point (K + 1);
 *   gp_2d_k<K>.png at the last iteration: contours of the mean and of the
 *   acquisition over the two most important parameters.
 * The GP is refitted here for each iteration (report/report_gp_model.c) with
 * the study's acquisition, xi and beta read from its attributes (the CLI's
 * defaults, logei / 0 / 2, when they were not stored).  Does not: write the
 * database, draw categorical parameters (they stay at the best trial's
 * choice), show pending trials the sampler conditioned on.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/report.h"
#include "report/report_gp.h"
#include "hpo/acq.h"
#include "hpo/study.h"

#define GP_PARAM_ATTR "report:gp_param" /* in-memory only: set by report_gp_select */
#define NSLICE 241                      /* points along a 1-D slice */
#define NGRID 45                        /* points per axis of a 2-D slice */
#define NITER 3                         /* iterations drawn as 1-D slices */

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

/* The acquisition's short name, as the figures' axis label. */
static const char *acq_short(int kind)
{
    switch (kind) {
    case ACQ_EI: return "EI";
    case ACQ_LOGEI: return "log EI";
    case ACQ_PI: return "log PI";
    case ACQ_UCB: return "UCB (standardized)";
    default: return "acquisition";
    }
}

static const char *acq_label(int kind)
{
    switch (kind) {
    case ACQ_EI: return "expected improvement (EI)";
    case ACQ_LOGEI: return "log expected improvement (log EI)";
    case ACQ_PI: return "log probability of improvement (log PI)";
    case ACQ_UCB: return "upper confidence bound (UCB, standardized units)";
    default: return "acquisition";
    }
}

/* Draws script into png and frees it (the memstream f is closed first). */
static int draw(report_out *o, FILE *f, char **buf, const char *png, tl_err *err)
{
    int bad = fclose(f) != 0;
    int rc = bad ? tl_fail(err, TL_ERUNTIME, "report: out of memory") : report_plot(o, png, *buf, err);
    free(*buf);
    *buf = NULL;
    return rc;
}

static void axis_setup(FILE *f, const report_study *rs, int p, char xy)
{
    const param *q = &rs->sp.p[p];
    char nq[160];
    fprintf(f, "set %clabel %s%s\n", xy, report_gp_quote(q->name, nq, sizeof nq),
            xy == 'y' ? " offset -1.5,0" : "");
    fprintf(f, "set %crange [%.17g:%.17g]\n", xy, report_gp_axis(&rs->sp, p, 0), report_gp_axis(&rs->sp, p, 1));
    if (!q->log) {
        fprintf(f, "unset logscale %c\nset %ctics autofreq\nset format %c '%% g'\n", xy, xy, xy);
        return;
    }
    /* log axis: gnuplot labels only the powers of ten, too few over a
     * decade or two; label 1-2-5 (or finer) steps instead */
    double lo = report_gp_axis(&rs->sp, p, 0), hi = report_gp_axis(&rs->sp, p, 1);
    static const double fine[] = {1, 1.5, 2, 3, 5, 7}, coarse[] = {1, 2, 5};
    fprintf(f, "set logscale %c\nset format %c '%%g'\n", xy, xy);
    if (hi > 1e4 * lo) {
        fprintf(f, "set %ctics autofreq\n", xy);
        return;
    }
    int use_fine = hi < 20 * lo, nm = use_fine ? 6 : 3, nt = 0;
    const double *m = use_fine ? fine : coarse;
    double t[64];
    for (int e = (int)floor(log10(lo)) - 1; e <= (int)ceil(log10(hi)) && nt < 64; e++)
        for (int j = 0; j < nm && nt < 64; j++) {
            double v = m[j] * pow(10, e);
            if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9))
                t[nt++] = v;
        }
    if (nt < 3) { /* a narrow range: gnuplot's own ticks do better */
        fprintf(f, "set %ctics autofreq\n", xy);
        return;
    }
    fprintf(f, "set %ctics (", xy);
    for (int j = 0; j < nt; j++)
        fprintf(f, "%s%.6g", j ? ", " : "", t[j]);
    fprintf(f, ")\n");
}

/* Index in rs->trials of the trial after hist index `last`, or -1. */
static int next_of(const report_study *rs, int last)
{
    return last + 1 < rs->ntrials ? last + 1 : -1;
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

/* Work buffers for one section, allocated once. */
typedef struct gp_work {
    double *u;      /* (NGRID*NGRID, d) query points */
    double *mean, *sd, *acq; /* (NGRID*NGRID) */
} gp_work;

/* The 1-D slice of iteration m through parameter p. */
static int slice_1d(const report_study *rs, report_out *o, report_gp_model *m, gp_work *w, int p,
                    tl_err *err)
{
    int d = m->d, bi = -1;
    for (int j = 0; j < m->k; j++)
        if (m->rows[j] == m->best)
            bi = j;
    const double *ub = m->U + (size_t)bi * d;
    for (int s = 0; s < NSLICE; s++) {
        memcpy(w->u + (size_t)s * d, ub, sizeof *ub * d);
        w->u[(size_t)s * d + p] = (double)s / (NSLICE - 1);
    }
    report_gp_predict(m, w->u, NSLICE, w->mean, w->sd, w->acq);
    int amax = 0;
    for (int s = 1; s < NSLICE; s++)
        if (w->acq[s] > w->acq[amax])
            amax = s;
    int nx = next_of(rs, m->last);
    const trial *tn = nx >= 0 ? &rs->trials[nx].t : NULL;
    double xn = tn && tn->nparams > p ? space_to_unit(&rs->sp, p, tn->values[p]) : NAN;

    char *buf = NULL, q[400], title[400], png[64];
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return tl_fail(err, TL_ERUNTIME, "report: out of memory");
    snprintf(png, sizeof png, "gp_slice_k%d.png", m->k);
    snprintf(title, sizeof title, "%s: iteration %d (GP on trials 0-%d), slice through %s", rs->name, m->k,
             rs->trials[m->last].t.number, rs->sp.p[p].name);
    fprintf(f, "set terminal pngcairo size 900,760 noenhanced font 'sans,10'\n");
    fprintf(f, "$s << EOD\n");
    for (int s = 0; s < NSLICE; s++) {
        double x = report_gp_axis(&rs->sp, p, w->u[(size_t)s * d + p]);
        fprintf(f, "%.17g %.17g %.17g %.17g %.17g\n", x, w->mean[s], w->mean[s] - 2 * w->sd[s],
                w->mean[s] + 2 * w->sd[s], isfinite(w->acq[s]) ? w->acq[s] : NAN);
    }
    fprintf(f, "EOD\n$pts << EOD\n");
    for (int j = 0; j < m->k; j++) {
        double u = m->U[(size_t)j * d + p];
        if (!isnan(u))
            fprintf(f, "%.17g %.17g\n", report_gp_axis(&rs->sp, p, u), m->y[j]);
    }
    fprintf(f, "EOD\n$best << EOD\n%.17g %.17g\nEOD\n", report_gp_axis(&rs->sp, p, ub[p]),
            rs->trials[m->best].t.value);
    fprintf(f, "$amax << EOD\n%.17g %.17g\nEOD\n", report_gp_axis(&rs->sp, p, w->u[(size_t)amax * d + p]),
            w->acq[amax]);
    int next_pt = tn && !isnan(xn) && tn->state == TRIAL_COMPLETE && isfinite(tn->value);
    if (next_pt)
        fprintf(f, "$next << EOD\n%.17g %.17g\nEOD\n", report_gp_axis(&rs->sp, p, xn), tn->value);
    fprintf(f, "set multiplot title %s\n", report_gp_quote(title, q, sizeof q));
    fprintf(f, "set lmargin at screen 0.11\nset rmargin at screen 0.96\n");
    axis_setup(f, rs, p, 'x');
    if (tn && !isnan(xn))
        fprintf(f, "set arrow 1 from %.17g, graph 0 to %.17g, graph 1 nohead dt 2 lw 1.5 lc rgb '#d62728'\n",
                report_gp_axis(&rs->sp, p, xn), report_gp_axis(&rs->sp, p, xn));
    fprintf(f, "set tmargin at screen 0.88\nset bmargin at screen 0.43\nset grid\n");
    fprintf(f, "set key at screen 0.5, screen 0.935 center center horizontal font ',9'\n");
    fprintf(f, "set ylabel %s\nset xlabel ''\n", report_gp_quote(rs->metric, q, sizeof q));
    fprintf(f, "plot $s using 1:3:4 with filledcurves fc rgb '#c6dbef' fs solid 0.8 title 'mean +/- 2 sd', "
               "$s using 1:2 with lines lw 2 lc rgb '#1f77b4' title 'GP mean', "
               "$pts using 1:2 with points pt 7 ps 0.9 lc rgb 'black' title 'evaluated (projected)', "
               "$best using 1:2 with points pt 6 ps 2.4 lw 2 lc rgb '#2ca02c' title 'best so far'");
    if (next_pt)
        fprintf(f, ", $next using 1:2 with points pt 3 ps 2.6 lw 2 lc rgb '#d62728' title 'next trial %d'",
                tn->number);
    fprintf(f, "\nset tmargin at screen 0.36\nset bmargin at screen 0.08\nunset key\n");
    axis_setup(f, rs, p, 'x');
    fprintf(f, "set ylabel %s\n", report_gp_quote(acq_short(m->o.acq), q, sizeof q));
    fprintf(f, "plot $s using 1:5 with lines lw 2 lc rgb '#9467bd', "
               "$amax using 1:2 with points pt 9 ps 2 lc rgb '#9467bd'\n");
    fprintf(f, "unset multiplot\n");
    return draw(o, f, &buf, png, err);
}

/* The 2-D slice of iteration m through parameters p (x) and r (y). */
static int slice_2d(const report_study *rs, report_out *o, report_gp_model *m, gp_work *w, int p, int r,
                    tl_err *err)
{
    int d = m->d, bi = -1, np = NGRID * NGRID;
    for (int j = 0; j < m->k; j++)
        if (m->rows[j] == m->best)
            bi = j;
    const double *ub = m->U + (size_t)bi * d;
    for (int a = 0; a < NGRID; a++)
        for (int b = 0; b < NGRID; b++) {
            double *u = w->u + (size_t)(a * NGRID + b) * d;
            memcpy(u, ub, sizeof *ub * d);
            u[p] = (double)a / (NGRID - 1);
            u[r] = (double)b / (NGRID - 1);
        }
    report_gp_predict(m, w->u, np, w->mean, w->sd, w->acq);
    double amin = HUGE_VAL;
    for (int g = 0; g < np; g++)
        if (isfinite(w->acq[g]) && w->acq[g] < amin)
            amin = w->acq[g];
    int nx = next_of(rs, m->last);
    const trial *tn = nx >= 0 ? &rs->trials[nx].t : NULL;

    char *buf = NULL, q[400], title[400], png[64];
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return tl_fail(err, TL_ERUNTIME, "report: out of memory");
    snprintf(png, sizeof png, "gp_2d_k%d.png", m->k);
    snprintf(title, sizeof title, "%s: iteration %d (GP on trials 0-%d), %s against %s", rs->name, m->k,
             rs->trials[m->last].t.number, rs->sp.p[r].name, rs->sp.p[p].name);
    fprintf(f, "set terminal pngcairo size 1100,520 noenhanced font 'sans,10'\n$g << EOD\n");
    for (int a = 0; a < NGRID; a++) {
        for (int b = 0; b < NGRID; b++) {
            int g = a * NGRID + b;
            const double *u = w->u + (size_t)g * d;
            fprintf(f, "%.17g %.17g %.17g %.17g\n", report_gp_axis(&rs->sp, p, u[p]),
                    report_gp_axis(&rs->sp, r, u[r]), w->mean[g], isfinite(w->acq[g]) ? w->acq[g] : amin);
        }
        fprintf(f, "\n");
    }
    fprintf(f, "EOD\n$pts << EOD\n");
    for (int j = 0; j < m->k; j++) {
        const double *u = m->U + (size_t)j * d;
        if (!isnan(u[p]) && !isnan(u[r]))
            fprintf(f, "%.17g %.17g\n", report_gp_axis(&rs->sp, p, u[p]), report_gp_axis(&rs->sp, r, u[r]));
    }
    fprintf(f, "EOD\n$best << EOD\n%.17g %.17g\nEOD\n", report_gp_axis(&rs->sp, p, ub[p]),
            report_gp_axis(&rs->sp, r, ub[r]));
    int next_pt = 0;
    if (tn && tn->nparams > p && tn->nparams > r && !isnan(tn->values[p]) && !isnan(tn->values[r])) {
        next_pt = 1;
        fprintf(f, "$next << EOD\n%.17g %.17g\nEOD\n",
                report_gp_axis(&rs->sp, p, space_to_unit(&rs->sp, p, tn->values[p])),
                report_gp_axis(&rs->sp, r, space_to_unit(&rs->sp, r, tn->values[r])));
    }
    fprintf(f, "set multiplot layout 1,2 title %s\n", report_gp_quote(title, q, sizeof q));
    fprintf(f, "set view map\nset pm3d at b\nset contour base\nset cntrparam levels 10\nunset clabel\n"
               "set key off\nset palette rgbformulae 33,13,10\nset colorbox\nset lmargin 12\n");
    for (int panel = 0; panel < 2; panel++) {
        axis_setup(f, rs, p, 'x');
        axis_setup(f, rs, r, 'y');
        if (panel == 0) {
            snprintf(title, sizeof title, "GP mean of %s", rs->metric);
            fprintf(f, "set title %s\n", report_gp_quote(title, q, sizeof q));
        } else {
            fprintf(f, "set title %s\n", report_gp_quote(acq_label(m->o.acq), q, sizeof q));
        }
        fprintf(f, "splot $g using 1:2:%d with pm3d notitle, $g using 1:2:%d nosurface with lines "
                   "lc rgb '#333333' notitle, $pts using 1:2:(0) nocontours with points pt 7 ps 0.8 "
                   "lc rgb 'black' notitle, $best using 1:2:(0) nocontours with points pt 6 ps 2.4 lw 2 "
                   "lc rgb '#2ca02c' notitle",
                panel ? 4 : 3, panel ? 4 : 3);
        if (next_pt)
            fprintf(f, ", $next using 1:2:(0) nocontours with points pt 3 ps 2.6 lw 2 lc rgb '#ffffff' notitle");
        fprintf(f, "\n");
    }
    fprintf(f, "unset multiplot\n");
    return draw(o, f, &buf, png, err);
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
            double l = report_gp_lengthscale(full, i);
            if (isnan(l) || (n && pick[0] == i))
                continue;
            if (arg < 0 || l < report_gp_lengthscale(full, arg))
                arg = i;
        }
        if (arg < 0)
            break;
        pick[n++] = arg;
    }
    return n;
}

static int gp_write(const report_study *rs, report_out *o, tl_err *err)
{
    int n = rs->ntrials, d = rs->sp.n, rc = 0;
    const trial **hist = malloc(sizeof *hist * (size_t)(n ? n : 1));
    gp_work w = {0};
    report_gp_model full = {0}, m = {0};
    if (!hist)
        return tl_fail(err, TL_ERUNTIME, "report: out of memory");
    for (int i = 0; i < n; i++)
        hist[i] = &rs->trials[i].t;
    int nc = report_gp_count(hist, n);
    report_gp_opts opts;
    int stored;
    study_opts(rs, &opts, &stored);
    const char *ni = report_study_attr(rs, "n_init");
    int n_init = ni ? atoi(ni) : 0;
    if (n_init <= 0)
        n_init = 2 * d + 2 > 5 ? 2 * d + 2 : 5;

    report_html(o, "<p>Bayesian optimization repeats one loop: <b>fit</b> a Gaussian process (GP) to the "
                   "trials evaluated so far (its mean is the best guess of the objective everywhere, its "
                   "standard deviation how unsure that guess is); <b>maximize</b> the acquisition function, "
                   "which scores every point by how promising it is given both (EI: the improvement "
                   "expected over the best so far; PI: the probability of improving; UCB: an optimistic "
                   "bound); <b>evaluate</b> the objective there (train the model); <b>update</b> the data "
                   "and start again.  The first %d trials come from a Sobol design, before the GP has "
                   "data.</p>\n", n_init);
    report_html(o, "<p>Acquisition: %s, xi = %g, beta = %g", acq_kind_str(opts.acq), opts.xi, opts.beta);
    if (!stored)
        report_html(o, " (not stored with the study: the CLI's defaults)");
    report_html(o, ".  The GP is refitted here from the trials; its hyperparameters can differ slightly "
                   "from the sampler's warm-started fits, and trials that were still running when a "
                   "suggestion was made (several workers) are left out.</p>\n");
    if (nc < 3 || d < 1) {
        report_html(o, "<p>%d complete trials: the GP needs at least 3.</p>\n", nc);
        goto done;
    }
    if ((rc = report_gp_fit(&full, &rs->sp, hist, n, rs->direction, nc, &opts, err)))
        goto done;
    report_html(o, "<h3>Lengthscales</h3>\n<p>Fitted on all %d complete trials, on the unit cube (log "
                   "scale for log parameters).  A short lengthscale means the objective changes quickly "
                   "along that parameter: the GP found it important.</p>\n<table>\n<tr><th>parameter</th>"
                   "<th>lengthscale</th></tr>\n", nc);
    for (int i = 0; i < d; i++) {
        report_html(o, "<tr><td>");
        report_text(o, rs->sp.p[i].name);
        double l = report_gp_lengthscale(&full, i);
        if (isnan(l))
            report_html(o, "</td><td>categorical (one-hot)</td></tr>\n");
        else
            report_html(o, "</td><td class=\"num\">%.3g</td></tr>\n", l);
    }
    report_html(o, "</table>\n");
    int pick[2], npick = choose(rs, &full, pick);
    report_gp_model_free(&full);
    if (!npick) {
        report_html(o, "<p>Every parameter is categorical: no slice to draw.</p>\n");
        goto done;
    }

    /* Iterations: the end of the initial design, the middle, the last one
     * that has a next trial (or all trials when the study went on past the
     * last complete one). */
    int last_c = -1;
    for (int i = 0, c = 0; i < n; i++)
        if (hist[i]->state == TRIAL_COMPLETE && isfinite(hist[i]->value) && ++c == nc)
            last_c = i;
    int kmax = next_of(rs, last_c) >= 0 ? nc : nc - 1;
    if (kmax < 2)
        kmax = 2;
    int k0 = n_init < 2 ? 2 : n_init > kmax ? kmax : n_init;
    int ks[NITER] = {k0, (k0 + kmax) / 2, kmax}, nk = 0;
    for (int j = 0; j < NITER; j++)
        if (!nk || ks[j] != ks[nk - 1])
            ks[nk++] = ks[j];

    w.u = malloc(sizeof *w.u * (size_t)NGRID * NGRID * d);
    w.mean = malloc(sizeof *w.mean * NGRID * NGRID);
    w.sd = malloc(sizeof *w.sd * NGRID * NGRID);
    w.acq = malloc(sizeof *w.acq * NGRID * NGRID);
    if (!w.u || !w.mean || !w.sd || !w.acq) {
        rc = tl_fail(err, TL_ERUNTIME, "report: out of memory");
        goto done;
    }
    const char *pn = rs->sp.p[pick[0]].name;
    report_html(o, "<h3>The loop, iteration by iteration</h3>\n<p>Each figure is one iteration k: the GP "
                   "fitted on the first k completed trials.  A GP over %d parameters cannot be drawn "
                   "whole, so the figures cut a slice through <code>", d);
    report_text(o, pn);
    report_html(o, "</code>%s with the other parameters held at the best trial so far.</p>\n",
                report_study_attr(rs, GP_PARAM_ATTR) ? " (chosen with --gp-param)" : " (the shortest lengthscale)");
    for (int j = 0; j < nk; j++) {
        if ((rc = report_gp_fit(&m, &rs->sp, hist, n, rs->direction, ks[j], &opts, err)) ||
            (rc = slice_1d(rs, o, &m, &w, pick[0], err)))
            goto done;
        char png[64], cap[2048], best[1024];
        int nx = next_of(rs, m.last);
        value_text(rs, m.best, best, sizeof best);
        int at = snprintf(cap, sizeof cap,
                          "Iteration %d: the GP fitted on the first %d completed trials (up to trial %d). "
                          "Top: posterior mean of %s (line) and mean +/- 2 standard deviations (band) "
                          "along %s, every other parameter fixed at the best trial so far (trial %d: %s); "
                          "black dots: the %d evaluated trials, projected onto %s (they differ in the "
                          "other parameters, so they need not lie on the curve); green circle: the best. "
                          "Bottom: the acquisition (%s) along the same slice, its maximum on the slice "
                          "marked.",
                          m.k, m.k, rs->trials[m.last].t.number, rs->metric, pn, rs->trials[m.best].t.number,
                          best, m.k, pn, acq_label(m.o.acq));
        if (nx >= 0 && at < (int)sizeof cap) {
            const trial *t = &rs->trials[nx].t;
            char val[64] = "";
            if (t->state == TRIAL_COMPLETE && isfinite(t->value))
                snprintf(val, sizeof val, "it scored %.4g", t->value);
            else
                snprintf(val, sizeof val, "it ended %s", trial_state_str(t->state));
            at += snprintf(cap + at, sizeof cap - at,
                           " Red dashed line (and cross): trial %d, the next suggestion (%s); %s. ",
                           t->number, t->number < n_init ? "from the initial design, not the GP"
                                                         : "the acquisition's maximum over the whole space, "
                                                           "so not necessarily this slice's",
                           val);
        }
        snprintf(png, sizeof png, "gp_slice_k%d.png", m.k);
        report_figure(o, png, cap);
        if (j == nk - 1 && npick == 2) {
            if ((rc = slice_2d(rs, o, &m, &w, pick[0], pick[1], err)))
                goto done;
            snprintf(png, sizeof png, "gp_2d_k%d.png", m.k);
            snprintf(cap, sizeof cap,
                     "Iteration %d over the two %s parameters, %s (x) and %s (y), the others at the best "
                     "trial so far. Left: contours of the GP mean of %s; right: the acquisition (%s). "
                     "Black dots: evaluated trials (projected); green circle: the best; white cross: the "
                     "next trial.",
                     m.k, report_study_attr(rs, GP_PARAM_ATTR) ? "chosen" : "most important", pn,
                     rs->sp.p[pick[1]].name, rs->metric, acq_label(m.o.acq));
            report_figure(o, png, cap);
        }
        report_gp_model_free(&m);
    }
done:
    report_gp_model_free(&full);
    report_gp_model_free(&m);
    free(w.u);
    free(w.mean);
    free(w.sd);
    free(w.acq);
    free(hist);
    return rc;
}

const report_section report_section_gp = {"gp", "Bayesian optimization", gp_applies, gp_write};
