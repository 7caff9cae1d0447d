/* report/report_load.c: reads a study back for show, best, export, report
 * and pbt-replay (see report/report.h), and the small questions sections
 * ask of it (attributes, ranking, durations, the retrain command).
 *
 * Does: open the database with hpo's read-only storage, take the study
 * whole with its snapshot (one read transaction), then derive the summary
 * (the algorithms from the study attributes, the best trial, counts per
 * state, budget, first start and last finish).
 * Does not: know the schema or any SQL (hpo/storage.c does), know any
 * sampler or scheduler, write the database, or print.
 */
#include "report/report.h"
#include "util/shell.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Is a better than b (both finite values) for the study's direction? */
static int better(const report_study *rs, double a, double b)
{
    return rs->direction == STUDY_MAXIMIZE ? a > b : a < b;
}

static void summarize(report_study *rs)
{
    const char *a;
    if ((a = report_study_attr(rs, "sampler")))
        snprintf(rs->sampler, sizeof rs->sampler, "%s", a);
    if ((a = report_study_attr(rs, "scheduler")))
        snprintf(rs->scheduler, sizeof rs->scheduler, "%s", a);
    if ((a = report_study_attr(rs, "config")))
        snprintf(rs->config, sizeof rs->config, "%s", a);
    if ((a = report_study_attr(rs, "objective")))
        snprintf(rs->objective, sizeof rs->objective, "%s", a);
    rs->best = -1;
    rs->first_start = rs->last_finish = NAN;
    for (int i = 0; i < rs->ntrials; i++) {
        const trial *t = &rs->trials[i].t;
        rs->counts[t->state]++;
        if (isfinite(t->budget))
            rs->budget_used += t->budget;
        if (isfinite(t->started) && !(t->started >= rs->first_start))
            rs->first_start = t->started;
        if (isfinite(t->finished) && !(t->finished <= rs->last_finish))
            rs->last_finish = t->finished;
        if (t->state == TRIAL_COMPLETE && isfinite(t->value) &&
            (rs->best < 0 || better(rs, t->value, rs->trials[rs->best].t.value)))
            rs->best = i;
    }
}

/* Moves the snapshot's study into rs (ss is left empty). */
static void take_snapshot(report_study *rs, storage_study *ss)
{
    snprintf(rs->name, sizeof rs->name, "%s", ss->name);
    rs->direction = ss->direction;
    snprintf(rs->metric, sizeof rs->metric, "%s", ss->metric);
    rs->seed = ss->seed;
    rs->created = ss->created;
    rs->sp = ss->sp;
    rs->ntrials = ss->ntrials;
    rs->trials = ss->trials;
    rs->nattrs = ss->nattrs;
    rs->attrs = ss->attrs;
    memset(ss, 0, sizeof *ss);
    space_init(&ss->sp);
}

int report_study_load(report_study **out, const char *path, const char *name, tl_err *err)
{
    *out = NULL;
    storage st;
    int rc = storage_sqlite_open_readonly(&st, path, err);
    if (rc)
        return rc;
    storage_study ss;
    rc = st.vt->snapshot(st.self, name, &ss, err);
    st.vt->close(st.self);
    if (rc)
        return rc;
    report_study *rs = calloc(1, sizeof *rs);
    if (!rs) {
        storage_study_free(&ss);
        return tl_fail(err, TL_ERUNTIME, "%s: out of memory", path);
    }
    snprintf(rs->path, sizeof rs->path, "%s", path);
    take_snapshot(rs, &ss);
    summarize(rs);
    *out = rs;
    return 0;
}

void report_study_free(report_study *rs)
{
    if (!rs)
        return;
    /* hand what came from the snapshot back to the storage's free */
    storage_study ss = { .sp = rs->sp, .ntrials = rs->ntrials, .trials = rs->trials,
                         .nattrs = rs->nattrs, .attrs = rs->attrs };
    storage_study_free(&ss);
    free(rs);
}

static const char *kv_get(const storage_attr *kv, int n, const char *key)
{
    for (int k = 0; k < n; k++)
        if (!strcmp(kv[k].key, key))
            return kv[k].value;
    return NULL;
}

const char *report_trial_attr(const report_study *rs, int i, const char *key)
{
    if (i < 0 || i >= rs->ntrials)
        return NULL;
    return kv_get(rs->trials[i].attrs, rs->trials[i].nattrs, key);
}

const char *report_study_attr(const report_study *rs, const char *key)
{
    return kv_get(rs->attrs, rs->nattrs, key);
}

int report_uses(const report_study *rs, const char *algo)
{
    return algo && algo[0] && (!strcmp(rs->sampler, algo) || !strcmp(rs->scheduler, algo));
}

int report_ranked(const report_study *rs, int *idx)
{
    int n = 0;
    for (int i = 0; i < rs->ntrials; i++) {
        const trial *t = &rs->trials[i].t;
        if (t->state != TRIAL_COMPLETE || !isfinite(t->value))
            continue;
        /* insertion sort: stable, so ties keep number order */
        int k = n++;
        while (k > 0 && better(rs, t->value, rs->trials[idx[k - 1]].t.value)) {
            idx[k] = idx[k - 1];
            k--;
        }
        idx[k] = i;
    }
    return n;
}

double report_duration(const report_study *rs, int i)
{
    const trial *t = &rs->trials[i].t;
    return isfinite(t->started) && isfinite(t->finished) ? t->finished - t->started : NAN;
}

int report_retrain_command(const report_study *rs, int i, char *buf, size_t n)
{
    size_t at = 0;
    if (n)
        buf[0] = 0;
    char prog[4096];
    tl_program_name(prog, sizeof prog);
    at = tl_shell_append(buf, n, at, prog);
    at = tl_text_append(buf, n, at, " train ");
    at = tl_shell_append(buf, n, at, rs->config[0] ? rs->config : "CONFIG");
    for (int p = 0; p < rs->sp.n; p++) {
        double v = rs->trials[i].t.values[p];
        if (isnan(v))
            continue;
        char text[300], kv[512];
        space_format_value(&rs->sp, p, v, text, sizeof text);
        snprintf(kv, sizeof kv, "%s=%s", rs->sp.p[p].name, text);
        at = tl_text_append(buf, n, at, " --set ");
        at = tl_shell_append(buf, n, at, kv);
    }
    const char *threads = report_trial_attr(rs, i, "threads");
    if (threads && threads[0] && tl_shell_plain(threads)) {
        at = tl_text_append(buf, n, at, " --set train.threads=");
        at = tl_shell_append(buf, n, at, threads);
    }
    return (int)at;
}
