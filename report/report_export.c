/* report/report_export.c: a study as text, for the commands that read one
 * back: `tunelab show` (a table for people, or JSON), `tunelab best` (the
 * best complete trial, its attributes and the command that retrains it;
 * or JSON) and `tunelab export` (every trial as CSV or JSON).  Numbers in
 * JSON and CSV are written exactly (the shortest text that reads back as
 * the same double); NaN and infinities are null or empty.
 *
 * Does not: print (each function returns the text; cli/cmd_study.c
 * prints it), read the database (report_load.c), or know any algorithm.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/report.h"

/* Text built in memory: open_memstream, then text_done. */
typedef struct text {
    FILE *f;
    char *buf;
    size_t len;
} text;

static int text_open(text *t, tl_err *err)
{
    t->buf = NULL;
    t->len = 0;
    t->f = open_memstream(&t->buf, &t->len);
    return t->f ? 0 : tl_fail(err, TL_ERUNTIME, "report: out of memory");
}

/* Closes t and hands its text to *out.  Returns 0 or TL_ERUNTIME. */
static int text_done(text *t, char **out, tl_err *err)
{
    int bad = fclose(t->f) != 0;
    if (bad || !t->buf) {
        free(t->buf);
        return tl_fail(err, TL_ERUNTIME, "report: out of memory");
    }
    *out = t->buf;
    return 0;
}

/* cJSON o, printed, with a final newline, to *out; deletes o.  Returns 0
 * or TL_ERUNTIME. */
static int json_text(cJSON *o, char **out, tl_err *err)
{
    char *s = o ? cJSON_Print(o) : NULL;
    cJSON_Delete(o);
    size_t n = s ? strlen(s) : 0;
    char *t = s ? realloc(s, n + 2) : NULL;
    if (!t) {
        free(s);
        return tl_fail(err, TL_ERUNTIME, "report: out of memory");
    }
    t[n] = '\n';
    t[n + 1] = 0;
    *out = t;
    return 0;
}

static const char *dir_str(const report_study *rs)
{
    return rs->direction == STUDY_MAXIMIZE ? "maximize" : "minimize";
}

/* ---- JSON ---- */

static cJSON *num_json(double v);

/* A parameter's value as JSON: number (float, int), string (categorical),
 * null (inactive). */
static cJSON *param_json(const report_study *rs, int p, double v)
{
    if (isnan(v))
        return cJSON_CreateNull();
    if (rs->sp.p[p].kind == PARAM_CAT) {
        char buf[300];
        space_format_value(&rs->sp, p, v, buf, sizeof buf);
        return cJSON_CreateString(buf);
    }
    return num_json(v);
}

