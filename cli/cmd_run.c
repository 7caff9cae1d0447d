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
#include "cli/run_view.h"
#include "cli/term.h"
#include "tune/nas.h"
#include "tune/study_mpi.h"
#include "tune/study_definition.h"
#include "tune/study_setup.h"
#include "util/shell.h"
#include "util/timer.h"

static const char *HELP =
    "usage: tunelab run CONFIG [--set section.key=value ...] [--workers N] [--json] [--quiet]\n"
    "                          [--continue-changed]\n\n"
    "Runs the tuning study CONFIG describes: each trial takes values for the\n"
    "config keys named in [space], trains (or runs the objective) and reports\n"
    "study.metric.  The study lives in study.storage (default runs/<name>.db):\n"
    "running the same command again resumes it, keeping every finished trial.\n"
    "A study remembers its definition (space, sampler, scheduler and their\n"
    "options, objective, metric): a run whose config differs stops and shows\n"
    "the difference; start a new study with --set study.name=NEW.\n\n"
    "options:\n"
    "  --set KEY=VALUE  override a config key (repeatable); --set space.KEY=EXPR adds a parameter\n"
    "  --workers N      trials run in parallel (default study.workers; under mpirun at most the worker ranks)\n"
    "  --json           one JSON object per finished trial, then a summary object\n"
    "  --quiet          only the summary\n"
    "  --continue-changed  continue a study whose definition differs from this config's\n"
    "  --verbose        print every key of the resolved configuration in the header\n"
    "  -h, --help       this help\n";

typedef struct view {
    term t;
    int json, quiet;
    const space *sp;
    study *st;
    pthread_mutex_t mu;
    double t0;
    run_view rv;            /* where the study stands (cli/run_view.h) */
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
    char rank[16] = "", ranks[512] = "";
    study_trial_attr_get(v->st, ev->trial, "rank", rank, sizeof rank);
    study_trial_attr_get(v->st, ev->trial, "ranks", ranks, sizeof ranks);
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
        if (rank[0]) /* MPI: where it ran, then every rank it ran on */
            cJSON_AddNumberToObject(o, "rank", strtol(rank, NULL, 10));
        if (ranks[0])
            cJSON_AddStringToObject(o, "ranks", ranks);
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
        if (rank[0] && u < sizeof line)
            u += (size_t)snprintf(line + u, sizeof line - u, "  [rank %s]", rank);
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
    }
    char rank[16] = "";
    if (ev->kind == STUDY_EV_REPORT && tune_mpi_size() > 1 && /* MPI: which rank runs it (set once it started) */
        study_trial_attr_get(v->st, ev->trial, "rank", rank, sizeof rank) == 1)
        run_view_note_rank(&v->rv, ev->trial, (int)strtol(rank, NULL, 10));
    run_view_event(&v->rv, ev, v->json || v->quiet);
    pthread_mutex_unlock(&v->mu);
}

/* Everything one run holds; run_close releases whatever was built. */
typedef struct run {
    config c;
    space sp;
    study_config sc;
    tune_algo_options opts;    /* the algorithms' options sc points into */
    tune_objective obj;
    nas_ctx nas;
    study *st;
    char *def_now;             /* this config's study definition (tune/study_definition.h) */
    int def_store;             /* store def_now once the study is open */
} run;

/* The best trial, for the summary. */
typedef struct best_info {
    int have, number;
    double value;
    trial t;
    char test_acc[64];
    char cmd[4096];            /* how to retrain it ("" when there is no way) */
} best_info;

/* 1 if a study_open error says the file is not a database or is damaged
 * (SQLite's SQLITE_NOTADB and SQLITE_CORRUPT texts): the user's file is
 * wrong, not the run. */
static int is_damaged_db(const tl_err *err)
{
    return strstr(err->msg, "not a database") || strstr(err->msg, "malformed") ||
           strstr(err->msg, "not a tunelab study database");
}

/* The study's remembered definition against this config's, read before
 * the study is opened for writing (opening stores the sampler's
 * settings): a difference stops the run (TL_EINPUT showing it, with a hint)
 * unless --continue-changed.  Sets r->def_store when the definition is to
 * be stored (first run, an old study without one, or a change continued).
 * Returns 0 or a tl_code with *err filled. */
