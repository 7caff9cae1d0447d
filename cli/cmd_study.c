/* cli/cmd_study.c: the commands that read a study back from its database:
 *   tunelab show DB [--json]            a table of trials
 *   tunelab best DB [--json]            the best trial, its attributes, the retrain command
 *   tunelab export DB --csv|--json      every trial to stdout (params as columns / fields)
 *   tunelab report DB -o DIR            figures and index.html (cli/report.h)
 * Each takes --study NAME when the database holds several studies.
 * Does not: write to the database (it is opened read-only), run trials.
 * Exit status: 0; 2 for usage errors and a missing or foreign database;
 * 1 for runtime failures (database, unwritable folder, gnuplot).
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "report/report.h"
#include "report/report_gp.h"
#include "cli/term.h"

#define STUDY_OPT "  --study NAME     the study to read when DB holds several (default: the only one)\n"

static const char *SHOW_HELP =
    "usage: tunelab show DB [--json] [--study NAME]\n\n"
    "Lists the trials of the study in DB (read-only): number, state, value,\n"
    "budget, parameter values, duration and reason.\n\n"
    "options:\n"
    "  --json           one JSON object: the study and its trials\n" STUDY_OPT
    "  -h, --help       this help\n";

static const char *BEST_HELP =
    "usage: tunelab best DB [--json] [--study NAME]\n\n"
    "Prints the best complete trial of the study in DB: its value, parameters,\n"
    "attributes (test_accuracy, ...) and the command that retrains it.\n"
    "Exits 1 when no trial has completed.\n\n"
    "options:\n"
    "  --json           one JSON object\n" STUDY_OPT
    "  -h, --help       this help\n";

static const char *EXPORT_HELP =
    "usage: tunelab export DB --csv|--json [--study NAME]\n\n"
    "Writes every trial of the study in DB to stdout.\n"
    "  --csv   a header line, then one line per trial: number, state, value,\n"
    "          budget, target, parent, started, finished (unix seconds),\n"
    "          duration, reason, params_<name> for each parameter (empty when\n"
    "          inactive), attrs_<key> for each attribute, and intermediate (a\n"
    "          JSON array of [step, value] pairs)\n"
    "  --json  one object: the study, its space and attributes, and trials\n"
    "          with params, intermediate values and attributes\n\n"
    "options:\n" STUDY_OPT
    "  -h, --help       this help\n";

static const char *REPORT_HELP =
    "usage: tunelab report DB -o DIR [--study NAME] [--gp-param NAME[,NAME2]]\n\n"
    "Writes gnuplot figures (PNG) and DIR/index.html for the study in DB: a\n"
    "summary with the best and the top 10 trials, the optimization history,\n"
    "the objective against each parameter and the learning curves, plus the\n"
    "sections of the study's sampler and scheduler.  DIR is created if needed.\n"
    "Needs gnuplot on PATH.\n\n"
    "options:\n"
    "  -o, --out DIR    the output folder (required)\n" STUDY_OPT
    "  --gp-param NAME[,NAME2]  bayes studies: the parameter(s) the GP figures slice\n"
    "                   through (default: the shortest fitted lengthscales)\n"
    "  -h, --help       this help\n";

/* Parses argv, taking --study NAME out before the shared parser sees it.
 * Returns 0, 1 (help printed: exit 0) or 2 (usage error printed). */
static int parse(args *a, const char **study, int argc, char **argv, unsigned allowed, const char *help)
{
    *study = NULL;
    char **rest = malloc((size_t)(argc + 1) * sizeof *rest);
    if (!rest)
        return term_errorf(2, "out of memory");
    int n = 0;
    for (int i = 0; i < argc; i++) {
        if (i > 0 && !strcmp(argv[i], "--study")) {
            if (i + 1 >= argc) {
                free(rest);
                return term_errorf(2, "--study: needs a value");
            }
            *study = argv[++i];
        } else if (i > 0 && !strncmp(argv[i], "--study=", 8)) {
            *study = argv[i] + 8;
        } else {
            rest[n++] = argv[i];
        }
    }
    rest[n] = NULL;
    int rc = args_parse(a, n, rest, allowed, help);
    free(rest);
    args_free(a); /* these commands take no --set */
    if (rc)
        return rc;
    if (!a->positional) {
        term_errorf(2, "%s: needs a study database DB; see `tunelab %s --help`", argv[0], argv[0]);
        return 2;
    }
    return 0;
}