/* Shortest text that reads back as exactly v (finite v). */
static void shortest(double v, char *buf, size_t n)
{
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, n, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

/* A number as JSON, exact (cJSON's own printing may lose the last bit),
 * null for NaN and infinities. */
static cJSON *num_json(double v)
{
    if (!isfinite(v))
        return cJSON_CreateNull();
    char buf[40];
    shortest(v, buf, sizeof buf);
    return cJSON_CreateRaw(buf);
}

/* An attribute's text: as JSON when it parses as JSON, else a string. */
static cJSON *attr_json(const char *text)
{
    cJSON *j = cJSON_ParseWithOpts(text, NULL, 1);
    return j ? j : cJSON_CreateString(text);
}

static cJSON *attrs_json(const storage_attr *kv, int n)
{
    cJSON *o = cJSON_CreateObject();
    for (int k = 0; k < n; k++)
        cJSON_AddItemToObject(o, kv[k].key, attr_json(kv[k].value));
    return o;
}

/* Trial i as JSON; full adds target, parent, times, host, intermediate
 * values and attributes. */
static cJSON *trial_json(const report_study *rs, int i, int full)
{
    const storage_trial *r = &rs->trials[i];
    const trial *t = &r->t;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "number", t->number);
    cJSON_AddStringToObject(o, "state", trial_state_str(t->state));
    cJSON_AddItemToObject(o, "value", num_json(t->value));
    cJSON_AddItemToObject(o, "budget", num_json(t->budget));
    cJSON *p = cJSON_AddObjectToObject(o, "params");
    for (int k = 0; k < rs->sp.n; k++)
        cJSON_AddItemToObject(p, rs->sp.p[k].name, param_json(rs, k, t->values[k]));
    cJSON_AddItemToObject(o, "duration", num_json(report_duration(rs, i)));
    cJSON_AddStringToObject(o, "reason", t->reason);
    if (!full)
        return o;
    cJSON_AddItemToObject(o, "target", num_json(r->m.target));
    if (t->parent >= 0)
        cJSON_AddNumberToObject(o, "parent", t->parent);
    else
        cJSON_AddNullToObject(o, "parent");
    cJSON_AddItemToObject(o, "started", num_json(t->started));
    cJSON_AddItemToObject(o, "finished", num_json(t->finished));
    cJSON_AddStringToObject(o, "host", r->m.host);
    cJSON_AddNumberToObject(o, "pid", (double)r->m.pid);
    cJSON_AddNumberToObject(o, "worker", r->m.worker);
    cJSON *iv = cJSON_AddArrayToObject(o, "intermediate");
    for (int k = 0; k < t->nsteps; k++) {
        cJSON *pair = cJSON_CreateArray();
        cJSON_AddItemToArray(pair, cJSON_CreateNumber(t->steps[k]));
        cJSON_AddItemToArray(pair, num_json(t->inter[k]));
        cJSON_AddItemToArray(iv, pair);
    }
    cJSON_AddItemToObject(o, "attrs", attrs_json(r->attrs, r->nattrs));
    return o;
}

static cJSON *study_json(const report_study *rs)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "study", rs->name);
    cJSON_AddStringToObject(o, "storage", rs->path);
    cJSON_AddStringToObject(o, "metric", rs->metric);
    cJSON_AddStringToObject(o, "direction", dir_str(rs));
    cJSON_AddNumberToObject(o, "n_trials", rs->ntrials);
    for (int s = 0; s < TRIAL_STATE_COUNT; s++) {
        char key[32];
        snprintf(key, sizeof key, "n_%s", trial_state_str(s));
        cJSON_AddNumberToObject(o, key, rs->counts[s]);
    }
    cJSON_AddNumberToObject(o, "budget_used", rs->budget_used);
    if (rs->best >= 0)
        cJSON_AddNumberToObject(o, "best_trial", rs->trials[rs->best].t.number);
    else
        cJSON_AddNullToObject(o, "best_trial");
    return o;
}

/* ---- show ---- */

#define SHOW_MAXCOLS (SPACE_MAX_PARAMS + 6)

/* Text of column c for trial i (c: 0 trial, 1 state, 2 value, 3 budget,
 * 4.. params, then seconds, then reason). */
static void show_cell(const report_study *rs, int i, int c, char *buf, size_t n)
{
    const trial *t = &rs->trials[i].t;
    int np = rs->sp.n;
    if (c == 0)
        snprintf(buf, n, "%d", t->number);
    else if (c == 1)
        snprintf(buf, n, "%s", trial_state_str(t->state));
    else if (c == 2)
        snprintf(buf, n, isnan(t->value) ? "-" : "%.6g", t->value);
    else if (c == 3)
        snprintf(buf, n, "%g", t->budget);
    else if (c < 4 + np && rs->sp.p[c - 4].kind == PARAM_FLOAT && !isnan(t->values[c - 4]))
        snprintf(buf, n, "%.6g", t->values[c - 4]); /* readable; `best` and `export` give exact values */
    else if (c < 4 + np)
        space_format_value(&rs->sp, c - 4, t->values[c - 4], buf, n);
    else if (c == 4 + np) {
        double d = report_duration(rs, i);
        snprintf(buf, n, isnan(d) ? "-" : "%.1f", d);
    } else
        snprintf(buf, n, "%s", t->reason);
}

