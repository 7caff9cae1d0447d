/* report/report_basic.c: the report sections every study gets (registered in
 * report/report.c):
 *   summary  study settings, trials by state, budget used, the best trial
 *            (values, attributes, retrain command) and the top 10 trials;
 *   history  the objective of every finished trial against its number, with
 *            the best value so far (history.png);
 *   params   the objective against each parameter (param_<k>.png): log x
 *            axis for log-scaled parameters, categoricals as labelled x;
 *   curves   every trial's intermediate values against step, pruned trials
 *            in red with a cross where they stopped (curves.png).
 * Does not: know any sampler or scheduler (their sections live in their own
 * report/report_<name>.c files), read the database, or print.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/report.h"

#define TOP_N 10

static const char *dir_str(const report_study *rs)
{
    return rs->direction == STUDY_MAXIMIZE ? "maximize" : "minimize";
}

/* HTML cell with a number (%.6g, "-" for NaN). */
static void num_cell(report_out *o, double v)
{
    if (isnan(v))
        report_html(o, "<td class=\"num\">-</td>");
    else
        report_html(o, "<td class=\"num\">%.6g</td>", v);
}

static void text_cell(report_out *o, const char *s)
{
    report_html(o, "<td>");
    report_text(o, s);
    report_html(o, "</td>");
}

static void row(report_out *o, const char *key, const char *value)
{
    report_html(o, "<tr><th>");
    report_text(o, key);
    report_html(o, "</th>");
    text_cell(o, value);
    report_html(o, "</tr>\n");
}

/* ---- summary ---- */

static int summary_write(const report_study *rs, report_out *o, tl_err *err)
{
    char buf[512];
    report_html(o, "<table>\n");
    row(o, "study", rs->name);
    row(o, "database", rs->path);
    snprintf(buf, sizeof buf, "%s (%s)", rs->metric, dir_str(rs));
    row(o, "objective", buf);
    row(o, "sampler", rs->sampler[0] ? rs->sampler : "(not stored)");
    row(o, "scheduler", rs->scheduler[0] ? rs->scheduler : "(not stored)");
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)rs->seed);
    row(o, "seed", buf);
    size_t at = (size_t)snprintf(buf, sizeof buf, "%d", rs->ntrials);
    const char *sep = " (";
    for (int s = 0; s < TRIAL_STATE_COUNT && at < sizeof buf; s++)
        if (rs->counts[s]) {
            at += (size_t)snprintf(buf + at, sizeof buf - at, "%s%d %s", sep, rs->counts[s], trial_state_str(s));
            sep = ", ";
        }
    if (rs->ntrials && at < sizeof buf)
        snprintf(buf + at, sizeof buf - at, ")");
    row(o, "trials", buf);
    snprintf(buf, sizeof buf, "%g", rs->budget_used);
    row(o, "budget used", buf);
    if (isfinite(rs->first_start) && isfinite(rs->last_finish)) {
        snprintf(buf, sizeof buf, "%.1f s", rs->last_finish - rs->first_start);
        row(o, "wall time", buf);
    }
    report_html(o, "</table>\n");

    report_html(o, "<h3>Best trial</h3>\n");
    if (rs->best < 0) {
        report_html(o, "<p>No trial has completed.</p>\n");
        return 0;
    }
    const storage_trial *b = &rs->trials[rs->best];
    report_html(o, "<table>\n");
    snprintf(buf, sizeof buf, "%d", b->t.number);
    row(o, "trial", buf);
    snprintf(buf, sizeof buf, "%.6g", b->t.value);
    row(o, rs->metric, buf);
    snprintf(buf, sizeof buf, "%g", b->t.budget);
    row(o, "budget", buf);
    for (int p = 0; p < rs->sp.n; p++) {
        report_value_text(&rs->sp, p, b->t.values[p], buf, sizeof buf);
        row(o, rs->sp.p[p].name, buf);
    }
    for (int k = 0; k < b->nattrs; k++)
        row(o, b->attrs[k].key, report_attr_text(b->attrs[k].key, b->attrs[k].value, buf, sizeof buf));
    report_html(o, "</table>\n");
    if (strcmp(rs->objective, "function") && strcmp(rs->objective, "command")) {
        int need = report_retrain_command(rs, rs->best, NULL, 0) + 1;
        char *cmd = malloc((size_t)need);
        if (!cmd)
            return tl_fail(err, TL_ERUNTIME, "report: out of memory");
        report_retrain_command(rs, rs->best, cmd, (size_t)need);
        report_html(o, "<p>Retrain: <code>");
        report_text(o, cmd);
        report_html(o, "</code></p>\n");
        free(cmd);
    }

    int *idx = malloc((size_t)(rs->ntrials ? rs->ntrials : 1) * sizeof *idx);
    if (!idx)
        return tl_fail(err, TL_ERUNTIME, "report: out of memory");
    int n = report_ranked(rs, idx);
    report_html(o, "<h3>Top %d trials</h3>\n<table>\n<tr><th>rank</th><th>trial</th><th>", n < TOP_N ? n : TOP_N);
    report_text(o, rs->metric);
    report_html(o, "</th><th>budget</th><th>seconds</th>");
    for (int p = 0; p < rs->sp.n; p++) {
        report_html(o, "<th>");
        report_text(o, rs->sp.p[p].name);
        report_html(o, "</th>");
    }
    report_html(o, "</tr>\n");
    for (int r = 0; r < n && r < TOP_N; r++) {
        const trial *t = &rs->trials[idx[r]].t;
        report_html(o, "<tr><td class=\"num\">%d</td><td class=\"num\">%d</td>", r + 1, t->number);
        num_cell(o, t->value);
        num_cell(o, t->budget);
        double sec = report_duration(rs, idx[r]);
        num_cell(o, isfinite(sec) ? round(sec * 100) / 100 : sec); /* seconds: to the hundredth */
        for (int p = 0; p < rs->sp.n; p++) {
            report_value_text(&rs->sp, p, t->values[p], buf, sizeof buf);
            text_cell(o, buf);
        }
        report_html(o, "</tr>\n");
    }
    report_html(o, "</table>\n");
    free(idx);
    return 0;
}

