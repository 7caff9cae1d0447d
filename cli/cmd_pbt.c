/* cli/cmd_pbt.c: `tunelab pbt-replay DB`: retrains from scratch with the
 * hyperparameter schedule that produced the best PBT member, to check
 * whether the schedule alone gives its result.
 *
 * Does: read the study back (read-only, cli/report.h), follow the best
 * member's weights back through every exploit (pbt_schedule: the values in
 * force over each stretch of epochs, whichever member trained it), train
 * one model from scratch applying those values at the same epochs (the live
 * keys the training objective changes mid-run: train.lr, weight_decay,
 * momentum, beta1, beta2, eps, clip_norm, model.dropout), evaluate it, and
 * print the replay's final metric next to PBT's, the schedule, and the work
 * both took.  --plot draws the schedule (one panel per numeric parameter).
 * The config: --config FILE, else the one stored in a member's saved state
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
#include <unistd.h>

#include "cli/cli.h"
#include "tune/config.h"
#include "tune/objective_train.h"
#include "report/plot.h"
#include "report/report.h"
#include "tune/session.h"
#include "cli/term.h"
#include "hpo/pbt.h"
#include "nn/ckpt.h"
#include "util/timer.h"

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
    return 0;
}

/* The run's config, in order of preference (see the file comment).  *from
 * receives where it came from. */
static int load_config(const opts *o, const report_study *rs, int best, config *c, char *from,
                       size_t n, tl_err *err)
{
    config_defaults(c);
    if (o->config) {
        snprintf(from, n, "%s", o->config);
        return config_load(c, o->config, err);
    }
    for (int k = -1; k < rs->ntrials; k++) {
        int m = k < 0 ? best : k;
        char path[700];
        snprintf(path, sizeof path, "%s.states/trial-%d.state", rs->path, m);
        if (access(path, R_OK) != 0)
            continue;
        void *blob = NULL;
        size_t len = 0;
        ckpt_info info;
        tl_err e2 = { 0 };
        if (ckpt_peek(path, &info, &blob, &len, &e2) || !blob)
            continue;
        config_defaults(c);
        int rc = config_load_text(c, blob, strnlen(blob, len), path, &e2);
        free(blob);
        if (!rc) {
            snprintf(from, n, "%s (the run's resolved config)", path);
            return 0;
        }
    }
    if (rs->config[0] && access(rs->config, R_OK) == 0) {
        snprintf(from, n, "%s (the study's config file; --set overrides of the run are not known)",
                 rs->config);
        return config_load(c, rs->config, err);
    }
    return tl_fail(err, TL_EINPUT,
                   "%s: no config to replay with (no saved member state in %s.states/, no config "
                   "file recorded); pass --config FILE",
                   rs->path, rs->path);
}

static double metric_value(const char *metric, trainer *tr, session *s, double *test_acc,
                           double *test_loss, tl_err *err)
{
    double vl = NAN, va = NAN;
    *test_acc = *test_loss = NAN;
    if (trainer_evaluate(tr, session_val(s), &vl, &va, err))
        return NAN;
    if (session_test(s))
        trainer_evaluate(tr, session_test(s), test_loss, test_acc, err);
    if (!strcmp(metric, "val_accuracy"))
        return va;
    if (!strcmp(metric, "val_perplexity"))
        return exp(vl);
    if (!strcmp(metric, "test_accuracy"))
        return *test_acc;
    if (!strcmp(metric, "train_loss"))
        return tr->nhist ? tr->hist[tr->nhist - 1].train_loss : NAN;
    return vl;
}

/* Trains the schedule from scratch.  Fills *value, test metrics and the
 * seconds it took.  Returns 0 or a tl_code. */