static int check_definition(run *r, const args *a, tl_err *err, const char **hint)
{
    r->def_now = tune_study_definition(&r->c, &r->sp);
    if (!r->def_now)
        return tl_fail(err, TL_ERUNTIME, "run: out of memory");
    char *stored = tune_stored_definition(r->sc.storage, r->sc.name);
    char diff[4096];
    int rc = 0;
    r->def_store = !stored;
    if (stored && tune_definition_diff(stored, r->def_now, diff, sizeof diff) > 0) {
        size_t n = strlen(diff);
        if (n && diff[n - 1] == '\n')
            diff[n - 1] = 0;
        if (!a->continue_changed) {
            rc = tl_fail(err, TL_EINPUT, "%s: study '%s' was defined differently:\n%s", r->c.source, r->sc.name,
                         diff);
            *hint = "start a new study with --set study.name=NEW (or another study.storage), or pass "
                    "--continue-changed to continue this one with the new definition";
        } else {
            fprintf(stderr, "# study '%s': definition changed (--continue-changed):\n%s\n", r->sc.name, diff);
            r->def_store = 1;
        }
    }
    free(stored);
    return rc;
}

/* Once the study is open: stores the definition when check_definition
 * said so; a storage that could not be read before opening (not a plain
 * file) is compared now.  Returns 0 or a tl_code with *err filled. */
static int store_definition(run *r, const args *a, tl_err *err)
{
    if (!r->def_store)
        return 0;
    char *stored = calloc(1, 65536), diff[4096];
    if (!stored)
        return tl_fail(err, TL_ERUNTIME, "run: out of memory");
    int later = study_attr_get(r->st, "definition", stored, 65536) == 1 && !a->continue_changed &&
                tune_definition_diff(stored, r->def_now, diff, sizeof diff) > 0;
    free(stored);
    if (later)
        return tl_fail(err, TL_EINPUT, "%s: study '%s' was defined differently:\n%s", r->c.source, r->sc.name,
                       diff);
    return study_attr_set(r->st, "definition", r->def_now, err);
}

/* Loads the config and its space, checks the study settings (the
 * algorithms' validate hooks), builds the objective and the architecture
 * search's callbacks, and opens the study (not when open_study is 0: an
 * MPI worker rank).  Returns 0, or a tl_code with *err and *hint (NULL
 * when none) filled, printing nothing. */
static int run_open(run *r, const args *a, int open_study, tl_err *err, const char **hint)
{
    int rc;
    *hint = NULL;
    if ((rc = args_load_config(a, &r->c, err)) || (rc = tune_space_from_config(&r->c, &r->sp, err)))
        return rc;
    if ((rc = tune_mpi_trial_ranks(&r->c, err))) /* under mpirun: trials at a time = worker ranks */
        return rc;
    if (r->sp.n == 0)
        return tl_fail(err, TL_EINPUT,
                       "%s: [space]: no parameters to tune (add e.g. `train.lr = loguniform(1e-4, 1e-2)`)",
                       r->c.source);
    tune_study_config(&r->c, &r->sc, &r->opts);
    if ((rc = study_validate(&r->sc, &r->sp, err)))
        return tl_prefix(err, "%s", r->c.source);
    /* Architecture search (tune/nas.h): constraints, duplicate reuse, second objective. */
    if ((rc = tune_objective_open(&r->obj, &r->c, &r->sp, err)) ||
        (rc = nas_setup(&r->nas, &r->c, r->obj.kind == TUNE_OBJECTIVE_TRAIN ? &r->obj.data : NULL, &r->sp,
                        &r->sc, err)))
        return rc;
    if (!open_study)
        return 0;
    if ((rc = check_definition(r, a, err, hint)))
        return rc;
    if ((rc = study_open(&r->st, &r->sc, &r->sp, err))) {
        if (is_damaged_db(err)) {
            err->code = rc = TL_EINPUT; /* bad input, as `tunelab show` says of the same file */
            *hint = "study.storage names a file that is not a (readable) tunelab study database: choose another "
                    "study.storage, or move the file away";
        } else if (rc == TL_EINPUT) {
            *hint = "a different study already lives in that database: change study.name or study.storage, or "
                    "delete the file";
        }
        return rc;
    }
    if ((rc = store_definition(r, a, err)))
        return rc;
    /* What `tunelab report` and `best` need to read the study back (the
     * sampler stores its own settings). */
    study_attr_set(r->st, "sampler", r->sc.sampler, NULL);
    study_attr_set(r->st, "scheduler", r->sc.scheduler, NULL);
    study_attr_set(r->st, "objective", r->c.objective_type, NULL);
    if (r->c.source[0]) {
        char *abs = realpath(r->c.source, NULL);
        study_attr_set(r->st, "config", abs ? abs : r->c.source, NULL);
        free(abs);
    }
    return 0;
}