const report_section report_section_summary = {"summary", "Summary", NULL, summary_write};

/* ---- history ---- */

/* Opens a memory stream for a gnuplot script. */
static FILE *script_open(char **buf, size_t *len, tl_err *err)
{
    *buf = NULL;
    *len = 0;
    FILE *f = open_memstream(buf, len);
    if (!f)
        tl_fail(err, TL_ERUNTIME, "report: out of memory");
    return f;
}

/* Closes the stream and draws it into png. */
static int script_plot(report_out *o, FILE *f, char **buf, const char *png, tl_err *err)
{
    int bad = fclose(f) != 0;
    int rc = bad ? tl_fail(err, TL_ERUNTIME, "report: out of memory") : report_plot(o, png, *buf, err);
    free(*buf);
    *buf = NULL;
    return rc;
}

/* The metric's values of the COMPLETE trials (finite), for the axis choice;
 * returns how many were written to v (room for rs->ntrials). */
static int complete_values(const report_study *rs, double *v)
{
    int n = 0;
    for (int i = 0; i < rs->ntrials; i++)
        if (rs->trials[i].t.state == TRIAL_COMPLETE && isfinite(rs->trials[i].t.value))
            v[n++] = rs->trials[i].t.value;
    return n;
}

static void common_axes(FILE *f, const report_study *rs, int ylog)
{
    char q[256];
    fprintf(f, "set grid\nset key outside top center horizontal\nset ylabel %s\n", report_gp_quote(rs->metric, q, sizeof q));
    if (ylog)
        fprintf(f, "set logscale y\nset format y '%%g'\n");
}

/* script_open, then the title (quoted here), the x label (a gnuplot
 * string, already quoted) and common_axes written.  Returns the stream
 * (the caller hands it to script_plot) or NULL with err filled. */
static FILE *script_begin(const report_study *rs, const char *title, const char *xlabel, int ylog,
                          char **buf, size_t *len, tl_err *err)
{
    FILE *f = script_open(buf, len, err);
    if (!f)
        return NULL;
    char q[600];
    fprintf(f, "set title %s\nset xlabel %s\n", report_gp_quote(title, q, sizeof q), xlabel);
    common_axes(f, rs, ylog);
    return f;
}

