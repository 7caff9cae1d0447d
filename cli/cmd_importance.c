/* cli/cmd_importance.c: `tunelab importance DB [--json] [--study NAME]`:
 * which parameters mattered in a study, by fANOVA over random forests
 * fitted to its complete trials (hpo/importance.h), whatever its sampler.
 * Parses, loads the study read-only (report_study_load), asks report/ for
 * the text (report/report_importance.h) and prints it.
 * Exit status: 0; 2 for usage errors, a missing or foreign database and a
 * study with fewer than two complete trials; 1 for runtime failures.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/term.h"
#include "report/report_importance.h"

static const char *HELP =
    "usage: tunelab importance DB [--json] [--study NAME]\n\n"
    "Ranks the parameters of the study in DB (read-only) by importance: the\n"
    "share of the objective's variance each one explains alone, by functional\n"
    "ANOVA (fANOVA) on 64-tree random forests fitted to the complete trials\n"
    "(Optuna's default evaluator), on the unit scale the samplers draw from\n"
    "(log-scaled parameters in log space).  Mean, standard deviation and range\n"
    "over 5 forest seeds.  Needs at least two complete trials.\n\n"
    "options:\n"
    "  --json           one JSON object: the study and its parameters, most important first\n"
    "  --study NAME     the study to read when DB holds several (default: the only one)\n"
    "  -h, --help       this help\n";

int cmd_importance(int argc, char **argv)
{
    const char *study = NULL;
    char **rest = malloc((size_t)(argc + 1) * sizeof *rest);
    if (!rest)
        return term_errorf(2, "out of memory");
    int n = 0;
    for (int i = 0; i < argc; i++) { /* --study NAME, before the shared parser */
        if (i > 0 && !strcmp(argv[i], "--study") && i + 1 < argc)
            study = argv[++i];
        else if (i > 0 && !strncmp(argv[i], "--study=", 8))
            study = argv[i] + 8;
        else
            rest[n++] = argv[i];
    }
    rest[n] = NULL;
    args a;
    int rc = args_parse(&a, n, rest, OPT_JSON, HELP);
    free(rest);
    args_free(&a);
    if (rc)
        return rc == 1 ? 0 : 2;
    if (!a.positional)
        return term_errorf(2, "importance: needs a study database DB; see `tunelab importance --help`");
    tl_err err = {0};
    report_study *rs;
    if (report_study_load(&rs, a.positional, study, &err))
        return term_error(&err, NULL);
    char *text = NULL;
    rc = report_importance(rs, a.json ? REPORT_JSON : REPORT_TABLE, &text, &err);
    report_study_free(rs);
    if (rc)
        return term_error(&err, err.code == TL_EINPUT ? "run more trials first (tunelab run)" : NULL);
    fputs(text, stdout);
    free(text);
    return fflush(stdout) ? term_errorf(1, "stdout: write failed") : 0;
}