static void run_close(run *r)
{
    free(r->def_now);
    study_close(r->st);
    tune_objective_close(&r->obj);
    space_free(&r->sp);
}

/* study.workers = auto: times both layouts (tune_workers_auto), sets
 * r->c.workers and prints what it chose and why.  A probe that fails
 * (memory) leaves 1 worker and says so. */
static void workers_auto(run *r)
{
    tune_layout L;
    tl_err err = {0};
    int cores = omp_get_max_threads();
    if (tune_workers_auto(&r->obj, &r->c, &r->sp, cores, &L, &err)) {
        fprintf(stderr, "# workers auto: probe failed (%s): 1 worker\n", err.msg);
        r->c.workers = r->sc.workers = 1;
        return;
    }
    r->c.workers = r->sc.workers = L.workers;
    if (!L.measured) {
        fprintf(stderr, "# workers auto: %d worker%s x %d thread%s (%s)\n", L.workers, L.workers > 1 ? "s" : "",
                L.threads, L.threads > 1 ? "s" : "", L.why);
        return;
    }
    char batches[64];
    if (L.nbatch == 2)
        snprintf(batches, sizeof batches, "batch %d and %d", L.batch[0], L.batch[1]);
    else
        snprintf(batches, sizeof batches, "batch %d", L.batch[0]);
    char steps[48];
    if (L.steps > 0)
        snprintf(steps, sizeof steps, "%d steps", L.steps);
    else /* the warm-up alone: the model is slow (tune/study_setup.h) */
        snprintf(steps, sizeof steps, "3 warm-up steps");
    fprintf(stderr, "# workers auto: %d worker%s x %d thread%s: measured 1 worker x %d threads %.0f samples/s, "
                    "%d workers x 1 thread %.0f samples/s (%s at %s, %.2f s)\n",
            L.workers, L.workers > 1 ? "s" : "", L.threads, L.threads > 1 ? "s" : "", L.cores, L.rate_one,
            L.cores, L.rate_many, steps, batches, L.seconds);
}

/* Sets the threads, prints the run's header to stderr and stores the
 * machine's CPU and BLAS kernels as study attributes. */
static void run_header(run *r, int existing)
{
    omp_set_max_active_levels(1);
    if (r->c.threads > 0)
        omp_set_num_threads(r->c.threads);
    fprintf(stderr, "# tunelab %s: study '%s' in %s (%d trials there, budget %d)\n", TUNELAB_VERSION, r->sc.name,
            study_storage_path(r->st), existing, r->sc.trials);
    fprintf(stderr, "# sampler %s, scheduler %s, metric %s (%s), objective %s\n", r->sc.sampler, r->sc.scheduler,
            r->sc.metric, r->c.direction, r->c.objective_type);
    if (tune_mpi_size() <= 1 && r->c.workers == 0)
        workers_auto(r);
    if (tune_mpi_size() > 1) {
        int w = r->c.workers, idle = tune_mpi_size() - 1 - w;
        fprintf(stderr, "# MPI: %d ranks: rank 0 runs the study, %d worker rank%s run%s trials, one at a time "
                        "each (%d at a time)", tune_mpi_size(), w, w > 1 ? "s" : "", w > 1 ? "" : "s", w);
        if (idle == 1)
            fprintf(stderr, "; rank %d idle (study.workers = %d)", w + 1, w);
        else if (idle > 1)
            fprintf(stderr, "; ranks %d-%d idle (study.workers = %d)", w + 1, tune_mpi_size() - 1, w);
        fprintf(stderr, "\n# MPI hosts: %s\n", tune_mpi_layout());
    }
    else if (r->c.workers > 1)
        fprintf(stderr, "# threads: %d workers, each trial on its own thread (BLAS single-threaded inside a "
                        "worker)\n", r->c.workers);
    else
        fprintf(stderr, "# threads: 1 worker, %d OpenMP/BLAS threads per trial\n", omp_get_max_threads());
    tl_blas_info bi;
    term_blas_header(&bi);
    study_attr_set(r->st, "cpu", bi.cpu, NULL);
    study_attr_set(r->st, "blas_kernel", bi.core, NULL);
    for (int i = 0; i < r->sp.n; i++) {
        char e[256];
        space_describe(&r->sp, i, 1, e, sizeof e);
        fprintf(stderr, "# space: %s = %s\n", r->sp.p[i].name, e);
    }
}