static int history_write(const report_study *rs, report_out *o, tl_err *err)
{
    int ncomplete = 0, npruned = 0, npaused = 0;
    for (int i = 0; i < rs->ntrials; i++) {
        const trial *t = &rs->trials[i].t;
        ncomplete += t->state == TRIAL_COMPLETE && isfinite(t->value);
        npruned += t->state == TRIAL_PRUNED && isfinite(t->value);
        npaused += t->state == TRIAL_PAUSED && isfinite(t->value);
    }
    if (ncomplete + npruned + npaused == 0) {
        report_html(o, "<p>No finished trial has a value yet.</p>\n");
        return 0;
    }
    double *v = malloc((size_t)rs->ntrials * sizeof *v);
    if (!v)
        return tl_fail(err, TL_ERUNTIME, "report: out of memory");
    complete_values(rs, v);
    int ylog = report_log_axis(v, ncomplete);
    free(v);

    char *buf, title[300];
    size_t len;
    snprintf(title, sizeof title, "%s: %s of each trial (%s)", rs->name, rs->metric, dir_str(rs));
    FILE *f = script_begin(rs, title, "'trial'", ylog, &buf, &len, err);
    if (!f)
        return TL_ERUNTIME;
    fprintf(f, "$complete << EOD\n");
    for (int i = 0; i < rs->ntrials; i++) {
        const trial *t = &rs->trials[i].t;
        if (t->state == TRIAL_COMPLETE && isfinite(t->value))
            fprintf(f, "%d %.17g\n", t->number, t->value);
    }
    fprintf(f, "EOD\n$pruned << EOD\n");
    for (int i = 0; i < rs->ntrials; i++) {
        const trial *t = &rs->trials[i].t;
        if (t->state == TRIAL_PRUNED && isfinite(t->value))
            fprintf(f, "%d %.17g\n", t->number, t->value);
    }
    fprintf(f, "EOD\n$paused << EOD\n");
    for (int i = 0; i < rs->ntrials; i++) {
        const trial *t = &rs->trials[i].t;
        if (t->state == TRIAL_PAUSED && isfinite(t->value))
            fprintf(f, "%d %.17g\n", t->number, t->value);
    }
    /* best so far, drawn as steps up to the last trial */
    fprintf(f, "EOD\n$best << EOD\n");
    double best = NAN;
    int last = -1;
    for (int i = 0; i < rs->ntrials; i++) {
        const trial *t = &rs->trials[i].t;
        if (t->state == TRIAL_COMPLETE && isfinite(t->value) &&
            (isnan(best) || (rs->direction == STUDY_MAXIMIZE ? t->value > best : t->value < best)))
            best = t->value;
        if (!isnan(best))
            fprintf(f, "%d %.17g\n", t->number, best);
        last = t->number;
    }
    fprintf(f, "EOD\nset xrange [-0.5:%g]\nplot ", last + 0.5);
    const char *sep = "";
    if (ncomplete) {
        fprintf(f, "$complete using 1:2 with points pt 7 ps 0.9 lc rgb '#1f77b4' title 'complete'");
        sep = ", ";
    }
    if (npruned) {
        fprintf(f, "%s$pruned using 1:2 with points pt 2 ps 1.1 lc rgb '#d62728' "
                   "title 'pruned (last value)'", sep);
        sep = ", ";
    }
    if (npaused) {
        fprintf(f, "%s$paused using 1:2 with points pt 4 ps 1.1 lc rgb '#9467bd' "
                   "title 'paused (last value)'", sep);
        sep = ", ";
    }
    if (ncomplete)
        fprintf(f, "%s$best using 1:2 with steps lw 2 lc rgb '#2ca02c' title 'best so far'", sep);
    fprintf(f, "\n");
    int rc = script_plot(o, f, &buf, "history.png", err);
    if (rc)
        return rc;
    char cap[300];
    snprintf(cap, sizeof cap, "Optimization history: %s of each finished trial and the best so far%s.",
             rs->metric, ylog ? " (log scale)" : "");
    report_figure(o, "history.png", cap);
    return 0;
}

