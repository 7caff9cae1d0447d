/* cli/cmd_pbt.c: `tunelab pbt-replay DB`: retrains from scratch with the
 * hyperparameter schedule that produced the best PBT member, to check
 * whether the schedule alone gives its result.
 *
 * Does: read the study back (read-only, report/report.h), let tune/replay.h
 * follow the best member's weights back through every exploit and train one
 * model from scratch with those values at the same epochs, then print the
 * replay's final metric next to PBT's, the schedule, and the work both
 * took.  --plot draws the schedule (one panel per numeric parameter).  The
 * config: --config FILE, else the one stored in a member's saved state
 * (DB.states/trial-N.state, which holds the run's --set overrides too),
 * else the config file the study recorded.  Does not: write to the
 * database, run PBT.
 * Exit status: 0; 2 for usage errors, a missing database, a study that is
 * not PBT or has no complete member; 1 for runtime failures.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/term.h"
#include "report/plot.h"
#include "report/report.h"
#include "tune/config.h"
#include "tune/fit.h"
#include "tune/replay.h"

static const char *HELP =
    "usage: tunelab pbt-replay DB [--study NAME] [--config FILE] [--seed N] [--json] [--plot PNG]\n\n"
    "Retrains from scratch with the hyperparameter schedule of the best member of\n"
    "the PBT study in DB: the values in force over each stretch of epochs along\n"
    "the history of its weights (through every exploit), applied at the same\n"
    "epochs.  Prints the replay's final metric next to PBT's, and the schedule.\n\n"
    "options:\n"
    "  --study NAME     the study to read when DB holds several (default: the only one)\n"
    "  --config FILE    the training config (default: the one saved with the members'\n"
    "                   states in DB.states/, else the config file the study recorded)\n"
    "  --seed N         train.seed of the replay (default: the study's); another seed\n"
    "                   shows whether the schedule, not the initialization, made the result\n"
    "  --json           one JSON object\n"
    "  --plot PNG       draw the schedule (gnuplot)\n"
    "  -h, --help       this help\n";

typedef struct opts {
    const char *db, *study, *config, *plot;
    int json, has_seed;
    uint64_t seed;
} opts;

static int parse(opts *o, int argc, char **argv)
{
    memset(o, 0, sizeof *o);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(HELP, stdout);
            return 1;
        }
        if (!strcmp(a, "--json")) {
            o->json = 1;
            continue;
        }
        const char **slot = !strcmp(a, "--study")    ? &o->study
                            : !strcmp(a, "--config") ? &o->config
                            : !strcmp(a, "--plot")   ? &o->plot
                                                     : NULL;
        if (slot || !strcmp(a, "--seed")) {
            if (i + 1 >= argc)
                return term_errorf(2, "pbt-replay: %s needs a value", a);
            if (slot) {
                *slot = argv[++i];
                continue;
            }
            char *end;
            const char *v = argv[++i];
            unsigned long long s = strtoull(v, &end, 10);
            if (!*v || *end || *v == '-')
                return term_errorf(2, "pbt-replay: --seed: expected a whole number >= 0, got '%s'",
                                   v);
            o->seed = s;
            o->has_seed = 1;
            continue;
        }
        if (a[0] == '-' && a[1])
            return term_errorf(2, "pbt-replay: unknown option '%s'; see `tunelab pbt-replay --help`",
                               a);
        if (o->db)
            return term_errorf(2, "pbt-replay: one database only ('%s' and '%s')", o->db, a);
        o->db = a;
    }
    if (!o->db)
        return term_errorf(2, "pbt-replay: needs a study database; see `tunelab pbt-replay --help`");
    tl_err e = {0};
    if (o->plot && fit_check_output(o->plot, "--plot", &e))
        return term_error(&e, NULL);
    return 0;
}

/* Names of the parameters whose values change along the schedule. */
static int changes(const space *sp, const pbt_segment *seg, int nseg, int i)
{
    for (int k = 1; k < nseg; k++)
        if (!(seg[k].values[i] == seg[0].values[i] ||
              (isnan(seg[k].values[i]) && isnan(seg[0].values[i]))))
            return 1;
    return 0;
}