/* The table of cmd show: header, one line per trial, the summary. */
static void show_table(const report_study *rs, FILE *f)
{
    int np = rs->sp.n, ncol = np + 6;
    int width[SHOW_MAXCOLS];
    const char *head[SHOW_MAXCOLS];
    head[0] = "trial";
    head[1] = "state";
    head[2] = rs->metric[0] ? rs->metric : "value";
    head[3] = "budget";
    for (int p = 0; p < np; p++)
        head[4 + p] = rs->sp.p[p].name;
    head[4 + np] = "seconds";
    head[5 + np] = "reason";
    char cell[300];
    for (int c = 0; c < ncol; c++) {
        width[c] = (int)strlen(head[c]);
        for (int i = 0; i < rs->ntrials && c < ncol - 1; i++) {
            show_cell(rs, i, c, cell, sizeof cell);
            if ((int)strlen(cell) > width[c])
                width[c] = (int)strlen(cell);
        }
    }
    /* numbers right-aligned, words left-aligned; the reason is last and unpadded */
    for (int c = 0; c < ncol; c++) {
        if (c == ncol - 1)
            fprintf(f, "%s\n", head[c]);
        else
            fprintf(f, "%-*s  ", width[c], head[c]);
    }
    for (int i = 0; i < rs->ntrials; i++)
        for (int c = 0; c < ncol; c++) {
            show_cell(rs, i, c, cell, sizeof cell);
            int right = c == 0 || c == 2 || c == 3 || c == 4 + np ||
                        (c >= 4 && c < 4 + np && rs->sp.p[c - 4].kind != PARAM_CAT);
            if (c == ncol - 1)
                fprintf(f, "%s\n", cell);
            else if (right)
                fprintf(f, "%*s  ", width[c], cell);
            else
                fprintf(f, "%-*s  ", width[c], cell);
        }
    fprintf(f, "\nstudy '%s': %d trials (%d complete, %d pruned, %d failed, %d running, %d paused, %d waiting); "
               "budget used %g\n",
            rs->name, rs->ntrials, rs->counts[TRIAL_COMPLETE], rs->counts[TRIAL_PRUNED], rs->counts[TRIAL_FAILED],
            rs->counts[TRIAL_RUNNING], rs->counts[TRIAL_PAUSED], rs->counts[TRIAL_WAITING], rs->budget_used);
    if (rs->best >= 0)
        fprintf(f, "best: trial %d, %s = %.6g (%s)\n", rs->trials[rs->best].t.number, head[2],
                rs->trials[rs->best].t.value, dir_str(rs));
}

int report_show(const report_study *rs, int format, char **out, tl_err *err)
{
    *out = NULL;
    if (format == REPORT_JSON) {
        cJSON *o = study_json(rs);
        cJSON *arr = cJSON_AddArrayToObject(o, "trials");
        for (int i = 0; i < rs->ntrials; i++)
            cJSON_AddItemToArray(arr, trial_json(rs, i, 0));
        return json_text(o, out, err);
    }
    if (format != REPORT_TABLE)
        return tl_fail(err, TL_EINPUT, "show: a table or JSON");
    text t;
    if (text_open(&t, err))
        return TL_ERUNTIME;
    show_table(rs, t.f);
    return text_done(&t, out, err);
}

/* ---- best ---- */

/* The text of cmd best for trial b, retrain command cmd (may be NULL). */
static void best_text(const report_study *rs, int b, const char *cmd, FILE *f)
{
    const storage_trial *r = &rs->trials[b];
    fprintf(f, "best trial %d of study '%s' (%s %s): %.10g\n", r->t.number, rs->name, dir_str(rs), rs->metric,
            r->t.value);
    double d = report_duration(rs, b);
    fprintf(f, "budget %g", r->t.budget);
    if (!isnan(d))
        fprintf(f, ", %.1f s", d);
    fprintf(f, "\nparams:\n");
    for (int p = 0; p < rs->sp.n; p++) {
        char buf[300];
        space_format_value(&rs->sp, p, r->t.values[p], buf, sizeof buf);
        fprintf(f, "  %s = %s\n", rs->sp.p[p].name, buf);
    }
    if (r->nattrs) {
        fprintf(f, "attributes:\n");
        for (int k = 0; k < r->nattrs; k++)
            fprintf(f, "  %s = %s\n", r->attrs[k].key, r->attrs[k].value);
    }
    if (cmd)
        fprintf(f, "retrain: %s\n", cmd);
    if (cmd && !rs->config[0])
        fprintf(f, "(the study does not store its config path: put yours in place of CONFIG)\n");
}

