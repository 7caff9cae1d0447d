/* report/report_hyperband.c: the successive-halving section of `tunelab
 * report` (id "hyperband"), for studies run with the sha, hyperband or
 * asha scheduler (or whose trials carry the "hb" rung record of
 * hpo/sched_halving.h):
 *   hyperband_curves.png  every trial's learning curve (intermediate value
 *                         against step), one panel per bracket (one panel
 *                         coloured by bracket beyond 6 brackets), a circle
 *                         where a trial was promoted (end of rung i, for
 *                         i < its rung) and a cross where it was stopped;
 *   a table of rungs per bracket from halving_rung_table (budget, planned,
 *   entered, promoted, stopped, complete, failed or pruned, open, best),
 *   and a short summary: trials, brackets, trials trained to the full
 *   budget, stopped trials, budget used against every trial at full budget.
 * Markers sit at x = the rung's budget, y = the value reported there: the
 * x axis is the step, which is the budget for cli's training objective
 * (epochs) and for objectives that report one step per budget unit.
 * Does not: write the database, recompute the schedule (it reads the
 * trials' "hb" attributes only), or draw trials without one.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/report.h"
#include "hpo/sched_halving.h"

#define MAX_PANELS 6

static const char *const COLOURS[] = { "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728",
                                       "#9467bd", "#8c564b", "#e377c2", "#17becf" };
#define NCOLOURS ((int)(sizeof COLOURS / sizeof COLOURS[0]))

static int hb_applies(const report_study *rs)
{
    if (report_uses(rs, "sha") || report_uses(rs, "hyperband") || report_uses(rs, "asha"))
        return 1;
    for (int i = 0; i < rs->ntrials; i++)
        if (report_trial_attr(rs, i, "hb"))
            return 1;
    return 0;
}

/* The study's parsed records: info[i] valid where has[i]. */
typedef struct hb_view {
    int n;
    halving_info *info;
    char *has;
    int brackets[HALVING_MAX_RUNGS]; /* distinct brackets, largest first */
    int nbrackets;
    double max_budget;
} hb_view;

static void view_free(hb_view *v)
{
    free(v->info);
    free(v->has);
}

static int view_load(const report_study *rs, hb_view *v, tl_err *err)
{
    memset(v, 0, sizeof *v);
    v->n = rs->ntrials;
    size_t n = (size_t)(rs->ntrials ? rs->ntrials : 1);
    v->info = calloc(n, sizeof *v->info);
    v->has = calloc(n, 1);
    if (!v->info || !v->has) {
        view_free(v);
        return tl_fail(err, TL_ERUNTIME, "report: out of memory");
    }
    for (int i = 0; i < rs->ntrials; i++) {
        const char *a = report_trial_attr(rs, i, "hb");
        if (!a)
            continue;
        tl_err pe = { 0 };
        if (halving_info_parse(a, &v->info[i], &pe)) {
            view_free(v);
            /* a damaged database: a runtime failure of the report (exit 1) */
            return tl_fail(err, TL_ERUNTIME, "trial %d: %s", rs->trials[i].t.number, pe.msg);
        }
        v->has[i] = 1;
        const halving_info *h = &v->info[i];
        double top = h->budget[h->nrungs - 1];
        if (top > v->max_budget)
            v->max_budget = top;
        int k = 0;
        while (k < v->nbrackets && v->brackets[k] != h->bracket)
            k++;
        if (k == v->nbrackets && v->nbrackets < HALVING_MAX_RUNGS)
            v->brackets[v->nbrackets++] = h->bracket;
    }
    for (int a = 1; a < v->nbrackets; a++) /* insertion sort, largest bracket first */
        for (int b = a; b > 0 && v->brackets[b] > v->brackets[b - 1]; b--) {
            int t = v->brackets[b];
            v->brackets[b] = v->brackets[b - 1];
            v->brackets[b - 1] = t;
        }
    return 0;
}

/* Writes the data blocks of bracket `br` (-1: all) under names suffixed
 * with tag: curves (one curve per trial, blank-line separated; column 3 is
 * the bracket), promotion points and stop points.  Counts go to *nc, *np,
 * *ns. */