static int replay(const report_study *rs, config *c, const pbt_segment *seg, int nseg,
                  double *value, double *test_acc, double *test_loss, double *seconds, tl_err *err)
{
    int rc;
    const space *sp = &rs->sp;
    c->epochs = seg[nseg - 1].end;
    if ((rc = config_apply_values(c, sp, seg[0].values, "pbt-replay", err)))
        return rc;
    if (c->threads > 0)
        omp_set_num_threads(c->threads);
    task_data d;
    memset(&d, 0, sizeof d);
    if ((rc = task_data_load(c, &d, err)))
        return rc;
    session s;
    memset(&s, 0, sizeof s);
    if ((rc = session_new(&s, c, &d, err))) {
        task_data_free(&d);
        return rc;
    }
    double t0 = tl_now();
    for (int k = 0; k < nseg && !rc; k++) {
        if (k > 0) {
            config next = *c;
            if ((rc = config_apply_values(&next, sp, seg[k].values, "pbt-replay", err)))
                break;
            session_apply_live(&s, c, &next);
            *c = next;
        }
        rc = trainer_run(&s.tr, session_train(&s), session_val(&s), seg[k].end, NULL, NULL, err);
        if (!rc && s.tr.status == TRAIN_DIVERGED)
            rc = tl_fail(err, TL_ERUNTIME, "the replay diverged at epoch %d: %s", s.tr.epoch,
                         s.tr.reason);
    }
    *seconds = tl_now() - t0;
    if (!rc) {
        *value = metric_value(rs->metric, &s.tr, &s, test_acc, test_loss, err);
        if (isnan(*value) && err && err->code)
            rc = err->code;
    }
    session_free(&s);
    task_data_free(&d);
    return rc;
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

int cmd_pbt_replay(int argc, char **argv)
{
    opts o;
    int rc = parse(&o, argc, argv);
    if (rc)
        return rc == 1 ? 0 : rc;
    tl_err err = { 0 };
    report_study *rs = NULL;
    if ((rc = report_study_load(&rs, o.db, o.study, &err)))
        return term_error(&err, NULL);
    int n = rs->ntrials, status = 0;
    pbt_lineage *L = calloc((size_t)(n ? n : 1), sizeof *L);
    pbt_segment *seg = NULL;
    int nseg = 0, have = 0;
    if (!L) {
        report_study_free(rs);
        return term_errorf(1, "out of memory");
    }
    for (int k = 0; k < n && !rc; k++) {
        const char *json = report_trial_attr(rs, k, PBT_ATTR_LINEAGE);
        if (!json)
            continue;
        have++;
        if ((rc = pbt_lineage_parse(&rs->sp, json, &L[k], &err)))
            tl_prefix(&err, "%s: trial %d", o.db, k);
    }
    int best = rs->best;
    if (!rc && !have)
        rc = tl_fail(&err, TL_EINPUT, "%s: study '%s' has no PBT lineage (was it run with "
                     "study.scheduler = pbt?)", o.db, rs->name);
    if (!rc && (best < 0 || L[best].n == 0))
        rc = tl_fail(&err, TL_EINPUT, "%s: study '%s': no PBT member has completed yet", o.db,
                     rs->name);
    if (!rc && (rc = pbt_schedule(L, n, best, 0, &seg, &nseg, &err)))
        tl_prefix(&err, "%s", o.db);
    if (rc) {
        status = term_error(&err, NULL);
        goto out;
    }
    int work = 0, members = 0;
    for (int k = 0; k < n; k++)
        if (L[k].n) {
            members++;
            work += pbt_member_work(&L[k], trial_last_step(&rs->trials[k].t));
        }
    config c;
    char from[800];
    if ((rc = load_config(&o, rs, best, &c, from, sizeof from, &err))) {
        status = term_error(&err, NULL);
        goto out;
    }
    if (o.has_seed)
        c.seed = o.seed;
    fprintf(stderr, "# pbt-replay: study '%s' in %s, best member trial %d; config %s\n", rs->name,
            o.db, best, from);
    double value = NAN, ta = NAN, tloss = NAN, secs = 0;
    uint64_t seed = c.seed;
    if ((rc = replay(rs, &c, seg, nseg, &value, &ta, &tloss, &secs, &err))) {
        status = term_error(&err, NULL);
        goto out;
    }
    const trial *bt = &rs->trials[best].t;
    const char *pta = report_trial_attr(rs, best, "test_accuracy");
    double pbt_ta = pta ? strtod(pta, NULL) : NAN;
    const space *sp = &rs->sp;
    if (o.json) {
        cJSON *root = cJSON_CreateObject();
        cJSON_AddStringToObject(root, "study", rs->name);
        cJSON_AddStringToObject(root, "metric", rs->metric);
        cJSON_AddNumberToObject(root, "best_trial", best);
        cJSON_AddNumberToObject(root, "pbt_value", bt->value);
        if (isfinite(pbt_ta))
            cJSON_AddNumberToObject(root, "pbt_test_accuracy", pbt_ta);
        cJSON_AddNumberToObject(root, "replay_value", value);
        if (isfinite(ta))
            cJSON_AddNumberToObject(root, "replay_test_accuracy", ta);
        cJSON_AddNumberToObject(root, "replay_seed", (double)seed);
        cJSON_AddNumberToObject(root, "replay_seconds", secs);
        cJSON_AddNumberToObject(root, "members", members);
        cJSON_AddNumberToObject(root, "pbt_member_epochs", work);
        cJSON_AddNumberToObject(root, "replay_epochs", seg[nseg - 1].end);
        cJSON *arr = cJSON_AddArrayToObject(root, "schedule");
        for (int k = 0; k < nseg; k++) {
            cJSON *e = cJSON_CreateObject();
            cJSON_AddItemToArray(arr, e);
            cJSON_AddNumberToObject(e, "start", seg[k].start);
            cJSON_AddNumberToObject(e, "end", seg[k].end);
            cJSON_AddNumberToObject(e, "trial", seg[k].member);
            cJSON *v = cJSON_AddObjectToObject(e, "values");
            for (int i = 0; i < sp->n; i++) {
                char buf[128];
                space_format_value(sp, i, seg[k].values[i], buf, sizeof buf);
                if (sp->p[i].kind == PARAM_CAT || isnan(seg[k].values[i]))
                    cJSON_AddStringToObject(v, sp->p[i].name, buf);
                else
                    cJSON_AddRawToObject(v, sp->p[i].name, buf);
            }
        }
        char *txt = cJSON_PrintUnformatted(root);
        printf("%s\n", txt ? txt : "{}");
        free(txt);
        cJSON_Delete(root);
    } else {
        printf("study '%s': best PBT member is trial %d; its weights' schedule (%d segments):\n",
               rs->name, best, nseg);
        for (int k = 0; k < nseg; k++) {
            printf("  epochs %3d-%-3d trial %-3d", seg[k].start, seg[k].end, seg[k].member);
            int shown = 0;
            for (int i = 0; i < sp->n; i++) {
                if (!changes(sp, seg, nseg, i) && k > 0)
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
        printf("  [%d members, %d member-epochs]\n", members, work);
        printf("%-24s %s %-12.6g", "replay from scratch:", rs->metric, value);
        if (isfinite(ta))
            printf(" test accuracy %.2f%%", 100 * ta);
        printf("  [%d epochs, train.seed %llu, %.1f s]\n", seg[nseg - 1].end,
               (unsigned long long)seed, secs);
    }
    fflush(stdout);
    if (o.plot && (rc = plot_schedule(o.plot, rs, seg, nseg, best, &err)))
        status = term_error(&err, NULL);
out:
    for (int k = 0; k < n; k++)
        pbt_lineage_free(&L[k]);
    free(L);
    free(seg);
    report_study_free(rs);
    return status;
}