int report_best(const report_study *rs, int format, char **out, tl_err *err)
{
    *out = NULL;
    if (format != REPORT_TABLE && format != REPORT_JSON)
        return tl_fail(err, TL_EINPUT, "best: text or JSON");
    if (rs->best < 0)
        return tl_fail(err, TL_ERUNTIME, "%s: study '%s': no trial has completed (%d trials)", rs->path,
                       rs->name, rs->ntrials);
    int b = rs->best, rc;
    char *cmd = NULL; /* trials of a function or a command have no config to retrain */
    if (strcmp(rs->objective, "function") && strcmp(rs->objective, "command")) {
        int need = report_retrain_command(rs, b, NULL, 0) + 1;
        if (!(cmd = malloc((size_t)need)))
            return tl_fail(err, TL_ERUNTIME, "report: out of memory");
        report_retrain_command(rs, b, cmd, (size_t)need);
    }
    if (format == REPORT_JSON) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "study", rs->name);
        cJSON_AddStringToObject(o, "storage", rs->path);
        cJSON_AddStringToObject(o, "metric", rs->metric);
        cJSON_AddStringToObject(o, "direction", dir_str(rs));
        cJSON_AddItemToObject(o, "trial", trial_json(rs, b, 1));
        if (cmd)
            cJSON_AddStringToObject(o, "retrain", cmd);
        rc = json_text(o, out, err);
    } else {
        text t;
        if (!(rc = text_open(&t, err))) {
            best_text(rs, b, cmd, t.f);
            rc = text_done(&t, out, err);
        }
    }
    free(cmd);
    return rc;
}

/* ---- export ---- */

/* Writes s as one CSV field (RFC 4180: quoted when it holds a comma, a
 * quote, a line break or leading/trailing space). */