static void blocks(FILE *f, const report_study *rs, const hb_view *v, int br, int tag, int *nc,
                   int *np, int *ns)
{
    *nc = *np = *ns = 0;
    fprintf(f, "$curves%d << EOD\n", tag);
    for (int i = 0; i < rs->ntrials; i++) {
        const trial *t = &rs->trials[i].t;
        if (!v->has[i] || (br >= 0 && v->info[i].bracket != br))
            continue;
        int any = 0;
        for (int k = 0; k < t->nsteps; k++)
            if (isfinite(t->inter[k])) {
                fprintf(f, "%d %.17g %d\n", t->steps[k], t->inter[k], v->info[i].bracket);
                any = 1;
            }
        if (any) {
            fprintf(f, "\n\n");
            (*nc)++;
        }
    }
    fprintf(f, "EOD\n$promoted%d << EOD\n", tag);
    for (int i = 0; i < rs->ntrials; i++) {
        const halving_info *h = &v->info[i];
        if (!v->has[i] || (br >= 0 && h->bracket != br))
            continue;
        for (int r = 0; r < h->rung && r < h->nvalues; r++)
            if (isfinite(h->value[r])) {
                fprintf(f, "%.17g %.17g %d\n", h->budget[r], h->value[r], h->bracket);
                (*np)++;
            }
    }
    fprintf(f, "EOD\n$stopped%d << EOD\n", tag);
    for (int i = 0; i < rs->ntrials; i++) {
        const halving_info *h = &v->info[i];
        if (!v->has[i] || (br >= 0 && h->bracket != br) || strcmp(h->status, "stopped") != 0)
            continue;
        double y = h->rung < h->nvalues ? h->value[h->rung] : rs->trials[i].t.value;
        if (isfinite(y)) {
            fprintf(f, "%.17g %.17g %d\n", h->budget[h->rung], y, h->bracket);
            (*ns)++;
        }
    }
    fprintf(f, "EOD\n");
}

/* 1 when every step is positive and the budgets span at least a factor 9:
 * rungs are geometric, a log x axis spaces them evenly. */
static int log_x(const report_study *rs, const hb_view *v)
{
    double lo = INFINITY;
    for (int i = 0; i < rs->ntrials; i++) {
        if (!v->has[i])
            continue;
        const trial *t = &rs->trials[i].t;
        for (int k = 0; k < t->nsteps; k++)
            if (t->steps[k] <= 0)
                return 0;
        if (v->info[i].budget[0] < lo)
            lo = v->info[i].budget[0];
    }
    return isfinite(lo) && lo > 0 && v->max_budget >= 9 * lo;
}