/* Fills *b with the study's best trial and how to retrain it. */
static void best_find(run *r, best_info *b)
{
    tl_err err;
    memset(b, 0, sizeof *b);
    b->number = -1;
    b->value = NAN;
    b->have = study_best(r->st, &b->number, &b->value);
    if (!b->have || study_get_trial(r->st, b->number, &b->t, &err))
        return;
    study_trial_attr_get(r->st, b->number, "test_accuracy", b->test_acc, sizeof b->test_acc);
    if (r->obj.kind != TUNE_OBJECTIVE_TRAIN)
        return;
    if (!strcmp(r->sc.scheduler, "pbt")) {
        /* the final values are only the last interval of PBT's schedule */
        char prog[4096];
        tl_program_name(prog, sizeof prog);
        size_t at = tl_shell_append(b->cmd, sizeof b->cmd, 0, prog);
        at = tl_text_append(b->cmd, sizeof b->cmd, at, " pbt-replay ");
        tl_shell_append(b->cmd, sizeof b->cmd, at, study_storage_path(r->st));
    } else {
        char threads[16] = "";
        study_trial_attr_get(r->st, b->number, "threads", threads, sizeof threads);
        tune_retrain_command(&r->c, &r->sp, b->t.values, threads, b->cmd, sizeof b->cmd);
    }
}

/* The summary as one JSON object on stdout.  Returns 0 or the exit status. */
static int summary_json(run *r, const best_info *b, const int *counts, double seconds)
{
    int status = 0;
    tl_err err;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "study", r->sc.name);
    cJSON_AddStringToObject(o, "storage", study_storage_path(r->st));
    cJSON_AddStringToObject(o, "metric", r->sc.metric);
    cJSON_AddStringToObject(o, "direction", r->c.direction);
    if (b->have) {
        cJSON_AddNumberToObject(o, "best_trial", b->number);
        cJSON_AddNumberToObject(o, "best_value", b->value);
        cJSON *p = cJSON_AddObjectToObject(o, "best_params");
        for (int i = 0; i < r->sp.n; i++)
            add_param_json(p, &r->sp, i, b->t.values[i]);
        if (b->test_acc[0])
            cJSON_AddNumberToObject(o, "test_accuracy", strtod(b->test_acc, NULL));
        if (b->cmd[0])
            cJSON_AddStringToObject(o, "retrain", b->cmd);
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
    cJSON_AddNumberToObject(o, "budget_used", study_budget_used(r->st));
    cJSON_AddNumberToObject(o, "seconds", seconds);
    if (nas_finish(&r->nas, r->st, NULL, o, &err))
        status = term_error(&err, NULL);
    char *s = cJSON_PrintUnformatted(o);
    printf("%s\n", s);
    free(s);
    cJSON_Delete(o);
    return status;
}

