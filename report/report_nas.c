/* report/report_nas.c: the architecture-search section of `tunelab report`
 * (id "pareto"), for studies run with the evolution sampler or that carry
 * NAS attributes (pareto_front, rejected, reused_from):
 *   pareto_front.png   the metric of every evaluated architecture against
 *                      its parameter count (trial attribute "params", log
 *                      axis), the Pareto front joined and circled, the best
 *                      trial marked;
 *   pareto_evals.png   the best value so far against evaluations (trials
 *                      in number order, reused results included);
 *   pareto_budget.png  the best value so far against the cumulative
 *                      training budget (the trials' budgets: epochs, or
 *                      evaluations of steps_per_epoch steps for text);
 *   tables: the Pareto front, the best 10 architectures (params, parent,
 *   reuse note, genes), and the candidates rejected before training by
 *   reason (study attribute "rejected").
 * The front is recomputed here (hpo/pareto.c) from the trials, so it is
 * right for a study still running.  Does not: write the database, know the
 * model (parameter counts come from the objective's "params" attribute;
 * a reused trial takes its source's).
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/report.h"
#include "hpo/pareto.h"

#define TOP_N 10

static int reused_from(const report_study *rs, int i)
{
    const char *a = report_trial_attr(rs, i, "reused_from");
    if (!a)
        return -1;
    int k = atoi(a);
    return k >= 0 && k < rs->ntrials ? k : -1;
}

/* Parameter count of trial i (a reused trial: its source's), NAN if unknown. */
static double params_of(const report_study *rs, int i)
{
    int src = reused_from(rs, i);
    const char *a = report_trial_attr(rs, src >= 0 ? src : i, "params");
    double p = a ? strtod(a, NULL) : NAN;
    return p > 0 ? p : NAN;
}

static int evaluated(const report_study *rs, int i)
{
    const trial *t = &rs->trials[i].t;
    return t->state == TRIAL_COMPLETE && isfinite(t->value);
}

/* Only an architecture search (the evolution sampler, or tune/nas.c's
 * "pareto_front"): a trial reused from a duplicate (hpo's reuse of equal
 * configurations, any sampler) or a "params" count (every train trial) does
 * not make a study one. */
static int nas_applies(const report_study *rs)
{
    return report_uses(rs, "evolution") || report_study_attr(rs, "pareto_front") != NULL;
}

static int better(const report_study *rs, double a, double b)
{
    return isnan(b) || (rs->direction == STUDY_MAXIMIZE ? a > b : a < b);
}

static void arch_text(const report_study *rs, int i, char *buf, size_t n)
{
    size_t u = 0;
    buf[0] = 0;
    for (int p = 0; p < rs->sp.n && u < n; p++) {
        double v = rs->trials[i].t.values[p];
        if (isnan(v))
            continue;
        char s[128];
        space_format_value(&rs->sp, p, v, s, sizeof s);
        u += (size_t)snprintf(buf + u, n - u, "%s%s=%s", u ? " " : "", rs->sp.p[p].name, s);
    }
}

static int plot_script(report_out *o, FILE *f, char **buf, const char *png, tl_err *err)
{
    int bad = fclose(f) != 0;
    int rc = bad ? tl_fail(err, TL_ERUNTIME, "report: out of memory") : report_plot(o, png, *buf, err);
    free(*buf);
    *buf = NULL;
    return rc;
}

/* Best-so-far against x (x = trial number + 1, or the cumulative budget). */
static int progress_plot(const report_study *rs, report_out *o, int by_budget, tl_err *err)
{
    char *buf = NULL, q[400], title[300];
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return tl_fail(err, TL_ERUNTIME, "report: out of memory");
    snprintf(title, sizeof title, "%s: best %s so far", rs->name, rs->metric);
    fprintf(f, "set title %s\nset grid\nset key top right\n", report_gp_quote(title, q, sizeof q));
    fprintf(f, "set xlabel %s\nset ylabel %s\n",
            by_budget ? "'cumulative training budget (sum of trial budgets)'" : "'evaluations (trials)'",
            report_gp_quote(rs->metric, q, sizeof q));
    fprintf(f, "$best << EOD\n");
    double best = NAN, x = 0;
    for (int i = 0; i < rs->ntrials; i++) {
        const trial *t = &rs->trials[i].t;
        x += by_budget ? (isfinite(t->budget) ? t->budget : 0) : 1;
        if (evaluated(rs, i) && better(rs, t->value, best))
            best = t->value;
        if (!isnan(best))
            fprintf(f, "%.17g %.17g\n", x, best);
    }
    fprintf(f, "EOD\nplot $best using 1:2 with steps lw 2 lc rgb '#2ca02c' title 'best so far'\n");
    return plot_script(o, f, &buf, by_budget ? "pareto_budget.png" : "pareto_evals.png", err);
}

/* The architectures trained (not reused) with a parameter count, and the
 * Pareto front among them. */
