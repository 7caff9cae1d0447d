/* report/report_importance.c: parameter importance of a study read back:
 * the text of `tunelab importance` and the report's "importance" section
 * (report/report_importance.h).  The numbers are hpo/importance.h's
 * (fANOVA over random forests, mean and spread over forest seeds); this
 * file only picks the trials, ranks and formats.  Does not: compute
 * importances itself, or print.
 */
#include "report/report_importance.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int report_importance_compute(const report_study *rs, const importance_opts *o,
                              importance_result *res, tl_err *err)
{
    const trial **t = malloc(sizeof *t * (size_t)(rs->ntrials > 0 ? rs->ntrials : 1));
    if (!t)
        return tl_fail(err, TL_ERUNTIME, "report: out of memory");
    for (int i = 0; i < rs->ntrials; i++)
        t[i] = &rs->trials[i].t;
    importance_opts def;
    importance_opts_default(&def);
    def.seed = rs->seed;
    int rc = importance_trials(&rs->sp, t, rs->ntrials, o ? o : &def, res, err);
    free(t);
    return rc ? tl_prefix(err, "%s: study '%s'", rs->path, rs->name) : 0;
}

/* Parameter indices by mean importance, largest first (ties: space order). */
static void rank(const importance_result *res, int *ord)
{
    for (int i = 0; i < res->d; i++)
        ord[i] = i;
    for (int i = 1; i < res->d; i++) /* insertion sort: d is small, and it is stable */
        for (int j = i; j > 0 && res->mean[ord[j]] > res->mean[ord[j - 1]]; j--) {
            int tmp = ord[j];
            ord[j] = ord[j - 1];
            ord[j - 1] = tmp;
        }
}

static int table_text(const report_study *rs, const importance_result *res, char **out, tl_err *err)
{
    size_t len = 0;
    FILE *f = open_memstream(out, &len);
    if (!f)
        return tl_fail(err, TL_ERUNTIME, "report: out of memory");
    int ord[SPACE_MAX_PARAMS], w = 9;
    rank(res, ord);
    for (int i = 0; i < res->d; i++)
        w = (int)strlen(rs->sp.p[i].name) > w ? (int)strlen(rs->sp.p[i].name) : w;
    fprintf(f, "# study '%s': %d complete trials; fANOVA on 64-tree random forests, %d seeds\n",
            rs->name, res->ntrials, res->nseeds);
    if (res->zero_variance)
        fprintf(f, "# every trial has the same value: no parameter explains anything\n");
    fprintf(f, "%-*s  %10s  %8s  %8s  %8s\n", w, "parameter", "importance", "sd", "min", "max");
    for (int k = 0; k < res->d; k++) {
        int i = ord[k];
        char bar[41];
        int nb = (int)lround(40 * res->mean[i]);
        memset(bar, '#', (size_t)nb);
        bar[nb] = 0;
        fprintf(f, "%-*s  %10.4f  %8.4f  %8.4f  %8.4f  %s\n", w, rs->sp.p[i].name, res->mean[i],
                res->sd[i], res->min[i], res->max[i], bar);
    }
    if (fclose(f) != 0)
        return tl_fail(err, TL_ERUNTIME, "report: out of memory");
    return 0;
}

static int json_text(const report_study *rs, const importance_result *res, char **out, tl_err *err)
{
    cJSON *o = cJSON_CreateObject(), *ps = cJSON_CreateArray();
    int ord[SPACE_MAX_PARAMS];
    rank(res, ord);
    cJSON_AddStringToObject(o, "study", rs->name);
    cJSON_AddStringToObject(o, "method", "fanova");
    cJSON_AddNumberToObject(o, "trials", res->ntrials);
    cJSON_AddNumberToObject(o, "seeds", res->nseeds);
    cJSON_AddNumberToObject(o, "trees", 64);
    cJSON_AddBoolToObject(o, "zero_variance", res->zero_variance);
    for (int k = 0; k < res->d; k++) {
        int i = ord[k];
        cJSON *p = cJSON_CreateObject();
        cJSON_AddStringToObject(p, "name", rs->sp.p[i].name);
        cJSON_AddNumberToObject(p, "importance", res->mean[i]);
        cJSON_AddNumberToObject(p, "sd", res->sd[i]);
        cJSON_AddNumberToObject(p, "min", res->min[i]);
        cJSON_AddNumberToObject(p, "max", res->max[i]);
        cJSON_AddItemToArray(ps, p);
    }
    cJSON_AddItemToObject(o, "params", ps);
    char *s = cJSON_Print(o);
    cJSON_Delete(o);
    size_t n = s ? strlen(s) : 0;
    *out = s ? realloc(s, n + 2) : NULL;
    if (!*out) {
        free(s);
        return tl_fail(err, TL_ERUNTIME, "report: out of memory");
    }
    (*out)[n] = '\n';
    (*out)[n + 1] = 0;
    return 0;
}

