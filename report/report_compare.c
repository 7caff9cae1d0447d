/* report/report_compare.c: the pages of `tunelab compare` (see
 * report_compare.h): the JSON object with every number, the text table,
 * the two anytime figures (median and interquartile band of the best value
 * so far over seeds, against cumulative epochs and wall seconds) and the
 * HTML page that shows them.  The numbers come from report_compare_stats.c. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "report/plot.h"
#include "report/report.h"
#include "report/report_compare.h"

#define GRID 120 /* points of a drawn curve */

static const char *const COLOURS[] = { "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf",
                                       "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#393b79", "#637939",
                                       "#843c39" };
#define NCOLOURS (int)(sizeof COLOURS / sizeof COLOURS[0])

static cJSON *num(double v)
{
    return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

static void add_num(cJSON *o, const char *k, double v)
{
    cJSON_AddItemToObject(o, k, num(v));
}

static cJSON *cell_json(const cmp_cell *c)
{
    cJSON *o = cJSON_CreateObject();
    add_num(o, "median", c->median);
    add_num(o, "q1", c->q1);
    add_num(o, "q3", c->q3);
    add_num(o, "iqr", c->q3 - c->q1);
    add_num(o, "mean_rank", c->mean_rank);
    cJSON_AddNumberToObject(o, "n", c->n);
    return o;
}

static cJSON *series(const double *v, int n)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(a, num(v[i]));
    return a;
}

char *report_compare_json(const cmp_input *in, const cmp_stats *st)
{
    int M = in->nmethods, K = in->nseeds;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "config", in->config);
    cJSON_AddStringToObject(o, "metric", in->metric);
    cJSON_AddStringToObject(o, "direction", in->maximize ? "maximize" : "minimize");
    cJSON_AddStringToObject(o, "unit", cmp_unit_str(in->unit));
    cJSON_AddNumberToObject(o, "budget", in->budget);
    cJSON *seeds = cJSON_AddArrayToObject(o, "seeds");
    for (int k = 0; k < K; k++)
        cJSON_AddItemToArray(seeds, cJSON_CreateNumber((double)in->seeds[k]));
    cJSON_AddStringToObject(o, "test", "two-sided exact Mann-Whitney U over seeds of the best value at 100% of "
                                       "the budget; p >= 0.05: within seed noise");
    cJSON *methods = cJSON_AddArrayToObject(o, "methods");
    for (int m = 0; m < M; m++) {
        cJSON *mo = cJSON_CreateObject();
        cJSON_AddStringToObject(mo, "name", in->methods[m]);
        cJSON *cks = cJSON_AddArrayToObject(mo, "checkpoints");
        for (int c = 0; c < CMP_NCHECK; c++) {
            cJSON *co = cell_json(&st->check[c * M + m]);
            cJSON_AddNumberToObject(co, "fraction", CMP_CHECKS[c]);
            cJSON_AddNumberToObject(co, "at", CMP_CHECKS[c] * in->budget);
            cJSON_AddItemToObject(co, "values", series(st->at + (size_t)c * M * K + m * K, K));
            cJSON_AddItemToArray(cks, co);
        }
        cJSON_AddItemToObject(mo, "pick_test_accuracy", cell_json(&st->test[m]));
        cJSON *runs = cJSON_AddArrayToObject(mo, "runs");
        for (int k = 0; k < K; k++) {
            const cmp_run *r = &in->runs[m * K + k];
            cJSON *ro = cJSON_CreateObject();
            cJSON_AddNumberToObject(ro, "seed", (double)in->seeds[k]);
            cJSON_AddBoolToObject(ro, "finished", r->finished);
            cJSON_AddNumberToObject(ro, "trials", r->ntrials);
            add_num(ro, "epochs", r->npts ? r->epochs[r->npts - 1] : 0);
            add_num(ro, "seconds", r->npts ? r->seconds[r->npts - 1] : 0);
            add_num(ro, "best", r->npts ? r->best[r->npts - 1] : NAN);
            cJSON_AddNumberToObject(ro, "pick_trial", r->pick);
            add_num(ro, "pick_value", r->pick_value);
            add_num(ro, "pick_test_accuracy", r->pick_test);
            cJSON *curve = cJSON_AddObjectToObject(ro, "curve");
            cJSON_AddItemToObject(curve, "epochs", series(r->epochs, r->npts));
            cJSON_AddItemToObject(curve, "seconds", series(r->seconds, r->npts));
            cJSON_AddItemToObject(curve, "trials", series(r->trials, r->npts));
            cJSON_AddItemToObject(curve, "best", series(r->best, r->npts));
            cJSON_AddItemToArray(runs, ro);
        }
        cJSON_AddItemToArray(methods, mo);
    }
    cJSON *win = cJSON_AddArrayToObject(o, "win_rate");
    cJSON *pv = cJSON_AddArrayToObject(o, "p_value");
    for (int a = 0; a < M; a++) {
        cJSON_AddItemToArray(win, series(st->win + a * M, M));
        cJSON_AddItemToArray(pv, series(st->p + a * M, M));
    }
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return text;
}