static void csv_field(FILE *f, const char *s)
{
    size_t l = strlen(s);
    int q = strpbrk(s, ",\"\r\n") != NULL || (l && (s[0] == ' ' || s[l - 1] == ' '));
    if (!q) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void csv_num(FILE *f, double v)
{
    char buf[40];
    if (isfinite(v)) {
        shortest(v, buf, sizeof buf);
        fputs(buf, f);
    }
}

/* Attribute keys over all trials, in order of first appearance; returns
 * how many (keys borrowed from rs), -1 on memory failure. */
static int attr_keys(const report_study *rs, const char ***keys)
{
    int total = 0;
    for (int i = 0; i < rs->ntrials; i++)
        total += rs->trials[i].nattrs;
    *keys = malloc((size_t)(total ? total : 1) * sizeof **keys);
    if (!*keys)
        return -1;
    int n = 0;
    for (int i = 0; i < rs->ntrials; i++)
        for (int k = 0; k < rs->trials[i].nattrs; k++) {
            const char *key = rs->trials[i].attrs[k].key;
            int seen = 0;
            for (int j = 0; j < n && !seen; j++)
                seen = !strcmp((*keys)[j], key);
            if (!seen)
                (*keys)[n++] = key;
        }
    return n;
}

/* Writes the CSV of cmd export to f.  Returns 0 or -1 (memory). */
static int export_csv(const report_study *rs, FILE *f)
{
    const char **keys;
    int nk = attr_keys(rs, &keys);
    if (nk < 0)
        return -1;
    fputs("number,state,value,budget,target,parent,started,finished,duration,reason", f);
    char name[300];
    for (int p = 0; p < rs->sp.n; p++) {
        snprintf(name, sizeof name, "params_%s", rs->sp.p[p].name);
        fputc(',', f);
        csv_field(f, name);
    }
    for (int k = 0; k < nk; k++) {
        snprintf(name, sizeof name, "attrs_%s", keys[k]);
        fputc(',', f);
        csv_field(f, name);
    }
    fputs(",intermediate\n", f);
    for (int i = 0; i < rs->ntrials; i++) {
        const storage_trial *r = &rs->trials[i];
        const trial *t = &r->t;
        fprintf(f, "%d,%s,", t->number, trial_state_str(t->state));
        csv_num(f, t->value);
        fputc(',', f);
        csv_num(f, t->budget);
        fputc(',', f);
        csv_num(f, r->m.target);
        fputc(',', f);
        if (t->parent >= 0)
            fprintf(f, "%d", t->parent);
        fputc(',', f);
        csv_num(f, t->started);
        fputc(',', f);
        csv_num(f, t->finished);
        fputc(',', f);
        csv_num(f, report_duration(rs, i));
        fputc(',', f);
        csv_field(f, t->reason);
        for (int p = 0; p < rs->sp.n; p++) {
            char buf[300] = "";
            if (!isnan(t->values[p]))
                space_format_value(&rs->sp, p, t->values[p], buf, sizeof buf);
            fputc(',', f);
            csv_field(f, buf);
        }
        for (int k = 0; k < nk; k++) {
            const char *v = report_trial_attr(rs, i, keys[k]);
            fputc(',', f);
            csv_field(f, v ? v : "");
        }
        cJSON *iv = cJSON_CreateArray();
        for (int k = 0; k < t->nsteps; k++) {
            cJSON *pair = cJSON_CreateArray();
            cJSON_AddItemToArray(pair, cJSON_CreateNumber(t->steps[k]));
            cJSON_AddItemToArray(pair, num_json(t->inter[k]));
            cJSON_AddItemToArray(iv, pair);
        }
        char *s = cJSON_PrintUnformatted(iv);
        cJSON_Delete(iv);
        fputc(',', f);
        csv_field(f, s ? s : "[]");
        fputc('\n', f);
        free(s);
    }
    free(keys);
    return 0;
}

/* The JSON of cmd export. */
static cJSON *export_json(const report_study *rs)
{
    cJSON *o = study_json(rs);
    cJSON_AddNumberToObject(o, "seed", (double)rs->seed);
    cJSON_AddItemToObject(o, "created", num_json(rs->created));
    cJSON *sp = cJSON_AddArrayToObject(o, "space");
    for (int p = 0; p < rs->sp.n; p++) {
        char expr[2048];
        space_describe(&rs->sp, p, 1, expr, sizeof expr);
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "name", rs->sp.p[p].name);
        cJSON_AddStringToObject(e, "kind", param_kind_str(rs->sp.p[p].kind));
        cJSON_AddBoolToObject(e, "log", rs->sp.p[p].log);
        cJSON_AddStringToObject(e, "expr", expr);
        cJSON_AddItemToArray(sp, e);
    }
    cJSON_AddItemToObject(o, "attrs", attrs_json(rs->attrs, rs->nattrs));
    cJSON *arr = cJSON_AddArrayToObject(o, "trials");
    for (int i = 0; i < rs->ntrials; i++)
        cJSON_AddItemToArray(arr, trial_json(rs, i, 1));
    return o;
}

int report_export(const report_study *rs, int format, char **out, tl_err *err)
{
    *out = NULL;
    if (format == REPORT_JSON)
        return json_text(export_json(rs), out, err);
    if (format != REPORT_CSV)
        return tl_fail(err, TL_EINPUT, "export: CSV or JSON");
    text t;
    if (text_open(&t, err))
        return TL_ERUNTIME;
    if (export_csv(rs, t.f)) {
        fclose(t.f);
        free(t.buf);
        return tl_fail(err, TL_ERUNTIME, "report: out of memory");
    }
    return text_done(&t, out, err);
}