static int plot_schedule(const char *png, const report_study *rs, const pbt_segment *seg, int nseg,
                         int best, tl_err *err)
{
    const space *sp = &rs->sp;
    int idx[SPACE_MAX_PARAMS], n = 0;
    for (int i = 0; i < sp->n; i++)
        if (sp->p[i].kind != PARAM_CAT)
            idx[n++] = i;
    if (!n)
        return tl_fail(err, TL_EINPUT, "--plot: the space has no numeric parameter to draw");
    size_t cap = 4096 + (size_t)n * (size_t)(nseg + 2) * 96;
    char *s = malloc(cap);
    if (!s)
        return tl_fail(err, TL_ERUNTIME, "out of memory");
    char q[600];
    size_t u = (size_t)snprintf(s, cap, "%sset output %s\nset multiplot layout %d,1 title "
                                "'PBT schedule of trial %d (%s)'\nset key off\nset grid\n",
                                plot_png_terminal(), report_gp_quote(png, q, sizeof q), n, best,
                                rs->name);
    for (int j = 0; j < n && u < cap; j++) {
        int i = idx[j];
        u += (size_t)snprintf(s + u, cap - u, "$d%d << EOD\n", j);
        for (int k = 0; k < nseg && u < cap; k++)
            u += (size_t)snprintf(s + u, cap - u, "%d %.17g\n%d %.17g\n", seg[k].start,
                                  seg[k].values[i], seg[k].end, seg[k].values[i]);
        u += (size_t)snprintf(s + u, cap - u,
                              "EOD\n%sset ylabel %s\nset xlabel '%s'\nplot $d%d with lines lw 2\n",
                              sp->p[i].log ? "set logscale y\n" : "unset logscale y\n",
                              report_gp_quote(sp->p[i].name, q, sizeof q),
                              j == n - 1 ? "epoch" : "", j);
    }
    if (u < cap)
        snprintf(s + u, cap - u, "unset multiplot\n");
    int rc = u >= cap ? tl_fail(err, TL_ERUNTIME, "--plot: script too long") : plot_run(s, err);
    free(s);
    return rc;
}

static void print_json(const report_study *rs, const replay_plan *p, const replay_result *r, uint64_t seed)
{
    const trial *bt = &rs->trials[p->best].t;
    const char *pta = report_trial_attr(rs, p->best, "test_accuracy");
    double pbt_ta = pta ? strtod(pta, NULL) : NAN;
    const space *sp = &rs->sp;
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "study", rs->name);
    cJSON_AddStringToObject(root, "metric", rs->metric);
    cJSON_AddNumberToObject(root, "best_trial", p->best);
    cJSON_AddNumberToObject(root, "pbt_value", bt->value);
    if (isfinite(pbt_ta))
        cJSON_AddNumberToObject(root, "pbt_test_accuracy", pbt_ta);
    cJSON_AddNumberToObject(root, "replay_value", r->value);
    if (isfinite(r->test_acc))
        cJSON_AddNumberToObject(root, "replay_test_accuracy", r->test_acc);
    cJSON_AddNumberToObject(root, "replay_seed", (double)seed);
    cJSON_AddNumberToObject(root, "replay_seconds", r->seconds);
    cJSON_AddNumberToObject(root, "members", p->members);
    cJSON_AddNumberToObject(root, "pbt_member_epochs", p->work);
    cJSON_AddNumberToObject(root, "replay_epochs", p->seg[p->nseg - 1].end);
    cJSON *arr = cJSON_AddArrayToObject(root, "schedule");
    for (int k = 0; k < p->nseg; k++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddItemToArray(arr, e);
        cJSON_AddNumberToObject(e, "start", p->seg[k].start);
        cJSON_AddNumberToObject(e, "end", p->seg[k].end);
        cJSON_AddNumberToObject(e, "trial", p->seg[k].member);
        cJSON *v = cJSON_AddObjectToObject(e, "values");
        for (int i = 0; i < sp->n; i++) {
            char buf[128];
            space_format_value(sp, i, p->seg[k].values[i], buf, sizeof buf);
            if (sp->p[i].kind == PARAM_CAT || isnan(p->seg[k].values[i]))
                cJSON_AddStringToObject(v, sp->p[i].name, buf);
            else
                cJSON_AddRawToObject(v, sp->p[i].name, buf);
        }
    }
    char *txt = cJSON_PrintUnformatted(root);
    printf("%s\n", txt ? txt : "{}");
    free(txt);
    cJSON_Delete(root);
}