static int load(report_study **rs, const args *a, const char *study)
{
    tl_err err = {0};
    if (report_study_load(rs, a->positional, study, &err))
        return term_error(&err, err.code == TL_EINPUT && strstr(err.msg, "no such file")
                                    ? "a study database is what `tunelab run` writes (study.storage, "
                                      "default runs/<name>.db)"
                                    : NULL);
    return 0;
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
    cJSON_AddStringToObject(o, "direction", rs->direction == STUDY_MAXIMIZE ? "maximize" : "minimize");
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

/* Prints o (and deletes it); returns 0 or 1 when printing failed. */
static int print_json(cJSON *o)
{
    char *s = cJSON_Print(o);
    cJSON_Delete(o);
    if (!s)
        return term_errorf(1, "out of memory");
    puts(s);
    free(s);
    return fflush(stdout) ? term_errorf(1, "stdout: write failed") : 0;
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

int cmd_show(int argc, char **argv)
{
    args a;
    const char *study;
    int rc = parse(&a, &study, argc, argv, OPT_JSON, SHOW_HELP);
    if (rc)
        return rc == 1 ? 0 : 2;
    report_study *rs;
    if ((rc = load(&rs, &a, study)))
        return rc;
    if (a.json) {
        cJSON *o = study_json(rs);
        cJSON *arr = cJSON_AddArrayToObject(o, "trials");
        for (int i = 0; i < rs->ntrials; i++)
            cJSON_AddItemToArray(arr, trial_json(rs, i, 0));
        report_study_free(rs);
        return print_json(o);
    }
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
            printf("%s\n", head[c]);
        else
            printf("%-*s  ", width[c], head[c]);
    }
    for (int i = 0; i < rs->ntrials; i++)
        for (int c = 0; c < ncol; c++) {
            show_cell(rs, i, c, cell, sizeof cell);
            int right = c == 0 || c == 2 || c == 3 || c == 4 + np ||
                        (c >= 4 && c < 4 + np && rs->sp.p[c - 4].kind != PARAM_CAT);
            if (c == ncol - 1)
                printf("%s\n", cell);
            else if (right)
                printf("%*s  ", width[c], cell);
            else
                printf("%-*s  ", width[c], cell);
        }
    printf("\nstudy '%s': %d trials (%d complete, %d pruned, %d failed, %d running, %d paused, %d waiting); "
           "budget used %g\n",
           rs->name, rs->ntrials, rs->counts[TRIAL_COMPLETE], rs->counts[TRIAL_PRUNED], rs->counts[TRIAL_FAILED],
           rs->counts[TRIAL_RUNNING], rs->counts[TRIAL_PAUSED], rs->counts[TRIAL_WAITING], rs->budget_used);
    if (rs->best >= 0)
        printf("best: trial %d, %s = %.6g (%s)\n", rs->trials[rs->best].t.number, head[2],
               rs->trials[rs->best].t.value, rs->direction == STUDY_MAXIMIZE ? "maximize" : "minimize");
    report_study_free(rs);
    return fflush(stdout) ? term_errorf(1, "stdout: write failed") : 0;
}

/* ---- best ---- */

int cmd_best(int argc, char **argv)
{
    args a;
    const char *study;
    int rc = parse(&a, &study, argc, argv, OPT_JSON, BEST_HELP);
    if (rc)
        return rc == 1 ? 0 : 2;
    report_study *rs;
    if ((rc = load(&rs, &a, study)))
        return rc;
    if (rs->best < 0) {
        rc = term_errorf(1, "%s: study '%s': no trial has completed (%d trials)", rs->path, rs->name, rs->ntrials);
        report_study_free(rs);
        return rc;
    }
    int b = rs->best;
    int retrain = strcmp(rs->objective, "function") && strcmp(rs->objective, "command");
    char *cmd = NULL;
    if (retrain) {
        int need = report_retrain_command(rs, b, NULL, 0) + 1;
        cmd = malloc((size_t)need);
        if (!cmd) {
            report_study_free(rs);
            return term_errorf(1, "out of memory");
        }
        report_retrain_command(rs, b, cmd, (size_t)need);
    }
    const storage_trial *r = &rs->trials[b];
    if (a.json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "study", rs->name);
        cJSON_AddStringToObject(o, "storage", rs->path);
        cJSON_AddStringToObject(o, "metric", rs->metric);
        cJSON_AddStringToObject(o, "direction", rs->direction == STUDY_MAXIMIZE ? "maximize" : "minimize");
        cJSON_AddItemToObject(o, "trial", trial_json(rs, b, 1));
        if (cmd)
            cJSON_AddStringToObject(o, "retrain", cmd);
        free(cmd);
        report_study_free(rs);
        return print_json(o);
    }
    printf("best trial %d of study '%s' (%s %s): %.10g\n", r->t.number, rs->name,
           rs->direction == STUDY_MAXIMIZE ? "maximize" : "minimize", rs->metric, r->t.value);
    double d = report_duration(rs, b);
    printf("budget %g", r->t.budget);
    if (!isnan(d))
        printf(", %.1f s", d);
    printf("\nparams:\n");
    for (int p = 0; p < rs->sp.n; p++) {
        char buf[300];
        space_format_value(&rs->sp, p, r->t.values[p], buf, sizeof buf);
        printf("  %s = %s\n", rs->sp.p[p].name, buf);
    }
    if (r->nattrs) {
        printf("attributes:\n");
        for (int k = 0; k < r->nattrs; k++)
            printf("  %s = %s\n", r->attrs[k].key, r->attrs[k].value);
    }
    if (cmd)
        printf("retrain: %s\n", cmd);
    if (cmd && !rs->config[0])
        printf("(the study does not store its config path: put yours in place of CONFIG)\n");
    free(cmd);
    report_study_free(rs);
    return fflush(stdout) ? term_errorf(1, "stdout: write failed") : 0;
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

static int export_csv(const report_study *rs)
{
    const char **keys;
    int nk = attr_keys(rs, &keys);
    if (nk < 0)
        return term_errorf(1, "out of memory");
    FILE *f = stdout;
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
    return fflush(f) ? term_errorf(1, "stdout: write failed") : 0;
}

static int export_json(const report_study *rs)
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
    return print_json(o);
}

