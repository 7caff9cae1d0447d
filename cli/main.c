/* cli/main.c: `tunelab <command> [options]`: dispatch, --help, --version,
 * and the choice of OpenBLAS kernels. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/term.h"
#include "tune/study_mpi.h"
#include "util/blas_kernels.h"

typedef struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
} command;

static const command COMMANDS[] = {
    {"train", cmd_train, "train one model from a config"},
    {"run", cmd_run, "run (or resume) a tuning study from a config"},
    {"show", cmd_show, "list the trials of a study database"},
    {"best", cmd_best, "print the best trial of a study database"},
    {"export", cmd_export, "export a study's trials as CSV or JSON"},
    {"importance", cmd_importance, "rank a study's parameters by importance (fANOVA)"},
    {"report", cmd_report, "write gnuplot figures and an HTML page for a study"},
    {"dashboard", cmd_dashboard, "serve a live dashboard of study databases (read-only)"},
    {"schedule", cmd_schedule, "print (and plot) the learning-rate schedule of a config"},
    {"lr-find", cmd_lr_find, "learning-rate range test"},
    {"compare", cmd_compare, "run tuning methods at equal budget over seeds and compare them"},
    {"pbt-replay", cmd_pbt_replay, "retrain from scratch with the schedule of a PBT study's best member"},
};
#define NCOMMANDS ((int)(sizeof COMMANDS / sizeof COMMANDS[0]))

static void usage(FILE *f)
{
    fprintf(f, "usage: tunelab <command> [options]\n\n"
               "tunelab trains small networks (MLP, GPT) and tunes them in the same process.\n\n"
               "commands:\n");
    for (int i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-10s %s\n", COMMANDS[i].name, COMMANDS[i].summary);
    fprintf(f, "\noptions:\n  -h, --help     this help; `tunelab <command> --help` for a command's options\n"
               "  --version      print the version\n");
}

/* When OpenBLAS fell back to its generic kernels on a CPU with AVX2 or
 * AVX-512 and nobody set OPENBLAS_CORETYPE, sets it to the family
 * util/blas_kernels.h recommends and executes this program again (once:
 * the second run finds the variable set).  Returns when there is nothing to
 * do or the exec failed (then the generic kernels stay, and the header
 * says so). */
static void blas_reexec(char **argv)
{
    tl_blas_info info;
    tl_blas_info_get(&info);
    if (!info.want[0])
        return;
    setenv("OPENBLAS_CORETYPE", info.want, 1);
    setenv(TL_BLAS_CHOSE_ENV, info.want, 1);
    execv("/proc/self/exe", argv);
    unsetenv("OPENBLAS_CORETYPE");
    unsetenv(TL_BLAS_CHOSE_ENV);
}

int main(int argc, char **argv)
{
    blas_reexec(argv);
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("tunelab %s\n", TUNELAB_VERSION);
        return 0;
    }
    for (int i = 0; i < NCOMMANDS; i++) {
        if (strcmp(argv[1], COMMANDS[i].name))
            continue;
        /* under mpirun only: a plain run never starts MPI */
        tl_err err = {0};
        if (tune_mpi_start(&argc, &argv, &err))
            return term_error(&err, NULL);
        int status = COMMANDS[i].fn(argc - 1, argv + 1);
        tune_mpi_end(status);
        return status;
    }
    term_errorf(2, "unknown command '%s'", argv[1]);
    usage(stderr);
    return 2;
}