static void print_text(const report_study *rs, const replay_plan *p, const replay_result *r, uint64_t seed)
{
    const trial *bt = &rs->trials[p->best].t;
    const char *pta = report_trial_attr(rs, p->best, "test_accuracy");
    double pbt_ta = pta ? strtod(pta, NULL) : NAN;
    const space *sp = &rs->sp;
    const pbt_segment *seg = p->seg;
    printf("study '%s': best PBT member is trial %d; its weights' schedule (%d segments):\n", rs->name, p->best,
           p->nseg);
    for (int k = 0; k < p->nseg; k++) {
        printf("  epochs %3d-%-3d trial %-3d", seg[k].start, seg[k].end, seg[k].member);
        int shown = 0;
        for (int i = 0; i < sp->n; i++) {
            if (!changes(sp, seg, p->nseg, i) && k > 0)
                continue; /* constant along the schedule: shown on the first line */
            char buf[128];
            space_format_value(sp, i, seg[k].values[i], buf, sizeof buf);
            printf(" %s=%s", sp->p[i].name, buf);
            shown++;
        }
        printf("%s\n", shown ? "" : " (same values)");
    }
    printf("%-24s %s %-12.6g", "PBT (best member):", rs->metric, bt->value);
    if (isfinite(pbt_ta))
        printf(" test accuracy %.2f%%", 100 * pbt_ta);
    printf("  [%d members, %d member-epochs]\n", p->members, p->work);
    printf("%-24s %s %-12.6g", "replay from scratch:", rs->metric, r->value);
    if (isfinite(r->test_acc))
        printf(" test accuracy %.2f%%", 100 * r->test_acc);
    printf("  [%d epochs, train.seed %llu, %.1f s]\n", seg[p->nseg - 1].end, (unsigned long long)seed, r->seconds);
}

/* The plan, the config and the replay.  Returns 0 or a tl_code. */
static int plan_and_run(const opts *o, const report_study *rs, replay_plan *p, replay_result *r, uint64_t *seed,
                        tl_err *err)
{
    int rc = replay_plan_build(rs, p, err);
    if (rc)
        return rc;
    config c;
    char from[800];
    if ((rc = replay_config(rs, p->best, o->config, &c, from, sizeof from, err)))
        return rc;
    if (o->has_seed)
        c.seed = o->seed;
    fprintf(stderr, "# pbt-replay: study '%s' in %s, best member trial %d; config %s\n", rs->name, o->db, p->best,
            from);
    *seed = c.seed;
    if (c.threads > 0)
        omp_set_num_threads(c.threads);
    return replay_run(rs, &c, p, r, err);
}

int cmd_pbt_replay(int argc, char **argv)
{
    opts o;
    int rc = parse(&o, argc, argv);
    if (rc)
        return rc == 1 ? 0 : rc;
    tl_err err = {0};
    report_study *rs = NULL;
    if ((rc = report_study_load(&rs, o.db, o.study, &err)))
        return term_error(&err, NULL);
    replay_plan p = {0};
    replay_result r;
    uint64_t seed = 0;
    int status = 0;
    if ((rc = plan_and_run(&o, rs, &p, &r, &seed, &err))) {
        status = term_error(&err, NULL);
    } else {
        if (o.json)
            print_json(rs, &p, &r, seed);
        else
            print_text(rs, &p, &r, seed);
        fflush(stdout);
        if (o.plot && plot_schedule(o.plot, rs, p.seg, p.nseg, p.best, &err))
            status = term_error(&err, NULL);
    }
    replay_plan_free(&p);
    report_study_free(rs);
    return status;
}