int report_importance(const report_study *rs, int format, char **out, tl_err *err)
{
    *out = NULL;
    if (format != REPORT_TABLE && format != REPORT_JSON)
        return tl_fail(err, TL_EINPUT, "importance: format must be a table or JSON");
    importance_result res;
    int rc = report_importance_compute(rs, NULL, &res, err);
    if (rc)
        return rc;
    return format == REPORT_JSON ? json_text(rs, &res, out, err) : table_text(rs, &res, out, err);
}

/* ---- the report section ---- */

static int applies(const report_study *rs)
{
    return rs->counts[TRIAL_COMPLETE] >= 2 && rs->sp.n >= 1;
}

static int write_section(const report_study *rs, report_out *o, tl_err *err)
{
    importance_result res;
    tl_err e = {0};
    if (report_importance_compute(rs, NULL, &res, &e)) {
        if (e.code != TL_EINPUT)
            return tl_fail(err, e.code, "%s", e.msg);
        report_html(o, "<p>No importance: ");
        report_text(o, e.msg);
        report_html(o, ".</p>\n");
        return 0;
    }
    int ord[SPACE_MAX_PARAMS];
    rank(&res, ord);
    char *script = NULL, q[200];
    size_t len = 0;
    FILE *f = open_memstream(&script, &len);
    if (!f)
        return tl_fail(err, TL_ERUNTIME, "report: out of memory");
    fprintf(f, "$imp << EOD\n");
    for (int k = 0; k < res.d; k++) {
        int i = ord[k];
        char name[80];
        snprintf(name, sizeof name, "%s", rs->sp.p[i].name);
        for (char *c = name; *c; c++)
            *c = *c == '"' || *c == '\\' ? '_' : *c;
        fprintf(f, "\"%s\" %.6f %.6f %.6f\n", name, res.mean[i], res.min[i], res.max[i]);
    }
    fprintf(f, "EOD\nset termoption noenhanced\nset title %s\nset ylabel 'importance (share of variance)'\n"
               "set yrange [0:1.05]\nset style fill solid 0.6 border -1\nset boxwidth 0.6\n"
               "set xtics rotate by -30\nset grid ytics\nunset key\n"
               "plot $imp using 0:2:xtic(1) with boxes lc rgb '#2171b5', "
               "$imp using 0:2:3:4 with yerrorbars lc rgb '#000000' pt 0\n",
            report_gp_quote("fANOVA importance (bars: mean over forest seeds; whiskers: min-max)", q,
                            sizeof q));
    fclose(f);
    int rc = report_plot(o, "importance.png", script, err);
    free(script);
    if (rc)
        return rc;
    report_figure(o, "importance.png", "Parameter importance (fANOVA over random forests)");
    report_html(o, "<p>%d complete trials; fANOVA on 64-tree random forests, %d seeds "
                   "(<code>tunelab importance</code>).%s</p>\n<table><tr><th>parameter</th>"
                   "<th>importance</th><th>sd</th><th>min</th><th>max</th></tr>\n",
                res.ntrials, res.nseeds,
                res.zero_variance ? " Every trial has the same value: nothing to explain." : "");
    for (int k = 0; k < res.d; k++) {
        int i = ord[k];
        report_html(o, "<tr><td>");
        report_text(o, rs->sp.p[i].name);
        report_html(o, "</td><td class=\"num\">%.4f</td><td class=\"num\">%.4f</td>"
                       "<td class=\"num\">%.4f</td><td class=\"num\">%.4f</td></tr>\n",
                    res.mean[i], res.sd[i], res.min[i], res.max[i]);
    }
    report_html(o, "</table>\n");
    return 0;
}

const report_section report_section_importance = {"importance", "Parameter importance", applies,
                                                    write_section};
