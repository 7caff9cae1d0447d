/* cli/cmd_compare.c: `tunelab compare CONFIG --methods LIST --budget B
 * [--seeds K] [--unit epochs|seconds|trials] [-o DIR] [--json]`: tuning
 * methods at equal budget over seeds (tune/compare.h runs them), compared
 * by report/report_compare.h: a table (or --json), PNG figures and an HTML
 * page in DIR.  Parses, calls, prints.  Exit status: 0; 2 for usage and
 * input errors (an unknown method, a method that cannot run on the space,
 * a budget too small for one trial, a DIR made with another config); 1 for
 * runtime failures.
 */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/term.h"
#include "report/report_compare.h"
#include "tune/compare.h"

static const char *HELP =
    "usage: tunelab compare CONFIG --methods LIST --budget B [--seeds K] [--unit epochs|seconds|trials]\n"
    "                       [--grid-points N] [-o DIR] [--json] [--set key=value ...] [--quiet]\n\n"
    "Runs each method of LIST on CONFIG's [space] at the same budget for K seeds\n"
    "(study seeds study.seed + 0..K-1), each method x seed its own study in DIR,\n"
    "one worker each, and compares them: the best value so far at 25, 50 and 100%\n"
    "of the budget (median, interquartile range and mean rank over seeds), the test\n"
    "accuracy of each method's final pick (its trial's own record), and a pairwise\n"
    "win-rate matrix with an exact two-sided Mann-Whitney U test over seeds.  A\n"
    "rerun resumes: finished runs are not redone.\n\n"
    "methods: random, sobol, grid, bayes, tpe, cmaes (sampler, no pruning); median\n"
    "(random + median pruning); sha, hyperband, asha (random + the scheduler); bohb\n"
    "(bayes + hyperband); pbt; evolution (architecture spaces only).\n\n"
    "options:\n"
    "  --methods LIST     comma-separated methods (required)\n"
    "  --budget B         each run's budget in --unit (required)\n"
    "  --unit U           epochs (default: epochs trained, pruned and paused trials\n"
    "                     included; a trial running when it is used up is cut there),\n"
    "                     seconds (wall), or trials\n"
    "  --seeds K          seeds per method (default 5)\n"
    "  --grid-points N    grid: points per continuous range (without it grid refuses them)\n"
    "  -o DIR             the folder of the runs and the pages (default runs/compare-NAME)\n"
    "  --json             print every number as one JSON object instead of the table\n"
    "  --set key=value    override a config key (repeatable)\n"
    "  --quiet            no progress lines on stderr\n"
    "  -h, --help         this help\n\n"
    "DIR holds compare.def, METHOD-sK.db, .log and .lock per run, compare.json,\n"
    "index.html, compare_epochs.png and compare_seconds.png.  Compares may share DIR:\n"
    "one that reaches a run another is running (its .lock) goes on to its next runs,\n"
    "then comes back and waits for it, so that they split the runs between them.\n";

typedef struct prog {
    int quiet;
    int reports;
} prog;

static void on_progress(void *ud, const char *method, int k, int skipped, const study_event *ev)
{
    prog *p = ud;
    if (p->quiet)
        return;
    if (!ev) {
        fprintf(stderr, "# %s seed %d: %s\n", method, k,
                skipped == 3   ? "another compare is running it; coming back to it after the others"
                : skipped == 2 ? "another compare is running it; waiting"
                : skipped      ? "finished before, kept"
                             : "running");
        p->reports = 0;
    } else if (ev->kind == STUDY_EV_FINISHED) {
        fprintf(stderr, "#   %s seed %d: trial %d %s, value %.6g\n", method, k, ev->trial,
                trial_state_str(ev->state), ev->value);
    }
}

/* Takes `--name VALUE` / `--name=VALUE` at argv[*i] into *val. */
static int take(int argc, char **argv, int *i, const char *name, const char **val)
{
    size_t n = strlen(name);
    if (!strcmp(argv[*i], name) && *i + 1 < argc) {
        *val = argv[++*i];
        return 1;
    }
    if (!strncmp(argv[*i], name, n) && argv[*i][n] == '=') {
        *val = argv[*i] + n + 1;
        return 1;
    }
    return 0;
}

static int parse_number(const char *opt, const char *text, double *out)
{
    char *end;
    double v = strtod(text, &end);
    if (end == text || *end || !isfinite(v))
        return term_errorf(2, "compare: %s: not a number: '%s'", opt, text);
    *out = v;
    return 0;
}