typedef struct nas_front {
    double *f;       /* (m, 2) objective to minimize, parameters */
    int *num;        /* (m) their indices in rs->trials */
    int *idx;        /* (nf) the front: rows of f, by pareto_front */
    char *on_front;  /* (ntrials) 1 for a trial on the front */
    int m, nf;
    int reused;      /* trials answered from an earlier result */
} nas_front;

static void front_free(nas_front *F)
{
    free(F->f);
    free(F->num);
    free(F->idx);
    free(F->on_front);
}

static int front_compute(const report_study *rs, nas_front *F, tl_err *err)
{
    int n = rs->ntrials;
    F->f = malloc(sizeof *F->f * 2 * (size_t)(n ? n : 1));
    F->num = malloc(sizeof *F->num * (size_t)(n ? n : 1));
    F->idx = malloc(sizeof *F->idx * (size_t)(n ? n : 1));
    F->on_front = calloc((size_t)(n ? n : 1), 1);
    if (!F->f || !F->num || !F->idx || !F->on_front)
        return tl_fail(err, TL_ERUNTIME, "report: out of memory");
    for (int i = 0; i < n; i++) {
        F->reused += reused_from(rs, i) >= 0;
        double p = params_of(rs, i);
        if (!evaluated(rs, i) || reused_from(rs, i) >= 0 || isnan(p))
            continue;
        F->f[2 * F->m] = rs->direction == STUDY_MAXIMIZE ? -rs->trials[i].t.value : rs->trials[i].t.value;
        F->f[2 * F->m + 1] = p;
        F->num[F->m++] = i;
    }
    int rc = pareto_front(F->f, F->m, 2, F->idx, &F->nf, err);
    for (int j = 0; !rc && j < F->nf; j++)
        F->on_front[F->num[F->idx[j]]] = 1;
    return rc;
}

/* pareto_front.png: every architecture, the front joined, the best. */
static int front_figure(const report_study *rs, report_out *o, const nas_front *F, tl_err *err)
{
    const double *f = F->f;
    char *buf = NULL, q[400], title[300];
    size_t len = 0;
    FILE *s = open_memstream(&buf, &len);
    if (!s)
        return tl_fail(err, TL_ERUNTIME, "report: out of memory");
    snprintf(title, sizeof title, "%s: %s against parameters", rs->name, rs->metric);
    fprintf(s, "set title %s\nset grid\nset key outside top center horizontal\n",
            report_gp_quote(title, q, sizeof q));
    fprintf(s, "set logscale x\nset format x '%%g'\nset xlabel 'parameters'\nset ylabel %s\n",
            report_gp_quote(rs->metric, q, sizeof q));
    fprintf(s, "$all << EOD\n");
    for (int j = 0; j < F->m; j++)
        fprintf(s, "%.17g %.17g\n", f[2 * j + 1], rs->trials[F->num[j]].t.value);
    fprintf(s, "EOD\n$front << EOD\n");
    for (int j = F->nf - 1; j >= 0; j--) /* ascending parameters */
        fprintf(s, "%.17g %.17g\n", f[2 * F->idx[j] + 1], rs->trials[F->num[F->idx[j]]].t.value);
    fprintf(s, "EOD\n");
    int have_best = rs->best >= 0 && !isnan(params_of(rs, rs->best));
    if (have_best)
        fprintf(s, "$best << EOD\n%.17g %.17g\nEOD\n", params_of(rs, rs->best), rs->trials[rs->best].t.value);
    fprintf(s, "plot $all using 1:2 with points pt 7 ps 0.8 lc rgb '#1f77b4' title 'evaluated', "
               "$front using 1:2 with linespoints pt 6 ps 1.8 lw 2 lc rgb '#d62728' title 'Pareto front'");
    if (have_best)
        fprintf(s, ", $best using 1:2 with points pt 3 ps 2.5 lw 2 lc rgb '#2ca02c' title 'best'");
    fprintf(s, "\n");
    int rc = plot_script(o, s, &buf, "pareto_front.png", err);
    if (!rc)
        report_figure(o, "pareto_front.png", "Every evaluated architecture; the red line joins the Pareto front.");
    return rc;
}

static void front_table(const report_study *rs, report_out *o, const nas_front *F)
{
    char arch[1024];
    report_html(o, "<h3>Pareto front</h3>\n<table>\n<tr><th>trial</th><th>");
    report_text(o, rs->metric);
    report_html(o, "</th><th>parameters</th><th>architecture</th></tr>\n");
    for (int j = F->nf - 1; j >= 0; j--) {
        int i = F->num[F->idx[j]];
        arch_text(rs, i, arch, sizeof arch);
        report_html(o, "<tr><td class=\"num\">%d</td><td class=\"num\">%.6g</td><td class=\"num\">%.0f</td><td>",
                    i, rs->trials[i].t.value, F->f[2 * F->idx[j] + 1]);
        report_text(o, arch);
        report_html(o, "</td></tr>\n");
    }
    report_html(o, "</table>\n");
}

