/* cli/cmd_run.c: `tunelab run CONFIG [--set k=v ...] [--workers N] [--json]`
 * runs (or resumes) a tuning study: a live view while it runs, then the
 * best trial and the command that retrains it. */
#include <cjson/cJSON.h>
#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "tune/nas.h"
#include "tune/objective_train.h"
#include "tune/session.h"
#include "tune/study_setup.h"
#include "cli/term.h"
#include "hpo/cmd_objective.h"
#include "hpo/executor.h"
#include "util/timer.h"

static const char *HELP =
    "usage: tunelab run CONFIG [--set section.key=value ...] [--workers N] [--json] [--quiet]\n\n"
    "Runs the tuning study CONFIG describes: each trial takes values for the\n"
    "config keys named in [space], trains (or runs the objective) and reports\n"
    "study.metric.  The study lives in study.storage (default runs/<name>.db):\n"
    "running the same command again resumes it, keeping every finished trial.\n\n"
    "options:\n"
    "  --set KEY=VALUE  override a config key (repeatable); --set space.KEY=EXPR adds a parameter\n"
    "  --workers N      trials run in parallel (default study.workers)\n"
    "  --json           one JSON object per finished trial, then a summary object\n"
    "  --quiet          only the summary\n"
    "  -h, --help       this help\n";

typedef struct view {
    term t;
    int json, quiet;
    const space *sp;
    study *st;
    pthread_mutex_t mu;
    int finished;
    int total;
    int header_done;
    double t0;
    int running[64];
    int nrunning;
} view;

/* A parameter value as JSON: a number for floats, ints and numeric choices,
 * text for word choices and "-" (inactive). */
static void add_param_json(cJSON *o, const space *sp, int i, double v)
{
    const param *p = &sp->p[i];
    char buf[128];
    space_format_value(sp, i, v, buf, sizeof buf);
    if (isnan(v))
        cJSON_AddStringToObject(o, p->name, buf);
    else if (p->kind != PARAM_CAT)
        cJSON_AddNumberToObject(o, p->name, v);
    else if (!isnan(p->catnum[(int)v]))
        cJSON_AddNumberToObject(o, p->name, p->catnum[(int)v]);
    else
        cJSON_AddStringToObject(o, p->name, buf);
}

static void print_trial_line(view *v, const study_event *ev)
{
    trial tr;
    tl_err err;
    if (study_get_trial(v->st, ev->trial, &tr, &err))
        return;
    if (v->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "trial", tr.number);
        cJSON_AddStringToObject(o, "state", trial_state_str(tr.state));
        cJSON_AddNumberToObject(o, "value", tr.value);
        cJSON_AddNumberToObject(o, "budget", tr.budget);
        cJSON *p = cJSON_AddObjectToObject(o, "params");
        for (int i = 0; i < v->sp->n; i++)
            add_param_json(p, v->sp, i, tr.values[i]);
        if (tr.reason[0])
            cJSON_AddStringToObject(o, "reason", tr.reason);
        char *s = cJSON_PrintUnformatted(o);
        printf("%s\n", s);
        free(s);
        cJSON_Delete(o);
    } else if (!v->quiet) {
        char line[1024];
        size_t u = (size_t)snprintf(line, sizeof line, "trial %4d  %-8s  value %-11.6g budget %-5g", tr.number,
                                    trial_state_str(tr.state), tr.value, tr.budget);
        for (int i = 0; i < v->sp->n && u < sizeof line; i++) {
            char buf[128];
            space_format_value(v->sp, i, tr.values[i], buf, sizeof buf);
            u += (size_t)snprintf(line + u, sizeof line - u, " %s=%s", v->sp->p[i].name, buf);
        }
        if (tr.reason[0] && u < sizeof line)
            snprintf(line + u, sizeof line - u, "  (%s)", tr.reason);
        printf("%s\n", line);
    }
    fflush(stdout);
    trial_free(&tr);
}