int cmd_compare(int argc, char **argv)
{
    const char *methods = NULL, *budget = NULL, *seeds = NULL, *unit = NULL, *gridp = NULL;
    char **rest = malloc((size_t)(argc + 1) * sizeof *rest);
    if (!rest)
        return term_errorf(2, "out of memory");
    int n = 0;
    for (int i = 0; i < argc; i++) {
        if (i > 0 && (take(argc, argv, &i, "--methods", &methods) || take(argc, argv, &i, "--budget", &budget) ||
                      take(argc, argv, &i, "--seeds", &seeds) || take(argc, argv, &i, "--unit", &unit) ||
                      take(argc, argv, &i, "--grid-points", &gridp)))
            continue;
        rest[n++] = argv[i];
    }
    rest[n] = NULL;
    args a;
    int rc = args_parse(&a, n, rest, OPT_SET | OPT_JSON | OPT_OUT | OPT_QUIET, HELP);
    if (rc) {
        free(rest);
        args_free(&a);
        return rc == 1 ? 0 : 2;
    }
    compare_opts o;
    memset(&o, 0, sizeof o);
    o.nseeds = 5;
    o.unit = CMP_EPOCHS;
    tl_err err = {0};
    double v = 0;
    config c;
    cmp_input in;
    cmp_stats st;
    memset(&in, 0, sizeof in);
    memset(&st, 0, sizeof st);
    if (!a.positional) {
        rc = term_errorf(2, "compare: needs a CONFIG; see `tunelab compare --help`");
        goto out;
    }
    if (!methods || !budget) {
        rc = term_errorf(2, "compare: %s is required; see `tunelab compare --help`", !methods ? "--methods" : "--budget");
        goto out;
    }
    if (compare_parse_methods(&o, methods, &err)) {
        rc = term_error(&err, NULL);
        goto out;
    }
    if ((rc = parse_number("--budget", budget, &o.budget)))
        goto out;
    if (seeds) {
        if ((rc = parse_number("--seeds", seeds, &v)))
            goto out;
        if (v < 1 || v > 256 || v != floor(v)) {
            rc = term_errorf(2, "compare: --seeds: a whole number from 1 to 256, got '%s'", seeds);
            goto out;
        }
        o.nseeds = (int)v;
    }
    if (unit && (o.unit = cmp_unit_parse(unit)) < 0) {
        rc = term_errorf(2, "compare: --unit: '%s' is not epochs, seconds or trials", unit);
        goto out;
    }
    if (gridp) {
        if ((rc = parse_number("--grid-points", gridp, &v)))
            goto out;
        if (v < 1 || v > 1e6 || v != floor(v)) {
            rc = term_errorf(2, "compare: --grid-points: a whole number >= 1, got '%s'", gridp);
            goto out;
        }
        o.grid_points = (int)v;
    }
    if ((rc = args_load_config(&a, &c, &err))) {
        rc = term_error(&err, NULL);
        goto out;
    }
    /* Every run gets train.threads (else OMP_NUM_THREADS), as `tunelab run`
     * gives its one worker: runs are one at a time, each on one worker. */
    omp_set_max_active_levels(1);
    if (c.threads > 0)
        omp_set_num_threads(c.threads);
    if (!a.quiet) {
        fprintf(stderr, "# threads: one run at a time, 1 worker, %d OpenMP/BLAS threads per trial\n",
                omp_get_max_threads());
        tl_blas_info bi;
        term_blas_header(&bi);
    }
    if (a.out)
        snprintf(o.dir, sizeof o.dir, "%s", a.out);
    else
        snprintf(o.dir, sizeof o.dir, "runs/compare-%.400s", c.study_name);
    prog p = { .quiet = a.quiet };
    if ((rc = compare_run(&c, &o, on_progress, &p, &in, &err))) {
        rc = term_error(&err, NULL);
        goto out;
    }
    if (cmp_stats_compute(&in, &st, &err) || report_compare_write(o.dir, &in, &st, &err)) {
        rc = term_error(&err, NULL);
        goto out;
    }
    char *text = a.json ? report_compare_json(&in, &st) : report_compare_table(&in, &st);
    if (!text) {
        rc = term_errorf(1, "compare: out of memory");
        goto out;
    }
    fputs(text, stdout);
    if (a.json)
        fputs("\n", stdout);
    free(text);
    if (!a.json)
        printf("# pages: %s/index.html, figures %s/compare_epochs.png and compare_seconds.png, numbers "
               "%s/compare.json\n",
               o.dir, o.dir, o.dir);
    rc = fflush(stdout) ? term_errorf(1, "stdout: write failed") : 0;
out:
    cmp_stats_free(&st);
    compare_input_free(&in);
    free(rest);
    args_free(&a);
    return rc;
}