static int curves_figure(const report_study *rs, const hb_view *v, report_out *o, int *drawn,
                         tl_err *err)
{
    *drawn = 0;
    char *buf = NULL, q[400], title[300];
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return tl_fail(err, TL_ERUNTIME, "report: out of memory");
    int panels = v->nbrackets <= MAX_PANELS ? v->nbrackets : 1;
    int cols = panels > 1 ? 2 : 1, rows = (panels + cols - 1) / cols;
    int ylog = 0;
    {
        int nv = 0, cap = 0;
        for (int i = 0; i < rs->ntrials; i++)
            cap += v->has[i] ? rs->trials[i].t.nsteps : 0;
        double *vals = malloc(sizeof *vals * (size_t)(cap ? cap : 1));
        if (!vals) {
            fclose(f);
            free(buf);
            return tl_fail(err, TL_ERUNTIME, "report: out of memory");
        }
        for (int i = 0; i < rs->ntrials; i++)
            for (int k = 0; v->has[i] && k < rs->trials[i].t.nsteps; k++)
                if (isfinite(rs->trials[i].t.inter[k]))
                    vals[nv++] = rs->trials[i].t.inter[k];
        ylog = report_log_axis(vals, nv);
        free(vals);
    }
    int xlog = log_x(rs, v);
    fprintf(f, "set grid\nset xlabel 'step (budget)'\nset ylabel %s\n",
            report_gp_quote(rs->metric, q, sizeof q));
    if (xlog)
        fprintf(f, "set logscale x\nset format x '%%g'\n");
    /* tics at the rung budgets */
    double tics[4 * HALVING_MAX_RUNGS];
    int ntics = 0;
    for (int i = 0; i < rs->ntrials; i++)
        for (int r = 0; v->has[i] && r < v->info[i].nrungs; r++) {
            double b = v->info[i].budget[r];
            int seen = 0;
            for (int k = 0; k < ntics; k++)
                seen |= fabs(tics[k] - b) <= 1e-9 * b;
            if (!seen && ntics < 4 * HALVING_MAX_RUNGS)
                tics[ntics++] = b;
        }
    if (ntics > 0 && ntics <= 12) {
        fprintf(f, "set xtics (");
        for (int k = 0; k < ntics; k++)
            fprintf(f, "%s%.17g", k ? ", " : "", tics[k]);
        fprintf(f, ")\n");
    }
    if (ylog)
        fprintf(f, "set logscale y\n");
    if (panels > 1) {
        /* taller canvas for several rows */
        fprintf(f, "set terminal pngcairo size 1000,%d noenhanced font 'sans,10'\n", 320 * rows + 60);
        /* no overall title: it would collide with the keys above the
         * panels; the caption says what the marks are */
        fprintf(f, "set multiplot layout %d,%d\n", rows, cols);
    }
    for (int p = 0; p < panels; p++) {
        int br = panels > 1 || v->nbrackets == 1 ? v->brackets[p] : -1;
        int nc, np, ns;
        blocks(f, rs, v, br, p, &nc, &np, &ns);
        if (panels > 1)
            snprintf(title, sizeof title, "%s: bracket %d", rs->name, br);
        else if (br >= 0)
            snprintf(title, sizeof title, "%s: learning curves, bracket %d (circle: promoted, "
                     "cross: stopped)", rs->name, br);
        else
            snprintf(title, sizeof title, "%s: learning curves by bracket (circle: promoted, "
                     "cross: stopped)", rs->name);
        fprintf(f, "set title %s\nset key outside top center horizontal\n", report_gp_quote(title, q, sizeof q));
        if (nc == 0) {
            /* a bracket whose trials reported nothing: an empty panel */
            fprintf(f, "set xrange [1:2]\nset yrange [0:1]\nplot NaN notitle\n"
                       "set autoscale x\nset autoscale y\n");
            continue;
        }
        *drawn += nc;
        const char *colour = COLOURS[(br >= 0 ? br : 0) % NCOLOURS];
        if (br >= 0) {
            fprintf(f, "plot $curves%d using 1:2 with linespoints pt 7 ps 0.35 lw 1 lc rgb '%s' "
                       "title 'trials (%d)'", p, colour, nc);
        } else {
            /* one panel: colour by bracket through a palette of the table */
            fprintf(f, "set palette defined (");
            for (int c = 0; c < NCOLOURS; c++)
                fprintf(f, "%s%d '%s'", c ? ", " : "", c, COLOURS[c]);
            fprintf(f, ")\nset cbrange [0:%d]\nunset colorbox\n", NCOLOURS - 1);
            fprintf(f, "plot $curves%d using 1:2:(int($3) %% %d) with linespoints pt 7 ps 0.35 "
                       "lw 1 lc palette title 'trials, coloured by bracket'", p, NCOLOURS);
        }
        if (np)
            fprintf(f, ", $promoted%d using 1:2 with points pt 6 ps 1.4 lw 2 lc rgb '#000000' "
                       "title 'promoted (%d)'", p, np);
        if (ns)
            fprintf(f, ", $stopped%d using 1:2 with points pt 2 ps 1.3 lw 2 lc rgb '#cb181d' "
                       "title 'stopped (%d)'", p, ns);
        fprintf(f, "\n");
    }
    if (panels > 1)
        fprintf(f, "unset multiplot\n");
    if (fclose(f) != 0) {
        free(buf);
        return tl_fail(err, TL_ERUNTIME, "report: out of memory");
    }
    int rc = *drawn ? report_plot(o, "hyperband_curves.png", buf, err) : 0;
    free(buf);
    return rc;
}