static void on_event(void *ud, const study_event *ev)
{
    view *v = ud;
    pthread_mutex_lock(&v->mu);
    if (ev->kind == STUDY_EV_FINISHED) {
        term_clear(&v->t);
        /* one line per finished trial; a pause (a Hyperband rung, a PBT
         * ready point) is not an end, except in --json, which shows every step */
        if (ev->state != TRIAL_PAUSED || v->json)
            print_trial_line(v, ev);
        if (ev->state != TRIAL_PAUSED)
            v->finished++;
    }
    if (v->t.live && !v->json && !v->quiet) {
        char label[96], suffix[160];
        snprintf(label, sizeof label, "trials %d/%d", v->finished, v->total);
        if (ev->kind == STUDY_EV_REPORT)
            snprintf(suffix, sizeof suffix, "trial %d step %d value %.4g %.0fs", ev->trial, ev->step, ev->value,
                     tl_now() - v->t0);
        else
            snprintf(suffix, sizeof suffix, "%.0fs", tl_now() - v->t0);
        term_progress(&v->t, label, v->finished, v->total, suffix);
    }
    pthread_mutex_unlock(&v->mu);
}

static int run_study(const args *ap);

int cmd_run(int argc, char **argv)
{
    args a;
    int rc = args_parse(&a, argc, argv, OPT_SET | OPT_JSON | OPT_WORKERS | OPT_QUIET, HELP);
    if (!rc)
        rc = run_study(&a);
    else
        rc = rc == 1 ? 0 : 2;
    args_free(&a);
    return rc;
}