/* The summary as text on stdout.  Returns 0 or the exit status. */
static int summary_text(run *r, const best_info *b, const int *counts)
{
    tl_err err;
    printf("\nstudy '%s': %d complete, %d pruned, %d failed; budget used %g\n", r->sc.name, counts[TRIAL_COMPLETE],
           counts[TRIAL_PRUNED], counts[TRIAL_FAILED], study_budget_used(r->st));
    if (b->have) {
        printf("best trial %d: %s = %.6g", b->number, r->sc.metric, b->value);
        if (b->test_acc[0])
            printf(", test accuracy %.2f%%", 100 * strtod(b->test_acc, NULL));
        printf("\n");
        for (int i = 0; i < r->sp.n; i++) {
            char buf[128];
            space_format_value(&r->sp, i, b->t.values[i], buf, sizeof buf);
            printf("  %s = %s\n", r->sp.p[i].name, buf);
        }
        if (b->cmd[0])
            printf("retrain: %s\n", b->cmd);
    } else {
        printf("no trial completed\n");
    }
    return nas_finish(&r->nas, r->st, stdout, NULL, &err) ? term_error(&err, NULL) : 0;
}

/* Runs the study with a live view, then prints the summary.  Returns the
 * exit status: the summary's error if any, else the run's. */
static int run_optimize(run *r, const args *a)
{
    tl_err err = {0};
    int counts[TRIAL_STATE_COUNT];
    int existing = study_counts(r->st, counts);
    run_header(r, existing);
    if (a->verbose && !a->json) {
        char *ini = config_to_string(&r->c);
        for (const char *l = ini, *nl; l && *l; l = nl ? nl + 1 : NULL) {
            nl = strchr(l, '\n');
            int n = nl ? (int)(nl - l) : (int)strlen(l);
            if (n)
                fprintf(stderr, "#   %.*s\n", n, l);
        }
        free(ini);
    }
    view v = {.json = a->json, .quiet = a->quiet, .sp = &r->sp, .st = r->st, .t0 = tl_now()};
    int total = r->sc.trials;
    if (!strcmp(r->sc.scheduler, "pbt") && r->opts.pbt.population < total)
        total = r->opts.pbt.population; /* PBT's members are its trials */
    term_init(&v.t);
    pthread_mutex_init(&v.mu, NULL);
    run_view_init(&v.rv, &v.t, total, r->sc.max_budget, r->sc.direction == STUDY_MAXIMIZE,
                  counts[TRIAL_COMPLETE] + counts[TRIAL_PRUNED] + counts[TRIAL_FAILED]);
    int status = 0;
    if (tune_objective_optimize(&r->obj, r->st, r->c.workers, on_event, &v, &err))
        status = term_error(&err, NULL);
    term_clear(&v.t);

    study_counts(r->st, counts);
    best_info b;
    best_find(r, &b);
    int s2 = a->json ? summary_json(r, &b, counts, tl_now() - v.t0) : summary_text(r, &b, counts);
    trial_free(&b.t);
    pthread_mutex_destroy(&v.mu);
    return s2 ? s2 : status;
}

static int run_study(const args *a)
{
    if (!a->positional)
        return term_errorf(2, "run: needs a CONFIG file; see `tunelab run --help`");
    run *r = calloc(1, sizeof *r);
    if (!r)
        return term_errorf(1, "run: out of memory");
    tl_err err = {0};
    const char *hint = NULL;
    int rank = tune_mpi_rank(), status;
    int rc = run_open(r, a, rank == 0, &err, &hint);
    if (tune_mpi_size() > 1) {
        /* every rank set up, with the same binary and config, or all stop */
        tl_err verdict = {0};
        if (tune_mpi_agree(rc, err.msg, rc ? NULL : &r->c, &verdict))
            status = rank == 0 ? term_error(&verdict, hint) : 2;
        else if (rank > 0)
            status = tune_objective_serve(&r->obj, &r->c, &r->sc, &r->sp, &err) ? term_error(&err, NULL) : 0;
        else
            status = run_optimize(r, a);
    } else {
        status = rc ? term_error(&err, hint) : run_optimize(r, a);
    }
    run_close(r);
    free(r);
    return status;
}

int cmd_run(int argc, char **argv)
{
    args a;
    int rc = args_parse(&a, argc, argv, OPT_SET | OPT_JSON | OPT_WORKERS | OPT_QUIET | OPT_CONTINUE_CHANGED | OPT_VERBOSE,
                        HELP);
    if (!rc)
        rc = run_study(&a);
    else
        rc = rc == 1 ? 0 : 2;
    args_free(&a);
    return rc;
}