/* The rung table as HTML, from halving_rung_table's text. */
static int rung_table(const report_study *rs, const hb_view *v, report_out *o, tl_err *err)
{
    const char **attrs = calloc((size_t)(rs->ntrials ? rs->ntrials : 1), sizeof *attrs);
    if (!attrs)
        return tl_fail(err, TL_ERUNTIME, "report: out of memory");
    for (int i = 0; i < rs->ntrials; i++)
        attrs[i] = v->has[i] ? report_trial_attr(rs, i, "hb") : NULL;
    char *text = NULL;
    tl_err te = { 0 };
    int rc = halving_rung_table(attrs, rs->ntrials, rs->direction, &text, &te);
    free(attrs);
    if (rc)
        return tl_fail(err, TL_ERUNTIME, "%s", te.msg);
    report_html(o, "<h3>Rungs per bracket</h3>\n<table>\n<tr><th>iteration</th><th>bracket</th>"
                   "<th>rung</th><th>budget</th><th>planned</th><th>entered</th><th>promoted</th>"
                   "<th>stopped</th><th>complete</th><th>failed or pruned</th><th>open</th>"
                   "<th>best ");
    report_text(o, rs->metric);
    report_html(o, "</th></tr>\n");
    const char *line = strchr(text, '\n'); /* skip the header line */
    while (line && *++line) {
        long it, entered, promoted, stopped, complete, failed, open;
        int br, rung;
        double budget, best;
        char planned[24];
        if (sscanf(line, "%ld %d %d %lf %23s %ld %ld %ld %ld %ld %ld %lf", &it, &br, &rung, &budget,
                   planned, &entered, &promoted, &stopped, &complete, &failed, &open, &best) == 12) {
            report_html(o, "<tr><td class=\"num\">%ld</td><td class=\"num\">%d</td>"
                           "<td class=\"num\">%d</td><td class=\"num\">%g</td><td class=\"num\">",
                        it, br, rung, budget);
            report_text(o, planned);
            report_html(o, "</td><td class=\"num\">%ld</td><td class=\"num\">%ld</td>"
                           "<td class=\"num\">%ld</td><td class=\"num\">%ld</td>"
                           "<td class=\"num\">%ld</td><td class=\"num\">%ld</td>",
                        entered, promoted, stopped, complete, failed, open);
            if (isfinite(best))
                report_html(o, "<td class=\"num\">%.6g</td></tr>\n", best);
            else
                report_html(o, "<td class=\"num\">-</td></tr>\n");
        }
        line = strchr(line, '\n');
    }
    report_html(o, "</table>\n");
    free(text);
    return 0;
}

static int hb_write(const report_study *rs, report_out *o, tl_err *err)
{
    hb_view v;
    int rc = view_load(rs, &v, err);
    if (rc)
        return rc;
    int with = 0, full = 0, stopped = 0;
    for (int i = 0; i < rs->ntrials; i++) {
        if (!v.has[i])
            continue;
        with++;
        const halving_info *h = &v.info[i];
        full += rs->trials[i].t.state == TRIAL_COMPLETE && h->rung == h->nrungs - 1;
        stopped += !strcmp(h->status, "stopped");
    }
    if (with == 0) {
        report_html(o, "<p>No trial carries a rung record (attribute hb).</p>\n");
        view_free(&v);
        return 0;
    }
    report_html(o, "<p>%d trials in %d bracket%s; %d trained to the full budget of %g, %d stopped "
                   "at a lower rung. Budget used: %g, against %g had every trial run to the "
                   "full budget.</p>\n",
                with, v.nbrackets, v.nbrackets == 1 ? "" : "s", full, v.max_budget, stopped,
                rs->budget_used, with * v.max_budget);
    int drawn = 0;
    if ((rc = curves_figure(rs, &v, o, &drawn, err))) {
        view_free(&v);
        return rc;
    }
    if (drawn) {
        char cap[300];
        snprintf(cap, sizeof cap, "Learning curves of %d trials (%s against step)%s; a circle marks "
                 "the end of a rung a trial was promoted from, a cross where it was stopped.",
                 drawn, rs->metric, v.nbrackets <= MAX_PANELS ? ", one panel per bracket" :
                 ", coloured by bracket");
        report_figure(o, "hyperband_curves.png", cap);
    } else {
        report_html(o, "<p>No trial reported intermediate values.</p>\n");
    }
    rc = rung_table(rs, &v, o, err);
    view_free(&v);
    return rc;
}

const report_section report_section_hyperband = { "hyperband", "Successive halving (rungs)",
                                                  hb_applies, hb_write };
