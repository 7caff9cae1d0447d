/* cli/cmd_study.c: the commands that read a study back from its database:
 *   tunelab show DB [--json]            a table of trials
 *   tunelab best DB [--json]            the best trial, its attributes, the retrain command
 *   tunelab export DB --csv|--json      every trial to stdout (params as columns / fields)
 *   tunelab report DB -o DIR            figures and index.html (report/report.h)
 * Each takes --study NAME when the database holds several studies.  Each
 * parses its arguments, loads the study read-only (report_study_load: a
 * database in a read-only folder is fine), asks report/ for the text or
 * the report, and prints.
 * Does not: write to the database, format anything itself, run trials.
 * Exit status: 0; 2 for usage errors and a missing or foreign database;
 * 1 for runtime failures (database, unwritable folder, gnuplot).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/term.h"
#include "report/report.h"
#include "report/report_gp.h"

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

/* Prints the text report_show, report_best or report_export made (and
 * frees it), or their error.  Returns the exit status. */
static int print_text(int rc, char *text, tl_err *err)
{
    if (rc)
        return term_error(err, NULL);
    fputs(text, stdout);
    free(text);
    return fflush(stdout) ? term_errorf(1, "stdout: write failed") : 0;
}

/* show, best and export: parse, load, format with fn, print. */
static int text_command(int argc, char **argv, unsigned allowed, const char *help,
                        int (*fn)(const report_study *, int, char **, tl_err *))
{
    args a;
    const char *study;
    int rc = parse(&a, &study, argc, argv, allowed, help);
    if (rc)
        return rc == 1 ? 0 : 2;
    if ((allowed & OPT_CSV) && a.json == a.csv)
        return term_errorf(2, "export: choose one format: --csv or --json");
    report_study *rs;
    if ((rc = load(&rs, &a, study)))
        return rc;
    tl_err err = {0};
    char *text = NULL;
    rc = fn(rs, a.json ? REPORT_JSON : a.csv ? REPORT_CSV : REPORT_TABLE, &text, &err);
    report_study_free(rs);
    return print_text(rc, text, &err);
}

int cmd_show(int argc, char **argv)
{
    return text_command(argc, argv, OPT_JSON, SHOW_HELP, report_show);
}

int cmd_best(int argc, char **argv)
{
    return text_command(argc, argv, OPT_JSON, BEST_HELP, report_best);
}

int cmd_export(int argc, char **argv)
{
    return text_command(argc, argv, OPT_JSON | OPT_CSV, EXPORT_HELP, report_export);
}

/* ---- report ---- */

int cmd_report(int argc, char **argv)
{
    args a;
    const char *study, *gp_param = NULL;
    /* --gp-param NAME[,NAME2] (report/report_gp.h), taken out before parse(). */
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