char *report_compare_table(const cmp_input *in, const cmp_stats *st)
{
    int M = in->nmethods;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    fprintf(f, "# compare: %s, %s, budget %g %s, %d seeds; best %s so far (median [q1, q3], mean rank)\n",
            in->config, in->maximize ? "maximize" : "minimize", in->budget, cmp_unit_str(in->unit), in->nseeds,
            in->metric);
    fprintf(f, "%-10s", "method");
    for (int c = 0; c < CMP_NCHECK; c++)
        fprintf(f, " | %3.0f%% (%-8g)                 ", CMP_CHECKS[c] * 100, CMP_CHECKS[c] * in->budget);
    fprintf(f, " | pick test acc (median [q1, q3])\n");
    for (int m = 0; m < M; m++) {
        fprintf(f, "%-10s", in->methods[m]);
        for (int c = 0; c < CMP_NCHECK; c++) {
            const cmp_cell *x = &st->check[c * M + m];
            fprintf(f, " | %8.4f [%8.4f, %8.4f] %4.2f", x->median, x->q1, x->q3, x->mean_rank);
        }
        const cmp_cell *t = &st->test[m];
        if (t->n > 0)
            fprintf(f, " | %.4f [%.4f, %.4f] (%d seeds)\n", t->median, t->q1, t->q3, t->n);
        else
            fprintf(f, " | - (no test set)\n");
    }
    fprintf(f, "# win rate at 100%% (row beats column over seed pairs; * : p < %.2f, exact two-sided "
               "Mann-Whitney U; others within seed noise)\n%-10s",
            CMP_ALPHA, "");
    for (int b = 0; b < M; b++)
        fprintf(f, " %9.9s", in->methods[b]);
    fprintf(f, "\n");
    for (int a = 0; a < M; a++) {
        fprintf(f, "%-10s", in->methods[a]);
        for (int b = 0; b < M; b++) {
            double w = st->win[a * M + b], p = st->p[a * M + b];
            if (a == b || !isfinite(w))
                fprintf(f, " %9s", "-");
            else
                fprintf(f, " %7.2f%-2s", w, p < CMP_ALPHA ? "*" : "");
        }
        fprintf(f, "\n");
    }
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* The figure of best-so-far against axis (CMP_EPOCHS or CMP_SECONDS). */
static int figure(const char *dir, const char *png, int axis, const cmp_input *in, tl_err *err)
{
    int M = in->nmethods, K = in->nseeds;
    double xmax = 0;
    for (int i = 0; i < M * K; i++) {
        const cmp_run *r = &in->runs[i];
        if (r->npts)
            xmax = fmax(xmax, axis == CMP_SECONDS ? r->seconds[r->npts - 1] : r->epochs[r->npts - 1]);
    }
    char *buf = NULL, q[600], path[1200];
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return tl_fail(err, TL_ERUNTIME, "compare: out of memory");
    snprintf(path, sizeof path, "%s/%s", dir, png);
    fprintf(f, "%s\nset output %s\n", plot_png_terminal(), report_gp_quote(path, q, sizeof q));
    fprintf(f, "set grid\nset key outside right top\nset xlabel %s\nset ylabel %s\n",
            axis == CMP_SECONDS ? "'wall seconds'" : "'cumulative epochs (pruned and paused trials included)'",
            report_gp_quote(in->metric, q, sizeof q));
    char title[300];
    snprintf(title, sizeof title, "best %s so far: median over %d seeds, band = interquartile range", in->metric, K);
    fprintf(f, "set title %s\n", report_gp_quote(title, q, sizeof q));
    int drawn = 0;
    for (int m = 0; m < M; m++) {
        fprintf(f, "$m%d << EOD\n", m);
        for (int g = 1; g <= GRID && xmax > 0; g++) {
            double x = xmax * g / GRID, v[256], s[256];
            int n = 0;
            for (int k = 0; k < K && k < 256; k++) {
                const cmp_run *r = &in->runs[m * K + k];
                v[k] = cmp_best_at(r, axis, x);
                if (isfinite(v[k]))
                    s[n++] = v[k];
            }
            if (n == 0)
                continue;
            for (int i = 1; i < n; i++) /* insertion sort: K is small */
                for (int j = i; j > 0 && s[j] < s[j - 1]; j--) {
                    double t = s[j];
                    s[j] = s[j - 1];
                    s[j - 1] = t;
                }
            fprintf(f, "%.9g %.9g %.9g %.9g\n", x, cmp_quantile(s, n, 0.5), cmp_quantile(s, n, 0.25),
                    cmp_quantile(s, n, 0.75));
            drawn++;
        }
        fprintf(f, "EOD\n");
    }
    if (!drawn) {
        fclose(f);
        free(buf);
        return 0;
    }
    fprintf(f, "set style fill transparent solid 0.15 noborder\nplot ");
    for (int m = 0; m < M; m++) {
        const char *col = COLOURS[m % NCOLOURS];
        fprintf(f, "%s$m%d using 1:3:4 with filledcurves lc rgb '%s' notitle, "
                   "$m%d using 1:2 with lines lw 2 lc rgb '%s' title %s",
                m ? ", " : "", m, col, m, col, report_gp_quote(in->methods[m], q, sizeof q));
    }
    fprintf(f, "\n");
    if (fclose(f) != 0) {
        free(buf);
        return tl_fail(err, TL_ERUNTIME, "compare: out of memory");
    }
    int rc = plot_run(buf, err);
    free(buf);
    if (rc)
        return tl_prefix(err, "%s", path);
    return 0;
}

static int write_file(const char *path, const char *text, tl_err *err)
{
    char tmp[1300];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return tl_fail(err, TL_ERUNTIME, "%s: cannot write: %s", path, strerror(errno));
    int bad = fputs(text, f) < 0;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path)) {
        remove(tmp);
        return tl_fail(err, TL_ERUNTIME, "%s: cannot write", path);
    }
    return 0;
}