static int run_study(const args *ap)
{
    const args a = *ap;
    int rc;
    if (!a.positional)
        return term_errorf(2, "run: needs a CONFIG file; see `tunelab run --help`");
    tl_err err = {0};
    config c;
    if ((rc = args_load_config(&a, &c, &err)))
        return term_error(&err, NULL);
    space sp;
    if ((rc = study_space_from_config(&c, &sp, &err))) {
        space_free(&sp);
        return term_error(&err, NULL);
    }
    if (sp.n == 0) {
        space_free(&sp);
        return term_errorf(2, "%s: [space]: no parameters to tune (add e.g. `train.lr = loguniform(1e-4, 1e-2)`)",
                           c.source);
    }
    int kind = !strcmp(c.objective_type, "function") ? 1 : !strcmp(c.objective_type, "command") ? 2 : 0;
    if (kind && !strcmp(c.metric, "val_loss"))
        snprintf(c.metric, sizeof c.metric, "value"); /* the default metric names a training value */
    if (!strcmp(c.scheduler, "pbt") && kind == 0)
        for (int i = 0; i < sp.n; i++) {
            const char *k = sp.p[i].name;
            if ((!strncmp(k, "model.", 6) && strcmp(k, "model.dropout")) || !strcmp(k, "train.optimizer") ||
                !strcmp(k, "train.batch_size")) {
                space_free(&sp);
                return term_errorf(2, "%s: space: %s: with study.scheduler = pbt a member copies another's "
                                   "weights, so the model's shape, optimizer and batch size cannot be tuned (tune them "
                                   "with another scheduler, or fix them)", c.source, k);
            }
        }
    study_config sc;
    study_config_from(&c, &sc);
    if (kind && c.max_budget <= 0)
        sc.max_budget = 1;

    /* The objective. */
    objective obj;
    objective_train to;
    task_data d;
    memset(&d, 0, sizeof d);
    if (kind == 1)
        rc = function_objective_new(&obj, c.function, &sp, &err);
    else if (kind == 2)
        rc = cmd_objective_new(&obj, c.command, c.timeout, &err);
    else if (!(rc = task_data_load(&c, &d, &err)))
        rc = objective_train_init(&obj, &to, &c, &d, &err);
    if (rc) {
        task_data_free(&d);
        space_free(&sp);
        return term_error(&err, NULL);
    }
    /* Architecture search: constraints, duplicate reuse, second objective (cli/nas.h). */
    nas_ctx nas;
    if ((rc = nas_setup(&nas, &c, kind == 0 ? &d : NULL, &sp, &sc, &err))) {
        task_data_free(&d);
        space_free(&sp);
        return term_error(&err, NULL);
    }

    study *st = NULL;
    if ((rc = study_open(&st, &sc, &sp, &err))) {
        task_data_free(&d);
        space_free(&sp);
        return term_error(&err, rc == TL_EINPUT ? "a different study already lives in that database: change "
                                                  "study.name or study.storage, or delete the file"
                                                : NULL);
    }
    /* What `tunelab report` and `best` need to read the study back. */
    study_attr_set(st, "sampler", sc.sampler, NULL);
    study_attr_set(st, "scheduler", sc.scheduler, NULL);
    study_attr_set(st, "objective", c.objective_type, NULL);
    if (!strcmp(sc.sampler, "bayes")) {
        char num[64];
        study_attr_set(st, "acquisition", sc.acquisition, NULL);
        snprintf(num, sizeof num, "%.17g", sc.xi);
        study_attr_set(st, "xi", num, NULL);
        snprintf(num, sizeof num, "%.17g", sc.beta);
        study_attr_set(st, "beta", num, NULL);
        snprintf(num, sizeof num, "%d", sc.n_init);
        study_attr_set(st, "n_init", num, NULL);
    }
    if (c.source[0]) {
        char *abs = realpath(c.source, NULL);
        study_attr_set(st, "config", abs ? abs : c.source, NULL);
        free(abs);
    }
    int counts[TRIAL_STATE_COUNT];
    int existing = study_counts(st, counts);
    int workers = c.workers;
    omp_set_max_active_levels(1);
    if (c.threads > 0)
        omp_set_num_threads(c.threads);
    fprintf(stderr, "# tunelab %s: study '%s' in %s (%d trials there, budget %d)\n", TUNELAB_VERSION, sc.name,
            study_storage_path(st), existing, sc.trials);
    fprintf(stderr, "# sampler %s, scheduler %s, metric %s (%s), objective %s\n", sc.sampler, sc.scheduler,
            sc.metric, c.direction, c.objective_type);
    if (workers > 1)
        fprintf(stderr, "# threads: %d workers, each trial on its own thread (BLAS single-threaded inside a "
                        "worker)\n", workers);
    else
        fprintf(stderr, "# threads: 1 worker, %d OpenMP/BLAS threads per trial\n", omp_get_max_threads());
    tl_blas_info bi;
    term_blas_header(&bi);
    study_attr_set(st, "cpu", bi.cpu, NULL);
    study_attr_set(st, "blas_kernel", bi.core, NULL);
    for (int i = 0; i < sp.n; i++) {
        char e[256];
        space_describe(&sp, i, 1, e, sizeof e);
        fprintf(stderr, "# space: %s = %s\n", sp.p[i].name, e);
    }

    view v = {.json = a.json, .quiet = a.quiet, .sp = &sp, .st = st, .total = sc.trials, .t0 = tl_now()};
    if (!strcmp(sc.scheduler, "pbt") && sc.pbt_population < v.total)
        v.total = sc.pbt_population; /* PBT's members are its trials */
    term_init(&v.t);
    pthread_mutex_init(&v.mu, NULL);
    v.finished = counts[TRIAL_COMPLETE] + counts[TRIAL_PRUNED] + counts[TRIAL_FAILED];
    rc = study_optimize(st, &obj, workers, on_event, &v, &err);
    term_clear(&v.t);
    int status = 0;
    if (rc)
        status = term_error(&err, NULL);

    /* Summary. */
    study_counts(st, counts);
    int best = -1;
    double bv = NAN;
    int have = study_best(st, &best, &bv);
    trial bt;
    memset(&bt, 0, sizeof bt);
    char test_acc[64] = "";
    char cmd[4096] = "";
    if (have && !study_get_trial(st, best, &bt, &err)) {
        study_trial_attr_get(st, best, "test_accuracy", test_acc, sizeof test_acc);
        if (kind == 0 && !strcmp(sc.scheduler, "pbt"))
            /* the final values are only the last interval of PBT's schedule */
            snprintf(cmd, sizeof cmd, "tunelab pbt-replay %s", study_storage_path(st));
        else if (kind == 0) {
            char threads[16] = "";
            study_trial_attr_get(st, best, "threads", threads, sizeof threads);
            retrain_command(&c, &sp, bt.values, threads, cmd, sizeof cmd);
        }
    }
    if (a.json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "study", sc.name);
        cJSON_AddStringToObject(o, "storage", study_storage_path(st));
        cJSON_AddStringToObject(o, "metric", sc.metric);
        cJSON_AddStringToObject(o, "direction", c.direction);
        if (have) {
            cJSON_AddNumberToObject(o, "best_trial", best);
            cJSON_AddNumberToObject(o, "best_value", bv);
            cJSON *p = cJSON_AddObjectToObject(o, "best_params");
            for (int i = 0; i < sp.n; i++)
                add_param_json(p, &sp, i, bt.values[i]);
            if (test_acc[0])
                cJSON_AddNumberToObject(o, "test_accuracy", strtod(test_acc, NULL));
            if (cmd[0])
                cJSON_AddStringToObject(o, "retrain", cmd);
        } else {
            cJSON_AddNullToObject(o, "best_value");
            cJSON_AddNullToObject(o, "best_params");
        }
        int n = 0;
        for (int i = 0; i < TRIAL_STATE_COUNT; i++)
            n += counts[i];
        cJSON_AddNumberToObject(o, "n_trials", n);
        cJSON_AddNumberToObject(o, "n_complete", counts[TRIAL_COMPLETE]);
        cJSON_AddNumberToObject(o, "n_pruned", counts[TRIAL_PRUNED]);
        cJSON_AddNumberToObject(o, "n_failed", counts[TRIAL_FAILED]);
        cJSON_AddNumberToObject(o, "n_paused", counts[TRIAL_PAUSED]);
        cJSON_AddNumberToObject(o, "budget_used", study_budget_used(st));
        cJSON_AddNumberToObject(o, "seconds", tl_now() - v.t0);
        if (nas_finish(&nas, st, NULL, o, &err))
            status = term_error(&err, NULL);
        char *s = cJSON_PrintUnformatted(o);
        printf("%s\n", s);
        free(s);
        cJSON_Delete(o);
    } else {
        printf("\nstudy '%s': %d complete, %d pruned, %d failed; budget used %g\n", sc.name, counts[TRIAL_COMPLETE],
               counts[TRIAL_PRUNED], counts[TRIAL_FAILED], study_budget_used(st));
        if (have) {
            printf("best trial %d: %s = %.6g", best, sc.metric, bv);
            if (test_acc[0])
                printf(", test accuracy %.2f%%", 100 * strtod(test_acc, NULL));
            printf("\n");
            for (int i = 0; i < sp.n; i++) {
                char buf[128];
                space_format_value(&sp, i, bt.values[i], buf, sizeof buf);
                printf("  %s = %s\n", sp.p[i].name, buf);
            }
            if (cmd[0])
                printf("retrain: %s\n", cmd);
        } else {
            printf("no trial completed\n");
        }
        if (nas_finish(&nas, st, stdout, NULL, &err))
            status = term_error(&err, NULL);
    }
    trial_free(&bt);
    study_close(st);
    if (kind == 1)
        function_objective_free(&obj);
    else if (kind == 2)
        cmd_objective_free(&obj);
    task_data_free(&d);
    space_free(&sp);
    pthread_mutex_destroy(&v.mu);
    return status;
}
