/* report/report_gp_figures.c: the figures of the Bayesian-optimization
 * section (report/report_gp.c), drawn from a report_gp_model:
 *   gp_slice_k<K>.png  iteration K along one parameter, the others at the
 *                      best trial so far: the posterior mean and a 2-sigma
 *                      band of the metric, the evaluated trials projected
 *                      onto that parameter, the best one, the next trial;
 *                      below, the acquisition along the same slice and its
 *                      maximum there;
 *   gp_2d_k<K>.png     iteration K over two parameters: contours of the
 *                      mean and of the acquisition side by side.
 * Axes are the parameters' own (report_gp_axis: log scale for log
 * parameters, labelled in 1-2-5 steps over a decade or two).
 * Does not: fit anything (the model comes fitted), write HTML, or choose
 * the parameters or the iterations (report_gp.c does).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hpo/acq.h"
#include "report/report.h"
#include "report/report_gp.h"

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

const char *report_gp_acq_label(int kind)
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

/* The 1-D slice of iteration m through parameter p. */
int report_gp_slice_1d(const report_study *rs, report_out *o, report_gp_model *m, report_gp_work *w,
                       int p, tl_err *err)
{
    int d = m->d, bi = -1;
    for (int j = 0; j < m->k; j++)
        if (m->rows[j] == m->best)
            bi = j;
    const double *ub = m->U + (size_t)bi * d;
    for (int s = 0; s < REPORT_GP_NSLICE; s++) {
        memcpy(w->u + (size_t)s * d, ub, sizeof *ub * d);
        w->u[(size_t)s * d + p] = (double)s / (REPORT_GP_NSLICE - 1);
    }
    report_gp_predict(m, w->u, REPORT_GP_NSLICE, w->mean, w->sd, w->acq);
    int amax = 0;
    for (int s = 1; s < REPORT_GP_NSLICE; s++)
        if (w->acq[s] > w->acq[amax])
            amax = s;
    const trial *tn = m->next >= 0 ? &rs->trials[m->next].t : NULL;
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
    for (int s = 0; s < REPORT_GP_NSLICE; s++) {
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
int report_gp_slice_2d(const report_study *rs, report_out *o, report_gp_model *m, report_gp_work *w,
                       int p, int r, tl_err *err)
{
    int d = m->d, bi = -1, np = REPORT_GP_NGRID * REPORT_GP_NGRID;
    for (int j = 0; j < m->k; j++)
        if (m->rows[j] == m->best)
            bi = j;
    const double *ub = m->U + (size_t)bi * d;
    for (int a = 0; a < REPORT_GP_NGRID; a++)
        for (int b = 0; b < REPORT_GP_NGRID; b++) {
            double *u = w->u + (size_t)(a * REPORT_GP_NGRID + b) * d;
            memcpy(u, ub, sizeof *ub * d);
            u[p] = (double)a / (REPORT_GP_NGRID - 1);
            u[r] = (double)b / (REPORT_GP_NGRID - 1);
        }
    report_gp_predict(m, w->u, np, w->mean, w->sd, w->acq);
    /* colour scales fitted to each panel's own values (autoscale would also
     * take in the z = 0 of the trial markers and paint the panel one colour) */
    double amin = HUGE_VAL, amax = -HUGE_VAL, mmin = HUGE_VAL, mmax = -HUGE_VAL;
    for (int g = 0; g < np; g++) {
        if (isfinite(w->acq[g]) && w->acq[g] < amin)
            amin = w->acq[g];
        if (isfinite(w->acq[g]) && w->acq[g] > amax)
            amax = w->acq[g];
        if (isfinite(w->mean[g]) && w->mean[g] < mmin)
            mmin = w->mean[g];
        if (isfinite(w->mean[g]) && w->mean[g] > mmax)
            mmax = w->mean[g];
    }
    const trial *tn = m->next >= 0 ? &rs->trials[m->next].t : NULL;

    char *buf = NULL, q[400], title[400], png[64];
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return tl_fail(err, TL_ERUNTIME, "report: out of memory");
    snprintf(png, sizeof png, "gp_2d_k%d.png", m->k);
    snprintf(title, sizeof title, "%s: iteration %d (GP on trials 0-%d), %s against %s", rs->name, m->k,
             rs->trials[m->last].t.number, rs->sp.p[r].name, rs->sp.p[p].name);
    fprintf(f, "set terminal pngcairo size 1100,520 noenhanced font 'sans,10'\n$g << EOD\n");
    for (int a = 0; a < REPORT_GP_NGRID; a++) {
        for (int b = 0; b < REPORT_GP_NGRID; b++) {
            int g = a * REPORT_GP_NGRID + b;
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
            fprintf(f, "set title %s\n", report_gp_quote(report_gp_acq_label(m->o.acq), q, sizeof q));
        }
        double lo = panel ? amin : mmin, hi = panel ? amax : mmax;
        /* a log acquisition spans thousands of nats where it is ~0: show the top 20 */
        if (panel && (m->o.acq == ACQ_LOGEI || m->o.acq == ACQ_PI) && lo < hi - 20)
            lo = hi - 20;
        if (isfinite(lo) && isfinite(hi) && hi > lo)
            fprintf(f, "set cbrange [%.17g:%.17g]\nset zrange [%.17g:%.17g]\n", lo, hi, lo, hi);
        else
            fprintf(f, "set cbrange [*:*]\nset zrange [*:*]\n");
        fprintf(f, "splot $g using 1:2:%d with pm3d notitle, $g using 1:2:%d nosurface with lines "
                   "lc rgb '#333333' notitle, $pts using 1:2:(%.17g) nocontours with points pt 7 ps 0.8 "
                   "lc rgb 'black' notitle, $best using 1:2:(%.17g) nocontours with points pt 6 ps 2.4 lw 2 "
                   "lc rgb '#2ca02c' notitle",
                panel ? 4 : 3, panel ? 4 : 3, isfinite(lo) ? lo : 0.0, isfinite(lo) ? lo : 0.0);
        if (next_pt)
            fprintf(f, ", $next using 1:2:(%.17g) nocontours with points pt 3 ps 2.6 lw 2 lc rgb '#ffffff' notitle",
                    isfinite(lo) ? lo : 0.0);
        fprintf(f, "\n");
    }
    fprintf(f, "unset multiplot\n");
    return draw(o, f, &buf, png, err);
}