const report_section report_section_history = {"history", "Optimization history", NULL, history_write};

/* ---- params ---- */

/* A fixed horizontal offset in (-0.15, 0.15) per trial, so categorical
 * points do not hide each other (golden-ratio sequence: no random draw). */
static double spread(int number)
{
    double g = fmod(0.6180339887498949 * (number + 1), 1.0);
    return 0.3 * (g - 0.5);
}

/* Draws param_<p>.png; *drawn = 0 when no complete trial has the parameter
 * active (nothing drawn).  Returns 0 or a tl_code. */
static int param_plot(const report_study *rs, report_out *o, int p, int ylog, int *drawn, tl_err *err)
{
    *drawn = 0;
    const param *pp = &rs->sp.p[p];
    char *buf, title[300], q[600], q2[200];
    size_t len;
    snprintf(title, sizeof title, "%s against %s", rs->metric, pp->name);
    FILE *f = script_begin(rs, title, report_gp_quote(pp->name, q2, sizeof q2), ylog, &buf, &len, err);
    if (!f)
        return TL_ERUNTIME;
    fprintf(f, "set palette defined (0 '#9ecae1', 1 '#08306b')\nset cblabel 'trial'\n");
    if (rs->ntrials > 1)
        fprintf(f, "set cbrange [0:%d]\n", rs->trials[rs->ntrials - 1].t.number);
    if (pp->kind == PARAM_CAT) {
        fprintf(f, "set xrange [-0.5:%g]\nset xtics (", pp->ncat - 0.5);
        for (int k = 0; k < pp->ncat; k++)
            fprintf(f, "%s%s %d", k ? ", " : "", report_gp_quote(pp->cats[k], q, sizeof q), k);
        fprintf(f, ")\n");
        if (pp->ncat > 6)
            fprintf(f, "set xtics rotate by -30\n");
    } else {
        /* a 3% margin so points at the bounds stay visible */
        if (pp->log) {
            double m = pow(pp->high / pp->low, 0.03);
            fprintf(f, "set logscale x\nset format x '%%g'\nset xrange [%.17g:%.17g]\n", pp->low / m,
                    pp->high * m);
            if (pp->high < 100 * pp->low) {
                /* under two decades gnuplot draws one or two tics: place six, log-spaced */
                fprintf(f, "set xtics (");
                for (int k = 0; k <= 5; k++) {
                    double v = pp->low * pow(pp->high / pp->low, k / 5.0);
                    if (pp->kind == PARAM_INT)
                        v = round(v);
                    char t[32];
                    snprintf(t, sizeof t, pp->kind == PARAM_INT ? "%.0f" : "%.2g", v);
                    fprintf(f, "%s%s", k ? ", " : "", t);
                }
                fprintf(f, ")\n");
            }
        } else {
            double m = 0.03 * (pp->high - pp->low);
            fprintf(f, "set xrange [%.17g:%.17g]\n", pp->low - m, pp->high + m);
        }
    }
    /* complete trials, then pruned and paused ones at their last value */
    static const int STATES[3] = {TRIAL_COMPLETE, TRIAL_PRUNED, TRIAL_PAUSED};
    int npts = 0, nst[3] = {0, 0, 0};
    for (int k = 0; k < 3; k++) {
        fprintf(f, "$s%d << EOD\n", k);
        for (int i = 0; i < rs->ntrials; i++) {
            const trial *t = &rs->trials[i].t;
            double x = t->values[p];
            if (t->state != STATES[k] || !isfinite(t->value) || isnan(x))
                continue;
            if (pp->kind == PARAM_CAT)
                x += spread(t->number);
            fprintf(f, "%.17g %.17g %d\n", x, t->value, t->number);
            nst[k]++;
        }
        fprintf(f, "EOD\n");
        npts += nst[k];
    }
    const trial *b = &rs->trials[rs->best].t;
    int best_here = !isnan(b->values[p]);
    if (best_here)
        fprintf(f, "$best << EOD\n%.17g %.17g\nEOD\n",
                b->values[p] + (pp->kind == PARAM_CAT ? spread(b->number) : 0), b->value);
    if (npts == 0) {
        /* the parameter was never active in a trial with a value */
        fclose(f);
        free(buf);
        return 0;
    }
    const char *sep = "plot ";
    if (nst[0])
        fprintf(f, "%s$s0 using 1:2:3 with points pt 7 ps 0.9 lc palette title 'complete'", sep), sep = ", ";
    if (nst[1])
        fprintf(f, "%s$s1 using 1:2 with points pt 2 ps 1.0 lc rgb '#ff7f0e' title 'pruned (last value)'", sep), sep = ", ";
    if (nst[2])
        fprintf(f, "%s$s2 using 1:2 with points pt 4 ps 1.0 lc rgb '#1f77b4' title 'paused (last value)'", sep), sep = ", ";
    if (best_here)
        fprintf(f, ", $best using 1:2 with points pt 3 ps 2.5 lw 2 lc rgb '#d62728' title 'best'");
    fprintf(f, "\n");
    char png[64];
    snprintf(png, sizeof png, "param_%d.png", p);
    *drawn = 1;
    return script_plot(o, f, &buf, png, err);
}