static char *html_page(const cmp_input *in, const cmp_stats *st, int figs)
{
    int M = in->nmethods;
    char *buf = NULL, e[600];
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    fprintf(f, "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>tunelab compare</title>\n"
               "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto}"
               "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 7px;text-align:right}"
               "th:first-child,td:first-child{text-align:left}.noise{color:#888}</style></head><body>\n");
    fprintf(f, "<h1>Which method, for this budget</h1>\n<p>Config <code>%s</code>; ",
            report_esc(in->config, e, sizeof e));
    fprintf(f, "%s <code>%s</code>; every run gets the same budget: %g %s; %d seeds.</p>\n",
            in->maximize ? "maximize" : "minimize", report_esc(in->metric, e, sizeof e), in->budget,
            cmp_unit_str(in->unit), in->nseeds);
    if (figs & 1)
        fprintf(f, "<figure><img src=\"compare_epochs.png\"><figcaption>Best value so far against cumulative "
                   "epochs (pruned and paused trials included): median over seeds, band = IQR."
                   "</figcaption></figure>\n");
    if (figs & 2)
        fprintf(f, "<figure><img src=\"compare_seconds.png\"><figcaption>The same against wall seconds."
                   "</figcaption></figure>\n");
    fprintf(f, "<h2>At 25, 50 and 100%% of the budget</h2>\n<table><tr><th>method</th>");
    for (int c = 0; c < CMP_NCHECK; c++)
        fprintf(f, "<th>%g %s: median [q1, q3]</th><th>mean rank</th>", CMP_CHECKS[c] * in->budget,
                cmp_unit_str(in->unit));
    fprintf(f, "<th>pick's test accuracy: median [q1, q3]</th></tr>\n");
    for (int m = 0; m < M; m++) {
        fprintf(f, "<tr><td>%s</td>", report_esc(in->methods[m], e, sizeof e));
        for (int c = 0; c < CMP_NCHECK; c++) {
            const cmp_cell *x = &st->check[c * M + m];
            fprintf(f, "<td>%.4f [%.4f, %.4f]</td><td>%.2f</td>", x->median, x->q1, x->q3, x->mean_rank);
        }
        if (st->test[m].n > 0)
            fprintf(f, "<td>%.4f [%.4f, %.4f]</td></tr>\n", st->test[m].median, st->test[m].q1, st->test[m].q3);
        else
            fprintf(f, "<td>-</td></tr>\n");
    }
    fprintf(f, "</table>\n<h2>Win rate at 100%% of the budget</h2>\n<p>Row beats column: the share of seed "
               "pairs where the row's best value is better (ties count half).  Grey: p &ge; %.2f by the "
               "two-sided exact Mann-Whitney U test over seeds, i.e. within seed noise.</p>\n<table><tr><th></th>",
            CMP_ALPHA);
    for (int b = 0; b < M; b++)
        fprintf(f, "<th>%s</th>", report_esc(in->methods[b], e, sizeof e));
    fprintf(f, "</tr>\n");
    for (int a = 0; a < M; a++) {
        fprintf(f, "<tr><td>%s</td>", report_esc(in->methods[a], e, sizeof e));
        for (int b = 0; b < M; b++) {
            double w = st->win[a * M + b], p = st->p[a * M + b];
            if (a == b || !isfinite(w))
                fprintf(f, "<td>-</td>");
            else
                fprintf(f, "<td%s title=\"p = %.3g\">%.2f</td>", p < CMP_ALPHA ? "" : " class=\"noise\"", p, w);
        }
        fprintf(f, "</tr>\n");
    }
    fprintf(f, "</table>\n<p>Every number: <a href=\"compare.json\">compare.json</a>.</p>\n</body></html>\n");
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

int report_compare_write(const char *dir, const cmp_input *in, const cmp_stats *st, tl_err *err)
{
    if (mkdir(dir, 0777) && errno != EEXIST)
        return tl_fail(err, TL_ERUNTIME, "%s: cannot create: %s", dir, strerror(errno));
    int rc, figs = 0;
    char path[1200];
    if ((rc = figure(dir, "compare_epochs.png", CMP_EPOCHS, in, err)))
        return rc;
    if ((rc = figure(dir, "compare_seconds.png", CMP_SECONDS, in, err)))
        return rc;
    struct stat sb;
    snprintf(path, sizeof path, "%s/compare_epochs.png", dir);
    figs |= stat(path, &sb) == 0 ? 1 : 0;
    snprintf(path, sizeof path, "%s/compare_seconds.png", dir);
    figs |= stat(path, &sb) == 0 ? 2 : 0;
    char *json = report_compare_json(in, st), *html = html_page(in, st, figs);
    if (!json || !html) {
        free(json);
        free(html);
        return tl_fail(err, TL_ERUNTIME, "compare: out of memory");
    }
    snprintf(path, sizeof path, "%s/compare.json", dir);
    rc = write_file(path, json, err);
    snprintf(path, sizeof path, "%s/index.html", dir);
    if (!rc)
        rc = write_file(path, html, err);
    free(json);
    free(html);
    return rc;
}