int cmd_export(int argc, char **argv)
{
    args a;
    const char *study;
    int rc = parse(&a, &study, argc, argv, OPT_JSON | OPT_CSV, EXPORT_HELP);
    if (rc)
        return rc == 1 ? 0 : 2;
    if (a.json == a.csv)
        return term_errorf(2, "export: choose one format: --csv or --json");
    report_study *rs;
    if ((rc = load(&rs, &a, study)))
        return rc;
    rc = a.csv ? export_csv(rs) : export_json(rs);
    report_study_free(rs);
    return rc;
}

/* ---- report ---- */

int cmd_report(int argc, char **argv)
{
    args a;
    const char *study, *gp_param = NULL;
    /* --gp-param NAME[,NAME2] (cli/report_gp.h), taken out before parse(). */
    int n = 0;
    for (int i = 0; i < argc; i++) {
        if (i > 0 && !strcmp(argv[i], "--gp-param")) {
            if (i + 1 >= argc)
                return term_errorf(2, "--gp-param: needs a parameter name");
            gp_param = argv[++i];
        } else if (i > 0 && !strncmp(argv[i], "--gp-param=", 11)) {
            gp_param = argv[i] + 11;
        } else {
            argv[n++] = argv[i];
        }
    }
    argc = n;
    int rc = parse(&a, &study, argc, argv, OPT_OUT, REPORT_HELP);
    if (rc)
        return rc == 1 ? 0 : 2;
    if (!a.out || !a.out[0])
        return term_errorf(2, "report: needs an output folder: -o DIR");
    report_study *rs;
    if ((rc = load(&rs, &a, study)))
        return rc;
    tl_err err = {0};
    if (gp_param && report_gp_select(rs, gp_param, &err)) {
        report_study_free(rs);
        return term_error(&err, NULL);
    }
    int nfig = 0;
    rc = report_write(rs, a.out, &nfig, &err);
    report_study_free(rs);
    if (rc) {
        int st = term_error(&err, strstr(err.msg, "gnuplot") ? "install gnuplot (Debian: gnuplot-nox)" : NULL);
        return st;
    }
    printf("%s/index.html (%d figures)\n", a.out, nfig);
    return fflush(stdout) ? term_errorf(1, "stdout: write failed") : 0;
}