/* The best TOP_N architectures trained (reused results point to theirs). */
static int best_table(const report_study *rs, report_out *o, const nas_front *F, tl_err *err)
{
    char arch[1024];
    int *rank = malloc(sizeof *rank * (size_t)(rs->ntrials ? rs->ntrials : 1));
    if (!rank)
        return tl_fail(err, TL_ERUNTIME, "report: out of memory");
    int nr = report_ranked(rs, rank), shown = 0;
    report_html(o, "<h3>Best architectures</h3>\n<table>\n<tr><th>rank</th><th>trial</th><th>");
    report_text(o, rs->metric);
    report_html(o, "</th><th>parameters</th><th>front</th><th>parent</th><th>note</th><th>architecture</th></tr>\n");
    for (int r = 0; r < nr && shown < TOP_N; r++) {
        int i = rank[r];
        if (reused_from(rs, i) >= 0)
            continue; /* its source is listed */
        const trial *t = &rs->trials[i].t;
        double p = params_of(rs, i);
        arch_text(rs, i, arch, sizeof arch);
        report_html(o, "<tr><td class=\"num\">%d</td><td class=\"num\">%d</td><td class=\"num\">%.6g</td>", ++shown,
                    i, t->value);
        if (isnan(p))
            report_html(o, "<td class=\"num\">-</td>");
        else
            report_html(o, "<td class=\"num\">%.0f</td>", p);
        report_html(o, "<td>%s</td>", F->on_front[i] ? "yes" : "");
        if (t->parent >= 0)
            report_html(o, "<td class=\"num\">%d</td>", t->parent);
        else
            report_html(o, "<td>random</td>");
        report_html(o, "<td>");
        report_text(o, t->reason);
        report_html(o, "</td><td>");
        report_text(o, arch);
        report_html(o, "</td></tr>\n");
    }
    report_html(o, "</table>\n");
    free(rank);
    return 0;
}

/* The candidates rejected before training (study attribute "rejected"). */
static void rejected_table(const report_study *rs, report_out *o)
{
    const char *rej = report_study_attr(rs, "rejected");
    cJSON *jr = rej ? cJSON_Parse(rej) : NULL;
    const cJSON *total = cJSON_GetObjectItemCaseSensitive(jr, "total");
    if (cJSON_IsNumber(total) && total->valuedouble > 0) {
        report_html(o, "<h3>Rejected before training</h3>\n<p>%.0f candidates broke a constraint and were never "
                       "trained.</p>\n<table>\n<tr><th>reason</th><th>count</th><th>example</th></tr>\n",
                    total->valuedouble);
        const cJSON *it;
        cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(jr, "reasons"))
        {
            const cJSON *k = cJSON_GetObjectItemCaseSensitive(it, "key");
            const cJSON *c = cJSON_GetObjectItemCaseSensitive(it, "count");
            const cJSON *e = cJSON_GetObjectItemCaseSensitive(it, "example");
            report_html(o, "<tr><td>");
            report_text(o, cJSON_IsString(k) ? k->valuestring : "?");
            report_html(o, "</td><td class=\"num\">%.0f</td><td>", cJSON_IsNumber(c) ? c->valuedouble : 0.0);
            report_text(o, cJSON_IsString(e) ? e->valuestring : "");
            report_html(o, "</td></tr>\n");
        }
        report_html(o, "</table>\n");
    }
    cJSON_Delete(jr);
}

static int nas_write(const report_study *rs, report_out *o, tl_err *err)
{
    nas_front F = {0};
    int rc = front_compute(rs, &F, err);
    if (rc) {
        front_free(&F);
        return rc;
    }
    report_html(o, "<p>%d architectures evaluated by training", F.m);
    if (F.reused)
        report_html(o, ", %d repeats answered from an earlier result (not trained again)", F.reused);
    report_html(o, "; %d on the Pareto front of ", F.nf);
    report_text(o, rs->metric);
    report_html(o, " against parameter count.</p>\n");
    if (F.m > 0)
        rc = front_figure(rs, o, &F, err);
    if (!rc && rs->best >= 0 && !(rc = progress_plot(rs, o, 0, err)) && !(rc = progress_plot(rs, o, 1, err))) {
        report_figure(o, "pareto_evals.png", "Best value so far against evaluations (reused results included).");
        report_figure(o, "pareto_budget.png", "Best value so far against the training budget spent.");
    }
    if (!rc && F.nf > 0)
        front_table(rs, o, &F);
    if (!rc)
        rc = best_table(rs, o, &F, err);
    if (!rc)
        rejected_table(rs, o);
    front_free(&F);
    return rc;
}

const report_section report_section_pareto = { "pareto", "Architecture search", nas_applies, nas_write };