static int params_write(const report_study *rs, report_out *o, tl_err *err)
{
    if (rs->best < 0) {
        report_html(o, "<p>No trial has completed.</p>\n");
        return 0;
    }
    double *v = malloc((size_t)rs->ntrials * sizeof *v);
    if (!v)
        return tl_fail(err, TL_ERUNTIME, "report: out of memory");
    int ylog = report_log_axis(v, complete_values(rs, v));
    free(v);
    report_html(o, "<p>%s of each trial against each parameter: complete trials coloured by trial "
                   "number, pruned ones (orange crosses) and paused ones (blue squares) at the last "
                   "value they reported; red star: the best trial.</p>\n",
                ylog ? "The objective (log scale)" : "The objective");
    for (int p = 0; p < rs->sp.n; p++) {
        const param *pp = &rs->sp.p[p];
        int drawn, rc = param_plot(rs, o, p, ylog, &drawn, err);
        if (rc)
            return rc;
        char cap[300], expr[200], png[64];
        space_describe(&rs->sp, p, 0, expr, sizeof expr);
        if (!drawn) {
            snprintf(cap, sizeof cap, "%s = %s: never active in a trial with a value.", pp->name, expr);
            report_html(o, "<p>");
            report_text(o, cap);
            report_html(o, "</p>\n");
            continue;
        }
        snprintf(cap, sizeof cap, "%s against %s = %s%s.", rs->metric, pp->name, expr,
                 pp->log ? " (log x axis)" : "");
        snprintf(png, sizeof png, "param_%d.png", p);
        report_figure(o, png, cap);
    }
    return 0;
}

const report_section report_section_params = {"params", "Objective against each parameter", NULL, params_write};

/* ---- curves ---- */

/* Writes every trial with state in [want] as one polyline per trial
 * (blank line between trials); returns the number of points. */
static int curve_block(FILE *f, const report_study *rs, const char *name, int (*want)(const report_study *, int))
{
    int n = 0;
    fprintf(f, "%s << EOD\n", name);
    for (int i = 0; i < rs->ntrials; i++) {
        const trial *t = &rs->trials[i].t;
        if (!want(rs, i) || t->nsteps == 0)
            continue;
        for (int k = 0; k < t->nsteps; k++)
            if (isfinite(t->inter[k])) {
                fprintf(f, "%d %.17g\n", t->steps[k], t->inter[k]);
                n++;
            }
        fprintf(f, "\n");
    }
    fprintf(f, "EOD\n");
    return n;
}

static int want_complete(const report_study *rs, int i)
{
    return rs->trials[i].t.state == TRIAL_COMPLETE && i != rs->best;
}
static int want_pruned(const report_study *rs, int i) { return rs->trials[i].t.state == TRIAL_PRUNED; }
static int want_other(const report_study *rs, int i)
{
    int s = rs->trials[i].t.state;
    return s != TRIAL_COMPLETE && s != TRIAL_PRUNED;
}
static int want_best(const report_study *rs, int i) { return i == rs->best; }

static int curves_write(const report_study *rs, report_out *o, tl_err *err)
{
    int with = 0, npts = 0;
    for (int i = 0; i < rs->ntrials; i++)
        if (rs->trials[i].t.nsteps) {
            with++;
            npts += rs->trials[i].t.nsteps;
        }
    if (with == 0) {
        report_html(o, "<p>No trial reported intermediate values.</p>\n");
        return 0;
    }
    double *v = malloc((size_t)npts * sizeof *v);
    if (!v)
        return tl_fail(err, TL_ERUNTIME, "report: out of memory");
    int nv = 0;
    for (int i = 0; i < rs->ntrials; i++)
        for (int k = 0; k < rs->trials[i].t.nsteps; k++)
            if (isfinite(rs->trials[i].t.inter[k]))
                v[nv++] = rs->trials[i].t.inter[k];
    int ylog = report_log_axis(v, nv);
    free(v);

    char *buf, title[300];
    size_t len;
    snprintf(title, sizeof title, "%s: learning curves (%d trials)", rs->name, with);
    FILE *f = script_begin(rs, title, "'step'", ylog, &buf, &len, err);
    if (!f)
        return TL_ERUNTIME;
    int lo = 0, hi = 0, first = 1;
    for (int i = 0; i < rs->ntrials; i++)
        for (int k = 0; k < rs->trials[i].t.nsteps; k++) {
            int st = rs->trials[i].t.steps[k];
            lo = first || st < lo ? st : lo;
            hi = first || st > hi ? st : hi;
            first = 0;
        }
    if (hi - lo <= 20)
        fprintf(f, "set xtics 1\n"); /* steps are whole numbers */
    int nc = curve_block(f, rs, "$complete", want_complete);
    int np = curve_block(f, rs, "$pruned", want_pruned);
    int no = curve_block(f, rs, "$other", want_other);
    int nb = curve_block(f, rs, "$best", want_best);
    int nend = 0;
    fprintf(f, "$stops << EOD\n");
    for (int i = 0; i < rs->ntrials; i++) {
        const trial *t = &rs->trials[i].t;
        if (t->state != TRIAL_PRUNED)
            continue;
        for (int k = t->nsteps - 1; k >= 0; k--)
            if (isfinite(t->inter[k])) {
                fprintf(f, "%d %.17g\n", t->steps[k], t->inter[k]);
                nend++;
                break;
            }
    }
    fprintf(f, "EOD\nplot ");
    const char *sep = "";
    if (nc) {
        fprintf(f, "$complete using 1:2 with lines lw 1 lc rgb '#6baed6' title 'complete'");
        sep = ", ";
    }
    if (np) {
        fprintf(f, "%s$pruned using 1:2 with lines lw 1 lc rgb '#fc9272' title 'pruned'", sep);
        sep = ", ";
    }
    if (nend) {
        fprintf(f, "%s$stops using 1:2 with points pt 2 ps 1.2 lw 2 lc rgb '#cb181d' title 'pruned here'", sep);
        sep = ", ";
    }
    if (no) {
        fprintf(f, "%s$other using 1:2 with lines lw 1 dt 2 lc rgb '#969696' title 'running, paused or failed'",
                sep);
        sep = ", ";
    }
    if (nb) {
        fprintf(f, "%s$best using 1:2 with linespoints pt 7 ps 0.6 lw 2.5 lc rgb '#08519c' title 'best trial %d'",
                sep, rs->trials[rs->best].t.number);
        sep = ", ";
    }
    if (!sep[0]) {
        fclose(f);
        free(buf);
        report_html(o, "<p>No finite intermediate value to draw.</p>\n");
        return 0;
    }
    fprintf(f, "\n");
    int rc = script_plot(o, f, &buf, "curves.png", err);
    if (rc)
        return rc;
    char cap[300];
    snprintf(cap, sizeof cap, "Intermediate values of %s against step for %d trials; pruned trials end at a "
                              "cross%s.", rs->metric, with, ylog ? " (log scale)" : "");
    report_figure(o, "curves.png", cap);
    return 0;
}

const report_section report_section_curves = {"curves", "Learning curves", NULL, curves_write};
